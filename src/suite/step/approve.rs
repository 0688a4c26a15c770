//! `approve`: decide a pending request as the resource owner, through the owner-approval
//! adapter.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use crate::template::Tpl;

/// The resource owner's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Grant the pending request.
    Approve,
    /// Refuse it.
    Deny,
}

impl Decision {
    /// `approve` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Deny => "deny",
        }
    }
}

/// `approve`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveStep {
    /// The resource whose pending request is decided.
    pub resource: Tpl,
    /// The decision.
    pub decision: Decision,
}

impl StepArgs for ApproveStep {
    fn defines(&self) -> Vec<String> {
        vec!["pat".into()]
    }
}
