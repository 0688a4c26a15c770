//! `browse`: the requesting party's browser at the client under test. Starts the client (its
//! start URL or command) or opens `url`, then follows redirects: to the AS's claims interaction
//! endpoint (where the claims form is filled as the requesting party) and back to the client.
//! The final answer is the response; `redirect` holds the client's request to the claims
//! interaction endpoint (saved as `$claims_request`), and `callback` the AS's redirect back
//! (saved as `$callback`; the URL delivered as `$callback_url`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use super::rs_request::RS_REQUESTS;
use crate::template::Tpl;

/// `browse`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrowseStep {
    /// Start the client for this resource of the harness's RS: `read` (a photo, scope view),
    /// `other-scope` (its download, scope download) or `other-resource` (another photo).
    #[serde(default)]
    pub start: Option<String>,
    /// Open this URL instead (e.g. a replayed or forged callback).
    #[serde(default)]
    pub url: Option<Tpl>,
    /// The requesting party (default: the scenario's).
    #[serde(default)]
    pub user: Option<Tpl>,
    /// Give the client an ID token for the requesting party (to push as a claim token).
    #[serde(default)]
    pub id_token: Option<Tpl>,
    /// Which browser (cookie jar): default `main`; another name is another browser.
    #[serde(default)]
    pub browser: Option<String>,
    /// Stop at the redirect to the claims interaction endpoint (do not go to the AS).
    #[serde(default)]
    pub stop_at_claims: Option<bool>,
    /// Stop at the AS's redirect back (do not deliver it to the client).
    #[serde(default)]
    pub stop_at_callback: Option<bool>,
    /// Change the redirect back before delivering it: parameter → new value (`none` removes it).
    #[serde(default)]
    pub tamper: BTreeMap<String, Tpl>,
    /// Deliver the redirect back in this other browser (cookie jar) instead.
    #[serde(default)]
    pub callback_browser: Option<String>,
    /// Which claims-form button to press (default `submit`).
    #[serde(default)]
    pub button: Option<String>,
}

impl StepArgs for BrowseStep {
    fn defines(&self) -> Vec<String> {
        ["claims_request", "callback", "callback_url"]
            .into_iter()
            .map(String::from)
            .collect()
    }

    fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        match (&self.start, &self.url) {
            (Some(s), None) if !RS_REQUESTS.contains(&s.as_str()) => out.push(format!(
                "`browse.start: {s}` is not one of {}{}",
                RS_REQUESTS.join(", "),
                crate::diagnostic::did_you_mean(s, RS_REQUESTS.iter().copied())
            )),
            (Some(_), None) | (None, Some(_)) => {}
            _ => out.push("`browse` needs exactly one of `start` and `url`".into()),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browse_starts_a_named_request_or_opens_a_url() {
        let bad: BrowseStep = serde_saphyr::from_str("{ start: raed }").unwrap();
        assert!(
            bad.problems()[0].contains("did you mean `read`"),
            "{:?}",
            bad.problems()
        );
        let both: BrowseStep = serde_saphyr::from_str("{ start: read, url: $callback_url }").unwrap();
        assert_eq!(both.problems().len(), 1);
        let fine: BrowseStep = serde_saphyr::from_str("{ url: $callback_url }").unwrap();
        assert!(fine.problems().is_empty());
    }
}
