//! `register`: register a client dynamically (RFC 7591).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use crate::template::Tpl;

/// `register`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterStep {
    /// Client metadata (RFC 7591 §2) merged over the defaults; `null` removes a default.
    #[serde(default)]
    pub metadata: Option<Tpl>,
    /// Name of the client actor to create from the response (usable as `client:` later, and as
    /// a variable with its `client_id`, `scopes`, `claims_redirect_uris`, `redirect_uris`).
    #[serde(default, rename = "as")]
    pub save_as: Option<String>,
}

impl RegisterStep {
    /// The actor's name.
    pub fn actor(&self) -> String {
        self.save_as.clone().unwrap_or_else(|| "registered".into())
    }
}

impl StepArgs for RegisterStep {
    fn defines(&self) -> Vec<String> {
        vec![self.actor()]
    }
}
