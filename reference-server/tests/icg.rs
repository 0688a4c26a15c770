//! The claims interaction endpoint through the router (UMA Grant §3.3.2–3.3.3, §5.1, §5.5) and the
//! harness profiles on top of it: ICG+PKCE (digest §10.1) and `iss` (digest §10.2). Ends with one
//! test per ICG quirk, each showing that the quirk changes what a conformant AS does.

use crate::common;

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::{Value, json};
use uma_reference_server::config::PkceMode;
use uma_reference_server::core::discovery::PROFILE_ICG_PKCE;
use uma_reference_server::core::interaction::WRONG_ISS;
use uma_reference_server::{Config, Quirk};
use url::Url;

/// RFC 7636 Appendix B: the verifier …
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// … and its S256 challenge.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// A well-formed verifier that is not [`VERIFIER`].
const OTHER_VERIFIER: &str = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG8";
/// The `state` the client sends unless a test says otherwise.
const STATE: &str = "st-123";
/// The email the requesting party types into the form.
const EMAIL: &str = "bob@example.com";

/// The policy of the brief: `view` needs `email=bob@example.com`.
fn email_policy() -> Value {
    json!({"scopes": {"view": {"type": "claims", "claims": {"email": EMAIL}}}})
}

/// `view` needs the email the form gathers; `download` needs an `age` the form cannot gather.
fn email_and_age_policy() -> Value {
    json!({"scopes": {
        "view": {"type": "claims", "claims": {"email": EMAIL}},
        "download": {"type": "claims", "claims": {"age": null}}
    }})
}

/// A resource with `policy`, a permission for `scopes`, and the demo client's token request: returns
/// the ticket of the `need_info` answer (T1).
async fn need_info_ticket_for(as_: &TestAs, policy: Value, scopes: &[&str]) -> String {
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view", "download"]).await;
    as_.policy(&pat, &rid, policy).await;
    let t0 = as_.ticket_for(&pat, &rid, scopes).await;
    let r = as_.uma_token(&t0, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(r.error(), "need_info");
    r.str("ticket")
}

/// T1 for `view` under [`email_policy`].
async fn need_info_ticket(as_: &TestAs) -> String {
    need_info_ticket_for(as_, email_policy(), &["view"]).await
}

/// The path and query of a claims interaction request for `ticket`: the demo client, its claims
/// redirect URI, [`STATE`] and the Appendix B challenge with S256, then `changes` applied in order
/// (`Some` sets a parameter, `None` removes it).
fn claims_uri(ticket: &str, changes: &[(&str, Option<&str>)]) -> String {
    let mut params: Vec<(String, String)> = [
        ("client_id", CLIENT.0),
        ("ticket", ticket),
        ("claims_redirect_uri", CLAIMS_REDIRECT),
        ("state", STATE),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (name, value) in changes {
        params.retain(|(k, _)| k != name);
        if let Some(v) = value {
            params.push(((*name).to_owned(), (*v).to_owned()));
        }
    }
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    format!("/claims?{}", form(&pairs))
}

/// The value of the hidden input `name` in an HTML form.
fn hidden_input(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden input `{name}` in {html}"))
        + marker.len();
    let len = html[start..].find('"').expect("the value attribute is closed");
    html[start..start + len].to_owned()
}

/// The claims form as the AS served it, with what the browser keeps of it.
struct ClaimsForm {
    page: Resp,
    interaction: String,
    csrf: String,
    /// `name=value` of the session cookie, ready for a `Cookie` header.
    cookie: String,
}

impl ClaimsForm {
    /// POSTs the form as a browser would: the session cookie, the hidden inputs, `email` and
    /// `action=submit`, with `changes` applied (`Some` sets a field, `None` removes it).
    async fn submit(&self, as_: &TestAs, changes: &[(&str, Option<&str>)]) -> Resp {
        let mut fields: Vec<(&str, &str)> = vec![
            ("interaction", &self.interaction),
            ("csrf_token", &self.csrf),
            ("email", EMAIL),
            ("action", "submit"),
        ];
        for (name, value) in changes {
            fields.retain(|(k, _)| k != name);
            if let Some(v) = value {
                fields.push((name, v));
            }
        }
        post_claims(as_, Some(&self.cookie), &fields).await
    }
}

/// GETs the claims interaction endpoint and expects the form.
async fn open_form(as_: &TestAs, uri: &str) -> ClaimsForm {
    let page = as_.get(uri, None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    let set_cookie = page.header("set-cookie").expect("the form sets a session cookie");
    let cookie = set_cookie.split(';').next().expect("a cookie pair").trim().to_owned();
    ClaimsForm {
        interaction: hidden_input(&html, "interaction"),
        csrf: hidden_input(&html, "csrf_token"),
        cookie,
        page,
    }
}

/// POSTs `fields` to the claims interaction endpoint with an optional `Cookie` header.
async fn post_claims(as_: &TestAs, cookie: Option<&str>, fields: &[(&str, &str)]) -> Resp {
    let mut b = Request::post("/claims").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    as_.send(b.body(Body::from(form(fields))).unwrap()).await
}

/// Opens the form for `ticket` (with `changes` to the default request) and submits the email.
async fn gather_with(as_: &TestAs, ticket: &str, changes: &[(&str, Option<&str>)]) -> Resp {
    open_form(as_, &claims_uri(ticket, changes))
        .await
        .submit(as_, &[])
        .await
}

/// The `Location` of a 302, parsed.
fn location(r: &Resp) -> Url {
    assert_eq!(r.status, StatusCode::FOUND, "expected a redirect, got {}", r.text());
    let loc = r.header("location").expect("a redirect has a Location");
    Url::parse(&loc).unwrap_or_else(|e| panic!("Location {loc} is not absolute: {e}"))
}

/// The query parameters of a redirect, in order.
fn query(url: &Url) -> Vec<(String, String)> {
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// One query parameter of a redirect; panics if it is repeated.
fn param(url: &Url, name: &str) -> Option<String> {
    let values: Vec<String> = query(url)
        .into_iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v)
        .collect();
    assert!(values.len() <= 1, "`{name}` is repeated in {url}");
    values.into_iter().next()
}

/// The redirect without its query, to compare with a registered claims redirection URI.
fn without_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

/// What a successful gathering returned.
struct Gathered {
    t1: String,
    t2: String,
    redirect: Url,
}

/// The whole happy path up to the redirect back: T1 from `need_info`, the form with state and
/// the Appendix B challenge, the email submitted.
async fn gather(as_: &TestAs) -> Gathered {
    let t1 = need_info_ticket(as_).await;
    let redirect = location(&gather_with(as_, &t1, &[]).await);
    let t2 = param(&redirect, "ticket").unwrap_or_else(|| panic!("no ticket in {redirect}"));
    Gathered { t1, t2, redirect }
}

/// An error page: a 4xx HTML answer that sends the browser nowhere.
fn assert_error_page(r: &Resp) {
    assert!(
        r.status.is_client_error(),
        "expected a 4xx page, got {}: {}",
        r.status,
        r.text()
    );
    assert_eq!(r.header("location"), None, "an error page must not redirect");
    let ct = r.header("content-type").unwrap_or_default();
    assert!(ct.starts_with("text/html"), "content-type {ct}");
    assert!(r.text().contains("id=\"error\""), "{}", r.text());
}

/// The `error` of an error redirect back to the demo client's claims redirection URI.
fn assert_error_redirect(r: &Resp, error: &str) -> Url {
    let url = location(r);
    assert_eq!(without_query(&url), CLAIMS_REDIRECT);
    assert_eq!(param(&url, "error").as_deref(), Some(error), "{url}");
    assert_eq!(
        param(&url, "ticket"),
        None,
        "an error redirect carries no ticket: {url}"
    );
    url
}

/// A token request with a `code_verifier`.
async fn redeem(as_: &TestAs, ticket: &str, verifier: Option<&str>) -> Resp {
    match verifier {
        Some(v) => as_.uma_token(ticket, &[("code_verifier", v)]).await,
        None => as_.uma_token(ticket, &[]).await,
    }
}

fn assert_invalid_grant(r: &Resp) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.error(), "invalid_grant");
}

fn assert_rpt(r: &Resp) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(!r.str("access_token").is_empty());
}

/// Registers a client by RFC 7591 and returns its credentials.
async fn register(as_: &TestAs, metadata: Value) -> (String, String) {
    let r = as_.json("POST", "/register", None, &metadata).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    (r.str("client_id"), r.str("client_secret"))
}

async fn discovery(as_: &TestAs) -> Value {
    let r = as_.get("/.well-known/uma2-configuration", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

fn config_with(f: impl FnOnce(&mut Config)) -> Config {
    let mut c = Config::demo();
    f(&mut c);
    c
}

// ---- the redirection URI and the client (G-AS-41, G-AS-42, G-AS-44) ----

#[tokio::test]
async fn a_uri_registered_only_as_a_redirect_uri_gets_an_error_page_not_a_redirect() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;

    // Act
    let r = as_
        .get(
            &claims_uri(
                &t1,
                &[("claims_redirect_uri", Some("http://127.0.0.1:9/client/callback"))],
            ),
            None,
        )
        .await;

    // Assert
    assert_error_page(&r);
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn near_misses_of_the_registered_claims_redirect_uri_get_an_error_page_never_a_redirect() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;
    let near_misses = [
        "http://127.0.0.1:9/client/claims/",
        "http://127.0.0.1:9/client/Claims",
        "HTTP://127.0.0.1:9/client/claims",
        "http://127.0.0.1:9/client/claims?x=1",
        "http://127.0.0.1:9/client/claims#frag",
        "http://127.0.0.1:09/client/claims",
        "/client/claims",
    ];

    for uri in near_misses {
        // Act
        let r = as_
            .get(&claims_uri(&t1, &[("claims_redirect_uri", Some(uri))]), None)
            .await;

        // Assert
        assert_error_page(&r);
        assert!(!r.text().contains(&t1), "the page for {uri} must not echo the ticket");
    }
}

#[tokio::test]
async fn a_repeated_claims_redirect_uri_gets_an_error_page() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;
    let uri = format!(
        "{}&{}",
        claims_uri(&t1, &[]),
        form(&[("claims_redirect_uri", "https://attacker.example/cb")])
    );

    // Act
    let r = as_.get(&uri, None).await;

    // Assert
    assert_error_page(&r);
}

#[tokio::test]
async fn an_unknown_client_id_gets_an_error_page() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;

    // Act
    let r = as_
        .get(&claims_uri(&t1, &[("client_id", Some("no-such-client"))]), None)
        .await;

    // Assert
    assert_error_page(&r);
}

#[tokio::test]
async fn a_missing_client_id_gets_an_error_page() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;

    // Act
    let r = as_.get(&claims_uri(&t1, &[("client_id", None)]), None).await;

    // Assert
    assert_error_page(&r);
}

#[tokio::test]
async fn an_omitted_claims_redirect_uri_falls_back_to_the_only_registered_one() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;

    // Act
    let r = gather_with(&as_, &t1, &[("claims_redirect_uri", None)]).await;

    // Assert
    let url = location(&r);
    assert_eq!(without_query(&url), CLAIMS_REDIRECT);
    assert!(param(&url, "ticket").is_some(), "{url}");
}

#[tokio::test]
async fn an_omitted_claims_redirect_uri_gets_an_error_page_when_the_client_registered_two() {
    // Arrange
    let as_ = TestAs::new().await;
    let (client_id, _) = register(
        &as_,
        json!({"claims_redirect_uris": ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"], "scope": "view"}),
    )
    .await;
    let t1 = need_info_ticket(&as_).await;

    // Act
    let r = as_
        .get(
            &claims_uri(&t1, &[("client_id", Some(&client_id)), ("claims_redirect_uri", None)]),
            None,
        )
        .await;

    // Assert
    assert_error_page(&r);
}

// ---- the redirect back (G-AS-46, G-AS-47) ----

#[tokio::test]
async fn the_redirect_back_goes_to_the_claims_redirect_uri_with_a_ticket_state_and_iss() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let g = gather(&as_).await;

    // Assert
    assert_eq!(without_query(&g.redirect), CLAIMS_REDIRECT);
    let names: Vec<String> = query(&g.redirect).into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, ["ticket", "state", "iss"]);
    assert_eq!(param(&g.redirect, "state").as_deref(), Some(STATE));
    assert_eq!(param(&g.redirect, "iss").as_deref(), Some(ISSUER));
}

#[tokio::test]
async fn no_state_appears_on_the_redirect_back_when_the_client_sent_none() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;

    // Act
    let r = gather_with(&as_, &t1, &[("state", None)]).await;

    // Assert
    let url = location(&r);
    assert!(param(&url, "ticket").is_some(), "{url}");
    assert_eq!(param(&url, "state"), None, "{url}");
}

#[tokio::test]
async fn a_state_with_reserved_characters_is_echoed_exactly() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;
    let state = "a b&c=d/é?";

    // Act
    let r = gather_with(&as_, &t1, &[("state", Some(state))]).await;

    // Assert
    assert_eq!(param(&location(&r), "state").as_deref(), Some(state));
}

#[tokio::test]
async fn the_ticket_on_the_redirect_back_differs_from_the_ticket_the_client_sent() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let g = gather(&as_).await;

    // Assert
    assert_ne!(g.t2, g.t1);
    assert!(g.t2.len() >= 22, "the new ticket is unguessable: {}", g.t2);
}

#[tokio::test]
async fn an_existing_query_on_the_claims_redirect_uri_is_kept() {
    // Arrange
    let as_ = TestAs::new().await;
    let uri = "http://127.0.0.1:9/cb?x=1";
    let (client_id, secret) = register(&as_, json!({"claims_redirect_uris": [uri], "scope": "view"})).await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;
    as_.policy(&pat, &rid, email_policy()).await;
    let t0 = as_.ticket_for(&pat, &rid, &["view"]).await;
    let first = as_
        .form(
            "/token",
            Some(&basic((&client_id, &secret))),
            &[("grant_type", UMA_GRANT), ("ticket", &t0)],
        )
        .await;
    assert_eq!(first.error(), "need_info", "{}", first.text());
    let t1 = first.str("ticket");

    // Act
    let r = gather_with(
        &as_,
        &t1,
        &[("client_id", Some(&client_id)), ("claims_redirect_uri", Some(uri))],
    )
    .await;

    // Assert
    let url = location(&r);
    let q = query(&url);
    assert_eq!(q[0], ("x".to_owned(), "1".to_owned()), "{url}");
    assert_eq!(url.as_str().split('?').next(), Some("http://127.0.0.1:9/cb"));
    assert!(param(&url, "ticket").is_some_and(|t| t != t1), "{url}");
    assert_eq!(param(&url, "state").as_deref(), Some(STATE));
}

#[tokio::test]
async fn nothing_gathered_from_the_requesting_party_appears_in_the_redirect() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;
    let form = open_form(&as_, &claims_uri(&t1, &[])).await;

    // Act
    let r = form.submit(&as_, &[("name", Some("Bob Builder"))]).await;

    // Assert
    let url = location(&r);
    let names: BTreeMap<String, String> = query(&url).into_iter().collect();
    assert!(
        names.keys().all(|k| ["ticket", "state", "iss"].contains(&k.as_str())),
        "{url}"
    );
    let raw = r.header("location").unwrap();
    for leak in ["bob", "Bob", "example.com", "email", "Builder"] {
        assert!(!raw.contains(leak), "`{leak}` leaked into {raw}");
    }
}

// ---- error redirects (G-AS-45) ----

#[tokio::test]
async fn an_unknown_ticket_redirects_back_with_invalid_request_state_and_iss() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = as_.get(&claims_uri("no-such-ticket", &[]), None).await;

    // Assert
    let url = assert_error_redirect(&r, "invalid_request");
    assert_eq!(param(&url, "state").as_deref(), Some(STATE));
    assert_eq!(param(&url, "iss").as_deref(), Some(ISSUER));
}

#[tokio::test]
async fn a_missing_ticket_redirects_back_with_invalid_request() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = as_.get(&claims_uri("x", &[("ticket", None)]), None).await;

    // Assert
    let url = assert_error_redirect(&r, "invalid_request");
    assert_eq!(param(&url, "state").as_deref(), Some(STATE));
}

#[tokio::test]
async fn cancelling_the_form_redirects_back_with_access_denied_and_state() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;
    let form = open_form(&as_, &claims_uri(&t1, &[])).await;

    // Act
    let r = form.submit(&as_, &[("email", None), ("action", Some("cancel"))]).await;

    // Assert
    let url = assert_error_redirect(&r, "access_denied");
    assert_eq!(param(&url, "state").as_deref(), Some(STATE));
    assert_eq!(param(&url, "iss").as_deref(), Some(ISSUER));
}

#[tokio::test]
async fn a_ticket_another_client_was_given_redirects_back_with_invalid_request() {
    // Arrange
    let as_ = TestAs::new().await;
    let (client_id, _) = register(&as_, json!({"claims_redirect_uris": ["http://127.0.0.1:9/other"]})).await;
    let t1 = need_info_ticket(&as_).await;

    // Act
    let r = as_
        .get(
            &claims_uri(
                &t1,
                &[
                    ("client_id", Some(&client_id)),
                    ("claims_redirect_uri", Some("http://127.0.0.1:9/other")),
                ],
            ),
            None,
        )
        .await;

    // Assert
    let url = location(&r);
    assert_eq!(without_query(&url), "http://127.0.0.1:9/other");
    assert_eq!(param(&url, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&url, "ticket"), None);
}

// ---- ticket lifecycle (G-AS-52, T-02, T-04) ----

#[tokio::test]
async fn a_ticket_presented_at_the_claims_endpoint_is_no_longer_redeemable_at_the_token_endpoint() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;
    open_form(&as_, &claims_uri(&t1, &[])).await;

    // Act
    let r = as_.uma_token(&t1, &[]).await;

    // Assert
    assert_invalid_grant(&r);
}

#[tokio::test]
async fn a_ticket_presented_at_the_claims_endpoint_cannot_be_presented_there_again() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;
    open_form(&as_, &claims_uri(&t1, &[])).await;

    // Act
    let r = as_.get(&claims_uri(&t1, &[]), None).await;

    // Assert
    assert_error_redirect(&r, "invalid_request");
}

#[tokio::test]
async fn after_a_completed_gathering_the_old_ticket_is_dead_and_the_new_one_differs() {
    // Arrange
    let as_ = TestAs::new().await;
    let g = gather(&as_).await;

    // Act
    let old = as_.uma_token(&g.t1, &[("code_verifier", VERIFIER)]).await;

    // Assert
    assert_ne!(g.t2, g.t1);
    assert_invalid_grant(&old);
}

// ---- CSRF (G-AS-49) ----

#[tokio::test]
async fn submitting_the_form_without_the_session_cookie_is_refused_with_403_and_no_redirect() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;
    let f = open_form(&as_, &claims_uri(&t1, &[])).await;

    // Act
    let r = post_claims(
        &as_,
        None,
        &[
            ("interaction", &f.interaction),
            ("csrf_token", &f.csrf),
            ("email", EMAIL),
            ("action", "submit"),
        ],
    )
    .await;

    // Assert
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_error_page(&r);
}

#[tokio::test]
async fn submitting_the_form_with_a_wrong_csrf_token_is_refused_with_403() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;
    let f = open_form(&as_, &claims_uri(&t1, &[])).await;

    // Act
    let wrong = f.submit(&as_, &[("csrf_token", Some("not-the-token"))]).await;
    let missing = f.submit(&as_, &[("csrf_token", None)]).await;

    // Assert
    assert_eq!(wrong.status, StatusCode::FORBIDDEN, "{}", wrong.text());
    assert_error_page(&wrong);
    assert_eq!(missing.status, StatusCode::FORBIDDEN, "{}", missing.text());
    assert_error_page(&missing);
}

#[tokio::test]
async fn the_cookie_of_another_session_does_not_unlock_a_form() {
    // Arrange
    let as_ = TestAs::new().await;
    let victim_ticket = need_info_ticket(&as_).await;
    let attacker_ticket = need_info_ticket(&as_).await;
    let victim = open_form(&as_, &claims_uri(&victim_ticket, &[])).await;
    let attacker = open_form(&as_, &claims_uri(&attacker_ticket, &[])).await;
    let attacker_cookie_value = attacker.cookie.split_once('=').unwrap().1;
    let forged_cookie = format!("{}={attacker_cookie_value}", victim.cookie.split_once('=').unwrap().0);

    // Act
    let r = post_claims(
        &as_,
        Some(&forged_cookie),
        &[
            ("interaction", &victim.interaction),
            ("csrf_token", &victim.csrf),
            ("email", EMAIL),
            ("action", "submit"),
        ],
    )
    .await;

    // Assert
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_error_page(&r);
}

#[tokio::test]
async fn a_claims_session_cannot_be_submitted_twice() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;
    let f = open_form(&as_, &claims_uri(&t1, &[])).await;
    let first = f.submit(&as_, &[]).await;

    // Act
    let second = f.submit(&as_, &[]).await;

    // Assert
    assert!(param(&location(&first), "ticket").is_some());
    assert_error_page(&second);
}

// ---- ICG+PKCE profile (digest §10.1) ----

#[tokio::test]
async fn a_missing_code_challenge_redirects_back_with_invalid_request_when_pkce_is_required() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;

    // Act
    let r = as_
        .get(
            &claims_uri(&t1, &[("code_challenge", None), ("code_challenge_method", None)]),
            None,
        )
        .await;

    // Assert
    let url = assert_error_redirect(&r, "invalid_request");
    assert_eq!(param(&url, "state").as_deref(), Some(STATE));
    assert_eq!(param(&url, "iss").as_deref(), Some(ISSUER));
}

#[tokio::test]
async fn a_ticket_refused_for_its_missing_challenge_is_spent_all_the_same() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;
    let refused = as_
        .get(
            &claims_uri(&t1, &[("code_challenge", None), ("code_challenge_method", None)]),
            None,
        )
        .await;
    assert_error_redirect(&refused, "invalid_request");

    // Act
    let r = as_.uma_token(&t1, &[]).await;

    // Assert
    assert_invalid_grant(&r);
}

#[tokio::test]
async fn a_plain_or_missing_code_challenge_method_redirects_back_with_invalid_request() {
    for method in [Some("plain"), None, Some("s256"), Some("S512")] {
        // Arrange
        let as_ = TestAs::new().await;
        let t1 = need_info_ticket(&as_).await;

        // Act
        let r = as_
            .get(&claims_uri(&t1, &[("code_challenge_method", method)]), None)
            .await;

        // Assert
        let url = assert_error_redirect(&r, "invalid_request");
        assert_eq!(param(&url, "state").as_deref(), Some(STATE), "method {method:?}");
    }
}

#[tokio::test]
async fn a_code_challenge_of_the_wrong_length_or_with_illegal_characters_redirects_back_with_invalid_request() {
    // Arrange: 42 and 129 characters, `+`, `=` padding, a space, a non-ASCII letter.
    let bad = [
        "a".repeat(42),
        "a".repeat(129),
        format!("{}+", "a".repeat(42)),
        format!("{}=", &CHALLENGE[..42]),
        format!("{} ", "a".repeat(43)),
        format!("{}é", "a".repeat(43)),
    ];
    for challenge in &bad {
        // Arrange
        let as_ = TestAs::new().await;
        let t1 = need_info_ticket(&as_).await;

        // Act
        let r = as_
            .get(&claims_uri(&t1, &[("code_challenge", Some(challenge))]), None)
            .await;

        // Assert
        assert_error_redirect(&r, "invalid_request");
    }
}

#[tokio::test]
async fn code_challenges_of_43_and_128_unreserved_characters_are_accepted() {
    for challenge in ["a".repeat(43), "aZ09-._~".repeat(16)] {
        // Arrange
        let as_ = TestAs::new().await;
        let t1 = need_info_ticket(&as_).await;

        // Act
        let r = gather_with(&as_, &t1, &[("code_challenge", Some(&challenge))]).await;

        // Assert
        let url = location(&r);
        assert!(
            param(&url, "ticket").is_some(),
            "challenge of {} chars: {url}",
            challenge.len()
        );
        assert_eq!(param(&url, "error"), None);
    }
}

#[tokio::test]
async fn the_rotated_ticket_cannot_be_redeemed_without_the_code_verifier() {
    // Arrange
    let as_ = TestAs::new().await;
    let g = gather(&as_).await;

    // Act
    let r = redeem(&as_, &g.t2, None).await;

    // Assert
    assert_invalid_grant(&r);
}

#[tokio::test]
async fn the_rotated_ticket_cannot_be_redeemed_with_a_wrong_verifier_and_is_spent_by_the_attempt() {
    // Arrange
    let as_ = TestAs::new().await;
    let g = gather(&as_).await;

    // Act
    let wrong = redeem(&as_, &g.t2, Some(OTHER_VERIFIER)).await;
    let right_afterwards = redeem(&as_, &g.t2, Some(VERIFIER)).await;

    // Assert
    assert_invalid_grant(&wrong);
    assert_invalid_grant(&right_afterwards);
}

#[tokio::test]
async fn the_rotated_ticket_is_redeemed_for_an_rpt_with_the_rfc_7636_appendix_b_verifier() {
    // Arrange
    let as_ = TestAs::new().await;
    let g = gather(&as_).await;

    // Act
    let r = redeem(&as_, &g.t2, Some(VERIFIER)).await;

    // Assert
    assert_rpt(&r);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let pat = as_.pat().await;
    let intro = as_.introspect(&pat, &r.str("access_token")).await;
    assert_eq!(intro["active"], json!(true));
    assert_eq!(intro["permissions"][0]["resource_scopes"], json!(["view"]));
}

/// T1 for `view download` under [`email_and_age_policy`], gathered, and T2 redeemed with the
/// verifier: returns T3 from the second `need_info` (the `age` is still missing).
async fn ticket_rotated_after_gathering(as_: &TestAs) -> String {
    let t1 = need_info_ticket_for(as_, email_and_age_policy(), &["view", "download"]).await;
    let t2 = param(&location(&gather_with(as_, &t1, &[]).await), "ticket").expect("a ticket");
    let r = redeem(as_, &t2, Some(VERIFIER)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(r.error(), "need_info");
    let t3 = r.str("ticket");
    assert_ne!(t3, t2);
    t3
}

#[tokio::test]
async fn a_ticket_rotated_by_need_info_after_gathering_still_demands_the_code_verifier() {
    // Arrange
    let as_ = TestAs::new().await;
    let t3 = ticket_rotated_after_gathering(&as_).await;
    let age = as_.id_token(&[("age", "42")]).await;

    // Act
    let r = as_.push_id_token(&t3, &age).await;

    // Assert
    assert_invalid_grant(&r);
}

#[tokio::test]
async fn a_ticket_rotated_by_need_info_after_gathering_refuses_a_different_verifier() {
    // Arrange
    let as_ = TestAs::new().await;
    let t3 = ticket_rotated_after_gathering(&as_).await;
    let age = as_.id_token(&[("age", "42")]).await;

    // Act
    let r = as_
        .uma_token(
            &t3,
            &[
                ("claim_token", &age),
                ("claim_token_format", ID_TOKEN),
                ("code_verifier", OTHER_VERIFIER),
            ],
        )
        .await;

    // Assert
    assert_invalid_grant(&r);
}

#[tokio::test]
async fn a_ticket_rotated_by_need_info_after_gathering_is_redeemed_with_the_same_verifier() {
    // Arrange
    let as_ = TestAs::new().await;
    let t3 = ticket_rotated_after_gathering(&as_).await;
    let age = as_.id_token(&[("age", "42")]).await;

    // Act
    let r = as_
        .uma_token(
            &t3,
            &[
                ("claim_token", &age),
                ("claim_token_format", ID_TOKEN),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;

    // Assert
    assert_rpt(&r);
}

#[tokio::test]
async fn a_second_gathering_on_a_bound_ticket_cannot_swap_in_another_challenge() {
    // Arrange: T2 is bound to CHALLENGE; someone takes it back to the claims endpoint with a
    // challenge of their own (rule 2: every ticket rotated from T2 stays bound to CHALLENGE).
    let as_ = TestAs::new().await;
    let g = gather(&as_).await;
    let own_challenge = uma_reference_server::crypto::pkce_s256(OTHER_VERIFIER);
    let r = gather_with(&as_, &g.t2, &[("code_challenge", Some(&own_challenge))]).await;
    let t3 = param(&location(&r), "ticket").expect("a ticket on the redirect back");

    // Act
    let with_own_verifier = redeem(&as_, &t3, Some(OTHER_VERIFIER)).await;

    // Assert
    assert_ne!(t3, g.t2);
    assert_invalid_grant(&with_own_verifier);
}

#[tokio::test]
async fn a_second_gathering_on_a_bound_ticket_keeps_the_original_verifier_working() {
    // Arrange
    let as_ = TestAs::new().await;
    let g = gather(&as_).await;
    let r = gather_with(&as_, &g.t2, &[]).await;
    let t3 = param(&location(&r), "ticket").expect("a ticket on the redirect back");

    // Act
    let token = redeem(&as_, &t3, Some(VERIFIER)).await;

    // Assert
    assert_rpt(&token);
}

#[tokio::test]
async fn a_code_verifier_sent_with_a_ticket_that_has_no_challenge_is_refused_as_a_downgrade() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let r = redeem(&as_, &t, Some(VERIFIER)).await;

    // Assert
    assert_invalid_grant(&r);
}

#[tokio::test]
async fn with_optional_pkce_a_gathering_without_a_challenge_needs_no_verifier() {
    // Arrange
    let as_ = TestAs::with(config_with(|c| c.icg_pkce = PkceMode::Optional)).await;
    let t1 = need_info_ticket(&as_).await;
    let r = gather_with(&as_, &t1, &[("code_challenge", None), ("code_challenge_method", None)]).await;
    let t2 = param(&location(&r), "ticket").expect("a ticket on the redirect back");

    // Act
    let token = redeem(&as_, &t2, None).await;

    // Assert
    assert_rpt(&token);
}

#[tokio::test]
async fn with_optional_pkce_a_verifier_for_an_unbound_ticket_is_still_a_downgrade() {
    // Arrange
    let as_ = TestAs::with(config_with(|c| c.icg_pkce = PkceMode::Optional)).await;
    let t1 = need_info_ticket(&as_).await;
    let r = gather_with(&as_, &t1, &[("code_challenge", None), ("code_challenge_method", None)]).await;
    let t2 = param(&location(&r), "ticket").expect("a ticket on the redirect back");

    // Act
    let token = redeem(&as_, &t2, Some(VERIFIER)).await;

    // Assert
    assert_invalid_grant(&token);
}

#[tokio::test]
async fn with_optional_pkce_a_challenge_that_is_sent_is_still_enforced() {
    // Arrange
    let as_ = TestAs::with(config_with(|c| c.icg_pkce = PkceMode::Optional)).await;
    let g = gather(&as_).await;

    // Act
    let without = redeem(&as_, &g.t2, None).await;

    // Assert
    assert_invalid_grant(&without);
}

#[tokio::test]
async fn discovery_advertises_s256_and_the_icg_pkce_profile() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let meta = discovery(&as_).await;

    // Assert
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    let profiles = meta["uma_profiles_supported"]
        .as_array()
        .expect("uma_profiles_supported");
    assert!(profiles.contains(&json!(PROFILE_ICG_PKCE)), "{profiles:?}");
}

// ---- iss profile (digest §10.2) ----

#[tokio::test]
async fn discovery_advertises_iss_support_and_the_issuer_the_redirect_carries() {
    // Arrange
    let as_ = TestAs::new().await;
    let g = gather(&as_).await;

    // Act
    let meta = discovery(&as_).await;

    // Assert
    assert_eq!(meta["authorization_response_iss_parameter_supported"], json!(true));
    assert_eq!(meta["issuer"], json!(ISSUER));
    assert_eq!(param(&g.redirect, "iss").as_deref(), meta["issuer"].as_str());
}

#[tokio::test]
async fn with_the_iss_profile_off_no_redirect_carries_iss_and_discovery_says_so() {
    // Arrange
    let as_ = TestAs::with(config_with(|c| c.icg_iss = false)).await;
    let t1 = need_info_ticket(&as_).await;

    // Act
    let success = location(&gather_with(&as_, &t1, &[]).await);
    let error = location(&as_.get(&claims_uri("no-such-ticket", &[]), None).await);
    let meta = discovery(&as_).await;

    // Assert
    assert!(param(&success, "ticket").is_some());
    assert_eq!(param(&success, "iss"), None, "{success}");
    assert_eq!(param(&error, "error").as_deref(), Some("invalid_request"));
    assert_eq!(param(&error, "iss"), None, "{error}");
    assert_eq!(meta["authorization_response_iss_parameter_supported"], json!(false));
}

// ---- the page itself ----

#[tokio::test]
async fn the_claims_form_asks_for_an_email_and_loads_no_external_assets() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;

    // Act
    let f = open_form(&as_, &claims_uri(&t1, &[])).await;

    // Assert
    let html = f.page.text();
    assert!(
        f.page
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/html")
    );
    assert!(html.contains("type=\"email\" name=\"email\""), "{html}");
    assert!(html.contains("method=\"post\""), "{html}");
    for tag in ["<script", "<link", "<img", "<iframe", "src=", "@import", "url("] {
        assert!(!html.to_ascii_lowercase().contains(tag), "`{tag}` in {html}");
    }
    for (i, _) in html.match_indices("http") {
        assert!(html[i..].starts_with(ISSUER), "a URL off the AS in {html}");
    }
    assert!(!html.contains(&t1), "the form must not show the ticket");
}

#[tokio::test]
async fn an_invalid_email_shows_the_form_again_and_the_session_can_still_complete() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;
    let f = open_form(&as_, &claims_uri(&t1, &[])).await;

    // Act
    let invalid = f.submit(&as_, &[("email", Some("not-an-email"))]).await;
    let valid = f.submit(&as_, &[]).await;

    // Assert
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST, "{}", invalid.text());
    assert_eq!(invalid.header("location"), None);
    assert_eq!(hidden_input(&invalid.text(), "interaction"), f.interaction);
    assert!(param(&location(&valid), "ticket").is_some());
}

#[tokio::test]
async fn the_form_sets_an_http_only_same_site_cookie_scoped_to_the_claims_endpoint() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;

    // Act
    let f = open_form(&as_, &claims_uri(&t1, &[])).await;

    // Assert
    let set_cookie = f.page.header("set-cookie").unwrap();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite="), "{set_cookie}");
    assert!(set_cookie.contains("Path=/claims"), "{set_cookie}");
    assert!(set_cookie.contains("; Secure"), "the issuer is https: {set_cookie}");
    assert!(!set_cookie.contains(&f.csrf), "the CSRF token is not the cookie");
}

#[tokio::test]
async fn behind_an_issuer_with_a_path_the_cookie_is_scoped_to_the_path_the_form_posts_to() {
    // Arrange: the AS at https://as.test/uma, its routes served at the root as behind a proxy
    // that strips the prefix.
    let (router, ctx) = uma_reference_server::test_app(Config::demo(), "https://as.test/uma")
        .await
        .unwrap();
    let as_ = TestAs { router, ctx };
    let t1 = need_info_ticket(&as_).await;

    // Act
    let f = open_form(&as_, &claims_uri(&t1, &[])).await;

    // Assert: the browser sends the cookie back with the POST to the form's action.
    let set_cookie = f.page.header("set-cookie").unwrap();
    assert!(set_cookie.contains("Path=/uma/claims;"), "{set_cookie}");
    assert!(f.page.text().contains("action=\"https://as.test/uma/claims\""));
}

#[tokio::test]
async fn the_form_the_error_page_and_the_redirect_are_sent_with_cache_control_no_store() {
    // Arrange
    let as_ = TestAs::new().await;
    let t1 = need_info_ticket(&as_).await;

    // Act
    let f = open_form(&as_, &claims_uri(&t1, &[])).await;
    let redirect = f.submit(&as_, &[]).await;
    let error_page = as_.get(&claims_uri("x", &[("client_id", None)]), None).await;

    // Assert
    assert_eq!(f.page.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(redirect.status, StatusCode::FOUND);
    assert_eq!(redirect.header("cache-control").as_deref(), Some("no-store"));
    assert_error_page(&error_page);
    assert_eq!(error_page.header("cache-control").as_deref(), Some("no-store"));
}

// ---- quirks: each changes what the conformant AS does ----

#[tokio::test]
async fn quirk_claims_redirect_unregistered_redirects_to_an_unregistered_absolute_uri() {
    // Arrange
    let evil = "https://attacker.example/collect";
    let conformant = TestAs::new().await;
    let quirky = TestAs::with_quirks(&[Quirk::ClaimsRedirectUnregistered]).await;
    let t_conformant = need_info_ticket(&conformant).await;
    let t_quirky = need_info_ticket(&quirky).await;

    // Act
    let refused = conformant
        .get(&claims_uri(&t_conformant, &[("claims_redirect_uri", Some(evil))]), None)
        .await;
    let followed = gather_with(&quirky, &t_quirky, &[("claims_redirect_uri", Some(evil))]).await;

    // Assert
    assert_error_page(&refused);
    let url = location(&followed);
    assert_eq!(without_query(&url), evil);
    assert!(param(&url, "ticket").is_some());
}

#[tokio::test]
async fn quirk_state_not_echoed_drops_the_state_from_the_redirect_back() {
    // Arrange
    let conformant = TestAs::new().await;
    let quirky = TestAs::with_quirks(&[Quirk::StateNotEchoed]).await;

    // Act
    let with_state = gather(&conformant).await;
    let without_state = gather(&quirky).await;

    // Assert
    assert_eq!(param(&with_state.redirect, "state").as_deref(), Some(STATE));
    assert_eq!(
        param(&without_state.redirect, "state"),
        None,
        "{}",
        without_state.redirect
    );
}

#[tokio::test]
async fn quirk_redirect_reuses_ticket_sends_back_the_incoming_ticket() {
    // Arrange
    let conformant = TestAs::new().await;
    let quirky = TestAs::with_quirks(&[Quirk::RedirectReusesTicket]).await;

    // Act
    let rotated = gather(&conformant).await;
    let reused = gather(&quirky).await;

    // Assert
    assert_ne!(rotated.t2, rotated.t1);
    assert_eq!(reused.t2, reused.t1);
    assert_rpt(&redeem(&quirky, &reused.t2, Some(VERIFIER)).await);
}

#[tokio::test]
async fn quirk_pkce_not_enforced_redeems_a_bound_ticket_without_a_verifier() {
    // Arrange
    let conformant = TestAs::new().await;
    let quirky = TestAs::with_quirks(&[Quirk::PkceNotEnforced]).await;
    let g_conformant = gather(&conformant).await;
    let g_quirky = gather(&quirky).await;

    // Act
    let refused = redeem(&conformant, &g_conformant.t2, None).await;
    let accepted = redeem(&quirky, &g_quirky.t2, None).await;

    // Assert
    assert_invalid_grant(&refused);
    assert_rpt(&accepted);
}

#[tokio::test]
async fn quirk_pkce_not_enforced_also_accepts_a_wrong_verifier() {
    // Arrange
    let conformant = TestAs::new().await;
    let quirky = TestAs::with_quirks(&[Quirk::PkceNotEnforced]).await;
    let g_conformant = gather(&conformant).await;
    let g_quirky = gather(&quirky).await;

    // Act
    let refused = redeem(&conformant, &g_conformant.t2, Some(OTHER_VERIFIER)).await;
    let accepted = redeem(&quirky, &g_quirky.t2, Some(OTHER_VERIFIER)).await;

    // Assert
    assert_invalid_grant(&refused);
    assert_rpt(&accepted);
}

#[tokio::test]
async fn quirk_pkce_downgrade_accepted_takes_a_verifier_for_a_ticket_without_a_challenge() {
    // Arrange
    let conformant = TestAs::new().await;
    let quirky = TestAs::with_quirks(&[Quirk::PkceDowngradeAccepted]).await;
    let pat_c = conformant.pat().await;
    let pat_q = quirky.pat().await;
    let (_, t_conformant) = conformant.open_resource_ticket(&pat_c, &["view"], &["view"]).await;
    let (_, t_quirky) = quirky.open_resource_ticket(&pat_q, &["view"], &["view"]).await;

    // Act
    let refused = redeem(&conformant, &t_conformant, Some(VERIFIER)).await;
    let accepted = redeem(&quirky, &t_quirky, Some(VERIFIER)).await;

    // Assert
    assert_invalid_grant(&refused);
    assert_rpt(&accepted);
}

#[tokio::test]
async fn quirk_iss_missing_leaves_iss_off_the_redirect_back() {
    // Arrange
    let conformant = TestAs::new().await;
    let quirky = TestAs::with_quirks(&[Quirk::IssMissing]).await;

    // Act
    let with_iss = gather(&conformant).await;
    let without_iss = gather(&quirky).await;
    let error_without_iss = location(&quirky.get(&claims_uri("no-such-ticket", &[]), None).await);

    // Assert
    assert_eq!(param(&with_iss.redirect, "iss").as_deref(), Some(ISSUER));
    assert_eq!(param(&without_iss.redirect, "iss"), None, "{}", without_iss.redirect);
    assert_eq!(param(&error_without_iss, "iss"), None, "{error_without_iss}");
}

#[tokio::test]
async fn quirk_iss_wrong_sends_an_iss_that_is_not_the_issuer() {
    // Arrange
    let conformant = TestAs::new().await;
    let quirky = TestAs::with_quirks(&[Quirk::IssWrong]).await;

    // Act
    let right = gather(&conformant).await;
    let wrong = gather(&quirky).await;
    let meta = discovery(&quirky).await;

    // Assert
    assert_eq!(param(&right.redirect, "iss").as_deref(), Some(ISSUER));
    let iss = param(&wrong.redirect, "iss");
    assert_eq!(iss.as_deref(), Some(WRONG_ISS));
    assert_ne!(iss.as_deref(), meta["issuer"].as_str());
}

// ---- quirks break only what they declare ----

#[tokio::test]
async fn quirk_state_not_echoed_still_echoes_state_on_error_redirects() {
    // Arrange
    let as_ = TestAs::with_quirks(&[Quirk::StateNotEchoed]).await;

    // Act: an unknown ticket with a valid client and URI is an error redirect (G-AS-45).
    let r = as_.get(&claims_uri("no-such-ticket", &[]), None).await;

    // Assert
    let url = assert_error_redirect(&r, "invalid_request");
    assert_eq!(param(&url, "state").as_deref(), Some(STATE));
}

#[tokio::test]
async fn quirk_claims_redirect_unregistered_still_never_redirects_to_a_fragment_uri() {
    // Arrange
    let as_ = TestAs::with_quirks(&[Quirk::ClaimsRedirectUnregistered]).await;
    let t1 = need_info_ticket(&as_).await;

    // Act
    let r = as_
        .get(
            &claims_uri(&t1, &[("claims_redirect_uri", Some("https://evil.example/cb#x"))]),
            None,
        )
        .await;

    // Assert
    assert_error_page(&r);
}

#[tokio::test]
async fn quirk_invalid_grant_as_403_leaves_a_pkce_mismatch_at_400() {
    // Arrange
    let as_ = TestAs::with_quirks(&[Quirk::InvalidGrantAs403]).await;
    let g = gather(&as_).await;

    // Act
    let r = redeem(&as_, &g.t2, Some(OTHER_VERIFIER)).await;

    // Assert
    assert_invalid_grant(&r);
}

#[tokio::test]
async fn quirk_claims_ticket_not_spent_leaves_the_ticket_taken_to_the_claims_endpoint_redeemable() {
    // Arrange: an open policy, so a live ticket is redeemed at once.
    let [bad, good] = TestAs::with_and_without(Quirk::ClaimsTicketNotSpent).await;
    let mut tickets = Vec::new();
    for as_ in [&bad, &good] {
        let pat = as_.pat().await;
        let rid = as_.resource(&pat, &["view"]).await;
        as_.policy(&pat, &rid, json!({"scopes": {"view": {"type": "open"}}}))
            .await;
        tickets.push(as_.ticket_for(&pat, &rid, &["view"]).await);
    }

    // Act: the ticket goes to the claims endpoint, then to the token endpoint.
    location(&gather_with(&bad, &tickets[0], &[]).await);
    location(&gather_with(&good, &tickets[1], &[]).await);
    let bad_r = redeem(&bad, &tickets[0], None).await;
    let good_r = redeem(&good, &tickets[1], None).await;

    // Assert
    assert_invalid_grant(&good_r);
    assert_rpt(&bad_r);
}
