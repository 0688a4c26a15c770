//! Capabilities: what a target offers or claims. A scenario `needs` some; the preflight derives
//! them from discovery and the profile; a scenario whose needs are not met is skipped, with the
//! missing capabilities as its reason.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! capabilities {
    ($( $variant:ident => $name:literal: $doc:literal; )*) => {
        /// A capability a target may have.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Capability {
            $(
                #[doc = $doc]
                $variant,
            )*
        }

        impl Capability {
            /// Every capability.
            pub const ALL: &'static [Capability] = &[$(Self::$variant),*];

            /// Its name in scenarios and profiles.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $name,)* }
            }

            /// What it means.
            pub fn description(self) -> &'static str {
                match self { $(Self::$variant => $doc,)* }
            }
        }
    };
}

capabilities! {
    Dcr => "dcr": "dynamic client registration (RFC 7591) at registration_endpoint";
    Introspection => "introspection": "introspection_endpoint with the UMA permissions extension";
    Revocation => "revocation": "revocation_endpoint (RFC 7009)";
    ClaimsPushing => "claims-pushing": "an AS that trusts the harness's test identity provider for pushed ID tokens; a client that pushes claim tokens";
    InteractiveClaims => "interactive-claims": "an AS's claims_interaction_endpoint, driven by the profile's claims driver (form, browser or manual); a client that redirects to claims gathering";
    Pct => "pct": "persisted claims tokens (an AS that issues them; a client that uses them)";
    RptUpgrade => "rpt-upgrade": "RPT upgrading (UMA Grant §3.3.5.1): an AS that offers it; a client that offers its RPT";
    Refresh => "refresh": "refresh tokens with RPTs";
    RequestSubmitted => "request-submitted": "owner approval (request_submitted) through the approval adapter";
    PolicySetup => "policy-setup": "a policy adapter that can establish the abstract policies";
    SecondOwner => "second-owner": "a second resource server client with another resource owner";
    SecondClient => "second-client": "a second requesting client";
    ShortLifetimes => "short-lifetimes": "ticket and RPT lifetimes short enough to wait for (at most 10 s)";
    JwtRpt => "jwt-rpt": "RPTs are JWTs";
    BrowserClient => "browser-client": "a client target driven through a start URL, so it can send the browser to claims gathering";
    Polling => "polling": "a client that polls again after request_submitted";
    SeveralPermissions => "several-permissions": "an RS request that needs permissions on several resources (the RS profile's optional `several` request)";
    ProfileIcgPkce => "profile:icg-pkce": "the ICG+PKCE profile (digest §10.1)";
    ProfileIcgIss => "profile:icg-iss": "the ICG mix-up (iss) profile (digest §10.2)";
    PatCodeFlow => "pat-code-flow": "PATs by the authorization code grant with a user login form";
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no capability.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown capability `{0}`{hint}; known: {known}", hint = crate::diagnostic::did_you_mean(.0, Capability::ALL.iter().map(|c| c.as_str())), known = Capability::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", "))]
pub struct UnknownCapability(pub String);

impl FromStr for Capability {
    type Err = UnknownCapability;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCapability(s.to_string()))
    }
}

impl Serialize for Capability {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Capability {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Capability {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Capability".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
        schemars::json_schema!({ "type": "string", "enum": names })
    }
}

/// What a scenario needs: a capability, or (`not:X`) its absence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Need {
    /// The capability.
    pub capability: Capability,
    /// `not:X`: the scenario is for targets that do not have X.
    pub absent: bool,
}

impl Need {
    /// Whether a target with these capabilities meets the need.
    pub fn met_by(self, caps: &std::collections::BTreeSet<Capability>) -> bool {
        caps.contains(&self.capability) != self.absent
    }
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.absent {
            write!(f, "not:{}", self.capability)
        } else {
            write!(f, "{}", self.capability)
        }
    }
}

impl Serialize for Need {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Need {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let (absent, name) = match s.strip_prefix("not:") {
            Some(rest) => (true, rest),
            None => (false, s.as_str()),
        };
        let capability = name.parse().map_err(serde::de::Error::custom)?;
        Ok(Need { capability, absent })
    }
}

impl JsonSchema for Need {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Need".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<String> = Capability::ALL
            .iter()
            .flat_map(|c| [c.as_str().to_string(), format!("not:{}", c.as_str())])
            .collect();
        schemars::json_schema!({
            "type": "string",
            "description": "A capability the target must have, or `not:X` for one it must not claim.",
            "enum": names,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_parse_with_and_without_not() {
        let n: Need = serde_saphyr::from_str("not:profile:icg-iss").unwrap();
        assert!(n.absent);
        assert_eq!(n.capability, Capability::ProfileIcgIss);
        let caps = [Capability::ProfileIcgIss].into_iter().collect();
        assert!(!n.met_by(&caps));
        let e = serde_saphyr::from_str::<Need>("introspectoin").unwrap_err();
        assert!(e.to_string().contains("did you mean `introspection`"), "{e}");
    }
}
