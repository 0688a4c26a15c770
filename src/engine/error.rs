//! Why a step could not run to its end: a harness or set-up problem, reported as an `error`
//! check without a requirement, never as a spec failure.

use crate::check::CheckError;
use crate::template::TemplateError;

/// Why a step stopped its scenario.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum StepError {
    /// A variable the step needs is not set.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// A named check could not be evaluated.
    #[error(transparent)]
    Check(#[from] CheckError),
    /// No HTTP answer came (connection refused, timeout, reset).
    #[error("failed to get an answer to {method} {url}: {reason}")]
    Transport {
        /// The method.
        method: String,
        /// The URL.
        url: String,
        /// Why: `no answer within 10 s`, `cannot connect`, ...
        reason: String,
    },
    /// A set-up step (one without `expect`) did not get the answer it needs.
    #[error("set-up failed: {what}: {detail}")]
    Setup {
        /// What the step was doing.
        what: String,
        /// What the target answered.
        detail: String,
    },
    /// The target's discovery document lacks an endpoint the step needs.
    #[error("the discovery document has no `{0}`")]
    NoEndpoint(String),
    /// A policy, approval or clock adapter failed.
    #[error("the {adapter} adapter failed: {detail}")]
    Adapter {
        /// Which adapter.
        adapter: &'static str,
        /// What happened.
        detail: String,
    },
    /// The step cannot run against this target or with these values.
    #[error("{0}")]
    Unusable(String),
    /// The scenario ran out of time.
    #[error("the scenario did not finish within {0} s")]
    Timeout(u64),
}

impl StepError {
    /// A step that cannot run as written against this target.
    pub fn unusable(message: impl Into<String>) -> Self {
        Self::Unusable(message.into())
    }
}
