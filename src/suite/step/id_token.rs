//! `id_token`: mint an ID token from the harness's test identity provider (for `claim_token`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use crate::template::Tpl;

/// `id_token`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdTokenStep {
    /// `email` claim (default: the requesting party's email; `null` leaves it out).
    #[serde(default)]
    pub email: Option<Tpl>,
    /// `sub` (default: the requesting party's subject).
    #[serde(default)]
    pub sub: Option<Tpl>,
    /// `aud` (default: the target's issuer).
    #[serde(default)]
    pub aud: Option<Tpl>,
    /// Lifetime in seconds from now (negative: already expired). Default 300.
    #[serde(default)]
    pub expires_in: Option<i64>,
    /// `iss` override (a wrong issuer).
    #[serde(default)]
    pub issuer: Option<String>,
    /// Sign with a key the target does not trust.
    #[serde(default)]
    pub forged: Option<bool>,
    /// Variable to save the token in (default `id_token`).
    #[serde(default, rename = "as")]
    pub save_as: Option<String>,
}

impl StepArgs for IdTokenStep {
    fn defines(&self) -> Vec<String> {
        vec![self.save_as.clone().unwrap_or_else(|| "id_token".into())]
    }
}
