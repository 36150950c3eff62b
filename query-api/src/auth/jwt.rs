//! JWT bearer tokens (contract §8, mode `jwt`): which JWKS keys may verify what, and the checks
//! on a token. The signature checks are jsonwebtoken's (on aws-lc-rs); this module decides which
//! key and which algorithm are acceptable, so that nothing in a token chooses them: only RS256
//! with an RSA key and ES256 with a P-256 key, and the key must name no other algorithm or use.

use super::{Denial, Scope, Scopes};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

/// Longer tokens are refused unread.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Clock skew allowed on `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 60;
/// Keys kept from one JWKS at most.
const MAX_KEYS: usize = 100;

/// A key from the JWKS and the one algorithm it verifies.
pub struct VerifyKey {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
}

/// The usable keys of a JWKS.
#[derive(Default)]
pub struct KeySet {
    keys: Vec<VerifyKey>,
}

/// What a JWKS lookup found for a token.
pub enum Lookup<'a> {
    Found(&'a VerifyKey),
    /// The token names a `kid` the set does not have (worth fetching the JWKS again).
    UnknownKid,
    /// No key can verify this token.
    Unusable,
}

impl KeySet {
    /// The RS256 and ES256 signing keys of a JWKS document; other keys are skipped (and
    /// counted in the second value). Fails when the document is not a JWKS or has no usable key.
    pub fn parse(json: &[u8]) -> Result<(KeySet, usize), String> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let document: Document =
            serde_json::from_slice(json).map_err(|err| format!("not a JWKS document: {err}"))?;
        let mut set = KeySet::default();
        let mut skipped = 0;
        for value in document.keys {
            let usable = serde_json::from_value::<Jwk>(value)
                .ok()
                .and_then(|jwk| usable_key(&jwk));
            match usable {
                Some(key) if set.keys.len() < MAX_KEYS && !set.has_kid_of(&key) => {
                    set.keys.push(key)
                }
                _ => skipped += 1,
            }
        }
        if set.keys.is_empty() {
            return Err(format!(
                "no usable key (RS256 RSA or ES256 P-256 signing keys; {skipped} skipped)"
            ));
        }
        Ok((set, skipped))
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|key| key.kid.as_deref() == Some(kid))
    }

    fn has_kid_of(&self, key: &VerifyKey) -> bool {
        key.kid.as_deref().is_some_and(|kid| self.has_kid(kid))
    }

    /// The key for a token with this header: by `kid`, else the only key of the algorithm.
    pub fn lookup(&self, alg: Algorithm, kid: Option<&str>) -> Lookup<'_> {
        let mut candidates = self.keys.iter().filter(|key| key.alg == alg);
        match kid {
            Some(kid) => match self.keys.iter().find(|key| key.kid.as_deref() == Some(kid)) {
                Some(key) if key.alg == alg => Lookup::Found(key),
                Some(_) => Lookup::Unusable,
                None => Lookup::UnknownKid,
            },
            None => match (candidates.next(), candidates.next()) {
                (Some(only), None) => Lookup::Found(only),
                _ => Lookup::Unusable,
            },
        }
    }
}

/// The key and its algorithm, when the JWK is an RS256 or ES256 signature key.
fn usable_key(jwk: &Jwk) -> Option<VerifyKey> {
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|usage| *usage != PublicKeyUse::Signature)
    {
        return None;
    }
    if jwk
        .common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return None;
    }
    let (alg, named) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => (Algorithm::RS256, KeyAlgorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            (Algorithm::ES256, KeyAlgorithm::ES256)
        }
        _ => return None,
    };
    if jwk.common.key_algorithm.is_some_and(|given| given != named) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(VerifyKey {
        kid: jwk.common.key_id.clone(),
        alg,
        key,
    })
}

/// The claims read from a verified token (`exp`, `nbf`, `iss`, `aud` are jsonwebtoken's).
#[derive(Deserialize)]
struct Claims {
    sub: String,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    scp: Option<ScopeList>,
}

/// `scp` is an array of strings (contract); some issuers send one space-separated string.
#[derive(Deserialize)]
#[serde(untagged)]
enum ScopeList {
    Names(Vec<String>),
    Text(String),
}

/// A verified token: who, and what it may do.
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    pub subject: String,
    pub scopes: Scopes,
}

/// The checks every token must pass, fixed at start from `AUTH_ISSUER` and `AUTH_AUDIENCE`.
pub struct Rules {
    rs256: Validation,
    es256: Validation,
}

impl Rules {
    pub fn new(issuer: &str, audience: &str) -> Self {
        let rules = |alg| {
            let mut validation = Validation::new(alg);
            validation.leeway = LEEWAY_SECS;
            validation.validate_exp = true;
            validation.validate_nbf = true;
            validation.set_issuer(&[issuer]);
            validation.set_audience(&[audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            validation
        };
        Self {
            rs256: rules(Algorithm::RS256),
            es256: rules(Algorithm::ES256),
        }
    }

    /// The algorithm and `kid` a token asks for; only RS256 and ES256 get further.
    pub fn header(token: &str) -> Result<(Algorithm, Option<String>), Denial> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(Denial::Invalid);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Denial::Invalid)?;
        match header.alg {
            Algorithm::RS256 | Algorithm::ES256 => Ok((header.alg, header.kid)),
            _ => Err(Denial::Invalid),
        }
    }

    /// Verifies `token` with `key` and checks it carries `scope`.
    pub fn verify(&self, token: &str, key: &VerifyKey, scope: Scope) -> Result<Verified, Denial> {
        let validation = match key.alg {
            Algorithm::ES256 => &self.es256,
            _ => &self.rs256,
        };
        let data = jsonwebtoken::decode::<Claims>(token, &key.key, validation).map_err(|err| {
            tracing::debug!(error = ?err.kind(), "jwt refused");
            match err.kind() {
                ErrorKind::ExpiredSignature => Denial::Expired,
                _ => Denial::Invalid,
            }
        })?;
        let claims = data.claims;
        if claims.sub.is_empty() {
            return Err(Denial::Invalid);
        }
        let from_scp = match &claims.scp {
            Some(ScopeList::Names(names)) => Scopes::from_names(names.iter().map(String::as_str)),
            Some(ScopeList::Text(text)) => Scopes::from_names(text.split(' ')),
            None => Scopes::default(),
        };
        let scopes =
            Scopes::from_names(claims.scope.as_deref().unwrap_or("").split(' ')).union(from_scp);
        if !scopes.contains(scope) {
            tracing::debug!(sub = %claims.sub, scope = scope.name(), "jwt lacks the scope");
            return Err(Denial::Scope(scope));
        }
        Ok(Verified {
            subject: claims.sub,
            scopes,
        })
    }
}
