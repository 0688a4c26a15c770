//! `uma-challenge` (G-RS-03): a non-2xx answer carries a `WWW-Authenticate` challenge with the
//! UMA scheme, `as_uri` naming the AS's issuer and a ticket. The form met (quoting, spacing,
//! other challenges alongside) is recorded as the choice `challenge-form`; a Bearer challenge
//! alongside is conformant (digest P-05), 401 and `realm` are not required (P-04).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Assertion, CheckError, CheckInput, Evaluate, Evaluation};
use crate::template::to_text;

/// Arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UmaChallenge {
    /// Compare `as_uri` with the AS's issuer (default true); `false` for checks of other
    /// requirements that only need a challenge with a ticket.
    #[serde(default)]
    pub as_uri: Option<bool>,
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(to_text).collect())
        .unwrap_or_default()
}

impl Evaluate for UmaChallenge {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let r = input.response;
        let values = r.header_all("www-authenticate");
        let ch = crate::uma::challenge::describe(values.iter().copied());
        let issuer = input
            .facts
            .counterpart_issuer
            .clone()
            .unwrap_or_else(|| input.facts.issuer.clone());
        let notes = strings(&ch, "notes");
        let schemes = strings(&ch, "schemes");
        let form = if notes.is_empty() {
            format!("canonical ({})", schemes.join(", "))
        } else {
            format!("non-canonical: {}", notes.join("; "))
        };
        let present = ch.get("present").and_then(Value::as_bool).unwrap_or(false);
        let mut out = vec![Assertion::new(
            "WWW-Authenticate carries a challenge with the UMA scheme",
            Some(present && !(200..300).contains(&r.status)),
            "WWW-Authenticate: UMA … on a non-2xx answer",
            if present {
                format!("HTTP {}, schemes {}", r.status, schemes.join(", "))
            } else if values.is_empty() {
                format!("HTTP {} without WWW-Authenticate", r.status)
            } else if schemes.is_empty() {
                // There is a header, but no challenge in it: say why, not that it is missing.
                let why = if notes.is_empty() {
                    format!("{:?}", values.join(" | "))
                } else {
                    notes.join("; ")
                };
                format!("HTTP {}, a WWW-Authenticate that is no challenge: {why}", r.status)
            } else {
                format!("HTTP {}, schemes {} (no UMA)", r.status, schemes.join(", "))
            },
        )];
        if present && self.as_uri != Some(false) {
            let as_uri = ch.get("as_uri").and_then(Value::as_str).unwrap_or("");
            out.push(Assertion::new(
                "as_uri is the AS's issuer identifier",
                Some(as_uri.trim_end_matches('/') == issuer.trim_end_matches('/')),
                issuer.clone(),
                if as_uri.is_empty() { "(absent)" } else { as_uri },
            ));
        }
        if present {
            let ticket = ch.get("ticket").and_then(Value::as_str).unwrap_or("");
            out.push(Assertion::new(
                "the challenge carries a permission ticket",
                Some(!ticket.is_empty()),
                "ticket=\"…\"",
                if ticket.is_empty() { "(absent)" } else { "present" },
            ));
        }
        Ok(Evaluation {
            assertions: out,
            choices: vec![("challenge-form".into(), form)],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};

    fn answer(status: u16, challenges: &[&str]) -> Response {
        Response {
            status,
            headers: challenges
                .iter()
                .map(|c| ("WWW-Authenticate".to_string(), c.to_string()))
                .collect(),
            ..Response::default()
        }
    }

    #[test]
    fn a_header_that_does_not_parse_is_named_as_such_not_as_missing() {
        let r = answer(401, &[r#"UMA realm="photos", ticket="unterminated"#]);
        let e = eval("uma-challenge", &r, &facts(), &[]);
        assert_eq!(oks(&e), [Some(false)]);
        let actual = &e.assertions[0].actual;
        assert!(actual.contains("no challenge: unterminated quoted-string"), "{actual}");
        let none = eval("uma-challenge", &answer(401, &[]), &facts(), &[]);
        assert_eq!(none.assertions[0].actual, "HTTP 401 without WWW-Authenticate");
    }

    #[test]
    fn the_spec_form_passes_and_is_recorded_as_canonical() {
        let r = answer(401, &[r#"UMA realm="photoz", as_uri="http://as.test", ticket="t-1""#]);
        let e = eval("uma-challenge", &r, &facts(), &[]);
        assert_eq!(oks(&e), [Some(true), Some(true), Some(true)]);
        assert!(e.choices[0].1.starts_with("canonical"), "{:?}", e.choices);
    }

    #[test]
    fn a_403_with_a_bearer_challenge_alongside_is_conformant() {
        let r = answer(
            403,
            &[
                r#"Bearer error="insufficient_scope""#,
                r#"UMA as_uri="http://as.test", ticket="t""#,
            ],
        );
        assert_eq!(
            oks(&eval("uma-challenge", &r, &facts(), &[])),
            [Some(true), Some(true), Some(true)]
        );
    }

    #[test]
    fn a_wrong_as_uri_fails_unless_it_is_not_compared() {
        let r = answer(401, &[r#"UMA as_uri="http://other.test", ticket="t""#]);
        assert_eq!(
            oks(&eval("uma-challenge", &r, &facts(), &[])),
            [Some(true), Some(false), Some(true)]
        );
        let e = eval("uma-challenge: { as_uri: false }", &r, &facts(), &[]);
        assert_eq!(oks(&e), [Some(true), Some(true)]);
    }

    #[test]
    fn no_challenge_fails() {
        assert_eq!(
            oks(&eval("uma-challenge", &answer(401, &[]), &facts(), &[])),
            [Some(false)]
        );
    }
}
