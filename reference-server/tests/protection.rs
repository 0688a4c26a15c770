//! Router tests of the reference AS's protection side: discovery, RFC 7591 registration, client
//! authentication, PATs (client credentials and authorization code with PKCE), the protection
//! API (resource registration, permission endpoint, introspection), revocation, the policy and
//! approval APIs, and the quirks that break them on purpose.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::{Value, json};
use uma_reference_server::core::discovery::{PROFILE_ICG_ISS, PROFILE_ICG_PKCE};
use uma_reference_server::crypto::pkce_s256;
use uma_reference_server::{Config, Quirk};

/// The demo RS's registered redirect URI (PATs by authorization code).
const RS_REDIRECT: &str = "http://127.0.0.1:9/rs/callback";
/// The RFC 7636 Appendix B verifier.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// A verifier that does not match [`VERIFIER`]'s challenge.
const OTHER_VERIFIER: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
/// The `state` sent to the authorization endpoint.
const STATE: &str = "st-4711";

// ---- helpers ----

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The query parameters of a redirect `Location`.
fn query_of(location: &str) -> BTreeMap<String, String> {
    url::Url::parse(location)
        .unwrap_or_else(|e| panic!("Location `{location}` is not a URL: {e}"))
        .query_pairs()
        .into_owned()
        .collect()
}

/// The value of `<input ... name="{name}" value="...">` in a page.
fn hidden_input(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no input `{name}` in {html}"))
        + marker.len();
    let len = html[start..].find('"').expect("the value attribute is closed");
    html[start..start + len].to_owned()
}

/// A string array member as a set.
fn set_of(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("a string").to_owned())
        .collect()
}

fn strings(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// `/authorize?…` for the demo RS, with an S256 challenge of [`VERIFIER`] unless `challenge` is off.
fn authorize_uri(challenge: bool) -> String {
    authorize_uri_for(RS.0, RS_REDIRECT, challenge)
}

/// `/authorize?…` for any client.
fn authorize_uri_for(client_id: &str, redirect_uri: &str, challenge: bool) -> String {
    let ch = pkce_s256(VERIFIER);
    let mut pairs = vec![
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("scope", "uma_protection"),
        ("state", STATE),
    ];
    if challenge {
        pairs.push(("code_challenge", &ch));
        pairs.push(("code_challenge_method", "S256"));
    }
    format!("/authorize?{}", form(&pairs))
}

/// What the login page hands the browser.
struct LoginPage {
    interaction: String,
    csrf: String,
    /// `name=value` of the `Set-Cookie` header.
    cookie: String,
}

async fn login_page(as_: &TestAs) -> LoginPage {
    login_page_at(as_, &authorize_uri(true)).await
}

async fn login_page_at(as_: &TestAs, authorize_uri: &str) -> LoginPage {
    let r = as_.get(authorize_uri, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let set_cookie = r.header("set-cookie").expect("the login page sets a cookie");
    let html = r.text();
    LoginPage {
        interaction: hidden_input(&html, "interaction"),
        csrf: hidden_input(&html, "csrf_token"),
        cookie: set_cookie.split(';').next().unwrap_or_default().trim().to_owned(),
    }
}

/// POSTs the login form as `alice` with `password`, sending `cookie` if given.
async fn submit_login(as_: &TestAs, page: &LoginPage, password: &str, cookie: Option<&str>) -> Resp {
    let body = form(&[
        ("interaction", &page.interaction),
        ("csrf_token", &page.csrf),
        ("username", "alice"),
        ("password", password),
    ]);
    let mut b = Request::post("/authorize").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    as_.send(b.body(Body::from(body)).unwrap()).await
}

/// Logs alice in at demo-rs and returns the authorization code.
async fn alice_code(as_: &TestAs) -> String {
    alice_code_for(as_, RS.0, RS_REDIRECT).await
}

/// Logs alice in for any client and returns the authorization code.
async fn alice_code_for(as_: &TestAs, client_id: &str, redirect_uri: &str) -> String {
    let page = login_page_at(as_, &authorize_uri_for(client_id, redirect_uri, true)).await;
    let r = submit_login(as_, &page, "alice-password", Some(&page.cookie)).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text());
    query_of(&r.header("location").expect("a Location"))["code"].clone()
}

/// Redeems a code at the token endpoint as demo-rs.
async fn redeem_code(as_: &TestAs, code: &str, verifier: &str) -> Resp {
    as_.form(
        "/token",
        Some(&basic(RS)),
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", RS_REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

/// A PAT for end user alice (via demo-rs), by authorization code.
async fn alice_pat(as_: &TestAs) -> String {
    let code = alice_code(as_).await;
    let r = redeem_code(as_, &code, VERIFIER).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.str("access_token")
}

/// An open resource with `scopes` and the successful token response for all of them.
async fn open_rpt(as_: &TestAs, pat: &str, scopes: &[&str]) -> (String, Resp) {
    let (rid, ticket) = as_.open_resource_ticket(pat, scopes, scopes).await;
    let r = as_.uma_token(&ticket, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    (rid, r)
}

/// A resource whose `view` scope needs the claim `email=bob@example.com`.
async fn claims_resource(as_: &TestAs, pat: &str) -> String {
    let rid = as_.resource(pat, &["view"]).await;
    as_.policy(
        pat,
        &rid,
        json!({"scopes": {"view": {"type": "claims", "claims": {"email": "bob@example.com"}}}}),
    )
    .await;
    rid
}

/// A PCT for demo-client, earned by pushing an ID token against [`claims_resource`].
async fn pct_for(as_: &TestAs, pat: &str, rid: &str) -> String {
    let ticket = as_.ticket_for(pat, rid, &["view"]).await;
    let id_token = as_.id_token(&[("email", "bob@example.com")]).await;
    let r = as_.push_id_token(&ticket, &id_token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.str("pct")
}

/// A refresh_token grant by demo-client.
async fn refresh_rpt(as_: &TestAs, rt: &str) -> Resp {
    as_.form(
        "/token",
        Some(&basic(CLIENT)),
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
    )
    .await
}

async fn register(as_: &TestAs, body: Value) -> Resp {
    as_.json("POST", "/register", None, &body).await
}

/// A client_credentials PAT request with the given client authentication.
async fn pat_request(as_: &TestAs, auth: Option<&str>, extra: &[(&str, &str)]) -> Resp {
    let mut pairs = vec![("grant_type", "client_credentials"), ("scope", "uma_protection")];
    pairs.extend_from_slice(extra);
    as_.form("/token", auth, &pairs).await
}

fn assert_full_metadata(r: &Resp) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let ct = r.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("application/json"), "content type {ct}");
    let m = r.json();
    let url = |p: &str| json!(format!("{ISSUER}{p}"));
    assert_eq!(m["issuer"], "https://as.test");
    assert_eq!(m["token_endpoint"], url("/token"));
    assert_eq!(m["authorization_endpoint"], url("/authorize"));
    assert_eq!(m["claims_interaction_endpoint"], url("/claims"));
    assert_eq!(m["registration_endpoint"], url("/register"));
    assert_eq!(m["revocation_endpoint"], url("/revoke"));
    assert_eq!(m["introspection_endpoint"], url("/introspect"));
    assert_eq!(m["jwks_uri"], url("/jwks"));
    assert_eq!(m["permission_endpoint"], url("/permission"));
    assert_eq!(m["resource_registration_endpoint"], url("/resource_set"));
    let profiles = set_of(&m["uma_profiles_supported"]);
    assert!(profiles.contains(PROFILE_ICG_PKCE), "{profiles:?}");
    assert!(profiles.contains(PROFILE_ICG_ISS), "{profiles:?}");
    assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(m["authorization_response_iss_parameter_supported"], json!(true));
    let auth_methods = set_of(&m["token_endpoint_auth_methods_supported"]);
    assert!(auth_methods.contains("client_secret_basic"), "{auth_methods:?}");
    assert!(set_of(&m["grant_types_supported"]).contains(UMA_GRANT));
}

// ---- 1. discovery ----

#[tokio::test]
async fn the_uma2_configuration_document_names_the_issuer_and_every_endpoint_and_profile() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = as_.get("/.well-known/uma2-configuration", None).await;

    // Assert
    assert_full_metadata(&r);
}

#[tokio::test]
async fn the_oauth_authorization_server_metadata_is_the_same_complete_document() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let oauth = as_.get("/.well-known/oauth-authorization-server", None).await;
    let uma = as_.get("/.well-known/uma2-configuration", None).await;

    // Assert
    assert_full_metadata(&oauth);
    assert_eq!(oauth.json(), uma.json());
}

#[tokio::test]
async fn the_jwks_endpoint_serves_a_non_empty_key_set_without_private_parts() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = as_.get("/jwks", None).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK);
    let keys = r.json()["keys"].as_array().cloned().expect("a keys array");
    assert!(!keys.is_empty());
    for k in &keys {
        assert!(k["kty"].is_string(), "{k}");
        assert!(k.get("d").is_none(), "a private key is published: {k}");
    }
}

// ---- 2. dynamic registration (RFC 7591) ----

#[tokio::test]
async fn registration_answers_201_with_credentials_and_echoes_the_metadata() {
    // Arrange
    let as_ = TestAs::new().await;
    let body = json!({
        "redirect_uris": ["https://client.example/cb"],
        "claims_redirect_uris": ["https://client.example/claims?x=1"],
        "scope": "view download",
        "token_endpoint_auth_method": "client_secret_post",
        "client_name": "Test client",
    });

    // Act
    let r = register(&as_, body).await;

    // Assert
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let v = r.json();
    assert!(!r.str("client_id").is_empty());
    assert!(r.str("client_secret").len() >= 32);
    assert_eq!(v["client_secret_expires_at"], json!(0));
    assert_eq!(v["redirect_uris"], json!(["https://client.example/cb"]));
    assert_eq!(v["claims_redirect_uris"], json!(["https://client.example/claims?x=1"]));
    assert_eq!(v["token_endpoint_auth_method"], "client_secret_post");
    let scope = r.str("scope");
    let scopes: BTreeSet<&str> = scope.split(' ').collect();
    assert_eq!(scopes, BTreeSet::from(["download", "view"]));
    assert_eq!(v["client_name"], "Test client");
}

#[tokio::test]
async fn a_client_registered_with_auth_method_none_gets_no_secret() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = register(
        &as_,
        json!({"token_endpoint_auth_method": "none", "claims_redirect_uris": [CLAIMS_REDIRECT]}),
    )
    .await;

    // Assert
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    assert_eq!(v["token_endpoint_auth_method"], "none");
    assert!(v["client_id"].is_string());
    assert!(v.get("client_secret").is_none(), "{v}");
    assert!(v.get("client_secret_expires_at").is_none(), "{v}");
}

#[tokio::test]
async fn an_unsupported_token_endpoint_auth_method_is_invalid_client_metadata() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = register(&as_, json!({"token_endpoint_auth_method": "private_key_jwt_typo"})).await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_client_metadata");
}

#[tokio::test]
async fn a_redirect_uri_with_a_fragment_is_invalid_redirect_uri() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let plain = register(&as_, json!({"redirect_uris": ["https://client.example/cb#frag"]})).await;
    let claims = register(
        &as_,
        json!({"claims_redirect_uris": ["https://client.example/claims#frag"]}),
    )
    .await;

    // Assert
    assert_eq!(plain.status, StatusCode::BAD_REQUEST);
    assert_eq!(plain.error(), "invalid_redirect_uri");
    assert_eq!(claims.status, StatusCode::BAD_REQUEST);
    assert_eq!(claims.error(), "invalid_redirect_uri");
}

#[tokio::test]
async fn malformed_registration_json_is_a_400_error() {
    // Arrange
    let as_ = TestAs::new().await;
    let req = Request::post("/register")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"redirect_uris\": ["))
        .unwrap();

    // Act
    let r = as_.send(req).await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_client_metadata");
}

#[tokio::test]
async fn a_registered_public_client_authenticates_with_its_client_id_alone() {
    // Arrange
    let as_ = TestAs::new().await;
    let reg = register(&as_, json!({"token_endpoint_auth_method": "none", "scope": "view"})).await;
    let client_id = reg.str("client_id");
    let pat = as_.pat().await;
    let (_, ticket) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let r = as_
        .form(
            "/token",
            None,
            &[
                ("grant_type", UMA_GRANT),
                ("ticket", &ticket),
                ("client_id", &client_id),
            ],
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.str("token_type"), "Bearer");
    assert!(!r.str("access_token").is_empty());
}

#[tokio::test]
async fn a_public_client_that_sends_a_secret_is_refused() {
    // Arrange
    let as_ = TestAs::new().await;
    let reg = register(&as_, json!({"token_endpoint_auth_method": "none"})).await;
    let client_id = reg.str("client_id");

    // Act
    let r = as_
        .form(
            "/token",
            None,
            &[
                ("grant_type", UMA_GRANT),
                ("ticket", "t"),
                ("client_id", &client_id),
                ("client_secret", "guess"),
            ],
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error(), "invalid_client");
}

#[tokio::test]
async fn a_client_secret_post_client_authenticates_with_credentials_in_the_body() {
    // Arrange
    let as_ = TestAs::new().await;
    let reg = register(
        &as_,
        json!({"token_endpoint_auth_method": "client_secret_post", "scope": "view"}),
    )
    .await;
    let (client_id, secret) = (reg.str("client_id"), reg.str("client_secret"));
    let pat = as_.pat().await;
    let (_, ticket) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    let (_, ticket2) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let ok = as_
        .form(
            "/token",
            None,
            &[
                ("grant_type", UMA_GRANT),
                ("ticket", &ticket),
                ("client_id", &client_id),
                ("client_secret", &secret),
            ],
        )
        .await;
    let wrong = as_
        .form(
            "/token",
            None,
            &[
                ("grant_type", UMA_GRANT),
                ("ticket", &ticket2),
                ("client_id", &client_id),
                ("client_secret", "nope"),
            ],
        )
        .await;

    // Assert
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    assert!(!ok.str("access_token").is_empty());
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.error(), "invalid_client");
}

// ---- 3. client authentication (G-AS-11) ----

#[tokio::test]
async fn a_wrong_basic_secret_is_401_invalid_client_with_a_basic_challenge() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = pat_request(&as_, Some(&basic(("demo-rs", "wrong-secret"))), &[]).await;

    // Assert
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error(), "invalid_client");
    let challenge = r.header("www-authenticate").expect("a WWW-Authenticate header");
    assert!(challenge.to_ascii_lowercase().starts_with("basic"), "{challenge}");
}

#[tokio::test]
async fn basic_credentials_plus_a_client_secret_in_the_body_is_invalid_request() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = pat_request(&as_, Some(&basic(RS)), &[("client_secret", RS.1)]).await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_request");
}

#[tokio::test]
async fn an_unknown_client_is_401_invalid_client() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = pat_request(&as_, Some(&basic(("no-such-client", "secret"))), &[]).await;

    // Assert
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error(), "invalid_client");
    assert!(r.header("www-authenticate").is_some());
}

#[tokio::test]
async fn a_token_request_without_any_client_credentials_is_401_invalid_client() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = pat_request(&as_, None, &[]).await;

    // Assert
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error(), "invalid_client");
}

#[tokio::test]
async fn a_confidential_client_that_sends_only_its_client_id_is_refused() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = pat_request(&as_, None, &[("client_id", RS.0)]).await;

    // Assert
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error(), "invalid_client");
}

#[tokio::test]
async fn a_token_request_that_is_not_form_encoded_is_invalid_request() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = as_
        .json(
            "POST",
            "/token",
            Some(&basic(RS)),
            &json!({"grant_type": "client_credentials", "scope": "uma_protection"}),
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_request");
}

#[tokio::test]
async fn a_repeated_token_request_parameter_is_invalid_request() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = pat_request(&as_, Some(&basic(RS)), &[("scope", "uma_protection")]).await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_request");
}

#[tokio::test]
async fn an_unknown_grant_type_is_unsupported_grant_type() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = as_
        .form(
            "/token",
            Some(&basic(RS)),
            &[("grant_type", "password"), ("username", "alice")],
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "unsupported_grant_type");
}

#[tokio::test]
async fn a_client_that_acts_for_no_owner_may_not_use_client_credentials() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = pat_request(&as_, Some(&basic(CLIENT)), &[]).await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "unauthorized_client");
}

// ---- 4. PATs ----

#[tokio::test]
async fn a_client_credentials_pat_is_a_no_store_bearer_token_with_scope_uma_protection() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = pat_request(&as_, Some(&basic(RS)), &[]).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.str("token_type"), "Bearer");
    assert_eq!(r.str("scope"), "uma_protection");
    assert!(!r.str("access_token").is_empty());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(r.header("pragma").as_deref(), Some("no-cache"));
}

#[tokio::test]
async fn a_client_credentials_request_for_another_scope_is_invalid_scope() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = as_
        .form(
            "/token",
            Some(&basic(RS)),
            &[("grant_type", "client_credentials"), ("scope", "uma_protection admin")],
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_scope");
}

#[tokio::test]
async fn the_authorization_endpoint_shows_a_login_form_bound_to_a_cookie() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = as_.get(&authorize_uri(true), None).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.header("content-type").unwrap_or_default().starts_with("text/html"));
    let cookie = r.header("set-cookie").expect("a Set-Cookie header");
    assert!(cookie.starts_with("uma_login_"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let html = r.text();
    assert!(!hidden_input(&html, "interaction").is_empty());
    assert!(hidden_input(&html, "csrf_token").len() >= 43);
    assert!(html.contains("name=\"password\""));
}

#[tokio::test]
async fn logging_in_redirects_to_the_redirect_uri_with_code_state_and_iss() {
    // Arrange
    let as_ = TestAs::new().await;
    let page = login_page(&as_).await;

    // Act
    let r = submit_login(&as_, &page, "alice-password", Some(&page.cookie)).await;

    // Assert
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text());
    let location = r.header("location").expect("a Location");
    assert!(location.starts_with(&format!("{RS_REDIRECT}?")), "{location}");
    let q = query_of(&location);
    assert!(q["code"].len() >= 43);
    assert_eq!(q["state"], STATE);
    assert_eq!(q["iss"], ISSUER);
    assert!(!q.contains_key("error"));
}

#[tokio::test]
async fn an_authorization_code_with_the_right_verifier_yields_a_pat_and_a_refresh_token() {
    // Arrange
    let as_ = TestAs::new().await;
    let code = alice_code(&as_).await;

    // Act
    let r = redeem_code(&as_, &code, VERIFIER).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.str("token_type"), "Bearer");
    assert_eq!(r.str("scope"), "uma_protection");
    assert!(!r.str("access_token").is_empty());
    assert!(!r.str("refresh_token").is_empty());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
}

#[tokio::test]
async fn an_end_user_pat_registers_resources_owned_by_that_user_only() {
    // Arrange
    let as_ = TestAs::new().await;
    let alice = alice_pat(&as_).await;
    let photoz = as_.pat().await;
    let photoz_rid = as_.resource(&photoz, &["view"]).await;

    // Act
    let created = as_
        .json(
            "POST",
            "/resource_set",
            Some(&bearer(&alice)),
            &json!({"resource_scopes": ["read"], "name": "diary"}),
        )
        .await;
    let alice_rid = created.str("_id");
    let alice_list = as_.get("/resource_set", Some(&bearer(&alice))).await;
    let photoz_list = as_.get("/resource_set", Some(&bearer(&photoz))).await;
    let photoz_reads_alices = as_
        .get(&format!("/resource_set/{alice_rid}"), Some(&bearer(&photoz)))
        .await;

    // Assert
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(alice_list.json(), json!([alice_rid]));
    assert_eq!(photoz_list.json(), json!([photoz_rid]));
    assert_eq!(photoz_reads_alices.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_wrong_code_verifier_is_invalid_grant() {
    // Arrange
    let as_ = TestAs::new().await;
    let code = alice_code(&as_).await;

    // Act
    let r = redeem_code(&as_, &code, OTHER_VERIFIER).await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_grant");
}

#[tokio::test]
async fn a_code_redeemed_without_a_verifier_is_invalid_grant() {
    // Arrange
    let as_ = TestAs::new().await;
    let code = alice_code(&as_).await;

    // Act
    let r = as_
        .form(
            "/token",
            Some(&basic(RS)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", RS_REDIRECT),
            ],
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_grant");
}

#[tokio::test]
async fn an_authorization_code_cannot_be_redeemed_twice() {
    // Arrange
    let as_ = TestAs::new().await;
    let code = alice_code(&as_).await;
    let first = redeem_code(&as_, &code, VERIFIER).await;

    // Act
    let second = redeem_code(&as_, &code, VERIFIER).await;

    // Assert
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    assert_eq!(second.status, StatusCode::BAD_REQUEST);
    assert_eq!(second.error(), "invalid_grant");
}

#[tokio::test]
async fn an_authorization_request_without_code_challenge_redirects_with_invalid_request() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = as_.get(&authorize_uri(false), None).await;

    // Assert
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text());
    let location = r.header("location").expect("a Location");
    assert!(location.starts_with(RS_REDIRECT), "{location}");
    let q = query_of(&location);
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], STATE);
    assert_eq!(q["iss"], ISSUER);
    assert!(!q.contains_key("code"));
}

#[tokio::test]
async fn a_wrong_password_shows_the_login_form_again_with_401() {
    // Arrange
    let as_ = TestAs::new().await;
    let page = login_page(&as_).await;

    // Act
    let r = submit_login(&as_, &page, "not-alices-password", Some(&page.cookie)).await;

    // Assert
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.header("location").is_none());
    let html = r.text();
    assert!(html.contains("id=\"error\""), "{html}");
    assert!(html.contains("name=\"password\""), "{html}");
}

#[tokio::test]
async fn a_login_post_without_the_session_cookie_is_refused_with_403() {
    // Arrange
    let as_ = TestAs::new().await;
    let page = login_page(&as_).await;

    // Act
    let r = submit_login(&as_, &page, "alice-password", None).await;
    let later = submit_login(&as_, &page, "alice-password", Some(&page.cookie)).await;

    // Assert
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.header("location").is_none());
    assert!(r.text().contains("CSRF"));
    assert_eq!(
        later.status,
        StatusCode::FOUND,
        "the refused POST must not have ended the sign-in"
    );
}

#[tokio::test]
async fn a_pat_obtained_by_authorization_code_can_be_refreshed() {
    // Arrange
    let as_ = TestAs::new().await;
    let code = alice_code(&as_).await;
    let tokens = redeem_code(&as_, &code, VERIFIER).await;
    let rt = tokens.str("refresh_token");

    // Act
    let r = as_
        .form(
            "/token",
            Some(&basic(RS)),
            &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let fresh = r.str("access_token");
    assert_ne!(fresh, tokens.str("access_token"));
    assert_eq!(r.str("scope"), "uma_protection");
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let created = as_
        .json(
            "POST",
            "/resource_set",
            Some(&bearer(&fresh)),
            &json!({"resource_scopes": ["read"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let list = as_
        .get("/resource_set", Some(&bearer(&tokens.str("access_token"))))
        .await;
    assert_eq!(
        list.json(),
        json!([created.str("_id")]),
        "the refreshed PAT speaks for alice too"
    );
}

#[tokio::test]
async fn with_the_iss_profile_off_the_authorization_redirect_carries_no_iss_as_discovery_says() {
    // Arrange
    let mut config = Config::demo();
    config.icg_iss = false;
    let as_ = TestAs::with(config).await;
    let page = login_page(&as_).await;

    // Act
    let r = submit_login(&as_, &page, "alice-password", Some(&page.cookie)).await;
    let meta = as_.get("/.well-known/uma2-configuration", None).await.json();

    // Assert
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text());
    let q = query_of(&r.header("location").expect("a Location"));
    assert!(q.contains_key("code"));
    assert_eq!(q.get("iss"), None, "{q:?}");
    assert_eq!(meta["authorization_response_iss_parameter_supported"], json!(false));
}

#[tokio::test]
async fn an_authorization_request_for_another_scope_redirects_with_invalid_scope() {
    // Arrange
    let as_ = TestAs::new().await;
    let ch = pkce_s256(VERIFIER);
    let uri = format!(
        "/authorize?{}",
        form(&[
            ("client_id", "demo-rs"),
            ("redirect_uri", RS_REDIRECT),
            ("response_type", "code"),
            ("scope", "uma_protection admin"),
            ("state", STATE),
            ("code_challenge", &ch),
            ("code_challenge_method", "S256"),
        ])
    );

    // Act
    let r = as_.get(&uri, None).await;

    // Assert
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text());
    let q = query_of(&r.header("location").expect("a Location"));
    assert_eq!(q["error"], "invalid_scope");
    assert_eq!(q["state"], STATE);
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_an_error_page_and_no_redirect() {
    // Arrange
    let as_ = TestAs::new().await;
    let ch = pkce_s256(VERIFIER);
    let uri = format!(
        "/authorize?{}",
        form(&[
            ("client_id", "demo-rs"),
            ("redirect_uri", "https://attacker.example/cb"),
            ("response_type", "code"),
            ("code_challenge", &ch),
            ("code_challenge_method", "S256"),
        ])
    );

    // Act
    let r = as_.get(&uri, None).await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.header("location").is_none());
    assert!(r.text().contains("id=\"error\""));
}

#[tokio::test]
async fn an_authorization_code_is_bound_to_its_client_and_redirect_uri() {
    // Arrange
    let as_ = TestAs::new().await;
    let code_for_other_client = alice_code(&as_).await;
    let code_for_other_uri = alice_code(&as_).await;

    // Act
    let other_client = as_
        .form(
            "/token",
            Some(&basic(CLIENT)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code_for_other_client),
                ("redirect_uri", RS_REDIRECT),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    let other_uri = as_
        .form(
            "/token",
            Some(&basic(RS)),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code_for_other_uri),
                ("redirect_uri", "http://127.0.0.1:9/rs/other"),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;

    // Assert
    assert_eq!(other_client.status, StatusCode::BAD_REQUEST);
    assert_eq!(other_client.error(), "invalid_grant");
    assert_eq!(other_uri.status, StatusCode::BAD_REQUEST);
    assert_eq!(other_uri.error(), "invalid_grant");
}

#[tokio::test]
async fn an_expired_authorization_code_is_invalid_grant() {
    // Arrange
    let as_ = TestAs::new().await;
    let code = alice_code(&as_).await;
    as_.ctx.clock.advance(61);

    // Act
    let r = redeem_code(&as_, &code, VERIFIER).await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_grant");
}

// ---- 5. protection API authentication (F-AS-02/03) ----

#[tokio::test]
async fn a_protection_request_without_authorization_is_401_with_a_bare_bearer_challenge() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = as_
        .json("POST", "/resource_set", None, &json!({"resource_scopes": ["view"]}))
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let challenge = r.header("www-authenticate").expect("a WWW-Authenticate header");
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(
        !challenge.contains("error="),
        "no error code without a token: {challenge}"
    );
}

#[tokio::test]
async fn a_protection_request_with_an_unknown_token_is_401_invalid_token() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = as_.get("/resource_set", Some("Bearer not-a-real-token")).await;

    // Assert
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let challenge = r.header("www-authenticate").expect("a WWW-Authenticate header");
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

#[tokio::test]
async fn an_rpt_used_as_a_pat_is_403_insufficient_scope() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, tok) = open_rpt(&as_, &pat, &["view"]).await;
    let rpt = tok.str("access_token");

    // Act
    let r = as_.get("/resource_set", Some(&bearer(&rpt))).await;

    // Assert
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error(), "insufficient_scope");
    let challenge = r.header("www-authenticate").expect("a WWW-Authenticate header");
    assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
}

#[tokio::test]
async fn an_expired_pat_is_401_invalid_token() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    as_.ctx.clock.advance(86_400 + 1);

    // Act
    let r = as_.get("/resource_set", Some(&bearer(&pat))).await;

    // Assert
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.header("www-authenticate")
            .unwrap_or_default()
            .contains("invalid_token")
    );
}

#[tokio::test]
async fn a_revoked_pat_no_longer_opens_the_protection_api() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let before = as_.get("/resource_set", Some(&bearer(&pat))).await;

    // Act
    let revoked = as_.form("/revoke", Some(&basic(RS)), &[("token", &pat)]).await;
    let after = as_.get("/resource_set", Some(&bearer(&pat))).await;

    // Assert
    assert_eq!(before.status, StatusCode::OK);
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert!(
        after
            .header("www-authenticate")
            .unwrap_or_default()
            .contains("invalid_token")
    );
}

// ---- 6. resource registration (F-AS-10..14, P-22, P-23) ----

#[tokio::test]
async fn creating_a_resource_answers_201_with_a_location_naming_its_id() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;

    // Act
    let r = as_
        .json(
            "POST",
            "/resource_set",
            Some(&bearer(&pat)),
            &json!({"resource_scopes": ["view"]}),
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.str("_id");
    assert!(!id.is_empty());
    let location = r.header("location").expect("a Location header");
    assert_eq!(location, format!("{ISSUER}/resource_set/{id}"));
    assert!(location.ends_with(&format!("/resource_set/{id}")));
}

#[tokio::test]
async fn the_resource_collection_works_with_and_without_a_trailing_slash() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;

    // Act
    let with_slash = as_
        .json(
            "POST",
            "/resource_set/",
            Some(&bearer(&pat)),
            &json!({"resource_scopes": ["a"]}),
        )
        .await;
    let without = as_
        .json(
            "POST",
            "/resource_set",
            Some(&bearer(&pat)),
            &json!({"resource_scopes": ["b"]}),
        )
        .await;
    let list_slash = as_.get("/resource_set/", Some(&bearer(&pat))).await;
    let list = as_.get("/resource_set", Some(&bearer(&pat))).await;

    // Assert
    assert_eq!(with_slash.status, StatusCode::CREATED, "{}", with_slash.text());
    assert_eq!(without.status, StatusCode::CREATED, "{}", without.text());
    let ids = strings(&[&with_slash.str("_id"), &without.str("_id")]);
    assert_eq!(list_slash.status, StatusCode::OK);
    assert_eq!(set_of(&list_slash.json()), ids);
    assert_eq!(list.json(), list_slash.json());
}

#[tokio::test]
async fn reading_a_resource_returns_its_whole_description_and_id() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let description = json!({
        "resource_scopes": ["view", "http://photoz.example.com/dev/actions/print"],
        "name": "Tweedl Social Service",
        "type": "http://www.example.com/rsrcs/socialstream/140-compatible",
        "icon_uri": "http://www.example.com/icons/sharesocial.png",
        "description": "a stream of short messages",
    });
    let created = as_
        .json("POST", "/resource_set", Some(&bearer(&pat)), &description)
        .await;
    let id = created.str("_id");

    // Act
    let r = as_.get(&format!("/resource_set/{id}"), Some(&bearer(&pat))).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let mut expected = description;
    expected["_id"] = json!(id);
    assert_eq!(r.json(), expected);
}

#[tokio::test]
async fn updating_a_resource_replaces_its_whole_description() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let created = as_
        .json(
            "POST",
            "/resource_set",
            Some(&bearer(&pat)),
            &json!({"resource_scopes": ["view", "print"], "name": "old", "type": "photo", "description": "gone soon"}),
        )
        .await;
    let id = created.str("_id");

    // Act
    let r = as_
        .json(
            "PUT",
            &format!("/resource_set/{id}"),
            Some(&bearer(&pat)),
            &json!({"resource_scopes": ["view"], "name": "new"}),
        )
        .await;
    let read = as_.get(&format!("/resource_set/{id}"), Some(&bearer(&pat))).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.str("_id"), id);
    assert_eq!(
        read.json(),
        json!({"_id": id, "resource_scopes": ["view"], "name": "new"})
    );
}

#[tokio::test]
async fn an_update_body_may_repeat_the_id_but_not_contradict_it() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let id = as_.resource(&pat, &["view"]).await;
    let other = as_.resource(&pat, &["view"]).await;
    let path = format!("/resource_set/{id}");

    // Act
    let matching = as_
        .json(
            "PUT",
            &path,
            Some(&bearer(&pat)),
            &json!({"_id": id, "resource_scopes": ["edit"]}),
        )
        .await;
    let mismatching = as_
        .json(
            "PUT",
            &path,
            Some(&bearer(&pat)),
            &json!({"_id": other, "resource_scopes": ["other"]}),
        )
        .await;
    let read = as_.get(&path, Some(&bearer(&pat))).await;

    // Assert
    assert_eq!(matching.status, StatusCode::OK, "{}", matching.text());
    assert_eq!(matching.str("_id"), id);
    assert_eq!(mismatching.status, StatusCode::BAD_REQUEST);
    assert_eq!(mismatching.error(), "invalid_request");
    assert_eq!(read.json(), json!({"_id": id, "resource_scopes": ["edit"]}));
}

#[tokio::test]
async fn a_deleted_resource_is_gone_from_reads_lists_and_permission_requests() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let id = as_.resource(&pat, &["view"]).await;
    let path = format!("/resource_set/{id}");

    // Act
    let deleted = as_.json("DELETE", &path, Some(&bearer(&pat)), &json!({})).await;
    let read = as_.get(&path, Some(&bearer(&pat))).await;
    let list = as_.get("/resource_set", Some(&bearer(&pat))).await;
    let perm = as_
        .json(
            "POST",
            "/permission",
            Some(&bearer(&pat)),
            &json!({"resource_id": id, "resource_scopes": ["view"]}),
        )
        .await;

    // Assert
    assert!(
        matches!(deleted.status, StatusCode::NO_CONTENT | StatusCode::OK),
        "{}",
        deleted.status
    );
    assert_eq!(read.status, StatusCode::NOT_FOUND);
    assert_eq!(read.error(), "not_found");
    assert_eq!(list.json(), json!([]));
    assert_eq!(perm.status, StatusCode::BAD_REQUEST);
    assert_eq!(perm.error(), "invalid_resource_id");
}

#[tokio::test]
async fn listing_resources_returns_a_json_array_of_their_ids() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let a = as_.resource(&pat, &["view"]).await;
    let b = as_.resource(&pat, &["print"]).await;

    // Act
    let r = as_.get("/resource_set", Some(&bearer(&pat))).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK);
    let ids = set_of(&r.json());
    assert_eq!(ids, strings(&[&a, &b]));
    assert_eq!(r.json().as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn another_owners_pat_does_not_list_or_reach_photoz_resources() {
    // Arrange
    let as_ = TestAs::new().await;
    let photoz = as_.pat().await;
    let rid = as_.resource(&photoz, &["view"]).await;
    let alice = alice_pat(&as_).await;
    let path = format!("/resource_set/{rid}");

    // Act
    let list = as_.get("/resource_set", Some(&bearer(&alice))).await;
    let read = as_.get(&path, Some(&bearer(&alice))).await;
    let update = as_
        .json(
            "PUT",
            &path,
            Some(&bearer(&alice)),
            &json!({"resource_scopes": ["pwned"]}),
        )
        .await;
    let delete = as_.json("DELETE", &path, Some(&bearer(&alice)), &json!({})).await;
    let still_there = as_.get(&path, Some(&bearer(&photoz))).await;

    // Assert
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json(), json!([]));
    assert_eq!(read.status, StatusCode::NOT_FOUND);
    assert_eq!(update.status, StatusCode::NOT_FOUND);
    assert_eq!(delete.status, StatusCode::NOT_FOUND);
    assert_eq!(still_there.json()["resource_scopes"], json!(["view"]));
}

#[tokio::test]
async fn reading_updating_or_deleting_an_unknown_resource_is_404() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let path = "/resource_set/no-such-resource";

    // Act
    let read = as_.get(path, Some(&bearer(&pat))).await;
    let update = as_
        .json("PUT", path, Some(&bearer(&pat)), &json!({"resource_scopes": ["view"]}))
        .await;
    let delete = as_.json("DELETE", path, Some(&bearer(&pat)), &json!({})).await;

    // Assert
    for r in [&read, &update, &delete] {
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
        assert_eq!(r.error(), "not_found");
    }
}

#[tokio::test]
async fn an_unsupported_method_on_the_resource_api_is_405_unsupported_method_type() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let id = as_.resource(&pat, &["view"]).await;

    // Act
    let patch = as_
        .json(
            "PATCH",
            &format!("/resource_set/{id}"),
            Some(&bearer(&pat)),
            &json!({"name": "x"}),
        )
        .await;
    let delete_collection = as_
        .json("DELETE", "/resource_set", Some(&bearer(&pat)), &json!({}))
        .await;

    // Assert
    assert_eq!(patch.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(patch.error(), "unsupported_method_type");
    assert_eq!(delete_collection.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(delete_collection.error(), "unsupported_method_type");
}

#[tokio::test]
async fn a_405_from_the_resource_and_policy_apis_names_the_allowed_methods() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let id = as_.resource(&pat, &["view"]).await;

    // Act
    let item = as_
        .json("PATCH", &format!("/resource_set/{id}"), Some(&bearer(&pat)), &json!({}))
        .await;
    let collection = as_
        .json("DELETE", "/resource_set/", Some(&bearer(&pat)), &json!({}))
        .await;
    let policy = as_
        .json("POST", &format!("/policy/{id}"), Some(&bearer(&pat)), &json!({}))
        .await;

    // Assert (RFC 9110 §15.5.6: a 405 carries Allow)
    assert_eq!(item.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(item.header("allow").as_deref(), Some("GET, PUT, DELETE"));
    assert_eq!(collection.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(collection.header("allow").as_deref(), Some("GET, POST"));
    assert_eq!(policy.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(policy.header("allow").as_deref(), Some("GET, PUT, DELETE"));
}

#[tokio::test]
async fn a_resource_without_resource_scopes_is_invalid_request() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;

    // Act
    let r = as_
        .json("POST", "/resource_set", Some(&bearer(&pat)), &json!({"name": "photo"}))
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_request");
}

#[tokio::test]
async fn resource_scopes_given_as_a_string_is_invalid_request() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;

    // Act
    let r = as_
        .json(
            "POST",
            "/resource_set",
            Some(&bearer(&pat)),
            &json!({"resource_scopes": "view"}),
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_request");
}

#[tokio::test]
async fn a_resource_name_that_is_a_number_is_invalid_request() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;

    // Act
    let r = as_
        .json(
            "POST",
            "/resource_set",
            Some(&bearer(&pat)),
            &json!({"resource_scopes": ["view"], "name": 42}),
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_request");
}

#[tokio::test]
async fn a_malformed_resource_description_is_a_400_error() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let req = Request::post("/resource_set")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, bearer(&pat))
        .body(Body::from("{\"resource_scopes\": [\"view\""))
        .unwrap();

    // Act
    let r = as_.send(req).await;
    let duplicated = as_
        .json(
            "POST",
            "/resource_set",
            Some(&bearer(&pat)),
            &json!({"resource_scopes": ["view", "view"]}),
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_request");
    assert_eq!(duplicated.status, StatusCode::BAD_REQUEST);
    assert_eq!(duplicated.error(), "invalid_request");
}

// ---- 7. permission endpoint (F-AS-20..23) ----

#[tokio::test]
async fn a_single_permission_object_yields_201_and_a_ticket() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view", "print"]).await;

    // Act
    let r = as_
        .json(
            "POST",
            "/permission",
            Some(&bearer(&pat)),
            &json!({"resource_id": rid, "resource_scopes": ["view"]}),
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(!r.str("ticket").is_empty());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
}

#[tokio::test]
async fn an_array_of_two_permissions_yields_exactly_one_ticket_for_both() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let r1 = as_.resource(&pat, &["view"]).await;
    let r2 = as_.resource(&pat, &["print"]).await;
    for rid in [&r1, &r2] {
        as_.policy(&pat, rid, json!({"default": {"type": "open"}})).await;
    }
    let body = json!([
        {"resource_id": r1, "resource_scopes": ["view"]},
        {"resource_id": r2, "resource_scopes": ["print"]},
    ]);

    // Act
    let r = as_.json("POST", "/permission", Some(&bearer(&pat)), &body).await;

    // Assert
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let v = r.json();
    let members: Vec<&String> = v.as_object().expect("an object").keys().collect();
    assert_eq!(members, vec!["ticket"]);
    let tok = as_.uma_token(&r.str("ticket"), &[]).await;
    assert_eq!(tok.status, StatusCode::OK, "{}", tok.text());
    let intro = as_.introspect(&pat, &tok.str("access_token")).await;
    let granted: BTreeMap<String, BTreeSet<String>> = intro["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .map(|p| {
            (
                p["resource_id"].as_str().unwrap().to_owned(),
                set_of(&p["resource_scopes"]),
            )
        })
        .collect();
    assert_eq!(
        granted,
        BTreeMap::from([(r1, strings(&["view"])), (r2, strings(&["print"]))])
    );
}

#[tokio::test]
async fn a_permission_for_an_unknown_resource_is_invalid_resource_id() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;

    // Act
    let r = as_
        .json(
            "POST",
            "/permission",
            Some(&bearer(&pat)),
            &json!({"resource_id": "no-such-resource", "resource_scopes": ["view"]}),
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_resource_id");
}

#[tokio::test]
async fn a_scope_registered_only_on_another_resource_is_invalid_scope() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let viewable = as_.resource(&pat, &["view"]).await;
    let _printable = as_.resource(&pat, &["print"]).await;

    // Act
    let r = as_
        .json(
            "POST",
            "/permission",
            Some(&bearer(&pat)),
            &json!({"resource_id": viewable, "resource_scopes": ["view", "print"]}),
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_scope");
}

#[tokio::test]
async fn a_permission_for_another_owners_resource_is_invalid_resource_id() {
    // Arrange
    let as_ = TestAs::new().await;
    let photoz = as_.pat().await;
    let alice = alice_pat(&as_).await;
    let alices = as_.resource(&alice, &["view"]).await;
    let photozs = as_.resource(&photoz, &["view"]).await;

    // Act
    let by_photoz = as_
        .json(
            "POST",
            "/permission",
            Some(&bearer(&photoz)),
            &json!({"resource_id": alices, "resource_scopes": ["view"]}),
        )
        .await;
    let by_alice = as_
        .json(
            "POST",
            "/permission",
            Some(&bearer(&alice)),
            &json!({"resource_id": photozs, "resource_scopes": ["view"]}),
        )
        .await;
    let mixed = as_
        .json(
            "POST",
            "/permission",
            Some(&bearer(&photoz)),
            &json!([
                {"resource_id": photozs, "resource_scopes": ["view"]},
                {"resource_id": alices, "resource_scopes": ["view"]},
            ]),
        )
        .await;

    // Assert
    for r in [&by_photoz, &by_alice, &mixed] {
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        assert_eq!(r.error(), "invalid_resource_id");
    }
}

#[tokio::test]
async fn an_empty_permission_array_is_invalid_request() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;

    // Act
    let r = as_.json("POST", "/permission", Some(&bearer(&pat)), &json!([])).await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_request");
}

#[tokio::test]
async fn a_permission_without_resource_scopes_is_invalid_request() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;

    // Act
    let r = as_
        .json("POST", "/permission", Some(&bearer(&pat)), &json!({"resource_id": rid}))
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_request");
}

#[tokio::test]
async fn a_permission_with_zero_scopes_is_accepted() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;

    // Act
    let r = as_
        .json(
            "POST",
            "/permission",
            Some(&bearer(&pat)),
            &json!({"resource_id": rid, "resource_scopes": []}),
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert!(!r.str("ticket").is_empty());
}

#[tokio::test]
async fn tickets_are_long_url_safe_and_distinct() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;

    // Act
    let mut tickets = Vec::new();
    for _ in 0..8 {
        tickets.push(as_.ticket_for(&pat, &rid, &["view"]).await);
    }

    // Assert
    for t in &tickets {
        assert!(t.len() >= 43, "{t}");
        assert!(
            t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{t}"
        );
    }
    let distinct: BTreeSet<&String> = tickets.iter().collect();
    assert_eq!(distinct.len(), tickets.len());
}

// ---- 8. introspection (F-AS-30..33, RFC 7662) ----

#[tokio::test]
async fn an_rpt_introspects_as_active_with_permissions_and_no_scope() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (rid, tok) = open_rpt(&as_, &pat, &["view", "print"]).await;

    // Act
    let r = as_
        .form(
            "/introspect",
            Some(&bearer(&pat)),
            &[("token", &tok.str("access_token"))],
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let intro = r.json();
    assert_eq!(intro["active"], json!(true));
    assert!(intro.get("scope").is_none(), "{intro}");
    assert_eq!(intro["client_id"], CLIENT.0);
    let exp = intro["exp"].as_i64().expect("an integer exp");
    assert!(exp > intro["iat"].as_i64().expect("an integer iat"));
    let perms = intro["permissions"].as_array().expect("permissions");
    assert_eq!(perms.len(), 1, "{intro}");
    assert_eq!(perms[0]["resource_id"], json!(rid));
    assert_eq!(set_of(&perms[0]["resource_scopes"]), strings(&["print", "view"]));
    assert_eq!(perms[0]["exp"].as_i64(), Some(exp));
}

#[tokio::test]
async fn an_unknown_token_introspects_as_inactive_and_nothing_else() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;

    // Act
    let intro = as_.introspect(&pat, "no-such-token").await;

    // Assert
    assert_eq!(intro, json!({"active": false}));
}

#[tokio::test]
async fn an_expired_rpt_introspects_as_inactive() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, tok) = open_rpt(&as_, &pat, &["view"]).await;
    as_.ctx.clock.advance(7200);

    // Act
    let intro = as_.introspect(&pat, &tok.str("access_token")).await;

    // Assert
    assert_eq!(intro, json!({"active": false}));
}

#[tokio::test]
async fn a_revoked_rpt_introspects_as_inactive() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, tok) = open_rpt(&as_, &pat, &["view"]).await;
    let rpt = tok.str("access_token");
    let before = as_.introspect(&pat, &rpt).await;

    // Act
    let revoked = as_.form("/revoke", Some(&basic(CLIENT)), &[("token", &rpt)]).await;
    let after = as_.introspect(&pat, &rpt).await;

    // Assert
    assert_eq!(before["active"], json!(true));
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(after, json!({"active": false}));
}

#[tokio::test]
async fn an_rpt_of_another_owner_introspects_as_inactive() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, tok) = open_rpt(&as_, &pat, &["view"]).await;
    let alice = alice_pat(&as_).await;

    // Act
    let intro = as_.introspect(&alice, &tok.str("access_token")).await;

    // Assert
    assert_eq!(intro, json!({"active": false}));
}

#[tokio::test]
async fn another_resource_server_of_the_same_owner_does_not_see_the_rpts_permissions() {
    // Arrange
    let as_ = TestAs::new().await;
    let rs2_redirect = "http://127.0.0.1:9/rs2/callback";
    let rs2 = register(
        &as_,
        json!({"redirect_uris": [rs2_redirect], "client_name": "Second RS"}),
    )
    .await;
    let (rs2_id, rs2_secret) = (rs2.str("client_id"), rs2.str("client_secret"));
    let code = alice_code_for(&as_, &rs2_id, rs2_redirect).await;
    let rs2_pat = as_
        .form(
            "/token",
            Some(&basic((&rs2_id, &rs2_secret))),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", rs2_redirect),
                ("code_verifier", VERIFIER),
            ],
        )
        .await
        .str("access_token");
    let rs1_pat = alice_pat(&as_).await;
    let (rid, tok) = open_rpt(&as_, &rs1_pat, &["view"]).await;
    let rpt = tok.str("access_token");

    // Act
    let by_rs1 = as_.introspect(&rs1_pat, &rpt).await;
    let by_rs2 = as_.introspect(&rs2_pat, &rpt).await;

    // Assert
    assert_eq!(by_rs1["permissions"][0]["resource_id"], json!(rid));
    assert!(
        !by_rs2.to_string().contains(&rid),
        "RS2 learns RS1's resource: {by_rs2}"
    );
    // Nothing in the RPT is RS2's to see: it may not introspect it (RFC 7662 §2.2).
    assert_eq!(by_rs2, json!({"active": false}));
}

#[tokio::test]
async fn introspection_without_a_valid_pat_is_401() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, tok) = open_rpt(&as_, &pat, &["view"]).await;
    let rpt = tok.str("access_token");

    // Act
    let none = as_.form("/introspect", None, &[("token", &rpt)]).await;
    let bad = as_.form("/introspect", Some("Bearer forged"), &[("token", &rpt)]).await;
    let rpt_as_pat = as_.form("/introspect", Some(&bearer(&rpt)), &[("token", &rpt)]).await;

    // Assert
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(
        none.header("www-authenticate")
            .unwrap_or_default()
            .starts_with("Bearer")
    );
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(rpt_as_pat.status, StatusCode::FORBIDDEN);
    assert!(!none.text().contains("\"active\""));
}

#[tokio::test]
async fn a_resource_deleted_after_issuance_drops_out_of_the_rpts_permissions() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let keep = as_.resource(&pat, &["view"]).await;
    let drop = as_.resource(&pat, &["view"]).await;
    for rid in [&keep, &drop] {
        as_.policy(&pat, rid, json!({"default": {"type": "open"}})).await;
    }
    let ticket = as_
        .ticket(
            &pat,
            json!([
                {"resource_id": keep, "resource_scopes": ["view"]},
                {"resource_id": drop, "resource_scopes": ["view"]},
            ]),
        )
        .await;
    let tok = as_.uma_token(&ticket, &[]).await;
    let rpt = tok.str("access_token");
    let before = as_.introspect(&pat, &rpt).await;

    // Act
    let deleted = as_
        .json(
            "DELETE",
            &format!("/resource_set/{drop}"),
            Some(&bearer(&pat)),
            &json!({}),
        )
        .await;
    let after = as_.introspect(&pat, &rpt).await;

    // Assert
    assert_eq!(before["permissions"].as_array().map(Vec::len), Some(2), "{before}");
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(after["active"], json!(true));
    let ids: Vec<&str> = after["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .map(|p| p["resource_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![keep.as_str()]);
}

// ---- 9. revocation (RFC 7009, G-AS-62) ----

#[tokio::test]
async fn revoking_an_unknown_token_answers_200() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = as_
        .form(
            "/revoke",
            Some(&basic(CLIENT)),
            &[("token", "never-issued"), ("token_type_hint", "access_token")],
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn revocation_requires_client_authentication_and_a_token() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let anonymous = as_.form("/revoke", None, &[("token", "x")]).await;
    let wrong = as_
        .form("/revoke", Some(&basic(("demo-client", "wrong"))), &[("token", "x")])
        .await;
    let no_token = as_.form("/revoke", Some(&basic(CLIENT)), &[]).await;

    // Assert
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.error(), "invalid_client");
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.header("www-authenticate").is_some());
    assert_eq!(no_token.status, StatusCode::BAD_REQUEST);
    assert_eq!(no_token.error(), "invalid_request");
}

#[tokio::test]
async fn a_revoked_refresh_token_can_no_longer_be_used() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, tok) = open_rpt(&as_, &pat, &["view"]).await;
    let rt = tok.str("refresh_token");
    let before = refresh_rpt(&as_, &rt).await;

    // Act
    let revoked = as_
        .form(
            "/revoke",
            Some(&basic(CLIENT)),
            &[("token", &rt), ("token_type_hint", "refresh_token")],
        )
        .await;
    let after = refresh_rpt(&as_, &rt).await;

    // Assert
    assert_eq!(before.status, StatusCode::OK, "{}", before.text());
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(after.status, StatusCode::BAD_REQUEST);
    assert_eq!(after.error(), "invalid_grant");
}

#[tokio::test]
async fn a_revoked_pct_is_ignored() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = claims_resource(&as_, &pat).await;
    let pct = pct_for(&as_, &pat, &rid).await;
    let t1 = as_.ticket_for(&pat, &rid, &["view"]).await;
    let with_pct = as_.uma_token(&t1, &[("pct", &pct)]).await;

    // Act
    let revoked = as_
        .form(
            "/revoke",
            Some(&basic(CLIENT)),
            &[("token", &pct), ("token_type_hint", "pct")],
        )
        .await;
    let t2 = as_.ticket_for(&pat, &rid, &["view"]).await;
    let after = as_.uma_token(&t2, &[("pct", &pct)]).await;

    // Assert
    assert_eq!(
        with_pct.status,
        StatusCode::OK,
        "the PCT works before revocation: {}",
        with_pct.text()
    );
    assert_eq!(revoked.status, StatusCode::OK);
    assert_eq!(after.status, StatusCode::FORBIDDEN, "{}", after.text());
    assert_eq!(after.error(), "need_info");
}

#[tokio::test]
async fn a_client_cannot_revoke_another_clients_token() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, tok) = open_rpt(&as_, &pat, &["view"]).await;
    let rpt = tok.str("access_token");

    // Act
    let r = as_.form("/revoke", Some(&basic(RS)), &[("token", &rpt)]).await;
    let intro = as_.introspect(&pat, &rpt).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(intro["active"], json!(true));
}

// ---- 10. policy and approval APIs ----

#[tokio::test]
async fn a_policy_of_an_unknown_type_is_refused_with_400() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;

    // Act
    let r = as_
        .json(
            "PUT",
            &format!("/policy/{rid}"),
            Some(&bearer(&pat)),
            &json!({"scopes": {"view": {"type": "sometimes"}}}),
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_request");
}

#[tokio::test]
async fn a_claims_policy_with_no_claims_is_refused_with_400() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;

    // Act
    let r = as_
        .json(
            "PUT",
            &format!("/policy/{rid}"),
            Some(&bearer(&pat)),
            &json!({"scopes": {"view": {"type": "claims", "claims": {}}}}),
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.error(), "invalid_request");
}

#[tokio::test]
async fn a_stored_policy_reads_back_as_it_was_set() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view", "print"]).await;
    let policy = json!({
        "scopes": {
            "view": {"type": "open"},
            "print": {"type": "claims", "claims": {"email": "bob@example.com"}},
        },
        "default": {"type": "deny"},
    });
    as_.policy(&pat, &rid, policy.clone()).await;

    // Act
    let r = as_.get(&format!("/policy/{rid}"), Some(&bearer(&pat))).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json(), policy);
}

#[tokio::test]
async fn another_owners_pat_cannot_see_or_set_a_policy() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;
    as_.policy(&pat, &rid, json!({"default": {"type": "deny"}})).await;
    let alice = alice_pat(&as_).await;
    let path = format!("/policy/{rid}");

    // Act
    let read = as_.get(&path, Some(&bearer(&alice))).await;
    let write = as_
        .json(
            "PUT",
            &path,
            Some(&bearer(&alice)),
            &json!({"default": {"type": "open"}}),
        )
        .await;
    let unchanged = as_.get(&path, Some(&bearer(&pat))).await;

    // Assert
    assert_eq!(read.status, StatusCode::NOT_FOUND);
    assert_eq!(write.status, StatusCode::NOT_FOUND);
    assert_eq!(unchanged.json(), json!({"scopes": {}, "default": {"type": "deny"}}));
}

#[tokio::test]
async fn a_deleted_policy_is_gone() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;
    as_.policy(&pat, &rid, json!({"default": {"type": "open"}})).await;
    let path = format!("/policy/{rid}");

    // Act
    let deleted = as_.json("DELETE", &path, Some(&bearer(&pat)), &json!({})).await;
    let read = as_.get(&path, Some(&bearer(&pat))).await;
    let again = as_.json("DELETE", &path, Some(&bearer(&pat)), &json!({})).await;

    // Assert
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(read.status, StatusCode::NOT_FOUND);
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_policy_api_requires_a_pat() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;

    // Act
    let r = as_
        .json(
            "PUT",
            &format!("/policy/{rid}"),
            None,
            &json!({"default": {"type": "open"}}),
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.header("www-authenticate").unwrap_or_default().starts_with("Bearer"));
}

#[tokio::test]
async fn deciding_an_unknown_approval_is_404() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;

    // Act
    let r = as_
        .json(
            "POST",
            "/approvals/no-such-request",
            Some(&bearer(&pat)),
            &json!({"decision": "approve"}),
        )
        .await;

    // Assert
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error(), "not_found");
}

#[tokio::test]
async fn a_pending_approval_accepts_only_approve_or_deny() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;
    as_.policy(&pat, &rid, json!({"default": {"type": "owner-approval"}}))
        .await;
    let ticket = as_.ticket_for(&pat, &rid, &["view"]).await;
    let submitted = as_.uma_token(&ticket, &[]).await;
    let pending = as_.get("/approvals", Some(&bearer(&pat))).await;
    let id = pending.json()[0]["id"].as_str().expect("a pending approval").to_owned();
    let path = format!("/approvals/{id}");
    let alice = alice_pat(&as_).await;

    // Act
    let bad = as_
        .json("POST", &path, Some(&bearer(&pat)), &json!({"decision": "maybe"}))
        .await;
    let foreign = as_
        .json("POST", &path, Some(&bearer(&alice)), &json!({"decision": "approve"}))
        .await;
    let approved = as_
        .json("POST", &path, Some(&bearer(&pat)), &json!({"decision": "approve"}))
        .await;

    // Assert
    assert_eq!(submitted.error(), "request_submitted");
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.error(), "invalid_request");
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text());
    assert_eq!(approved.json()["status"], "approved");
}

// ---- 11. quirks: each changes exactly the behaviour it names ----

/// The same scenario on an AS with `quirk` and on a conformant one.
async fn with_and_without(quirk: Quirk) -> [TestAs; 2] {
    [TestAs::with_quirks(&[quirk]).await, TestAs::new().await]
}

#[tokio::test]
async fn quirk_introspection_without_permissions_drops_the_permissions_member() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::IntrospectionWithoutPermissions).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let pat = as_.pat().await;
        let (_, tok) = open_rpt(as_, &pat, &["view"]).await;
        results.push(as_.introspect(&pat, &tok.str("access_token")).await);
    }

    // Assert
    assert_eq!(results[0]["active"], json!(true));
    assert!(results[0].get("permissions").is_none(), "{}", results[0]);
    assert_eq!(results[1]["active"], json!(true));
    assert!(results[1]["permissions"].is_array(), "{}", results[1]);
}

#[tokio::test]
async fn quirk_introspection_with_scope_adds_a_scope_member() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::IntrospectionWithScope).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let pat = as_.pat().await;
        let (_, tok) = open_rpt(as_, &pat, &["view"]).await;
        results.push(as_.introspect(&pat, &tok.str("access_token")).await);
    }

    // Assert
    assert_eq!(results[0]["scope"], "view");
    assert!(results[1].get("scope").is_none(), "{}", results[1]);
}

#[tokio::test]
async fn quirk_expired_rpt_active_keeps_an_expired_rpt_active() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::ExpiredRptActive).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let pat = as_.pat().await;
        let (_, tok) = open_rpt(as_, &pat, &["view"]).await;
        as_.ctx.clock.advance(7200);
        results.push(as_.introspect(&pat, &tok.str("access_token")).await);
    }

    // Assert
    assert_eq!(results[0]["active"], json!(true));
    assert_eq!(results[1], json!({"active": false}));
}

#[tokio::test]
async fn quirk_create_without_location_omits_the_location_header() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::CreateWithoutLocation).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let pat = as_.pat().await;
        results.push(
            as_.json(
                "POST",
                "/resource_set",
                Some(&bearer(&pat)),
                &json!({"resource_scopes": ["view"]}),
            )
            .await,
        );
    }

    // Assert
    assert_eq!(results[0].status, StatusCode::CREATED);
    assert!(results[0].header("location").is_none());
    assert_eq!(results[1].status, StatusCode::CREATED);
    assert!(results[1].header("location").is_some());
}

#[tokio::test]
async fn quirk_unknown_resource_200_reads_an_unknown_resource_as_200() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::UnknownResource200).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let pat = as_.pat().await;
        results.push(as_.get("/resource_set/no-such-resource", Some(&bearer(&pat))).await);
    }

    // Assert
    assert_eq!(results[0].status, StatusCode::OK);
    assert_eq!(results[0].str("_id"), "no-such-resource");
    assert_eq!(results[1].status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn quirk_permission_unregistered_scope_accepts_a_scope_the_resource_lacks() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::PermissionUnregisteredScope).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let pat = as_.pat().await;
        let rid = as_.resource(&pat, &["view"]).await;
        let body = json!({"resource_id": rid, "resource_scopes": ["print"]});
        results.push(as_.json("POST", "/permission", Some(&bearer(&pat)), &body).await);
    }

    // Assert
    assert_eq!(results[0].status, StatusCode::CREATED, "{}", results[0].text());
    assert_eq!(results[1].status, StatusCode::BAD_REQUEST);
    assert_eq!(results[1].error(), "invalid_scope");
}

#[tokio::test]
async fn quirk_permission_array_rejected_refuses_the_array_form() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::PermissionArrayRejected).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let pat = as_.pat().await;
        let rid = as_.resource(&pat, &["view"]).await;
        let body = json!([{"resource_id": rid, "resource_scopes": ["view"]}]);
        results.push(as_.json("POST", "/permission", Some(&bearer(&pat)), &body).await);
    }

    // Assert
    assert_eq!(results[0].status, StatusCode::BAD_REQUEST);
    assert_eq!(results[0].error(), "invalid_request");
    assert_eq!(results[1].status, StatusCode::CREATED, "{}", results[1].text());
}

#[tokio::test]
async fn quirk_protection_without_pat_serves_requests_that_carry_no_pat() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::ProtectionWithoutPat).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        results.push(
            as_.json("POST", "/resource_set", None, &json!({"resource_scopes": ["view"]}))
                .await,
        );
    }

    // Assert
    assert_eq!(results[0].status, StatusCode::CREATED, "{}", results[0].text());
    assert_eq!(results[1].status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn quirk_no_cache_control_drops_cache_control_from_token_responses() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::NoCacheControl).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        results.push(pat_request(as_, Some(&basic(RS)), &[]).await);
    }

    // Assert
    assert_eq!(results[0].status, StatusCode::OK);
    assert!(results[0].header("cache-control").is_none());
    assert_eq!(results[1].status, StatusCode::OK);
    assert_eq!(results[1].header("cache-control").as_deref(), Some("no-store"));
}

#[tokio::test]
async fn a_registered_client_must_authenticate_the_way_it_registered() {
    // Arrange
    let as_ = TestAs::new().await;
    let basic_client = register(
        &as_,
        json!({"token_endpoint_auth_method": "client_secret_basic", "scope": "view"}),
    )
    .await;
    let post_client = register(
        &as_,
        json!({"token_endpoint_auth_method": "client_secret_post", "scope": "view"}),
    )
    .await;
    let creds = |r: &Resp| (r.str("client_id"), r.str("client_secret"));
    let ((b_id, b_secret), (p_id, p_secret)) = (creds(&basic_client), creds(&post_client));
    let revoke_form = |id: &str, secret: &str| {
        vec![
            ("token".to_owned(), "x".to_owned()),
            ("client_id".to_owned(), id.to_owned()),
            ("client_secret".to_owned(), secret.to_owned()),
        ]
    };

    // Act
    let basic_by_body = {
        let f = revoke_form(&b_id, &b_secret);
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        as_.form("/revoke", None, &pairs).await
    };
    let basic_by_basic = as_
        .form("/revoke", Some(&basic((&b_id, &b_secret))), &[("token", "x")])
        .await;
    let post_by_basic = as_
        .form("/revoke", Some(&basic((&p_id, &p_secret))), &[("token", "x")])
        .await;
    let post_by_body = {
        let f = revoke_form(&p_id, &p_secret);
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        as_.form("/revoke", None, &pairs).await
    };

    // Assert
    assert_eq!(basic_by_body.status, StatusCode::UNAUTHORIZED);
    assert_eq!(basic_by_body.error(), "invalid_client");
    assert_eq!(basic_by_basic.status, StatusCode::OK);
    assert_eq!(post_by_basic.status, StatusCode::UNAUTHORIZED);
    assert_eq!(post_by_body.status, StatusCode::OK);
}
