//! `resource`: use the resource registration endpoint (FedAuthz §3).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use crate::template::Tpl;

/// Resource registration operations (FedAuthz §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResourceOp {
    /// `POST rreguri/`.
    Create,
    /// `GET rreguri/{_id}`.
    Read,
    /// `PUT rreguri/{_id}`.
    Update,
    /// `DELETE rreguri/{_id}`.
    Delete,
    /// `GET rreguri/`.
    List,
}

impl ResourceOp {
    /// Its name in scenarios.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Read => "read",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::List => "list",
        }
    }

    /// The operation's HTTP method.
    pub fn method(self) -> &'static str {
        match self {
            Self::Create => "POST",
            Self::Read | Self::List => "GET",
            Self::Update => "PUT",
            Self::Delete => "DELETE",
        }
    }

    /// Whether it names one resource (`_id` in the path).
    pub fn needs_id(self) -> bool {
        matches!(self, Self::Read | Self::Update | Self::Delete)
    }
}

/// `resource`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceStep {
    /// The operation.
    pub op: ResourceOp,
    /// `_id` of the resource (read, update, delete).
    #[serde(default)]
    pub id: Option<Tpl>,
    /// Shorthand for a description body `{"resource_scopes": [...], "name": ...}`.
    #[serde(default)]
    pub scopes: Option<Tpl>,
    /// A name for the shorthand body.
    #[serde(default)]
    pub name: Option<String>,
    /// The exact JSON body to send (overrides `scopes`).
    #[serde(default)]
    pub body: Option<Tpl>,
    /// The exact raw body to send (malformed-JSON checks).
    #[serde(default)]
    pub raw_body: Option<String>,
    /// The HTTP method to use instead of the operation's (for 405 checks).
    #[serde(default)]
    pub method: Option<String>,
    /// The PAT to use (default `$pat`); `none` sends no Authorization header.
    #[serde(default)]
    pub pat: Option<Tpl>,
    /// Add a trailing slash to the collection URL (create and list).
    #[serde(default)]
    pub trailing_slash: Option<bool>,
    /// Save the created `_id` in this variable (create; default `resource`).
    #[serde(default, rename = "as")]
    pub save_as: Option<String>,
}

impl StepArgs for ResourceStep {
    fn defines(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.op == ResourceOp::Create {
            v.push(self.save_as.clone().unwrap_or_else(|| "resource".into()));
        }
        if self.pat.is_none() {
            v.push("pat".into());
        }
        v
    }

    fn problems(&self) -> Vec<String> {
        if self.op.needs_id() && self.id.is_none() {
            vec![format!("`resource: {{op: {}}}` needs `id`", self.op.as_str())]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_a_resource_needs_its_id_and_creating_one_saves_it() {
        let read: ResourceStep = serde_saphyr::from_str("{ op: read }").unwrap();
        assert_eq!(read.problems(), vec!["`resource: {op: read}` needs `id`"]);
        let create: ResourceStep = serde_saphyr::from_str("{ op: create, as: r1 }").unwrap();
        assert!(create.problems().is_empty());
        assert!(create.defines().contains(&"r1".to_string()));
    }
}
