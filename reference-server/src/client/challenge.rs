//! A tolerant parser for `WWW-Authenticate` challenges (RFC 9110 §11.6.1), as a client meets
//! them from real resource servers (digest P-28): the scheme in any case, parameters quoted or
//! bare, any spacing around commas, several challenges in one header.

/// One parameter of a challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param {
    /// The parameter name, lowercased.
    pub name: String,
    /// The value with quotes removed and `\x` escapes resolved.
    pub value: String,
    /// The value exactly as it appeared, quotes included.
    pub raw: String,
}

/// One challenge: a scheme and its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme as written (compare it case-insensitively).
    pub scheme: String,
    /// The parameters, in order.
    pub params: Vec<Param>,
}

impl Challenge {
    /// The first parameter called `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }
}

/// The most items (challenges plus parameters) read from one header value.
const MAX_ITEMS: usize = 64;

/// Splits a header value at top-level commas (commas inside quoted strings do not count).
fn split_items(value: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if items.len() >= MAX_ITEMS {
            return items;
        }
    }
    items.push(&value[start..]);
    items
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Parses `name=value` (value quoted or bare); `None` if the item is not a parameter.
fn parse_param(item: &str) -> Option<Param> {
    let (name, raw) = item.split_once('=')?;
    let name = name.trim();
    if !is_token(name) {
        return None;
    }
    let raw = raw.trim();
    let value = match raw.strip_prefix('"') {
        Some(rest) => {
            let mut out = String::new();
            let mut chars = rest.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => out.extend(chars.next()),
                    '"' => break,
                    c => out.push(c),
                }
            }
            out
        }
        None => raw.to_owned(),
    };
    Some(Param {
        name: name.to_ascii_lowercase(),
        value,
        raw: raw.to_owned(),
    })
}

/// Parses one `WWW-Authenticate` header value into its challenges. Unparseable pieces are
/// skipped; the parser never fails.
pub fn parse(value: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    for item in split_items(value) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        // A new challenge starts with a scheme token followed by whitespace or the end; a
        // parameter is `name=value` (`=` before any whitespace).
        let first_space = item.find(char::is_whitespace);
        let first_eq = item.find('=');
        let starts_challenge = match (first_space, first_eq) {
            (_, None) => true,
            (Some(s), Some(e)) => s < e && is_token(&item[..s]) && !item[s..].trim_start().starts_with('='),
            (None, Some(_)) => false,
        };
        if starts_challenge {
            let (scheme, rest) = match first_space {
                Some(s) => (&item[..s], item[s..].trim()),
                None => (item, ""),
            };
            let mut c = Challenge {
                scheme: scheme.to_owned(),
                params: Vec::new(),
            };
            if let Some(p) = parse_param(rest) {
                c.params.push(p);
            }
            out.push(c);
        } else if let (Some(c), Some(p)) = (out.last_mut(), parse_param(item)) {
            c.params.push(p);
        }
    }
    out
}

/// The first `UMA` challenge among several header values.
pub fn find_uma<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<Challenge> {
    values
        .into_iter()
        .flat_map(parse)
        .find(|c| c.scheme.eq_ignore_ascii_case("UMA"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uma(v: &str) -> Challenge {
        find_uma([v]).expect("a UMA challenge")
    }

    #[test]
    fn the_spec_example_is_read() {
        let c = uma(
            r#"UMA realm="example", as_uri="https://as.example.com", ticket="016f84e8-f9b9-11e0-bd6f-0021cc6004de""#,
        );
        assert_eq!(
            c.param("as_uri").map(|p| p.value.as_str()),
            Some("https://as.example.com")
        );
        assert_eq!(
            c.param("ticket").map(|p| p.value.as_str()),
            Some("016f84e8-f9b9-11e0-bd6f-0021cc6004de")
        );
        assert_eq!(
            c.param("ticket").map(|p| p.raw.as_str()),
            Some("\"016f84e8-f9b9-11e0-bd6f-0021cc6004de\"")
        );
    }

    #[test]
    fn case_spacing_and_bare_values_are_tolerated() {
        let c = uma(r#"uma realm="x",as_uri="http://127.0.0.1:1"  ,   TICKET=abc"#);
        assert_eq!(c.param("as_uri").map(|p| p.value.as_str()), Some("http://127.0.0.1:1"));
        assert_eq!(c.param("ticket").map(|p| p.value.as_str()), Some("abc"));
    }

    #[test]
    fn a_uma_challenge_after_a_bearer_one_in_the_same_header_is_found() {
        let c = uma(r#"Bearer realm="a, b", error="invalid_token", UMA as_uri="http://127.0.0.1:2", ticket="t""#);
        assert_eq!(c.param("as_uri").map(|p| p.value.as_str()), Some("http://127.0.0.1:2"));
        assert_eq!(c.param("ticket").map(|p| p.value.as_str()), Some("t"));
        assert!(c.param("error").is_none());
    }

    #[test]
    fn escapes_in_quoted_strings_are_resolved() {
        let c = uma(r#"UMA ticket="a\"b""#);
        assert_eq!(c.param("ticket").map(|p| p.value.as_str()), Some("a\"b"));
    }

    #[test]
    fn no_uma_challenge_is_none() {
        assert!(find_uma([r#"Bearer realm="x""#, "Basic"]).is_none());
        assert!(find_uma([""]).is_none());
    }
}
