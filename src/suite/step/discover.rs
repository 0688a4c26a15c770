//! `discover`: fetch the discovery document.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;

/// Where the discovery document is looked for (digest P-07).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DiscoveryForm {
    /// `{issuer}/.well-known/uma2-configuration` (UMA Grant §2).
    #[default]
    Uma,
    /// `/.well-known/oauth-authorization-server` inserted between host and path (RFC 8414 §3).
    Rfc8414,
}

/// `discover`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscoverStep {
    /// Which well-known URL (default `uma`).
    #[serde(default)]
    pub form: Option<DiscoveryForm>,
}

impl StepArgs for DiscoverStep {}
