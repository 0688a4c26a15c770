//! `pat`: obtain a protection API access token (PAT) for a resource server of the target profile.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;

/// `pat`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatStep {
    /// Which resource server of the profile: `rs` (default) or `rs2` (another resource owner).
    #[serde(default)]
    pub rs: Option<String>,
    /// Variable to save the PAT in (default `pat`, or `pat2` for `rs2`).
    #[serde(default, rename = "as")]
    pub save_as: Option<String>,
    /// Scope to request instead of `uma_protection` (for negative checks).
    #[serde(default)]
    pub scope: Option<String>,
}

impl PatStep {
    /// The resource server actor.
    pub fn rs(&self) -> &str {
        self.rs.as_deref().unwrap_or("rs")
    }

    /// The variable the PAT is saved in.
    pub fn variable(&self) -> String {
        self.save_as.clone().unwrap_or_else(|| match self.rs() {
            "rs" => "pat".into(),
            other => format!("pat{}", other.trim_start_matches("rs")),
        })
    }
}

impl StepArgs for PatStep {
    fn defines(&self) -> Vec<String> {
        vec![self.variable()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pat_of_the_second_owner_is_saved_as_pat2() {
        let s: PatStep = serde_saphyr::from_str("{ rs: rs2 }").unwrap();
        assert_eq!(s.defines(), vec!["pat2"]);
        let s: PatStep = serde_saphyr::from_str("{ as: spare }").unwrap();
        assert_eq!(s.variable(), "spare");
    }
}
