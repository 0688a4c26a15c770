//! Finding secrets by structure: the values of token-bearing members and parameters
//! ([`SECRET_NAMES`]) in JSON, forms, URLs and HTML form fields, and the credentials in
//! `Authorization`, `Cookie`, `Set-Cookie` and UMA challenge headers.

use serde_json::Value;

use super::SECRET_NAMES;

/// Secret values in a header.
pub(super) fn header_secrets(name: &str, value: &str) -> Vec<String> {
    let name = name.to_ascii_lowercase();
    match name.as_str() {
        // Basic credentials are replaced whole by `redact_authorization`; a token is labelled.
        "authorization" | "proxy-authorization" => value
            .split_once(' ')
            .filter(|(scheme, _)| !scheme.eq_ignore_ascii_case("basic"))
            .map(|(_, c)| vec![c.trim().to_string()])
            .unwrap_or_default(),
        "cookie" => value
            .split(';')
            .filter_map(|p| p.split_once('=').map(|(_, v)| v.trim().to_string()))
            .collect(),
        "set-cookie" => value
            .split(';')
            .next()
            .and_then(|p| p.split_once('=').map(|(_, v)| v.trim().to_string()))
            .into_iter()
            .collect(),
        "location" | "content-location" | "refresh" => structural_text(value),
        "www-authenticate" => {
            // `ticket="…"` in a UMA challenge.
            let mut out = Vec::new();
            for part in value.split(',') {
                if let Some((k, v)) = part.split_once('=') {
                    let k = k.trim().rsplit(' ').next().unwrap_or("").to_ascii_lowercase();
                    if SECRET_NAMES.contains(&k.as_str()) {
                        out.push(v.trim().trim_matches('"').to_string());
                    }
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

/// Secret values in a body: JSON members, or form / query parameters.
pub(super) fn body_secrets(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        json_secrets(&v, &mut out);
        return out;
    }
    out.extend(params_secrets(body));
    out.extend(structural_text(body));
    out.extend(html_input_secrets(body));
    out
}

/// The values of HTML form fields named like secrets (`<input name="csrf_token" value="…">`):
/// a claims page carries its anti-CSRF token, and a page may carry a ticket or `state`.
fn html_input_secrets(body: &str) -> Vec<String> {
    let lower = body.to_ascii_lowercase();
    let mut out = Vec::new();
    for (start, _) in lower.match_indices("<input") {
        let end = lower[start..].find('>').map_or(lower.len(), |e| start + e);
        let tag = &body[start..end];
        let (name, value) = (attribute(tag, "name"), attribute(tag, "value"));
        if let (Some(n), Some(v)) = (name, value)
            && SECRET_NAMES.contains(&n)
        {
            out.push(v.to_string());
        }
    }
    out
}

/// An attribute's value in a tag (`name="x"` or `name='x'`), case-insensitive on the name.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name).map(|i| i + from) {
        from = i + name.len();
        let before_ok = i > 0 && lower.as_bytes()[i - 1].is_ascii_whitespace();
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let at = tag.len() - rest.len() + 1;
        let value = tag[at..].trim_start();
        let quote = value.chars().next()?;
        if quote == '"' || quote == '\'' {
            return value[1..].find(quote).map(|e| &value[1..1 + e]);
        }
        let e = value
            .find(|c: char| c.is_whitespace() || c == '>')
            .unwrap_or(value.len());
        return Some(&value[..e]);
    }
    None
}

fn json_secrets(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                match x {
                    Value::String(s) if SECRET_NAMES.contains(&k.as_str()) => out.push(s.clone()),
                    Value::String(s) => out.extend(structural_text(s)),
                    other => json_secrets(other, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| json_secrets(x, out)),
        _ => {}
    }
}

fn params_secrets(s: &str) -> Vec<String> {
    url::form_urlencoded::parse(s.trim().as_bytes())
        .filter(|(k, _)| SECRET_NAMES.contains(&k.as_ref()))
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// Secret parameters of every URL (and bare query string) in a text.
pub(super) fn structural_text(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    // memchr's byte search, not `match_indices` over a char array: every string of every body
    // goes through here, and in test builds (our crates at opt-level 0) the char-by-char
    // searcher was about 2% of the selftest's CPU. The three are ASCII, so `i + 1` is a char
    // boundary.
    for i in memchr::memchr3_iter(b'?', b'&', b'#', s.as_bytes()) {
        let rest = &s[i + 1..];
        let end = rest
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '<' || c == '>')
            .unwrap_or(rest.len());
        let seg = &rest[..end];
        let first = seg.split('&').next().unwrap_or("");
        // In HTML, `&` between parameters is written `&amp;`.
        out.extend(params_secrets(first.strip_prefix("amp;").unwrap_or(first)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::structural_text;

    #[test]
    fn every_query_after_multibyte_text_and_html_ampersands_gives_its_secret_parameters() {
        // Arrange: non-ASCII before each `?`, `&` and `#`, so a byte position that is not a char
        // boundary would panic or cut a parameter.
        let text = "é→ https://as.test/cb?code=c-1&state=s-2 ü <a href=\"/x?y=1&amp;ticket=t-3\"> \
                    #access_token=a-4 ?no_secret=1";

        // Act
        let found = structural_text(text);

        // Assert
        assert_eq!(found, ["c-1", "s-2", "t-3", "a-4"]);
    }
}
