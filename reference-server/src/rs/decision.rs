//! The access decision for one request: an introspection answer, a resource and a scope.
//!
//! Pure (no I/O, the time is a parameter), so that every rule, including F-AS-33's precedence of
//! token-level and permission-level `exp`/`nbf`, is unit-tested here.

use serde_json::Value;

use crate::quirks::{Quirk, Quirks};

/// Whether the RPT's introspection answer allows the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Serve the request.
    Allow,
    /// Refuse it: respond as if no token had been sent (UMA Grant §3.5).
    Deny(DenyReason),
}

/// Why an RPT does not allow a request (for logs and tests; never shown to the client).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// The answer is not a JSON object.
    NotAnObject,
    /// `active` is not `true`.
    Inactive,
    /// A token-level `exp` or `nbf` is not a number.
    MalformedTime,
    /// No `permissions` array.
    NoPermissions,
    /// No permission names the resource.
    OtherResource,
    /// Permissions name the resource, but none has the scope.
    MissingScope,
    /// A matching permission exists but has expired (effective `exp` reached).
    Expired,
    /// A matching permission exists but is not yet valid (effective `nbf` in the future).
    NotYetValid,
}

impl DenyReason {
    /// A short name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotAnObject => "introspection answer is not an object",
            Self::Inactive => "token inactive",
            Self::MalformedTime => "malformed exp or nbf",
            Self::NoPermissions => "no permissions",
            Self::OtherResource => "no permission for the resource",
            Self::MissingScope => "no permission with the scope",
            Self::Expired => "permission expired",
            Self::NotYetValid => "permission not yet valid",
        }
    }

    /// How far a permission got; the decision reports the furthest one.
    fn rank(self) -> u8 {
        match self {
            Self::NotAnObject | Self::Inactive | Self::NoPermissions => 0,
            Self::OtherResource => 1,
            Self::MissingScope => 2,
            Self::MalformedTime | Self::NotYetValid | Self::Expired => 3,
        }
    }
}

/// A time member: `Ok(None)` when absent (or `null`), `Err` when present but not a number.
fn time_member(obj: &serde_json::Map<String, Value>, key: &str) -> Result<Option<i64>, ()> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            // Fractional seconds are allowed by some ASes; truncation is the conservative choice
            // for `exp` only by at most one second, which is within any reasonable clock skew.
            .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or(()),
    }
}

/// The stricter of two optional bounds (absent values do not constrain).
fn stricter(a: Option<i64>, b: Option<i64>, pick: fn(i64, i64) -> i64) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(pick(x, y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Decides whether the introspection answer `introspection` lets the bearer use `scope` of the
/// resource `resource_id` at `now` (seconds since the epoch).
///
/// Conformant rules (FedAuthz §5.1.1, UMA Grant §3.5): `active` must be `true`; some entry of
/// `permissions` must name `resource_id` and list `scope` in `resource_scopes`; and that entry
/// must be in force: effective `exp` = min(token `exp`, permission `exp`) must be later than
/// `now`, effective `nbf` = max(token `nbf`, permission `nbf`) must not be later than `now`
/// (F-AS-33; absent values do not constrain). A malformed time member denies.
///
/// The quirks `rs-serves-inactive`, `rs-scope-unchecked` and `rs-permission-exp-wins` loosen
/// these rules as their descriptions say.
pub fn decide(introspection: &Value, resource_id: &str, scope: &str, now: i64, quirks: &Quirks) -> Decision {
    let Some(obj) = introspection.as_object() else {
        return Decision::Deny(DenyReason::NotAnObject);
    };
    if obj.get("active") != Some(&Value::Bool(true)) && !quirks.has(Quirk::RsServesInactive) {
        return Decision::Deny(DenyReason::Inactive);
    }
    let (Ok(token_exp), Ok(token_nbf)) = (time_member(obj, "exp"), time_member(obj, "nbf")) else {
        return Decision::Deny(DenyReason::MalformedTime);
    };
    let Some(permissions) = obj.get("permissions").and_then(Value::as_array) else {
        return Decision::Deny(DenyReason::NoPermissions);
    };
    let mut best = DenyReason::OtherResource;
    for p in permissions {
        let reason = match check_permission(p, resource_id, scope, now, token_exp, token_nbf, quirks) {
            None => return Decision::Allow,
            Some(r) => r,
        };
        if reason.rank() > best.rank() {
            best = reason;
        }
    }
    Decision::Deny(best)
}

/// `None` if the permission allows the request, else why not.
fn check_permission(
    permission: &Value,
    resource_id: &str,
    scope: &str,
    now: i64,
    token_exp: Option<i64>,
    token_nbf: Option<i64>,
    quirks: &Quirks,
) -> Option<DenyReason> {
    let Some(p) = permission.as_object() else {
        return Some(DenyReason::OtherResource);
    };
    if p.get("resource_id").and_then(Value::as_str) != Some(resource_id) {
        return Some(DenyReason::OtherResource);
    }
    let has_scope = p
        .get("resource_scopes")
        .and_then(Value::as_array)
        .is_some_and(|scopes| scopes.iter().any(|s| s.as_str() == Some(scope)));
    if !has_scope && !quirks.has(Quirk::RsScopeUnchecked) {
        return Some(DenyReason::MissingScope);
    }
    let (Ok(perm_exp), Ok(perm_nbf)) = (time_member(p, "exp"), time_member(p, "nbf")) else {
        return Some(DenyReason::MalformedTime);
    };
    let (exp, nbf) = if quirks.has(Quirk::RsPermissionExpWins) {
        (perm_exp.or(token_exp), perm_nbf.or(token_nbf))
    } else {
        (
            stricter(token_exp, perm_exp, i64::min),
            stricter(token_nbf, perm_nbf, i64::max),
        )
    };
    if exp.is_some_and(|exp| now >= exp) {
        return Some(DenyReason::Expired);
    }
    if nbf.is_some_and(|nbf| now < nbf) {
        return Some(DenyReason::NotYetValid);
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_000_000;
    const RID: &str = "r1";

    fn plain(v: &Value, scope: &str) -> Decision {
        decide(v, RID, scope, NOW, &Quirks::none())
    }

    fn with(q: Quirk, v: &Value, scope: &str) -> Decision {
        decide(v, RID, scope, NOW, &[q].into_iter().collect())
    }

    fn active(perms: Value) -> Value {
        json!({"active": true, "permissions": perms})
    }

    fn deny(r: DenyReason) -> Decision {
        Decision::Deny(r)
    }

    #[test]
    fn an_active_token_with_the_resource_and_scope_is_allowed() {
        let v = active(json!([{"resource_id": RID, "resource_scopes": ["view", "print"]}]));
        assert_eq!(plain(&v, "view"), Decision::Allow);
        assert_eq!(plain(&v, "print"), Decision::Allow);
    }

    #[test]
    fn any_one_matching_permission_is_enough() {
        let v = active(json!([
            {"resource_id": "other", "resource_scopes": ["view"]},
            {"resource_id": RID, "resource_scopes": ["edit"]},
            {"resource_id": RID, "resource_scopes": ["view"]},
        ]));
        assert_eq!(plain(&v, "view"), Decision::Allow);
    }

    #[test]
    fn active_must_be_the_boolean_true() {
        let perms = json!([{"resource_id": RID, "resource_scopes": ["view"]}]);
        for active in [json!(false), json!("true"), json!(1), Value::Null] {
            let v = json!({"active": active, "permissions": perms});
            assert_eq!(plain(&v, "view"), deny(DenyReason::Inactive), "{v}");
        }
        let v = json!({"permissions": perms});
        assert_eq!(plain(&v, "view"), deny(DenyReason::Inactive));
    }

    #[test]
    fn a_non_object_answer_is_refused() {
        assert_eq!(plain(&json!([]), "view"), deny(DenyReason::NotAnObject));
        assert_eq!(plain(&json!("active"), "view"), deny(DenyReason::NotAnObject));
    }

    #[test]
    fn missing_or_malformed_permissions_are_refused() {
        assert_eq!(plain(&json!({"active": true}), "view"), deny(DenyReason::NoPermissions));
        assert_eq!(
            plain(&json!({"active": true, "permissions": {"resource_id": RID}}), "view"),
            deny(DenyReason::NoPermissions)
        );
        assert_eq!(plain(&active(json!([])), "view"), deny(DenyReason::OtherResource));
        assert_eq!(
            plain(&active(json!(["r1", 7])), "view"),
            deny(DenyReason::OtherResource)
        );
    }

    #[test]
    fn a_plain_oauth_scope_does_not_stand_in_for_permissions() {
        let v = json!({"active": true, "scope": "view"});
        assert_eq!(plain(&v, "view"), deny(DenyReason::NoPermissions));
    }

    #[test]
    fn another_resource_or_scope_is_refused() {
        let v = active(json!([{"resource_id": "r2", "resource_scopes": ["view"]}]));
        assert_eq!(plain(&v, "view"), deny(DenyReason::OtherResource));
        let v = active(json!([{"resource_id": RID, "resource_scopes": ["view"]}]));
        assert_eq!(plain(&v, "download"), deny(DenyReason::MissingScope));
        let v = active(json!([{"resource_id": RID, "resource_scopes": []}]));
        assert_eq!(plain(&v, "view"), deny(DenyReason::MissingScope));
        let v = active(json!([{"resource_id": RID}]));
        assert_eq!(plain(&v, "view"), deny(DenyReason::MissingScope));
        let v = active(json!([{"resource_id": RID, "resource_scopes": "view"}]));
        assert_eq!(plain(&v, "view"), deny(DenyReason::MissingScope));
    }

    #[test]
    fn scopes_and_ids_are_compared_exactly() {
        let v = active(json!([{"resource_id": "R1", "resource_scopes": ["View"]}]));
        assert_eq!(plain(&v, "view"), deny(DenyReason::OtherResource));
        let v = active(json!([{"resource_id": RID, "resource_scopes": ["View", " view"]}]));
        assert_eq!(plain(&v, "view"), deny(DenyReason::MissingScope));
    }

    #[test]
    fn token_level_exp_and_nbf_apply_to_every_permission() {
        let p = json!([{"resource_id": RID, "resource_scopes": ["view"]}]);
        let v = json!({"active": true, "exp": NOW, "permissions": p});
        assert_eq!(plain(&v, "view"), deny(DenyReason::Expired), "exp == now is expired");
        let v = json!({"active": true, "exp": NOW + 1, "permissions": p});
        assert_eq!(plain(&v, "view"), Decision::Allow);
        let v = json!({"active": true, "nbf": NOW + 1, "permissions": p});
        assert_eq!(plain(&v, "view"), deny(DenyReason::NotYetValid));
        let v = json!({"active": true, "nbf": NOW, "permissions": p});
        assert_eq!(plain(&v, "view"), Decision::Allow, "nbf == now is valid");
    }

    #[test]
    fn permission_level_exp_and_nbf_apply_to_their_permission() {
        let v = active(json!([{"resource_id": RID, "resource_scopes": ["view"], "exp": NOW - 1}]));
        assert_eq!(plain(&v, "view"), deny(DenyReason::Expired));
        let v = active(json!([{"resource_id": RID, "resource_scopes": ["view"], "nbf": NOW + 60}]));
        assert_eq!(plain(&v, "view"), deny(DenyReason::NotYetValid));
        let v = active(json!([
            {"resource_id": RID, "resource_scopes": ["view"], "exp": NOW - 1},
            {"resource_id": RID, "resource_scopes": ["view"], "exp": NOW + 1},
        ]));
        assert_eq!(plain(&v, "view"), Decision::Allow);
    }

    #[test]
    fn an_earlier_token_exp_wins_over_a_later_permission_exp() {
        let v = json!({"active": true, "exp": NOW - 10,
            "permissions": [{"resource_id": RID, "resource_scopes": ["view"], "exp": NOW + 3600}]});
        assert_eq!(plain(&v, "view"), deny(DenyReason::Expired));
    }

    #[test]
    fn an_earlier_permission_exp_wins_over_a_later_token_exp() {
        let v = json!({"active": true, "exp": NOW + 3600,
            "permissions": [{"resource_id": RID, "resource_scopes": ["view"], "exp": NOW - 10}]});
        assert_eq!(plain(&v, "view"), deny(DenyReason::Expired));
    }

    #[test]
    fn a_later_token_nbf_wins_over_an_earlier_permission_nbf() {
        let v = json!({"active": true, "nbf": NOW + 60,
            "permissions": [{"resource_id": RID, "resource_scopes": ["view"], "nbf": NOW - 3600}]});
        assert_eq!(plain(&v, "view"), deny(DenyReason::NotYetValid));
    }

    #[test]
    fn a_later_permission_nbf_wins_over_an_earlier_token_nbf() {
        let v = json!({"active": true, "nbf": NOW - 3600,
            "permissions": [{"resource_id": RID, "resource_scopes": ["view"], "nbf": NOW + 60}]});
        assert_eq!(plain(&v, "view"), deny(DenyReason::NotYetValid));
    }

    #[test]
    fn iat_does_not_constrain() {
        let v = json!({"active": true, "iat": NOW + 1000,
            "permissions": [{"resource_id": RID, "resource_scopes": ["view"], "iat": NOW + 1000}]});
        assert_eq!(plain(&v, "view"), Decision::Allow);
    }

    #[test]
    fn malformed_times_deny_and_null_times_do_not_constrain() {
        let p = json!([{"resource_id": RID, "resource_scopes": ["view"]}]);
        let v = json!({"active": true, "exp": "soon", "permissions": p});
        assert_eq!(plain(&v, "view"), deny(DenyReason::MalformedTime));
        let v = active(json!([{"resource_id": RID, "resource_scopes": ["view"], "nbf": true}]));
        assert_eq!(plain(&v, "view"), deny(DenyReason::MalformedTime));
        let v = json!({"active": true, "exp": null, "nbf": null, "permissions": p});
        assert_eq!(plain(&v, "view"), Decision::Allow);
        let v = json!({"active": true, "exp": (NOW as f64) + 0.5, "permissions": p});
        assert_eq!(plain(&v, "view"), deny(DenyReason::Expired));
    }

    #[test]
    fn the_deny_reason_is_the_furthest_a_permission_got() {
        let v = active(json!([
            {"resource_id": "other", "resource_scopes": ["view"]},
            {"resource_id": RID, "resource_scopes": ["view"], "exp": NOW - 1},
            {"resource_id": RID, "resource_scopes": ["edit"]},
        ]));
        assert_eq!(plain(&v, "view"), deny(DenyReason::Expired));
    }

    #[test]
    fn rs_serves_inactive_ignores_active() {
        let v = json!({"active": false, "permissions": [{"resource_id": RID, "resource_scopes": ["view"]}]});
        assert_eq!(plain(&v, "view"), deny(DenyReason::Inactive));
        assert_eq!(with(Quirk::RsServesInactive, &v, "view"), Decision::Allow);
        // It still needs the permission listed.
        let bare = json!({"active": false});
        assert_eq!(
            with(Quirk::RsServesInactive, &bare, "view"),
            deny(DenyReason::NoPermissions)
        );
    }

    #[test]
    fn rs_scope_unchecked_serves_any_scope_of_the_resource() {
        let v = active(json!([{"resource_id": RID, "resource_scopes": ["view"]}]));
        assert_eq!(plain(&v, "download"), deny(DenyReason::MissingScope));
        assert_eq!(with(Quirk::RsScopeUnchecked, &v, "download"), Decision::Allow);
        let other = active(json!([{"resource_id": "r2", "resource_scopes": ["download"]}]));
        assert_eq!(
            with(Quirk::RsScopeUnchecked, &other, "download"),
            deny(DenyReason::OtherResource)
        );
    }

    #[test]
    fn rs_permission_exp_wins_lets_a_later_permission_exp_override_the_token() {
        let v = json!({"active": true, "exp": NOW - 10,
            "permissions": [{"resource_id": RID, "resource_scopes": ["view"], "exp": NOW + 3600}]});
        assert_eq!(plain(&v, "view"), deny(DenyReason::Expired));
        assert_eq!(with(Quirk::RsPermissionExpWins, &v, "view"), Decision::Allow);
    }

    #[test]
    fn rs_permission_exp_wins_lets_an_earlier_permission_nbf_override_the_token() {
        let v = json!({"active": true, "nbf": NOW + 60,
            "permissions": [{"resource_id": RID, "resource_scopes": ["view"], "nbf": NOW - 3600}]});
        assert_eq!(plain(&v, "view"), deny(DenyReason::NotYetValid));
        assert_eq!(with(Quirk::RsPermissionExpWins, &v, "view"), Decision::Allow);
    }

    #[test]
    fn rs_permission_exp_wins_still_uses_the_token_values_when_the_permission_has_none() {
        let v = json!({"active": true, "exp": NOW - 10,
            "permissions": [{"resource_id": RID, "resource_scopes": ["view"]}]});
        assert_eq!(with(Quirk::RsPermissionExpWins, &v, "view"), deny(DenyReason::Expired));
    }
}
