//! A tolerant parser of `WWW-Authenticate` challenges (RFC 9110 §11.6.1), for the UMA challenge an
//! RS sends (UMA Grant §3.2.1) and the Bearer challenges around it (RFC 6750 §3).
//!
//! Real servers differ in the details (digest P-04, P-05, P-28): scheme case, quoting, comma
//! spacing, several challenges in one header or in several headers. The parser accepts all of them
//! and lists every non-canonical form it met in [`Challenge::notes`], so a check can report the form
//! without failing a conformant reading.

use std::collections::BTreeMap;

/// One challenge: a scheme and its auth-params.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme as sent (compare case-insensitively).
    pub scheme: String,
    /// Parameters by lower-cased name; the first occurrence wins.
    pub params: BTreeMap<String, String>,
    /// Non-canonical forms met while parsing (unquoted values that need quoting, missing spaces,
    /// repeated parameters, a lower-case scheme...).
    pub notes: Vec<String>,
}

impl Challenge {
    /// Whether the scheme is `name` (case-insensitive, RFC 9110 §11.1).
    pub fn is(&self, name: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(name)
    }

    /// A parameter (name case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(&name.to_ascii_lowercase()).map(String::as_str)
    }
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).map(|b| *b as char)
    }
    fn skip_ws(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(' ' | '\t')) {
            self.i += 1;
        }
        self.i - start
    }
    fn token(&mut self) -> String {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }
    /// A bare value: everything up to the next comma (tolerates `:` and `/` in unquoted URLs).
    fn bare(&mut self) -> String {
        let start = self.i;
        while self.peek().is_some_and(|c| c != ',') {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).trim().to_string()
    }
    fn quoted(&mut self) -> Option<String> {
        // at the opening quote
        self.i += 1;
        let mut out = Vec::new();
        while let Some(c) = self.s.get(self.i).copied() {
            self.i += 1;
            match c {
                b'\\' => {
                    if let Some(n) = self.s.get(self.i).copied() {
                        out.push(n);
                        self.i += 1;
                    }
                }
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
                _ => out.push(c),
            }
        }
        None
    }
}

/// Parses one header value into its challenges; `Err` says what is malformed and where.
pub fn parse(value: &str) -> Result<Vec<Challenge>, String> {
    let mut sc = Scanner {
        s: value.as_bytes(),
        i: 0,
    };
    let mut out: Vec<Challenge> = Vec::new();
    loop {
        sc.skip_ws();
        while sc.peek() == Some(',') {
            sc.i += 1;
            sc.skip_ws();
        }
        if sc.peek().is_none() {
            break;
        }
        // Either a new scheme (a token not followed by `=`) or a parameter of the current one.
        let at = sc.i;
        let tok = sc.token();
        if tok.is_empty() {
            return Err(format!(
                "unexpected character {:?} at byte {at} of `{value}`",
                sc.peek().unwrap_or(' ')
            ));
        }
        let ws = sc.skip_ws();
        if sc.peek() == Some('=') {
            let Some(current) = out.last_mut() else {
                return Err(format!("`{value}` starts with a parameter, not an auth-scheme"));
            };
            sc.i += 1;
            let ws_after = sc.skip_ws();
            if ws > 0 || ws_after > 0 {
                current
                    .notes
                    .push(format!("whitespace around `=` in parameter `{tok}`"));
            }
            let v = if sc.peek() == Some('"') {
                sc.quoted()
                    .ok_or_else(|| format!("unterminated quoted-string in parameter `{tok}` of `{value}`"))?
            } else {
                let v = sc.bare();
                if !v.chars().all(is_tchar) {
                    current.notes.push(format!(
                        "parameter `{tok}` is not quoted although its value `{v}` needs a quoted-string (RFC 9110 §11.2; digest P-28)"
                    ));
                }
                v
            };
            let name = tok.to_ascii_lowercase();
            match current.params.entry(name) {
                std::collections::btree_map::Entry::Occupied(_) => {
                    current.notes.push(format!("parameter `{tok}` is repeated"));
                }
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(v);
                }
            }
            sc.skip_ws();
            match sc.peek() {
                None => break,
                Some(',') => {
                    sc.i += 1;
                    if !matches!(sc.peek(), Some(' ' | '\t') | None) {
                        current
                            .notes
                            .push("no space after a comma between parameters (digest P-28)".into());
                    }
                }
                Some(c) => {
                    // A missing comma between a parameter and the next token: a new challenge
                    // would follow a comma too, so this is malformed but readable.
                    current
                        .notes
                        .push(format!("missing comma before {c:?} after parameter `{tok}`"));
                }
            }
        } else {
            if ws == 0 && sc.peek().is_some_and(|c| c != ',') {
                return Err(format!("auth-scheme `{tok}` is not followed by a space in `{value}`"));
            }
            let mut c = Challenge {
                scheme: tok.clone(),
                ..Challenge::default()
            };
            if tok != tok.to_ascii_uppercase() && tok.eq_ignore_ascii_case("uma") {
                c.notes.push(format!(
                    "scheme written `{tok}` (schemes are case-insensitive; the spec writes `UMA`)"
                ));
            }
            out.push(c);
        }
    }
    Ok(out)
}

/// Parses every `WWW-Authenticate` header value of a response.
pub fn parse_all<'a>(values: impl IntoIterator<Item = &'a str>) -> (Vec<Challenge>, Vec<String>) {
    let mut all = Vec::new();
    let mut errors = Vec::new();
    for v in values {
        match parse(v) {
            Ok(c) => all.extend(c),
            Err(e) => errors.push(e),
        }
    }
    (all, errors)
}

/// Every `WWW-Authenticate` value of a response, summarised as JSON for scenarios: `present`
/// (a UMA challenge is there), `scheme`, `schemes` (all of them), `as_uri`, `ticket`, `realm`,
/// `notes` (non-canonical forms and parse errors) and, without a UMA challenge, `error` (of a
/// Bearer challenge).
pub fn describe<'a>(values: impl IntoIterator<Item = &'a str>) -> serde_json::Value {
    use serde_json::{Value, json};
    let (all, errors) = parse_all(values);
    let schemes: Vec<Value> = all.iter().map(|c| Value::String(c.scheme.clone())).collect();
    let mut notes: Vec<Value> = errors.into_iter().map(Value::String).collect();
    match all.iter().find(|c| c.is("UMA")) {
        None => json!({"present": false, "schemes": schemes, "notes": notes,
            "error": all.iter().find_map(|c| c.param("error"))}),
        Some(c) => {
            notes.extend(c.notes.iter().map(|n| Value::String(n.clone())));
            json!({
                "present": true,
                "scheme": c.scheme,
                "schemes": schemes,
                "as_uri": c.param("as_uri"),
                "ticket": c.param("ticket"),
                "realm": c.param("realm"),
                "notes": notes,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_summarises_the_uma_challenge_among_others() {
        let d = describe([
            r#"Bearer error="invalid_token""#,
            r#"UMA as_uri="http://a", ticket="t""#,
        ]);
        assert_eq!(d["present"], true);
        assert_eq!(d["ticket"], "t");
        assert_eq!(d["schemes"], serde_json::json!(["Bearer", "UMA"]));
        let none = describe(std::iter::empty());
        assert_eq!(none["present"], false);
    }

    #[test]
    fn the_spec_example_parses_without_notes() {
        let c = parse(
            r#"UMA realm="example", as_uri="https://as.example.com", ticket="016f84e8-f9b9-11e0-bd6f-0021cc6004de""#,
        )
        .unwrap();
        assert_eq!(c.len(), 1);
        assert!(c[0].is("uma"));
        assert_eq!(c[0].param("as_uri"), Some("https://as.example.com"));
        assert_eq!(c[0].param("TICKET"), Some("016f84e8-f9b9-11e0-bd6f-0021cc6004de"));
        assert!(c[0].notes.is_empty(), "{:?}", c[0].notes);
    }

    #[test]
    fn keycloak_and_janssen_forms_parse_with_notes() {
        let c = parse(r#"UMA realm="x",as_uri="http://127.0.0.1:1",ticket="t""#).unwrap();
        assert_eq!(c[0].param("ticket"), Some("t"));
        assert!(c[0].notes.iter().any(|n| n.contains("no space after a comma")));
        let c = parse("uma realm=x, as_uri=http://127.0.0.1:1/realms/a, ticket=abc").unwrap();
        assert_eq!(c[0].param("as_uri"), Some("http://127.0.0.1:1/realms/a"));
        assert!(c[0].notes.iter().any(|n| n.contains("not quoted")));
        assert!(c[0].notes.iter().any(|n| n.contains("case-insensitive")));
    }

    #[test]
    fn several_challenges_in_one_header() {
        let c =
            parse(r#"Bearer realm="r", error="invalid_token", UMA realm="r", as_uri="http://a", ticket="t""#).unwrap();
        assert_eq!(c.len(), 2);
        assert!(c[0].is("Bearer"));
        assert_eq!(c[0].param("error"), Some("invalid_token"));
        assert!(c[1].is("UMA"));
        assert_eq!(c[1].param("ticket"), Some("t"));
    }

    #[test]
    fn a_bare_scheme_and_escapes() {
        let c = parse(r#"Bearer"#).unwrap();
        assert_eq!(c[0].scheme, "Bearer");
        assert!(c[0].params.is_empty());
        let c = parse(r#"UMA ticket="a\"b""#).unwrap();
        assert_eq!(c[0].param("ticket"), Some("a\"b"));
    }

    #[test]
    fn malformed_values_are_errors_not_panics() {
        assert!(parse(r#"UMA ticket="open"#).is_err());
        assert!(parse(r#"=x"#).is_err());
        assert!(parse(r#"ticket="x""#).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = parse(&s);
        }
    }
}
