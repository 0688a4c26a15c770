//! The protection API (FedAuthz): PAT checks, resource registration, the permission endpoint,
//! introspection; plus the reference server's own policy and approval APIs, which are
//! authorised by the resource owner's PAT too.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};

use crate::core::clients::UMA_PROTECTION;
use crate::core::discovery::paths;
use crate::core::grant::EXTENSION_VALUE;
use crate::core::model::{ApprovalRecord, ApprovalStatus, Permission, ResourceRecord, TicketData, TokenKind};
use crate::core::policy::ResourcePolicy;
use crate::core::{Ctx, ProtocolError};
use crate::crypto::{hash_secret, random_id, random_token};
use crate::quirks::Quirk;
use crate::types::PermissionTicket;
use crate::variants::Variant;

/// Who a valid PAT speaks for.
#[derive(Clone, Debug)]
pub struct PatContext {
    /// The resource owner.
    pub owner: String,
    /// The resource server (the PAT's client).
    pub rs_client: String,
}

/// Extracts the token of an `Authorization: Bearer` header.
pub fn bearer_token(authorization: Option<&str>) -> Option<&str> {
    let h = authorization?.trim();
    let (scheme, token) = h.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Whether an `Authorization` header uses the `Bearer` scheme (RFC 6750 §2.1; scheme names are
/// case-insensitive), whatever follows it.
fn is_bearer_scheme(authorization: &str) -> bool {
    let h = authorization.trim();
    let scheme = h.split_once(' ').map_or(h, |(s, _)| s);
    scheme.eq_ignore_ascii_case("bearer")
}

/// Checks the PAT of a protection API request (FedAuthz §1.3, RFC 6750 §3.1).
pub async fn authorize_pat(ctx: &Ctx, authorization: Option<&str>) -> Result<PatContext, ProtocolError> {
    check_pat(ctx, authorization, false).await
}

/// Checks the PAT of an introspection call (FedAuthz §5, RFC 7662 §2.1 and §2.3): the same
/// check as [`authorize_pat`].
pub async fn authorize_introspection_caller(
    ctx: &Ctx,
    authorization: Option<&str>,
) -> Result<PatContext, ProtocolError> {
    // Variant introspection-client-credentials (digest P-25): a resource server client may
    // authenticate with its client credentials instead of a PAT (RFC 7662 §2.1 allows either);
    // it speaks for the organisational owner its client_credentials PATs stand for.
    if ctx.variant(Variant::IntrospectionClientCredentials)
        && let Some(h) = authorization
        && crate::core::clients::parse_basic(h).is_some()
    {
        let creds = crate::core::clients::PresentedCredentials {
            authorization: Some(h.to_owned()),
            ..Default::default()
        };
        let client = crate::core::clients::authenticate(ctx, &creds).await?;
        let owner = client
            .owner
            .clone()
            .ok_or_else(|| ProtocolError::insufficient_scope(UMA_PROTECTION))?;
        return Ok(PatContext {
            owner,
            rs_client: client.client_id,
        });
    }
    // Quirk: the introspection endpoint looks the PAT up but forgets to check that it is still
    // valid, so a revoked or expired PAT is served.
    check_pat(ctx, authorization, ctx.quirk(Quirk::IntrospectionBogusPatAccepted)).await
}

async fn check_pat(ctx: &Ctx, authorization: Option<&str>, ignore_validity: bool) -> Result<PatContext, ProtocolError> {
    let Some(token) = bearer_token(authorization) else {
        if authorization.is_none() && ctx.quirk(Quirk::ProtectionWithoutPat) {
            return Ok(PatContext {
                owner: "anonymous".into(),
                rs_client: "anonymous".into(),
            });
        }
        return Err(match authorization {
            // `Bearer` with no token: a malformed token was sent.
            Some(h) if is_bearer_scheme(h) => invalid_token(ctx),
            // No credentials at all, or another scheme (RFC 6750 §3.1: "lacks any authentication
            // information", e.g. "an unsupported authentication method"): a bare challenge.
            _ => no_credentials(ctx),
        });
    };
    let now = ctx.clock.now();
    // Looked at in place: a PAT check copies out only who the PAT speaks for.
    ctx.store
        .with_token(&hash_secret(token), |t| {
            let usable = (ignore_validity || (!t.revoked && t.expires_at > now))
                && matches!(t.kind, TokenKind::Pat | TokenKind::Rpt);
            if !usable {
                Err(invalid_token(ctx))
            } else if t.kind == TokenKind::Pat && t.scopes.iter().any(|s| s == UMA_PROTECTION) {
                Ok(PatContext {
                    owner: t.owner.clone().unwrap_or_default(),
                    rs_client: t.client_id.clone(),
                })
            } else if ctx.quirk(Quirk::WrongScopeAs401) {
                // Quirk: a valid token without `uma_protection` is treated as an invalid one.
                Err(invalid_token(ctx))
            } else {
                Err(ProtocolError::insufficient_scope(UMA_PROTECTION))
            }
        })
        .await?
        .unwrap_or_else(|| Err(invalid_token(ctx)))
}

/// 401 for a request without any credentials (RFC 6750 §3: a bare `Bearer` challenge).
fn no_credentials(ctx: &Ctx) -> ProtocolError {
    if ctx.quirk(Quirk::BareChallengeWithError) {
        // Quirk: a missing token is answered like an invalid one, error code included.
        return ProtocolError::invalid_token();
    }
    let mut e = ProtocolError::no_credentials();
    if ctx.quirk(Quirk::NoBearerChallenge) {
        // Quirk: 401 with no challenge at all.
        e.www_authenticate = None;
    }
    e
}

/// 401 `invalid_token` for a bearer token that is unknown, expired, revoked or malformed.
fn invalid_token(ctx: &Ctx) -> ProtocolError {
    let mut e = ProtocolError::invalid_token();
    if ctx.quirk(Quirk::InvalidPatNoErrorCode) {
        // Quirk: the challenge is the fixed one of a request without a token.
        e.www_authenticate = ProtocolError::no_credentials().www_authenticate;
    }
    e
}

// ---- resource registration (FedAuthz §3) ----

/// Under the quirk `deleted-resource-still-protected`, DELETE only marks the record with this
/// member ("soft delete"); reads, updates, deletes and lists skip marked records, the permission
/// endpoint does not.
const SOFT_DELETED: &str = "_deleted";

/// Whether `rec` was soft-deleted (only ever true under the quirk `deleted-resource-still-protected`).
fn soft_deleted(ctx: &Ctx, rec: &ResourceRecord) -> bool {
    ctx.quirk(Quirk::DeletedResourceStillProtected) && rec.description.contains_key(SOFT_DELETED)
}

fn validate_description(ctx: &Ctx, body: &Value) -> Result<Map<String, Value>, ProtocolError> {
    let Value::Object(map) = body else {
        return Err(ProtocolError::invalid_request(
            "the resource description must be a JSON object",
        ));
    };
    let mut map = map.clone();
    map.remove("_id");
    if ctx.quirk(Quirk::DeletedResourceStillProtected) {
        map.remove(SOFT_DELETED);
    }
    match map.get("resource_scopes") {
        Some(Value::Array(items)) => {
            let mut seen = BTreeSet::new();
            for s in items {
                match s.as_str() {
                    Some(s) if !s.is_empty() => {
                        if !seen.insert(s) {
                            return Err(ProtocolError::invalid_request(format!(
                                "resource_scopes lists `{s}` twice"
                            )));
                        }
                    }
                    _ => {
                        return Err(ProtocolError::invalid_request(
                            "resource_scopes must hold non-empty strings",
                        ));
                    }
                }
            }
        }
        Some(_) => {
            return Err(ProtocolError::invalid_request(
                "resource_scopes must be an array of strings",
            ));
        }
        None => return Err(ProtocolError::invalid_request("resource_scopes is required")),
    }
    for key in ["name", "type", "icon_uri", "description"] {
        if let Some(v) = map.get(key)
            && !v.is_string()
        {
            return Err(ProtocolError::invalid_request(format!("{key} must be a string")));
        }
    }
    Ok(map)
}

/// The `Location` of a registered resource.
pub fn resource_location(ctx: &Ctx, id: &str) -> String {
    let absolute = format!("{}/{id}", ctx.url(paths::RESOURCE_SET));
    if ctx.variant(Variant::ResourceLocationRelative) {
        // RFC 9110 §10.2.2: Location is a URI-reference, so a path relative to the request's
        // origin names the same resource.
        return url::Url::parse(&absolute).map_or(absolute, |u| u.path().to_owned());
    }
    absolute
}

fn policy_uri(ctx: &Ctx, id: &str) -> String {
    format!("{}/{id}", ctx.url(paths::POLICY))
}

/// Create (FedAuthz §3.2.1): returns the new `_id` and the response body.
pub async fn create_resource(ctx: &Ctx, pat: &PatContext, body: &Value) -> Result<(String, Value), ProtocolError> {
    let description = validate_description(ctx, body)?;
    let id = if ctx.variant(Variant::NumericResourceIds) {
        // FedAuthz §3.2.1: `_id` is the AS's to choose (digest P-35: some use numbers). Random,
        // so that one owner's ids say nothing about another's.
        let mut buf = [0u8; 8];
        aws_lc_rs::rand::fill(&mut buf).map_err(|_| ProtocolError::server_error())?;
        u64::from_le_bytes(buf).to_string()
    } else {
        random_id()
    };
    let rec = ResourceRecord {
        id: id.clone(),
        owner: pat.owner.clone(),
        rs_client: pat.rs_client.clone(),
        description,
    };
    ctx.store.put_resource(&rec, ctx.clock.now()).await?;
    // A configured registration policy covering it becomes its policy (none by default).
    if let Some(policy) = crate::core::registration_policy::policy_for(
        &ctx.config.registration_policies,
        &rec.owner,
        &rec.rs_client,
        &rec.description,
    ) {
        ctx.store.put_policy(&id, &policy).await?;
    }
    Ok((id.clone(), registration_answer(ctx, &id)))
}

async fn owned_resource(ctx: &Ctx, pat: &PatContext, id: &str) -> Result<ResourceRecord, ProtocolError> {
    match ctx.store.resource(id).await? {
        Some(r) if r.owner == pat.owner && r.rs_client == pat.rs_client && !soft_deleted(ctx, &r) => Ok(r),
        _ => Err(ProtocolError::not_found(format!("resource `{id}` not found"))),
    }
}

/// Read (FedAuthz §3.2.2).
pub async fn read_resource(ctx: &Ctx, pat: &PatContext, id: &str) -> Result<Value, ProtocolError> {
    let rec = match owned_resource(ctx, pat, id).await {
        Err(e) if e.status == 404 && ctx.quirk(Quirk::UnknownResource200) => {
            return Ok(json!({ "_id": id, "resource_scopes": [] }));
        }
        other => other?,
    };
    let mut body = rec.description;
    body.insert("_id".into(), json!(rec.id));
    Ok(Value::Object(body))
}

/// Update (FedAuthz §3.2.3): a complete replacement. An `_id` in the body must match the path.
pub async fn update_resource(ctx: &Ctx, pat: &PatContext, id: &str, body: &Value) -> Result<Value, ProtocolError> {
    // Digest P-23: `_id` is not a description member. The variant body-id-refused refuses it
    // even when it matches; body-id-mismatch-ignored ignores it whatever its value.
    if body.get("_id").is_some() && ctx.variant(Variant::BodyIdRefused) {
        return Err(ProtocolError::invalid_request(
            "_id is not a member of a resource description",
        ));
    }
    if let Some(body_id) = body.get("_id")
        && body_id.as_str() != Some(id)
        && !ctx.variant(Variant::BodyIdMismatchIgnored)
    {
        return Err(ProtocolError::invalid_request(
            "_id in the body does not match the resource in the path",
        ));
    }
    let description = validate_description(ctx, body)?;
    let mut rec = owned_resource(ctx, pat, id).await?;
    rec.description = description;
    ctx.store.put_resource(&rec, ctx.clock.now()).await?;
    if ctx.quirk(Quirk::ResourceWithoutId) {
        // Quirk: the id is in the path, so the update answer leaves `_id` out.
        return Ok(json!({ "user_access_policy_uri": policy_uri(ctx, id) }));
    }
    Ok(registration_answer(ctx, id))
}

/// The body of a create or update answer (FedAuthz §3.2): `_id`, and `user_access_policy_uri`
/// (OPTIONAL; left out under the variant `no-user-access-policy-uri`).
fn registration_answer(ctx: &Ctx, id: &str) -> Value {
    if ctx.variant(Variant::NoUserAccessPolicyUri) {
        json!({ "_id": id })
    } else {
        json!({ "_id": id, "user_access_policy_uri": policy_uri(ctx, id) })
    }
}

/// The status of a successful delete (FedAuthz §3.2.4: 200 or 204): 204, or 200 under the
/// variant `resource-delete-200`.
pub fn delete_status(ctx: &Ctx) -> u16 {
    if ctx.variant(Variant::ResourceDelete200) {
        200
    } else {
        204
    }
}

/// Shapes an error of the resource registration API: under the variant
/// `resource-errors-without-body` a 400, 404 or 405 goes out with its status alone (FedAuthz
/// §3.2: the error codes are MAY).
pub fn registration_error(ctx: &Ctx, mut e: ProtocolError) -> ProtocolError {
    if ctx.variant(Variant::ResourceErrorsWithoutBody) && matches!(e.status, 400 | 404 | 405) {
        e.error.clear();
        e.description = None;
        e.extra.clear();
    }
    e
}

/// Delete (FedAuthz §3.2.4).
pub async fn delete_resource(ctx: &Ctx, pat: &PatContext, id: &str) -> Result<(), ProtocolError> {
    let mut rec = owned_resource(ctx, pat, id).await?;
    if ctx.quirk(Quirk::DeletedResourceStillProtected) {
        // Quirk: a soft delete, which the permission endpoint does not know about.
        rec.description.insert(SOFT_DELETED.into(), Value::Bool(true));
        ctx.store.put_resource(&rec, ctx.clock.now()).await?;
        return Ok(());
    }
    ctx.store.delete_resource(id).await?;
    Ok(())
}

/// List (FedAuthz §3.2.5): the ids registered by this RS for this owner.
pub async fn list_resources(ctx: &Ctx, pat: &PatContext) -> Result<Value, ProtocolError> {
    let ids = if ctx.quirk(Quirk::ListAllOwners) {
        // Quirk: the list forgets to filter by owner (and resource server).
        ctx.store.list_all_resources().await?
    } else {
        ctx.store.list_resources(&pat.owner, &pat.rs_client).await?
    };
    if !ctx.quirk(Quirk::DeletedResourceStillProtected) {
        return Ok(json!(ids));
    }
    let mut live = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(r) = ctx.store.resource(&id).await?
            && !soft_deleted(ctx, &r)
        {
            live.push(id);
        }
    }
    Ok(json!(live))
}

// ---- permission endpoint (FedAuthz §4) ----

/// Requests permissions and returns the response body, `{"ticket": …}` (FedAuthz §4.1–4.3).
pub async fn request_permissions(ctx: &Ctx, pat: &PatContext, body: &Value) -> Result<Value, ProtocolError> {
    let items: Vec<&Value> = match body {
        Value::Object(_) => vec![body],
        Value::Array(a) if ctx.quirk(Quirk::PermissionArrayRejected) => {
            let _ = a;
            return Err(ProtocolError::invalid_request("the request body must be a JSON object"));
        }
        Value::Array(a) if a.is_empty() => {
            return Err(ProtocolError::invalid_request("the permission array is empty"));
        }
        Value::Array(a) => a.iter().collect(),
        _ => {
            return Err(ProtocolError::invalid_request(
                "the body must be a permission object or an array of them",
            ));
        }
    };
    let mut merged: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for item in items {
        let Some(obj) = item.as_object() else {
            return Err(ProtocolError::invalid_request("each permission must be a JSON object"));
        };
        let id = match obj.get("resource_id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(_) => return Err(ProtocolError::invalid_request("resource_id must be a string")),
            None => return Err(ProtocolError::invalid_request("resource_id is required")),
        };
        let scopes: Vec<String> = match obj.get("resource_scopes") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|s| {
                    s.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| ProtocolError::invalid_request("resource_scopes must hold strings"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(ProtocolError::invalid_request("resource_scopes must be an array")),
            None => return Err(ProtocolError::invalid_request("resource_scopes is required")),
        };
        // (Under the quirk `deleted-resource-still-protected`, a soft-deleted record is found
        // here like any other: the bug that quirk commits.)
        let rec = match ctx.store.resource(&id).await? {
            // Quirk permission-cross-owner: any registered resource will do, whoever owns it.
            Some(r) if ctx.quirk(Quirk::PermissionCrossOwner) => r,
            Some(r) if r.owner == pat.owner && r.rs_client == pat.rs_client => r,
            _ => return Err(ProtocolError::invalid_resource_id(&id)),
        };
        let registered: BTreeSet<String> = rec.scopes().into_iter().collect();
        if !ctx.quirk(Quirk::PermissionUnregisteredScope)
            && let Some(bad) = scopes.iter().find(|s| !registered.contains(*s))
        {
            return Err(ProtocolError::invalid_scope(format!(
                "scope `{bad}` is not registered for resource `{id}`"
            )));
        }
        merged.entry(id).or_default().extend(scopes);
    }
    let permissions: Vec<Permission> = merged
        .into_iter()
        .map(|(resource_id, s)| Permission {
            resource_id,
            resource_scopes: s.into_iter().collect(),
        })
        .collect();
    let data = |permissions: Vec<Permission>| TicketData {
        process_id: random_id(),
        owner: pat.owner.clone(),
        rs_client: pat.rs_client.clone(),
        permissions,
        client_id: None,
        claims: Vec::new(),
        code_challenge: None,
        approval_id: None,
        persist_claims: false,
    };
    if ctx.quirk(Quirk::TicketPerPermission) && permissions.len() > 1 {
        // Quirk: one ticket per permission, answered as an array of tickets.
        let mut tickets = Vec::with_capacity(permissions.len());
        for p in permissions {
            tickets.push(issue_ticket(ctx, &data(vec![p])).await?.into_secret());
        }
        return Ok(json!({ "ticket": tickets }));
    }
    let ticket = issue_ticket(ctx, &data(permissions)).await?;
    Ok(json!({ "ticket": ticket.secret() }))
}

/// A ticket under the quirk `sequential-tickets`: a fixed prefix and a counter (seeded with the
/// time of the first one, in milliseconds, so that a restarted server does not reuse values).
fn sequential_ticket() -> String {
    static NEXT: OnceLock<AtomicU64> = OnceLock::new();
    let next = NEXT.get_or_init(|| {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX / 2));
        AtomicU64::new(ms)
    });
    format!("tkt-{}", next.fetch_add(1, Ordering::Relaxed))
}

/// Stores a fresh ticket for `data` and returns its value.
pub async fn issue_ticket(ctx: &Ctx, data: &TicketData) -> Result<PermissionTicket, ProtocolError> {
    let now = ctx.clock.now();
    let exp = now + ctx.config.lifetimes.ticket;
    let ticket = PermissionTicket::new(if ctx.quirk(Quirk::SequentialTickets) {
        sequential_ticket()
    } else if ctx.variant(Variant::JwtTickets) {
        // Variant jwt-tickets (UMA Grant §5.5: the format is free if unguessable): a signed
        // JWT whose random jti makes it unguessable. It is still kept by hash, so it stays
        // single-use; the permissions stay at the AS.
        ctx.signer.sign(
            "uma-ticket+jwt",
            &json!({ "iss": ctx.issuer, "jti": random_token(), "iat": now, "exp": exp }),
        )?
    } else {
        random_token()
    });
    ctx.store.put_ticket(&hash_secret(ticket.secret()), data, exp).await?;
    Ok(ticket)
}

// ---- introspection (FedAuthz §5, RFC 7662) ----

/// An introspection answer (RFC 7662 §2.2, FedAuthz §5.1.1), serialised as it is rather than
/// built as a tree of JSON values first (issue 13). Members absent unless set; their order is
/// alphabetical, as a `serde_json` object (a sorted map) would have them, so the text is the
/// same as before.
#[derive(Debug, Default, serde::Serialize)]
pub struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    permissions: Option<Vec<IntrospectedPermission>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// [`crate::core::grant::EXTENSION_MEMBER`] (variant `extension-members`).
    #[serde(rename = "reference_extension", skip_serializing_if = "Option::is_none")]
    extension: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
}

/// One permission of an [`Introspection`], members in alphabetical order.
#[derive(Debug, serde::Serialize)]
pub struct IntrospectedPermission {
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    resource_id: String,
    resource_scopes: Vec<String>,
}

/// Introspects a token for the RS holding `pat`.
pub async fn introspect(ctx: &Ctx, pat: &PatContext, token: &str) -> Result<Introspection, ProtocolError> {
    // RFC 7662 §2.2: nothing but `active`, not even why (the quirk `inactive-with-reason` adds it).
    let extension = ctx.variant(Variant::ExtensionMembers).then_some(EXTENSION_VALUE);
    let inactive = |reason: &'static str| -> Result<Introspection, ProtocolError> {
        Ok(Introspection {
            reason: ctx.quirk(Quirk::InactiveWithReason).then_some(reason),
            extension,
            ..Introspection::default()
        })
    };
    // Quirk introspection-any-owner: no audience check, any RS sees any RPT's permissions.
    let any_owner = ctx.quirk(Quirk::IntrospectionAnyOwner);
    let Some(t) = ctx.store.token(&hash_secret(token)).await? else {
        return inactive("unknown token");
    };
    let now = ctx.clock.now();
    let expired = t.expires_at <= now && !ctx.quirk(Quirk::ExpiredRptActive);
    if t.kind == TokenKind::Pat
        && ctx.variant(Variant::IntrospectionPlainTokens)
        && t.client_id == pat.rs_client
        && !t.revoked
        && !expired
    {
        // Variant introspection-plain-tokens (FedAuthz §5 MAY): the resource server's own PAT
        // gets a plain RFC 7662 answer.
        return Ok(Introspection {
            active: true,
            scope: Some(t.scopes.join(" ")),
            client_id: Some(t.client_id),
            token_type: Some(crate::core::grant::token_type(ctx)),
            iss: Some(ctx.issuer.clone()),
            iat: Some(t.issued_at),
            exp: Some(t.expires_at),
            ..Introspection::default()
        });
    }
    if t.kind != TokenKind::Rpt {
        return inactive("not an RPT");
    }
    if t.revoked {
        return inactive("revoked");
    }
    if expired {
        return inactive("expired");
    }
    if !any_owner && t.owner.as_deref() != Some(pat.owner.as_str()) {
        return inactive("issued for another resource owner");
    }
    let minimal = ctx.variant(Variant::IntrospectionMinimal);
    let times = ctx.variant(Variant::IntrospectionPermissionTimes);
    let granted = t.permissions.len();
    let mut permissions = Vec::with_capacity(granted);
    let mut all_scopes = BTreeSet::new();
    for p in t.permissions {
        // Protection ends on deregistration (FedAuthz §3): drop resources deleted since. An RS
        // sees only resources it registered itself (FedAuthz §5.1.1: scopes "registered by this
        // RS"), not those another RS of the same owner registered.
        match ctx.store.resource_registrar(&p.resource_id).await? {
            Some((owner, rs)) if any_owner || (owner == pat.owner && rs == pat.rs_client) => {}
            _ => continue,
        }
        all_scopes.extend(p.resource_scopes.iter().cloned());
        permissions.push(IntrospectedPermission {
            // FedAuthz §5.1.1: exp, iat and nbf are OPTIONAL per permission.
            exp: (!minimal).then_some(t.expires_at),
            iat: times.then_some(t.issued_at),
            nbf: times.then_some(t.issued_at),
            resource_id: p.resource_id,
            resource_scopes: p.resource_scopes,
        });
    }
    if permissions.is_empty() && granted > 0 {
        // Nothing in this RPT is this RS's to see (or everything was deregistered since): the
        // caller may not introspect it (RFC 7662 §2.2).
        return inactive("no permission for this resource server");
    }
    let mut body = if minimal {
        // RFC 7662 §2.2: only `active` is REQUIRED; FedAuthz adds `permissions`.
        Introspection {
            active: true,
            ..Introspection::default()
        }
    } else {
        Introspection {
            active: true,
            iss: Some(ctx.issuer.clone()),
            client_id: Some(t.client_id),
            token_type: Some(crate::core::grant::token_type(ctx)),
            iat: Some(t.issued_at),
            exp: Some(t.expires_at),
            ..Introspection::default()
        }
    };
    if times {
        body.nbf = Some(t.issued_at);
    }
    body.extension = extension;
    if !ctx.quirk(Quirk::IntrospectionWithoutPermissions) {
        body.permissions = Some(permissions);
    }
    if ctx.quirk(Quirk::IntrospectionWithScope) {
        body.scope = Some(all_scopes.into_iter().collect::<Vec<_>>().join(" "));
    }
    Ok(body)
}

// ---- policy API (reference server) ----

async fn owners_resource(ctx: &Ctx, pat: &PatContext, id: &str) -> Result<ResourceRecord, ProtocolError> {
    match ctx.store.resource(id).await? {
        Some(r) if r.owner == pat.owner => Ok(r),
        _ => Err(ProtocolError::not_found(format!("resource `{id}` not found"))),
    }
}

/// Sets a resource's policy (PUT `/policy/{id}`).
pub async fn set_policy(ctx: &Ctx, pat: &PatContext, id: &str, body: &Value) -> Result<Value, ProtocolError> {
    owners_resource(ctx, pat, id).await?;
    let policy: ResourcePolicy = serde_json::from_value(body.clone())
        .map_err(|e| ProtocolError::invalid_request(format!("invalid policy: {e}")))?;
    policy.validate().map_err(ProtocolError::invalid_request)?;
    ctx.store.put_policy(id, &policy).await?;
    Ok(serde_json::to_value(&policy).unwrap_or(Value::Null))
}

/// Reads a resource's policy (GET `/policy/{id}`).
pub async fn get_policy(ctx: &Ctx, pat: &PatContext, id: &str) -> Result<Value, ProtocolError> {
    owners_resource(ctx, pat, id).await?;
    let policy = ctx
        .store
        .policy(id)
        .await?
        .ok_or_else(|| ProtocolError::not_found("no policy is set"))?;
    Ok(serde_json::to_value(&policy).unwrap_or(Value::Null))
}

/// Removes a resource's policy (DELETE `/policy/{id}`).
pub async fn delete_policy(ctx: &Ctx, pat: &PatContext, id: &str) -> Result<(), ProtocolError> {
    owners_resource(ctx, pat, id).await?;
    if ctx.store.delete_policy(id).await? {
        Ok(())
    } else {
        Err(ProtocolError::not_found("no policy is set"))
    }
}

// ---- approval API (reference server) ----

fn approval_json(a: &ApprovalRecord) -> Value {
    json!({
        "id": a.id,
        "client_id": a.client_id,
        "permissions": a.permissions,
        "claims": a.claims.iter().map(|c| json!({"name": c.name, "value": c.value, "issuer": c.issuer})).collect::<Vec<_>>(),
        "status": a.status.as_str(),
        "created_at": a.created_at,
    })
}

/// Lists the owner's pending approval requests (GET `/approvals`).
pub async fn list_approvals(ctx: &Ctx, pat: &PatContext) -> Result<Value, ProtocolError> {
    let list = ctx.store.approvals(&pat.owner, ApprovalStatus::Pending).await?;
    Ok(Value::Array(list.iter().map(approval_json).collect()))
}

/// Approves or denies a request (POST `/approvals/{id}` with `{"decision": "approve"|"deny"}`).
pub async fn decide_approval(ctx: &Ctx, pat: &PatContext, id: &str, body: &Value) -> Result<Value, ProtocolError> {
    let status = match body.get("decision").and_then(Value::as_str) {
        Some("approve") => ApprovalStatus::Approved,
        Some("deny") => ApprovalStatus::Denied,
        _ => {
            return Err(ProtocolError::invalid_request(
                "decision must be \"approve\" or \"deny\"",
            ));
        }
    };
    let mut a = match ctx.store.approval(id).await? {
        Some(a) if a.owner == pat.owner => a,
        _ => return Err(ProtocolError::not_found(format!("approval request `{id}` not found"))),
    };
    a.status = status;
    ctx.store.put_approval(&a).await?;
    Ok(approval_json(&a))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every member set: the text is what the JSON object built member by member gave (sorted
    /// members), and the extension member is the one the rest of the AS names.
    #[test]
    fn an_introspection_serialises_as_the_sorted_json_object_it_replaces() {
        let answer = Introspection {
            active: true,
            client_id: Some("c".into()),
            exp: Some(20),
            iat: Some(10),
            iss: Some("http://127.0.0.1:1".into()),
            nbf: Some(10),
            permissions: Some(vec![IntrospectedPermission {
                exp: Some(20),
                iat: Some(10),
                nbf: Some(10),
                resource_id: "r".into(),
                resource_scopes: vec!["print".into(), "view".into()],
            }]),
            reason: Some("expired"),
            extension: Some(EXTENSION_VALUE),
            scope: Some("print view".into()),
            token_type: Some("Bearer"),
        };
        let mut built = json!({
            "active": true, "client_id": "c", "exp": 20, "iat": 10, "iss": "http://127.0.0.1:1", "nbf": 10,
            "permissions": [{"exp": 20, "iat": 10, "nbf": 10, "resource_id": "r", "resource_scopes": ["print", "view"]}],
            "reason": "expired", "scope": "print view", "token_type": "Bearer",
        });
        built[crate::core::grant::EXTENSION_MEMBER] = json!(EXTENSION_VALUE);
        assert_eq!(
            serde_json::to_string(&answer).unwrap(),
            serde_json::to_string(&built).unwrap()
        );
        let inactive = Introspection::default();
        assert_eq!(serde_json::to_string(&inactive).unwrap(), r#"{"active":false}"#);
    }
}
