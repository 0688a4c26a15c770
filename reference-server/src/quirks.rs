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

use crate::role::Role;

macro_rules! quirks {
    ($( $variant:ident => $name:literal, $role:ident, $req:literal, [$($coll:literal),*], $desc:literal; )*) => {
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

            /// The role the quirk belongs to: which reference component commits it.
            pub fn role(self) -> Role {
                match self { $(Quirk::$variant => Role::$role,)* }
            }

            /// The requirement ID (from the spec digest) this quirk breaks.
            pub fn requirement(self) -> &'static str {
                match self { $(Quirk::$variant => $req,)* }
            }

            /// Requirements whose checks may also fail under this quirk, as a side effect.
            pub fn collateral(self) -> &'static [&'static str] {
                match self { $(Quirk::$variant => &[$($coll),*],)* }
            }

            /// Whether the quirk shows only when the AS is served over TLS.
            pub fn needs_tls(self) -> bool {
                matches!(self, Quirk::IssuerHttp | Quirk::ProtectionEndpointsHttp | Quirk::TokenEndpointPlaintext)
            }

            /// What the quirk does, in one line.
            pub fn description(self) -> &'static str {
                match self { $(Quirk::$variant => $desc,)* }
            }
        }
    };
}

quirks! {
    // --- resource server quirks (role Rs) go here ---
    RsNoTicket => "rs-no-ticket", Rs, "G-RS-01", ["G-RS-03", "G-RS-05", "F-RS-10", "G-RS-04"],
        "never calls the permission endpoint: a tokenless request gets 401 UMA realm and as_uri without a ticket";
    RsWrongAsUri => "rs-wrong-as-uri", Rs, "G-RS-03", [],
        "the UMA challenge's as_uri is the discovery document URL, not the issuer";
    RsBearerScheme => "rs-bearer-scheme", Rs, "G-RS-03", ["G-RS-05"],
        "the challenge uses the auth scheme Bearer (with as_uri and ticket parameters) instead of UMA";
    RsNoWarning => "rs-no-warning", Rs, "G-RS-04", [],
        "the 403 for an unreachable authorization server has no Warning header";
    RsBearerErrorOnInvalidRpt => "rs-bearer-error-on-invalid-rpt", Rs, "G-RS-05", ["F-RS-10"],
        "a failed RPT gets 401 Bearer realm and error=\"invalid_token\": no permission request, no ticket";
    RsReusesTicket => "rs-reuses-ticket", Rs, "F-RS-10", ["G-RS-05"],
        "a failed RPT gets the ticket of the last tokenless request for the same resource and scope, without a permission request";
    RsServesInactive => "rs-serves-inactive", Rs, "G-RS-06", [],
        "serves whenever introspection answered 200 and listed the permission, ignoring active: false";
    RsScopeUnchecked => "rs-scope-unchecked", Rs, "G-RS-06", ["F-RS-10", "G-RS-05"],
        "serves when the RPT has any permission for the resource, whatever its scopes";
    RsPermissionExpWins => "rs-permission-exp-wins", Rs, "G-RS-06", [],
        "a permission's exp and nbf replace the token-level ones instead of the stricter value winning (F-AS-33)";
    RsIgnoresBearerHeader => "rs-ignores-bearer-header", Rs, "G-RS-07", [],
        "reads the RPT only from the access_token query parameter: a token in the Authorization header counts as no token";
    RsIntrospectionHint => "rs-introspection-hint", Rs, "F-RS-21", [],
        "introspects with token_type_hint=requesting_party_token instead of access_token";
    RsSeveralAnyOne => "rs-several-any-one", Rs, "G-RS-06", ["G-RS-05"],
        "a request that needs several resources is served when the RPT covers any one of them";
    RsMalformedDescription => "rs-malformed-description", Rs, "F-RS-03", [],
        "also registers a draft resource whose resource_scopes is a space-separated string (the AS refuses it; the RS carries on)";
    RsProbeWithoutPat => "rs-probe-without-pat", Rs, "F-RS-04", [],
        "before each permission request, first tries it without any token, then again with the PAT";
    RsProbeScopesString => "rs-probe-scopes-string", Rs, "F-RS-12", [],
        "before each permission request, first sends resource_scopes as a string, then again as an array";
    RsProbeUnregisteredScope => "rs-probe-unregistered-scope", Rs, "F-RS-13", [],
        "before each permission request, first asks for the route's scope plus an unregistered `admin`, then for the route's scope alone";
    RsPermissionMixesOwners => "rs-permission-mixes-owners", Rs, "F-RS-14", [],
        "protects photo:sunset for a second resource owner (its own PAT), and before each permission request first asks, with the route's owner's PAT, for the route's resource and one of the other owner's in one request (the AS refuses it; the RS carries on)";

    // --- authorization server quirks ---
    NoTicketRotation => "no-ticket-rotation", As, "G-AS-32", ["T-04", "T-03", "G-AS-30"],
        "need_info returns the same ticket the client sent instead of a new one";
    RotatedTicketAccepted => "rotated-ticket-accepted", As, "T-03", ["G-AS-30", "G-AS-51", "G-AS-52"],
        "a ticket rotated away by need_info or request_submitted stays usable";
    TicketReusable => "ticket-reusable", As, "G-AS-51", ["T-01", "G-AS-52", "T-05", "G-AS-30"],
        "a ticket stays usable after it was redeemed for an RPT";
    NeedInfoAs400 => "need-info-as-400", As, "G-AS-32", [],
        "need_info is sent with HTTP 400 instead of 403";
    RequestSubmittedWithoutTicket => "request-submitted-without-ticket", As, "G-AS-34", ["T-04", "G-AS-33"],
        "request_submitted is sent without a new ticket";
    InvalidGrantAs403 => "invalid-grant-as-403", As, "G-AS-30", ["T-01", "T-02", "T-03", "T-05", "T-06", "G-AS-51", "G-AS-52", "PKCE-04"],
        "invalid_grant for an unknown, used or expired ticket is sent with HTTP 403 instead of 400";
    ClientScopesWithoutRegistration => "client-scopes-without-registration", As, "G-AS-13", ["G-AS-12", "G-AS-20"],
        "scopes the client requested are granted even if it never pre-registered them (A ignored)";
    ScopesBeyondPolicy => "scopes-beyond-policy", As, "G-AS-12", ["G-AS-33", "R6749-07"],
        "scopes the owner's policy denies are granted anyway (F ignored)";
    IntrospectionWithoutPermissions => "introspection-without-permissions", As, "F-AS-32", ["G-AS-12", "G-AS-13", "G-AS-20", "G-AS-28", "G-AS-61"],
        "an active introspection response has no permissions member";
    IntrospectionWithScope => "introspection-with-scope", As, "F-AS-32", [],
        "an active introspection response carries a scope member";
    ExpiredRptActive => "expired-rpt-active", As, "R7662-02", ["G-RS-06", "F-AS-33"],
        "an expired RPT is introspected as active";
    CreateWithoutLocation => "create-without-location", As, "F-AS-10", [],
        "resource creation answers 201 without a Location header";
    UnknownResource200 => "unknown-resource-200", As, "F-AS-12", [],
        "reading an unknown resource answers 200 instead of 404";
    PermissionUnregisteredScope => "permission-unregistered-scope", As, "F-AS-23", ["F-AS-32"],
        "the permission endpoint accepts a scope the resource was not registered with";
    PermissionArrayRejected => "permission-array-rejected", As, "F-AS-21", [],
        "the permission endpoint rejects the array form of the request body";
    ProtectionWithoutPat => "protection-without-pat", As, "F-AS-02", ["F-AS-03", "R7662-01"],
        "the protection API serves requests that carry no PAT";
    ClaimsRedirectUnregistered => "claims-redirect-unregistered", As, "G-AS-42", ["G-AS-41", "G-AS-44", "G-AS-40", "R9700-01", "R9700-02"],
        "the claims interaction endpoint redirects to any absolute URI, registered or not";
    StateNotEchoed => "state-not-echoed", As, "G-AS-46", [],
        "the redirect back from claims gathering drops the client's state";
    RedirectReusesTicket => "redirect-reuses-ticket", As, "T-04", ["G-AS-46"],
        "the redirect back from claims gathering carries the incoming ticket instead of a new one";
    PkceNotEnforced => "pkce-not-enforced", As, "PKCE-04", ["PKCE-02", "R7636-04", "R7636-06", "R7636-07"],
        "a ticket bound to a PKCE challenge is redeemed without checking code_verifier";
    PkceDowngradeAccepted => "pkce-downgrade-accepted", As, "PKCE-06", [],
        "a code_verifier sent with a ticket that has no bound challenge is accepted";
    IssMissing => "iss-missing", As, "ISS-02", ["R9207-01", "R9207-02"],
        "the redirect back from claims gathering carries no iss";
    IssWrong => "iss-wrong", As, "ISS-02", ["R9207-02"],
        "the redirect back from claims gathering carries an iss that is not the issuer";
    NoCacheControl => "no-cache-control", As, "G-AS-21", [],
        "token responses carry no Cache-Control: no-store";
    ClaimTokenWrongAudience => "claim-token-wrong-audience", As, "G-AS-71", [],
        "a pushed ID token is accepted whatever its audience";
    ClaimTokenUntrustedIssuer => "claim-token-untrusted-issuer", As, "G-AS-71", [],
        "a pushed ID token from an issuer the AS does not trust is accepted, its claims read unverified";
    ClaimTokenBadSignature => "claim-token-bad-signature", As, "G-AS-71", [],
        "a pushed ID token naming a trusted issuer is accepted though its signature does not verify";
    ClaimTokenExpired => "claim-token-expired", As, "G-AS-71", [],
        "a pushed ID token past its exp is accepted";
    PctCrossClient => "pct-cross-client", As, "G-AS-70", [],
        "a PCT issued to one client is honoured when another client presents it";

    // --- discovery (core/discovery.rs) ---
    DiscoveryIssuerMismatch => "discovery-issuer-mismatch", As, "R8414-01", ["G-AS-03", "R9207-02"],
        "the discovery document's issuer carries a trailing slash, so it is not the issuer its URL was built from (nor the iss the AS sends)";
    DiscoveryNotJson => "discovery-not-json", As, "R8414-02", ["G-AS-01"],
        "the discovery document (JSON text) is served as application/octet-stream instead of application/json";
    NoResponseTypes => "no-response-types", As, "R8414-04", ["G-AS-07", "G-AS-02"],
        "response_types_supported is missing from the discovery document";
    IntrospectionUnadvertised => "introspection-unadvertised", As, "F-AS-04", ["F-AS-30"],
        "introspection_endpoint is missing from the UMA discovery document although introspection is served (the RFC 8414 document lists it)";
    IssNotAdvertised => "iss-not-advertised", As, "R9207-03", ["ISS-02"],
        "authorization_response_iss_parameter_supported is missing although iss is sent";
    PkceNotAdvertised => "pkce-not-advertised", As, "R8414-05", ["R9700-08", "PKCE-07", "R7636-02"],
        "code_challenge_methods_supported is missing from the discovery document although PKCE is served";
    S256NotAdvertised => "s256-not-advertised", As, "R7636-02", ["PKCE-07", "R9700-08"],
        "code_challenge_methods_supported lists plain but not S256, so the metadata says S256 is not implemented";
    UmaProfileNotUri => "uma-profile-not-uri", As, "G-AS-05", [],
        "uma_profiles_supported names the ID token claim format by a short name (id_token) instead of a URI";
    ClaimsEndpointRelative => "claims-endpoint-relative", As, "G-AS-04", [],
        "claims_interaction_endpoint is published as a relative path instead of an absolute URI";
    // --- TLS (serving.rs, http; shown only when served over TLS: `--tls`) ---
    IssuerHttp => "issuer-http", As, "R8414-03", ["R8414-01", "G-AS-03", "R9207-02"],
        "served over TLS, the discovery document's issuer is the http form of the issuer (as an AS behind a TLS-terminating proxy that does not know it)";
    ProtectionEndpointsHttp => "protection-endpoints-http", As, "F-AS-01", [],
        "served over TLS, the discovery document names http URLs for the protection API, which is answered in plain HTTP on the same port";
    TokenEndpointPlaintext => "token-endpoint-plaintext", As, "G-ALL-03", [],
        "served over TLS, the AS also answers token requests sent in plain HTTP to its port";
    HttpRedirectUriAccepted => "http-redirect-uri-accepted", As, "R9700-12", [],
        "dynamic registration accepts an http redirect URI whose host is not a loopback address";
    // --- dynamic client registration (core/clients.rs) ---
    DcrDropsClaimsRedirectUris => "dcr-drops-claims-redirect-uris", As, "G-AS-06", [],
        "dynamic registration echoes claims_redirect_uris but does not keep them, so claims gathering refuses them";
    DcrPartialEcho => "dcr-partial-echo", As, "R7591-01", [],
        "the registration response leaves out client_name, which the client registered";
    DcrNoSecretExpiry => "dcr-no-secret-expiry", As, "R7591-02", ["R7591-01"],
        "a registration response with a client_secret has no client_secret_expires_at";
    DcrWrongErrorCode => "dcr-wrong-error-code", As, "R7591-03", [],
        "invalid client metadata is refused with invalid_request instead of invalid_client_metadata";
    DcrRejectsUnknownMetadata => "dcr-rejects-unknown-metadata", As, "R7591-04", ["G-ALL-02"],
        "dynamic registration refuses metadata it does not understand";
    // --- protection API (core/protection.rs, http) ---
    ResourceWithoutId => "resource-without-id", As, "F-AS-11", [],
        "a resource update answers 200 without _id (the id is in the path)";
    DeletedResourceStillProtected => "deleted-resource-still-protected", As, "F-AS-13", [],
        "DELETE only marks a resource deleted and the permission endpoint still issues tickets for it";
    ListAllOwners => "list-all-owners", As, "F-AS-14", [],
        "the resource list holds every registered resource, not only the PAT owner's";
    PermissionCrossOwner => "permission-cross-owner", As, "F-AS-20", [],
        "a permission request may name another owner's resource";
    TicketPerPermission => "ticket-per-permission", As, "F-AS-22", [],
        "a permission request for several resources gets one ticket per resource, as an array";
    ProtectionErrorPlainText => "protection-error-plain-text", As, "F-AS-40", ["F-AS-23"],
        "errors of authenticated permission requests are a line of plain text instead of a JSON object with error";
    NoBearerChallenge => "no-bearer-challenge", As, "R6750-01", ["F-AS-03"],
        "a protection API request without a PAT gets 401 without a WWW-Authenticate Bearer challenge";
    InvalidPatNoErrorCode => "invalid-pat-no-error-code", As, "R6750-02", [],
        "an invalid PAT gets a Bearer challenge without error=\"invalid_token\"";
    WrongScopeAs401 => "wrong-scope-as-401", As, "R6750-03", [],
        "a token without uma_protection gets 401 invalid_token instead of 403 insufficient_scope";
    BareChallengeWithError => "bare-challenge-with-error", As, "R6750-04", [],
        "a request with no credentials at all gets error=\"invalid_token\" in the Bearer challenge and the body";
    SequentialTickets => "sequential-tickets", As, "G-AS-53", ["T-07"],
        "permission tickets are a counter with a fixed prefix";
    IntrospectionBogusPatAccepted => "introspection-bogus-pat-accepted", As, "R7662-04", [],
        "introspection serves a caller whose PAT was revoked or has expired instead of refusing it with 401";
    IntrospectionAnyOwner => "introspection-any-owner", As, "R9700-10", [],
        "introspection shows an RPT's permissions to a resource server that owns none of its resources";
    InactiveWithReason => "inactive-with-reason", As, "R7662-03", [],
        "an inactive introspection answer says why the token is inactive (a reason member)";
    // --- token endpoint (core/grant.rs, http) ---
    ParamNamesCaseInsensitive => "param-names-case-insensitive", As, "G-ALL-01", [],
        "token request parameter names are matched without regard to case";
    PctWithClaimTokenRefused => "pct-with-claim-token-refused", As, "G-AS-10", [],
        "an uma-ticket request carrying both a pct and a pushed claim token is refused with invalid_request";
    ClientAuthSkipped => "client-auth-skipped", As, "G-AS-11", ["R9700-11", "G-AS-35"],
        "an uma-ticket request naming a confidential client by client_id alone is served without its secret";
    RptResponseWithScope => "rpt-response-with-scope", As, "G-AS-25", [],
        "the RPT response carries a scope member";
    BasicWithClientIdRefused => "basic-with-client-id-refused", As, "R6749-01", [],
        "HTTP Basic is refused when the body also names the client_id (counted as a second method)";
    TokenGetAccepted => "token-get-accepted", As, "R6749-02", ["G-ALL-03"],
        "the token endpoint issues tokens on GET with query parameters";
    EmptyParamSignificant => "empty-param-significant", As, "R6749-03", ["G-ALL-03"],
        "a token request parameter with an empty value is not treated as absent";
    UnknownParamRejected => "unknown-param-rejected", As, "R6749-04", ["G-ALL-03"],
        "a token request with a parameter the AS does not know is refused";
    RepeatedParamAccepted => "repeated-param-accepted", As, "R6749-05", ["G-ALL-03"],
        "a token request that repeats a parameter with the same value is served";
    TokenResponseIncomplete => "token-response-incomplete", As, "R6749-06", ["G-AS-20"],
        "the RPT response has no token_type";
    InvalidClientWithoutChallenge => "invalid-client-without-challenge", As, "R6749-08", [],
        "invalid_client at the token endpoint is 400 without a WWW-Authenticate challenge, even after a Basic attempt";
    UnknownGrantAsInvalidRequest => "unknown-grant-as-invalid-request", As, "R6749-09", ["G-AS-35"],
        "an unsupported grant type gets invalid_request instead of unsupported_grant_type";
    TwoAuthMethodsAccepted => "two-auth-methods-accepted", As, "R6749-10", ["G-AS-35"],
        "a token request with Basic credentials and client_secret in the body is served";
    // --- tickets and assessment (core/grant.rs, core/assessment.rs) ---
    InvalidScopeIgnored => "invalid-scope-ignored", As, "G-AS-31", ["R6749-07"],
        "a requested scope matching none of the ticket's scopes is dropped instead of refused with invalid_scope";
    DefaultPermit => "default-permit", As, "G-AS-73", [],
        "a resource without any policy is granted to every requesting party";
    ExpiredTicketAccepted => "expired-ticket-accepted", As, "T-06", ["G-AS-30", "G-AS-52"],
        "redemption does not check a ticket's expiry, so an expired ticket stays redeemable until the periodic sweep removes it";
    TicketCrossClient => "ticket-cross-client", As, "T-08", [],
        "a ticket handed to one client in need_info or request_submitted is redeemable by another client";
    TicketRace => "ticket-race", As, "T-05", [],
        "redemption looks a ticket up, pauses, and consumes it without a lock, so concurrent requests all succeed";
    // G-AS-33: as/approval/deny polls right after the owner denies, which a loaded machine can
    // delay past the interval (seen once when the selftest ran beside the integration tests).
    SubmittedTicketShortLived => "submitted-ticket-short-lived", As, "G-AS-55", ["G-AS-34", "T-04", "G-AS-33"],
        "the ticket sent with request_submitted lives only the poll interval, so it has expired when the client polls";
    // --- upgrade, refresh, revocation (core/grant.rs) ---
    UpgradeFlagMissing => "upgrade-flag-missing", As, "G-AS-24", [],
        "an upgraded RPT response carries no upgraded member";
    UpgradeKeepsOldRpt => "upgrade-keeps-old-rpt", As, "G-AS-29", [],
        "the RPT the client sent stays active after an upgrade issued a new one";
    RefreshWidensScope => "refresh-widens-scope", As, "R6749-11", [],
        "a refresh that names scopes beyond the original grant gets them if the resource is registered with them";
    RevocationIgnoresPct => "revocation-ignores-pct", As, "G-AS-62", [],
        "revoking a PCT answers 200 but the PCT stays usable";
    RevocationNoop => "revocation-noop", As, "R7009-01", ["G-AS-62"],
        "revoking an RPT answers 200 but the RPT stays active";
    RevokeUnknown400 => "revoke-unknown-400", As, "R7009-02", [],
        "revoking an unknown token is refused with 400 invalid_request";
    RevokeAnyClientsToken => "revoke-any-clients-token", As, "R7009-03", [],
        "a client can revoke a token issued to another client";
    RevocationWithoutClientAuth => "revocation-without-client-auth", As, "R7009-04", [],
        "the revocation endpoint serves requests with bad client credentials, identifying the client by its client_id";
    // --- claims interaction and PKCE (core/interaction.rs) ---
    ClaimsRedirectFragmentAccepted => "claims-redirect-fragment-accepted", As, "G-AS-43", ["G-AS-44"],
        "a claims_redirect_uri with a fragment is matched without it and redirected to as sent, the parameters appended after the fragment";
    CancelWithoutError => "cancel-without-error", As, "G-AS-45", [],
        "a declined claims interaction redirects back with the state but without an error code";
    ClaimsTicketNotSpent => "claims-ticket-not-spent", As, "T-02", ["G-AS-30", "G-AS-51", "G-AS-52"],
        "a ticket presented at the claims interaction endpoint stays usable at the token endpoint";
    RedirectLeaksClaims => "redirect-leaks-claims", As, "G-AS-47", [],
        "the redirect back from claims gathering carries the gathered claims as query parameters";
    CsrfNotChecked => "csrf-not-checked", As, "G-AS-49", [],
        "the claims form is accepted on the session cookie alone: its anti-CSRF token is not checked";
    PkceMissingWrongError => "pkce-missing-wrong-error", As, "R7636-05", ["PKCE-05"],
        "a claims interaction request without code_challenge, where PKCE is required, gets access_denied instead of invalid_request";
    PlainMethodAccepted => "plain-method-accepted", As, "R7636-09", ["R7636-04"],
        "code_challenge_method=plain is accepted (only S256 is advertised) and the ticket returned on the redirect back carries the challenge in clear";
    VerifierFormatUnchecked => "verifier-format-unchecked", As, "PKCE-07", [],
        "a code_verifier outside 43-128 unreserved characters is accepted at the token endpoint when it matches the bound challenge";
    PctReadableJwt => "pct-readable-jwt", As, "G-AS-23", [],
        "PCTs are signed but unencrypted JWTs that carry the requesting party's claims in clear";

    // --- client quirks (role Client) go here ---
    ClientNoAuthentication => "client-no-authentication", Client, "R6749-12", [],
        "token requests carry only client_id: the client does not authenticate although it holds a secret";
    ClientFormMislabelled => "client-form-mislabelled", Client, "R6749-13", [],
        "token requests carry their form-encoded body labelled Content-Type: text/plain";
    ClientFirstRequestWithToken => "client-first-request-with-token", Client, "G-C-01", [],
        "the first request to the resource server carries Authorization: Bearer anonymous";
    ClientManglesTicket => "client-mangles-ticket", Client, "G-C-02", ["G-C-11"],
        "the ticket is taken from the UMA challenge with its surrounding double quotes";
    ClientContinuesWithoutAs => "client-continues-without-as", Client, "G-C-03", [],
        "after a Warning 199 or an answer without a UMA challenge, a token request without ticket goes to the last AS used for this user";
    ClientSkipsDiscovery => "client-skips-discovery", Client, "G-C-04", ["ISS-03", "ISS-05", "R9207-04", "R9207-06", "R9700-04", "R9700-06"],
        "no discovery fetch: token requests go to {as_uri}/token";
    ClientWrongGrantType => "client-wrong-grant-type", Client, "G-C-10", [],
        "token requests say grant_type=uma-ticket";
    ClientStaleTicket => "client-stale-ticket", Client, "G-C-11", ["G-C-30"],
        "after need_info or the redirect back, the ticket from the resource server's challenge is sent again";
    ClientClaimTokenWithoutFormat => "client-claim-token-without-format", Client, "G-C-12", [],
        "a pushed claim_token goes without claim_token_format";
    ClientFormatWithoutToken => "client-format-without-token", Client, "G-C-13", [],
        "claim_token_format is sent on every token request, even without claim_token";
    ClientPctShared => "client-pct-shared", Client, "G-C-14", [],
        "one PCT (the last one received) is sent for every requesting party";
    ClientUnregisteredScope => "client-unregistered-scope", Client, "G-C-16", [],
        "token requests carry scope=view,admin";
    ClientAssumesUpgraded => "client-assumes-upgraded", Client, "G-C-20", [],
        "every new RPT replaces the old one and is assumed to cover its resources, whatever upgraded says";
    ClientKeepsOldRpt => "client-keeps-old-rpt", Client, "G-C-21", [],
        "after upgraded:true with a new RPT string, the old RPT is still presented for the old resources";
    ClientAcceptsSameTicket => "client-accepts-same-ticket", Client, "G-C-22", [],
        "a ticket equal to the one sent is used again instead of stopping";
    ClientPollsFast => "client-polls-fast", Client, "G-C-23", [],
        "request_submitted is polled every 100 ms whatever the interval";
    ClientRejectsUnknownMembers => "client-rejects-unknown-members", Client, "G-C-24", [],
        "a token response with a member the client does not know is treated as an error";
    ClientDropsEndpointQuery => "client-drops-endpoint-query", Client, "G-C-30", [],
        "the redirect to the claims interaction endpoint replaces the endpoint's own query";
    ClientGuessesClaimsEndpoint => "client-guesses-claims-endpoint", Client, "G-C-31", ["G-C-05"],
        "without a claims_interaction_endpoint in discovery, the browser is sent to {as_uri}/claims right after the first ticket";
    ClientUnregisteredClaimsRedirect => "client-unregistered-claims-redirect", Client, "G-C-32", [],
        "claims_redirect_uri is {base}/callback-unregistered, which the client serves too";
    ClientCsrfUnbound => "client-csrf-unbound", Client, "G-C-33", ["R9700-05", "ISS-01"],
        "pending claims flows are global, not bound to the browser session: a callback from another browser is accepted";
    ClientNoState => "client-no-state", Client, "G-C-34", ["G-C-37", "G-C-36"],
        "no state on the claims redirect; a callback continues the browser's pending flow it names by ticket, else its latest";
    ClientPredictableState => "client-predictable-state", Client, "G-C-35", [],
        "state is a per-process counter (1, 2, ...)";
    ClientStateUnchecked => "client-state-unchecked", Client, "G-C-36", ["G-C-37", "G-C-33", "R9700-03"],
        "any state, wrong or missing, matches the browser's latest pending flow";
    ClientMissingStateAccepted => "client-missing-state-accepted", Client, "G-C-37", [],
        "a callback without state continues the browser's latest pending flow (a present state is still checked)";
    ClientStateCarriesData => "client-state-carries-data", Client, "G-C-38", [],
        "state is base64url(JSON {user, resource}) followed by a dot and a random part";
    ClientRejectsUnknownRedirectParams => "client-rejects-unknown-redirect-params", Client, "G-C-39", [],
        "a callback with a parameter besides ticket, state, iss, error, error_description and error_uri is an error";
    ClientShowsRpt => "client-shows-rpt", Client, "G-C-40", [],
        "the granted answer to the browser carries the RPT";
    ClientPctToRs => "client-pct-to-rs", Client, "G-C-41", [],
        "the PCT is sent to the resource server in an X-UMA-PCT header";
    ClientTokenTwice => "client-token-twice", Client, "G-C-42", [],
        "the RPT goes both in the Authorization header and as the access_token query parameter";
    ClientShortVerifier => "client-short-verifier", Client, "R7636-01", [],
        "the PKCE code_verifier is 32 characters long";
    ClientNoPkce => "client-no-pkce", Client, "R7636-03", ["PKCE-01", "PKCE-03"],
        "no code_challenge on the claims redirect and no code_verifier at the token endpoint";
    ClientPlainPkce => "client-plain-pkce", Client, "PKCE-01", [],
        "code_challenge_method=plain (the challenge is the verifier)";
    ClientNoCodeVerifier => "client-no-code-verifier", Client, "PKCE-03", [],
        "a code_challenge is sent but the code_verifier is not";
    ClientFixedVerifier => "client-fixed-verifier", Client, "R9700-09", [],
        "one code_verifier for every flow of the process";
    ClientIssUnchecked => "client-iss-unchecked", Client, "ISS-03", ["R9207-04", "R9700-04", "R9700-06"],
        "iss on the redirect back is not compared with the issuer the browser was sent to";
    ClientMissingIssAccepted => "client-missing-iss-accepted", Client, "R9207-06", [],
        "a redirect back without iss is accepted although the AS advertises iss support";
    ClientIssuerMismatchAccepted => "client-issuer-mismatch-accepted", Client, "ISS-05", [],
        "a discovery document whose issuer differs from as_uri is accepted";
    ClientStateReplayable => "client-state-replayable", Client, "R9700-03", [],
        "a used state stays valid: a replayed callback makes another token request";
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
