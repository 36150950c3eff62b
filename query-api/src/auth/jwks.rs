//! Where JWT verification keys come from (contract §8): `AUTH_JWKS_URL`, fetched at start, again
//! once the copy is older than [`REFRESH`], and when a token names an unknown `kid` (at most once
//! per [`KID_REFETCH`], so random `kid`s cannot make us hammer the issuer); or `AUTH_JWKS_FILE`,
//! re-read when it changes. The current set is swapped atomically; a failed fetch keeps the
//! previous keys.

use super::fetch::JwksClient;
use super::jwt::{KeySet, Lookup, Rules};
use super::limit::Caller;
use super::{watch, Denial, Scope};
use crate::config::AuthArgs;
use anyhow::{bail, Context};
use arc_swap::ArcSwap;
use pipeline_runtime::shutdown::Shutdown;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// A fetched JWKS is fetched again once this old.
pub const REFRESH: Duration = Duration::from_secs(5 * 60);
/// Fetches for unknown `kid`s are at most this frequent.
pub const KID_REFETCH: Duration = Duration::from_secs(10);
/// A failed scheduled fetch is retried after this long.
const RETRY: Duration = Duration::from_secs(10);

/// When the scheduled fetches of a URL source happen: again once the keys are `refresh` old,
/// and never sooner than `retry` after the previous attempt. Production uses [`REFRESH`] and
/// [`RETRY`]; a unit test shortens both to watch the schedule run without waiting minutes.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    refresh: Duration,
    retry: Duration,
}

impl Schedule {
    const CONTRACT: Schedule = Schedule {
        refresh: REFRESH,
        retry: RETRY,
    };

    /// When the next scheduled fetch is due: `refresh` after the last successful fetch
    /// (`fetched`; at once when there was none), and never sooner than `retry` after the last
    /// scheduled attempt (`attempted`), failed or not.
    fn next_fetch(&self, fetched: Option<Instant>, attempted: Instant) -> Instant {
        fetched
            .map_or(attempted, |at| at + self.refresh)
            .max(attempted + self.retry)
    }
}

/// Whether a token naming an unknown `kid` may cause a fetch at `now`, the last such fetch
/// having been at `last`: at most one per [`KID_REFETCH`].
fn kid_fetch_allowed(last: Option<Instant>, now: Instant) -> bool {
    last.is_none_or(|at| now.saturating_duration_since(at) >= KID_REFETCH)
}

enum Source {
    Url(JwksClient),
    /// The file, and the fingerprint of what was loaded at start.
    File(PathBuf, Option<[u8; 32]>),
}

/// The verification keys and the rules tokens must meet.
pub struct Jwks {
    source: Source,
    schedule: Schedule,
    rules: Rules,
    keys: ArcSwap<KeySet>,
    loaded: AtomicBool,
    /// When the keys were last fetched successfully (URL source).
    fetched_at: Mutex<Option<Instant>>,
    /// When an unknown `kid` last caused a fetch; held while that fetch runs, so concurrent
    /// requests with the same new `kid` share it.
    kid_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl Jwks {
    /// Checks the `jwt` settings and loads the keys. A file must load; a URL that does not
    /// answer is retried in the background (readiness says so meanwhile).
    pub async fn start(args: &AuthArgs) -> anyhow::Result<Arc<Self>> {
        Self::start_with(args, Schedule::CONTRACT).await
    }

    async fn start_with(args: &AuthArgs, schedule: Schedule) -> anyhow::Result<Arc<Self>> {
        let (Some(issuer), Some(audience)) = (
            AuthArgs::value(&args.issuer),
            AuthArgs::value(&args.audience),
        ) else {
            bail!("AUTH_MODE includes jwt: set AUTH_ISSUER and AUTH_AUDIENCE");
        };
        let url = AuthArgs::value(&args.jwks_url);
        let mut from_file = None;
        let source = match (url, AuthArgs::value(&args.jwks_file)) {
            (Some(_), Some(_)) => bail!("set AUTH_JWKS_URL or AUTH_JWKS_FILE, not both"),
            (None, None) => bail!("AUTH_MODE includes jwt: set AUTH_JWKS_URL or AUTH_JWKS_FILE"),
            (None, Some(path)) => {
                let path = PathBuf::from(path);
                let bytes = std::fs::read(&path)
                    .with_context(|| format!("cannot read AUTH_JWKS_FILE {}", path.display()))?;
                let (keys, skipped) = KeySet::parse(&bytes)
                    .map_err(|err| anyhow::anyhow!("AUTH_JWKS_FILE {}: {err}", path.display()))?;
                tracing::info!(path = %path.display(), keys = keys.len(), skipped, "jwks loaded");
                from_file = Some(keys);
                Source::File(path, watch::fingerprint(Some(&bytes)))
            }
            (Some(url), None) => Source::Url(JwksClient::new(url)?),
        };
        let jwks = Arc::new(Self {
            source,
            schedule,
            rules: Rules::new(issuer, audience),
            keys: ArcSwap::from_pointee(KeySet::default()),
            loaded: AtomicBool::new(false),
            fetched_at: Mutex::new(None),
            kid_fetch: tokio::sync::Mutex::new(None),
        });
        match from_file {
            Some(keys) => jwks.install(keys),
            None => {
                if let Err(err) = jwks.fetch().await {
                    tracing::error!(error = %format!("{err:#}"), "cannot load the JWKS at start; retrying in the background");
                }
            }
        }
        Ok(jwks)
    }

    /// Whether any keys were ever loaded.
    pub fn loaded(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }

    /// Verifies a token and its scope; the caller is its `sub`.
    pub async fn verify(&self, token: &str, scope: Scope) -> Result<Caller, Denial> {
        let (alg, kid) = Rules::header(token)?;
        let verified = {
            let keys = self.keys.load();
            match keys.lookup(alg, kid.as_deref()) {
                Lookup::Found(key) => Some(self.rules.verify(token, key, scope)?),
                Lookup::Unusable => return Err(Denial::Invalid),
                Lookup::UnknownKid => None,
            }
        };
        let verified = match (verified, kid) {
            (Some(verified), _) => verified,
            (None, Some(kid)) => {
                if !Box::pin(self.fetch_for_kid(&kid)).await {
                    return Err(Denial::Invalid);
                }
                let keys = self.keys.load();
                match keys.lookup(alg, Some(&kid)) {
                    Lookup::Found(key) => self.rules.verify(token, key, scope)?,
                    _ => return Err(Denial::Invalid),
                }
            }
            (None, None) => return Err(Denial::Invalid),
        };
        Ok(Caller::Subject(Arc::from(verified.subject)))
    }

    /// Fetches the JWKS because a token named `kid`, unless that happened less than
    /// [`KID_REFETCH`] ago; true when the keys now have `kid`.
    async fn fetch_for_kid(&self, kid: &str) -> bool {
        if !matches!(self.source, Source::Url(_)) {
            return false;
        }
        let mut last = self.kid_fetch.lock().await;
        if self.keys.load().has_kid(kid) {
            return true; // fetched by a request that was ahead of us
        }
        if !kid_fetch_allowed(*last, Instant::now()) {
            tracing::debug!("unknown kid; the JWKS was fetched for one less than 10 s ago");
            return false;
        }
        *last = Some(Instant::now());
        tracing::info!("token names an unknown kid; fetching the JWKS again");
        if let Err(err) = self.fetch().await {
            tracing::warn!(error = %format!("{err:#}"), "JWKS fetch failed");
        }
        self.keys.load().has_kid(kid)
    }

    /// One fetch from the URL; installs the keys when they parse.
    async fn fetch(&self) -> anyhow::Result<()> {
        let Source::Url(client) = &self.source else {
            return Ok(());
        };
        let bytes = client.fetch().await?;
        let (keys, skipped) = KeySet::parse(&bytes)
            .map_err(|err| anyhow::anyhow!("JWKS from {}: {err}", client.shown()))?;
        tracing::info!(url = %client.shown(), keys = keys.len(), skipped, "jwks fetched");
        self.install(keys);
        if let Ok(mut at) = self.fetched_at.lock() {
            *at = Some(Instant::now());
        }
        Ok(())
    }

    fn install(&self, keys: KeySet) {
        self.keys.store(Arc::new(keys));
        self.loaded.store(true, Ordering::Release);
    }

    /// Keeps the keys current until `shutdown`: scheduled fetches for a URL, change detection
    /// for a file.
    pub async fn maintain(self: Arc<Self>, shutdown: Shutdown) {
        match &self.source {
            Source::File(path, loaded) => {
                watch::watch_file(path, *loaded, shutdown, |contents| {
                    let parsed = contents
                        .ok_or_else(|| "cannot read it".to_owned())
                        .and_then(KeySet::parse);
                    match parsed {
                        Ok((keys, skipped)) => {
                            tracing::info!(path = %path.display(), keys = keys.len(), skipped, "jwks reloaded");
                            self.install(keys);
                        }
                        Err(err) => tracing::error!(path = %path.display(), %err, "AUTH_JWKS_FILE changed but is unusable; keeping the previous keys"),
                    }
                })
                .await;
            }
            Source::Url(_) => {
                let mut attempted = Instant::now();
                loop {
                    let fetched = self.fetched_at.lock().ok().and_then(|at| *at);
                    let due = self.schedule.next_fetch(fetched, attempted);
                    tokio::select! {
                        () = tokio::time::sleep_until(due) => {}
                        () = shutdown.wait() => return,
                    }
                    attempted = Instant::now();
                    if let Err(err) = self.fetch().await {
                        tracing::warn!(error = %format!("{err:#}"), "scheduled JWKS fetch failed; keeping the previous keys");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde_json::{json, Value};
    use std::sync::atomic::AtomicUsize;
    use tokio::task::JoinHandle;
    use warp::Filter;

    /// A P-256 public key as a JWK named `kid` (the private half is dropped).
    fn jwk(kid: &str) -> Value {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("EC key");
        let point = pair.public_key().as_ref();
        json!({"kty": "EC", "kid": kid, "use": "sig", "crv": "P-256",
               "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
               "y": URL_SAFE_NO_PAD.encode(&point[33..65])})
    }

    /// The keys a test server serves; change them at will.
    type Served = Arc<Mutex<Vec<Value>>>;

    /// A JWKS server on port 0 serving `keys`, counting the fetches: its URL, the keys, the
    /// count and the server task.
    fn jwks_server(keys: Vec<Value>) -> (String, Served, Arc<AtomicUsize>, JoinHandle<()>) {
        let served = Arc::new(Mutex::new(keys));
        let hits = Arc::new(AtomicUsize::new(0));
        let route = warp::path!("jwks.json").map({
            let (served, hits) = (Arc::clone(&served), Arc::clone(&hits));
            move || {
                hits.fetch_add(1, Ordering::SeqCst);
                let keys = served.lock().map(|k| k.clone()).unwrap_or_default();
                warp::reply::json(&json!({ "keys": keys }))
            }
        });
        let (addr, server) = warp::serve(route).bind_ephemeral(([127, 0, 0, 1], 0));
        let url = format!("http://{addr}/jwks.json");
        (url, served, hits, tokio::spawn(server))
    }

    fn jwt_args(url: &str) -> AuthArgs {
        AuthArgs {
            mode: Some("jwt".into()),
            jwks_url: Some(url.into()),
            issuer: Some("https://issuer.test/".into()),
            audience: Some("orders-api".into()),
            ..AuthArgs::default()
        }
    }

    /// The scheduled refresh (contract §8: fetched again when older than 5 minutes), with the
    /// schedule shortened instead of waiting: with no token at all, the JWKS is fetched again
    /// and again, and a key the issuer adds is taken up. When each fetch is due is
    /// [`Schedule::next_fetch`]'s, checked on exact instants below.
    #[tokio::test]
    async fn keys_are_fetched_again_once_they_are_refresh_old() {
        let (url, served, hits, server) = jwks_server(vec![jwk("first")]);
        let schedule = Schedule {
            refresh: Duration::from_millis(300),
            retry: Duration::from_millis(50),
        };
        let jwks = Jwks::start_with(&jwt_args(&url), schedule)
            .await
            .expect("jwks");
        assert_eq!(hits.load(Ordering::SeqCst), 1, "fetched at start");
        assert!(jwks.keys.load().has_kid("first"));

        let (trigger, shutdown) = Shutdown::new();
        let maintained = tokio::spawn(Arc::clone(&jwks).maintain(shutdown));
        // The issuer rotates: the next scheduled fetch must pick the new key up.
        if let Ok(mut keys) = served.lock() {
            *keys = vec![jwk("second")];
        }
        // A bound on a hang only: 4 fetches take about a second on this schedule.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while hits.load(Ordering::SeqCst) < 4 || !jwks.keys.load().has_kid("second") {
            assert!(
                std::time::Instant::now() < deadline,
                "not within 60 s: 3 scheduled fetches and the new key (fetches: {})",
                hits.load(Ordering::SeqCst)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!jwks.keys.load().has_kid("first"));
        trigger.fire();
        maintained.await.expect("maintain ends at shutdown");
        server.abort();
    }

    #[test]
    fn a_scheduled_fetch_is_due_refresh_after_the_last_success_never_sooner_than_retry() {
        let schedule = Schedule::CONTRACT;
        let t0 = Instant::now();
        let second = Duration::from_secs(1);
        assert_eq!(
            schedule.next_fetch(Some(t0), t0),
            t0 + REFRESH,
            "fetched fine"
        );
        assert_eq!(
            schedule.next_fetch(None, t0),
            t0 + RETRY,
            "nothing fetched yet: tried again after the retry delay"
        );
        assert_eq!(
            schedule.next_fetch(Some(t0), t0 + REFRESH),
            t0 + REFRESH + RETRY,
            "the scheduled fetch failed: the old keys stay, tried again after the retry delay"
        );
        assert_eq!(
            schedule.next_fetch(Some(t0 + second), t0),
            t0 + second + REFRESH,
            "a fetch for an unknown kid counts: the schedule starts over from it"
        );
    }

    #[test]
    fn an_unknown_kid_fetches_at_most_once_per_kid_refetch() {
        let t0 = Instant::now();
        assert!(kid_fetch_allowed(None, t0), "the first unknown kid fetches");
        assert!(!kid_fetch_allowed(Some(t0), t0));
        let just_short = KID_REFETCH - Duration::from_millis(1);
        assert!(!kid_fetch_allowed(Some(t0), t0 + just_short));
        assert!(kid_fetch_allowed(Some(t0), t0 + KID_REFETCH));
        assert_eq!(KID_REFETCH, Duration::from_secs(10), "contract §8");
    }

    /// [`kid_fetch_allowed`] in the fetch path: a fetch for an unknown kid just now refuses the
    /// next unknown kid without a fetch; one [`KID_REFETCH`] ago lets it fetch.
    #[tokio::test]
    async fn a_fetch_for_an_unknown_kid_waits_for_kid_refetch_after_the_last() {
        let (url, served, hits, server) = jwks_server(vec![jwk("first")]);
        let jwks = Jwks::start(&jwt_args(&url)).await.expect("jwks");
        assert_eq!(hits.load(Ordering::SeqCst), 1, "fetched at start");
        if let Ok(mut keys) = served.lock() {
            keys.push(jwk("second"));
        }
        *jwks.kid_fetch.lock().await = Some(Instant::now());
        assert!(!jwks.fetch_for_kid("second").await, "refused");
        assert_eq!(hits.load(Ordering::SeqCst), 1, "without a fetch");

        let then = Instant::now()
            .checked_sub(KID_REFETCH)
            .expect("the clock is past 10 s");
        *jwks.kid_fetch.lock().await = Some(then);
        assert!(jwks.fetch_for_kid("second").await, "fetched, and found");
        assert_eq!(hits.load(Ordering::SeqCst), 2);
        server.abort();
    }
}
