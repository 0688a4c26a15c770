//! `plaintext`: a token request sent in plain HTTP to the host and port of the target's https
//! token endpoint (RFC 6749 §3.2: the endpoint requires TLS), judged by `refused-over-http`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;

/// `plaintext`. The request carries made-up client credentials (no credential of the profile
/// ever travels unencrypted); the answer, or the reason there is none, is the response, and its
/// `plaintext` member says where it went (or why nothing was sent).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaintextStep {
    /// The discovery member naming the endpoint (default `token_endpoint`).
    #[serde(default)]
    pub endpoint: Option<String>,
}

impl StepArgs for PlaintextStep {}
