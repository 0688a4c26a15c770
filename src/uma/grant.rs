//! Protocol constants.

/// The UMA grant type (UMA Grant §3.3.1).
pub const UMA_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";

/// The OpenID Connect ID Token claim token format (the example of UMA Grant §3.3.1).
pub const ID_TOKEN_FORMAT: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";

/// The default PAT scope (FedAuthz §1.3).
pub const PROTECTION_SCOPE: &str = "uma_protection";

/// The profile URI of the ICG+PKCE harness profile (digest §10.1), as the reference AS
/// advertises it in `uma_profiles_supported`.
pub const PROFILE_ICG_PKCE: &str = "https://uma-conformance.dev/profiles/icg-pkce/1.0";

/// The profile URI of the ICG mix-up (`iss`) harness profile (digest §10.2).
pub const PROFILE_ICG_ISS: &str = "https://uma-conformance.dev/profiles/icg-iss/1.0";
