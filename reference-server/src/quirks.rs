//! Deliberate violations of the specs, off by default.
//!
//! Requirement IDs are the spec digest's (`G-AS-32`, `F-AS-21`, `T-03`, ...), plus IDs for items
//! the digest describes without numbering: `R7662-02` is RFC 7662 §2.2 (an inactive, expired or
//! unknown token is introspected as `{"active": false}`); `PKCE-n` is rule n of the ICG+PKCE
//! profile (digest §10.1); `ISS-n` is rule n of the ICG mix-up profile (digest §10.2).
//!
//! Each quirk breaks exactly one requirement (named by its digest ID) so that the conformance suite
//! can prove its check for that requirement fails. A quirk may also make checks of other
//! requirements fail as an unavoidable side effect; those are declared as `collateral`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! quirks {
    ($( $variant:ident => $name:literal, $req:literal, [$($coll:literal),*], $desc:literal; )*) => {
        /// A deliberate violation the reference AS can be told to commit.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Quirk {
            $(
                #[doc = $desc]
                $variant,
            )*
        }

        impl Quirk {
            /// Every quirk, in declaration order.
            pub const ALL: &'static [Quirk] = &[$(Quirk::$variant),*];

            /// The name used in configuration and on the command line.
            pub fn name(self) -> &'static str {
                match self { $(Quirk::$variant => $name,)* }
            }

            /// The requirement ID (from the spec digest) this quirk breaks.
            pub fn requirement(self) -> &'static str {
                match self { $(Quirk::$variant => $req,)* }
            }

            /// Requirements whose checks may also fail under this quirk, as a side effect.
            pub fn collateral(self) -> &'static [&'static str] {
                match self { $(Quirk::$variant => &[$($coll),*],)* }
            }

            /// What the quirk does, in one line.
            pub fn description(self) -> &'static str {
                match self { $(Quirk::$variant => $desc,)* }
            }
        }
    };
}

quirks! {
    NoTicketRotation => "no-ticket-rotation", "G-AS-32", ["T-04", "T-03"],
        "need_info returns the same ticket the client sent instead of a new one";
    RotatedTicketAccepted => "rotated-ticket-accepted", "T-03", ["G-AS-51", "G-AS-52"],
        "a ticket rotated away by need_info or request_submitted stays usable";
    TicketReusable => "ticket-reusable", "G-AS-51", ["T-01", "G-AS-52", "T-05"],
        "a ticket stays usable after it was redeemed for an RPT";
    NeedInfoAs400 => "need-info-as-400", "G-AS-32", [],
        "need_info is sent with HTTP 400 instead of 403";
    RequestSubmittedWithoutTicket => "request-submitted-without-ticket", "G-AS-34", ["T-04", "G-AS-33"],
        "request_submitted is sent without a new ticket";
    InvalidGrantAs403 => "invalid-grant-as-403", "G-AS-30", ["T-01", "T-02", "T-03", "T-05", "T-06", "G-AS-51", "G-AS-52", "PKCE-04"],
        "invalid_grant for an unknown, used or expired ticket is sent with HTTP 403 instead of 400";
    ClientScopesWithoutRegistration => "client-scopes-without-registration", "G-AS-13", ["G-AS-12", "G-AS-20"],
        "scopes the client requested are granted even if it never pre-registered them (A ignored)";
    ScopesBeyondPolicy => "scopes-beyond-policy", "G-AS-12", ["G-AS-33", "R6749-07"],
        "scopes the owner's policy denies are granted anyway (F ignored)";
    IntrospectionWithoutPermissions => "introspection-without-permissions", "F-AS-32", ["G-AS-12", "G-AS-13", "G-AS-20", "G-AS-28", "G-AS-61"],
        "an active introspection response has no permissions member";
    IntrospectionWithScope => "introspection-with-scope", "F-AS-32", [],
        "an active introspection response carries a scope member";
    ExpiredRptActive => "expired-rpt-active", "R7662-02", ["G-RS-06", "F-AS-33"],
        "an expired RPT is introspected as active";
    CreateWithoutLocation => "create-without-location", "F-AS-10", [],
        "resource creation answers 201 without a Location header";
    UnknownResource200 => "unknown-resource-200", "F-AS-12", [],
        "reading an unknown resource answers 200 instead of 404";
    PermissionUnregisteredScope => "permission-unregistered-scope", "F-AS-23", ["F-AS-32"],
        "the permission endpoint accepts a scope the resource was not registered with";
    PermissionArrayRejected => "permission-array-rejected", "F-AS-21", [],
        "the permission endpoint rejects the array form of the request body";
    ProtectionWithoutPat => "protection-without-pat", "F-AS-02", ["F-AS-03", "R7662-01"],
        "the protection API serves requests that carry no PAT";
    ClaimsRedirectUnregistered => "claims-redirect-unregistered", "G-AS-42", ["G-AS-41", "G-AS-44", "G-AS-40", "R9700-01", "R9700-02"],
        "the claims interaction endpoint redirects to any absolute URI, registered or not";
    StateNotEchoed => "state-not-echoed", "G-AS-46", [],
        "the redirect back from claims gathering drops the client's state";
    RedirectReusesTicket => "redirect-reuses-ticket", "T-04", ["G-AS-46"],
        "the redirect back from claims gathering carries the incoming ticket instead of a new one";
    PkceNotEnforced => "pkce-not-enforced", "PKCE-04", ["PKCE-02", "R7636-04", "R7636-06", "R7636-07"],
        "a ticket bound to a PKCE challenge is redeemed without checking code_verifier";
    PkceDowngradeAccepted => "pkce-downgrade-accepted", "PKCE-06", [],
        "a code_verifier sent with a ticket that has no bound challenge is accepted";
    IssMissing => "iss-missing", "ISS-02", ["R9207-01", "R9207-02"],
        "the redirect back from claims gathering carries no iss";
    IssWrong => "iss-wrong", "ISS-02", ["R9207-02"],
        "the redirect back from claims gathering carries an iss that is not the issuer";
    NoCacheControl => "no-cache-control", "G-AS-21", [],
        "token responses carry no Cache-Control: no-store";
    ClaimTokenWrongAudience => "claim-token-wrong-audience", "G-AS-71", [],
        "a pushed ID token is accepted whatever its audience";
    PctCrossClient => "pct-cross-client", "G-AS-70", [],
        "a PCT issued to one client is honoured when another client presents it";
}

impl fmt::Display for Quirk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a quirk name the AS does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown quirk `{name}` (run with --list-quirks to see them all)")]
pub struct UnknownQuirk {
    /// The name that was asked for.
    pub name: String,
}

impl FromStr for Quirk {
    type Err = UnknownQuirk;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quirk::ALL
            .iter()
            .copied()
            .find(|q| q.name() == s)
            .ok_or_else(|| UnknownQuirk { name: s.to_owned() })
    }
}

impl Serialize for Quirk {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Quirk {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// The set of quirks a running AS commits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Quirks(BTreeSet<Quirk>);

impl Quirks {
    /// No quirks: a conformant AS.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether `quirk` is on.
    pub fn has(&self, quirk: Quirk) -> bool {
        self.0.contains(&quirk)
    }

    /// Turns `quirk` on.
    pub fn insert(&mut self, quirk: Quirk) {
        self.0.insert(quirk);
    }

    /// The quirks that are on.
    pub fn iter(&self) -> impl Iterator<Item = Quirk> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Quirk> for Quirks {
    fn from_iter<T: IntoIterator<Item = Quirk>>(iter: T) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_quirk_name_round_trips_and_is_unique() {
        let mut names = BTreeSet::new();
        for q in Quirk::ALL {
            assert_eq!(q.name().parse::<Quirk>().unwrap(), *q);
            assert!(names.insert(q.name()), "duplicate quirk name {}", q.name());
            assert!(!q.requirement().is_empty());
        }
        assert!(Quirk::ALL.len() >= 26);
    }

    #[test]
    fn an_unknown_quirk_name_is_an_error_that_names_it() {
        let err = "nope".parse::<Quirk>().unwrap_err();
        assert!(err.to_string().contains("`nope`"));
    }
}
