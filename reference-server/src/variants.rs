//! Conformant alternatives the specs allow, off by default: the specificity proof beside the
//! [quirks](crate::quirks)' sensitivity proof.
//!
//! A quirk breaks one requirement so that its check can be shown to fail. A variant breaks
//! nothing: it takes a freedom the specs leave open (an OPTIONAL feature not offered, an
//! OPTIONAL member left out, another reading of an ambiguity in the spec digest's §11, another
//! choice where the reference AS, RS or client had to pick one) so that the suites can be shown
//! not to fail, warn or err on a conformant target that chose differently.
//!
//! Each variant names its role, the freedoms it takes (requirement IDs of
//! `fixtures/requirements.yaml` and pitfall IDs `P-nn` of the digest's §11), and the harness
//! capabilities it takes away or adds (`-pct`, `+jwt-rpt`: names of `uma-conformance list
//! --capabilities`). Where a capability disappears, the AS also stops advertising it in
//! discovery where discovery carries it.
//!
//! A few variants are the named form of an older setting: `partial-outcome-partial` and
//! `partial-outcome-deny` are `partial_outcome`, `jwt-rpt` is `rpt_format: jwt`,
//! `icg-pkce-optional` is `icg_pkce: optional`, `no-icg-iss` is `icg_iss: false`.
//! [`Config::settle`](crate::config::Config::settle) keeps the two in step and refuses a
//! contradiction; [`Variants::check`] refuses variants that cannot be combined.
//!
//! How the list was derived, requirement by requirement and pitfall by pitfall, and what was
//! deliberately not made a variant: `reference-server/VARIANTS.md`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::role::Role;

macro_rules! variants {
    ($( $variant:ident => $name:literal, $role:ident, [$($freedom:literal),+], [$($cap:literal),*], $desc:literal; )*) => {
        /// A conformant alternative a reference component can be told to take.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Variant {
            $(
                #[doc = $desc]
                $variant,
            )*
        }

        impl Variant {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Variant] = &[$(Variant::$variant),*];

            /// The name used in configuration and on the command line (kebab-case).
            pub fn name(self) -> &'static str {
                match self { $(Variant::$variant => $name,)* }
            }

            /// The role the variant belongs to: which reference component takes it.
            pub fn role(self) -> Role {
                match self { $(Variant::$variant => Role::$role,)* }
            }

            /// The freedoms it takes: requirement IDs of the catalogue whose MAY, OPTIONAL or
            /// open wording allows it, and digest pitfalls (`P-nn`) with more than one
            /// conformant reading. Never empty.
            pub fn freedoms(self) -> &'static [&'static str] {
                match self { $(Variant::$variant => &[$($freedom),+],)* }
            }

            /// Harness capabilities it changes: `-name` taken away, `+name` added.
            pub fn capabilities(self) -> &'static [&'static str] {
                match self { $(Variant::$variant => &[$($cap),*],)* }
            }

            /// What the variant does, in one line.
            pub fn description(self) -> &'static str {
                match self { $(Variant::$variant => $desc,)* }
            }
        }
    };
}

variants! {
    // --- authorization server: assessment and results (core/assessment.rs, core/grant.rs) ---
    PartialOutcomePartial => "partial-outcome-partial", As, ["G-AS-12", "P-03"], [],
        "when some requested scopes pass policy and others do not, an RPT with those that passed (the setting partial_outcome: partial)";
    PartialOutcomeDeny => "partial-outcome-deny", As, ["G-AS-12", "G-AS-33"], ["-request-submitted"],
        "when some requested scopes pass policy and others do not, request_denied, never need_info or request_submitted (the setting partial_outcome: deny)";
    PartialRptListsUngranted => "partial-rpt-lists-ungranted", As, ["P-03", "G-AS-12"], [],
        "a partial RPT lists the ticket's resources that got nothing with an empty scope list instead of leaving them out (implies partial-outcome-partial)";
    ApprovalBeforeClaims => "approval-before-claims", As, ["G-AS-12", "G-AS-34"], [],
        "when both the owner's approval and more claims are missing, request_submitted comes first, need_info after the approval";
    UnregisteredScopeRefused => "unregistered-scope-refused", As, ["G-AS-31", "G-AS-13"], [],
        "a requested scope the client is not pre-registered for is refused with 400 invalid_scope instead of being ignored";
    TicketSpentOnRejectedRequest => "ticket-spent-on-rejected-request", As, ["P-11", "G-AS-52"], [],
        "a ticket sent in a token request that fails client authentication or is malformed is consumed all the same";
    JwtTickets => "jwt-tickets", As, ["G-AS-50"], [],
        "permission tickets are ES256-signed JWTs (still single-use and stored by hash) instead of random strings";
    // --- authorization server: the RPT response (core/grant.rs) ---
    JwtRpt => "jwt-rpt", As, ["F-RS-20", "G-AS-20"], ["+jwt-rpt"],
        "RPTs are ES256-signed JWTs carrying their permissions (the setting rpt_format: jwt)";
    NoRptRefreshToken => "no-rpt-refresh-token", As, ["G-AS-22"], ["-refresh"],
        "RPT responses carry no refresh_token (PATs from the code flow keep theirs)";
    RefreshNoNarrowing => "refresh-no-narrowing", As, ["G-AS-60", "P-08"], [],
        "an RPT refresh naming scopes it held keeps every permission of the RPT instead of narrowing to them";
    RefreshTokenRotates => "refresh-token-rotates", As, ["G-AS-22", "R6749-11"], [],
        "every refresh returns a new refresh token and revokes the one presented";
    RefreshWithoutNewRefreshToken => "refresh-without-new-refresh-token", As, ["G-AS-22", "R6749-11"], [],
        "a refresh response has no refresh_token member: the client keeps using the one it has";
    NoPct => "no-pct", As, ["G-AS-23", "P-19"], ["-pct"],
        "no PCT is ever issued";
    PctAlways => "pct-always", As, ["G-AS-23", "P-19"], [],
        "every RPT response carries a PCT, even when no claims were presented";
    PctNotReissued => "pct-not-reissued", As, ["P-19"], [],
        "a request that presented a valid PCT and added no claims gets no new PCT: the one it holds stays in use";
    PctRotates => "pct-rotates", As, ["P-19"], [],
        "a PCT that was honoured is revoked and replaced by a new one in the same response";
    PctAfterConsent => "pct-after-consent", As, ["G-AS-48", "G-AS-72"], ["-pct"],
        "a PCT is issued only for claims the requesting party agreed, on the claims form, to have remembered; pushed claims never get one";
    NoUpgrade => "no-upgrade", As, ["G-AS-26", "G-AS-24"], ["-rpt-upgrade"],
        "no RPT upgrading: the new RPT holds only what this request was granted and says upgraded: false (true only if that happens to cover the RPT sent, G-AS-24)";
    NoUpgradeFlagAbsent => "no-upgrade-flag-absent", As, ["G-AS-26", "G-AS-24"], ["-rpt-upgrade"],
        "no RPT upgrading and no upgraded member, unless the new RPT happens to cover the RPT sent (then upgraded: true, G-AS-24)";
    UpgradedAlwaysPresent => "upgraded-always-present", As, ["G-AS-24", "P-20"], [],
        "every RPT response carries upgraded, false when the request sent no RPT";
    UpgradeInPlace => "upgrade-in-place", As, ["P-20", "G-AS-28"], [],
        "an upgrade of an unexpired RPT adds the new permissions to it and returns that same string with upgraded: true (opaque RPTs only; an expired one is upgraded into a new string)";
    TokenTypeLowercase => "token-type-lowercase", As, ["G-AS-20", "R6749-06"], [],
        "token responses and introspection say token_type bearer, in lower case (RFC 6749 §5.1: case-insensitive)";
    ExtensionMembers => "extension-members", As, ["G-ALL-02", "G-AS-25", "G-C-24", "G-C-39", "R7662-03"], [],
        "token responses, token errors, discovery and introspection (active and inactive answers) carry an extension member, and the claims redirect back an extension parameter";
    OauthErrorsBare => "oauth-errors-bare", As, ["R6749-07", "F-AS-40"], [],
        "token endpoint errors carry no error_description";
    // --- authorization server: need_info and request_submitted (core/grant.rs) ---
    NeedInfoRequiredClaimsOnly => "need-info-required-claims-only", As, ["G-AS-32", "P-18"], [],
        "need_info carries required_claims but never redirect_user (the static claims_interaction_endpoint still works)";
    NeedInfoRedirectUserOnly => "need-info-redirect-user-only", As, ["G-AS-32", "P-18"], [],
        "need_info carries redirect_user but never required_claims";
    RedirectUserWithQuery => "redirect-user-with-query", As, ["P-13", "G-AS-32"], [],
        "redirect_user is the claims endpoint with a per-request query parameter (rqp_hint) the client must keep";
    RequiredClaimsNameOnly => "required-claims-name-only", As, ["P-18", "G-AS-32"], [],
        "each required_claims entry has only name: no friendly_name, claim_token_format or issuer";
    RequestSubmittedWithoutInterval => "request-submitted-without-interval", As, ["G-AS-34", "P-17"], [],
        "request_submitted carries no interval";
    // --- authorization server: token endpoint requests (core/clients.rs, http) ---
    BasicAuthOnly => "basic-auth-only", As, ["R6749-01", "G-AS-11"], [],
        "client_secret_post is not offered: client credentials in the body are refused and discovery lists client_secret_basic and none only";
    InvalidClient400WithoutHeader => "invalid-client-400-without-header", As, ["R6749-08", "G-AS-11"], [],
        "invalid_client for a client that did not use the Authorization header is 400 without a challenge (401 stays for Basic attempts)";
    UntypedFormRefused => "untyped-form-refused", As, ["G-AS-10", "G-ALL-03"], [],
        "a token, revocation or introspection request without Content-Type is refused with 400 invalid_request instead of being read as a form (RFC 9110 §8.3 MAY examine it)";
    ClientCredentialsAnyRegisteredScope => "client-credentials-any-registered-scope", As, ["F-AS-02", "R6750-03"], [],
        "client_credentials also issues plain access tokens for a client's registered scopes; only uma_protection makes a PAT";
    PatScopeOmitted => "pat-scope-omitted", As, ["R6749-06", "F-AS-02"], [],
        "a PAT response leaves out scope when the request named exactly uma_protection (RFC 6749 §5.1: OPTIONAL when identical)";
    // --- authorization server: endpoints offered and discovery (core/discovery.rs) ---
    NoDcr => "no-dcr", As, ["G-AS-06", "G-AS-07"], ["-dcr"],
        "no dynamic client registration: registration_endpoint is not advertised and /register is not served";
    DcrWithoutIssuedAt => "dcr-without-issued-at", As, ["R7591-01"], [],
        "the registration response has no client_id_issued_at";
    DcrReplacesInvalidMetadata => "dcr-replaces-invalid-metadata", As, ["R7591-03", "R7591-01"], [],
        "dynamic registration drops invalid redirect URIs and claims redirection URIs and registers the rest instead of refusing";
    NoRevocation => "no-revocation", As, ["G-AS-62", "G-C-43"], ["-revocation"],
        "no RFC 7009 revocation: revocation_endpoint is not advertised and /revoke is not served";
    RevokeRptRevokesGrant => "revoke-rpt-revokes-grant", As, ["R7009-01", "G-AS-62"], [],
        "revoking an RPT also revokes the refresh token issued with it";
    NoIntrospection => "no-introspection", As, ["F-AS-30", "F-AS-04"], ["-introspection"],
        "no introspection endpoint: introspection_endpoint is not advertised and /introspect is not served";
    IntrospectionPlainTokens => "introspection-plain-tokens", As, ["F-AS-31"], [],
        "a PAT introspected by its own resource server gets a plain RFC 7662 answer (active, scope, client_id) instead of active: false";
    IntrospectionMinimal => "introspection-minimal", As, ["F-AS-32"], [],
        "an active introspection answer holds active and permissions (resource_id, resource_scopes) only";
    IntrospectionPermissionTimes => "introspection-permission-times", As, ["F-AS-32", "F-AS-33"], [],
        "every permission in an introspection answer carries exp, iat and nbf, and the token-level nbf is present too";
    IntrospectionClientCredentials => "introspection-client-credentials", As, ["P-25", "R7662-01"], [],
        "introspection also accepts the resource server's client credentials (HTTP Basic) instead of its PAT";
    NoRfc8414Document => "no-rfc8414-document", As, ["G-AS-03", "P-07"], [],
        "only the UMA discovery document is served: /.well-known/oauth-authorization-server is not";
    MinimalDiscovery => "minimal-discovery", As, ["G-AS-07"], [],
        "discovery leaves out the OPTIONAL members whose defaults are true of this AS (token and revocation auth methods)";
    IssuerWithPath => "issuer-with-path", As, ["P-07", "G-AS-03"], [],
        "the issuer has a path (/uma appended when it has none) and every endpoint is served under it; RFC 8414 metadata moves to /.well-known/oauth-authorization-server/uma";
    NoPatCodeFlow => "no-pat-code-flow", As, ["G-AS-07"], ["-pat-code-flow"],
        "PATs only by client_credentials: no authorization_endpoint is advertised or served and response_types_supported is empty";
    PatCodeFlowPkceOptional => "pat-code-flow-pkce-optional", As, ["R7636-08"], [],
        "the authorization endpoint (PATs by code) accepts confidential clients without code_challenge";
    // --- authorization server: claims interaction and its profiles (core/interaction.rs) ---
    NoInteractiveClaims => "no-interactive-claims", As, ["G-AS-04", "G-AS-32"], ["-interactive-claims"],
        "no interactive claims gathering: no claims_interaction_endpoint, no redirect_user, /claims is not served";
    ClaimsEndpointUnadvertised => "claims-endpoint-unadvertised", As, ["G-AS-04", "G-C-31"], [],
        "discovery has no claims_interaction_endpoint: interactive gathering is reached only through need_info's redirect_user";
    ClaimsErrorRedirectWithTicket => "claims-error-redirect-with-ticket", As, ["P-12", "G-AS-45"], [],
        "a declined claims interaction redirects back with its error and a fresh ticket for the same process";
    CsrfFailureErrorRedirect => "csrf-failure-error-redirect", As, ["G-AS-49", "G-AS-45"], [],
        "a claims form that fails the CSRF check ends the interaction with an error redirect back to the client (no ticket) instead of an error page";
    ClaimsPageScript => "claims-page-script", As, ["G-AS-49", "G-AS-46"], [],
        "the claims page ships no HTML form: a script builds it in the browser (only a real browser, the harness's browser driver, can fill it)";
    NoClaimTokenPushing => "no-claim-token-pushing", As, ["P-09", "G-AS-05"], ["-claims-pushing"],
        "no claim token format is supported or advertised: a pushed claim_token gets need_info, and required_claims names no format";
    NoIcgPkce => "no-icg-pkce", As, ["P-16", "PKCE-02"], ["-profile:icg-pkce"],
        "the ICG+PKCE profile is not implemented or advertised: code_challenge on the claims endpoint and code_verifier with a ticket are ignored";
    IcgPkceOptional => "icg-pkce-optional", As, ["R7636-08", "PKCE-05"], [],
        "the claims interaction endpoint binds a code_challenge when one is sent and accepts requests without (the setting icg_pkce: optional)";
    PkcePlainAccepted => "pkce-plain-accepted", As, ["R7636-02", "R7636-03"], [],
        "code_challenge_method plain is accepted besides S256 (bound server-side, never handed out) and advertised";
    NoIcgIss => "no-icg-iss", As, ["P-16", "ISS-02"], ["-profile:icg-iss"],
        "no RFC 9207 iss on the redirects back and none advertised (the setting icg_iss: false)";
    // --- authorization server: resource registration (core/protection.rs) ---
    NoUserAccessPolicyUri => "no-user-access-policy-uri", As, ["F-AS-11"], [],
        "resource registration answers carry no user_access_policy_uri";
    NumericResourceIds => "numeric-resource-ids", As, ["F-AS-10", "P-35"], [],
        "resource _id values are decimal numbers instead of random strings";
    ResourceLocationRelative => "resource-location-relative", As, ["F-AS-10"], [],
        "the Location of a created resource is a path (/resource_set/{_id}) instead of an absolute URL";
    ResourceDelete200 => "resource-delete-200", As, ["F-AS-10"], [],
        "deleting a resource answers 200 instead of 204";
    ResourceErrorsWithoutBody => "resource-errors-without-body", As, ["F-AS-12", "F-AS-40"], [],
        "resource registration errors (404, 405, 400) have the status alone, no JSON error body";
    ResourceSetNoTrailingSlash => "resource-set-no-trailing-slash", As, ["P-22"], [],
        "only the advertised resource_registration_endpoint is served: its form with a trailing slash is 404";
    BodyIdRefused => "body-id-refused", As, ["P-23", "F-AS-12"], [],
        "an update whose body has an _id, even the path's, is refused with 400 invalid_request";
    BodyIdMismatchIgnored => "body-id-mismatch-ignored", As, ["P-23", "F-AS-11"], [],
        "an _id in an update body is ignored whatever its value: the path names the resource";

    // --- resource server (rs/) ---
    RsPermissionObject => "rs-permission-object", Rs, ["P-26", "F-AS-21"], [],
        "permission requests use the single-object body instead of an array of one";
    RsIntrospectionWithoutHint => "rs-introspection-without-hint", Rs, ["F-RS-21"], [],
        "introspection requests carry no token_type_hint";
    RsChallengeWithoutRealm => "rs-challenge-without-realm", Rs, ["P-04", "G-RS-03"], [],
        "the UMA challenge has as_uri and ticket only, no realm";
    RsChallenge403 => "rs-challenge-403", Rs, ["P-04", "G-RS-03"], [],
        "the UMA challenge comes with status 403 instead of 401";
    RsBearerChallengeAlongside => "rs-bearer-challenge-alongside", Rs, ["P-05", "G-RS-05"], [],
        "a Bearer challenge follows the UMA one: error invalid_token (401) for an unusable RPT, insufficient_scope (403) for one that lacks the permission";
    RsChallengeCompact => "rs-challenge-compact", Rs, ["P-28", "G-RS-03"], [],
        "the UMA challenge puts ticket first, has no space after commas, and writes realm and ticket as tokens (unquoted)";
    RsChallengeSchemeLowercase => "rs-challenge-scheme-lowercase", Rs, ["G-ALL-01", "G-RS-03"], [],
        "the challenge's auth scheme is written uma (schemes are case-insensitive)";
    RsUnreachable503 => "rs-unreachable-503", Rs, ["P-04", "G-RS-04"], [],
        "when the AS cannot be reached the answer is 503 (with the Warning 199) instead of 403";
    RsBearerHeaderOnly => "rs-bearer-header-only", Rs, ["G-RS-07"], [],
        "RPTs are read from the Authorization header only: an access_token query parameter is not a token";
    RsFormBodyToken => "rs-form-body-token", Rs, ["G-RS-07"], [],
        "an RPT in a form-encoded request body (access_token) is accepted on the routes with a body (PUT, POST)";
    RsRefusesDownloads => "rs-refuses-downloads", Rs, ["G-RS-08"], [],
        "downloads are refused with 403 (no challenge) even with a sufficient RPT: an extra control of the RS's own";
    RsPublicAlbums => "rs-public-albums", Rs, ["F-RS-01"], [],
        "viewing an album is not protected: served without a token (the index says so); editing it still is";
    RsRegistersLazily => "rs-registers-lazily", Rs, ["F-RS-02"], [],
        "nothing is registered at start: each resource is registered on the first request for it";
    RsMinimalDescriptions => "rs-minimal-descriptions", Rs, ["F-AS-10", "F-RS-01"], [],
        "resources are registered with resource_scopes only (no name, description or type)";
    RsScopeUris => "rs-scope-uris", Rs, ["F-AS-21", "F-AS-10"], [],
        "scopes are registered and requested as URIs (`https://uma-conformance.dev/photoz/scopes/view`, ...) instead of short names";
    RsTwoOwners => "rs-two-owners", Rs, ["F-RS-14", "F-RS-01"], [],
        "protects photo:sunset for a second resource owner: registers it, asks for its tickets (a request per owner) and introspects for it with that owner's PAT; the album shows its own owner's photos; and gets a new PAT for an owner after each permission request";

    // --- client (client/) ---
    ClientNeverPolls => "client-never-polls", Client, ["G-C-23", "P-17"], ["-polling"],
        "request_submitted ends the flow as pending: the client never polls";
    ClientNeverPushesClaims => "client-never-pushes-claims", Client, ["G-C-12"], ["-claims-pushing"],
        "no claim token is ever pushed: on need_info the client goes to redirect_user or stops";
    ClientPushesClaimsUpFront => "client-pushes-claims-up-front", Client, ["G-C-12", "G-C-05"], [],
        "the ID token given at /start is pushed, with its format, on the first token request, before any need_info";
    ClientFormWithoutContentType => "client-form-without-content-type", Client, ["G-AS-10", "G-ALL-03", "R6749-13"], [],
        "token requests carry their form-encoded body without a Content-Type header";
    ClientNeverSendsRpt => "client-never-sends-rpt", Client, ["G-C-15"], ["-rpt-upgrade"],
        "token requests never carry an rpt: the client asks for no upgrade and keeps one RPT per resource";
    ClientNeverSendsPct => "client-never-sends-pct", Client, ["G-C-14"], ["-pct"],
        "PCTs are never kept or sent";
    ClientRefreshesRpt => "client-refreshes-rpt", Client, ["G-C-43"], [],
        "when the RS refuses a held RPT, the client first refreshes it with its refresh token and tries once more";
    ClientRevokesReplacedRpt => "client-revokes-replaced-rpt", Client, ["G-C-43", "G-C-21"], [],
        "an RPT replaced by an upgrade is revoked at the AS's revocation_endpoint";
    ClientClaimsFirst => "client-claims-first", Client, ["G-C-05", "G-C-31"], [],
        "with a static claims_interaction_endpoint in discovery, the first ticket goes to claims gathering before any token request";
    ClientOmitsClaimsRedirectUri => "client-omits-claims-redirect-uri", Client, ["G-C-30"], [],
        "the claims redirect has no claims_redirect_uri: the client registered exactly one";
    ClientSendsClientIdWithBasic => "client-sends-client-id-with-basic", Client, ["R6749-12", "R6749-01"], [],
        "token requests authenticate with HTTP Basic and also name client_id in the body";
    ClientCachesDiscovery => "client-caches-discovery", Client, ["G-C-04"], [],
        "an AS's discovery document is fetched once per process and reused";
    ClientLongVerifier => "client-long-verifier", Client, ["R7636-01"], [],
        "the PKCE code_verifier is 128 characters long (the maximum)";
    ClientCallbackWithQuery => "client-callback-with-query", Client, ["G-C-30", "G-AS-43"], [],
        "the claims redirection URI has a query of its own ({base}/callback?via=uma)";
    ClientDropsUnupgradedRpt => "client-drops-unupgraded-rpt", Client, ["G-C-21"], [],
        "a new RPT that was not an upgrade replaces the RPT that was sent instead of living beside it";
}

impl Variant {
    /// The capabilities it takes away (the `-name` entries of [`Variant::capabilities`]).
    pub fn withdraws(self) -> impl Iterator<Item = &'static str> {
        self.capabilities().iter().filter_map(|c| c.strip_prefix('-'))
    }

    /// The capabilities it adds (the `+name` entries of [`Variant::capabilities`]).
    pub fn adds(self) -> impl Iterator<Item = &'static str> {
        self.capabilities().iter().filter_map(|c| c.strip_prefix('+'))
    }

    /// The variants of `role`, in declaration order.
    pub fn of_role(role: Role) -> impl Iterator<Item = Variant> {
        Self::ALL.iter().copied().filter(move |v| v.role() == role)
    }

    /// The variants that take a freedom of `id` (a requirement ID or a pitfall `P-nn`): what a
    /// catalogue entry can list as the conformant alternatives that exercise it.
    pub fn exercising(id: &str) -> impl Iterator<Item = Variant> + '_ {
        Self::ALL.iter().copied().filter(move |v| v.freedoms().contains(&id))
    }
}

/// The generated part of `reference-server/VARIANTS.md`: every variant, then every freedom with
/// the variants that take it (kept in step by a unit test).
pub fn markdown_index() -> String {
    let mut out = String::from(
        "### Every variant\n\n| Variant | Role | Freedoms | Capabilities | What it does |\n| --- | --- | --- | --- | --- |\n",
    );
    for v in Variant::ALL {
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            v.name(),
            v.role(),
            v.freedoms().join(", "),
            v.capabilities().join(" "),
            v.description().replace('|', "\\|"),
        ));
    }
    let mut ids: Vec<&str> = Variant::ALL.iter().flat_map(|v| v.freedoms().iter().copied()).collect();
    // Requirements first, then pitfalls, each alphabetically.
    ids.sort_by_key(|id| (id.starts_with("P-"), *id));
    ids.dedup();
    out.push_str(
        "\n### Index by freedom\n\n| Requirement or pitfall | Variants that take its freedom |\n| --- | --- |\n",
    );
    for id in ids {
        let names: Vec<String> = Variant::exercising(id).map(|v| format!("`{}`", v.name())).collect();
        out.push_str(&format!("| {id} | {} |\n", names.join(", ")));
    }
    out
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a variant name no component knows.
#[derive(Debug, thiserror::Error)]
#[error("unknown variant `{name}` (run with --list-variants to see them all)")]
pub struct UnknownVariant {
    /// The name that was asked for.
    pub name: String,
}

impl FromStr for Variant {
    type Err = UnknownVariant;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Variant::ALL
            .iter()
            .copied()
            .find(|v| v.name() == s)
            .ok_or_else(|| UnknownVariant { name: s.to_owned() })
    }
}

impl Serialize for Variant {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Variant {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Pairs of variants that cannot be taken together, and why.
const EXCLUSIVE: &[(Variant, Variant, &str)] = {
    use Variant::*;
    &[
        (
            PartialOutcomePartial,
            PartialOutcomeDeny,
            "a partial grant cannot also be a denial",
        ),
        (
            PartialRptListsUngranted,
            PartialOutcomeDeny,
            "a denial issues no partial RPT to list resources in",
        ),
        (
            NoUpgrade,
            NoUpgradeFlagAbsent,
            "upgraded cannot be both false and absent",
        ),
        (
            NoUpgrade,
            UpgradeInPlace,
            "an AS that does not upgrade cannot upgrade in place",
        ),
        (
            NoUpgradeFlagAbsent,
            UpgradeInPlace,
            "an AS that does not upgrade cannot upgrade in place",
        ),
        (
            NoUpgradeFlagAbsent,
            UpgradedAlwaysPresent,
            "upgraded cannot be both absent and always present",
        ),
        (
            UpgradeInPlace,
            JwtRpt,
            "a JWT RPT carries its permissions, so it cannot grow in place",
        ),
        (NoPct, PctAlways, "no PCT contradicts a PCT on every response"),
        (NoPct, PctNotReissued, "without PCTs there is none to keep"),
        (NoPct, PctRotates, "without PCTs there is none to rotate"),
        (NoPct, PctAfterConsent, "without PCTs there is none to consent to"),
        (
            PctAlways,
            PctNotReissued,
            "a PCT on every response contradicts keeping the presented one",
        ),
        (
            PctAlways,
            PctAfterConsent,
            "a PCT on every response contradicts a PCT only after consent",
        ),
        (
            PctNotReissued,
            PctRotates,
            "a presented PCT cannot be both kept and rotated",
        ),
        (
            NoRptRefreshToken,
            RefreshNoNarrowing,
            "without RPT refresh tokens there is no RPT refresh",
        ),
        (
            NoRptRefreshToken,
            RefreshTokenRotates,
            "without RPT refresh tokens there is no refresh",
        ),
        (
            NoRptRefreshToken,
            RefreshWithoutNewRefreshToken,
            "without RPT refresh tokens there is no refresh",
        ),
        (
            RefreshTokenRotates,
            RefreshWithoutNewRefreshToken,
            "a rotated refresh token must be returned",
        ),
        (
            NeedInfoRequiredClaimsOnly,
            NeedInfoRedirectUserOnly,
            "need_info must carry required_claims or redirect_user (G-AS-32)",
        ),
        (
            NoInteractiveClaims,
            NeedInfoRedirectUserOnly,
            "need_info must carry required_claims or redirect_user (G-AS-32)",
        ),
        (
            NoInteractiveClaims,
            RedirectUserWithQuery,
            "without interactive gathering there is no redirect_user",
        ),
        (
            NoInteractiveClaims,
            ClaimsEndpointUnadvertised,
            "without interactive gathering there is no endpoint to leave out",
        ),
        (
            NoInteractiveClaims,
            ClaimsErrorRedirectWithTicket,
            "without interactive gathering there is no claims redirect",
        ),
        (
            NoInteractiveClaims,
            CsrfFailureErrorRedirect,
            "without interactive gathering there is no claims form",
        ),
        (
            NoInteractiveClaims,
            PctAfterConsent,
            "consent to persist claims is asked on the claims form",
        ),
        (
            NoIcgPkce,
            IcgPkceOptional,
            "PKCE on the claims endpoint cannot be both absent and optional",
        ),
        (
            NoDcr,
            DcrReplacesInvalidMetadata,
            "without registration there is no metadata to replace",
        ),
        (
            NoDcr,
            DcrWithoutIssuedAt,
            "without registration there is no registration response",
        ),
        (
            NoRevocation,
            RevokeRptRevokesGrant,
            "without a revocation endpoint nothing is revoked there",
        ),
        (
            NoIntrospection,
            IntrospectionPlainTokens,
            "without introspection there is no answer to shape",
        ),
        (
            NoIntrospection,
            IntrospectionMinimal,
            "without introspection there is no answer to shape",
        ),
        (
            NoIntrospection,
            IntrospectionPermissionTimes,
            "without introspection there is no answer to shape",
        ),
        (
            NoIntrospection,
            IntrospectionClientCredentials,
            "without introspection there is no caller to authenticate",
        ),
        (
            IntrospectionMinimal,
            IntrospectionPermissionTimes,
            "an answer cannot be both minimal and carry every time member",
        ),
        (
            NoPatCodeFlow,
            PatCodeFlowPkceOptional,
            "without the code flow there is no PKCE to relax",
        ),
        (
            BodyIdRefused,
            BodyIdMismatchIgnored,
            "an _id in the body cannot be both refused and ignored",
        ),
        (
            ClientNeverPushesClaims,
            ClientPushesClaimsUpFront,
            "a client cannot both never push and push up front",
        ),
        (
            ClientNeverSendsRpt,
            ClientRevokesReplacedRpt,
            "without an rpt no RPT is replaced by an upgrade",
        ),
    ]
};

/// Two variants that cannot be taken together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("variants `{first}` and `{second}` cannot be combined: {why}")]
pub struct VariantConflict {
    /// One of them.
    pub first: Variant,
    /// The other.
    pub second: Variant,
    /// Why not.
    pub why: &'static str,
}

/// The set of variants a component takes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Variants(BTreeSet<Variant>);

impl Variants {
    /// No variant: the reference behaviour.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether `variant` is taken.
    pub fn contains(&self, variant: Variant) -> bool {
        self.0.contains(&variant)
    }

    /// Takes `variant`.
    pub fn insert(&mut self, variant: Variant) {
        self.0.insert(variant);
    }

    /// Whether no variant is taken.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The variants taken, in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = Variant> + '_ {
        self.0.iter().copied()
    }

    /// Refuses a set holding two variants that exclude each other.
    pub fn check(&self) -> Result<(), VariantConflict> {
        for (a, b, why) in EXCLUSIVE {
            if self.contains(*a) && self.contains(*b) {
                return Err(VariantConflict {
                    first: *a,
                    second: *b,
                    why,
                });
            }
        }
        Ok(())
    }
}

impl FromIterator<Variant> for Variants {
    fn from_iter<T: IntoIterator<Item = Variant>>(iter: T) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::quirks::Quirk;

    /// The requirement IDs of `fixtures/requirements.yaml` (the `- id:` lines).
    fn catalogue_ids() -> BTreeSet<String> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/requirements.yaml");
        let text = std::fs::read_to_string(path).expect("the requirement catalogue is readable");
        text.lines()
            .filter_map(|l| l.trim_start().strip_prefix("- id:"))
            .map(|id| id.trim().trim_matches('"').to_owned())
            .collect()
    }

    /// The pitfalls of the digest's §11 (P-01 … P-35).
    fn is_pitfall(id: &str) -> bool {
        id.strip_prefix("P-")
            .and_then(|n| n.parse::<u8>().ok())
            .is_some_and(|n| (1..=35).contains(&n) && id.len() == 4)
    }

    #[test]
    fn every_variant_name_round_trips_is_kebab_case_and_unique() {
        let mut names = BTreeSet::new();
        for v in Variant::ALL {
            assert_eq!(v.name().parse::<Variant>().unwrap(), *v);
            assert!(names.insert(v.name()), "duplicate variant name {}", v.name());
            assert!(
                v.name()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{} is not kebab-case",
                v.name()
            );
            assert!(!v.description().is_empty());
        }
    }

    #[test]
    fn no_variant_is_named_like_a_quirk() {
        for v in Variant::ALL {
            assert!(
                !Quirk::ALL.iter().any(|q| q.name() == v.name()),
                "variant {} has a quirk's name",
                v.name()
            );
        }
    }

    #[test]
    fn every_freedom_is_a_catalogue_requirement_or_a_digest_pitfall() {
        let ids = catalogue_ids();
        assert!(ids.len() > 100, "the catalogue was read");
        for v in Variant::ALL {
            assert!(!v.freedoms().is_empty(), "{} takes no freedom", v.name());
            for f in v.freedoms() {
                assert!(
                    ids.contains(*f) || is_pitfall(f),
                    "{}: `{f}` is neither a requirement of fixtures/requirements.yaml nor a pitfall P-01…P-35",
                    v.name()
                );
            }
        }
    }

    #[test]
    fn capability_changes_are_signed_names() {
        for v in Variant::ALL {
            for c in v.capabilities() {
                assert!(
                    c.len() > 1 && (c.starts_with('-') || c.starts_with('+')),
                    "{}: `{c}`",
                    v.name()
                );
            }
        }
        assert_eq!(Variant::NoPct.withdraws().collect::<Vec<_>>(), ["pct"]);
        assert_eq!(Variant::JwtRpt.adds().collect::<Vec<_>>(), ["jwt-rpt"]);
    }

    #[test]
    fn variants_md_carries_the_generated_index() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/VARIANTS.md");
        let text = std::fs::read_to_string(path).expect("VARIANTS.md is readable");
        let (start, end) = ("<!-- generated:start -->\n", "<!-- generated:end -->");
        let from = text.find(start).expect("the start marker") + start.len();
        let to = text.find(end).expect("the end marker");
        let expected = markdown_index();
        if text[from..to] != expected && std::env::var_os("UMA_BLESS").is_some() {
            let updated = format!("{}{expected}{}", &text[..from], &text[to..]);
            std::fs::write(path, updated).expect("VARIANTS.md is writable");
            return;
        }
        assert!(
            text[from..to] == expected,
            "VARIANTS.md is out of date: rerun this test with UMA_BLESS=1 to regenerate its index"
        );
    }

    #[test]
    fn every_role_has_variants() {
        for r in Role::ALL {
            assert!(Variant::of_role(r).count() >= 10, "{r}");
        }
    }

    #[test]
    fn exclusive_pairs_name_two_variants_of_one_role() {
        for (a, b, _) in EXCLUSIVE {
            assert_ne!(a, b);
            assert_eq!(a.role(), b.role(), "{a} / {b}");
        }
    }

    #[test]
    fn a_set_with_two_exclusive_variants_is_refused_with_both_names() {
        let set: Variants = [Variant::NoPct, Variant::PctAlways].into_iter().collect();
        let err = set.check().unwrap_err();
        assert!(err.to_string().contains("`no-pct`") && err.to_string().contains("`pct-always`"));
        assert!(Variants::none().check().is_ok());
    }

    #[test]
    fn an_unknown_variant_name_is_an_error_that_names_it() {
        let err = "nope".parse::<Variant>().unwrap_err();
        assert!(err.to_string().contains("`nope`"));
    }

    #[test]
    fn variants_serialize_by_name() {
        let set: Variants = [Variant::NoPct, Variant::JwtRpt].into_iter().collect();
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["jwt-rpt","no-pct"]"#);
        let back: Variants = serde_json::from_str(&json).unwrap();
        assert_eq!(back, set);
    }
}
