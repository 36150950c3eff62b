//! The HTTP client that fetches a JWKS from `AUTH_JWKS_URL`: http or https (rustls on the
//! process's provider, the system's roots), no redirects, a bounded time and a bounded body.
//! Built on hyper-util rather than reqwest so that no TLS feature reaches the workspace's shared
//! reqwest.

use anyhow::{bail, Context};
use bytes::Bytes;
use http::{StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// Bound on one fetch, connection included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// A JWKS is a few kilobytes; anything this big is not one.
const MAX_JWKS_BYTES: usize = 1 << 20;

/// Fetches one URL.
pub struct JwksClient {
    uri: Uri,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl JwksClient {
    /// Checks the URL (http or https; plain http is warned about) and builds the client.
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let uri: Uri = url.parse().context("AUTH_JWKS_URL is not a URL")?;
        match uri.scheme_str() {
            Some("https") => {}
            Some("http") => tracing::warn!(
                url = %shown(&uri),
                "AUTH_JWKS_URL is plain http: keys can be tampered with in transit; use https outside a trusted network"
            ),
            other => bail!(
                "AUTH_JWKS_URL must be http or https, not {}",
                other.unwrap_or("a relative URL")
            ),
        }
        if uri.host().is_none() {
            bail!("AUTH_JWKS_URL has no host");
        }
        let connector = HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(pipeline_runtime::tls::provider())
            .context("cannot load the system's CA certificates for AUTH_JWKS_URL")?
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new())
            // Fetches are rare and may run on any HTTP thread's runtime: no pooled connection
            // may outlive the runtime that opened it.
            .pool_max_idle_per_host(0)
            .build(connector);
        Ok(Self { uri, client })
    }

    /// The URL for logs: without its query, which might carry a secret.
    pub fn shown(&self) -> String {
        shown(&self.uri)
    }

    /// The body of a 200 answer.
    pub async fn fetch(&self) -> anyhow::Result<Vec<u8>> {
        let fetch = async {
            let response = self.client.get(self.uri.clone()).await?;
            if response.status() != StatusCode::OK {
                bail!("answered {}", response.status());
            }
            let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
                .collect()
                .await
                .map_err(|err| anyhow::anyhow!("reading the body: {err}"))?;
            Ok(body.to_bytes().to_vec())
        };
        tokio::time::timeout(FETCH_TIMEOUT, fetch)
            .await
            .map_err(|_| anyhow::anyhow!("no answer within {FETCH_TIMEOUT:?}"))?
            .with_context(|| format!("fetching the JWKS from {}", self.shown()))
    }
}

fn shown(uri: &Uri) -> String {
    format!(
        "{}://{}{}",
        uri.scheme_str().unwrap_or(""),
        uri.authority().map_or("", |a| a.as_str()),
        uri.path()
    )
}
