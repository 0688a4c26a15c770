//! `https-issuer` (R8414-03): the issuer is an https URL without query or fragment. Skipped when
//! the profile allows http for a loopback test deployment.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation};

/// No arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpsIssuer {}

impl Evaluate for HttpsIssuer {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let got = input.response.body_str("issuer").unwrap_or("").to_string();
        Ok(if input.facts.allow_http {
            Evaluation::one(
                "issuer is an https URL",
                None,
                "https (skipped: the profile allows http for a loopback test deployment)",
                got,
            )
        } else {
            let ok = url::Url::parse(&got)
                .is_ok_and(|u| u.scheme() == "https" && u.query().is_none() && u.fragment().is_none());
            Evaluation::one(
                "issuer is an https URL without query or fragment",
                Some(ok),
                "https://…",
                got,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    #[test]
    fn http_fails_unless_the_profile_allows_it() {
        let http = Response::of_json(json!({"issuer": "http://as.test"}));
        assert_eq!(oks(&eval("https-issuer", &http, &facts(), &[])), [Some(false)]);
        let mut f = facts();
        f.allow_http = true;
        assert_eq!(oks(&eval("https-issuer", &http, &f, &[])), [None]);
        let https = Response::of_json(json!({"issuer": "https://as.test/realms/x"}));
        assert_eq!(oks(&eval("https-issuer", &https, &facts(), &[])), [Some(true)]);
    }
}
