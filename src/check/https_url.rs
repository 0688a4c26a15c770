//! `https-url` (F-AS-01): a URL the target publishes (an endpoint in its discovery document) is
//! an `https` URL, so what is sent to it travels over TLS. Skipped when the profile allows http
//! for a loopback test deployment.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation};
use crate::template::Tpl;

/// `https-url: { url: $meta.token_endpoint, name: token_endpoint }`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpsUrl {
    /// The URL.
    pub url: Tpl,
    /// What it is, for the report (default `the URL`).
    #[serde(default)]
    pub name: Option<String>,
}

impl Evaluate for HttpsUrl {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let url = input.text(&self.url)?;
        let name = self.name.as_deref().unwrap_or("the URL");
        let title = format!("{name} is an https URL");
        if input.facts.allow_http {
            return Ok(Evaluation::one(
                title,
                None,
                "https (skipped: the profile allows http for a loopback test deployment)",
                crate::diagnostic::printable(&url),
            ));
        }
        let ok = url::Url::parse(&url).is_ok_and(|u| u.scheme() == "https");
        Ok(Evaluation::one(
            title,
            Some(ok),
            "https://…",
            crate::diagnostic::printable(&url),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Response;
    use super::super::testing::{eval, facts, oks};
    use serde_json::json;

    #[test]
    fn an_http_url_fails_unless_the_profile_allows_http() {
        let r = Response::default();
        let check = "https-url: { url: $u, name: token_endpoint }";
        let http = [("u", json!("http://as.test/token"))];
        assert_eq!(oks(&eval(check, &r, &facts(), &http)), [Some(false)]);
        let https = [("u", json!("https://as.test/token"))];
        let e = eval(check, &r, &facts(), &https);
        assert_eq!(oks(&e), [Some(true)]);
        assert_eq!(e.assertions[0].title, "token_endpoint is an https URL");
        let mut loopback = facts();
        loopback.allow_http = true;
        assert_eq!(oks(&eval(check, &r, &loopback, &http)), [None]);
    }
}
