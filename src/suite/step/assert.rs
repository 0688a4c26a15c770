//! `assert`: no request; the expectations look at the saved variables (`vars` paths, or the
//! JSON body, which is every variable).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;

/// `assert`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssertStep {}

impl StepArgs for AssertStep {}
