//! `revoke`: revoke a token (RFC 7009).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use crate::suite::model::ClientAuth;
use crate::template::Tpl;

/// `revoke`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeStep {
    /// The token to revoke.
    pub token: Tpl,
    /// `token_type_hint`.
    #[serde(default)]
    pub hint: Option<String>,
    /// The client actor (default `client`).
    #[serde(default)]
    pub client: Option<String>,
    /// Client authentication.
    #[serde(default)]
    pub auth: Option<ClientAuth>,
}

impl StepArgs for RevokeStep {}
