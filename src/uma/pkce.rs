//! Proof Key for Code Exchange (RFC 7636; digest §9.1): verifiers and the S256 transform.

use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

/// Bytes of randomness in a generated verifier: the 32 octets RFC 7636 §4.1 recommends.
const VERIFIER_BYTES: usize = 32;

/// The S256 code challenge of `verifier` (RFC 7636 §4.2):
/// `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`, without padding.
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A fresh code verifier: 32 random octets from the operating system's CSPRNG,
/// base64url-encoded without padding (43 characters, 256 bits; RFC 7636 §4.1, §7.1).
///
/// # Panics
///
/// Only if the operating system's random number generator fails, which leaves nothing sound
/// to fall back on.
pub fn generate_verifier() -> String {
    let mut buf = [0u8; VERIFIER_BYTES];
    SystemRandom::new()
        .fill(&mut buf)
        .expect("the system random number generator failed");
    URL_SAFE_NO_PAD.encode(buf)
}

/// Whether `v` is a well-formed code verifier (RFC 7636 §4.1): 43 to 128 characters of
/// `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`. The same rule holds for S256 and plain
/// code challenges (§4.2).
pub fn is_valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_s256_challenge_matches_the_rfc_7636_appendix_b_vector() {
        // Arrange
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

        // Act
        let challenge = s256_challenge(verifier);

        // Assert
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn verifiers_of_43_to_128_characters_are_valid_and_42_or_129_are_not() {
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(is_valid_verifier(&"a".repeat(43)));
        assert!(is_valid_verifier(&"a".repeat(128)));
        assert!(!is_valid_verifier(&"a".repeat(129)));
    }

    #[test]
    fn verifiers_with_characters_outside_the_unreserved_set_are_invalid() {
        let base = "a".repeat(42);
        for bad in ['+', '/', '=', ' ', '%', 'é', '\u{0}'] {
            assert!(!is_valid_verifier(&format!("{base}{bad}")), "{bad:?} accepted");
        }
        for good in ['-', '.', '_', '~', 'Z', '9'] {
            assert!(is_valid_verifier(&format!("{base}{good}")), "{good:?} refused");
        }
    }

    #[test]
    fn a_multibyte_character_does_not_make_a_short_verifier_long_enough() {
        // 42 ASCII characters plus one two-byte character is 44 bytes but still invalid.
        assert!(!is_valid_verifier(&format!("{}é", "a".repeat(42))));
    }

    #[test]
    fn generated_verifiers_are_valid_43_characters_and_differ() {
        // Act
        let (v1, v2) = (generate_verifier(), generate_verifier());

        // Assert
        assert_eq!(v1.len(), 43);
        assert!(is_valid_verifier(&v1));
        assert_ne!(v1, v2);
        assert!(is_valid_verifier(&s256_challenge(&v1)));
    }
}
