//! The discovery document (UMA Grant §2, FedAuthz §2, RFC 8414, RFC 9207 §3).

use serde_json::{Value, json};

use crate::core::Ctx;
use crate::core::clients::{UMA_PROTECTION, UMA_TICKET_GRANT};
use crate::quirks::Quirk;
use crate::variants::Variant;

/// URI naming the harness profile that binds the ticket returned by claims gathering to a PKCE
/// challenge (digest §10.1).
pub const PROFILE_ICG_PKCE: &str = "https://uma-conformance.dev/profiles/icg-pkce/1.0";
/// URI naming the harness profile that adds `iss` to the claims redirect back (digest §10.2).
pub const PROFILE_ICG_ISS: &str = "https://uma-conformance.dev/profiles/icg-iss/1.0";
/// The ID token claim-token format, advertised as a profile as GRANT §3.3.1 suggests.
pub const PROFILE_ID_TOKEN_CLAIMS: &str = crate::core::policy::ID_TOKEN_FORMAT;

/// Endpoint paths, relative to the issuer.
pub mod paths {
    /// UMA discovery.
    pub const UMA_CONFIG: &str = "/.well-known/uma2-configuration";
    /// RFC 8414 metadata.
    pub const OAUTH_CONFIG: &str = "/.well-known/oauth-authorization-server";
    /// Authorization endpoint (PAT by authorization code).
    pub const AUTHORIZE: &str = "/authorize";
    /// Token endpoint.
    pub const TOKEN: &str = "/token";
    /// RFC 7591 registration.
    pub const REGISTER: &str = "/register";
    /// RFC 7662 introspection.
    pub const INTROSPECT: &str = "/introspect";
    /// RFC 7009 revocation.
    pub const REVOKE: &str = "/revoke";
    /// Signing keys.
    pub const JWKS: &str = "/jwks";
    /// FedAuthz resource registration.
    pub const RESOURCE_SET: &str = "/resource_set";
    /// FedAuthz permission endpoint.
    pub const PERMISSION: &str = "/permission";
    /// Claims interaction endpoint.
    pub const CLAIMS: &str = "/claims";
    /// Policy API (reference-server specific).
    pub const POLICY: &str = "/policy";
    /// Owner approval API (reference-server specific).
    pub const APPROVALS: &str = "/approvals";
}

/// Which well-known location a metadata request came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `{issuer}/.well-known/uma2-configuration` (UMA Grant §2).
    Uma,
    /// `/.well-known/oauth-authorization-server` (RFC 8414 §3).
    Oauth,
}

/// The metadata document; both well-known locations serve the same one (unless a quirk says
/// otherwise).
pub fn metadata(ctx: &Ctx, form: Form) -> Value {
    let mut profiles = Vec::new();
    if !ctx.variant(Variant::NoClaimTokenPushing) {
        profiles.push(PROFILE_ID_TOKEN_CLAIMS);
    }
    if ctx.config.icg_iss {
        profiles.push(PROFILE_ICG_ISS);
    }
    if !ctx.variant(Variant::NoIcgPkce) {
        profiles.push(PROFILE_ICG_PKCE);
    }
    let mut doc = json!({
        "issuer": ctx.issuer,
        "authorization_endpoint": ctx.url(paths::AUTHORIZE),
        "token_endpoint": ctx.url(paths::TOKEN),
        "jwks_uri": ctx.url(paths::JWKS),
        "registration_endpoint": ctx.url(paths::REGISTER),
        "scopes_supported": [UMA_PROTECTION],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": [UMA_TICKET_GRANT, "authorization_code", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint": ctx.url(paths::REVOKE),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint": ctx.url(paths::INTROSPECT),
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": ctx.config.icg_iss,
        "claims_interaction_endpoint": ctx.url(paths::CLAIMS),
        "uma_profiles_supported": profiles,
        "permission_endpoint": ctx.url(paths::PERMISSION),
        "resource_registration_endpoint": ctx.url(paths::RESOURCE_SET),
    });
    apply_variants(ctx, &mut doc);
    apply_quirks(ctx, form, &mut doc);
    doc
}

/// Whether the endpoint at `path` (relative to the issuer) is not served because a variant
/// withdrew it (the AS stops advertising it too, see [`metadata`]).
pub fn withdrawn(ctx: &Ctx, path: &str) -> bool {
    withdrawn_by(&ctx.config.variants, path)
}

fn withdrawn_by(variants: &crate::variants::Variants, path: &str) -> bool {
    let v = |x| variants.contains(x);
    match path {
        paths::REGISTER => v(Variant::NoDcr),
        paths::REVOKE => v(Variant::NoRevocation),
        paths::INTROSPECT => v(Variant::NoIntrospection),
        paths::CLAIMS => v(Variant::NoInteractiveClaims),
        paths::AUTHORIZE => v(Variant::NoPatCodeFlow),
        // With an issuer path, RFC 8414 §3.1 puts the document at the host's root instead.
        paths::OAUTH_CONFIG => v(Variant::NoRfc8414Document) || v(Variant::IssuerWithPath),
        _ => path.strip_suffix('/') == Some(paths::RESOURCE_SET) && v(Variant::ResourceSetNoTrailingSlash),
    }
}

/// Whether [`withdrawn`] can be true for any path, and the RFC 8414 document is withdrawn
/// from outside the issuer's path (the variants that do either).
pub fn withdraws_any(ctx: &Ctx) -> bool {
    WITHDRAWING.iter().any(|v| ctx.variant(*v))
}

/// The variants that withdraw an endpoint (see [`withdrawn`]).
const WITHDRAWING: [Variant; 8] = [
    Variant::NoDcr,
    Variant::NoRevocation,
    Variant::NoIntrospection,
    Variant::NoInteractiveClaims,
    Variant::NoPatCodeFlow,
    Variant::NoRfc8414Document,
    Variant::IssuerWithPath,
    Variant::ResourceSetNoTrailingSlash,
];

/// The path under which the AS serves its endpoints: the issuer's own path under the variant
/// `issuer-with-path` (e.g. `/uma`), else none (an issuer path, if any, is a reverse proxy's).
pub fn mount_path(ctx: &Ctx) -> String {
    if !ctx.variant(Variant::IssuerWithPath) {
        return String::new();
    }
    url::Url::parse(&ctx.issuer)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

/// The members the variants take out of (or change in) the document: a capability that is not
/// offered is not advertised, and OPTIONAL members the variants leave out.
fn apply_variants(ctx: &Ctx, doc: &mut Value) {
    let Some(m) = doc.as_object_mut() else {
        return;
    };
    let v = |x| ctx.variant(x);
    if v(Variant::NoDcr) {
        m.remove("registration_endpoint");
    }
    if v(Variant::NoRevocation) {
        m.remove("revocation_endpoint");
        m.remove("revocation_endpoint_auth_methods_supported");
    }
    if v(Variant::NoIntrospection) {
        m.remove("introspection_endpoint");
    }
    if v(Variant::NoPatCodeFlow) {
        // RFC 8414 §2: authorization_endpoint is REQUIRED only if a grant type uses it;
        // response_types_supported stays REQUIRED, so it is present and empty.
        m.remove("authorization_endpoint");
        m.remove("response_modes_supported");
        m.insert("response_types_supported".into(), json!([]));
        m.insert(
            "grant_types_supported".into(),
            json!([UMA_TICKET_GRANT, "client_credentials", "refresh_token"]),
        );
    }
    if v(Variant::NoInteractiveClaims) || v(Variant::ClaimsEndpointUnadvertised) {
        m.remove("claims_interaction_endpoint");
    }
    if m.get("uma_profiles_supported")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        // OPTIONAL (UMA Grant §2): with no profile to name, the member is left out.
        m.remove("uma_profiles_supported");
    }
    if v(Variant::PkcePlainAccepted) {
        m.insert("code_challenge_methods_supported".into(), json!(["S256", "plain"]));
    }
    if v(Variant::NoPatCodeFlow) && v(Variant::NoIcgPkce) {
        // PKCE is used nowhere any more.
        m.remove("code_challenge_methods_supported");
    }
    if v(Variant::BasicAuthOnly) {
        for key in [
            "token_endpoint_auth_methods_supported",
            "revocation_endpoint_auth_methods_supported",
        ] {
            if m.contains_key(key) {
                m.insert(key.into(), json!(["client_secret_basic", "none"]));
            }
        }
    }
    if v(Variant::MinimalDiscovery) {
        // RFC 8414 §2: absent, both mean client_secret_basic, which every confidential client
        // of this AS may use.
        m.remove("token_endpoint_auth_methods_supported");
        m.remove("revocation_endpoint_auth_methods_supported");
        // Nothing the AS hands out is signed: no key to publish.
        if ctx.config.rpt_format == crate::config::RptFormat::Opaque && !v(Variant::JwtTickets) {
            m.remove("jwks_uri");
        }
    }
    if v(Variant::ExtensionMembers) {
        m.insert(
            crate::core::grant::EXTENSION_MEMBER.into(),
            json!({ "note": "an extension member" }),
        );
    }
}

/// The deliberate mistakes of the discovery document (see [`Quirk`]); none when no quirk is on.
fn apply_quirks(ctx: &Ctx, form: Form, doc: &mut Value) {
    let Some(m) = doc.as_object_mut() else {
        return;
    };
    if ctx.quirk(Quirk::DiscoveryIssuerMismatch) {
        // The issuer written with a trailing slash: the endpoint URLs are unchanged, but the
        // value is not the identifier the discovery URL was built from (RFC 8414 §3.3).
        m.insert("issuer".into(), json!(format!("{}/", ctx.issuer)));
    }
    if ctx.quirk(Quirk::NoResponseTypes) {
        // As if the member were optional because UMA's own grant needs no authorization
        // endpoint; RFC 8414 §2 makes it REQUIRED all the same.
        m.remove("response_types_supported");
    }
    if ctx.quirk(Quirk::IntrospectionUnadvertised) && form == Form::Uma {
        // As if the UMA document were assembled apart from the OAuth one and forgot a member.
        m.remove("introspection_endpoint");
    }
    if ctx.quirk(Quirk::IssNotAdvertised) {
        m.remove("authorization_response_iss_parameter_supported");
    }
    if ctx.quirk(Quirk::PkceNotAdvertised) {
        m.remove("code_challenge_methods_supported");
    }
    if ctx.quirk(Quirk::S256NotAdvertised) {
        m.insert("code_challenge_methods_supported".into(), json!(["plain"]));
    }
    if ctx.quirk(Quirk::UmaProfileNotUri)
        && let Some(Value::Array(profiles)) = m.get_mut("uma_profiles_supported")
    {
        // The ID token claim token format listed by a short name instead of its URI.
        for p in profiles.iter_mut() {
            if p == PROFILE_ID_TOKEN_CLAIMS {
                *p = json!("id_token");
            }
        }
    }
    if ctx.quirk(Quirk::ClaimsEndpointRelative) {
        m.insert("claims_interaction_endpoint".into(), json!(paths::CLAIMS));
    }
    if ctx.quirk(Quirk::IssuerHttp) {
        m.insert("issuer".into(), json!(plain_http(&ctx.issuer)));
    }
    if ctx.quirk(Quirk::ProtectionEndpointsHttp) {
        for member in [
            "resource_registration_endpoint",
            "permission_endpoint",
            "introspection_endpoint",
        ] {
            if let Some(Value::String(u)) = m.get_mut(member) {
                *u = plain_http(u);
            }
        }
    }
}

/// The `http:` form of an `https:` URL (same host, port and path; the port written out, since
/// the server answers plain HTTP on its TLS port only).
pub fn plain_http(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return url.to_owned();
    };
    if u.scheme() != "https" {
        return url.to_owned();
    }
    let port = u.port_or_known_default();
    if u.set_scheme("http").is_err() || u.set_port(port).is_err() {
        return url.to_owned();
    }
    u.to_string().trim_end_matches('/').to_owned() + if url.ends_with('/') { "/" } else { "" }
}

#[cfg(test)]
mod withdrawal_tests {
    use super::*;
    use crate::variants::Variants;

    #[test]
    fn every_variant_that_withdraws_an_endpoint_is_listed() {
        let mut every_path: Vec<String> = [
            paths::UMA_CONFIG,
            paths::OAUTH_CONFIG,
            paths::JWKS,
            paths::REGISTER,
            paths::TOKEN,
            paths::REVOKE,
            paths::INTROSPECT,
            paths::RESOURCE_SET,
            paths::PERMISSION,
            paths::CLAIMS,
            paths::AUTHORIZE,
            paths::APPROVALS,
        ]
        .iter()
        .map(|p| (*p).to_owned())
        .collect();
        every_path.push(format!("{}/", paths::RESOURCE_SET));
        for v in Variant::ALL {
            let mut variants = Variants::none();
            variants.insert(*v);
            let withdraws = every_path.iter().any(|p| withdrawn_by(&variants, p));
            assert_eq!(withdraws, WITHDRAWING.contains(v), "{v:?}");
        }
    }
}
