//! `not-leaked` (G-C-40): a secret (an RPT, a PCT) is not shown to the requesting party's
//! browser: absent from the body and headers of the answer, or from the data given in `in`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation};
use crate::template::{Tpl, to_text};

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotLeaked {
    /// The secret.
    pub secret: Tpl,
    /// Where to look instead of the response (a saved page or request).
    #[serde(default, rename = "in")]
    pub within: Option<Tpl>,
}

impl Evaluate for NotLeaked {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let secret = input.text(&self.secret)?;
        let mut seen = Vec::new();
        if !secret.is_empty() {
            match &self.within {
                Some(t) => {
                    let v = input.value(t)?;
                    let text = if v.is_string() { to_text(&v) } else { v.to_string() };
                    if text.contains(&secret) {
                        seen.push("the data given");
                    }
                }
                None => {
                    let r = input.response;
                    if r.text.contains(&secret) {
                        seen.push("the body");
                    }
                    if r.headers.iter().any(|(_, v)| v.contains(&secret)) {
                        seen.push("a header");
                    }
                }
            }
        }
        Ok(Evaluation::one(
            "the secret is not shown to the requesting party's browser",
            if secret.is_empty() { None } else { Some(seen.is_empty()) },
            "absent from every answer to the browser",
            if seen.is_empty() {
                "absent".to_string()
            } else {
                format!("found in {}", seen.join(" and "))
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
    fn a_secret_in_the_page_fails_and_no_secret_is_skipped() {
        let page = Response {
            text: "<p>your token: rpt-abcdef</p>".into(),
            ..Response::default()
        };
        let check = "not-leaked: { secret: $rpt }";
        assert_eq!(
            oks(&eval(check, &page, &facts(), &[("rpt", json!("rpt-abcdef"))])),
            [Some(false)]
        );
        assert_eq!(
            oks(&eval(check, &page, &facts(), &[("rpt", json!("rpt-zzzzzz"))])),
            [Some(true)]
        );
        assert_eq!(oks(&eval(check, &page, &facts(), &[("rpt", json!(""))])), [None]);
    }
}
