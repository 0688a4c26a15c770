//! `iss` (ISS-02, profile icg-iss): the redirect back from claims gathering carries `iss` equal
//! to the AS's issuer identifier.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation};

/// No arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Iss {}

impl Evaluate for Iss {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let want = &input.facts.issuer;
        Ok(match &input.response.redirect {
            None => Evaluation::one(
                "iss on the redirect back",
                Some(false),
                format!("iss={want}"),
                format!("no redirect back (HTTP {})", input.response.status),
            ),
            Some(r) => {
                let got = r.params.get("iss").cloned();
                Evaluation::one(
                    "iss on the redirect back names the AS",
                    Some(got.as_deref() == Some(want.as_str())),
                    want.clone(),
                    got.unwrap_or_else(|| "(absent)".into()),
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{eval, facts, oks};
    use super::super::{Redirect, Response};

    #[test]
    fn iss_must_name_the_issuer() {
        let good = Response {
            redirect: Some(Redirect::parse("https://c/cb?ticket=t&iss=http%3A%2F%2Fas.test")),
            ..Response::default()
        };
        assert_eq!(oks(&eval("iss", &good, &facts(), &[])), [Some(true)]);
        let missing = Response {
            redirect: Some(Redirect::parse("https://c/cb?ticket=t")),
            ..Response::default()
        };
        assert_eq!(oks(&eval("iss", &missing, &facts(), &[])), [Some(false)]);
    }
}
