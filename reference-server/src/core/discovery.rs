//! The discovery document (UMA Grant §2, FedAuthz §2, RFC 8414, RFC 9207 §3).

use serde_json::{Value, json};

use crate::core::Ctx;
use crate::core::clients::{UMA_PROTECTION, UMA_TICKET_GRANT};

/// URI naming the harness profile that binds the ticket returned by claims gathering to a PKCE
/// challenge (digest §10.1).
pub const PROFILE_ICG_PKCE: &str = "https://uma-conformance.dev/profiles/icg-pkce/1.0";
/// URI naming the harness profile that adds `iss` to the claims redirect back (digest §10.2).
pub const PROFILE_ICG_ISS: &str = "https://uma-conformance.dev/profiles/icg-iss/1.0";
/// The ID token claim-token format, advertised as a profile as GRANT §3.3.1 suggests.
pub const PROFILE_ID_TOKEN_CLAIMS: &str = crate::core::policy::ID_TOKEN_FORMAT;

/// Endpoint paths, relative to the issuer.
pub mod paths {
    /// UMA discovery.
    pub const UMA_CONFIG: &str = "/.well-known/uma2-configuration";
    /// RFC 8414 metadata.
    pub const OAUTH_CONFIG: &str = "/.well-known/oauth-authorization-server";
    /// Authorization endpoint (PAT by authorization code).
    pub const AUTHORIZE: &str = "/authorize";
    /// Token endpoint.
    pub const TOKEN: &str = "/token";
    /// RFC 7591 registration.
    pub const REGISTER: &str = "/register";
    /// RFC 7662 introspection.
    pub const INTROSPECT: &str = "/introspect";
    /// RFC 7009 revocation.
    pub const REVOKE: &str = "/revoke";
    /// Signing keys.
    pub const JWKS: &str = "/jwks";
    /// FedAuthz resource registration.
    pub const RESOURCE_SET: &str = "/resource_set";
    /// FedAuthz permission endpoint.
    pub const PERMISSION: &str = "/permission";
    /// Claims interaction endpoint.
    pub const CLAIMS: &str = "/claims";
    /// Policy API (reference-server specific).
    pub const POLICY: &str = "/policy";
    /// Owner approval API (reference-server specific).
    pub const APPROVALS: &str = "/approvals";
}

/// The metadata document, served at both well-known locations.
pub fn metadata(ctx: &Ctx) -> Value {
    let mut profiles = vec![PROFILE_ID_TOKEN_CLAIMS];
    if ctx.config.icg_iss {
        profiles.push(PROFILE_ICG_ISS);
    }
    profiles.push(PROFILE_ICG_PKCE);
    json!({
        "issuer": ctx.issuer,
        "authorization_endpoint": ctx.url(paths::AUTHORIZE),
        "token_endpoint": ctx.url(paths::TOKEN),
        "jwks_uri": ctx.url(paths::JWKS),
        "registration_endpoint": ctx.url(paths::REGISTER),
        "scopes_supported": [UMA_PROTECTION],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [UMA_TICKET_GRANT, "authorization_code", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint": ctx.url(paths::REVOKE),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint": ctx.url(paths::INTROSPECT),
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": ctx.config.icg_iss,
        "claims_interaction_endpoint": ctx.url(paths::CLAIMS),
        "uma_profiles_supported": profiles,
        "permission_endpoint": ctx.url(paths::PERMISSION),
        "resource_registration_endpoint": ctx.url(paths::RESOURCE_SET),
    })
}
