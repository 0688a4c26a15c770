//! `parallel`: `count` copies of one token request, sent at the same moment (races such as
//! double redemption). The expectations look at a summary object: `count`, `statuses` (one per
//! request, in sending order), `errors` (each response's `error` or null), `succeeded` (how many
//! got 200 with an `access_token`) and `not_invalid_grant` (how many got anything but 400
//! `invalid_grant`). Every exchange is recorded.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::StepArgs;
use super::token::TokenStep;

/// The most copies a `parallel` step may send at once.
pub const MAX_PARALLEL: u8 = 8;

/// `parallel`.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParallelStep {
    /// How many copies, 2 to 8.
    pub count: u8,
    /// The token request (as in a `token` step; nothing is saved from it).
    pub token: TokenStep,
}

impl StepArgs for ParallelStep {
    fn uses(&self) -> Vec<String> {
        self.token.uses()
    }

    fn problems(&self) -> Vec<String> {
        if (2..=MAX_PARALLEL).contains(&self.count) {
            Vec::new()
        } else {
            vec![format!(
                "`parallel.count` must be between 2 and {MAX_PARALLEL}; found {}",
                self.count
            )]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_than_eight_copies_is_a_load_time_problem() {
        let s: ParallelStep = serde_saphyr::from_str("{ count: 9, token: {} }").unwrap();
        assert_eq!(s.problems().len(), 1);
        let s: ParallelStep = serde_saphyr::from_str("{ count: 2, token: {} }").unwrap();
        assert!(s.problems().is_empty());
        assert_eq!(s.uses(), vec!["ticket"]);
    }
}
