//! A demo identity provider built into the AS (`demo_identity_provider: true`, on in the demo
//! configuration): it mints OpenID Connect ID tokens for whatever subject and claims it is
//! asked, and the AS trusts it. It makes the claim-pushing walk-through work with curl alone.
//! Never enable it where the AS guards anything real.

use serde_json::{Map, Value, json};

use crate::config::TrustedIssuer;
use crate::core::keys::Signer;
use crate::core::{Ctx, ProtocolError};
use crate::crypto::random_id;

/// Path of the demo IdP under the AS issuer.
pub const PATH: &str = "/demo-idp";

/// The demo identity provider.
#[derive(Debug)]
pub struct DemoIdp {
    issuer: String,
    signer: Signer,
}

impl DemoIdp {
    /// A demo IdP with a fresh in-memory key, at `{as_issuer}/demo-idp`.
    pub fn new(as_issuer: &str) -> Result<Self, ProtocolError> {
        Ok(Self {
            issuer: format!("{}{PATH}", as_issuer.trim_end_matches('/')),
            signer: Signer::generate()?,
        })
    }

    /// Its issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The trust entry the AS adds for it.
    pub fn trusted_issuer(&self) -> TrustedIssuer {
        TrustedIssuer {
            issuer: self.issuer.clone(),
            jwks_uri: None,
            jwks: serde_json::to_value(self.signer.jwks()).ok(),
            audiences: Vec::new(),
        }
    }

    /// Mints an ID token. `params`: `sub` (required), `aud` (default: the AS issuer),
    /// `expires_in` (seconds, default 300; negative for an expired token), and any other
    /// string parameter becomes a claim (e.g. `email`).
    pub fn mint(&self, ctx: &Ctx, params: &std::collections::BTreeMap<String, String>) -> Result<Value, ProtocolError> {
        let sub = params
            .get("sub")
            .ok_or_else(|| ProtocolError::invalid_request("sub is required"))?;
        let expires_in: i64 = match params.get("expires_in") {
            Some(v) => v
                .parse()
                .map_err(|_| ProtocolError::invalid_request("expires_in must be an integer"))?,
            None => 300,
        };
        let now = ctx.clock.now();
        let exp = now
            .checked_add(expires_in)
            .ok_or_else(|| ProtocolError::invalid_request("expires_in is out of range"))?;
        let mut claims = Map::new();
        for (k, v) in params {
            if !matches!(k.as_str(), "aud" | "expires_in") {
                claims.insert(k.clone(), json!(v));
            }
        }
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert(
            "aud".into(),
            json!(params.get("aud").cloned().unwrap_or_else(|| ctx.issuer.clone())),
        );
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(exp));
        claims.insert("jti".into(), json!(random_id()));
        let _ = sub;
        let token = self.signer.sign("JWT", &Value::Object(claims))?;
        Ok(json!({ "id_token": token, "issuer": self.issuer }))
    }
}
