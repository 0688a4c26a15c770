//! `permission`: request a permission ticket (FedAuthz §4).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use crate::template::Tpl;

/// `permission`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionStep {
    /// One permission: the resource `_id` (object form of the request; default `$resource`).
    #[serde(default)]
    pub resource: Option<Tpl>,
    /// Its scopes.
    #[serde(default)]
    pub scopes: Option<Tpl>,
    /// Several permissions (array form of the request).
    #[serde(default)]
    pub permissions: Option<Vec<PermissionItem>>,
    /// Send the single permission as a one-element array.
    #[serde(default)]
    pub array: Option<bool>,
    /// The exact JSON body (overrides the rest).
    #[serde(default)]
    pub body: Option<Tpl>,
    /// The PAT (default `$pat`); `none` sends no Authorization header.
    #[serde(default)]
    pub pat: Option<Tpl>,
    /// Save the ticket in this variable (default `ticket`).
    #[serde(default, rename = "as")]
    pub save_as: Option<String>,
}

/// One permission of an array-form request.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionItem {
    /// The resource `_id`.
    pub resource: Tpl,
    /// Its scopes.
    pub scopes: Tpl,
}

impl StepArgs for PermissionStep {
    fn defines(&self) -> Vec<String> {
        let mut v = vec![self.save_as.clone().unwrap_or_else(|| "ticket".into())];
        if self.pat.is_none() {
            v.push("pat".into());
        }
        v
    }

    fn uses(&self) -> Vec<String> {
        if self.resource.is_none() && self.permissions.is_none() && self.body.is_none() {
            vec!["resource".into()]
        } else {
            Vec::new()
        }
    }
}
