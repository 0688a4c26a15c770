//! The per-resource authorization assessment of UMA Grant §3.3.4, in the lettered form of the
//! spec digest §4.3.
//!
//! For every resource r in the permission ticket:
//!
//! - `A` = the scopes the client pre-registered (`RegisteredScopes`);
//! - `B` = the scopes of the current token request's `scope` parameter (`RequestedScopes`);
//! - `C(r)` = the scopes tied to r in the ticket (`TicketScopes(r)`), possibly empty;
//! - `D(r)` = the `resource_scopes` registered for r, with `C(r) ⊆ D(r)` (FedAuthz §4.1);
//! - `E(r)` = `C(r) ∪ ((A ∩ B) ∩ D(r))` (`RequestedScopes(r)`);
//! - `F(r)` = the scopes of `D(r)` whose policy the requesting party satisfies;
//! - `G(r)` = `E(r) ∩ F(r)` (`CandidateGrantedScopes(r)`).
//!
//! Outcomes (digest §4.3): a requested scope that matches no `D(r)` of any ticket resource
//! gives `invalid_scope` (O2); a requested scope the client did not pre-register MAY give
//! `invalid_scope` (O3), otherwise it is ignored; `G(r) = E(r)` for every r is a success (O4);
//! anything else leaves the AS a choice between a partial RPT and an error (O5).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A set of scope names, ordered so that output is deterministic.
pub type Scopes = BTreeSet<String>;

/// What the assessment needs to know about one resource of the ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceInput {
    /// `C(r)`: the scopes tied to the resource in the permission ticket.
    pub ticket: Scopes,
    /// `D(r)`: the `resource_scopes` the resource server registered for the resource.
    pub registered: Scopes,
    /// The scopes whose policy the requesting party satisfies. `F(r)` is this set intersected
    /// with `D(r)`, so a policy "satisfied" for an unregistered scope grants nothing.
    pub satisfied: Scopes,
}

/// The whole input of one assessment: one token request with one ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    /// `A`: the scopes the client pre-registered at the AS.
    pub client_registered: Scopes,
    /// `B`: the scopes in the token request's `scope` parameter (empty if absent).
    pub requested: Scopes,
    /// The resources of the ticket, by resource id.
    pub resources: BTreeMap<String, ResourceInput>,
}

/// The outcome the assessment calls for (digest §4.3 table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeKind {
    /// O2: a requested scope matches no available scope of any ticket resource; the AS
    /// answers 400 `invalid_scope`.
    InvalidScope,
    /// O4: every requested scope of every resource can be granted; the AS answers 200 with an
    /// RPT holding `G(r)` for every r.
    Success,
    /// O5: some requested scope cannot be granted; the AS either issues a partial RPT holding
    /// `G(r)` for every r, or answers `need_info`, `request_denied` or `request_submitted`.
    Partial,
}

/// The result of [`assess`]: the per-resource sets and the outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Assessment {
    /// `E(r)` for every ticket resource r.
    pub requested: BTreeMap<String, Scopes>,
    /// `F(r)` for every ticket resource r.
    pub satisfied: BTreeMap<String, Scopes>,
    /// `G(r)` for every ticket resource r.
    pub candidate: BTreeMap<String, Scopes>,
    /// The outcome.
    pub outcome: OutcomeKind,
    /// `B \ A`: requested scopes the client did not pre-register. When non-empty, O3 applies:
    /// the AS MAY answer `invalid_scope` instead of [`Assessment::outcome`]; if it does not,
    /// these scopes are ignored (they are not in `A ∩ B`, so not in any `E(r)`).
    pub unregistered: Scopes,
    /// Requested scopes that match no `D(r)` of any ticket resource. Non-empty means the
    /// outcome is [`OutcomeKind::InvalidScope`].
    pub unmatched: Scopes,
}

/// An assessment input no AS can meet: every violation, in one message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(String);

impl Input {
    /// Checks the input is one an AS can meet: at least one resource, and `C(r) ⊆ D(r)` for
    /// every resource (FedAuthz §4.1: a permission's scopes are among the resource's registered
    /// scopes). The error lists every violation.
    pub fn validate(&self) -> Result<(), InputError> {
        if self.resources.is_empty() {
            return Err(InputError("the ticket holds no resource".to_owned()));
        }
        let mut problems = Vec::new();
        for (id, r) in &self.resources {
            let outside: Vec<&str> = r.ticket.difference(&r.registered).map(String::as_str).collect();
            if !outside.is_empty() {
                problems.push(format!(
                    "resource {id}: ticket scopes {} are not registered for the resource (C(r) ⊆ D(r) violated)",
                    list(outside)
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(InputError(problems.join("; ")))
        }
    }
}

/// Runs the assessment of UMA Grant §3.3.4 per resource (digest §4.3).
///
/// The outcome is [`OutcomeKind::InvalidScope`] if any requested scope is unmatched (O2 takes
/// precedence), else [`OutcomeKind::Success`] if `G(r) = E(r)` for every resource, else
/// [`OutcomeKind::Partial`]. O3 never changes the outcome; it is reported in
/// [`Assessment::unregistered`]. An input that fails [`Input::validate`] is still assessed:
/// a ticket scope outside `D(r)` is in `E(r)` but never in `F(r)`, so it makes the outcome
/// partial.
pub fn assess(input: &Input) -> Assessment {
    let a_and_b: Scopes = input
        .client_registered
        .intersection(&input.requested)
        .cloned()
        .collect();
    let mut requested = BTreeMap::new();
    let mut satisfied = BTreeMap::new();
    let mut candidate = BTreeMap::new();
    let mut available = Scopes::new();
    let mut all_granted = true;
    for (id, r) in &input.resources {
        let mut e = r.ticket.clone();
        e.extend(a_and_b.intersection(&r.registered).cloned());
        let f: Scopes = r.satisfied.intersection(&r.registered).cloned().collect();
        let g: Scopes = e.intersection(&f).cloned().collect();
        all_granted &= g == e;
        available.extend(r.registered.iter().cloned());
        requested.insert(id.clone(), e);
        satisfied.insert(id.clone(), f);
        candidate.insert(id.clone(), g);
    }
    let unregistered: Scopes = input.requested.difference(&input.client_registered).cloned().collect();
    let unmatched: Scopes = input.requested.difference(&available).cloned().collect();
    let outcome = if !unmatched.is_empty() {
        OutcomeKind::InvalidScope
    } else if all_granted {
        OutcomeKind::Success
    } else {
        OutcomeKind::Partial
    };
    Assessment {
        requested,
        satisfied,
        candidate,
        outcome,
        unregistered,
        unmatched,
    }
}

/// Checks an RPT's granted permissions (resource id → scopes, e.g. from introspection) against
/// the invariants of digest §4.3: for every resource r, `granted(r) ⊆ E(r)` (never more than
/// requested) and `granted(r) ⊆ F(r)` (never more than policy allows), and no resource outside
/// the ticket. Returns one human-readable line per violation; empty means the grant is fine.
///
/// An empty grant, or one with fewer scopes than `G(r)`, is not a violation of these
/// invariants; whether it is acceptable depends on the outcome and is for the caller to judge.
pub fn check_granted(assessment: &Assessment, granted: &BTreeMap<String, Scopes>) -> Vec<String> {
    let empty = Scopes::new();
    let mut violations = Vec::new();
    for (id, scopes) in granted {
        let Some(e) = assessment.requested.get(id) else {
            violations.push(format!(
                "resource {id} was granted ({}) but is not in the ticket",
                list(scopes.iter().map(String::as_str))
            ));
            continue;
        };
        let f = assessment.satisfied.get(id).unwrap_or(&empty);
        let not_requested: Vec<&str> = scopes.difference(e).map(String::as_str).collect();
        if !not_requested.is_empty() {
            violations.push(format!(
                "resource {id}: {} granted but not requested (E(r) = {})",
                list(not_requested),
                list(e.iter().map(String::as_str))
            ));
        }
        let not_allowed: Vec<&str> = scopes.difference(f).map(String::as_str).collect();
        if !not_allowed.is_empty() {
            violations.push(format!(
                "resource {id}: {} granted but the policy is not satisfied (F(r) = {})",
                list(not_allowed),
                list(f.iter().map(String::as_str))
            ));
        }
    }
    violations
}

/// Renders scope names as `{a, b}`.
fn list<'a>(scopes: impl IntoIterator<Item = &'a str>) -> String {
    format!("{{{}}}", scopes.into_iter().collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scopes(names: &[&str]) -> Scopes {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    fn resource(ticket: &[&str], registered: &[&str], satisfied: &[&str]) -> ResourceInput {
        ResourceInput {
            ticket: scopes(ticket),
            registered: scopes(registered),
            satisfied: scopes(satisfied),
        }
    }

    fn input(a: &[&str], b: &[&str], resources: Vec<(&str, ResourceInput)>) -> Input {
        Input {
            client_registered: scopes(a),
            requested: scopes(b),
            resources: resources.into_iter().map(|(id, r)| (id.to_owned(), r)).collect(),
        }
    }

    fn per_resource(entries: &[(&str, &[&str])]) -> BTreeMap<String, Scopes> {
        entries.iter().map(|(id, s)| ((*id).to_owned(), scopes(s))).collect()
    }

    /// The example of UMA Grant §3.3.4 (digest §4.4).
    fn spec_example() -> Input {
        let photo = ["view", "resize", "print", "download"];
        input(
            &["download"],
            &["download"],
            vec![
                ("album", resource(&["edit"], &["view", "edit", "download"], &[])),
                ("photo1", resource(&["view"], &photo, &["view"])),
                ("photo2", resource(&["view"], &photo, &[])),
            ],
        )
    }

    #[test]
    fn the_spec_example_is_a_partial_grant_of_view_on_photo1_only() {
        // Arrange
        let input = spec_example();
        input.validate().unwrap();

        // Act
        let a = assess(&input);

        // Assert
        assert_eq!(
            a.requested,
            per_resource(&[
                ("album", &["edit", "download"]),
                ("photo1", &["view", "download"]),
                ("photo2", &["view", "download"]),
            ])
        );
        assert_eq!(
            a.candidate,
            per_resource(&[("album", &[]), ("photo1", &["view"]), ("photo2", &[])])
        );
        assert_eq!(a.outcome, OutcomeKind::Partial);
        assert!(a.unregistered.is_empty());
        assert!(a.unmatched.is_empty());
    }

    #[test]
    fn the_spec_examples_partial_rpt_respects_the_invariants_and_more_does_not() {
        // Arrange
        let a = assess(&spec_example());

        // Act
        let partial = check_granted(&a, &per_resource(&[("photo1", &["view"])]));
        let too_much = check_granted(&a, &per_resource(&[("photo1", &["view", "download"])]));

        // Assert
        assert!(partial.is_empty(), "{partial:?}");
        assert_eq!(too_much.len(), 1, "{too_much:?}");
        assert!(too_much[0].contains("policy is not satisfied"), "{too_much:?}");
    }

    #[test]
    fn with_no_requested_scope_the_ticket_scopes_are_requested_and_all_passing_is_success() {
        // Arrange (digest §4.5 item 1)
        let input = input(
            &["view", "download"],
            &[],
            vec![
                ("r1", resource(&["view"], &["view", "download"], &["view", "download"])),
                ("r2", resource(&["print"], &["print"], &["print"])),
            ],
        );

        // Act
        let a = assess(&input);

        // Assert
        assert_eq!(a.outcome, OutcomeKind::Success);
        assert_eq!(a.requested, per_resource(&[("r1", &["view"]), ("r2", &["print"])]));
        assert_eq!(a.candidate, a.requested);
        assert!(check_granted(&a, &a.candidate).is_empty());
    }

    #[test]
    fn a_registered_requested_scope_no_ticket_resource_offers_is_invalid_scope() {
        // Arrange (digest §4.5 item 2)
        let input = input(
            &["x", "view"],
            &["x"],
            vec![("r1", resource(&["view"], &["view"], &["view"]))],
        );

        // Act
        let a = assess(&input);

        // Assert
        assert_eq!(a.outcome, OutcomeKind::InvalidScope);
        assert_eq!(a.unmatched, scopes(&["x"]));
        assert!(a.unregistered.is_empty());
    }

    #[test]
    fn an_unregistered_requested_scope_is_ignored_and_must_not_be_granted() {
        // Arrange (digest §4.5 item 3)
        let input = input(
            &["view"],
            &["y"],
            vec![("r1", resource(&["view"], &["view", "y"], &["view", "y"]))],
        );

        // Act
        let a = assess(&input);
        let granting_y = check_granted(&a, &per_resource(&[("r1", &["view", "y"])]));

        // Assert
        assert_eq!(a.unregistered, scopes(&["y"]));
        assert!(a.unmatched.is_empty());
        assert_eq!(a.requested, per_resource(&[("r1", &["view"])]));
        assert_eq!(a.outcome, OutcomeKind::Success);
        assert_eq!(granting_y.len(), 1, "{granting_y:?}");
        assert!(granting_y[0].contains("not requested"), "{granting_y:?}");
    }

    #[test]
    fn a_zero_scope_permission_requests_the_registered_requested_scopes_the_resource_offers() {
        // Arrange (digest §4.5 item 4)
        let input = input(
            &["admin"],
            &["admin"],
            vec![("r1", resource(&[], &["admin", "view"], &["admin"]))],
        );

        // Act
        let a = assess(&input);

        // Assert
        assert_eq!(a.requested, per_resource(&[("r1", &["admin"])]));
        assert_eq!(a.candidate, per_resource(&[("r1", &["admin"])]));
        assert_eq!(a.outcome, OutcomeKind::Success);
    }

    #[test]
    fn one_satisfied_and_one_unsatisfied_resource_is_partial_and_the_grant_stays_within_bounds() {
        // Arrange (digest §4.5 item 5)
        let input = input(
            &[],
            &[],
            vec![
                ("ok", resource(&["view"], &["view", "edit"], &["view", "edit"])),
                ("no", resource(&["view"], &["view"], &[])),
            ],
        );

        // Act
        let a = assess(&input);
        let fine = check_granted(&a, &per_resource(&[("ok", &["view"])]));
        let overreach = check_granted(&a, &per_resource(&[("ok", &["view", "edit"]), ("no", &["view"])]));

        // Assert
        assert_eq!(a.outcome, OutcomeKind::Partial);
        assert_eq!(a.candidate, per_resource(&[("ok", &["view"]), ("no", &[])]));
        assert!(fine.is_empty(), "{fine:?}");
        assert_eq!(overreach.len(), 2, "{overreach:?}");
    }

    #[test]
    fn a_granted_resource_outside_the_ticket_is_a_violation() {
        // Arrange
        let a = assess(&spec_example());

        // Act
        let v = check_granted(&a, &per_resource(&[("photo3", &[])]));

        // Assert
        assert_eq!(v.len(), 1);
        assert!(v[0].contains("not in the ticket"), "{v:?}");
    }

    #[test]
    fn validation_rejects_ticket_scopes_outside_the_registered_ones_and_an_empty_ticket() {
        // Arrange
        let bad = input(&[], &[], vec![("r1", resource(&["edit"], &["view"], &[]))]);
        let empty = input(&[], &[], vec![]);

        // Act
        let bad = bad.validate();
        let empty = empty.validate();

        // Assert
        assert!(
            bad.as_ref()
                .is_err_and(|e| e.to_string().contains("r1") && e.to_string().contains("edit")),
            "{bad:?}"
        );
        assert!(empty.is_err());
    }

    #[test]
    fn outcome_kinds_serialize_in_kebab_case() {
        assert_eq!(
            serde_json::to_string(&OutcomeKind::InvalidScope).unwrap(),
            "\"invalid-scope\""
        );
    }

    type PerResource = BTreeMap<String, Scopes>;

    /// A deliberately naive second implementation: decides every scope of the universe one by
    /// one from the definitions, with no set operations.
    fn naive(input: &Input) -> (PerResource, PerResource, PerResource, OutcomeKind) {
        let mut universe: Vec<&String> = input.client_registered.iter().chain(&input.requested).collect();
        for r in input.resources.values() {
            universe.extend(r.ticket.iter().chain(&r.registered).chain(&r.satisfied));
        }
        let (mut e_all, mut f_all, mut g_all) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        let mut all_granted = true;
        for (id, r) in &input.resources {
            let (mut e, mut f, mut g) = (Scopes::new(), Scopes::new(), Scopes::new());
            for s in &universe {
                let in_a = input.client_registered.contains(*s);
                let in_b = input.requested.contains(*s);
                let in_c = r.ticket.contains(*s);
                let in_d = r.registered.contains(*s);
                let in_e = in_c || (in_a && in_b && in_d);
                let in_f = in_d && r.satisfied.contains(*s);
                if in_e {
                    e.insert((*s).clone());
                }
                if in_f {
                    f.insert((*s).clone());
                }
                if in_e && in_f {
                    g.insert((*s).clone());
                }
                if in_e && !in_f {
                    all_granted = false;
                }
            }
            e_all.insert(id.clone(), e);
            f_all.insert(id.clone(), f);
            g_all.insert(id.clone(), g);
        }
        let mut any_unmatched = false;
        for s in &input.requested {
            if !input.resources.values().any(|r| r.registered.contains(s)) {
                any_unmatched = true;
            }
        }
        let outcome = match (any_unmatched, all_granted) {
            (true, _) => OutcomeKind::InvalidScope,
            (false, true) => OutcomeKind::Success,
            (false, false) => OutcomeKind::Partial,
        };
        (e_all, f_all, g_all, outcome)
    }

    const ALPHABET: [&str; 5] = ["view", "edit", "print", "download", "admin"];

    fn scope_set() -> impl Strategy<Value = Scopes> {
        prop::collection::btree_set(prop::sample::select(&ALPHABET[..]).prop_map(str::to_owned), 0..=5)
    }

    fn resource_input() -> impl Strategy<Value = ResourceInput> {
        (scope_set(), scope_set(), scope_set(), any::<bool>()).prop_map(|(ticket, registered, satisfied, valid)| {
            // Mostly valid inputs (C(r) ⊆ D(r)), some invalid ones too.
            let ticket = if valid {
                ticket.intersection(&registered).cloned().collect()
            } else {
                ticket
            };
            ResourceInput {
                ticket,
                registered,
                satisfied,
            }
        })
    }

    fn any_input() -> impl Strategy<Value = Input> {
        (
            scope_set(),
            scope_set(),
            prop::collection::btree_map(
                prop::sample::select(&["r1", "r2", "r3"][..]).prop_map(str::to_owned),
                resource_input(),
                1..=3,
            ),
        )
            .prop_map(|(client_registered, requested, resources)| Input {
                client_registered,
                requested,
                resources,
            })
    }

    proptest! {
        #[test]
        fn assess_agrees_with_a_naive_scope_by_scope_implementation(input in any_input()) {
            let a = assess(&input);
            let (e, f, g, outcome) = naive(&input);
            prop_assert_eq!(&a.requested, &e);
            prop_assert_eq!(&a.satisfied, &f);
            prop_assert_eq!(&a.candidate, &g);
            prop_assert_eq!(a.outcome, outcome);
            let unregistered: Scopes = input
                .requested
                .iter()
                .filter(|s| !input.client_registered.contains(*s))
                .cloned()
                .collect();
            prop_assert_eq!(&a.unregistered, &unregistered);
            prop_assert_eq!(a.unmatched.is_empty(), a.outcome != OutcomeKind::InvalidScope);
        }

        #[test]
        fn the_candidate_grant_passes_and_any_scope_beyond_it_is_a_violation(input in any_input()) {
            let a = assess(&input);
            prop_assert!(check_granted(&a, &a.candidate).is_empty());
            for (id, g) in &a.candidate {
                for s in ALPHABET.iter().map(|s| (*s).to_owned()).chain(["unknown".to_owned()]) {
                    if g.contains(&s) {
                        continue;
                    }
                    let mut granted = a.candidate.clone();
                    granted.entry(id.clone()).or_default().insert(s.clone());
                    let violations = check_granted(&a, &granted);
                    prop_assert!(!violations.is_empty(), "granting {} on {} went unnoticed", s, id);
                }
            }
            let mut outside = a.candidate.clone();
            outside.insert("not-in-ticket".to_owned(), Scopes::new());
            prop_assert!(!check_granted(&a, &outside).is_empty());
        }
    }
}
