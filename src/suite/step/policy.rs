//! `policy`: establish an abstract policy through the target's policy adapter (DESIGN §5).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use crate::template::Tpl;

/// The abstract policies scenarios may name; the profile's adapter establishes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AbstractPolicy {
    /// Anyone may have the scope.
    Open,
    /// Nobody may.
    Deny,
    /// The requesting party must present the scenario's email claim.
    ClaimEmail,
    /// The resource owner decides each request (`request_submitted`).
    OwnerApproval,
}

impl AbstractPolicy {
    /// The name written in scenarios and sent to command adapters.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Deny => "deny",
            Self::ClaimEmail => "claim-email",
            Self::OwnerApproval => "owner-approval",
        }
    }
}

/// `policy`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyStep {
    /// The resource `_id`.
    pub resource: Tpl,
    /// Policy for every scope.
    #[serde(default)]
    pub all: Option<AbstractPolicy>,
    /// Policy per scope; scopes without one are never granted.
    #[serde(default)]
    pub scopes: BTreeMap<String, AbstractPolicy>,
}

impl StepArgs for PolicyStep {
    fn defines(&self) -> Vec<String> {
        vec!["pat".into()]
    }
}
