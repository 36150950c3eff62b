//! Access control for the order routes (contract §8): who is asking ([`api_keys`], [`jwt`] and
//! [`jwks`]), whether they may ask for this (scopes), and how often ([`limit`]).
//!
//! [`Auth::authorize`] runs in the HTTP layer before routing, so a protected route answers
//! 401/403/429 before it looks at the uid or the query: a refusal never depends on whether an
//! order exists. Tokens are only ever borrowed from the request: never copied into logs,
//! metrics or error bodies.

pub mod api_keys;
pub mod denial;
pub mod fetch;
pub mod jwks;
pub mod jwt;
pub mod limit;
pub mod scope;
pub mod watch;

use crate::config::AuthArgs;
use crate::metrics::ApiMetrics;
use anyhow::{bail, Context};
use api_keys::ApiKeys;
use jwks::Jwks;
use limit::{Caller, Limiter};
use pipeline_runtime::shutdown::Shutdown;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use warp::http::HeaderMap;

pub use denial::{bearer, Denial};
pub use scope::{Scope, Scopes};

/// What `AUTH_MODE` accepts, for the one-line start-up errors.
const MODE_CHOICES: &str = "api-key, jwt, api-key,jwt or off";

/// The configured access control. Shared by every HTTP thread.
pub struct Auth {
    label: &'static str,
    api_keys: Option<ApiKeys>,
    jwks: Option<Arc<Jwks>>,
    limiter: Option<Limiter>,
    metrics: ApiMetrics,
}

impl Auth {
    /// Checks the settings, loads the keys file and the JWKS. Errors are one line naming the
    /// setting to fix.
    pub async fn build(args: &AuthArgs, metrics: ApiMetrics) -> anyhow::Result<Self> {
        let (api_key, jwt) = parse_mode(AuthArgs::value(&args.mode))?;
        let label = match (api_key, jwt) {
            (false, false) => "off",
            (true, false) => "api-key",
            (false, true) => "jwt",
            (true, true) => "api-key,jwt",
        };
        let api_keys = if api_key {
            let Some(path) = AuthArgs::value(&args.api_keys_file) else {
                bail!("AUTH_MODE={label} needs API_KEYS_FILE (lines of `<key-id> <sha256-hex> <scopes>`)");
            };
            Some(ApiKeys::load(std::path::Path::new(path))?)
        } else {
            if AuthArgs::value(&args.api_keys_file).is_some() {
                tracing::warn!(
                    mode = label,
                    "API_KEYS_FILE is set but ignored: AUTH_MODE does not include api-key"
                );
            }
            None
        };
        let jwks = if jwt {
            Some(Jwks::start(args).await?)
        } else {
            if AuthArgs::value(&args.jwks_url)
                .or(AuthArgs::value(&args.jwks_file))
                .is_some()
            {
                tracing::warn!(
                    mode = label,
                    "AUTH_JWKS_* is set but ignored: AUTH_MODE does not include jwt"
                );
            }
            None
        };
        let limiter = rate_limiter(args)?;
        if label == "off" {
            tracing::warn!(
                "AUTH_MODE=off: anyone who can reach the HTTP port reads every order, personal data \
                 included; use it only on a private machine"
            );
        }
        tracing::info!(
            mode = label,
            rate_limit_per_sec = args.rate_limit_per_sec,
            "access control configured"
        );
        Ok(Self {
            label,
            api_keys,
            jwks,
            limiter,
            metrics,
        })
    }

    /// `off`, `api-key`, `jwt` or `api-key,jwt` (shown by `/readyz`).
    pub fn mode(&self) -> &'static str {
        self.label
    }

    /// The JWKS, when mode `jwt` is on (readiness reports whether it is loaded).
    pub fn jwks(&self) -> Option<&Arc<Jwks>> {
        self.jwks.as_ref()
    }

    /// Whether JWT is the only way in (then no JWKS means nobody can read).
    pub fn jwt_only(&self) -> bool {
        self.jwks.is_some() && self.api_keys.is_none()
    }

    /// Lets the request through, or says why not (and counts the refusal).
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        peer: IpAddr,
        scope: Scope,
    ) -> Result<(), Denial> {
        let outcome = self.decide(headers, peer, scope).await;
        if let Err(denial) = &outcome {
            self.metrics.auth_failed(denial.reason());
        }
        outcome
    }

    async fn decide(&self, headers: &HeaderMap, peer: IpAddr, scope: Scope) -> Result<(), Denial> {
        if self.api_keys.is_none() && self.jwks.is_none() {
            // AUTH_MODE=off: everyone is let in; the address is the rate-limit caller.
            return self.limit(&Caller::address(peer));
        }
        let token = bearer(headers)?;
        if let Some(keys) = &self.api_keys {
            let verdict = keys.check(token, |key| {
                if !key.scopes.contains(scope) {
                    tracing::debug!(key_id = %key.id, scope = scope.name(), "api key lacks the scope");
                    return Err(Denial::Scope(scope));
                }
                match &self.limiter {
                    None => Ok(()),
                    Some(limiter) => limiter
                        .check(&Caller::ApiKey(Arc::clone(&key.id)))
                        .map_err(Denial::Rate),
                }
            });
            if let Some(verdict) = verdict {
                return verdict;
            }
        }
        match &self.jwks {
            Some(jwks) => {
                let caller = jwks.verify(token, scope).await?;
                self.limit(&caller)
            }
            None => Err(Denial::Invalid),
        }
    }

    fn limit(&self, caller: &Caller) -> Result<(), Denial> {
        match &self.limiter {
            None => Ok(()),
            Some(limiter) => limiter.check(caller).map_err(Denial::Rate),
        }
    }

    /// Keeps the keys current and the limiter's memory bounded until `shutdown`.
    pub async fn maintain(self: Arc<Self>, shutdown: Shutdown) {
        let keys = async {
            if let Some(keys) = &self.api_keys {
                keys.watch(shutdown.clone()).await;
            }
        };
        let jwks = async {
            if let Some(jwks) = &self.jwks {
                Arc::clone(jwks).maintain(shutdown.clone()).await;
            }
        };
        let limiter = async {
            if let Some(limiter) = &self.limiter {
                limiter.maintain(&self.metrics, shutdown.clone()).await;
            }
        };
        tokio::join!(keys, jwks, limiter);
    }
}

/// `AUTH_MODE` as (api-key on, jwt on).
fn parse_mode(mode: Option<&str>) -> anyhow::Result<(bool, bool)> {
    let Some(mode) = mode else {
        bail!("AUTH_MODE is not set: choose {MODE_CHOICES}");
    };
    if mode == "off" {
        return Ok((false, false));
    }
    let (mut api_key, mut jwt) = (false, false);
    for part in mode.split(',').map(str::trim) {
        match part {
            "api-key" => api_key = true,
            "jwt" => jwt = true,
            _ => bail!("AUTH_MODE={mode:?} is not a mode: choose {MODE_CHOICES}"),
        }
    }
    Ok((api_key, jwt))
}

fn rate_limiter(args: &AuthArgs) -> anyhow::Result<Option<Limiter>> {
    let burst = AuthArgs::value(&args.rate_limit_burst)
        .map(|burst| {
            burst
                .parse::<u32>()
                .ok()
                .and_then(NonZeroU32::new)
                .context("RATE_LIMIT_BURST must be a whole number of requests, at least 1")
        })
        .transpose()?;
    let Some(rate) = NonZeroU32::new(args.rate_limit_per_sec) else {
        if burst.is_some() {
            tracing::warn!("RATE_LIMIT_BURST is ignored: RATE_LIMIT_PER_SEC is 0 (no limit)");
        }
        return Ok(None);
    };
    let burst = burst.unwrap_or_else(|| rate.saturating_add(rate.get()));
    Ok(Some(Limiter::new(rate, burst)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_a_list_or_off_and_never_defaulted() {
        assert_eq!(parse_mode(Some("api-key")).ok(), Some((true, false)));
        assert_eq!(parse_mode(Some("jwt")).ok(), Some((false, true)));
        assert_eq!(parse_mode(Some("jwt, api-key")).ok(), Some((true, true)));
        assert_eq!(parse_mode(Some("off")).ok(), Some((false, false)));
        for bad in [
            None,
            Some(""),
            Some("none"),
            Some("api-key,off"),
            Some("jwt,"),
        ] {
            let err = parse_mode(bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(MODE_CHOICES), "{bad:?}: {err}");
        }
    }
}
