//! Randomness, hashing, constant-time comparison and PKCE.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Bytes of entropy in every token, ticket, PCT and secret the AS issues (256 bits).
pub const TOKEN_BYTES: usize = 32;

/// A fresh random value of [`TOKEN_BYTES`] bytes, base64url without padding (43 URL-safe
/// characters), from the operating system's CSPRNG.
pub fn random_token() -> String {
    let mut buf = [0u8; TOKEN_BYTES];
    aws_lc_rs::rand::fill(&mut buf).expect("the system random number generator failed");
    URL_SAFE_NO_PAD.encode(buf)
}

/// A short random identifier (128 bits) for database rows that are not credentials.
pub fn random_id() -> String {
    let mut buf = [0u8; 16];
    aws_lc_rs::rand::fill(&mut buf).expect("the system random number generator failed");
    URL_SAFE_NO_PAD.encode(buf)
}

/// SHA-256 of a secret, base64url. The store keeps only these, never the secret itself.
pub fn hash_secret(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two byte strings in time independent of where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// The RFC 7636 §4.2 S256 transform: `BASE64URL(SHA256(ASCII(verifier)))`.
pub fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `value` is 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`
/// (RFC 7636 §4.1 for verifiers, §4.2 for challenges).
pub fn is_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_the_rfc_7636_appendix_b_vector() {
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn pkce_values_outside_43_to_128_unreserved_characters_are_rejected() {
        assert!(!is_pkce_value(&"a".repeat(42)));
        assert!(is_pkce_value(&"a".repeat(43)));
        assert!(is_pkce_value(&"a".repeat(128)));
        assert!(!is_pkce_value(&"a".repeat(129)));
        assert!(!is_pkce_value(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn random_tokens_are_url_safe_and_carry_256_bits() {
        let t = random_token();
        assert_eq!(t.len(), 43);
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(t, random_token());
    }

    #[test]
    fn constant_time_comparison_agrees_with_equality() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
