//! How guessable are the tickets and PCTs an AS issues? (digest §5 T-07; G-AS-53, G-AS-23.)
//!
//! Neither function proves a value random. [`estimate_bits`] gives an upper bound from the
//! value's shape, so a low figure is real evidence of a weak value while a high one proves
//! nothing; [`predictability`] spots the common ways a series of values gives itself away
//! (counters, timestamps, a shared prefix).

use std::collections::BTreeSet;

/// Bits one base64url character carries.
const BASE64_BITS_PER_CHAR: f64 = 6.0;
/// The random bits of a version 4 UUID (128 less the 6 version and variant bits).
const UUID_BITS: f64 = 122.0;

/// An upper-bound estimate of the entropy of `value`, in bits.
///
/// The rules, first match wins:
///
/// 1. A UUID in its canonical 8-4-4-4-12 hexadecimal form (either case) counts 122 bits, the
///    random bits of a version 4 UUID, whatever its version.
/// 2. A JWT-looking value (three dot-separated base64url parts, the header starting with
///    `eyJ`, the encoding of `{"`) counts only its signature part, at 6 bits per character:
///    the header and payload are structured data an attacker can guess or read. An unsecured
///    JWT (empty signature) counts 0 bits.
/// 3. Otherwise: the length times log2 of the size of the smallest standard alphabet that
///    holds every character: digits (10), hexadecimal in one case (16), RFC 4648 base32 in one
///    case (32), alphanumeric (62), base64url or base64 (64), printable ASCII (95). Trailing
///    `=` padding is allowed for base32 and base64 and not counted.
/// 4. A value with a character outside printable ASCII counts 8 bits per byte (an upper bound
///    whatever the encoding).
///
/// The empty string counts 0 bits.
pub fn estimate_bits(value: &str) -> f64 {
    if is_uuid(value) {
        return UUID_BITS;
    }
    if let Some(signature) = jwt_signature(value) {
        return count(signature.len()) * BASE64_BITS_PER_CHAR;
    }
    alphabet_bits(value)
}

/// Whether `value` is a UUID in canonical textual form.
fn is_uuid(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The signature part of a JWT-looking value, if `value` looks like a JWT.
fn jwt_signature(value: &str) -> Option<&str> {
    let mut parts = value.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let b64url = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (parts.next().is_none()
        && header.starts_with("eyJ")
        && !payload.is_empty()
        && b64url(header)
        && b64url(payload)
        && b64url(signature))
    .then_some(signature)
}

/// A length as a float, for the estimates (lengths are far below 2^52, so this is exact).
fn count(n: usize) -> f64 {
    u32::try_from(n).map_or(f64::from(u32::MAX), f64::from)
}

/// Rule 3 and 4 of [`estimate_bits`].
fn alphabet_bits(value: &str) -> f64 {
    if value.bytes().any(|b| !(0x20..=0x7e).contains(&b)) {
        return count(value.len()) * 8.0;
    }
    let body = value.trim_end_matches('=');
    let padded = body.len() < value.len();
    let all = |f: fn(u8) -> bool| body.bytes().all(f);
    let digit = |b: u8| b.is_ascii_digit();
    let hex_lower = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    let hex_upper = |b: u8| b.is_ascii_digit() || (b'A'..=b'F').contains(&b);
    let b32_upper = |b: u8| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b);
    let b32_lower = |b: u8| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b);
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    let b64url = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    let b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let size: f64 = if !padded && all(digit) {
        10.0
    } else if !padded && (all(hex_lower) || all(hex_upper)) {
        16.0
    } else if all(b32_upper) || all(b32_lower) {
        32.0
    } else if !padded && all(alnum) {
        62.0
    } else if all(b64url) || all(b64) {
        64.0
    } else {
        // Printable ASCII; the padding, if any, is ordinary characters here.
        return count(value.len()) * 95f64.log2();
    };
    count(body.len()) * size.log2()
}

/// Looks at several values issued one after the other and explains why they look predictable,
/// or returns `None` when nothing gives them away.
///
/// Reported, in this order: a value issued twice; values that are numbers (after any prefix
/// they share) counting up or down by one, or, with three values or more, by a constant
/// difference; values of one length identical except in their last one or two characters;
/// values sharing a prefix longer than three quarters of the shortest one. Fewer than two
/// samples give `None`.
pub fn predictability(samples: &[&str]) -> Option<String> {
    if samples.len() < 2 {
        return None;
    }
    let mut seen = BTreeSet::new();
    if let Some(dup) = samples.iter().find(|s| !seen.insert(**s)) {
        return Some(format!("the value {dup:?} was issued more than once"));
    }
    if let Some(reason) = arithmetic_series(samples) {
        return Some(reason);
    }
    let chars: Vec<Vec<char>> = samples.iter().map(|s| s.chars().collect()).collect();
    let prefix = common_prefix(&chars);
    let shortest = chars.iter().map(Vec::len).min().unwrap_or(0);
    let same_length = chars.iter().all(|c| c.len() == shortest);
    if same_length && shortest >= 3 && prefix + 2 >= shortest {
        let differing = shortest - prefix;
        return Some(format!(
            "all {} values have {shortest} characters and differ only in the last {differing} character{}",
            samples.len(),
            if differing == 1 { "" } else { "s" }
        ));
    }
    if prefix * 4 > shortest * 3 {
        return Some(format!(
            "all {} values share a prefix of {prefix} characters, more than three quarters of the shortest ({shortest})",
            samples.len()
        ));
    }
    None
}

/// The number of leading characters every value shares.
fn common_prefix(values: &[Vec<char>]) -> usize {
    let Some((first, rest)) = values.split_first() else {
        return 0;
    };
    let mut n = first.len();
    for v in rest {
        n = n.min(first.iter().zip(v).take_while(|(a, b)| a == b).count());
    }
    n
}

/// Explains an arithmetic series: the values, after the prefix they share (cut back so it ends
/// before any digit), are numbers with a constant difference.
fn arithmetic_series(samples: &[&str]) -> Option<String> {
    let bytes: Vec<&[u8]> = samples.iter().map(|s| s.as_bytes()).collect();
    let (first, rest) = bytes.split_first()?;
    let mut prefix = first.len();
    for b in rest {
        prefix = prefix.min(first.iter().zip(b.iter()).take_while(|(x, y)| x == y).count());
    }
    while prefix > 0 && first.get(prefix - 1).is_some_and(u8::is_ascii_digit) {
        prefix -= 1;
    }
    let mut numbers = Vec::with_capacity(samples.len());
    for s in samples {
        let tail = s.get(prefix..)?;
        if tail.is_empty() || !tail.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        numbers.push(i128::try_from(tail.parse::<u128>().ok()?).ok()?);
    }
    let diffs: Vec<i128> = numbers
        .windows(2)
        .map(|w| w[1].checked_sub(w[0]))
        .collect::<Option<_>>()?;
    let (&d, others) = diffs.split_first()?;
    if others.iter().any(|x| *x != d) {
        return None;
    }
    let what = if prefix > 0 {
        "numbers after a common prefix"
    } else {
        "numbers"
    };
    match d {
        1 | -1 => Some(format!(
            "the values are consecutive {what} (counting {} by one)",
            if d > 0 { "up" } else { "down" }
        )),
        _ if samples.len() >= 3 => Some(format!("the values are {what} with a constant difference of {d}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::{SecureRandom as _, SystemRandom};
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;

    fn random_bytes<const N: usize>() -> [u8; N] {
        let mut buf = [0u8; N];
        SystemRandom::new().fill(&mut buf).unwrap();
        buf
    }

    fn uuid_v4() -> String {
        let mut b = random_bytes::<16>();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_base64url_token_of_32_bytes_counts_258_bits() {
        // The RFC 7636 Appendix B verifier: 32 octets, base64url, with both `-` and `_`.
        let token = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(close(estimate_bits(token), 43.0 * 6.0));
    }

    #[test]
    fn each_standard_alphabet_is_recognised() {
        assert!(close(estimate_bits("12345678"), 8.0 * 10f64.log2()));
        assert!(close(estimate_bits("deadbeef00"), 40.0));
        assert!(close(estimate_bits("DEADBEEF00"), 40.0));
        assert!(close(estimate_bits("MZXW6YTBOI======"), 10.0 * 5.0));
        assert!(close(estimate_bits("mzxw6ytboi"), 50.0));
        assert!(close(estimate_bits("Ab9z"), 4.0 * 62f64.log2()));
        assert!(close(estimate_bits("a-b_"), 24.0));
        assert!(close(estimate_bits("a+b/c="), 30.0));
        assert!(close(estimate_bits("a b!"), 4.0 * 95f64.log2()));
        assert!(close(estimate_bits("12=4"), 4.0 * 95f64.log2()));
    }

    #[test]
    fn mixed_case_hexadecimal_is_not_counted_as_hexadecimal() {
        assert!(close(estimate_bits("DeadBeef"), 8.0 * 62f64.log2()));
    }

    #[test]
    fn a_uuid_counts_122_bits() {
        assert!(close(estimate_bits(&uuid_v4()), 122.0));
        assert!(close(estimate_bits(&uuid_v4().to_uppercase()), 122.0));
    }

    #[test]
    fn a_jwt_counts_only_its_signature() {
        // Arrange
        let jwt = format!("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJib2IifQ.{}", "A".repeat(86));

        // Act + Assert
        assert!(close(estimate_bits(&jwt), 86.0 * 6.0));
        assert!(close(estimate_bits("eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ."), 0.0));
    }

    #[test]
    fn empty_and_non_ascii_values_follow_the_documented_rules() {
        assert!(close(estimate_bits(""), 0.0));
        assert!(close(estimate_bits("é"), 16.0));
    }

    #[test]
    fn random_base64url_samples_are_not_predictable() {
        let owned: Vec<String> = (0..10).map(|_| URL_SAFE_NO_PAD.encode(random_bytes::<32>())).collect();
        let samples: Vec<&str> = owned.iter().map(String::as_str).collect();
        assert_eq!(predictability(&samples), None);
    }

    #[test]
    fn uuid_v4_samples_are_not_predictable() {
        let owned: Vec<String> = (0..10).map(|_| uuid_v4()).collect();
        let samples: Vec<&str> = owned.iter().map(String::as_str).collect();
        assert_eq!(predictability(&samples), None);
    }

    #[test]
    fn counters_are_predictable() {
        for samples in [
            &["1000", "1001", "1002"][..],
            &["41", "40"][..],
            &["5", "10", "15", "20"][..],
            &["ticket-99", "ticket-100", "ticket-101"][..],
            &["a119", "a120"][..],
        ] {
            assert!(predictability(samples).is_some(), "{samples:?}");
        }
    }

    #[test]
    fn two_unrelated_numbers_are_not_called_a_series() {
        assert_eq!(predictability(&["830183", "129947"]), None);
    }

    #[test]
    fn a_repeated_value_is_predictable() {
        let reason = predictability(&["abc", "xyz", "abc"]).unwrap();
        assert!(reason.contains("more than once"), "{reason}");
    }

    #[test]
    fn values_differing_only_at_the_end_are_predictable() {
        let reason = predictability(&["tkt-AAAAxQ", "tkt-AAAAzR", "tkt-AAAAbb"]).unwrap();
        assert!(reason.contains("last 2 characters"), "{reason}");
    }

    #[test]
    fn a_long_shared_prefix_is_predictable() {
        let reason = predictability(&["20260821T101500-aZ", "20260821T101500-q3xy"]).unwrap();
        assert!(reason.contains("prefix"), "{reason}");
    }

    #[test]
    fn fewer_than_two_samples_tell_nothing() {
        assert_eq!(predictability(&[]), None);
        assert_eq!(predictability(&["1"]), None);
    }

    proptest! {
        #[test]
        fn neither_function_panics_on_any_input(values in prop::collection::vec(".{0,40}", 0..6)) {
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            let _ = predictability(&refs);
            for v in &refs {
                let bits = estimate_bits(v);
                prop_assert!(bits >= 0.0 && bits.is_finite());
            }
        }

        #[test]
        fn huge_numbers_do_not_overflow_the_series_check(a in "[0-9]{30,60}", b in "[0-9]{30,60}") {
            let _ = predictability(&[a.as_str(), b.as_str()]);
        }
    }
}
