//! Protocol constants.

/// The UMA grant type (UMA Grant §3.3.1).
pub const UMA_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";

/// The OpenID Connect ID Token claim token format (the example of UMA Grant §3.3.1).
pub const ID_TOKEN_FORMAT: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";

/// The media type of token, introspection and revocation requests (RFC 6749 §4.1.3, Appendix B).
pub const FORM_MEDIA_TYPE: &str = "application/x-www-form-urlencoded";

/// The media type a `Content-Type` value names, lower-cased, without its parameters
/// (`Application/JSON; charset=utf-8` → `application/json`).
pub fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The default PAT scope (FedAuthz §1.3).
pub const PROTECTION_SCOPE: &str = "uma_protection";

/// The profile URI of the ICG+PKCE harness profile (digest §10.1), as the reference AS
/// advertises it in `uma_profiles_supported`.
pub const PROFILE_ICG_PKCE: &str = "https://uma-conformance.dev/profiles/icg-pkce/1.0";

/// The profile URI of the ICG mix-up (`iss`) harness profile (digest §10.2).
pub const PROFILE_ICG_ISS: &str = "https://uma-conformance.dev/profiles/icg-iss/1.0";

#[cfg(test)]
mod tests {
    #[test]
    fn a_media_type_drops_parameters_and_case() {
        assert_eq!(
            super::media_type(" Application/X-WWW-Form-Urlencoded ; charset=UTF-8"),
            super::FORM_MEDIA_TYPE
        );
        assert_eq!(super::media_type(""), "");
    }
}
