//! Clients: static ones from configuration, RFC 7591 dynamic registration, and client
//! authentication at the token and revocation endpoints (RFC 6749 §2.3).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::core::model::{AuthMethod, ClientRecord};
use crate::core::{Ctx, ProtocolError};
use crate::crypto::{ct_eq, hash_secret, random_id, random_token};
use crate::quirks::Quirk;
use crate::types::{ClientId, ClientSecret};
use crate::variants::Variant;

/// The grant type URI of the UMA grant.
pub const UMA_TICKET_GRANT: &str = "urn:ietf:params:oauth:grant-type:uma-ticket";
/// The PAT scope (FedAuthz §1.2).
pub const UMA_PROTECTION: &str = "uma_protection";

/// Checks a redirect or claims redirection URI: absolute, no fragment, not a script scheme.
pub fn validate_redirect_uri(uri: &str) -> Result<(), &'static str> {
    let parsed = url::Url::parse(uri).map_err(|_| "is not an absolute URI")?;
    if parsed.fragment().is_some() || uri.contains('#') {
        return Err("must not contain a fragment");
    }
    if matches!(parsed.scheme(), "javascript" | "data" | "file" | "vbscript") {
        return Err("uses a forbidden scheme");
    }
    Ok(())
}

/// Whether an OAuth redirect URI would carry authorization responses unencrypted: `http` to a
/// host other than a loopback address (RFC 9700 §2.6 allows only native clients' loopback).
pub fn unencrypted_redirect(uri: &str) -> bool {
    let Ok(u) = url::Url::parse(uri) else {
        return false;
    };
    let loopback = match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    u.scheme() == "http" && !loopback
}

fn split_scope(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.split(' ').filter(|x| !x.is_empty()).map(str::to_owned).collect();
    v.sort();
    v.dedup();
    v
}

/// Puts the clients of the configuration file into the store (replacing earlier versions).
pub async fn register_static_clients(ctx: &Ctx) -> Result<(), ProtocolError> {
    let now = ctx.clock.now();
    for c in &ctx.config.clients {
        let rec = ClientRecord {
            client_id: c.client_id.clone(),
            secret_hash: c.client_secret.as_ref().map(|s| hash_secret(s.secret())),
            auth_method: if c.client_secret.is_some() {
                AuthMethod::ClientSecretBasic
            } else {
                AuthMethod::None
            },
            redirect_uris: c.redirect_uris.clone(),
            claims_redirect_uris: c.claims_redirect_uris.clone(),
            scopes: split_scope(&c.scope),
            grant_types: Vec::new(),
            owner: c.owner.clone(),
            client_name: c.client_name.clone(),
            is_static: true,
            issued_at: now,
        };
        ctx.store.put_client(&rec).await?;
    }
    Ok(())
}

/// Client credentials as they arrived in one request.
#[derive(Debug, Default)]
pub struct PresentedCredentials {
    /// The `Authorization` header value, if any.
    pub authorization: Option<String>,
    /// `client_id` from the body.
    pub body_client_id: Option<String>,
    /// `client_secret` from the body.
    pub body_client_secret: Option<ClientSecret>,
}

fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Decodes `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
pub fn parse_basic(header: &str) -> Option<(ClientId, ClientSecret)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((ClientId::new(form_decode(id)), ClientSecret::new(form_decode(secret))))
}

/// Authenticates the client of a token or revocation request.
///
/// One method per request (RFC 6749 §2.3); Basic failures answer 401 with a challenge.
/// Confidential clients may use Basic or the body; public clients send only `client_id`.
/// Under the variant `basic-auth-only` the body method is not offered (RFC 6749 §2.3.1: MAY);
/// under `invalid-client-400-without-header` a failure without an `Authorization` header is
/// 400 without a challenge (RFC 6749 §5.2: 400, or 401).
pub async fn authenticate(ctx: &Ctx, creds: &PresentedCredentials) -> Result<ClientRecord, ProtocolError> {
    authenticate_checked(ctx, creds).await.map_err(|mut e| {
        if e.error == "invalid_client"
            && creds.authorization.is_none()
            && ctx.variant(Variant::InvalidClient400WithoutHeader)
        {
            e.status = 400;
            e.www_authenticate = None;
        }
        e
    })
}

async fn authenticate_checked(ctx: &Ctx, creds: &PresentedCredentials) -> Result<ClientRecord, ProtocolError> {
    let basic = match creds.authorization.as_deref() {
        Some(h) if h.trim_start().to_ascii_lowercase().starts_with("basic") => {
            Some(parse_basic(h).ok_or_else(|| ProtocolError::invalid_client("malformed Basic credentials"))?)
        }
        Some(_) => None,
        None => None,
    };
    if basic.is_some() && creds.body_client_secret.is_some() {
        return Err(ProtocolError::invalid_request(
            "more than one client authentication method was used",
        ));
    }
    if basic.is_none() && creds.body_client_secret.is_some() && ctx.variant(Variant::BasicAuthOnly) {
        return Err(ProtocolError::invalid_client(
            "client_secret_post is not supported: use HTTP Basic",
        ));
    }
    let (client_id, secret) = match (&basic, &creds.body_client_secret) {
        (Some((id, secret)), _) => {
            if let Some(body_id) = &creds.body_client_id
                && body_id != id.as_str()
            {
                return Err(ProtocolError::invalid_request(
                    "client_id in the body differs from the authenticated client",
                ));
            }
            (id.as_str().to_owned(), Some(secret.clone()))
        }
        (None, Some(secret)) => {
            let id = creds
                .body_client_id
                .clone()
                .ok_or_else(|| ProtocolError::invalid_request("client_secret without client_id"))?;
            (id, Some(secret.clone()))
        }
        (None, None) => {
            let id = creds
                .body_client_id
                .clone()
                .ok_or_else(|| ProtocolError::invalid_client("client authentication is required"))?;
            (id, None)
        }
    };
    let client = ctx.store.client(&client_id).await?;
    let fail = || ProtocolError::invalid_client("client authentication failed");
    let Some(client) = client else {
        // Spend the same hashing work as for a known client.
        if let Some(s) = &secret {
            let _ = ct_eq(hash_secret(s.secret()).as_bytes(), hash_secret("x").as_bytes());
        }
        return Err(fail());
    };
    let verified = match (&client.secret_hash, &secret) {
        (Some(stored), Some(given)) => ct_eq(stored.as_bytes(), hash_secret(given.secret()).as_bytes()),
        (None, None) => true,
        _ => false,
    };
    // A dynamically registered client authenticates the way it registered
    // (`token_endpoint_auth_method`); static clients may use Basic or the body.
    let method_used = if basic.is_some() {
        AuthMethod::ClientSecretBasic
    } else if secret.is_some() {
        AuthMethod::ClientSecretPost
    } else {
        AuthMethod::None
    };
    if !verified || (!client.is_static && method_used != client.auth_method) {
        return Err(fail());
    }
    Ok(client)
}

/// Authenticates the client of a token request: [`authenticate`], bent by the token
/// endpoint's client-authentication quirks.
pub async fn authenticate_token_request(
    ctx: &Ctx,
    creds: &PresentedCredentials,
    grant_type: Option<&str>,
) -> Result<ClientRecord, ProtocolError> {
    let basic = creds
        .authorization
        .as_deref()
        .is_some_and(|h| h.trim_start().to_ascii_lowercase().starts_with("basic"));
    if ctx.quirk(Quirk::BasicWithClientIdRefused) && basic && creds.body_client_id.is_some() {
        return Err(ProtocolError::invalid_request(
            "more than one client authentication method was used",
        ));
    }
    if ctx.quirk(Quirk::ClientAuthSkipped)
        && grant_type == Some(UMA_TICKET_GRANT)
        && creds.authorization.is_none()
        && creds.body_client_secret.is_none()
        && let Some(id) = &creds.body_client_id
        && let Some(client) = ctx.store.client(id).await?
    {
        // Quirk: the client_id is taken on trust, as if every client were public.
        return Ok(client);
    }
    let result = if ctx.quirk(Quirk::TwoAuthMethodsAccepted) && basic && creds.body_client_secret.is_some() {
        // Quirk: Basic wins and the body secret is silently ignored.
        let basic_only = PresentedCredentials {
            authorization: creds.authorization.clone(),
            body_client_id: creds.body_client_id.clone(),
            body_client_secret: None,
        };
        authenticate(ctx, &basic_only).await
    } else {
        authenticate(ctx, creds).await
    };
    result.map_err(|mut e| {
        if e.error == "invalid_client" && ctx.quirk(Quirk::InvalidClientWithoutChallenge) {
            e.status = 400;
            e.www_authenticate = None;
        }
        e
    })
}

/// The `client_id` and one-time view of the secret returned by registration.
#[derive(Debug)]
pub struct Registered {
    /// The stored record.
    pub client: ClientRecord,
    /// The secret, shown once.
    pub secret: Option<ClientSecret>,
}

fn string_array(meta: &serde_json::Map<String, Value>, key: &str) -> Result<Vec<String>, ProtocolError> {
    match meta.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ProtocolError::invalid_client_metadata(format!("{key} must be an array of strings")))
            })
            .collect(),
        Some(_) => Err(ProtocolError::invalid_client_metadata(format!(
            "{key} must be an array of strings"
        ))),
    }
}

fn opt_string(meta: &serde_json::Map<String, Value>, key: &str) -> Result<Option<String>, ProtocolError> {
    match meta.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ProtocolError::invalid_client_metadata(format!(
            "{key} must be a string"
        ))),
    }
}

/// The client metadata members the AS knows: RFC 7591 §2 and UMA Grant §2.
const KNOWN_METADATA: &[&str] = &[
    "redirect_uris",
    "token_endpoint_auth_method",
    "grant_types",
    "response_types",
    "client_name",
    "client_uri",
    "logo_uri",
    "scope",
    "contacts",
    "tos_uri",
    "policy_uri",
    "jwks_uri",
    "jwks",
    "software_id",
    "software_version",
    "software_statement",
    "claims_redirect_uris",
];

/// RFC 7591 registration, with UMA's `claims_redirect_uris` (UMA Grant §2).
pub async fn register(ctx: &Ctx, body: &Value) -> Result<Registered, ProtocolError> {
    register_checked(ctx, body).await.map_err(|e| {
        if ctx.quirk(Quirk::DcrWrongErrorCode) && e.error == "invalid_client_metadata" {
            // One generic error code for every refused request.
            ProtocolError {
                error: "invalid_request".into(),
                ..e
            }
        } else {
            e
        }
    })
}

async fn register_checked(ctx: &Ctx, body: &Value) -> Result<Registered, ProtocolError> {
    let meta = body
        .as_object()
        .ok_or_else(|| ProtocolError::invalid_client_metadata("the body must be a JSON object"))?;
    if ctx.quirk(Quirk::DcrRejectsUnknownMetadata)
        && let Some(unknown) = meta.keys().find(|k| !KNOWN_METADATA.contains(&k.as_str()))
    {
        return Err(ProtocolError::invalid_client_metadata(format!(
            "unknown client metadata `{unknown}`"
        )));
    }
    // RFC 9700 §2.6: no authorization response over an unencrypted connection.
    let plain_ok = ctx.quirk(Quirk::HttpRedirectUriAccepted);
    let (redirect_uris, claims_redirect_uris) = if ctx.variant(Variant::DcrReplacesInvalidMetadata) {
        // RFC 7591 §2: the AS may replace a requested value with one it finds suitable: here
        // invalid URIs (and a value that is not an array) are left out instead of refused.
        let valid = |key: &str| -> Vec<String> {
            string_array(meta, key)
                .unwrap_or_default()
                .into_iter()
                .filter(|u| validate_redirect_uri(u).is_ok())
                .filter(|u| key != "redirect_uris" || plain_ok || !unencrypted_redirect(u))
                .collect()
        };
        (valid("redirect_uris"), valid("claims_redirect_uris"))
    } else {
        let redirect_uris = string_array(meta, "redirect_uris")?;
        let claims_redirect_uris = string_array(meta, "claims_redirect_uris")?;
        for uri in redirect_uris.iter().chain(&claims_redirect_uris) {
            validate_redirect_uri(uri).map_err(|why| ProtocolError::invalid_redirect_uri(format!("`{uri}` {why}")))?;
        }
        if let Some(uri) = redirect_uris.iter().find(|u| !plain_ok && unencrypted_redirect(u)) {
            return Err(ProtocolError::invalid_redirect_uri(format!(
                "`{uri}` uses http to a host that is not a loopback address (RFC 9700 §2.6)"
            )));
        }
        (redirect_uris, claims_redirect_uris)
    };
    let auth_method = match opt_string(meta, "token_endpoint_auth_method")?.as_deref() {
        None | Some("client_secret_basic") => AuthMethod::ClientSecretBasic,
        Some("client_secret_post") if !ctx.variant(Variant::BasicAuthOnly) => AuthMethod::ClientSecretPost,
        Some("none") => AuthMethod::None,
        Some(other) => {
            return Err(ProtocolError::invalid_client_metadata(format!(
                "token_endpoint_auth_method `{other}` is not supported"
            )));
        }
    };
    let grant_types = string_array(meta, "grant_types")?;
    for g in &grant_types {
        if !matches!(
            g.as_str(),
            UMA_TICKET_GRANT | "authorization_code" | "client_credentials" | "refresh_token"
        ) {
            return Err(ProtocolError::invalid_client_metadata(format!(
                "grant type `{g}` is not supported"
            )));
        }
    }
    let scopes = split_scope(&opt_string(meta, "scope")?.unwrap_or_default());
    let secret = (auth_method != AuthMethod::None).then(|| ClientSecret::new(random_token()));
    let client_id = random_id();
    // With `dcr_owners`, a resource server registering for PATs acts for an owner of its own.
    let owner = (ctx.config.dcr_owners && scopes.iter().any(|s| s == UMA_PROTECTION)).then(|| client_id.clone());
    let client = ClientRecord {
        client_id: client_id.clone(),
        secret_hash: secret.as_ref().map(|s| hash_secret(s.secret())),
        auth_method,
        redirect_uris,
        claims_redirect_uris,
        scopes,
        grant_types,
        owner,
        client_name: opt_string(meta, "client_name")?,
        is_static: false,
        issued_at: ctx.clock.now(),
    };
    if ctx.quirk(Quirk::DcrDropsClaimsRedirectUris) {
        // The stored record loses claims_redirect_uris; the response is built from the
        // validated request, so it still shows them.
        let stored = ClientRecord {
            claims_redirect_uris: Vec::new(),
            ..client.clone()
        };
        ctx.store.put_client(&stored).await?;
    } else {
        ctx.store.put_client(&client).await?;
    }
    Ok(Registered { client, secret })
}

/// The RFC 7591 §3.2.1 response body.
pub fn registration_response(ctx: &Ctx, r: &Registered) -> Value {
    let c = &r.client;
    let mut v = json!({
        "client_id": c.client_id,
        "client_id_issued_at": c.issued_at,
        "token_endpoint_auth_method": c.auth_method.as_str(),
        "redirect_uris": c.redirect_uris,
        "claims_redirect_uris": c.claims_redirect_uris,
        "grant_types": if c.grant_types.is_empty() {
            vec![UMA_TICKET_GRANT.to_owned(), "authorization_code".to_owned(), "refresh_token".to_owned()]
        } else {
            c.grant_types.clone()
        },
        "response_types": ["code"],
    });
    if !c.scopes.is_empty() {
        v["scope"] = json!(c.scopes.join(" "));
    }
    if ctx.variant(Variant::DcrWithoutIssuedAt)
        && let Some(m) = v.as_object_mut()
    {
        // RFC 7591 §3.2.1: client_id_issued_at is OPTIONAL.
        m.remove("client_id_issued_at");
    }
    // The partial-echo quirk leaves out the display metadata the AS does not act on.
    if let Some(name) = &c.client_name
        && !ctx.quirk(Quirk::DcrPartialEcho)
    {
        v["client_name"] = json!(name);
    }
    if let Some(s) = &r.secret {
        v["client_secret"] = json!(s.secret());
        if !ctx.quirk(Quirk::DcrNoSecretExpiry) {
            v["client_secret_expires_at"] = json!(0);
        }
    }
    v
}

impl ClientRecord {
    /// Whether the client may use `grant_type`.
    pub fn allows_grant(&self, grant_type: &str) -> bool {
        if grant_type == "client_credentials" {
            return self.owner.is_some()
                && (self.grant_types.is_empty() || self.grant_types.iter().any(|g| g == grant_type));
        }
        self.grant_types.is_empty() || self.grant_types.iter().any(|g| g == grant_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let h = format!("Basic {}", STANDARD.encode("my%20client:s%3Acret"));
        let (id, secret) = parse_basic(&h).unwrap();
        assert_eq!(id.as_str(), "my client");
        assert_eq!(secret.secret(), "s:cret");
    }

    #[test]
    fn malformed_basic_credentials_are_rejected() {
        assert!(parse_basic("Basic !!!").is_none());
        assert!(parse_basic(&format!("Basic {}", STANDARD.encode("nocolon"))).is_none());
        assert!(parse_basic("Bearer abc").is_none());
    }

    #[test]
    fn only_loopback_redirect_uris_may_use_http() {
        assert!(unencrypted_redirect("http://client.example/cb"));
        assert!(!unencrypted_redirect("http://127.0.0.1:9/cb"));
        assert!(!unencrypted_redirect("http://[::1]/cb"));
        assert!(!unencrypted_redirect("http://localhost:8080/cb"));
        assert!(!unencrypted_redirect("https://client.example/cb"));
    }

    #[test]
    fn redirect_uris_must_be_absolute_without_fragment() {
        assert!(validate_redirect_uri("https://c.example/cb?x=1").is_ok());
        assert!(validate_redirect_uri("/relative").is_err());
        assert!(validate_redirect_uri("https://c.example/cb#frag").is_err());
        assert!(validate_redirect_uri("javascript:alert(1)").is_err());
    }
}
