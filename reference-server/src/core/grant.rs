//! The token endpoint (UMA Grant §3.3, RFC 6749) and revocation (RFC 7009).
//!
//! Grants: `urn:ietf:params:oauth:grant-type:uma-ticket` (RPTs), `client_credentials` and
//! `authorization_code` (PATs), `refresh_token` (both).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use crate::config::{RptFormat, UnknownScopes};
use crate::core::assessment::{AssessmentQuirks, Choices, Outcome, ResourceSets, assess_with};
use crate::core::claims::{ClaimContext, ClaimTokenError};
use crate::core::clients::{self, PresentedCredentials, UMA_PROTECTION, UMA_TICKET_GRANT};
use crate::core::discovery::paths;
use crate::core::model::{
    ApprovalRecord, ApprovalStatus, Claim, ClientRecord, Permission, TicketData, TokenKind, TokenRecord,
};
use crate::core::policy::{
    ApprovalState, Decision, ID_TOKEN_FORMAT, RequiredClaim, ResourcePolicy, ScopePolicy, evaluate,
};
use crate::core::protection::issue_ticket;
use crate::core::{Ctx, ProtocolError};
use crate::crypto::{ct_eq, hash_secret, is_pkce_value, pkce_s256, random_id, random_token};
use crate::quirks::Quirk;
use crate::types::{AccessToken, ClaimToken, CodeVerifier, Pct, PermissionTicket, RefreshToken, Rpt};
use crate::variants::Variant;

/// Form parameters of one request, with repeats rejected and empty values dropped.
pub type Params = BTreeMap<String, String>;

/// Parses an `application/x-www-form-urlencoded` body (RFC 6749 §3.2): parameters sent without
/// a value are treated as omitted, and a repeated parameter is an `invalid_request`.
pub fn parse_form(body: &[u8]) -> Result<Params, ProtocolError> {
    let mut out = Params::new();
    let mut seen = BTreeSet::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        if !seen.insert(k.to_string()) {
            return Err(ProtocolError::invalid_request(format!("parameter `{k}` is repeated")));
        }
        if !v.is_empty() {
            out.insert(k.into_owned(), v.into_owned());
        }
    }
    Ok(out)
}

/// Parses the body of a token request: [`parse_form`], except where a quirk bends the rules
/// (names matched case-insensitively, empty values kept, a parameter repeated with the same
/// value tolerated).
pub fn parse_token_form(ctx: &Ctx, body: &[u8]) -> Result<Params, ProtocolError> {
    let lowercase = ctx.quirk(Quirk::ParamNamesCaseInsensitive);
    let keep_empty = ctx.quirk(Quirk::EmptyParamSignificant);
    let same_repeats = ctx.quirk(Quirk::RepeatedParamAccepted);
    if !(lowercase || keep_empty || same_repeats) {
        return parse_form(body);
    }
    let mut out = Params::new();
    let mut seen = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        let k = if lowercase {
            k.to_ascii_lowercase()
        } else {
            k.into_owned()
        };
        if let Some(first) = seen.insert(k.clone(), v.to_string())
            && !(same_repeats && first == v)
        {
            return Err(ProtocolError::invalid_request(format!("parameter `{k}` is repeated")));
        }
        if keep_empty || !v.is_empty() {
            out.insert(k, v.into_owned());
        }
    }
    Ok(out)
}

/// The token request parameters the AS knows (RFC 6749, UMA Grant §3.3.1, RFC 7636).
const KNOWN_TOKEN_PARAMS: &[&str] = &[
    "grant_type",
    "client_id",
    "ticket",
    "claim_token",
    "claim_token_format",
    "pct",
    "rpt",
    "scope",
    "code_verifier",
    "code",
    "redirect_uri",
    "refresh_token",
];

fn split_scope(s: Option<&String>) -> BTreeSet<String> {
    s.map(|s| s.split(' ').filter(|x| !x.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The token endpoint, after client authentication. Returns the JSON success body.
pub async fn token(ctx: &Ctx, client: &ClientRecord, params: &Params) -> Result<Value, ProtocolError> {
    let grant_type = params
        .get("grant_type")
        .ok_or_else(|| ProtocolError::invalid_request("grant_type is required"))?;
    let known = matches!(
        grant_type.as_str(),
        UMA_TICKET_GRANT | "client_credentials" | "authorization_code" | "refresh_token"
    );
    if !known {
        if ctx.quirk(Quirk::UnknownGrantAsInvalidRequest) {
            return Err(ProtocolError::invalid_request(format!(
                "unknown grant_type `{grant_type}`"
            )));
        }
        return Err(ProtocolError::unsupported_grant_type(grant_type));
    }
    if ctx.quirk(Quirk::UnknownParamRejected)
        && let Some(k) = params.keys().find(|k| !KNOWN_TOKEN_PARAMS.contains(&k.as_str()))
    {
        return Err(ProtocolError::invalid_request(format!("unknown parameter `{k}`")));
    }
    // Variant client-credentials-any-registered-scope: a client without an owner may use
    // client_credentials for plain access tokens of its registered scopes.
    // So may any client without an owner under `client_access_tokens`.
    let plain_cc = grant_type == "client_credentials"
        && (ctx.variant(Variant::ClientCredentialsAnyRegisteredScope) || ctx.config.client_access_tokens)
        && (client.grant_types.is_empty() || client.grant_types.iter().any(|g| g == grant_type));
    if !client.allows_grant(grant_type) && !plain_cc {
        return Err(ProtocolError::unauthorized_client(format!(
            "this client may not use the `{grant_type}` grant"
        )));
    }
    let result = match grant_type.as_str() {
        UMA_TICKET_GRANT => uma_ticket(ctx, client, params).await,
        "client_credentials" => client_credentials(ctx, client, params).await,
        "authorization_code" => authorization_code(ctx, client, params).await,
        _ => refresh(ctx, client, params).await,
    };
    result.map_err(|mut e| {
        if e.error == "need_info" && ctx.quirk(Quirk::NeedInfoAs400) {
            e.status = 400;
        }
        e
    })
}

/// The `token_type` of every token response: `Bearer`, or `bearer` under the variant
/// `token-type-lowercase` (RFC 6749 §5.1: the value is case-insensitive).
pub fn token_type(ctx: &Ctx) -> &'static str {
    if ctx.variant(Variant::TokenTypeLowercase) {
        "bearer"
    } else {
        "Bearer"
    }
}

/// The member the variant `extension-members` adds to JSON answers (UMA Grant §1.1: receivers
/// ignore extension members they do not understand).
pub const EXTENSION_MEMBER: &str = "reference_extension";
/// The value of [`EXTENSION_MEMBER`].
pub const EXTENSION_VALUE: &str = "uma-reference-server";

/// A whole token request once its form is parsed: client authentication (RFC 6749 §2.3), then
/// [`token`], then the shaping the variants ask for. Under the variant
/// `ticket-spent-on-rejected-request`, the ticket of a refused request is consumed as well
/// (digest P-11); otherwise only an authenticated, well-formed request spends it.
pub async fn token_request(ctx: &Ctx, creds: &PresentedCredentials, params: &Params) -> Result<Value, ProtocolError> {
    let grant_type = params.get("grant_type").map(String::as_str);
    let result = match clients::authenticate_token_request(ctx, creds, grant_type).await {
        Ok(client) => token(ctx, &client, params).await,
        Err(e) => Err(e),
    };
    if result.is_err()
        && ctx.variant(Variant::TicketSpentOnRejectedRequest)
        && grant_type == Some(UMA_TICKET_GRANT)
        && let Some(t) = params.get("ticket")
    {
        // A ticket already redeemed (or rotated away) is simply not found again.
        let _ = ctx.store.take_ticket(&hash_secret(t)).await?;
    }
    let extension = ctx.variant(Variant::ExtensionMembers);
    match result {
        Ok(mut body) => {
            if extension {
                body[EXTENSION_MEMBER] = json!(EXTENSION_VALUE);
            }
            Ok(body)
        }
        Err(mut e) => {
            if ctx.variant(Variant::OauthErrorsBare) {
                e.description = None;
            }
            if extension && e.has_code() {
                e = e.with(EXTENSION_MEMBER, json!(EXTENSION_VALUE));
            }
            Err(e)
        }
    }
}

// ---- PATs ----

async fn issue_pat(
    ctx: &Ctx,
    client: &ClientRecord,
    owner: &str,
    scopes: Vec<String>,
    with_refresh: bool,
    grant_id: Option<String>,
) -> Result<Value, ProtocolError> {
    let now = ctx.clock.now();
    let grant_id = grant_id.unwrap_or_else(random_id);
    let pat = AccessToken::new(random_token());
    let rec = TokenRecord {
        kind: TokenKind::Pat,
        client_id: client.client_id.clone(),
        grant_id: grant_id.clone(),
        owner: Some(owner.to_owned()),
        scopes: scopes.clone(),
        permissions: Vec::new(),
        claims: Vec::new(),
        refreshes: None,
        redirect_uri: None,
        code_challenge: None,
        issued_at: now,
        expires_at: now + ctx.config.lifetimes.pat,
        revoked: false,
    };
    ctx.store.put_token(&hash_secret(pat.secret()), &rec).await?;
    let mut body = json!({
        "access_token": pat.secret(),
        "token_type": token_type(ctx),
        "expires_in": ctx.config.lifetimes.pat,
        "scope": scopes.join(" "),
    });
    if with_refresh {
        let rt = RefreshToken::new(random_token());
        let rt_rec = TokenRecord {
            kind: TokenKind::Refresh,
            refreshes: Some(TokenKind::Pat),
            expires_at: now + ctx.config.lifetimes.refresh_token,
            ..rec
        };
        ctx.store.put_token(&hash_secret(rt.secret()), &rt_rec).await?;
        body["refresh_token"] = json!(rt.secret());
    }
    Ok(body)
}

async fn client_credentials(ctx: &Ctx, client: &ClientRecord, params: &Params) -> Result<Value, ProtocolError> {
    let mut requested = split_scope(params.get("scope"));
    if ctx.config.unknown_scopes == UnknownScopes::Ignore {
        // RFC 6749 §3.3: the AS may ignore requested scope; here what the client is not
        // registered for and cannot have (uma_protection without an owner) is left out.
        requested.retain(|s| client.scopes.contains(s) || (s == UMA_PROTECTION && client.owner.is_some()));
    }
    if ctx.config.client_access_tokens && client.owner.is_none() && !requested.contains(UMA_PROTECTION) {
        // A plain OAuth access token for a client that acts for no owner (for libraries that
        // start only with a token in hand): its registered scopes, or those it asked for among
        // them. Never uma_protection, so never a PAT.
        if let Some(s) = requested.iter().find(|s| !client.scopes.contains(*s)) {
            return Err(ProtocolError::invalid_scope(format!(
                "the client is not registered for scope `{s}`"
            )));
        }
        let scopes: Vec<String> = if requested.is_empty() {
            client.scopes.iter().filter(|s| *s != UMA_PROTECTION).cloned().collect()
        } else {
            requested.into_iter().collect()
        };
        let mut body = issue_pat(ctx, client, "", scopes.clone(), false, None).await?;
        if scopes.is_empty()
            && let Some(o) = body.as_object_mut()
        {
            o.remove("scope");
        }
        return Ok(body);
    }
    if ctx.variant(Variant::ClientCredentialsAnyRegisteredScope)
        && !requested.is_empty()
        && !requested.contains(UMA_PROTECTION)
    {
        // A plain OAuth access token for scopes the client registered: not a PAT, so the
        // protection API refuses it with insufficient_scope (RFC 6750 §3.1).
        if let Some(s) = requested.iter().find(|s| !client.scopes.contains(*s)) {
            return Err(ProtocolError::invalid_scope(format!(
                "the client is not registered for scope `{s}`"
            )));
        }
        let owner = client.owner.clone().unwrap_or_default();
        return issue_pat(ctx, client, &owner, requested.into_iter().collect(), false, None).await;
    }
    if requested.iter().any(|s| s != UMA_PROTECTION) {
        return Err(ProtocolError::invalid_scope(
            "only the uma_protection scope can be requested with client_credentials",
        ));
    }
    let owner = client
        .owner
        .clone()
        .ok_or_else(|| ProtocolError::unauthorized_client("this client acts for no resource owner"))?;
    let mut body = issue_pat(ctx, client, &owner, vec![UMA_PROTECTION.to_owned()], false, None).await?;
    if ctx.variant(Variant::PatScopeOmitted)
        && requested.len() == 1
        && let Some(o) = body.as_object_mut()
    {
        // RFC 6749 §5.1: scope is OPTIONAL when it is the scope the client asked for.
        o.remove("scope");
    }
    Ok(body)
}

async fn authorization_code(ctx: &Ctx, client: &ClientRecord, params: &Params) -> Result<Value, ProtocolError> {
    let code = params
        .get("code")
        .ok_or_else(|| ProtocolError::invalid_request("code is required"))?;
    let verifier = params.get("code_verifier").map(|v| CodeVerifier::new(v.as_str()));
    if let Some(v) = &verifier
        && !is_pkce_value(v.secret())
    {
        return Err(ProtocolError::invalid_request(
            "code_verifier must be 43 to 128 unreserved characters",
        ));
    }
    let Some(rec) = ctx.store.take_token(&hash_secret(code), TokenKind::Code).await? else {
        return Err(ProtocolError::invalid_grant("unknown or used authorization code"));
    };
    if rec.client_id != client.client_id || rec.expires_at <= ctx.clock.now() {
        return Err(ProtocolError::invalid_grant(
            "the authorization code is invalid or expired",
        ));
    }
    if rec.redirect_uri.as_ref() != params.get("redirect_uri") {
        return Err(ProtocolError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&rec.code_challenge, &verifier) {
        (Some(ch), Some(v)) if ct_eq(ch.as_bytes(), pkce_s256(v.secret()).as_bytes()) => {}
        // Variant pat-code-flow-pkce-optional: a code issued without a challenge needs no
        // verifier (a verifier without a challenge is still refused: RFC 9700 §4.8).
        (None, None) if ctx.variant(Variant::PatCodeFlowPkceOptional) => {}
        _ => {
            return Err(ProtocolError::invalid_grant(
                "code_verifier does not match the code challenge",
            ));
        }
    }
    let owner = rec.owner.clone().unwrap_or_default();
    issue_pat(ctx, client, &owner, rec.scopes, true, None).await
}

// ---- refresh (UMA Grant §3.6) ----

async fn refresh(ctx: &Ctx, client: &ClientRecord, params: &Params) -> Result<Value, ProtocolError> {
    let rt = params
        .get("refresh_token")
        .ok_or_else(|| ProtocolError::invalid_request("refresh_token is required"))?;
    let now = ctx.clock.now();
    let rec = match ctx.store.token(&hash_secret(rt)).await? {
        Some(r)
            if r.kind == TokenKind::Refresh && !r.revoked && r.expires_at > now && r.client_id == client.client_id =>
        {
            r
        }
        _ => {
            return Err(ProtocolError::invalid_grant(
                "the refresh token is invalid, expired or revoked",
            ));
        }
    };
    let narrowing = split_scope(params.get("scope"));
    match rec.refreshes {
        Some(TokenKind::Pat) => {
            let scopes = if narrowing.is_empty() {
                rec.scopes.clone()
            } else if narrowing.iter().all(|s| rec.scopes.contains(s)) {
                narrowing.into_iter().collect()
            } else {
                return Err(ProtocolError::invalid_scope(
                    "refresh may only narrow the original scope",
                ));
            };
            let mut body = issue_pat(
                ctx,
                client,
                rec.owner.as_deref().unwrap_or_default(),
                scopes,
                false,
                Some(rec.grant_id.clone()),
            )
            .await?;
            if let Some(next) = next_refresh_token(ctx, &rec, rt).await? {
                body["refresh_token"] = json!(next);
            }
            Ok(body)
        }
        Some(TokenKind::Rpt) => {
            // No authorization assessment on refresh (UMA Grant §3.6 MUST NOT); a `scope`
            // parameter may only narrow what the RPT already held (§3.6 MAY). A scope it never
            // held is `invalid_scope` (RFC 6749 §6, as for PATs above), and a resource narrowed
            // to no scope is dropped rather than kept as a zero-scope permission.
            let mut held = rec.permissions.clone();
            if ctx.quirk(Quirk::RefreshWidensScope) && !narrowing.is_empty() {
                // Quirk: named scopes are checked against the resources' registrations instead
                // of against what the RPT held.
                for p in &mut held {
                    if let Some(r) = ctx.store.resource(&p.resource_id).await? {
                        p.resource_scopes = r.scopes();
                    }
                }
            }
            if narrowing
                .iter()
                .any(|s| !held.iter().any(|p| p.resource_scopes.contains(s)))
            {
                return Err(ProtocolError::invalid_scope(
                    "refresh may only narrow the scopes the RPT held",
                ));
            }
            // Variant refresh-no-narrowing: the AS MAY narrow (§3.6), so it may also keep all.
            let narrow = !narrowing.is_empty() && !ctx.variant(Variant::RefreshNoNarrowing);
            let permissions: Vec<Permission> = held
                .iter()
                .map(|p| Permission {
                    resource_id: p.resource_id.clone(),
                    resource_scopes: p
                        .resource_scopes
                        .iter()
                        .filter(|s| !narrow || narrowing.contains(*s))
                        .cloned()
                        .collect(),
                })
                .filter(|p| !narrow || !p.resource_scopes.is_empty())
                .collect();
            let (rpt, _) = store_rpt(
                ctx,
                client,
                rec.owner.as_deref().unwrap_or_default(),
                &permissions,
                &rec.grant_id,
            )
            .await?;
            let mut body = json!({
                "access_token": rpt.secret(),
                "token_type": token_type(ctx),
                "expires_in": ctx.config.lifetimes.rpt,
            });
            if let Some(next) = next_refresh_token(ctx, &rec, rt).await? {
                body["refresh_token"] = json!(next);
            }
            Ok(body)
        }
        _ => Err(ProtocolError::invalid_grant("not a refresh token")),
    }
}

/// The refresh token a refresh response hands back (RFC 6749 §6): the one presented, or, under
/// the variant `refresh-token-rotates`, a new one that replaces it (the presented one is
/// revoked), or none under `refresh-without-new-refresh-token` (the client keeps its own).
async fn next_refresh_token(ctx: &Ctx, rec: &TokenRecord, presented: &str) -> Result<Option<String>, ProtocolError> {
    if ctx.variant(Variant::RefreshWithoutNewRefreshToken) {
        return Ok(None);
    }
    if !ctx.variant(Variant::RefreshTokenRotates) {
        return Ok(Some(presented.to_owned()));
    }
    let next = RefreshToken::new(random_token());
    let next_rec = TokenRecord {
        issued_at: ctx.clock.now(),
        expires_at: ctx.clock.now() + ctx.config.lifetimes.refresh_token,
        ..rec.clone()
    };
    ctx.store.put_token(&hash_secret(next.secret()), &next_rec).await?;
    ctx.store.revoke_token(&hash_secret(presented)).await?;
    Ok(Some(next.into_secret()))
}

// ---- RPTs ----

async fn store_rpt(
    ctx: &Ctx,
    client: &ClientRecord,
    owner: &str,
    permissions: &[Permission],
    grant_id: &str,
) -> Result<(Rpt, TokenRecord), ProtocolError> {
    let now = ctx.clock.now();
    let exp = now + ctx.config.lifetimes.rpt;
    let jti = random_token();
    let value = match ctx.config.rpt_format {
        RptFormat::Opaque => jti.clone(),
        RptFormat::Jwt => ctx.signer.sign(
            "at+jwt",
            &json!({
                "iss": ctx.issuer,
                "iat": now,
                "exp": exp,
                "jti": jti,
                "client_id": client.client_id,
                "azp": client.client_id,
                "permissions": permissions.iter().map(|p| json!({
                    "resource_id": p.resource_id,
                    "resource_scopes": p.resource_scopes,
                    "exp": exp,
                })).collect::<Vec<_>>(),
            }),
        )?,
    };
    let rec = TokenRecord {
        kind: TokenKind::Rpt,
        client_id: client.client_id.clone(),
        grant_id: grant_id.to_owned(),
        owner: Some(owner.to_owned()),
        scopes: Vec::new(),
        permissions: permissions.to_vec(),
        claims: Vec::new(),
        refreshes: None,
        redirect_uri: None,
        code_challenge: None,
        issued_at: now,
        expires_at: exp,
        revoked: false,
    };
    ctx.store.put_token(&hash_secret(&value), &rec).await?;
    Ok((Rpt::new(value), rec))
}

fn merge_permissions(a: &[Permission], b: &[Permission]) -> Vec<Permission> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in a.iter().chain(b) {
        m.entry(p.resource_id.clone())
            .or_default()
            .extend(p.resource_scopes.iter().cloned());
    }
    m.into_iter()
        .map(|(resource_id, s)| Permission {
            resource_id,
            resource_scopes: s.into_iter().collect(),
        })
        .collect()
}

struct Consumed {
    value: PermissionTicket,
    data: TicketData,
    expires_at: i64,
}

impl Consumed {
    /// Puts the consumed ticket back (for the quirks that keep tickets alive).
    async fn restore(&self, ctx: &Ctx) -> Result<(), ProtocolError> {
        ctx.store
            .put_ticket(&hash_secret(self.value.secret()), &self.data, self.expires_at)
            .await?;
        Ok(())
    }

    /// Issues the ticket that replaces this one (need_info, request_submitted).
    async fn rotate(&self, ctx: &Ctx, next: TicketData, rotate_value: bool) -> Result<PermissionTicket, ProtocolError> {
        let exp = ctx.clock.now() + ctx.config.lifetimes.ticket;
        let ticket = if rotate_value {
            issue_ticket(ctx, &next).await?
        } else {
            ctx.store
                .put_ticket(&hash_secret(self.value.secret()), &next, exp)
                .await?;
            self.value.clone()
        };
        if rotate_value && ctx.quirk(Quirk::RotatedTicketAccepted) {
            // The old ticket stays usable, but only by the client the process is bound to.
            let mut old = self.data.clone();
            old.client_id = next.client_id.clone();
            ctx.store
                .put_ticket(&hash_secret(self.value.secret()), &old, self.expires_at)
                .await?;
        }
        Ok(ticket)
    }
}

fn generic_required_claims(ctx: &Ctx) -> Vec<RequiredClaim> {
    let issuers: Vec<String> = ctx.config.trusted_issuers.iter().map(|t| t.issuer.clone()).collect();
    vec![RequiredClaim {
        name: "sub".into(),
        friendly_name: "subject".into(),
        claim_token_format: vec![ID_TOKEN_FORMAT.to_owned()],
        issuer: (!issuers.is_empty()).then_some(issuers),
    }]
}

/// `invalid_grant` for a ticket that is unknown, used or expired (UMA Grant §3.3.6: 400), or 403
/// under the `invalid-grant-as-403` quirk.
fn ticket_error(ctx: &Ctx, why: &str) -> ProtocolError {
    let mut e = ProtocolError::invalid_grant(why);
    if ctx.quirk(Quirk::InvalidGrantAs403) {
        e.status = 403;
    }
    e
}

/// Removes the ticket `value` from the store and returns it, atomically (UMA Grant §5.5: of
/// concurrent redemptions at most one gets it). Under the `ticket-race` quirk the ticket is
/// looked up, the request pauses, and the ticket is deleted without checking this request was
/// the one that removed it, so concurrent redemptions all get it.
async fn redeem_ticket(ctx: &Ctx, value: &str) -> Result<Option<(TicketData, i64)>, ProtocolError> {
    let hash = hash_secret(value);
    if !ctx.quirk(Quirk::TicketRace) {
        return Ok(ctx.store.take_ticket(&hash).await?);
    }
    let found = ctx.store.ticket(&hash).await?;
    if found.is_some() {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let _ = ctx.store.take_ticket(&hash).await?;
    }
    Ok(found)
}

async fn uma_ticket(ctx: &Ctx, client: &ClientRecord, params: &Params) -> Result<Value, ProtocolError> {
    // Parse everything first: a malformed request does not consume the ticket (digest P-11).
    let ticket = params
        .get("ticket")
        .ok_or_else(|| ProtocolError::invalid_request("ticket is required"))?;
    let claim_token = params.get("claim_token");
    let claim_format = params.get("claim_token_format");
    if claim_token.is_some() != claim_format.is_some() {
        return Err(ProtocolError::invalid_request(
            "claim_token and claim_token_format must be sent together",
        ));
    }
    if ctx.quirk(Quirk::PctWithClaimTokenRefused) && claim_token.is_some() && params.contains_key("pct") {
        return Err(ProtocolError::invalid_request(
            "send either a pct or a claim_token, not both",
        ));
    }
    // Variant no-icg-pkce: outside the profile, code_verifier is an unknown parameter
    // (RFC 6749 §3.2: ignored).
    let verifier = params
        .get("code_verifier")
        .filter(|_| !ctx.variant(Variant::NoIcgPkce))
        .map(|v| CodeVerifier::new(v.as_str()));
    if let Some(v) = &verifier
        && !is_pkce_value(v.secret())
        && !ctx.quirk(Quirk::VerifierFormatUnchecked)
    {
        return Err(ProtocolError::invalid_request(
            "code_verifier must be 43 to 128 unreserved characters",
        ));
    }
    let requested = split_scope(params.get("scope"));
    let now = ctx.clock.now();

    // Single use: the ticket is gone from here on, whatever the outcome (UMA Grant §5.5).
    let Some((data, expires_at)) = redeem_ticket(ctx, ticket).await? else {
        return Err(ticket_error(ctx, "unknown, used or expired ticket"));
    };
    let consumed = Consumed {
        value: PermissionTicket::new(ticket.clone()),
        data,
        expires_at,
    };
    // Quirk expired-ticket-accepted: expiry is left to the periodic sweep.
    if consumed.expires_at <= now && !ctx.quirk(Quirk::ExpiredTicketAccepted) {
        return Err(ticket_error(ctx, "the ticket has expired"));
    }
    // Quirk ticket-cross-client: the client a ticket was handed to is not compared.
    if consumed.data.client_id.as_ref().is_some_and(|c| c != &client.client_id) && !ctx.quirk(Quirk::TicketCrossClient)
    {
        return Err(ProtocolError::invalid_grant("the ticket belongs to another client"));
    }
    // PKCE profile (digest §10.1, rules 3, 4 and 6).
    match (&consumed.data.code_challenge, &verifier) {
        (Some(ch), Some(v)) => {
            if !ct_eq(ch.as_bytes(), pkce_s256(v.secret()).as_bytes()) && !ctx.quirk(Quirk::PkceNotEnforced) {
                return Err(ProtocolError::invalid_grant(
                    "code_verifier does not match the challenge bound to the ticket",
                ));
            }
        }
        (Some(_), None) => {
            if !ctx.quirk(Quirk::PkceNotEnforced) {
                return Err(ProtocolError::invalid_grant(
                    "this ticket is bound to a PKCE challenge: code_verifier is required",
                ));
            }
        }
        (None, Some(_)) => {
            if !ctx.quirk(Quirk::PkceDowngradeAccepted) {
                return Err(ProtocolError::invalid_grant(
                    "code_verifier sent but no challenge is bound to this ticket",
                ));
            }
        }
        (None, None) => {}
    }

    // Claims: gathered earlier in this process, a PCT, a pushed claim token.
    let mut claims: Vec<Claim> = consumed.data.claims.clone();
    let mut honoured_pct: Option<(String, TokenRecord)> = None;
    if let Some(pct) = params.get("pct")
        && let Some(p) = ctx.store.token(&hash_secret(pct)).await?
    {
        let same_client = p.client_id == client.client_id || ctx.quirk(Quirk::PctCrossClient);
        if p.kind == TokenKind::Pct && !p.revoked && p.expires_at > now && same_client {
            claims.extend(p.claims.iter().cloned());
            honoured_pct = Some((hash_secret(pct), p));
        }
    }
    let mut claim_error: Option<ClaimTokenError> = None;
    let mut pushed_claims = false;
    if ctx.variant(Variant::NoClaimTokenPushing) {
        // No claim token format is supported: a pushed token adds nothing, and the assessment
        // asks for what it still needs with need_info as for any request.
    } else if let (Some(tok), Some(fmt)) = (claim_token, claim_format) {
        let cx = ClaimContext {
            as_issuer: &ctx.issuer,
            client_id: &client.client_id,
            now,
            lax: crate::core::claims::Laxness {
                audience: ctx.quirk(Quirk::ClaimTokenWrongAudience),
                issuer: ctx.quirk(Quirk::ClaimTokenUntrustedIssuer),
                signature: ctx.quirk(Quirk::ClaimTokenBadSignature),
                expiry: ctx.quirk(Quirk::ClaimTokenExpired),
            },
        };
        match ctx.claim_verifier.verify(fmt, &ClaimToken::new(tok.as_str()), cx).await {
            Ok(c) => {
                pushed_claims = !c.is_empty();
                claims.extend(c);
            }
            Err(e) => claim_error = Some(e),
        }
    }

    // An existing RPT to upgrade (UMA Grant §3.3.5.1); it may be expired. The variants
    // no-upgrade and no-upgrade-flag-absent do not upgrade (§3.3.5.1 MAY).
    let upgrades = !(ctx.variant(Variant::NoUpgrade) || ctx.variant(Variant::NoUpgradeFlagAbsent));
    let old_rpt = match params.get("rpt") {
        Some(r) => {
            let hash = hash_secret(r);
            match ctx.store.token(&hash).await? {
                Some(t)
                    if t.kind == TokenKind::Rpt
                        && !t.revoked
                        && t.client_id == client.client_id
                        && t.owner.as_deref() == Some(consumed.data.owner.as_str()) =>
                {
                    Some((hash, t))
                }
                _ => None,
            }
        }
        None => None,
    };

    // The assessment (UMA Grant §3.3.4).
    let mut sets = Vec::new();
    let mut policies: HashMap<String, Option<ResourcePolicy>> = HashMap::new();
    for p in &consumed.data.permissions {
        let res = ctx
            .store
            .resource(&p.resource_id)
            .await?
            .filter(|r| r.owner == consumed.data.owner);
        sets.push(ResourceSets {
            id: p.resource_id.clone(),
            ticket_scopes: p.resource_scopes.iter().cloned().collect(),
            registered_scopes: res.map(|r| r.scopes().into_iter().collect()),
        });
        policies.insert(p.resource_id.clone(), ctx.store.policy(&p.resource_id).await?);
    }
    let approval = match &consumed.data.approval_id {
        Some(id) => ctx.store.approval(id).await?,
        None => None,
    };
    let registered: BTreeSet<String> = client.scopes.iter().cloned().collect();
    // `unknown_scopes: ignore`: a requested scope the client is not pre-registered for and no
    // ticket resource offers is left out (UMA Grant §3.3.1: such a scope is not considered;
    // RFC 6749 §3.3: the AS may ignore requested scope), instead of invalid_scope.
    let requested: BTreeSet<String> = if ctx.config.unknown_scopes == UnknownScopes::Ignore {
        requested
            .into_iter()
            .filter(|s| {
                registered.contains(s)
                    || sets
                        .iter()
                        .any(|r| r.registered_scopes.as_ref().is_some_and(|d| d.contains(s)))
            })
            .collect()
    } else {
        requested
    };
    let quirks = AssessmentQuirks {
        ignore_registered: ctx.quirk(Quirk::ClientScopesWithoutRegistration),
        drop_unmatched: ctx.quirk(Quirk::InvalidScopeIgnored),
    };
    let beyond_policy = ctx.quirk(Quirk::ScopesBeyondPolicy);
    let default_permit = ctx.quirk(Quirk::DefaultPermit);
    let choices = Choices {
        partial_outcome: ctx.config.partial_outcome,
        refuse_unregistered: ctx.variant(Variant::UnregisteredScopeRefused),
        approval_first: ctx.variant(Variant::ApprovalBeforeClaims),
        list_ungranted: ctx.variant(Variant::PartialRptListsUngranted),
    };
    let outcome = assess_with(&registered, &requested, &sets, choices, quirks, |r, s| {
        let policy = policies.get(r).and_then(|p| p.as_ref()).and_then(|p| p.for_scope(s));
        let state = match &approval {
            Some(a)
                if a.permissions
                    .iter()
                    .any(|p| p.resource_id == r && s.is_none_or(|s| p.resource_scopes.iter().any(|x| x == s))) =>
            {
                match a.status {
                    ApprovalStatus::Pending => ApprovalState::Pending,
                    ApprovalStatus::Approved => ApprovalState::Approved,
                    ApprovalStatus::Denied => ApprovalState::Denied,
                }
            }
            _ => ApprovalState::None,
        };
        if beyond_policy && matches!(policy, Some(ScopePolicy::Deny)) {
            // Quirk: a scope the owner's policy denies is granted anyway (F ignored).
            return Decision::Granted;
        }
        if default_permit && matches!(policies.get(r), Some(None)) {
            // Quirk: a resource the owner never set a policy for counts as unprotected.
            return Decision::Granted;
        }
        evaluate(policy, &claims, state)
    });

    let next = |approval_id: Option<String>| TicketData {
        process_id: consumed.data.process_id.clone(),
        owner: consumed.data.owner.clone(),
        rs_client: consumed.data.rs_client.clone(),
        permissions: consumed.data.permissions.clone(),
        client_id: Some(client.client_id.clone()),
        claims: claims.clone(),
        code_challenge: consumed.data.code_challenge.clone(),
        approval_id,
        persist_claims: consumed.data.persist_claims,
    };

    if let Outcome::InvalidScope { scope } = &outcome {
        return Err(ProtocolError::invalid_scope(format!(
            "scope `{scope}` matches no scope of the resources in the ticket"
        )));
    }
    if let Some(err) = claim_error {
        let required = match &outcome {
            Outcome::NeedInfo { required_claims } => required_claims.clone(),
            _ => generic_required_claims(ctx),
        };
        return need_info(
            ctx,
            &consumed,
            next(consumed.data.approval_id.clone()),
            required,
            Some(err.to_string()),
        )
        .await;
    }
    match outcome {
        Outcome::InvalidScope { .. } => unreachable!("handled above"),
        Outcome::Grant { permissions, .. } => {
            let grant_id = random_id();
            let (all, upgraded) = match &old_rpt {
                Some((_, old)) if upgrades => (merge_permissions(&permissions, &old.permissions), true),
                // Without upgrading (variants no-upgrade, no-upgrade-flag-absent) the new RPT may
                // still happen to hold every permission of the one sent; then G-AS-24 asks for
                // upgraded: true all the same.
                Some((_, old)) => {
                    let covered =
                        merge_permissions(&permissions, &old.permissions) == merge_permissions(&permissions, &[]);
                    (permissions, covered)
                }
                None => (permissions, false),
            };
            // An RPT the client sent that the new one does not cover stays as it is.
            let old_rpt = old_rpt.filter(|_| upgraded);
            // An expired RPT is not brought back to life: it is upgraded into a new string.
            let in_place = old_rpt
                .as_ref()
                .filter(|(_, old)| ctx.variant(Variant::UpgradeInPlace) && old.expires_at > now);
            let (rpt, rec) = match (in_place, params.get("rpt")) {
                // Variant upgrade-in-place (digest P-20): the RPT that was sent grows and comes
                // back as it was, so there is no old string to revoke.
                (Some((hash, old)), Some(sent)) => {
                    let grown = TokenRecord {
                        permissions: all.clone(),
                        issued_at: now,
                        expires_at: now + ctx.config.lifetimes.rpt,
                        revoked: false,
                        ..old.clone()
                    };
                    let _ = ctx.store.take_token(hash, TokenKind::Rpt).await?;
                    ctx.store.put_token(hash, &grown).await?;
                    (Rpt::new(sent.as_str()), grown)
                }
                _ => {
                    let stored = store_rpt(ctx, client, &consumed.data.owner, &all, &grant_id).await?;
                    if let Some((_, old)) = &old_rpt
                        && !ctx.quirk(Quirk::UpgradeKeepsOldRpt)
                    {
                        // The upgraded RPT is a new string: revoke the old one, and the refresh
                        // token issued with it, which would otherwise mint it again (UMA Grant
                        // §3.3.5.1).
                        ctx.store.revoke_grant(&old.grant_id).await?;
                    }
                    stored
                }
            };
            let mut body = json!({
                "access_token": rpt.secret(),
                "token_type": token_type(ctx),
                "expires_in": ctx.config.lifetimes.rpt,
            });
            if ctx.quirk(Quirk::TokenResponseIncomplete)
                && let Some(o) = body.as_object_mut()
            {
                o.remove("token_type");
            }
            if ctx.quirk(Quirk::RptResponseWithScope) {
                let scopes: BTreeSet<&str> = all
                    .iter()
                    .flat_map(|p| p.resource_scopes.iter().map(String::as_str))
                    .collect();
                body["scope"] = json!(scopes.into_iter().collect::<Vec<_>>().join(" "));
            }
            if !ctx.variant(Variant::NoRptRefreshToken) {
                let rt = RefreshToken::new(random_token());
                let rt_rec = TokenRecord {
                    kind: TokenKind::Refresh,
                    refreshes: Some(TokenKind::Rpt),
                    expires_at: now + ctx.config.lifetimes.refresh_token,
                    ..rec
                };
                ctx.store.put_token(&hash_secret(rt.secret()), &rt_rec).await?;
                body["refresh_token"] = json!(rt.secret());
            }
            let fresh_claims = pushed_claims || !consumed.data.claims.is_empty();
            if let Some(claims) = pct_claims(ctx, &consumed.data, &claims, honoured_pct.as_ref(), fresh_claims) {
                if let Some((hash, _)) = &honoured_pct
                    && ctx.variant(Variant::PctRotates)
                {
                    // Variant pct-rotates (digest P-19): the PCT presented is replaced.
                    ctx.store.revoke_token(hash).await?;
                }
                let pct = Pct::new(if ctx.quirk(Quirk::PctReadableJwt) {
                    crate::core::claims::readable_pct(ctx, &client.client_id, &claims, now)?
                } else {
                    random_token()
                });
                let pct_rec = TokenRecord {
                    kind: TokenKind::Pct,
                    client_id: client.client_id.clone(),
                    grant_id: random_id(),
                    owner: None,
                    scopes: Vec::new(),
                    permissions: Vec::new(),
                    claims: claims.clone(),
                    refreshes: None,
                    redirect_uri: None,
                    code_challenge: None,
                    issued_at: now,
                    expires_at: now + ctx.config.lifetimes.pct,
                    revoked: false,
                };
                ctx.store.put_token(&hash_secret(pct.secret()), &pct_rec).await?;
                body["pct"] = json!(pct.secret());
            }
            let flag = (params.contains_key("rpt") && !ctx.variant(Variant::NoUpgradeFlagAbsent))
                || ctx.variant(Variant::UpgradedAlwaysPresent)
                || upgraded;
            if flag && !ctx.quirk(Quirk::UpgradeFlagMissing) {
                body["upgraded"] = json!(upgraded);
            }
            if ctx.quirk(Quirk::TicketReusable) {
                consumed.restore(ctx).await?;
            }
            Ok(body)
        }
        Outcome::NeedInfo { required_claims } => {
            need_info(
                ctx,
                &consumed,
                next(consumed.data.approval_id.clone()),
                required_claims,
                None,
            )
            .await
        }
        Outcome::RequestSubmitted { pending } => {
            let approval_id = match &approval {
                Some(a) if a.status == ApprovalStatus::Pending => a.id.clone(),
                _ => {
                    let a = ApprovalRecord {
                        id: random_id(),
                        owner: consumed.data.owner.clone(),
                        client_id: client.client_id.clone(),
                        permissions: pending,
                        claims: claims.clone(),
                        status: ApprovalStatus::Pending,
                        created_at: now,
                    };
                    ctx.store.put_approval(&a).await?;
                    a.id
                }
            };
            let mut err = ProtocolError::new(
                403,
                "request_submitted",
                Some("the resource owner has been asked to approve".to_owned()),
            );
            if !ctx.variant(Variant::RequestSubmittedWithoutInterval) {
                err = err.with("interval", json!(ctx.config.poll_interval));
            }
            if !ctx.quirk(Quirk::RequestSubmittedWithoutTicket) {
                let data = next(Some(approval_id));
                let t = consumed.rotate(ctx, data.clone(), true).await?;
                if ctx.quirk(Quirk::SubmittedTicketShortLived) {
                    // Quirk: the new ticket lives only the poll interval, so it has expired by
                    // the time the client may poll.
                    let exp = now.saturating_add(i64::try_from(ctx.config.poll_interval).unwrap_or(i64::MAX));
                    ctx.store.put_ticket(&hash_secret(t.secret()), &data, exp).await?;
                }
                err = err.with("ticket", json!(t.secret()));
            }
            Err(err)
        }
        Outcome::Denied => Err(ProtocolError::request_denied()),
    }
}

/// The claims a new PCT holds, or `None` for no PCT (UMA Grant §3.3.5: OPTIONAL; its
/// lifecycle is the AS's choice, digest P-19). By default, every RPT obtained with claims comes
/// with a PCT holding them. `fresh` says whether claims beyond a presented PCT's came in.
fn pct_claims(
    ctx: &Ctx,
    ticket: &TicketData,
    claims: &[Claim],
    honoured: Option<&(String, TokenRecord)>,
    fresh: bool,
) -> Option<Vec<Claim>> {
    if ctx.variant(Variant::NoPct) {
        return None;
    }
    if ctx.variant(Variant::PctAfterConsent) {
        // Only what the requesting party agreed, on the claims form, to have remembered, and
        // what a PCT it presented already held (consented to earlier).
        let mut kept: Vec<Claim> = if ticket.persist_claims {
            ticket
                .claims
                .iter()
                .filter(|c| c.issuer == ctx.issuer)
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        if let Some((_, p)) = honoured {
            kept.extend(p.claims.iter().cloned());
        }
        return (!kept.is_empty()).then_some(kept);
    }
    if honoured.is_some() && !fresh && ctx.variant(Variant::PctNotReissued) {
        return None;
    }
    let wanted = !claims.is_empty()
        || ctx.variant(Variant::PctAlways)
        || (honoured.is_some() && ctx.variant(Variant::PctRotates));
    wanted.then(|| claims.to_vec())
}

async fn need_info(
    ctx: &Ctx,
    consumed: &Consumed,
    next: TicketData,
    required: Vec<RequiredClaim>,
    why: Option<String>,
) -> Result<Value, ProtocolError> {
    let t = consumed.rotate(ctx, next, !ctx.quirk(Quirk::NoTicketRotation)).await?;
    let mut err = ProtocolError::new(
        403,
        "need_info",
        why.or_else(|| Some("more claims are needed".to_owned())),
    )
    .with("ticket", json!(t.secret()));
    // G-AS-32: required_claims, redirect_user, or both (the variants take one of the two).
    if !ctx.variant(Variant::NeedInfoRedirectUserOnly) {
        err = err.with("required_claims", required_claims_json(ctx, &required));
    }
    // Interactive gathering can satisfy a requirement only if it accepts AS-asserted claims.
    let gatherable = required
        .iter()
        .any(|r| r.issuer.as_ref().is_none_or(|i| i.contains(&ctx.issuer)));
    let offered = !(ctx.variant(Variant::NeedInfoRequiredClaimsOnly) || ctx.variant(Variant::NoInteractiveClaims));
    if offered && (gatherable || ctx.variant(Variant::NeedInfoRedirectUserOnly)) {
        let mut uri = ctx.url(paths::CLAIMS);
        if ctx.variant(Variant::RedirectUserWithQuery) {
            // UMA Grant §3.3.6: redirect_user "may be customised per requesting party", e.g.
            // with a query parameter; the client adds its own parameters after it (P-13).
            uri = crate::core::interaction::append_query(&uri, &[("rqp_hint", &random_id())]);
        }
        err = err.with("redirect_user", json!(uri));
    }
    Err(err)
}

/// `required_claims` as sent: every member the AS knows, or only `name` under the variant
/// `required-claims-name-only` (all members are OPTIONAL, digest P-18), and no
/// `claim_token_format` under `no-claim-token-pushing` (no format is accepted).
fn required_claims_json(ctx: &Ctx, required: &[RequiredClaim]) -> Value {
    let name_only = ctx.variant(Variant::RequiredClaimsNameOnly);
    let no_format = ctx.variant(Variant::NoClaimTokenPushing);
    Value::Array(
        required
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
                if let Some(m) = v.as_object_mut() {
                    if name_only {
                        m.retain(|k, _| k == "name");
                    } else if no_format {
                        m.remove("claim_token_format");
                    }
                }
                v
            })
            .collect(),
    )
}

// ---- revocation (RFC 7009, UMA Grant §3.7) ----

/// Authenticates the client of a revocation request as at the token endpoint (RFC 7009 §2.1).
/// Under the `revocation-without-client-auth` quirk a client whose authentication fails is
/// served anyway, identified by the client_id it presented.
pub async fn revocation_client(ctx: &Ctx, creds: &PresentedCredentials) -> Result<ClientRecord, ProtocolError> {
    let err = match clients::authenticate(ctx, creds).await {
        Ok(c) => return Ok(c),
        Err(e) => e,
    };
    if !ctx.quirk(Quirk::RevocationWithoutClientAuth) {
        return Err(err);
    }
    let id = creds
        .authorization
        .as_deref()
        .and_then(clients::parse_basic)
        .map(|(id, _)| id.as_str().to_owned())
        .or_else(|| creds.body_client_id.clone());
    match id {
        Some(id) => ctx.store.client(&id).await?.ok_or(err),
        None => Err(err),
    }
}

/// Revokes a token issued to `client`. Unknown tokens and other clients' tokens are ignored
/// (RFC 7009 §2.2: the answer is 200 either way).
pub async fn revoke(ctx: &Ctx, client: &ClientRecord, params: &Params) -> Result<(), ProtocolError> {
    let token = params
        .get("token")
        .ok_or_else(|| ProtocolError::invalid_request("token is required"))?;
    let hash = hash_secret(token);
    match ctx.store.token(&hash).await? {
        // Quirk revoke-any-clients-token: the token's client is not compared.
        Some(t) if t.client_id == client.client_id || ctx.quirk(Quirk::RevokeAnyClientsToken) => match t.kind {
            TokenKind::Refresh => ctx.store.revoke_grant(&t.grant_id).await?,
            TokenKind::Code => {}
            // Quirks: RPTs (revocation-noop) or PCTs (revocation-ignores-pct) are answered 200
            // without being revoked.
            TokenKind::Rpt if ctx.quirk(Quirk::RevocationNoop) => {}
            TokenKind::Pct if ctx.quirk(Quirk::RevocationIgnoresPct) => {}
            // Variant revoke-rpt-revokes-grant: the refresh token issued with the RPT goes too
            // (RFC 7009 §2.1: the AS MAY revoke related tokens).
            TokenKind::Rpt if ctx.variant(Variant::RevokeRptRevokesGrant) => {
                ctx.store.revoke_grant(&t.grant_id).await?
            }
            TokenKind::Pat | TokenKind::Rpt | TokenKind::Pct => ctx.store.revoke_token(&hash).await?,
        },
        None if ctx.quirk(Quirk::RevokeUnknown400) => {
            return Err(ProtocolError::invalid_request("unknown token"));
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_rejected() {
        let e = parse_form(b"grant_type=a&grant_type=b").unwrap_err();
        assert_eq!(e.error, "invalid_request");
    }

    #[test]
    fn empty_parameters_are_treated_as_omitted() {
        let p = parse_form(b"grant_type=x&scope=&ticket=t").unwrap();
        assert!(!p.contains_key("scope"));
        assert_eq!(p["ticket"], "t");
    }
}
