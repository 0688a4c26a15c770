//! The HTTP face of the AS: axum handlers that extract, call the core, and map the result.

mod body;
mod extract;
pub mod limits;
pub mod test_clock;

use std::collections::BTreeMap;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::Value;
use tower_http::trace::TraceLayer;

use body::Media;
use extract::{PathId, QueryPairs, RawBody};

use crate::core::clients::{self, PresentedCredentials};
use crate::core::discovery::{self, paths};
use crate::core::grant::{self, Params};
use crate::core::interaction::{self, WebResponse};
use crate::core::protection::{self, PatContext};
use crate::core::{ProtocolError, SharedCtx};
use crate::quirks::Quirk;
use crate::types::ClientSecret;

mod mount;

/// The router of the whole AS, mounted where the variants say (under the issuer's path for
/// `issuer-with-path`, without the endpoints a variant withdrew).
pub fn app(ctx: SharedCtx) -> Router {
    mount::mount(ctx.clone(), routes(ctx))
}

/// The router for plain-HTTP requests sent to the AS's TLS port, which only a quirk answers:
/// the protection API under `protection-endpoints-http`, the token endpoint under
/// `token-endpoint-plaintext`; any other path gets 400 (as a web server answers a plain request
/// on an HTTPS port). `None` without such a quirk: a plain-HTTP connection fails the handshake.
pub fn plaintext_app(ctx: SharedCtx) -> Option<Router> {
    let mut open: Vec<&'static str> = Vec::new();
    if ctx.quirk(Quirk::ProtectionEndpointsHttp) {
        open.extend([paths::RESOURCE_SET, paths::PERMISSION, paths::INTROSPECT]);
    }
    if ctx.quirk(Quirk::TokenEndpointPlaintext) {
        open.push(paths::TOKEN);
    }
    if open.is_empty() {
        return None;
    }
    let mount = discovery::mount_path(&ctx);
    let gate = move |req: axum::extract::Request, next: axum::middleware::Next| {
        let path = req.uri().path();
        let rel = path.strip_prefix(mount.as_str()).unwrap_or(path).to_owned();
        let allowed = open
            .iter()
            .any(|p| rel == *p || rel.strip_prefix(p).is_some_and(|r| r.starts_with('/')));
        async move {
            if allowed {
                next.run(req).await
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    Html("<html><body><h1>400 Bad Request</h1><p>The plain HTTP request was sent to HTTPS port</p></body></html>"),
                )
                    .into_response()
            }
        }
    };
    Some(app(ctx).layer(axum::middleware::from_fn(gate)))
}

/// Every route, relative to the issuer.
fn routes(ctx: SharedCtx) -> Router {
    let limit = ctx.config.max_body_bytes;
    let router = Router::new()
        .route(paths::UMA_CONFIG, get(uma_metadata))
        .route(paths::OAUTH_CONFIG, get(oauth_metadata))
        .route(paths::JWKS, get(jwks))
        .route(paths::REGISTER, post(register))
        .route(
            paths::TOKEN,
            if ctx.quirk(Quirk::TokenGetAccepted) {
                post(token).get(token_get)
            } else {
                post(token)
            },
        )
        .route(paths::REVOKE, post(revoke))
        .route(paths::INTROSPECT, post(introspect))
        .route(paths::RESOURCE_SET, any(resource_collection))
        .route(&format!("{}/", paths::RESOURCE_SET), any(resource_collection))
        .route(&format!("{}/{{id}}", paths::RESOURCE_SET), any(resource_item))
        .route(paths::PERMISSION, post(permission))
        .route(paths::CLAIMS, get(claims_get).post(claims_post))
        .route(paths::AUTHORIZE, get(authorize_get).post(authorize_post))
        .route(&format!("{}/{{id}}", paths::POLICY), any(policy))
        .route(paths::APPROVALS, get(approvals))
        .route(&format!("{}/{{id}}", paths::APPROVALS), post(approval_decide))
        .route(
            &format!("{}/id_token", crate::core::demo_idp::PATH),
            post(demo_id_token),
        )
        .layer(DefaultBodyLimit::max(limit))
        // Before any handler reads a body: request targets and header sections over the limits
        // (414, 431), unsupported codings (415), declared lengths over the limit (413); and a
        // slow or stalled client cannot hold a request open forever (408).
        .layer(limits::BodyGuardLayer {
            limit,
            timeout: limits::REQUEST_TIMEOUT,
        });
    traced(router).with_state(ctx)
}

/// `router` with a span and events per request when the logs take them (`RUST_LOG` at `debug`
/// for this crate or `tower_http`); without, the layer would only cost every request the spans
/// and events nobody records (issue 13). Decided when the router is built, so logs set up
/// later (none are) would not see them.
fn traced<S: Clone + Send + Sync + 'static>(router: Router<S>) -> Router<S> {
    let wanted = tracing::enabled!(target: "uma_reference_server::http", tracing::Level::DEBUG)
        || tracing::enabled!(target: "tower_http::trace", tracing::Level::DEBUG);
    if !wanted {
        return router;
    }
    // Spans name the method and path only: query strings can carry tickets and states.
    router.layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<axum::body::Body>| {
        tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
    }))
}

/// Renders a [`ProtocolError`] as an OAuth JSON error response; an error without a code (a
/// request without credentials, RFC 6750 §3.1) has no body.
fn error_response(e: ProtocolError, no_store: bool) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = if e.has_code() {
        (status, Json(e.body())).into_response()
    } else {
        status.into_response()
    };
    if let Some(challenge) = &e.www_authenticate
        && let Ok(v) = HeaderValue::from_str(challenge)
    {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    if no_store {
        set_no_store(&mut resp);
    }
    resp
}

fn set_no_store(resp: &mut Response) {
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// Renders an error of a handler that dispatches on the method itself; a 405 names the methods
/// the resource does support (RFC 9110 §15.5.6: the `Allow` header is a MUST there).
fn method_error(e: ProtocolError, allow: &'static str) -> Response {
    let mut resp = error_response(e, true);
    if resp.status() == StatusCode::METHOD_NOT_ALLOWED {
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
    }
    resp
}

fn json_response(status: StatusCode, body: impl serde::Serialize) -> Response {
    let mut resp = (status, Json(body)).into_response();
    set_no_store(&mut resp);
    resp
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
}

fn cookies(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| {
            kv.trim()
                .split_once('=')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// The nonce of a page's script (`<script nonce="…">`), when it has one made of URL-safe
/// characters.
fn script_nonce(html: &str) -> Option<String> {
    let start = html.find("<script nonce=\"")? + "<script nonce=\"".len();
    let nonce: String = html[start..].chars().take_while(|c| *c != '"').collect();
    let safe = !nonce.is_empty() && nonce.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    safe.then_some(nonce)
}

fn web(r: WebResponse) -> Response {
    match r {
        WebResponse::Page {
            status,
            html,
            set_cookie,
        } => {
            let nonce = script_nonce(&html);
            let mut resp = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), Html(html)).into_response();
            if let Some(c) = set_cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
                resp.headers_mut().insert(header::SET_COOKIE, c);
            }
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp.headers_mut()
                .insert("x-frame-options", HeaderValue::from_static("DENY"));
            // A page with a script (the claims page of the `claims-page-script` variant) allows
            // that one script by its nonce, and nothing else. No `form-action`: browsers apply
            // it to the redirects that follow a form's submission too, and the claims and login
            // forms end in a redirect to the client.
            let script = nonce.map(|n| format!(" script-src 'nonce-{n}';")).unwrap_or_default();
            let csp = format!("default-src 'none';{script} style-src 'unsafe-inline'; frame-ancestors 'none'");
            if let Ok(v) = HeaderValue::from_str(&csp) {
                resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            resp
        }
        WebResponse::Redirect { location } => match HeaderValue::from_str(&location) {
            Ok(v) => {
                let mut resp = StatusCode::FOUND.into_response();
                resp.headers_mut().insert(header::LOCATION, v);
                resp.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                resp
            }
            Err(_) => error_response(ProtocolError::server_error(), true),
        },
    }
}

async fn uma_metadata(State(ctx): State<SharedCtx>) -> Response {
    metadata(&ctx, discovery::Form::Uma)
}

async fn oauth_metadata(State(ctx): State<SharedCtx>) -> Response {
    metadata(&ctx, discovery::Form::Oauth)
}

fn metadata(ctx: &SharedCtx, form: discovery::Form) -> Response {
    let mut resp = Json(discovery::metadata(ctx, form)).into_response();
    if ctx.quirk(Quirk::DiscoveryNotJson) {
        // Like a static file without an extension behind a web server: the JSON text goes out
        // as application/octet-stream.
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
    }
    resp
}

async fn jwks(State(ctx): State<SharedCtx>) -> Response {
    Json(ctx.signer.jwks()).into_response()
}

async fn register(State(ctx): State<SharedCtx>, headers: HeaderMap, RawBody(body): RawBody) -> Response {
    if !ctx.config.open_registration {
        return error_response(
            ProtocolError::new(403, "access_denied", Some("registration is closed".into())),
            true,
        );
    }
    let result = async {
        // RFC 7591 §3.2.2: a body that is not JSON metadata is invalid_client_metadata.
        let v = body::json(&headers, &body)
            .map_err(|e| ProtocolError::invalid_client_metadata(e.description.unwrap_or_default()))?;
        clients::register(&ctx, &v).await
    }
    .await;
    match result {
        Ok(r) => json_response(StatusCode::CREATED, clients::registration_response(&ctx, &r)),
        Err(e) => error_response(e, true),
    }
}

fn credentials(headers: &HeaderMap, params: &mut Params) -> PresentedCredentials {
    PresentedCredentials {
        authorization: authorization(headers).map(str::to_owned),
        body_client_id: params.get("client_id").cloned(),
        body_client_secret: params.remove("client_secret").map(ClientSecret::new),
    }
}

async fn token(State(ctx): State<SharedCtx>, headers: HeaderMap, RawBody(body): RawBody) -> Response {
    let result = async {
        body::require_form(&ctx, &headers)?;
        token_request(&ctx, &headers, &body).await
    }
    .await;
    token_response(&ctx, result)
}

/// Quirk `token-get-accepted`: the query string of a GET is taken as the token request.
async fn token_get(State(ctx): State<SharedCtx>, headers: HeaderMap, uri: axum::http::Uri) -> Response {
    let query = uri.query().unwrap_or_default().to_owned();
    let result = token_request(&ctx, &headers, query.as_bytes()).await;
    token_response(&ctx, result)
}

async fn token_request(ctx: &SharedCtx, headers: &HeaderMap, body: &[u8]) -> Result<Value, ProtocolError> {
    let mut params = grant::parse_token_form(ctx, body)?;
    let creds = credentials(headers, &mut params);
    grant::token_request(ctx, &creds, &params).await
}

fn token_response(ctx: &SharedCtx, result: Result<Value, ProtocolError>) -> Response {
    let no_store = !ctx.quirk(Quirk::NoCacheControl);
    match result {
        Ok(v) => {
            let mut resp = (StatusCode::OK, Json(v)).into_response();
            if no_store {
                set_no_store(&mut resp);
            }
            resp
        }
        Err(e) => error_response(e, no_store),
    }
}

async fn revoke(State(ctx): State<SharedCtx>, headers: HeaderMap, RawBody(body): RawBody) -> Response {
    let result = async {
        body::require_form(&ctx, &headers)?;
        let mut params = grant::parse_form(&body)?;
        let creds = credentials(&headers, &mut params);
        let client = grant::revocation_client(&ctx, &creds).await?;
        grant::revoke(&ctx, &client, &params).await
    }
    .await;
    match result {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => error_response(e, true),
    }
}

async fn pat(ctx: &SharedCtx, headers: &HeaderMap) -> Result<PatContext, ProtocolError> {
    protection::authorize_pat(ctx, authorization(headers)).await
}

async fn introspect(State(ctx): State<SharedCtx>, headers: HeaderMap, RawBody(body): RawBody) -> Response {
    let result = async {
        let pat = protection::authorize_introspection_caller(&ctx, authorization(&headers)).await?;
        body::require_form(&ctx, &headers)?;
        let params = grant::parse_form(&body)?;
        let token = params
            .get("token")
            .ok_or_else(|| ProtocolError::invalid_request("token is required"))?;
        protection::introspect(&ctx, &pat, token).await
    }
    .await;
    match result {
        Ok(v) => json_response(StatusCode::OK, v),
        Err(e) => error_response(e, true),
    }
}

async fn resource_collection(
    State(ctx): State<SharedCtx>,
    method: Method,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    let result = async {
        let pat = pat(&ctx, &headers).await?;
        match method {
            Method::POST => {
                let v = body::json(&headers, &body)?;
                let (id, body) = protection::create_resource(&ctx, &pat, &v).await?;
                let mut resp = json_response(StatusCode::CREATED, body);
                if !ctx.quirk(Quirk::CreateWithoutLocation)
                    && let Ok(loc) = HeaderValue::from_str(&protection::resource_location(&ctx, &id))
                {
                    resp.headers_mut().insert(header::LOCATION, loc);
                }
                Ok(resp)
            }
            Method::GET => Ok(json_response(
                StatusCode::OK,
                protection::list_resources(&ctx, &pat).await?,
            )),
            _ => Err(ProtocolError::unsupported_method()),
        }
    }
    .await;
    result.unwrap_or_else(|e| method_error(protection::registration_error(&ctx, e), "GET, POST"))
}

async fn resource_item(
    State(ctx): State<SharedCtx>,
    PathId(id): PathId,
    method: Method,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    let result = async {
        let pat = pat(&ctx, &headers).await?;
        match method {
            Method::GET => Ok(json_response(
                StatusCode::OK,
                protection::read_resource(&ctx, &pat, &id).await?,
            )),
            Method::PUT => {
                let v = body::json(&headers, &body)?;
                Ok(json_response(
                    StatusCode::OK,
                    protection::update_resource(&ctx, &pat, &id, &v).await?,
                ))
            }
            Method::DELETE => {
                protection::delete_resource(&ctx, &pat, &id).await?;
                let status = StatusCode::from_u16(protection::delete_status(&ctx)).unwrap_or(StatusCode::NO_CONTENT);
                Ok(status.into_response())
            }
            _ => Err(ProtocolError::unsupported_method()),
        }
    }
    .await;
    result.unwrap_or_else(|e| method_error(protection::registration_error(&ctx, e), "GET, PUT, DELETE"))
}

async fn permission(State(ctx): State<SharedCtx>, headers: HeaderMap, RawBody(body): RawBody) -> Response {
    let pat = match pat(&ctx, &headers).await {
        Ok(p) => p,
        Err(e) => return error_response(e, true),
    };
    let result = async {
        let v = body::json(&headers, &body)?;
        protection::request_permissions(&ctx, &pat, &v).await
    }
    .await;
    match result {
        Ok(v) => json_response(StatusCode::CREATED, v),
        Err(e) if ctx.quirk(Quirk::ProtectionErrorPlainText) => plain_text_error(e),
        Err(e) => error_response(e, true),
    }
}

/// The quirk `protection-error-plain-text`: an error of an authenticated permission request as a
/// line of plain text instead of a JSON object.
fn plain_text_error(e: ProtocolError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, e.to_string()).into_response();
    set_no_store(&mut resp);
    resp
}

async fn claims_get(State(ctx): State<SharedCtx>, QueryPairs(q): QueryPairs) -> Response {
    match single_valued(q) {
        Ok(q) => interaction::claims_start(&ctx, &q)
            .await
            .map(web)
            .unwrap_or_else(|e| error_response(e, true)),
        Err(name) => web(WebResponse::Page {
            status: 400,
            html: format!(
                "<!doctype html><p id=\"error\">parameter {} is repeated</p>",
                interaction::escape(&name)
            ),
            set_cookie: None,
        }),
    }
}

/// Query parameters as a map; a repeated name is refused (RFC 6749 §3.1 by analogy).
fn single_valued(q: Vec<(String, String)>) -> Result<BTreeMap<String, String>, String> {
    let mut m = BTreeMap::new();
    for (k, v) in q {
        if m.contains_key(&k) {
            return Err(k);
        }
        if !v.is_empty() {
            m.insert(k, v);
        }
    }
    Ok(m)
}

async fn claims_post(State(ctx): State<SharedCtx>, headers: HeaderMap, RawBody(body): RawBody) -> Response {
    let form = match body::require(&headers, Media::Form).and_then(|()| grant::parse_form(&body)) {
        Ok(f) => f,
        Err(e) => return error_response(e, true),
    };
    interaction::claims_submit(&ctx, &form, &cookies(&headers))
        .await
        .map(web)
        .unwrap_or_else(|e| error_response(e, true))
}

async fn authorize_get(State(ctx): State<SharedCtx>, QueryPairs(q): QueryPairs) -> Response {
    match single_valued(q) {
        Ok(q) => interaction::authorize_start(&ctx, &q)
            .await
            .map(web)
            .unwrap_or_else(|e| error_response(e, true)),
        Err(name) => error_response(
            ProtocolError::invalid_request(format!("parameter `{name}` is repeated")),
            true,
        ),
    }
}

async fn authorize_post(State(ctx): State<SharedCtx>, headers: HeaderMap, RawBody(body): RawBody) -> Response {
    let form = match body::require(&headers, Media::Form).and_then(|()| grant::parse_form(&body)) {
        Ok(f) => f,
        Err(e) => return error_response(e, true),
    };
    interaction::authorize_submit(&ctx, &form, &cookies(&headers))
        .await
        .map(web)
        .unwrap_or_else(|e| error_response(e, true))
}

async fn policy(
    State(ctx): State<SharedCtx>,
    PathId(id): PathId,
    method: Method,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    let result = async {
        let pat = pat(&ctx, &headers).await?;
        match method {
            Method::GET => Ok(json_response(
                StatusCode::OK,
                protection::get_policy(&ctx, &pat, &id).await?,
            )),
            Method::PUT => {
                let v = body::json(&headers, &body)?;
                Ok(json_response(
                    StatusCode::OK,
                    protection::set_policy(&ctx, &pat, &id, &v).await?,
                ))
            }
            Method::DELETE => {
                protection::delete_policy(&ctx, &pat, &id).await?;
                Ok(StatusCode::NO_CONTENT.into_response())
            }
            _ => Err(ProtocolError::unsupported_method()),
        }
    }
    .await;
    result.unwrap_or_else(|e| method_error(e, "GET, PUT, DELETE"))
}

async fn approvals(State(ctx): State<SharedCtx>, headers: HeaderMap) -> Response {
    let result = async {
        let pat = pat(&ctx, &headers).await?;
        protection::list_approvals(&ctx, &pat).await
    }
    .await;
    match result {
        Ok(v) => json_response(StatusCode::OK, v),
        Err(e) => error_response(e, true),
    }
}

async fn approval_decide(
    State(ctx): State<SharedCtx>,
    PathId(id): PathId,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Response {
    let result = async {
        let pat = pat(&ctx, &headers).await?;
        let v = body::json(&headers, &body)?;
        protection::decide_approval(&ctx, &pat, &id, &v).await
    }
    .await;
    match result {
        Ok(v) => json_response(StatusCode::OK, v),
        Err(e) => error_response(e, true),
    }
}

async fn demo_id_token(State(ctx): State<SharedCtx>, headers: HeaderMap, RawBody(body): RawBody) -> Response {
    let Some(idp) = &ctx.demo_idp else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match body::require(&headers, Media::Form)
        .and_then(|()| grant::parse_form(&body))
        .and_then(|p| idp.mint(&ctx, &p))
    {
        Ok(v) => json_response(StatusCode::OK, v),
        Err(e) => error_response(e, true),
    }
}
