//! `introspect`: introspect a token (FedAuthz §5, RFC 7662).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use crate::template::Tpl;

/// `introspect`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntrospectStep {
    /// The token to introspect.
    pub token: Tpl,
    /// `token_type_hint`.
    #[serde(default)]
    pub hint: Option<String>,
    /// The PAT to authenticate with (default `$pat`); `none` sends no credentials.
    #[serde(default)]
    pub pat: Option<Tpl>,
}

impl StepArgs for IntrospectStep {
    fn defines(&self) -> Vec<String> {
        if self.pat.is_none() {
            vec!["pat".into()]
        } else {
            Vec::new()
        }
    }
}
