//! A request that needs permissions on several resources at once: `GET /albums/{album}/photos`
//! shows an album with every photo in it, so it needs `view` on the album and on each photo. A
//! tokenless request gets one ticket for all of them (FedAuthz §4.1: one permission request, an
//! array of several permissions; §4.2: exactly one ticket); a request whose RPT lacks any one of
//! them gets a new ticket for all of them (UMA Grant §3.5), never a partial answer.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{
    Incoming, Kind, RESOURCES, RsState, decide, extract_token, find_resource, invalid_request, now_secs, uma_challenge,
    unreachable,
};
use crate::rs::{AsCall, Decision, DenyReason, ResourceDef};
use crate::types::PermissionTicket;

/// The route's handler.
pub(super) async fn album_photos(
    state: State<RsState>,
    Path(album): Path<String>,
    headers: HeaderMap,
    q: RawQuery,
) -> Response {
    let Some(album_def) = find_resource(Kind::Album, &album) else {
        return super::error_response(axum::http::StatusCode::NOT_FOUND, "not_found", "no such resource");
    };
    // The album's own owner's photos (another owner's resource cannot share its ticket, FedAuthz §4).
    let album_owner = state.owner_of_key(album_def.key);
    let photos: Vec<&ResourceDef> = RESOURCES
        .iter()
        .filter(|d| d.kind == Kind::Photo && state.owner_of_key(d.key) == album_owner)
        .collect();
    let needs: Vec<&ResourceDef> = std::iter::once(album_def).chain(photos.iter().copied()).collect();
    let req = Incoming {
        headers: &headers,
        query: q.0.as_deref(),
        body: None,
    };
    let token = match extract_token(req, &state.inner.config.quirks, &state.inner.config.variants) {
        Ok(t) => t,
        Err(why) => return invalid_request(&state, why),
    };
    let mut ids = Vec::new();
    for def in &needs {
        match state.resource_id(def).await {
            Ok(id) => ids.push(id),
            Err(e) => return unreachable(&state, &e),
        }
    }
    let Some(rpt) = token else {
        return challenge_all(&state, &ids, None).await;
    };
    let introspection = match state.introspect(&rpt, album_owner).await {
        Ok(v) => v,
        Err(e) => return unreachable(&state, &e),
    };
    let scope = state.wire_scope("view");
    let decisions: Vec<Decision> = ids
        .iter()
        .map(|id| decide(&introspection, id, &scope, now_secs(), &state.inner.config.quirks))
        .collect();
    // The quirk rs-several-any-one serves when any one permission is in force.
    let any_one =
        state.quirk(crate::quirks::Quirk::RsSeveralAnyOne) && decisions.iter().any(|d| matches!(d, Decision::Allow));
    let refused = decisions.into_iter().filter(|_| !any_one).find_map(|d| match d {
        Decision::Allow => None,
        Decision::Deny(reason) => Some(reason),
    });
    if let Some(reason) = refused {
        tracing::info!(
            album = album_def.key,
            reason = reason.as_str(),
            "the RPT does not cover the album and its photos"
        );
        return challenge_all(&state, &ids, Some(reason)).await;
    }
    tracing::info!(album = album_def.key, "album with its photos served with an RPT");
    axum::Json(json!({
        "resource": album_def.key,
        "scope": "view",
        "title": album_def.title,
        "photos": photos.iter().map(|d| json!({"resource": d.key, "title": d.title})).collect::<Vec<_>>(),
    }))
    .into_response()
}

/// A new ticket for `view` on every resource, in one permission request, and the challenge.
async fn challenge_all(state: &RsState, ids: &[String], failed: Option<DenyReason>) -> Response {
    let ep = match state.endpoints().await {
        Ok(ep) => ep,
        Err(e) => return unreachable(state, &e),
    };
    match request_tickets(state, ids).await {
        Ok(ticket) => uma_challenge(state, &ep, Some(&ticket), failed),
        Err(e) => unreachable(state, &e),
    }
}

/// One permission request with a permission per resource (FedAuthz §4.1, array form).
async fn request_tickets(state: &RsState, ids: &[String]) -> Result<PermissionTicket, crate::rs::RsError> {
    let scope = state.wire_scope("view");
    let body = Value::Array(
        ids.iter()
            .map(|id| json!({"resource_id": id, "resource_scopes": [scope]}))
            .collect(),
    );
    let owner = ids.first().map_or(super::Owner::First, |id| state.owner_of_id(id));
    let answer = state
        .protection_call_as(owner, AsCall::Permission, |ep, pat| {
            state
                .inner
                .http
                .post(&ep.permission)
                .bearer_auth(pat.secret())
                .json(&body)
        })
        .await?;
    state.renew_pat_after_request(owner).await;
    super::upstream::parse_ticket(&answer)
}
