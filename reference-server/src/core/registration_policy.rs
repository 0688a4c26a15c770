//! Policies configured ahead of time, applied when a resource is registered
//! (`registration_policies` in the configuration).
//!
//! The policy API (`PUT /policy/{id}`) needs the resource's id, which only the resource server
//! learns. A third-party RS registering its own resources (an interop event, a product under
//! test) therefore left every scope without a policy, and every flow ended in `request_denied`.
//! A configured rule names the resources it covers (by owner, registering RS client, resource
//! `name` and `type`, with `*` wildcards) and gives the same abstract policy the API takes (per
//! scope, and a default). At registration the first rule that matches is stored as the
//! resource's policy; the owner may replace it through the API afterwards. A resource no rule
//! matches gets no policy, as before (UMA Grant §5.6: no naive default-permit).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use std::collections::BTreeMap;

use crate::core::policy::{ResourcePolicy, ScopePolicy};

/// One configured rule: which resources it covers and the policy they get.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationPolicy {
    /// The resource owner (the PAT's owner); `*` wildcards; absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The `client_id` of the resource server registering; absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rs_client: Option<String>,
    /// The resource description's `name`; absent: any (a pattern never matches a resource
    /// registered without a name, except `*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The resource description's `type`; as for `name`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// Policy per scope name, as `PUT /policy/{id}` takes it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scopes: BTreeMap<String, ScopePolicy>,
    /// Policy for every scope without an entry of its own (and zero-scope permissions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<ScopePolicy>,
}

impl RegistrationPolicy {
    /// Whether this rule covers a resource of `owner`, registered by `rs_client`, with
    /// `description`.
    pub fn matches(&self, owner: &str, rs_client: &str, description: &Map<String, Value>) -> bool {
        let field = |pattern: &Option<String>, value: Option<&str>| match (pattern, value) {
            (None, _) => true,
            (Some(p), Some(v)) => glob(p, v),
            (Some(p), None) => p == "*",
        };
        field(&self.owner, Some(owner))
            && field(&self.rs_client, Some(rs_client))
            && field(&self.name, description.get("name").and_then(Value::as_str))
            && field(&self.resource_type, description.get("type").and_then(Value::as_str))
    }

    /// Checks the rule: its policy must be one the API would accept, and it must name a policy.
    pub fn validate(&self) -> Result<(), String> {
        if self.scopes.is_empty() && self.default.is_none() {
            return Err("a registration policy needs `scopes` or `default`".into());
        }
        self.policy().validate()
    }

    /// The policy a covered resource gets.
    pub fn policy(&self) -> ResourcePolicy {
        ResourcePolicy {
            scopes: self.scopes.clone(),
            default: self.default.clone(),
        }
    }
}

/// The policy the first rule of `rules` that covers the resource gives it.
pub fn policy_for(
    rules: &[RegistrationPolicy],
    owner: &str,
    rs_client: &str,
    description: &Map<String, Value>,
) -> Option<ResourcePolicy> {
    rules
        .iter()
        .find(|r| r.matches(owner, rs_client, description))
        .map(RegistrationPolicy::policy)
}

/// `*` matches any run of characters (none included); every other character matches itself.
fn glob(pattern: &str, value: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == value;
    };
    if parts.len() == 1 {
        return pattern == value;
    }
    let Some(mut rest) = value.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn desc(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn glob_matches_stars_anywhere_and_nothing_else() {
        assert!(glob("*", ""));
        assert!(glob("*", "anything"));
        assert!(glob("photo*", "photo-1"));
        assert!(glob("*deny*", "please-deny-me"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(glob("exact", "exact"));
        assert!(!glob("exact", "exactly"));
        assert!(!glob("*deny*", "allow"));
        assert!(!glob("a*a", "a"));
        assert!(!glob("ab*", "a"));
    }

    #[test]
    fn a_rule_matches_on_every_field_it_names() {
        let rule: RegistrationPolicy = serde_json::from_value(json!({
            "owner": "acme", "rs_client": "rs-*", "name": "*secret*", "type": "photo",
            "default": {"type": "deny"}
        }))
        .unwrap();
        let d = desc(json!({"name": "top-secret", "type": "photo"}));
        assert!(rule.matches("acme", "rs-1", &d));
        assert!(!rule.matches("other", "rs-1", &d));
        assert!(!rule.matches("acme", "client", &d));
        assert!(!rule.matches("acme", "rs-1", &desc(json!({"name": "open", "type": "photo"}))));
        assert!(!rule.matches("acme", "rs-1", &desc(json!({"name": "top-secret"}))));
    }

    #[test]
    fn the_first_matching_rule_wins_and_no_match_gives_no_policy() {
        let rules: Vec<RegistrationPolicy> = serde_json::from_value(json!([
            {"name": "*deny*", "default": {"type": "deny"}},
            {"owner": "acme", "scopes": {"view": {"type": "open"}}}
        ]))
        .unwrap();
        let p = policy_for(&rules, "acme", "rs", &desc(json!({"name": "deny-me"}))).unwrap();
        assert_eq!(p.default, Some(ScopePolicy::Deny));
        let p = policy_for(&rules, "acme", "rs", &desc(json!({}))).unwrap();
        assert_eq!(p.for_scope(Some("view")), Some(&ScopePolicy::Open));
        assert!(policy_for(&rules, "other", "rs", &desc(json!({}))).is_none());
    }

    #[test]
    fn a_rule_without_a_policy_or_with_an_empty_claims_policy_is_refused() {
        let empty: RegistrationPolicy = serde_json::from_value(json!({"owner": "x"})).unwrap();
        assert!(empty.validate().is_err());
        let claims: RegistrationPolicy =
            serde_json::from_value(json!({"default": {"type": "claims", "claims": {}}})).unwrap();
        assert!(claims.validate().is_err());
    }
}
