//! JWTs for tests: RSA and P-256 keys generated at test time (nothing private is committed),
//! tokens signed with them — and deliberately wrong ones — and a JWKS server on port 0 that
//! counts its fetches and can change its keys.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use warp::Filter;

pub const ISSUER: &str = "https://issuer.test/";
pub const AUDIENCE: &str = "orders-api";

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

enum Kind {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A signing key and its `kid`.
pub struct Signer {
    pub kid: String,
    kind: Kind,
}

impl Signer {
    pub fn rsa(kid: &str) -> Self {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key");
        Self {
            kid: kid.into(),
            kind: Kind::Rsa(pair),
        }
    }

    pub fn ec(kid: &str) -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).expect("EC key");
        Self {
            kid: kid.into(),
            kind: Kind::Ec(pair),
        }
    }

    pub fn alg(&self) -> &'static str {
        match self.kind {
            Kind::Rsa(_) => "RS256",
            Kind::Ec(_) => "ES256",
        }
    }

    /// The public key as a JWK.
    pub fn jwk(&self) -> Value {
        match &self.kind {
            Kind::Rsa(pair) => {
                let public = PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                json!({"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
                       "n": b64(&public.n), "e": b64(&public.e)})
            }
            Kind::Ec(pair) => {
                let point = pair.public_key().as_ref();
                json!({"kty": "EC", "kid": self.kid, "use": "sig", "crv": "P-256",
                       "x": b64(&point[1..33]), "y": b64(&point[33..65])})
            }
        }
    }

    /// The public key's raw bytes (what an algorithm-confusion attack uses as an HMAC secret).
    pub fn public_bytes(&self) -> Vec<u8> {
        match &self.kind {
            Kind::Rsa(pair) => pair.public_key().as_ref().to_vec(),
            Kind::Ec(pair) => pair.public_key().as_ref().to_vec(),
        }
    }

    /// A token for `claims` with the usual header (`alg`, `typ`, `kid`).
    pub fn token(&self, claims: &Value) -> String {
        self.sign(
            &json!({"alg": self.alg(), "typ": "JWT", "kid": self.kid}),
            claims,
        )
    }

    /// Signs whatever header and claims it is given.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let message = format!(
            "{}.{}",
            b64(&header.to_string().into_bytes()),
            b64(&claims.to_string().into_bytes())
        );
        let rng = SystemRandom::new();
        let signature = match &self.kind {
            Kind::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &rng,
                    message.as_bytes(),
                    &mut signature,
                )
                .expect("RSA signature");
                signature
            }
            Kind::Ec(pair) => pair
                .sign(&rng, message.as_bytes())
                .expect("EC signature")
                .as_ref()
                .to_vec(),
        };
        format!("{message}.{}", b64(&signature))
    }
}

/// A token with `alg` `none` and no signature.
pub fn unsigned(kid: &str, claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT", "kid": kid});
    format!(
        "{}.{}.",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// A token "signed" with HS256 and `secret`.
pub fn hs256(kid: &str, secret: &[u8], claims: &Value) -> String {
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
    let message = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, message.as_bytes());
    format!("{message}.{}", b64(tag.as_ref()))
}

/// Seconds since the epoch, shifted by `offset`.
pub fn now_plus(offset: i64) -> i64 {
    chrono::Utc::now().timestamp() + offset
}

/// Valid claims for `sub` with `scope` (space-separated), expiring in an hour.
pub fn claims(sub: &str, scope: &str) -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "scope": scope,
           "iat": now_plus(0), "exp": now_plus(3600)})
}

/// A JWKS endpoint on a free local port.
pub struct JwksServer {
    pub url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    hits: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl JwksServer {
    pub async fn start(keys: Vec<Value>) -> Self {
        let keys = Arc::new(Mutex::new(keys));
        let hits = Arc::new(AtomicUsize::new(0));
        let route = warp::path!("jwks.json").map({
            let (keys, hits) = (Arc::clone(&keys), Arc::clone(&hits));
            move || {
                hits.fetch_add(1, Ordering::SeqCst);
                let keys = keys.lock().map(|k| k.clone()).unwrap_or_default();
                warp::reply::json(&json!({ "keys": keys }))
            }
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (addr, server) =
            warp::serve(route).bind_with_graceful_shutdown(([127, 0, 0, 1], 0), async {
                let _ = stopped.await;
            });
        tokio::spawn(server);
        Self {
            url: format!("http://{addr}/jwks.json"),
            keys,
            hits,
            stop: Some(stop),
        }
    }

    pub fn set_keys(&self, keys: Vec<Value>) {
        if let Ok(mut current) = self.keys.lock() {
            *current = keys;
        }
    }

    /// How many times the JWKS was fetched.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
