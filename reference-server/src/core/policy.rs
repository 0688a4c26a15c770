//! Resource owners' policies and their evaluation.
//!
//! UMA leaves policy out of scope. The reference AS offers four kinds per resource and scope:
//! `open`, `deny`, `claims` (required claim names, optionally values and an issuer) and
//! `owner-approval`. A scope with no policy is never granted (UMA Grant §5.6: no naive
//! default-permit).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::model::Claim;

/// The claim-token format URI of an OpenID Connect ID token.
pub const ID_TOKEN_FORMAT: &str = "http://openid.net/specs/openid-connect-core-1_0.html#IDToken";

/// A policy for one resource: per-scope entries and an optional default for scopes not listed
/// (and for zero-scope permissions).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcePolicy {
    /// Policy per scope name.
    #[serde(default)]
    pub scopes: BTreeMap<String, ScopePolicy>,
    /// Policy for every scope without an entry of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<ScopePolicy>,
}

/// The condition for granting one scope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ScopePolicy {
    /// Anyone may have it.
    Open,
    /// No one may have it.
    Deny,
    /// The requesting party must present these claims. A `null` value means any value.
    Claims {
        /// Claim name → required value (`null`: any value).
        claims: BTreeMap<String, serde_json::Value>,
        /// If set, the claims must come from this issuer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issuer: Option<String>,
    },
    /// The resource owner must approve each request.
    OwnerApproval,
}

impl ResourcePolicy {
    /// Checks the policy is usable: a claims policy needs at least one claim.
    pub fn validate(&self) -> Result<(), String> {
        for (scope, p) in self
            .scopes
            .iter()
            .map(|(s, p)| (s.as_str(), p))
            .chain(self.default.iter().map(|p| ("default", p)))
        {
            if let ScopePolicy::Claims { claims, .. } = p {
                if claims.is_empty() {
                    return Err(format!(
                        "the claims policy for `{scope}` names no claim; an empty claim set must not satisfy a policy"
                    ));
                }
                if claims.keys().any(String::is_empty) {
                    return Err(format!("the claims policy for `{scope}` has an empty claim name"));
                }
            }
        }
        Ok(())
    }

    /// The policy that applies to `scope` (`None` for a zero-scope permission).
    pub fn for_scope(&self, scope: Option<&str>) -> Option<&ScopePolicy> {
        scope.and_then(|s| self.scopes.get(s)).or(self.default.as_ref())
    }
}

/// A claim the AS would need, as sent in `need_info.required_claims` (UMA Grant §3.3.6).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequiredClaim {
    /// The claim's name.
    pub name: String,
    /// A human-readable name.
    pub friendly_name: String,
    /// Acceptable claim token formats.
    pub claim_token_format: Vec<String>,
    /// Acceptable issuers, if restricted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Vec<String>>,
}

/// Whether the owner approved this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApprovalState {
    /// No approval asked yet.
    None,
    /// Waiting.
    Pending,
    /// Approved.
    Approved,
    /// Denied.
    Denied,
}

/// The result of evaluating one scope.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// Policy satisfied.
    Granted,
    /// Policy refuses.
    Denied,
    /// More claims could satisfy it.
    NeedClaims(Vec<RequiredClaim>),
    /// The owner must approve.
    NeedApproval,
}

/// Evaluates `policy` against the claims presented so far and the approval state.
pub fn evaluate(policy: Option<&ScopePolicy>, claims: &[Claim], approval: ApprovalState) -> Decision {
    match policy {
        None | Some(ScopePolicy::Deny) => Decision::Denied,
        Some(ScopePolicy::Open) => Decision::Granted,
        Some(ScopePolicy::OwnerApproval) => match approval {
            ApprovalState::Approved => Decision::Granted,
            ApprovalState::Denied => Decision::Denied,
            ApprovalState::None | ApprovalState::Pending => Decision::NeedApproval,
        },
        Some(ScopePolicy::Claims {
            claims: required,
            issuer,
        }) => {
            let missing: Vec<RequiredClaim> = required
                .iter()
                .filter(|(name, want)| {
                    !claims.iter().any(|c| {
                        &c.name == *name
                            && (want.is_null() || c.value == **want)
                            && issuer.as_ref().is_none_or(|i| &c.issuer == i)
                    })
                })
                .map(|(name, _)| RequiredClaim {
                    name: name.clone(),
                    friendly_name: name.clone(),
                    claim_token_format: vec![ID_TOKEN_FORMAT.to_owned()],
                    issuer: issuer.as_ref().map(|i| vec![i.clone()]),
                })
                .collect();
            if missing.is_empty() {
                Decision::Granted
            } else {
                Decision::NeedClaims(missing)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claim(name: &str, value: serde_json::Value, issuer: &str) -> Claim {
        Claim {
            name: name.into(),
            value,
            issuer: issuer.into(),
        }
    }

    #[test]
    fn no_policy_means_no_grant() {
        assert_eq!(evaluate(None, &[], ApprovalState::None), Decision::Denied);
    }

    #[test]
    fn a_claims_policy_needs_the_named_claim_with_the_right_value_and_issuer() {
        let p = ScopePolicy::Claims {
            claims: [("email".to_owned(), json!("bob@example.com"))].into_iter().collect(),
            issuer: Some("https://idp".into()),
        };
        assert!(matches!(
            evaluate(Some(&p), &[], ApprovalState::None),
            Decision::NeedClaims(_)
        ));
        let wrong_value = [claim("email", json!("eve@example.com"), "https://idp")];
        assert!(matches!(
            evaluate(Some(&p), &wrong_value, ApprovalState::None),
            Decision::NeedClaims(_)
        ));
        let wrong_issuer = [claim("email", json!("bob@example.com"), "https://other")];
        assert!(matches!(
            evaluate(Some(&p), &wrong_issuer, ApprovalState::None),
            Decision::NeedClaims(_)
        ));
        let good = [claim("email", json!("bob@example.com"), "https://idp")];
        assert_eq!(evaluate(Some(&p), &good, ApprovalState::None), Decision::Granted);
    }

    #[test]
    fn a_null_claim_value_accepts_any_value() {
        let p = ScopePolicy::Claims {
            claims: [("email".to_owned(), json!(null))].into_iter().collect(),
            issuer: None,
        };
        let c = [claim("email", json!("x@y"), "anyone")];
        assert_eq!(evaluate(Some(&p), &c, ApprovalState::None), Decision::Granted);
    }

    #[test]
    fn an_empty_claims_policy_is_rejected() {
        let p = ResourcePolicy {
            scopes: [(
                "view".to_owned(),
                ScopePolicy::Claims {
                    claims: BTreeMap::new(),
                    issuer: None,
                },
            )]
            .into_iter()
            .collect(),
            default: None,
        };
        assert!(p.validate().is_err());
    }

    #[test]
    fn owner_approval_follows_the_approval_state() {
        let p = ScopePolicy::OwnerApproval;
        assert_eq!(evaluate(Some(&p), &[], ApprovalState::None), Decision::NeedApproval);
        assert_eq!(evaluate(Some(&p), &[], ApprovalState::Pending), Decision::NeedApproval);
        assert_eq!(evaluate(Some(&p), &[], ApprovalState::Approved), Decision::Granted);
        assert_eq!(evaluate(Some(&p), &[], ApprovalState::Denied), Decision::Denied);
    }

    #[test]
    fn policies_parse_from_the_documented_json() {
        let p: ResourcePolicy = serde_json::from_value(json!({
            "scopes": {
                "view": {"type": "open"},
                "print": {"type": "claims", "claims": {"email": "bob@example.com"}},
                "edit": {"type": "owner-approval"}
            },
            "default": {"type": "deny"}
        }))
        .unwrap();
        assert_eq!(p.for_scope(Some("view")), Some(&ScopePolicy::Open));
        assert_eq!(p.for_scope(Some("other")), Some(&ScopePolicy::Deny));
    }
}
