//! `rs_request`: a request to the RS under test. The response's `challenge` (the parsed UMA
//! challenge: `present`, `scheme`, `as_uri`, `ticket`, `realm`, `notes`) and `observed` (the
//! requests the RS made to the harness's AS meanwhile, as in `traffic`) can be saved and checked.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use crate::template::Tpl;

/// Where a token travels (RFC 6750 §2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenPlacement {
    /// `Authorization: Bearer` (default).
    #[default]
    Header,
    /// The `access_token` query parameter.
    Query,
    /// Both at once (RFC 6750 §2 forbids it).
    Both,
}

/// The requests an RS profile names (`several` is optional: scenarios that send it need the
/// capability `several-permissions`).
pub const RS_REQUESTS: &[&str] = &["read", "other-scope", "other-resource", "several"];

/// `rs_request`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RsRequestStep {
    /// The request's name in the target profile (`read`, `other-scope`, `other-resource`).
    pub request: String,
    /// The RPT to present (absent: no token).
    #[serde(default)]
    pub token: Option<Tpl>,
    /// Where the token goes (default `header`).
    #[serde(default)]
    pub token_in: Option<TokenPlacement>,
}

impl StepArgs for RsRequestStep {
    fn problems(&self) -> Vec<String> {
        if RS_REQUESTS.contains(&self.request.as_str()) || self.request.starts_with('$') {
            Vec::new()
        } else {
            vec![format!(
                "`rs_request.request: {}` is not one of {}{}",
                self.request,
                RS_REQUESTS.join(", "),
                crate::diagnostic::did_you_mean(&self.request, RS_REQUESTS.iter().copied())
            )]
        }
    }
}
