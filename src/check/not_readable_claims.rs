//! `not-readable-claims` (G-AS-23): a PCT does not disclose the requesting party's claims (it is
//! not a readable JWT carrying them).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{CheckError, CheckInput, Evaluate, Evaluation};
use crate::template::Tpl;

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotReadableClaims {
    /// The PCT.
    pub value: Tpl,
}

fn readable_jwt_claims(v: &str) -> Option<String> {
    use base64::Engine;
    let parts: Vec<&str> = v.split('.').collect();
    if parts.len() != 3 {
        return None;
    }
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).ok()?;
    let json: Value = serde_json::from_slice(&payload).ok()?;
    let keys: Vec<String> = json
        .as_object()?
        .keys()
        .filter(|k| !matches!(k.as_str(), "iss" | "aud" | "exp" | "iat" | "nbf" | "jti"))
        .cloned()
        .collect();
    if keys.is_empty() { None } else { Some(keys.join(", ")) }
}

impl Evaluate for NotReadableClaims {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let v = input.text(&self.value)?;
        let readable = readable_jwt_claims(&v);
        Ok(Evaluation::one(
            "the PCT does not disclose the requesting party's claims",
            Some(readable.is_none()),
            "an opaque handle or an encrypted token",
            readable
                .map(|c| format!("a readable JWT carrying {c}"))
                .unwrap_or_else(|| "opaque".into()),
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
    fn a_jwt_carrying_claims_fails_and_an_opaque_handle_passes() {
        let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let jwt = format!(
            "{}.{}.sig",
            b64(json!({"alg": "none"})),
            b64(json!({"email": "a@b", "exp": 1}))
        );
        let r = Response::default();
        let e = eval("not-readable-claims: { value: $p }", &r, &facts(), &[("p", json!(jwt))]);
        assert_eq!(oks(&e), [Some(false)]);
        let e = eval(
            "not-readable-claims: { value: $p }",
            &r,
            &facts(),
            &[("p", json!("opaque-pct-9f8e7d"))],
        );
        assert_eq!(oks(&e), [Some(true)]);
    }
}
