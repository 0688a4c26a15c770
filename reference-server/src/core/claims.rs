//! Pushed claim tokens: OpenID Connect ID tokens from trusted issuers (UMA Grant §3.3.1, §5.7).
//!
//! A token is accepted only if its issuer is configured as trusted, its signature verifies
//! against that issuer's JWKS, its audience names this AS or the presenting client, and it has
//! not expired. Anything else is refused, and the token endpoint answers `need_info`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tokio::sync::Mutex;

use crate::config::TrustedIssuer;
use crate::core::ProtocolError;
use crate::core::model::Claim;
use crate::core::policy::ID_TOKEN_FORMAT;
use crate::types::ClaimToken;

/// How long a fetched JWKS is trusted before it is fetched again.
const JWKS_TTL: Duration = Duration::from_secs(300);
/// The shortest time between two fetches of one JWKS (a token with an unknown `kid` can
/// otherwise make the AS fetch on every request).
const JWKS_MIN_REFETCH: Duration = Duration::from_secs(5);
/// Allowed clock skew for `exp` and `nbf`.
const LEEWAY: i64 = 5;
/// JWT members that describe the token rather than the requesting party.
const NOT_CLAIMS: &[&str] = &[
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "azp",
    "nonce",
    "at_hash",
    "c_hash",
    "auth_time",
    "acr",
    "amr",
    "sid",
];

/// Why a claim token was refused. The token endpoint turns every one of these into
/// `need_info`; the reason goes into `error_description`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClaimTokenError {
    /// The format URI is not one the AS supports.
    #[error("unsupported claim_token_format `{0}`")]
    UnsupportedFormat(String),
    /// Not a well-formed JWT.
    #[error("the claim token is not a well-formed JWT")]
    Malformed,
    /// Its issuer is not trusted.
    #[error("the claim token's issuer is not trusted")]
    UntrustedIssuer,
    /// No usable key for its `kid`/`alg`.
    #[error("no key of the issuer verifies the claim token")]
    NoKey,
    /// Signature, audience or issuer check failed.
    #[error("the claim token failed verification: {0}")]
    Invalid(String),
    /// The audience names neither the AS nor the client.
    #[error("the claim token's audience is neither this AS nor the presenting client")]
    WrongAudience,
    /// `exp` has passed.
    #[error("the claim token has expired")]
    Expired,
    /// `nbf` is in the future.
    #[error("the claim token is not valid yet")]
    NotYetValid,
}

struct IssuerState {
    cfg: TrustedIssuer,
    cache: Mutex<Option<(JwkSet, Instant)>>,
}

/// Verifies claim tokens against the configured trusted issuers.
pub struct ClaimVerifier {
    issuers: Vec<IssuerState>,
    http: reqwest::Client,
}

impl std::fmt::Debug for ClaimVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.issuers.iter().map(|i| i.cfg.issuer.as_str()).collect();
        f.debug_struct("ClaimVerifier").field("issuers", &names).finish()
    }
}

/// What the verifier needs to know about the request.
#[derive(Clone, Copy, Debug)]
pub struct ClaimContext<'a> {
    /// This AS's issuer.
    pub as_issuer: &'a str,
    /// The client presenting the token.
    pub client_id: &'a str,
    /// Current time.
    pub now: i64,
    /// What the verifier leaves unchecked (quirks; all `false` in a conformant AS).
    pub lax: Laxness,
}

/// Checks of a claim token a quirk turns off (UMA Grant §5.7: each is RECOMMENDED).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Laxness {
    /// Quirk `claim-token-wrong-audience`: any audience.
    pub audience: bool,
    /// Quirk `claim-token-untrusted-issuer`: any issuer, its claims read unverified.
    pub issuer: bool,
    /// Quirk `claim-token-bad-signature`: a signature that does not verify.
    pub signature: bool,
    /// Quirk `claim-token-expired`: an `exp` in the past.
    pub expiry: bool,
}

/// A token's claims (its registered JWT members left out), attributed to `issuer`.
fn into_claims(claims: serde_json::Map<String, serde_json::Value>, issuer: &str) -> Vec<Claim> {
    claims
        .into_iter()
        .filter(|(k, _)| !NOT_CLAIMS.contains(&k.as_str()))
        .map(|(name, value)| Claim {
            name,
            value,
            issuer: issuer.to_owned(),
        })
        .collect()
}

impl ClaimVerifier {
    /// Builds a verifier; inline JWKS are parsed now so configuration errors surface at start.
    pub fn new(issuers: &[TrustedIssuer]) -> Result<Self, ProtocolError> {
        let http = crate::http_client::builder()
            .timeout(Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(2))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                tracing::error!(error = %e, "cannot build HTTP client");
                ProtocolError::server_error()
            })?;
        let mut states = Vec::new();
        for cfg in issuers {
            let inline = match &cfg.jwks {
                Some(v) => Some((
                    serde_json::from_value::<JwkSet>(v.clone()).map_err(|e| {
                        ProtocolError::new(
                            500,
                            "server_error",
                            Some(format!("trusted issuer {}: bad jwks: {e}", cfg.issuer)),
                        )
                    })?,
                    Instant::now(),
                )),
                None => None,
            };
            states.push(IssuerState {
                cfg: cfg.clone(),
                cache: Mutex::new(inline),
            });
        }
        Ok(Self { issuers: states, http })
    }

    /// Adds a trusted issuer at run time (used by embedded harness runs).
    pub fn trust(&mut self, cfg: TrustedIssuer) -> Result<(), ProtocolError> {
        let mut one = Self::new(std::slice::from_ref(&cfg))?;
        self.issuers.append(&mut one.issuers);
        Ok(())
    }

    async fn keys(&self, st: &IssuerState, kid: Option<&str>) -> Result<JwkSet, ClaimTokenError> {
        let mut cache = st.cache.lock().await;
        let fresh = |set: &JwkSet, at: &Instant| {
            st.cfg.jwks.is_some()
                || (at.elapsed() < JWKS_TTL && kid.is_none_or(|k| set.find(k).is_some()))
                || at.elapsed() < JWKS_MIN_REFETCH
        };
        if let Some((set, at)) = cache.as_ref()
            && fresh(set, at)
        {
            return Ok(set.clone());
        }
        let Some(uri) = &st.cfg.jwks_uri else {
            return Err(ClaimTokenError::NoKey);
        };
        let fetched = async {
            let resp = self.http.get(uri).send().await.ok()?;
            if !resp.status().is_success() {
                return None;
            }
            let bytes = resp.bytes().await.ok()?;
            if bytes.len() > 256 * 1024 {
                return None;
            }
            serde_json::from_slice::<JwkSet>(&bytes).ok()
        }
        .await;
        match fetched {
            Some(set) => {
                *cache = Some((set.clone(), Instant::now()));
                Ok(set)
            }
            None => {
                tracing::warn!(jwks_uri = %uri, "cannot fetch a trusted issuer's JWKS");
                // Keep a stale set rather than nothing, but do not hammer the issuer.
                match cache.as_mut() {
                    Some((set, at)) => {
                        *at = Instant::now().checked_sub(JWKS_TTL).unwrap_or_else(Instant::now);
                        Ok(set.clone())
                    }
                    None => Err(ClaimTokenError::NoKey),
                }
            }
        }
    }

    /// Verifies a claim token and returns the claims it carries.
    pub async fn verify(
        &self,
        format: &str,
        token: &ClaimToken,
        cx: ClaimContext<'_>,
    ) -> Result<Vec<Claim>, ClaimTokenError> {
        let token = token.secret();
        if format != ID_TOKEN_FORMAT {
            return Err(ClaimTokenError::UnsupportedFormat(format.to_owned()));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| ClaimTokenError::Malformed)?;
        let unverified: serde_json::Map<String, serde_json::Value> = jsonwebtoken::dangerous::insecure_decode(token)
            .map_err(|_| ClaimTokenError::Malformed)?
            .claims;
        let iss = unverified
            .get("iss")
            .and_then(|v| v.as_str())
            .ok_or(ClaimTokenError::Malformed)?;
        let Some(st) = self.issuers.iter().find(|s| s.cfg.issuer == iss) else {
            if cx.lax.issuer {
                return Ok(into_claims(unverified.clone(), iss));
            }
            return Err(ClaimTokenError::UntrustedIssuer);
        };
        if !matches!(
            header.alg,
            Algorithm::ES256
                | Algorithm::ES384
                | Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
                | Algorithm::EdDSA
        ) {
            return Err(ClaimTokenError::Invalid(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let verified = async {
            let set = self.keys(st, header.kid.as_deref()).await?;
            let jwk = match header.kid.as_deref() {
                Some(kid) => set.find(kid),
                None if set.keys.len() == 1 => set.keys.first(),
                None => None,
            }
            .ok_or(ClaimTokenError::NoKey)?;
            let key = DecodingKey::from_jwk(jwk).map_err(|_| ClaimTokenError::NoKey)?;
            let mut v = Validation::new(header.alg);
            v.validate_exp = false; // checked below against the AS's own clock
            v.validate_nbf = false;
            v.validate_aud = false; // checked below, so a wrong audience has its own reason
            v.set_required_spec_claims(&["exp", "iss"]);
            v.set_issuer(&[st.cfg.issuer.as_str()]);
            jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(token, &key, &v)
                .map(|d| d.claims)
                .map_err(|e| ClaimTokenError::Invalid(e.to_string()))
        };
        let claims = match verified.await {
            Ok(claims) => claims,
            Err(_) if cx.lax.signature => unverified.clone(),
            Err(e) => return Err(e),
        };

        if !cx.lax.audience {
            let mut accepted: HashSet<&str> = st.cfg.audiences.iter().map(String::as_str).collect();
            accepted.insert(cx.as_issuer);
            accepted.insert(cx.client_id);
            let ok = match claims.get("aud") {
                Some(serde_json::Value::String(a)) => accepted.contains(a.as_str()),
                Some(serde_json::Value::Array(list)) => {
                    list.iter().filter_map(|a| a.as_str()).any(|a| accepted.contains(a))
                }
                _ => false,
            };
            if !ok {
                return Err(ClaimTokenError::WrongAudience);
            }
        }
        let exp = claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .ok_or(ClaimTokenError::Malformed)?;
        if exp.saturating_add(LEEWAY) <= cx.now && !cx.lax.expiry {
            return Err(ClaimTokenError::Expired);
        }
        if let Some(nbf) = claims.get("nbf").and_then(serde_json::Value::as_i64)
            && nbf.saturating_sub(LEEWAY) > cx.now
        {
            return Err(ClaimTokenError::NotYetValid);
        }
        Ok(into_claims(claims, &st.cfg.issuer))
    }
}

/// A self-contained PCT, as the `pct-readable-jwt` quirk issues it: a JWT the AS signs but does
/// not encrypt, carrying the requesting party's claims where any holder can read them. It still
/// works because the AS also keeps it by reference, like an opaque PCT.
pub fn readable_pct(
    ctx: &crate::core::Ctx,
    client_id: &str,
    claims: &[Claim],
    now: i64,
) -> Result<String, ProtocolError> {
    let mut body = serde_json::Map::new();
    for c in claims {
        body.insert(c.name.clone(), c.value.clone());
    }
    body.insert("iss".into(), serde_json::json!(ctx.issuer));
    body.insert("client_id".into(), serde_json::json!(client_id));
    body.insert("iat".into(), serde_json::json!(now));
    body.insert("exp".into(), serde_json::json!(now + ctx.config.lifetimes.pct));
    body.insert("jti".into(), serde_json::json!(crate::crypto::random_token()));
    ctx.signer.sign("JWT", &serde_json::Value::Object(body))
}
