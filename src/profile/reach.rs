//! Where the harness may send requests for a profile (`allowed_origins`, `allow_remote`), how
//! much of an answer it reads (`max_body_bytes`), and the profile URIs the AS uses for the
//! harness profiles (`profile_uris`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ProfileError;
use crate::net::{self, Allowed, Origin};

/// The smallest and largest `max_body_bytes` a profile may set.
pub const BODY_CAP_BOUNDS: (u64, u64) = (1024, 256 << 20);

/// The profile URIs of the harness profiles, as the AS advertises them in
/// `uma_profiles_supported` (default: the harness's own URIs, `crate::uma::grant`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUris {
    /// The URI the AS uses for the ICG+PKCE profile (digest §10.1).
    #[serde(default, rename = "icg-pkce", skip_serializing_if = "Option::is_none")]
    pub icg_pkce: Option<String>,
    /// The URI the AS uses for the ICG mix-up (`iss`) profile (digest §10.2).
    #[serde(default, rename = "icg-iss", skip_serializing_if = "Option::is_none")]
    pub icg_iss: Option<String>,
}

impl ProfileUris {
    /// The URI of the ICG+PKCE profile at this AS.
    pub fn icg_pkce(&self) -> &str {
        self.icg_pkce.as_deref().unwrap_or(crate::uma::grant::PROFILE_ICG_PKCE)
    }

    /// The URI of the ICG mix-up profile at this AS.
    pub fn icg_iss(&self) -> &str {
        self.icg_iss.as_deref().unwrap_or(crate::uma::grant::PROFILE_ICG_ISS)
    }

    pub(super) fn is_default(&self) -> bool {
        self == &Self::default()
    }
}

/// Where the harness may send requests, as a profile says it (`allowed_origins`,
/// `allow_remote`), checked. `target` are the URLs of the target the profile names (an AS's
/// issuer, an RS's base URL, a client's start URL): `allow_remote: true` allows their origins
/// (and loopback), nothing more.
pub fn allowed(
    origins: &[String],
    allow_remote: bool,
    target: &[&str],
    location: &str,
) -> Result<Allowed, ProfileError> {
    if allow_remote && !origins.is_empty() {
        return Err(ProfileError::at(
            location,
            "give `allowed_origins` or `allow_remote: true`, not both".into(),
        ));
    }
    if allow_remote {
        let mut own: Vec<Origin> = Vec::new();
        for u in target {
            let cleaned = u.replace(['{', '}'], "");
            if let Some(o) = url::Url::parse(&cleaned).ok().as_ref().and_then(Origin::of)
                && !own.contains(&o)
            {
                own.push(o);
            }
        }
        return Ok(Allowed::Remote(own));
    }
    if origins.is_empty() {
        return Ok(Allowed::Loopback);
    }
    let parsed = origins
        .iter()
        .map(|o| Origin::parse(o).map_err(|e| ProfileError::at(location, format!("`allowed_origins`: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Allowed::Origins(parsed))
}

/// The guarded path's policy of a profile.
pub fn http_policy(
    allowed: Allowed,
    max_body_bytes: Option<u64>,
    request_timeout_seconds: Option<u64>,
    location: &str,
) -> Result<net::Policy, ProfileError> {
    let cap = max_body_bytes.unwrap_or(net::DEFAULT_MAX_BODY_BYTES as u64);
    if !(BODY_CAP_BOUNDS.0..=BODY_CAP_BOUNDS.1).contains(&cap) {
        return Err(ProfileError::at(
            location,
            format!(
                "`max_body_bytes: {cap}` is out of bounds ({} to {})",
                BODY_CAP_BOUNDS.0, BODY_CAP_BOUNDS.1
            ),
        ));
    }
    let timeout = request_timeout_seconds.map_or(net::DEFAULT_TIMEOUT, std::time::Duration::from_secs);
    if timeout.is_zero() {
        return Err(ProfileError::at(
            location,
            "`request_timeout_seconds` is at least 1".into(),
        ));
    }
    Ok(net::Policy::new(allowed, cap as usize, timeout))
}

/// Whether a URL of the profile may be a target under the profile's origin rule (`{…}`
/// placeholders are ignored).
pub fn check_host(field: &str, url: &str, location: &str, allowed: &Allowed) -> Result<(), ProfileError> {
    let cleaned = url.replace(['{', '}'], "");
    url::Url::parse(&cleaned).map_err(|e| ProfileError::at(location, format!("`{field}` is not a URL: {e}")))?;
    net::Policy::new(allowed.clone(), net::DEFAULT_MAX_BODY_BYTES, net::DEFAULT_TIMEOUT)
        .check(&cleaned)
        .map(|_| ())
        .map_err(|e| ProfileError::at(location, format!("`{field}`: {e}")))
}
