//! `ticket-rotated` (T-04): the response carries a ticket, in its body or on the redirect back,
//! that differs from the one presented.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckError, CheckInput, Evaluate, Evaluation};
use crate::template::Tpl;

/// Arguments.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketRotated {
    /// The ticket that was presented.
    pub from: Tpl,
}

impl Evaluate for TicketRotated {
    fn evaluate(&self, input: &CheckInput<'_>) -> Result<Evaluation, CheckError> {
        let from = input.text(&self.from)?;
        let r = input.response;
        let new = r
            .body_str("ticket")
            .map(str::to_string)
            .or_else(|| r.redirect.as_ref().and_then(|x| x.params.get("ticket").cloned()));
        Ok(match new {
            None => Evaluation::one(
                "a new ticket is issued",
                Some(false),
                "a `ticket` different from the one presented",
                "no ticket",
            ),
            Some(t) => Evaluation::one(
                "the new ticket differs from the one presented",
                Some(t != from),
                "a ticket ≠ the presented one",
                if t == from {
                    "the same ticket came back"
                } else {
                    "a different ticket"
                },
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{eval, facts, oks};
    use super::super::{Redirect, Response};
    use serde_json::json;

    #[test]
    fn a_new_ticket_passes_and_the_same_or_none_fails() {
        let vars = [("t1", json!("old-ticket"))];
        let check = "ticket-rotated: { from: $t1 }";
        let new = Response::of_json(json!({"ticket": "new-ticket"}));
        assert_eq!(oks(&eval(check, &new, &facts(), &vars)), [Some(true)]);
        let same = Response::of_json(json!({"ticket": "old-ticket"}));
        assert_eq!(oks(&eval(check, &same, &facts(), &vars)), [Some(false)]);
        assert_eq!(oks(&eval(check, &Response::default(), &facts(), &vars)), [Some(false)]);
    }

    #[test]
    fn the_ticket_on_a_redirect_back_counts() {
        let r = Response {
            redirect: Some(Redirect::parse("https://c/cb?ticket=fresh")),
            ..Response::default()
        };
        let e = eval("ticket-rotated: { from: stale }", &r, &facts(), &[]);
        assert_eq!(oks(&e), [Some(true)]);
    }
}
