//! The three UMA roles. The harness shares this type: a requirement, a scenario, a target, a
//! quirk and a variant each belong to one role.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An UMA role: which party a requirement binds, or which reference component acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The authorization server.
    As,
    /// The resource server.
    Rs,
    /// The client.
    Client,
}

impl Role {
    /// Every role, in the order reports list them.
    pub const ALL: [Role; 3] = [Role::As, Role::Rs, Role::Client];

    /// `as`, `rs` or `client`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::As => "as",
            Self::Rs => "rs",
            Self::Client => "client",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not `as`, `rs` or `client`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`: use as, rs or client")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "as" => Ok(Self::As),
            "rs" => Ok(Self::Rs),
            "client" => Ok(Self::Client),
            other => Err(UnknownRole(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_round_trips_through_its_name() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("AS".parse::<Role>().is_err());
    }
}
