//! `pkce-pair` (PKCE-03, profile icg-pkce): the `code_verifier` a client sends with its ticket
//! matches the `code_challenge` it sent to the claims endpoint. Skipped when no challenge was sent.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation};
use crate::template::Tpl;

/// Arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PkcePair {
    /// The verifier sent with the ticket.
    #[serde(default)]
    pub verifier: Option<Tpl>,
    /// The challenge sent to the claims interaction endpoint.
    #[serde(default)]
    pub challenge: Option<Tpl>,
    /// `S256` (default) or `plain`.
    #[serde(default)]
    pub method: Option<Tpl>,
}

impl Evaluate for PkcePair {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let verifier = input.text_or_empty(&self.verifier)?;
        let challenge = input.text_or_empty(&self.challenge)?;
        let method = match input.text_or_empty(&self.method)? {
            m if m.is_empty() => "S256".to_string(),
            m => m,
        };
        let expected = if method == "plain" {
            verifier.clone()
        } else {
            crate::uma::pkce::s256_challenge(&verifier)
        };
        Ok(Evaluation::one(
            "the code_verifier sent with the ticket matches the code_challenge sent to the claims endpoint",
            if challenge.is_empty() {
                None
            } else {
                Some(!verifier.is_empty() && expected == challenge)
            },
            format!("{method}(code_verifier) = code_challenge"),
            if verifier.is_empty() {
                "no code_verifier sent"
            } else if expected == challenge {
                "matches"
            } else {
                "does not match"
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    #[test]
    fn the_rfc_7636_example_pair_matches() {
        let vars = [
            ("v", json!("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")),
            ("c", json!("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")),
        ];
        let check = "pkce-pair: { verifier: $v, challenge: $c }";
        assert_eq!(oks(&eval(check, &Response::default(), &facts(), &vars)), [Some(true)]);
        let wrong = [
            ("v", json!("x".repeat(43))),
            ("c", json!("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")),
        ];
        assert_eq!(oks(&eval(check, &Response::default(), &facts(), &wrong)), [Some(false)]);
        let none = [("v", json!("")), ("c", json!(""))];
        assert_eq!(oks(&eval(check, &Response::default(), &facts(), &none)), [None]);
    }
}
