//! `opaque` (G-C-38): a value the client puts in a URL (its `state`) carries none of the given
//! data, in clear, URL-encoded or base64.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CheckError, CheckInput, Evaluate, Evaluation};
use crate::template::{Tpl, to_text};

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Opaque {
    /// The value.
    pub value: Tpl,
    /// Data that must not be readable in it (items shorter than 4 characters are ignored).
    #[serde(default)]
    pub without: Option<Tpl>,
}

/// A value and its base64 / base64url decodings (each dot-separated part too), as text.
fn decoded_forms(v: &str) -> Vec<String> {
    use base64::Engine;
    let mut out = vec![v.to_string()];
    if let Some((_, d)) = url::form_urlencoded::parse(format!("x={v}").as_bytes()).next() {
        out.push(d.into_owned());
    }
    for part in std::iter::once(v).chain(v.split('.')) {
        let p = part.trim_end_matches('=');
        for engine in [
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
        ] {
            if let Ok(b) = engine.decode(p) {
                out.push(String::from_utf8_lossy(&b).into_owned());
            }
        }
    }
    out
}

impl Evaluate for Opaque {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let value = input.text(&self.value)?;
        let forbidden: Vec<String> = match &self.without {
            Some(t) => match input.value(t)? {
                Value::Array(a) => a.iter().map(to_text).filter(|s| s.len() >= 4).collect(),
                other => vec![to_text(&other)],
            },
            None => Vec::new(),
        };
        let decoded = decoded_forms(&value);
        let found = forbidden
            .iter()
            .filter(|f| decoded.iter().any(|d| d.contains(f.as_str())))
            .count();
        Ok(Evaluation::one(
            "the value carries no readable data",
            if value.is_empty() { None } else { Some(found == 0) },
            "none of the given data, in clear or base64",
            if found == 0 {
                "none found".to_string()
            } else {
                format!("{found} readable data item(s) found")
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use base64::Engine;
    use serde_json::json;

    #[test]
    fn data_in_base64_is_found_and_random_state_passes() {
        let r = Response::default();
        let check = "opaque: { value: $s, without: [alice@example.test] }";
        let leaky = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("user=alice@example.test");
        assert_eq!(oks(&eval(check, &r, &facts(), &[("s", json!(leaky))])), [Some(false)]);
        assert_eq!(
            oks(&eval(check, &r, &facts(), &[("s", json!("Zq81kLmN0pQ"))])),
            [Some(true)]
        );
    }
}
