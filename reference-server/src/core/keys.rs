//! The AS's ES256 signing key (JWT RPTs), kept in the store so it survives restarts.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::core::ProtocolError;
use crate::store::Store;

/// The signing key with its public JWK.
pub struct Signer {
    key: EncodingKey,
    jwk: Jwk,
    kid: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

fn key_error(e: impl std::fmt::Display) -> ProtocolError {
    tracing::error!(error = %e, "signing key failure");
    ProtocolError::server_error()
}

impl Signer {
    /// Loads the stored key, or generates and stores a new P-256 key.
    pub async fn load_or_create(store: &Store, now: i64) -> Result<Self, ProtocolError> {
        let (_, pkcs8) = match store.signing_key().await? {
            Some(k) => k,
            None => {
                let rng = aws_lc_rs::rand::SystemRandom::new();
                let doc = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
                    &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &rng,
                )
                .map_err(key_error)?;
                let pkcs8 = URL_SAFE_NO_PAD.encode(doc.as_ref());
                let kid = crate::crypto::random_id();
                store.put_signing_key(&kid, &pkcs8, now).await?
            }
        };
        let der = URL_SAFE_NO_PAD.decode(pkcs8).map_err(key_error)?;
        Self::from_pkcs8(&der)
    }

    /// A fresh P-256 key that lives only in memory.
    pub fn generate() -> Result<Self, ProtocolError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let doc = aws_lc_rs::signature::EcdsaKeyPair::generate_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng,
        )
        .map_err(key_error)?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// Builds a signer from a PKCS#8 P-256 private key.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, ProtocolError> {
        let key = EncodingKey::from_ec_der(der);
        let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).map_err(key_error)?;
        let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(key_error)?;
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Signature);
        Ok(Self { key, jwk, kid })
    }

    /// Signs `claims` as an ES256 JWT with this key's `kid`.
    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, ProtocolError> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(key_error)
    }

    /// The public key set published at `jwks_uri`.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: vec![self.jwk.clone()],
        }
    }
}
