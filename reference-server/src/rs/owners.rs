//! Resources of two resource owners (variant `rs-two-owners`, quirk `rs-permission-mixes-owners`).
//!
//! FedAuthz §4: the PAT maps a permission request to one resource owner, and a request may ask
//! only for resources of that single owner. With a second owner's client credentials
//! ([`RsConfig::second_owner`](super::RsConfig::second_owner)), the RS protects `photo:sunset`
//! for the second owner: it registers it, asks for its tickets and introspects for it with that
//! owner's PAT, and the album shows only its own owner's photos. Under the variant the RS also
//! gets a new PAT for an owner after each permission request (a conformant RS may renew its PAT
//! at any time, so one owner can present several PATs). Under the quirk, before each permission
//! request, the RS first asks, with the route's owner's PAT, for the route's resource *and* a
//! resource of the other owner in one request (the AS refuses it; the RS carries on).

use serde_json::json;

use super::{AsCall, RESOURCES, RsState};
use crate::quirks::Quirk;
use crate::types::ClientSecret;
use crate::variants::Variant;

/// A resource owner's client credentials at the AS (`client_credentials` → a PAT for that owner).
#[derive(Clone, Debug)]
pub struct OwnerCredentials {
    /// The client at the AS whose PATs stand for the owner.
    pub client_id: String,
    /// Its secret (sent with HTTP Basic).
    pub client_secret: ClientSecret,
}

/// Whose resources: the owner of the RS's own client, or the second owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Owner {
    /// The owner the RS's configured client stands for.
    First,
    /// The owner of [`RsConfig::second_owner`](super::RsConfig::second_owner).
    Second,
}

impl Owner {
    pub(super) fn index(self) -> usize {
        match self {
            Self::First => 0,
            Self::Second => 1,
        }
    }
}

/// The resources of the second owner when the RS protects two owners' resources.
const SECOND_OWNER_RESOURCES: &[&str] = &["photo:sunset"];

impl RsState {
    /// Whether the RS protects the resources of two owners.
    pub(super) fn two_owners(&self) -> bool {
        (self.variant(Variant::RsTwoOwners) || self.quirk(Quirk::RsPermissionMixesOwners))
            && self.inner.config.second_owner.is_some()
    }

    /// Whose resource `key` (`photo:sunset`) is.
    pub(super) fn owner_of_key(&self, key: &str) -> Owner {
        if self.two_owners() && SECOND_OWNER_RESOURCES.contains(&key) {
            Owner::Second
        } else {
            Owner::First
        }
    }

    /// Whose resource the registered `resource_id` is.
    pub(super) fn owner_of_id(&self, resource_id: &str) -> Owner {
        self.ids()
            .iter()
            .find(|(_, id)| id.as_str() == resource_id)
            .map_or(Owner::First, |(key, _)| self.owner_of_key(key))
    }

    /// The client credentials whose PATs stand for `owner`.
    pub(super) fn credentials(&self, owner: Owner) -> (&str, &ClientSecret) {
        let c = &self.inner.config;
        match (owner, &c.second_owner) {
            (Owner::Second, Some(o)) => (&o.client_id, &o.client_secret),
            _ => (&c.client_id, &c.client_secret),
        }
    }

    /// Under the variant, the next call for `owner` gets a new PAT.
    pub(super) async fn renew_pat_after_request(&self, owner: Owner) {
        if self.variant(Variant::RsTwoOwners) {
            *self.inner.pats[owner.index()].lock().await = None;
        }
    }

    /// The quirk's request: the route's permission and one on a resource of the other owner,
    /// with the route's owner's PAT. Its answer is ignored.
    pub(super) async fn probe_mixed_owners(&self, resource_id: &str, scope: &str) {
        if !(self.quirk(Quirk::RsPermissionMixesOwners) && self.two_owners()) {
            return;
        }
        let owner = self.owner_of_id(resource_id);
        let Some(other) = RESOURCES.iter().find(|d| self.owner_of_key(d.key) != owner) else {
            return;
        };
        let Ok(other_id) = self.resource_id(other).await else {
            return;
        };
        let body = json!([
            {"resource_id": resource_id, "resource_scopes": [scope]},
            {"resource_id": other_id, "resource_scopes": [self.wire_scope("view")]},
        ]);
        let answer = self
            .protection_call_as(owner, AsCall::Permission, |ep, pat| {
                self.inner
                    .http
                    .post(&ep.permission)
                    .bearer_auth(pat.secret())
                    .json(&body)
            })
            .await;
        tracing::info!(answer = ?answer.map(|a| a.status), "the permission request for two owners' resources");
    }
}
