//! The authorization assessment of UMA Grant §3.3.4, per resource (digest §4.3).
//!
//! For each resource r in the ticket:
//! `E(r) = C(r) ∪ ((A ∩ B) ∩ D(r))`, `F(r)` = scopes of D(r) whose policy is satisfied,
//! `G(r) = E(r) ∩ F(r)`. This module is pure: policies are consulted through a closure.

use std::collections::BTreeSet;

use crate::config::PartialOutcome;
use crate::core::model::Permission;
use crate::core::policy::{Decision, RequiredClaim};

/// The sets of one resource in the ticket.
#[derive(Clone, Debug)]
pub struct ResourceSets {
    /// The resource id.
    pub id: String,
    /// C(r): the ticket's scopes for r.
    pub ticket_scopes: BTreeSet<String>,
    /// D(r): the scopes r is registered with; `None` if r was deregistered since.
    pub registered_scopes: Option<BTreeSet<String>>,
}

/// What the assessment concluded.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// O2: a requested scope matches no available scope of any resource in the ticket.
    InvalidScope {
        /// The first such scope.
        scope: String,
    },
    /// O4 (or a partial grant under O5): an RPT with these permissions.
    Grant {
        /// Granted permissions, G(r) for each r.
        permissions: Vec<Permission>,
        /// Whether some requested scope was left out.
        partial: bool,
    },
    /// O5: claims could satisfy the unmet policies.
    NeedInfo {
        /// The claims that would.
        required_claims: Vec<RequiredClaim>,
    },
    /// O5: the owner must approve.
    RequestSubmitted {
        /// The permissions awaiting approval.
        pending: Vec<Permission>,
    },
    /// O5: refused.
    Denied,
}

/// Switches that make the assessment deliberately wrong (quirks).
#[derive(Clone, Copy, Debug, Default)]
pub struct AssessmentQuirks {
    /// Ignore A: requested scopes count even when not pre-registered.
    pub ignore_registered: bool,
    /// Skip O2: a requested scope no ticket resource offers is dropped instead of refused.
    pub drop_unmatched: bool,
}

/// The choices the spec leaves to the AS where the assessment does not settle the answer (the
/// `partial_outcome` setting and the assessment's [variants](crate::variants)).
#[derive(Clone, Copy, Debug)]
pub struct Choices {
    /// O5: a partial RPT, an error, or always a denial.
    pub partial_outcome: PartialOutcome,
    /// O3: refuse a requested scope the client is not pre-registered for (`invalid_scope`)
    /// instead of ignoring it (variant `unregistered-scope-refused`).
    pub refuse_unregistered: bool,
    /// O5: when both an approval and claims are missing, `request_submitted` before `need_info`
    /// (variant `approval-before-claims`).
    pub approval_first: bool,
    /// A partial RPT lists resources that got nothing with an empty scope list (variant
    /// `partial-rpt-lists-ungranted`).
    pub list_ungranted: bool,
}

impl From<PartialOutcome> for Choices {
    fn from(partial_outcome: PartialOutcome) -> Self {
        Self {
            partial_outcome,
            refuse_unregistered: false,
            approval_first: false,
            list_ungranted: false,
        }
    }
}

/// E(r) = C(r) ∪ ((A ∩ B) ∩ D(r)).
pub fn requested_scopes(
    registered: &BTreeSet<String>,
    requested: &BTreeSet<String>,
    r: &ResourceSets,
    quirks: AssessmentQuirks,
) -> BTreeSet<String> {
    let mut e = r.ticket_scopes.clone();
    if let Some(d) = &r.registered_scopes {
        for s in requested {
            if d.contains(s) && (quirks.ignore_registered || registered.contains(s)) {
                e.insert(s.clone());
            }
        }
    }
    e
}

/// Runs the assessment. `decide(resource, scope)` evaluates policy for one scope (`None` for a
/// zero-scope permission). A deregistered resource is never granted.
pub fn assess(
    registered: &BTreeSet<String>,
    requested: &BTreeSet<String>,
    resources: &[ResourceSets],
    partial_outcome: PartialOutcome,
    quirks: AssessmentQuirks,
    decide: impl FnMut(&str, Option<&str>) -> Decision,
) -> Outcome {
    assess_with(registered, requested, resources, partial_outcome.into(), quirks, decide)
}

/// [`assess`] with every choice the spec leaves open spelled out.
pub fn assess_with(
    registered: &BTreeSet<String>,
    requested: &BTreeSet<String>,
    resources: &[ResourceSets],
    choices: Choices,
    quirks: AssessmentQuirks,
    mut decide: impl FnMut(&str, Option<&str>) -> Decision,
) -> Outcome {
    // O2: a requested scope that matches no available scope of any ticket resource.
    let available: BTreeSet<&String> = resources
        .iter()
        .filter_map(|r| r.registered_scopes.as_ref())
        .flatten()
        .collect();
    if let Some(s) = requested.iter().find(|s| !available.contains(s))
        && !quirks.drop_unmatched
    {
        return Outcome::InvalidScope { scope: s.clone() };
    }
    // O3: a requested scope the client is not pre-registered for MAY be refused (§3.3.6).
    if choices.refuse_unregistered
        && !quirks.ignore_registered
        && let Some(s) = requested.iter().find(|s| !registered.contains(*s))
    {
        return Outcome::InvalidScope { scope: s.clone() };
    }

    let mut granted = Vec::new();
    let mut ungranted = Vec::new();
    let mut all_granted = true;
    let mut any_granted = false;
    let mut required_claims: BTreeSet<RequiredClaim> = BTreeSet::new();
    let mut pending = Vec::new();

    for r in resources {
        let e = requested_scopes(registered, requested, r, quirks);
        let mut g = Vec::new();
        let mut pending_scopes = Vec::new();
        let targets: Vec<Option<&str>> = if e.is_empty() {
            vec![None]
        } else {
            e.iter().map(|s| Some(s.as_str())).collect()
        };
        let mut resource_ok = true;
        let mut needs_approval = false;
        for s in targets {
            let decision = if r.registered_scopes.is_none() {
                Decision::Denied
            } else {
                decide(&r.id, s)
            };
            match decision {
                Decision::Granted => {
                    if let Some(s) = s {
                        g.push(s.to_owned());
                    }
                }
                Decision::Denied => resource_ok = false,
                Decision::NeedClaims(c) => {
                    resource_ok = false;
                    required_claims.extend(c);
                }
                Decision::NeedApproval => {
                    resource_ok = false;
                    needs_approval = true;
                    if let Some(s) = s {
                        pending_scopes.push(s.to_owned());
                    }
                }
            }
        }
        if !resource_ok {
            all_granted = false;
        }
        // A zero-scope permission awaits approval as a whole (no scope to list).
        if !pending_scopes.is_empty() || (e.is_empty() && needs_approval) {
            pending.push(Permission {
                resource_id: r.id.clone(),
                resource_scopes: pending_scopes,
            });
        }
        // A zero-scope permission is granted only when its (default) policy passed.
        if !g.is_empty() || (e.is_empty() && resource_ok) {
            any_granted = true;
            granted.push(Permission {
                resource_id: r.id.clone(),
                resource_scopes: g,
            });
        } else {
            ungranted.push(Permission {
                resource_id: r.id.clone(),
                resource_scopes: Vec::new(),
            });
        }
    }

    if all_granted {
        return Outcome::Grant {
            permissions: granted,
            partial: false,
        };
    }
    match choices.partial_outcome {
        PartialOutcome::Partial if any_granted => {
            if choices.list_ungranted {
                granted.extend(ungranted);
                granted.sort_by(|a, b| a.resource_id.cmp(&b.resource_id));
            }
            Outcome::Grant {
                permissions: granted,
                partial: true,
            }
        }
        PartialOutcome::Deny => Outcome::Denied,
        PartialOutcome::Error | PartialOutcome::Partial => {
            let need_info = (!required_claims.is_empty()).then(|| Outcome::NeedInfo {
                required_claims: required_claims.into_iter().collect(),
            });
            let submitted = (!pending.is_empty()).then_some(Outcome::RequestSubmitted { pending });
            let (first, second) = if choices.approval_first {
                (submitted, need_info)
            } else {
                (need_info, submitted)
            };
            first.or(second).unwrap_or(Outcome::Denied)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn res(id: &str, c: &[&str], d: &[&str]) -> ResourceSets {
        ResourceSets {
            id: id.into(),
            ticket_scopes: set(c),
            registered_scopes: Some(set(d)),
        }
    }

    /// A policy table: (resource, scope) pairs that are granted; everything else is denied.
    fn grants(pairs: &[(&str, &str)]) -> impl FnMut(&str, Option<&str>) -> Decision {
        let table: BTreeMap<(String, String), ()> = pairs
            .iter()
            .map(|(r, s)| (((*r).to_owned(), (*s).to_owned()), ()))
            .collect();
        move |r, s| match s {
            Some(s) if table.contains_key(&(r.to_owned(), s.to_owned())) => Decision::Granted,
            _ => Decision::Denied,
        }
    }

    fn perm(r: &str, s: &[&str]) -> Permission {
        Permission {
            resource_id: r.into(),
            resource_scopes: s.iter().map(|x| (*x).to_owned()).collect(),
        }
    }

    /// The worked example of UMA Grant §3.3.4 (digest §4.4).
    fn spec_example() -> Vec<ResourceSets> {
        let photo = ["view", "resize", "print", "download"];
        vec![
            res("album", &["edit"], &["view", "edit", "download"]),
            res("photo1", &["view"], &photo),
            res("photo2", &["view"], &photo),
        ]
    }

    #[test]
    fn the_spec_example_computes_e_as_the_spec_says() {
        let (a, b) = (set(&["download"]), set(&["download"]));
        let r = spec_example();
        let q = AssessmentQuirks::default();
        assert_eq!(requested_scopes(&a, &b, &r[0], q), set(&["edit", "download"]));
        assert_eq!(requested_scopes(&a, &b, &r[1], q), set(&["view", "download"]));
        assert_eq!(requested_scopes(&a, &b, &r[2], q), set(&["view", "download"]));
    }

    #[test]
    fn the_spec_example_is_a_partial_grant_of_photo1_view_when_partial_rpts_are_on() {
        let out = assess(
            &set(&["download"]),
            &set(&["download"]),
            &spec_example(),
            PartialOutcome::Partial,
            AssessmentQuirks::default(),
            grants(&[("photo1", "view")]),
        );
        assert_eq!(
            out,
            Outcome::Grant {
                permissions: vec![perm("photo1", &["view"])],
                partial: true
            }
        );
    }

    #[test]
    fn the_spec_example_is_request_denied_by_default() {
        let out = assess(
            &set(&["download"]),
            &set(&["download"]),
            &spec_example(),
            PartialOutcome::Error,
            AssessmentQuirks::default(),
            grants(&[("photo1", "view")]),
        );
        assert_eq!(out, Outcome::Denied);
    }

    #[test]
    fn vector_1_no_requested_scopes_grants_exactly_the_ticket() {
        let r = [res("r1", &["view"], &["view", "edit"])];
        let out = assess(
            &set(&["edit"]),
            &set(&[]),
            &r,
            PartialOutcome::Error,
            AssessmentQuirks::default(),
            grants(&[("r1", "view"), ("r1", "edit")]),
        );
        assert_eq!(
            out,
            Outcome::Grant {
                permissions: vec![perm("r1", &["view"])],
                partial: false
            }
        );
    }

    #[test]
    fn vector_2_a_registered_scope_that_no_ticket_resource_offers_is_invalid_scope() {
        let r = [res("r1", &["view"], &["view"])];
        let out = assess(
            &set(&["x"]),
            &set(&["x"]),
            &r,
            PartialOutcome::Error,
            AssessmentQuirks::default(),
            grants(&[("r1", "view")]),
        );
        assert_eq!(out, Outcome::InvalidScope { scope: "x".into() });
    }

    #[test]
    fn vector_2_under_the_quirk_the_unmatched_scope_is_dropped() {
        let r = [res("r1", &["view"], &["view"])];
        let q = AssessmentQuirks {
            drop_unmatched: true,
            ..AssessmentQuirks::default()
        };
        let out = assess(
            &set(&["x"]),
            &set(&["x"]),
            &r,
            PartialOutcome::Error,
            q,
            grants(&[("r1", "view")]),
        );
        assert_eq!(
            out,
            Outcome::Grant {
                permissions: vec![perm("r1", &["view"])],
                partial: false
            }
        );
    }

    #[test]
    fn vector_3_a_scope_the_client_never_registered_is_ignored() {
        let r = [res("r1", &["view"], &["view", "y"])];
        let out = assess(
            &set(&[]),
            &set(&["y"]),
            &r,
            PartialOutcome::Error,
            AssessmentQuirks::default(),
            grants(&[("r1", "view"), ("r1", "y")]),
        );
        assert_eq!(
            out,
            Outcome::Grant {
                permissions: vec![perm("r1", &["view"])],
                partial: false
            }
        );
    }

    #[test]
    fn vector_3_under_the_quirk_the_unregistered_scope_is_granted() {
        let r = [res("r1", &["view"], &["view", "y"])];
        let q = AssessmentQuirks {
            ignore_registered: true,
            ..AssessmentQuirks::default()
        };
        let out = assess(
            &set(&[]),
            &set(&["y"]),
            &r,
            PartialOutcome::Error,
            q,
            grants(&[("r1", "view"), ("r1", "y")]),
        );
        assert_eq!(
            out,
            Outcome::Grant {
                permissions: vec![perm("r1", &["view", "y"])],
                partial: false
            }
        );
    }

    #[test]
    fn vector_4_a_zero_scope_permission_takes_the_registered_requested_scope() {
        let r = [res("r1", &[], &["admin"])];
        let out = assess(
            &set(&["admin"]),
            &set(&["admin"]),
            &r,
            PartialOutcome::Error,
            AssessmentQuirks::default(),
            grants(&[("r1", "admin")]),
        );
        assert_eq!(
            out,
            Outcome::Grant {
                permissions: vec![perm("r1", &["admin"])],
                partial: false
            }
        );
    }

    #[test]
    fn vector_5_one_resource_satisfied_and_one_not_is_o5() {
        let r = [res("ok", &["view"], &["view"]), res("no", &["view"], &["view"])];
        let partial = assess(
            &set(&[]),
            &set(&[]),
            &r,
            PartialOutcome::Partial,
            AssessmentQuirks::default(),
            grants(&[("ok", "view")]),
        );
        assert_eq!(
            partial,
            Outcome::Grant {
                permissions: vec![perm("ok", &["view"])],
                partial: true
            }
        );
        let strict = assess(
            &set(&[]),
            &set(&[]),
            &r,
            PartialOutcome::Error,
            AssessmentQuirks::default(),
            grants(&[("ok", "view")]),
        );
        assert_eq!(strict, Outcome::Denied);
    }

    #[test]
    fn need_claims_wins_over_approval_and_denial() {
        let r = [res("r1", &["a", "b", "c"], &["a", "b", "c"])];
        let out = assess(
            &set(&[]),
            &set(&[]),
            &r,
            PartialOutcome::Error,
            AssessmentQuirks::default(),
            |_, s| match s {
                Some("a") => Decision::NeedApproval,
                Some("b") => Decision::NeedClaims(vec![RequiredClaim {
                    name: "email".into(),
                    friendly_name: "email".into(),
                    claim_token_format: vec![],
                    issuer: None,
                }]),
                _ => Decision::Denied,
            },
        );
        assert!(matches!(out, Outcome::NeedInfo { .. }));
    }

    #[test]
    fn approval_needed_gives_request_submitted_with_the_pending_permissions() {
        let r = [res("r1", &["a"], &["a"])];
        let out = assess(
            &set(&[]),
            &set(&[]),
            &r,
            PartialOutcome::Error,
            AssessmentQuirks::default(),
            |_, _| Decision::NeedApproval,
        );
        assert_eq!(
            out,
            Outcome::RequestSubmitted {
                pending: vec![perm("r1", &["a"])]
            }
        );
    }

    #[test]
    fn a_deregistered_resource_is_never_granted() {
        let r = [ResourceSets {
            id: "gone".into(),
            ticket_scopes: set(&["view"]),
            registered_scopes: None,
        }];
        let out = assess(
            &set(&[]),
            &set(&[]),
            &r,
            PartialOutcome::Partial,
            AssessmentQuirks::default(),
            |_, _| Decision::Granted,
        );
        assert_eq!(out, Outcome::Denied);
    }

    #[test]
    fn granted_never_exceeds_requested_or_policy() {
        // Exhaustive over small sets: every scope subset for A, B, C, F on one resource.
        let universe = ["s1", "s2", "s3"];
        let subsets: Vec<BTreeSet<String>> = (0..8u8)
            .map(|m| {
                universe
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| m & (1 << i) != 0)
                    .map(|(_, s)| (*s).to_owned())
                    .collect()
            })
            .collect();
        let d = set(&universe);
        for a in &subsets {
            for b in &subsets {
                for c in &subsets {
                    for f in &subsets {
                        let r = [ResourceSets {
                            id: "r".into(),
                            ticket_scopes: c.clone(),
                            registered_scopes: Some(d.clone()),
                        }];
                        let out = assess(
                            a,
                            b,
                            &r,
                            PartialOutcome::Partial,
                            AssessmentQuirks::default(),
                            |_, s| match s {
                                Some(s) if f.contains(s) => Decision::Granted,
                                _ => Decision::Denied,
                            },
                        );
                        let e = requested_scopes(a, b, &r[0], AssessmentQuirks::default());
                        if let Outcome::Grant { permissions, .. } = out {
                            for p in permissions {
                                for s in &p.resource_scopes {
                                    assert!(e.contains(s) && f.contains(s), "granted {s} outside E∩F");
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn choices(partial_outcome: PartialOutcome) -> Choices {
        partial_outcome.into()
    }

    #[test]
    fn an_unregistered_requested_scope_is_refused_only_when_that_choice_is_made() {
        let r = [res("r", &["view"], &["view", "download"])];
        let (a, b) = (set(&["view"]), set(&["download"]));
        let refuse = Choices {
            refuse_unregistered: true,
            ..choices(PartialOutcome::Error)
        };
        let out = assess_with(
            &a,
            &b,
            &r,
            refuse,
            AssessmentQuirks::default(),
            grants(&[("r", "view")]),
        );
        assert_eq!(
            out,
            Outcome::InvalidScope {
                scope: "download".into()
            }
        );
        let out = assess(
            &a,
            &b,
            &r,
            PartialOutcome::Error,
            AssessmentQuirks::default(),
            grants(&[("r", "view")]),
        );
        assert!(matches!(out, Outcome::Grant { partial: false, .. }), "{out:?}");
    }

    #[test]
    fn approval_first_puts_request_submitted_before_need_info() {
        let r = [res("r", &["view", "edit"], &["view", "edit"])];
        let decide = |_: &str, s: Option<&str>| match s {
            Some("view") => Decision::NeedClaims(vec![RequiredClaim {
                name: "email".into(),
                friendly_name: "email".into(),
                claim_token_format: Vec::new(),
                issuer: None,
            }]),
            _ => Decision::NeedApproval,
        };
        let none = BTreeSet::new();
        let out = assess(
            &none,
            &none,
            &r,
            PartialOutcome::Error,
            AssessmentQuirks::default(),
            decide,
        );
        assert!(matches!(out, Outcome::NeedInfo { .. }), "{out:?}");
        let first = Choices {
            approval_first: true,
            ..choices(PartialOutcome::Error)
        };
        let out = assess_with(&none, &none, &r, first, AssessmentQuirks::default(), decide);
        assert!(matches!(out, Outcome::RequestSubmitted { .. }), "{out:?}");
    }

    #[test]
    fn a_partial_rpt_lists_the_ungranted_resources_only_when_asked() {
        let none = BTreeSet::new();
        let listing = Choices {
            list_ungranted: true,
            ..choices(PartialOutcome::Partial)
        };
        let out = assess_with(
            &none,
            &none,
            &spec_example(),
            listing,
            AssessmentQuirks::default(),
            grants(&[("photo1", "view")]),
        );
        assert_eq!(
            out,
            Outcome::Grant {
                permissions: vec![perm("album", &[]), perm("photo1", &["view"]), perm("photo2", &[])],
                partial: true,
            }
        );
    }
}
