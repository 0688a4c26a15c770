//! `traffic`: the requests the target made to the harness's counterparts since the scenario
//! started (or since `since`), as `{count, requests: [...], mark}`; each request has `method`,
//! `path`, `query`, `form`, `json`, `permissions` (a permission request normalised to an array),
//! `authorization` (scheme), `bearer` (token), `headers`, `status`, `response`, `at_ms`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use crate::template::Tpl;

/// `traffic`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrafficStep {
    /// Which endpoint: a discovery member (`token_endpoint`, `permission_endpoint`,
    /// `introspection_endpoint`, `claims_interaction_endpoint`, ...), `discovery`, `as` (every AS
    /// request), `rs` (every request to the harness's RS), `uma_grant` (the token endpoint's
    /// requests of the UMA grant: requests for another OAuth grant, such as a client-credentials
    /// token, that carry no ticket are left out), or a path. Default: everything.
    #[serde(default)]
    pub at: Option<String>,
    /// Only requests from this mark on (a number saved from an earlier `traffic` step's `mark`).
    #[serde(default)]
    pub since: Option<Tpl>,
    /// Wait the target profile's quiet window first (at most 2 s): the bounded window in which a
    /// request that must not come would arrive (negative checks).
    #[serde(default)]
    pub quiet: Option<bool>,
    /// Only the first N matching requests (`count` counts them): for a question like "did the
    /// client ever fetch discovery", whose answer must not depend on how often it did.
    #[serde(default)]
    pub first: Option<usize>,
}

impl StepArgs for TrafficStep {
    fn problems(&self) -> Vec<String> {
        match self.first {
            Some(0) => vec!["`first` must be at least 1".into()],
            _ => Vec::new(),
        }
    }
}
