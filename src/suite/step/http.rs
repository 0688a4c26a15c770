//! `http`: a raw HTTP request, the escape hatch.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use crate::template::Tpl;

/// `http`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpStep {
    /// Method (default GET).
    #[serde(default)]
    pub method: Option<String>,
    /// Absolute URL, or a discovery member name in braces: `{token_endpoint}/x`.
    pub url: Tpl,
    /// Request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, Tpl>,
    /// A form body.
    #[serde(default)]
    pub form: Option<BTreeMap<String, Tpl>>,
    /// A JSON body.
    #[serde(default)]
    pub json: Option<Tpl>,
    /// A raw body (`$x` and `${x}` are substituted, as they are: not URL-encoded).
    #[serde(default)]
    pub body: Option<String>,
    /// `Authorization: Bearer` with this token.
    #[serde(default)]
    pub bearer: Option<Tpl>,
    /// HTTP Basic as this client actor.
    #[serde(default)]
    pub basic: Option<String>,
}

impl StepArgs for HttpStep {
    fn problems(&self) -> Vec<String> {
        let bodies = [self.form.is_some(), self.json.is_some(), self.body.is_some()];
        if bodies.iter().filter(|b| **b).count() > 1 {
            vec!["`http` takes at most one of `form`, `json` and `body`".into()]
        } else {
            Vec::new()
        }
    }
}
