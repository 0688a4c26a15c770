//! The token endpoint's `uma-ticket` grant through the router: request parameters, the
//! assessment outcomes O0–O5 (digest §4.3) and every error of digest §6, need_info and pushed
//! claim tokens, request_submitted with owner approval, RPT upgrade, refresh, PCTs, the ticket
//! lifecycle (digest §5), concurrency, every grant quirk, and JWT RPTs.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use serde_json::{Value, json};
use uma_reference_server::Config;
use uma_reference_server::Quirk;
use uma_reference_server::config::{PartialOutcome, RptFormat};
use uma_reference_server::core::keys::Signer;

// ---- local helpers ----

/// The email the claims policies of these tests require.
const BOB: &str = "bob@example.com";

/// Introspected permissions as resource id → scopes.
fn perms(intro: &Value) -> BTreeMap<String, BTreeSet<String>> {
    intro["permissions"]
        .as_array()
        .unwrap_or_else(|| panic!("no permissions in {intro}"))
        .iter()
        .map(|p| {
            let id = p["resource_id"].as_str().expect("resource_id").to_owned();
            let scopes = p["resource_scopes"]
                .as_array()
                .expect("resource_scopes")
                .iter()
                .map(|s| s.as_str().expect("scope").to_owned())
                .collect();
            (id, scopes)
        })
        .collect()
}

/// An expected permission map.
fn expect(items: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
    items
        .iter()
        .map(|(r, s)| ((*r).to_owned(), s.iter().map(|x| (*x).to_owned()).collect()))
        .collect()
}

/// A JSON body member, if present.
fn member(r: &Resp, key: &str) -> Option<Value> {
    r.json().get(key).cloned()
}

/// An `uma-ticket` token request by any client.
async fn uma_token_by(as_: &TestAs, creds: (&str, &str), ticket: &str, extra: &[(&str, &str)]) -> Resp {
    let mut pairs = vec![("grant_type", UMA_GRANT), ("ticket", ticket)];
    pairs.extend_from_slice(extra);
    as_.form("/token", Some(&basic(creds)), &pairs).await
}

/// Registers a second UMA client (RFC 7591) with `scope` and returns its credentials.
async fn other_client(as_: &TestAs, scope: &str) -> (String, String) {
    let r = as_
        .json(
            "POST",
            "/register",
            None,
            &json!({"scope": scope, "claims_redirect_uris": ["https://other.example/claims"]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    (r.str("client_id"), r.str("client_secret"))
}

/// A resource whose `view` needs the claim `email = bob@example.com`, and a ticket for `view`.
async fn claims_resource_ticket(as_: &TestAs, pat: &str) -> (String, String) {
    let rid = as_.resource(pat, &["view", "print"]).await;
    as_.policy(
        pat,
        &rid,
        json!({"scopes": {"view": {"type": "claims", "claims": {"email": BOB}}}}),
    )
    .await;
    let t = as_.ticket_for(pat, &rid, &["view"]).await;
    (rid, t)
}

/// A resource whose `view` needs the owner's approval, and a ticket for `view`.
async fn approval_resource_ticket(as_: &TestAs, pat: &str) -> (String, String) {
    let rid = as_.resource(pat, &["view"]).await;
    as_.policy(pat, &rid, json!({"scopes": {"view": {"type": "owner-approval"}}}))
        .await;
    let t = as_.ticket_for(pat, &rid, &["view"]).await;
    (rid, t)
}

/// A demo-IdP ID token for bob with his email, and the extra claims/parameters given.
async fn bob_token(as_: &TestAs, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![("email", BOB)];
    pairs.extend_from_slice(extra);
    as_.id_token(&pairs).await
}

/// The claims of a valid-looking ID token for bob from `iss`, for the AS's audience.
fn bob_claims(iss: &str, now: i64) -> Value {
    json!({"iss": iss, "sub": "bob", "email": BOB, "aud": ISSUER, "iat": now, "exp": now + 300})
}

/// Pushes `token` as an ID token with the demo client.
async fn push(as_: &TestAs, ticket: &str, token: &str) -> Resp {
    as_.push_id_token(ticket, token).await
}

/// The spec example of UMA Grant §3.3.4 (digest §4.4): album{view,edit,download},
/// photo1/photo2{view,resize,print,download}; a ticket album[edit], photo1[view], photo2[view].
/// `policy(name)` gives each resource's policy. Returns the ids and the ticket.
async fn spec_example(as_: &TestAs, pat: &str, policy: impl Fn(&str) -> Value) -> ([String; 3], String) {
    let album = as_.resource(pat, &["view", "edit", "download"]).await;
    let photo1 = as_.resource(pat, &["view", "resize", "print", "download"]).await;
    let photo2 = as_.resource(pat, &["view", "resize", "print", "download"]).await;
    for (name, rid) in [("album", &album), ("photo1", &photo1), ("photo2", &photo2)] {
        as_.policy(pat, rid, policy(name)).await;
    }
    let ticket = as_
        .ticket(
            pat,
            json!([
                {"resource_id": album, "resource_scopes": ["edit"]},
                {"resource_id": photo1, "resource_scopes": ["view"]},
                {"resource_id": photo2, "resource_scopes": ["view"]},
            ]),
        )
        .await;
    ([album, photo1, photo2], ticket)
}

/// The §4.4 policy: the requesting party may only view photo1.
fn only_photo1_view(name: &str) -> Value {
    if name == "photo1" {
        json!({"scopes": {"view": {"type": "open"}}, "default": {"type": "deny"}})
    } else {
        json!({"default": {"type": "deny"}})
    }
}

/// Asserts an RFC 6749 §5.2 error with its status, code and the no-store header.
fn assert_error(r: &Resp, status: StatusCode, error: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.error(), error, "{}", r.text());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert!(
        member(r, "access_token").is_none(),
        "an error must carry no token: {}",
        r.text()
    );
}

/// Asserts a need_info answer that rotated `sent` and carries no grant; returns the new ticket.
fn assert_need_info(r: &Resp, sent: &str) -> String {
    assert_error(r, StatusCode::FORBIDDEN, "need_info");
    let t = r.str("ticket");
    assert_ne!(t, sent, "need_info must rotate the ticket");
    t
}

/// Whether `s` is a ticket/token of at least 128 bits in the URL-safe alphabet (43+ chars).
fn unguessable(s: &str) -> bool {
    s.len() >= 43 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

// ---- 1. request parameters (G-C-10..16, G-AS-10) ----

#[tokio::test]
async fn a_token_request_without_a_ticket_is_invalid_request() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = as_
        .form("/token", Some(&basic(CLIENT)), &[("grant_type", UMA_GRANT)])
        .await;

    // Assert
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(member(&r, "ticket").is_none());
}

#[tokio::test]
async fn a_claim_token_without_its_format_is_invalid_request() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let r = as_.uma_token(&t, &[("claim_token", "abc")]).await;

    // Assert
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_claim_token_format_without_a_claim_token_is_invalid_request() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let r = as_.uma_token(&t, &[("claim_token_format", ID_TOKEN)]).await;

    // Assert
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_malformed_code_verifier_is_invalid_request() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let too_short = as_.uma_token(&t, &[("code_verifier", "short")]).await;
    let bad_chars = as_.uma_token(&t, &[("code_verifier", &"a!".repeat(30))]).await;

    // Assert
    assert_error(&too_short, StatusCode::BAD_REQUEST, "invalid_request");
    assert_error(&bad_chars, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn an_invalid_request_does_not_consume_the_ticket() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    let malformed: [&[(&str, &str)]; 3] = [
        &[("claim_token", "abc")],
        &[("claim_token_format", ID_TOKEN)],
        &[("code_verifier", "short")],
    ];
    for extra in malformed {
        let r = as_.uma_token(&t, extra).await;
        assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    }

    // Act
    let r = as_.uma_token(&t, &[]).await;

    // Assert
    assert_eq!(
        r.status,
        StatusCode::OK,
        "digest P-11: the ticket must survive: {}",
        r.text()
    );
    assert!(!r.str("access_token").is_empty());
}

// ---- 2. outcomes O0–O5 (digest §4.3) and the errors of digest §6 ----

#[tokio::test]
async fn o0_bad_client_authentication_is_invalid_client_401_with_a_basic_challenge() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let wrong_secret = uma_token_by(&as_, ("demo-client", "wrong"), &t, &[]).await;
    let unknown_client = uma_token_by(&as_, ("nobody", "x"), &t, &[]).await;
    let after = as_.uma_token(&t, &[]).await;

    // Assert
    for r in [&wrong_secret, &unknown_client] {
        assert_error(r, StatusCode::UNAUTHORIZED, "invalid_client");
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(challenge.to_ascii_lowercase().starts_with("basic"), "{challenge}");
    }
    assert_eq!(
        after.status,
        StatusCode::OK,
        "a failed client authentication must not consume the ticket"
    );
}

#[tokio::test]
async fn o1_an_unknown_ticket_is_invalid_grant_400_without_a_ticket() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = as_
        .uma_token("no-such-ticket-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &[])
        .await;

    // Assert
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(member(&r, "ticket").is_none());
}

#[tokio::test]
async fn o2_a_requested_scope_no_ticket_resource_offers_is_invalid_scope_and_consumes_the_ticket() {
    // Arrange: `download` is registered for the client but not offered by the resource (vector 2).
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view", "print"], &["view"]).await;

    // Act
    let r = as_.uma_token(&t, &[("scope", "download")]).await;
    let retry = as_.uma_token(&t, &[]).await;

    // Assert
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_scope");
    assert!(member(&r, "ticket").is_none());
    assert_error(&retry, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn o3_a_requested_scope_the_client_never_registered_is_ignored() {
    // Arrange: `print` is offered and open, but the client is registered only for view download.
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (rid, t) = as_.open_resource_ticket(&pat, &["view", "print"], &["view"]).await;

    // Act
    let r = as_.uma_token(&t, &[("scope", "print")]).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let intro = as_.introspect(&pat, &r.str("access_token")).await;
    assert_eq!(perms(&intro), expect(&[(&rid, &["view"])]));
}

#[tokio::test]
async fn o4_a_full_grant_of_the_spec_example_gives_every_ticket_resource_the_registered_requested_scope() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let ([album, photo1, photo2], t) = spec_example(&as_, &pat, |_| json!({"default": {"type": "open"}})).await;

    // Act
    let r = as_.uma_token(&t, &[("scope", "download")]).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(r.header("pragma").as_deref(), Some("no-cache"));
    assert_eq!(r.str("token_type"), "Bearer");
    assert!(!r.str("refresh_token").is_empty());
    assert!(
        member(&r, "scope").is_none(),
        "G-AS-25: no scope member in an RPT response"
    );
    assert!(member(&r, "upgraded").is_none());
    let intro = as_.introspect(&pat, &r.str("access_token")).await;
    assert_eq!(intro["active"], json!(true));
    assert_eq!(
        perms(&intro),
        expect(&[
            (&album, &["edit", "download"]),
            (&photo1, &["view", "download"]),
            (&photo2, &["view", "download"]),
        ])
    );
}

#[tokio::test]
async fn o5_the_spec_example_is_request_denied_without_a_ticket_by_default() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = spec_example(&as_, &pat, only_photo1_view).await;

    // Act
    let r = as_.uma_token(&t, &[("scope", "download")]).await;

    // Assert
    assert_error(&r, StatusCode::FORBIDDEN, "request_denied");
    assert!(member(&r, "ticket").is_none());
}

#[tokio::test]
async fn o5_the_spec_example_is_a_partial_rpt_of_photo1_view_when_partial_outcomes_are_on() {
    // Arrange
    let as_ = TestAs::with(Config {
        partial_outcome: PartialOutcome::Partial,
        ..Config::demo()
    })
    .await;
    let pat = as_.pat().await;
    let ([_, photo1, _], t) = spec_example(&as_, &pat, only_photo1_view).await;

    // Act
    let r = as_.uma_token(&t, &[("scope", "download")]).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let intro = as_.introspect(&pat, &r.str("access_token")).await;
    assert_eq!(intro["active"], json!(true));
    assert_eq!(perms(&intro), expect(&[(&photo1, &["view"])]));
}

#[tokio::test]
async fn o5_with_partial_outcome_deny_is_request_denied_even_where_claims_could_help() {
    // Arrange: photo1 view is open; the album's edit needs claims (need_info by default).
    let claims_album = |name: &str| {
        if name == "album" {
            json!({"scopes": {"edit": {"type": "claims", "claims": {"email": BOB}}}})
        } else {
            only_photo1_view(name)
        }
    };
    let deny = TestAs::with(Config {
        partial_outcome: PartialOutcome::Deny,
        ..Config::demo()
    })
    .await;
    let deny_pat = deny.pat().await;
    let (_, deny_ticket) = spec_example(&deny, &deny_pat, claims_album).await;
    let default = TestAs::new().await;
    let default_pat = default.pat().await;
    let (_, default_ticket) = spec_example(&default, &default_pat, claims_album).await;

    // Act
    let denied = deny.uma_token(&deny_ticket, &[]).await;
    let by_default = default.uma_token(&default_ticket, &[]).await;

    // Assert
    assert_error(&denied, StatusCode::FORBIDDEN, "request_denied");
    assert!(member(&denied, "ticket").is_none());
    assert_error(&by_default, StatusCode::FORBIDDEN, "need_info");
}

#[tokio::test]
async fn a_resource_without_any_policy_is_request_denied() {
    // Arrange: G-AS-73, no naive default-permit.
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;
    let t = as_.ticket_for(&pat, &rid, &["view"]).await;

    // Act
    let r = as_.uma_token(&t, &[]).await;

    // Assert
    assert_error(&r, StatusCode::FORBIDDEN, "request_denied");
    assert!(member(&r, "ticket").is_none());
}

#[tokio::test]
async fn a_zero_scope_ticket_without_any_policy_is_request_denied() {
    // Arrange: no scopes, no policy: nothing must satisfy a default "no claims needed" (G-AS-73).
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;
    let t = as_.ticket_for(&pat, &rid, &[]).await;

    // Act
    let r = as_.uma_token(&t, &[]).await;

    // Assert
    assert_error(&r, StatusCode::FORBIDDEN, "request_denied");
}

#[tokio::test]
async fn a_partial_outcome_with_nothing_grantable_is_request_denied_not_an_empty_rpt() {
    // Arrange: digest P-03, partial RPTs on but every G(r) empty.
    let as_ = TestAs::with(Config {
        partial_outcome: PartialOutcome::Partial,
        ..Config::demo()
    })
    .await;
    let pat = as_.pat().await;
    let (_, t) = spec_example(&as_, &pat, |_| json!({"default": {"type": "deny"}})).await;

    // Act
    let r = as_.uma_token(&t, &[]).await;

    // Assert
    assert_error(&r, StatusCode::FORBIDDEN, "request_denied");
}

#[tokio::test]
async fn an_unsupported_grant_type_is_unsupported_grant_type_and_grant_types_are_case_sensitive() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    let upper = UMA_GRANT.to_ascii_uppercase();

    // Act
    let unknown = as_
        .form(
            "/token",
            Some(&basic(CLIENT)),
            &[("grant_type", "password"), ("ticket", t.as_str())],
        )
        .await;
    let wrong_case = as_
        .form(
            "/token",
            Some(&basic(CLIENT)),
            &[("grant_type", upper.as_str()), ("ticket", t.as_str())],
        )
        .await;
    let after = as_.uma_token(&t, &[]).await;

    // Assert
    assert_error(&unknown, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    assert_error(&wrong_case, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    assert_eq!(after.status, StatusCode::OK, "{}", after.text());
}

#[tokio::test]
async fn a_client_not_registered_for_the_uma_grant_is_unauthorized_client() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    let reg = as_
        .json(
            "POST",
            "/register",
            None,
            &json!({"grant_types": ["authorization_code"], "redirect_uris": ["https://c.example/cb"]}),
        )
        .await;
    assert_eq!(reg.status, StatusCode::CREATED, "{}", reg.text());
    let (id, secret) = (reg.str("client_id"), reg.str("client_secret"));

    // Act
    let r = uma_token_by(&as_, (&id, &secret), &t, &[]).await;

    // Assert
    assert_error(&r, StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn a_repeated_parameter_is_invalid_request_and_leaves_the_ticket_alone() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let r = as_
        .form(
            "/token",
            Some(&basic(CLIENT)),
            &[
                ("grant_type", UMA_GRANT),
                ("ticket", t.as_str()),
                ("ticket", t.as_str()),
            ],
        )
        .await;
    let after = as_.uma_token(&t, &[]).await;

    // Assert
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(after.status, StatusCode::OK, "{}", after.text());
}

#[tokio::test]
async fn two_client_authentication_methods_at_once_are_invalid_request() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let r = as_
        .uma_token(&t, &[("client_id", CLIENT.0), ("client_secret", CLIENT.1)])
        .await;

    // Assert
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
}

// ---- 3. need_info and pushed claim tokens (G-AS-32, G-AS-71, T-03) ----

#[tokio::test]
async fn need_info_rotates_the_ticket_and_names_the_required_claim_and_the_claims_endpoint() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t1) = claims_resource_ticket(&as_, &pat).await;

    // Act
    let r = as_.uma_token(&t1, &[]).await;

    // Assert
    let t2 = assert_need_info(&r, &t1);
    assert!(unguessable(&t2), "{t2}");
    let required = r.json()["required_claims"]
        .as_array()
        .cloned()
        .expect("required_claims is an array");
    let email = required
        .iter()
        .find(|c| c["name"] == json!("email"))
        .expect("email is required");
    let formats = email["claim_token_format"]
        .as_array()
        .expect("claim_token_format is an array");
    assert!(formats.contains(&json!(ID_TOKEN)), "{email}");
    assert_eq!(r.str("redirect_user"), format!("{ISSUER}/claims"));
}

#[tokio::test]
async fn after_need_info_the_new_ticket_works_and_the_old_one_is_invalid_grant() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (rid, t1) = claims_resource_ticket(&as_, &pat).await;
    let t2 = assert_need_info(&as_.uma_token(&t1, &[]).await, &t1);
    let id_token = bob_token(&as_, &[]).await;

    // Act
    let old = push(&as_, &t1, &id_token).await;
    let new = push(&as_, &t2, &id_token).await;

    // Assert
    assert_error(&old, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(new.status, StatusCode::OK, "{}", new.text());
    let intro = as_.introspect(&pat, &new.str("access_token")).await;
    assert_eq!(perms(&intro), expect(&[(&rid, &["view"])]));
}

#[tokio::test]
async fn a_pushed_id_token_from_the_trusted_idp_with_the_right_email_is_granted() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (rid, t) = claims_resource_ticket(&as_, &pat).await;
    let id_token = bob_token(&as_, &[]).await;

    // Act
    let r = push(&as_, &t, &id_token).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let intro = as_.introspect(&pat, &r.str("access_token")).await;
    assert_eq!(perms(&intro), expect(&[(&rid, &["view"])]));
}

#[tokio::test]
async fn a_pushed_id_token_with_the_wrong_email_is_need_info() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = claims_resource_ticket(&as_, &pat).await;
    let id_token = as_.id_token(&[("email", "eve@example.com")]).await;

    // Act
    let r = push(&as_, &t, &id_token).await;

    // Assert
    assert_need_info(&r, &t);
}

#[tokio::test]
async fn a_pushed_id_token_from_an_untrusted_issuer_is_need_info() {
    // Arrange: a well-formed ID token, signed by a key the AS has never seen.
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = claims_resource_ticket(&as_, &pat).await;
    let now = as_.ctx.clock.now();
    let rogue = Signer::generate().expect("key");
    let token = rogue
        .sign("JWT", &bob_claims("https://rogue.example", now))
        .expect("signs");

    // Act
    let r = push(&as_, &t, &token).await;

    // Assert
    assert_need_info(&r, &t);
    assert!(r.str("error_description").contains("not trusted"), "{}", r.text());
}

#[tokio::test]
async fn a_pushed_id_token_naming_the_trusted_issuer_but_signed_by_another_key_is_need_info() {
    // Arrange: the demo IdP's issuer, a foreign signature.
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = claims_resource_ticket(&as_, &pat).await;
    let now = as_.ctx.clock.now();
    let forger = Signer::generate().expect("key");
    let token = forger
        .sign("JWT", &bob_claims(&format!("{ISSUER}/demo-idp"), now))
        .expect("signs");

    // Act
    let r = push(&as_, &t, &token).await;

    // Assert
    assert_need_info(&r, &t);
}

#[tokio::test]
async fn an_expired_pushed_id_token_is_need_info() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = claims_resource_ticket(&as_, &pat).await;
    let id_token = bob_token(&as_, &[("expires_in", "-60")]).await;

    // Act
    let r = push(&as_, &t, &id_token).await;

    // Assert
    assert_need_info(&r, &t);
    assert!(r.str("error_description").contains("expired"), "{}", r.text());
}

#[tokio::test]
async fn a_pushed_id_token_for_another_audience_is_need_info() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = claims_resource_ticket(&as_, &pat).await;
    let id_token = bob_token(&as_, &[("aud", "someone-else")]).await;

    // Act
    let r = push(&as_, &t, &id_token).await;

    // Assert
    assert_need_info(&r, &t);
    assert!(r.str("error_description").contains("audience"), "{}", r.text());
}

#[tokio::test]
async fn a_pushed_id_token_for_the_presenting_client_is_accepted() {
    // Arrange: the client's own id is an acceptable audience (an ID token issued to the client).
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = claims_resource_ticket(&as_, &pat).await;
    let id_token = bob_token(&as_, &[("aud", CLIENT.0)]).await;

    // Act
    let r = push(&as_, &t, &id_token).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn a_malformed_pushed_claim_token_is_need_info() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = claims_resource_ticket(&as_, &pat).await;

    // Act
    let r = push(&as_, &t, "abc").await;

    // Assert
    assert_need_info(&r, &t);
}

#[tokio::test]
async fn a_claim_token_of_an_unsupported_format_is_need_info() {
    // Arrange: a perfectly good ID token, announced in a format the AS does not support.
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = claims_resource_ticket(&as_, &pat).await;
    let id_token = bob_token(&as_, &[]).await;

    // Act
    let r = as_
        .uma_token(
            &t,
            &[
                ("claim_token", &id_token),
                ("claim_token_format", "urn:example:unknown-format"),
            ],
        )
        .await;

    // Assert
    assert_need_info(&r, &t);
    assert!(r.str("error_description").contains("unsupported"), "{}", r.text());
}

#[tokio::test]
async fn a_refused_claim_token_on_an_open_resource_is_still_never_a_grant() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let r = push(&as_, &t, "abc").await;

    // Assert
    assert_need_info(&r, &t);
    assert!(
        !r.json()["required_claims"]
            .as_array()
            .expect("required_claims")
            .is_empty()
    );
}

// ---- 4. request_submitted and owner approval (G-AS-34) ----

#[tokio::test]
async fn request_submitted_rotates_the_ticket_on_every_poll_until_the_owner_approves() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let bearer = format!("Bearer {pat}");
    let (rid, t1) = approval_resource_ticket(&as_, &pat).await;

    // Act
    let first = as_.uma_token(&t1, &[]).await;
    let t2 = first.str("ticket");
    let listed = as_.get("/approvals", Some(&bearer)).await;
    let second = as_.uma_token(&t2, &[]).await;
    let t3 = second.str("ticket");
    let still_listed = as_.get("/approvals", Some(&bearer)).await;
    let id = listed.json()[0]["id"].as_str().expect("approval id").to_owned();
    let decided = as_
        .json(
            "POST",
            &format!("/approvals/{id}"),
            Some(&bearer),
            &json!({"decision": "approve"}),
        )
        .await;
    let third = as_.uma_token(&t3, &[]).await;
    let after = as_.get("/approvals", Some(&bearer)).await;

    // Assert
    assert_error(&first, StatusCode::FORBIDDEN, "request_submitted");
    assert_ne!(t2, t1);
    assert!(first.json()["interval"].as_u64().is_some(), "{}", first.text());
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    let pending = listed.json();
    assert_eq!(pending.as_array().map(Vec::len), Some(1), "{pending}");
    assert_eq!(pending[0]["client_id"], json!(CLIENT.0));
    assert_eq!(pending[0]["status"], json!("pending"));
    assert_eq!(
        pending[0]["permissions"],
        json!([{"resource_id": rid, "resource_scopes": ["view"]}])
    );
    assert_error(&second, StatusCode::FORBIDDEN, "request_submitted");
    assert!(t3 != t2 && t3 != t1, "each poll gets a fresh ticket");
    assert_eq!(
        still_listed.json().as_array().map(Vec::len),
        Some(1),
        "polling must not pile up requests"
    );
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.text());
    assert_eq!(third.status, StatusCode::OK, "{}", third.text());
    let intro = as_.introspect(&pat, &third.str("access_token")).await;
    assert_eq!(perms(&intro), expect(&[(&rid, &["view"])]));
    assert_eq!(after.json(), json!([]));
}

#[tokio::test]
async fn a_zero_scope_permission_under_owner_approval_is_request_submitted_and_granted_once_approved() {
    // Arrange: FedAuthz §4 lets a permission carry no scope; the resource's default policy asks
    // the owner.
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let bearer = format!("Bearer {pat}");
    let rid = as_.resource(&pat, &["view"]).await;
    as_.policy(&pat, &rid, json!({"default": {"type": "owner-approval"}}))
        .await;
    let t1 = as_.ticket_for(&pat, &rid, &[]).await;

    // Act
    let first = as_.uma_token(&t1, &[]).await;
    let listed = as_.get("/approvals", Some(&bearer)).await;
    let id = listed.json()[0]["id"].as_str().unwrap_or_default().to_owned();
    as_.json(
        "POST",
        &format!("/approvals/{id}"),
        Some(&bearer),
        &json!({"decision": "approve"}),
    )
    .await;
    let second = as_.uma_token(&first.str("ticket"), &[]).await;

    // Assert
    assert_error(&first, StatusCode::FORBIDDEN, "request_submitted");
    assert_eq!(
        listed.json(),
        json!([{
            "id": id, "client_id": CLIENT.0, "claims": [], "status": "pending",
            "created_at": listed.json()[0]["created_at"],
            "permissions": [{"resource_id": rid, "resource_scopes": []}]
        }])
    );
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    let intro = as_.introspect(&pat, &second.str("access_token")).await;
    assert_eq!(perms(&intro), expect(&[(&rid, &[])]));
}

#[tokio::test]
async fn a_denied_approval_ends_in_request_denied() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let bearer = format!("Bearer {pat}");
    let (_, t1) = approval_resource_ticket(&as_, &pat).await;
    let first = as_.uma_token(&t1, &[]).await;
    assert_error(&first, StatusCode::FORBIDDEN, "request_submitted");
    let t2 = first.str("ticket");
    let id = as_.get("/approvals", Some(&bearer)).await.json()[0]["id"]
        .as_str()
        .expect("approval id")
        .to_owned();
    let decided = as_
        .json(
            "POST",
            &format!("/approvals/{id}"),
            Some(&bearer),
            &json!({"decision": "deny"}),
        )
        .await;
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.text());

    // Act
    let r = as_.uma_token(&t2, &[]).await;

    // Assert
    assert_error(&r, StatusCode::FORBIDDEN, "request_denied");
    assert!(member(&r, "ticket").is_none());
}

#[tokio::test]
async fn the_approval_list_needs_a_pat() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let without = as_.get("/approvals", None).await;
    let with_client_secret = as_.get("/approvals", Some(&basic(CLIENT))).await;

    // Assert
    assert_eq!(without.status, StatusCode::UNAUTHORIZED);
    assert_eq!(with_client_secret.status, StatusCode::UNAUTHORIZED);
}

// ---- 5. RPT upgrade (G-AS-24..29) ----

#[tokio::test]
async fn an_rpt_sent_with_a_new_ticket_is_upgraded_and_the_old_rpt_revoked() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (r1, t1) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    let rpt1 = as_.uma_token(&t1, &[]).await.str("access_token");
    let (r2, t2) = as_
        .open_resource_ticket(&pat, &["view", "download"], &["download"])
        .await;

    // Act
    let r = as_.uma_token(&t2, &[("rpt", &rpt1)]).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(member(&r, "upgraded"), Some(json!(true)));
    let rpt2 = r.str("access_token");
    assert_ne!(rpt2, rpt1);
    let intro = as_.introspect(&pat, &rpt2).await;
    assert_eq!(perms(&intro), expect(&[(&r1, &["view"]), (&r2, &["download"])]));
    assert_eq!(as_.introspect(&pat, &rpt1).await, json!({"active": false}));
}

#[tokio::test]
async fn without_an_rpt_parameter_there_is_no_upgraded_member() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t1) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    let rpt1 = as_.uma_token(&t1, &[]).await.str("access_token");
    let (r2, t2) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let r = as_.uma_token(&t2, &[]).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(member(&r, "upgraded").is_none(), "{}", r.text());
    let intro = as_.introspect(&pat, &r.str("access_token")).await;
    assert_eq!(perms(&intro), expect(&[(&r2, &["view"])]));
    assert_eq!(
        as_.introspect(&pat, &rpt1).await["active"],
        json!(true),
        "the old RPT is untouched"
    );
}

#[tokio::test]
async fn an_unknown_rpt_is_not_upgraded_and_says_so() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (r2, t2) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let r = as_.uma_token(&t2, &[("rpt", "not-an-rpt")]).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(member(&r, "upgraded"), Some(json!(false)));
    let intro = as_.introspect(&pat, &r.str("access_token")).await;
    assert_eq!(perms(&intro), expect(&[(&r2, &["view"])]));
}

#[tokio::test]
async fn another_clients_rpt_is_not_upgraded() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (other_id, other_secret) = other_client(&as_, "view").await;
    let (_, t1) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    let foreign = uma_token_by(&as_, (&other_id, &other_secret), &t1, &[])
        .await
        .str("access_token");
    let (r2, t2) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let r = as_.uma_token(&t2, &[("rpt", &foreign)]).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(member(&r, "upgraded"), Some(json!(false)));
    let intro = as_.introspect(&pat, &r.str("access_token")).await;
    assert_eq!(perms(&intro), expect(&[(&r2, &["view"])]));
    assert_eq!(as_.introspect(&pat, &foreign).await["active"], json!(true));
}

// ---- 6. refresh (G-AS-60, G-AS-61) ----

/// An RPT for an open resource with view and download, and its refresh token.
async fn refreshable(as_: &TestAs, pat: &str) -> (String, String, String) {
    let (rid, t) = as_
        .open_resource_ticket(pat, &["view", "download"], &["view", "download"])
        .await;
    let r = as_.uma_token(&t, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    (rid, r.str("access_token"), r.str("refresh_token"))
}

async fn refresh(as_: &TestAs, creds: (&str, &str), rt: &str, extra: &[(&str, &str)]) -> Resp {
    let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", rt)];
    pairs.extend_from_slice(extra);
    as_.form("/token", Some(&basic(creds)), &pairs).await
}

#[tokio::test]
async fn refreshing_an_rpt_gives_a_new_rpt_with_the_same_permissions() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (rid, rpt, rt) = refreshable(&as_, &pat).await;

    // Act
    let r = refresh(&as_, CLIENT, &rt, &[]).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let new = r.str("access_token");
    assert_ne!(new, rpt);
    assert_eq!(r.str("token_type"), "Bearer");
    let intro = as_.introspect(&pat, &new).await;
    assert_eq!(intro["active"], json!(true));
    assert_eq!(perms(&intro), expect(&[(&rid, &["view", "download"])]));
}

#[tokio::test]
async fn a_refresh_is_not_reassessed_after_the_policy_turns_to_deny() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (rid, _, rt) = refreshable(&as_, &pat).await;
    as_.policy(&pat, &rid, json!({"default": {"type": "deny"}})).await;
    let fresh = as_.ticket_for(&pat, &rid, &["view"]).await;
    assert_error(
        &as_.uma_token(&fresh, &[]).await,
        StatusCode::FORBIDDEN,
        "request_denied",
    );

    // Act
    let r = refresh(&as_, CLIENT, &rt, &[]).await;

    // Assert
    assert_eq!(
        r.status,
        StatusCode::OK,
        "G-AS-61: no assessment on refresh: {}",
        r.text()
    );
    let intro = as_.introspect(&pat, &r.str("access_token")).await;
    assert_eq!(perms(&intro), expect(&[(&rid, &["view", "download"])]));
}

#[tokio::test]
async fn a_refresh_with_a_scope_narrows_the_permissions() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (rid, _, rt) = refreshable(&as_, &pat).await;

    // Act
    let r = refresh(&as_, CLIENT, &rt, &[("scope", "view")]).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let intro = as_.introspect(&pat, &r.str("access_token")).await;
    assert_eq!(perms(&intro), expect(&[(&rid, &["view"])]));
}

#[tokio::test]
async fn a_narrowing_refresh_drops_resources_left_without_any_scope() {
    // Arrange: r1 holds view, r2 holds download.
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let r1 = as_.resource(&pat, &["view"]).await;
    let r2 = as_.resource(&pat, &["download"]).await;
    for rid in [&r1, &r2] {
        as_.policy(&pat, rid, json!({"default": {"type": "open"}})).await;
    }
    let t = as_
        .ticket(
            &pat,
            json!([
                {"resource_id": r1, "resource_scopes": ["view"]},
                {"resource_id": r2, "resource_scopes": ["download"]},
            ]),
        )
        .await;
    let rt = as_.uma_token(&t, &[]).await.str("refresh_token");

    // Act
    let r = refresh(&as_, CLIENT, &rt, &[("scope", "view")]).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let intro = as_.introspect(&pat, &r.str("access_token")).await;
    assert_eq!(
        perms(&intro),
        expect(&[(&r1, &["view"])]),
        "no empty-scope permission for r2"
    );
}

#[tokio::test]
async fn a_refresh_asking_for_a_scope_the_rpt_never_held_is_invalid_scope() {
    // Arrange: RFC 6749 §6, the scope of a refresh must not exceed the original grant.
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (rid, t) = as_.open_resource_ticket(&pat, &["view", "print"], &["view"]).await;
    let rt = as_.uma_token(&t, &[]).await.str("refresh_token");

    // Act
    let r = refresh(&as_, CLIENT, &rt, &[("scope", "print")]).await;
    let plain = refresh(&as_, CLIENT, &rt, &[]).await;

    // Assert
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_scope");
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.text());
    let intro = as_.introspect(&pat, &plain.str("access_token")).await;
    assert_eq!(perms(&intro), expect(&[(&rid, &["view"])]));
}

#[tokio::test]
async fn another_clients_refresh_token_is_invalid_grant() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, _, rt) = refreshable(&as_, &pat).await;
    let (id, secret) = other_client(&as_, "view download").await;

    // Act
    let r = refresh(&as_, (&id, &secret), &rt, &[]).await;

    // Assert
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_grant");
}

// ---- 7. PCTs (G-AS-23, G-AS-70) ----

/// A grant with a pushed ID token; returns the PCT.
async fn pct_from_a_claims_grant(as_: &TestAs, pat: &str) -> (String, String) {
    let (rid, t) = claims_resource_ticket(as_, pat).await;
    let id_token = bob_token(as_, &[]).await;
    let r = push(as_, &t, &id_token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    (rid, r.str("pct"))
}

#[tokio::test]
async fn a_grant_that_used_claims_returns_an_unguessable_opaque_pct() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;

    // Act
    let (_, pct) = pct_from_a_claims_grant(&as_, &pat).await;

    // Assert
    assert!(unguessable(&pct), "{pct}");
    assert!(!pct.contains('.'), "a PCT must not be a readable JWT: {pct}");
    let bytes = URL_SAFE_NO_PAD.decode(&pct).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&bytes).contains("bob"),
        "the PCT must not carry the claims"
    );
}

#[tokio::test]
async fn a_grant_without_claims_returns_no_pct() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let r = as_.uma_token(&t, &[]).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(member(&r, "pct").is_none());
}

#[tokio::test]
async fn a_pct_lets_the_same_client_skip_pushing_claims() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (rid, pct) = pct_from_a_claims_grant(&as_, &pat).await;
    let t = as_.ticket_for(&pat, &rid, &["view"]).await;

    // Act
    let r = as_.uma_token(&t, &[("pct", &pct)]).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let intro = as_.introspect(&pat, &r.str("access_token")).await;
    assert_eq!(perms(&intro), expect(&[(&rid, &["view"])]));
}

#[tokio::test]
async fn a_pct_presented_by_another_client_is_not_honoured() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (rid, pct) = pct_from_a_claims_grant(&as_, &pat).await;
    let (id, secret) = other_client(&as_, "view").await;
    let t = as_.ticket_for(&pat, &rid, &["view"]).await;

    // Act
    let r = uma_token_by(&as_, (&id, &secret), &t, &[("pct", &pct)]).await;

    // Assert
    assert_need_info(&r, &t);
}

#[tokio::test]
async fn a_revoked_pct_is_not_honoured() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (rid, pct) = pct_from_a_claims_grant(&as_, &pat).await;
    let revoked = as_
        .form(
            "/revoke",
            Some(&basic(CLIENT)),
            &[("token", pct.as_str()), ("token_type_hint", "pct")],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    let t = as_.ticket_for(&pat, &rid, &["view"]).await;

    // Act
    let r = as_.uma_token(&t, &[("pct", &pct)]).await;

    // Assert
    assert_need_info(&r, &t);
}

// ---- 8. the ticket lifecycle (digest §5) ----

#[tokio::test]
async fn t01_a_ticket_replayed_after_success_is_invalid_grant() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    let first = as_.uma_token(&t, &[]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());

    // Act
    let replay = as_.uma_token(&t, &[]).await;

    // Assert
    assert_error(&replay, StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(member(&replay, "ticket").is_none());
}

#[tokio::test]
async fn a_ticket_is_consumed_by_request_denied() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;
    let t = as_.ticket_for(&pat, &rid, &["view"]).await;
    assert_error(&as_.uma_token(&t, &[]).await, StatusCode::FORBIDDEN, "request_denied");
    as_.policy(&pat, &rid, json!({"default": {"type": "open"}})).await;

    // Act
    let r = as_.uma_token(&t, &[]).await;

    // Assert
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn t06_an_expired_ticket_is_invalid_grant() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    as_.ctx.clock.advance(301);

    // Act
    let r = as_.uma_token(&t, &[]).await;

    // Assert
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn t08_a_rotated_ticket_bound_to_one_client_is_invalid_grant_for_another() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t1) = claims_resource_ticket(&as_, &pat).await;
    let t2 = assert_need_info(&as_.uma_token(&t1, &[]).await, &t1);
    let (id, secret) = other_client(&as_, "view").await;
    let id_token = bob_token(&as_, &[]).await;

    // Act
    let r = uma_token_by(
        &as_,
        (&id, &secret),
        &t2,
        &[("claim_token", &id_token), ("claim_token_format", ID_TOKEN)],
    )
    .await;

    // Assert
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn t07_tickets_are_distinct_and_unguessable() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;

    // Act
    let mut tickets = Vec::new();
    for _ in 0..50 {
        tickets.push(as_.ticket_for(&pat, &rid, &["view"]).await);
    }

    // Assert
    let distinct: BTreeSet<&String> = tickets.iter().collect();
    assert_eq!(distinct.len(), 50);
    for t in &tickets {
        assert!(unguessable(t), "{t}");
    }
}

// ---- 9. concurrency (T-05) ----

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn t05_parallel_redemptions_of_one_ticket_yield_exactly_one_rpt() {
    // Arrange
    const N: usize = 16;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let (router, ctx) = uma_reference_server::test_app_at(Config::demo(), ISSUER, &url)
        .await
        .expect("test AS starts");
    let as_ = Arc::new(TestAs { router, ctx });
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let as_ = Arc::clone(&as_);
            let t = t.clone();
            tokio::spawn(async move { as_.uma_token(&t, &[]).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task"));
    }

    // Assert
    let ok = results.iter().filter(|r| r.status == StatusCode::OK).count();
    assert_eq!(ok, 1, "{:?}", results.iter().map(Resp::text).collect::<Vec<_>>());
    for r in results.iter().filter(|r| r.status != StatusCode::OK) {
        assert_error(r, StatusCode::BAD_REQUEST, "invalid_grant");
    }
    as_.ctx.store.close().await;
}

// ---- 10. quirks: each changes what the AS does ----

/// need_info on a claims resource: (sent ticket, response).
async fn need_info_round(as_: &TestAs) -> (String, Resp) {
    let pat = as_.pat().await;
    let (_, t) = claims_resource_ticket(as_, &pat).await;
    let r = as_.uma_token(&t, &[]).await;
    (t, r)
}

#[tokio::test]
async fn quirk_no_ticket_rotation_returns_the_sent_ticket_with_need_info() {
    // Arrange
    let good = TestAs::new().await;
    let bad = TestAs::with_quirks(&[Quirk::NoTicketRotation]).await;

    // Act
    let (good_sent, good_r) = need_info_round(&good).await;
    let (bad_sent, bad_r) = need_info_round(&bad).await;

    // Assert
    assert_eq!(good_r.error(), "need_info");
    assert_ne!(good_r.str("ticket"), good_sent);
    assert_eq!(bad_r.error(), "need_info");
    assert_eq!(bad_r.str("ticket"), bad_sent);
}

/// After need_info, whether the rotated-away ticket still yields an RPT with pushed claims.
async fn old_ticket_after_need_info(as_: &TestAs) -> Resp {
    let (t1, r) = need_info_round(as_).await;
    assert_eq!(r.error(), "need_info");
    let id_token = bob_token(as_, &[]).await;
    push(as_, &t1, &id_token).await
}

#[tokio::test]
async fn quirk_rotated_ticket_accepted_keeps_the_old_ticket_usable_after_need_info() {
    // Arrange
    let good = TestAs::new().await;
    let bad = TestAs::with_quirks(&[Quirk::RotatedTicketAccepted]).await;

    // Act
    let good_r = old_ticket_after_need_info(&good).await;
    let bad_r = old_ticket_after_need_info(&bad).await;

    // Assert
    assert_error(&good_r, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(bad_r.status, StatusCode::OK, "{}", bad_r.text());
}

/// Redeems a ticket twice on an open resource; returns the second answer.
async fn replay(as_: &TestAs) -> Resp {
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    assert_eq!(as_.uma_token(&t, &[]).await.status, StatusCode::OK);
    as_.uma_token(&t, &[]).await
}

#[tokio::test]
async fn quirk_ticket_reusable_lets_a_redeemed_ticket_be_redeemed_again() {
    // Arrange
    let good = TestAs::new().await;
    let bad = TestAs::with_quirks(&[Quirk::TicketReusable]).await;

    // Act
    let good_r = replay(&good).await;
    let bad_r = replay(&bad).await;

    // Assert
    assert_error(&good_r, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(bad_r.status, StatusCode::OK, "{}", bad_r.text());
}

#[tokio::test]
async fn quirk_need_info_as_400_sends_need_info_with_status_400() {
    // Arrange
    let good = TestAs::new().await;
    let bad = TestAs::with_quirks(&[Quirk::NeedInfoAs400]).await;

    // Act
    let (_, good_r) = need_info_round(&good).await;
    let (_, bad_r) = need_info_round(&bad).await;

    // Assert
    assert_eq!(
        (good_r.status, good_r.error().as_str()),
        (StatusCode::FORBIDDEN, "need_info")
    );
    assert_eq!(
        (bad_r.status, bad_r.error().as_str()),
        (StatusCode::BAD_REQUEST, "need_info")
    );
}

/// The first answer for an owner-approval resource.
async fn submit(as_: &TestAs) -> Resp {
    let pat = as_.pat().await;
    let (_, t) = approval_resource_ticket(as_, &pat).await;
    as_.uma_token(&t, &[]).await
}

#[tokio::test]
async fn quirk_request_submitted_without_ticket_drops_the_ticket() {
    // Arrange
    let good = TestAs::new().await;
    let bad = TestAs::with_quirks(&[Quirk::RequestSubmittedWithoutTicket]).await;

    // Act
    let good_r = submit(&good).await;
    let bad_r = submit(&bad).await;

    // Assert
    assert_eq!(good_r.error(), "request_submitted");
    assert!(member(&good_r, "ticket").is_some());
    assert_eq!(bad_r.error(), "request_submitted");
    assert!(member(&bad_r, "ticket").is_none(), "{}", bad_r.text());
}

#[tokio::test]
async fn quirk_invalid_grant_as_403_sends_invalid_grant_with_status_403() {
    // Arrange
    let good = TestAs::new().await;
    let bad = TestAs::with_quirks(&[Quirk::InvalidGrantAs403]).await;

    // Act
    let good_r = good.uma_token("unknown-ticket", &[]).await;
    let bad_r = bad.uma_token("unknown-ticket", &[]).await;

    // Assert
    assert_eq!(
        (good_r.status, good_r.error().as_str()),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert_eq!(
        (bad_r.status, bad_r.error().as_str()),
        (StatusCode::FORBIDDEN, "invalid_grant")
    );
}

/// Requests the unregistered but offered and open scope `print`; returns the granted scopes.
async fn unregistered_scope_grant(as_: &TestAs) -> BTreeMap<String, BTreeSet<String>> {
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view", "print"], &["view"]).await;
    let r = as_.uma_token(&t, &[("scope", "print")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    perms(&as_.introspect(&pat, &r.str("access_token")).await)
}

#[tokio::test]
async fn quirk_client_scopes_without_registration_grants_a_scope_the_client_never_registered() {
    // Arrange
    let good = TestAs::new().await;
    let bad = TestAs::with_quirks(&[Quirk::ClientScopesWithoutRegistration]).await;

    // Act
    let good_p = unregistered_scope_grant(&good).await;
    let bad_p = unregistered_scope_grant(&bad).await;

    // Assert
    let scopes = |p: &BTreeMap<String, BTreeSet<String>>| p.values().flatten().cloned().collect::<BTreeSet<_>>();
    assert_eq!(scopes(&good_p), ["view".to_owned()].into());
    assert_eq!(scopes(&bad_p), ["print".to_owned(), "view".to_owned()].into());
}

/// A ticket for a resource whose policy denies everything.
async fn denied_resource(as_: &TestAs) -> Resp {
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;
    as_.policy(&pat, &rid, json!({"default": {"type": "deny"}})).await;
    let t = as_.ticket_for(&pat, &rid, &["view"]).await;
    as_.uma_token(&t, &[]).await
}

#[tokio::test]
async fn quirk_scopes_beyond_policy_grants_what_the_policy_denies() {
    // Arrange
    let good = TestAs::new().await;
    let bad = TestAs::with_quirks(&[Quirk::ScopesBeyondPolicy]).await;

    // Act
    let good_r = denied_resource(&good).await;
    let bad_r = denied_resource(&bad).await;

    // Assert
    assert_error(&good_r, StatusCode::FORBIDDEN, "request_denied");
    assert_eq!(bad_r.status, StatusCode::OK, "{}", bad_r.text());
}

/// Pushes an ID token for someone else's audience.
async fn wrong_audience_push(as_: &TestAs) -> Resp {
    let pat = as_.pat().await;
    let (_, t) = claims_resource_ticket(as_, &pat).await;
    let id_token = bob_token(as_, &[("aud", "someone-else")]).await;
    push(as_, &t, &id_token).await
}

#[tokio::test]
async fn quirk_claim_token_wrong_audience_accepts_an_id_token_for_someone_else() {
    // Arrange
    let good = TestAs::new().await;
    let bad = TestAs::with_quirks(&[Quirk::ClaimTokenWrongAudience]).await;

    // Act
    let good_r = wrong_audience_push(&good).await;
    let bad_r = wrong_audience_push(&bad).await;

    // Assert
    assert_error(&good_r, StatusCode::FORBIDDEN, "need_info");
    assert_eq!(bad_r.status, StatusCode::OK, "{}", bad_r.text());
}

/// Pushes a claim token built by `token` and returns the answer.
async fn push_token(as_: &TestAs, token: impl AsyncFnOnce(&TestAs) -> String) -> Resp {
    let pat = as_.pat().await;
    let (_, t) = claims_resource_ticket(as_, &pat).await;
    let id_token = token(as_).await;
    push(as_, &t, &id_token).await
}

#[tokio::test]
async fn quirk_claim_token_untrusted_issuer_accepts_an_id_token_from_a_rogue_issuer() {
    let rogue = async |as_: &TestAs| {
        let now = as_.ctx.clock.now();
        Signer::generate()
            .expect("key")
            .sign("JWT", &bob_claims("https://rogue.example", now))
            .expect("signs")
    };
    let good = push_token(&TestAs::new().await, rogue).await;
    let bad = push_token(&TestAs::with_quirks(&[Quirk::ClaimTokenUntrustedIssuer]).await, rogue).await;
    assert_error(&good, StatusCode::FORBIDDEN, "need_info");
    assert_eq!(bad.status, StatusCode::OK, "{}", bad.text());
}

#[tokio::test]
async fn quirk_claim_token_bad_signature_accepts_a_forged_id_token_of_the_trusted_issuer() {
    let forged = async |as_: &TestAs| {
        let now = as_.ctx.clock.now();
        Signer::generate()
            .expect("key")
            .sign("JWT", &bob_claims(&format!("{ISSUER}/demo-idp"), now))
            .expect("signs")
    };
    let good = push_token(&TestAs::new().await, forged).await;
    let bad = push_token(&TestAs::with_quirks(&[Quirk::ClaimTokenBadSignature]).await, forged).await;
    assert_error(&good, StatusCode::FORBIDDEN, "need_info");
    assert_eq!(bad.status, StatusCode::OK, "{}", bad.text());
}

#[tokio::test]
async fn quirk_claim_token_expired_accepts_an_id_token_past_its_exp() {
    let expired = async |as_: &TestAs| bob_token(as_, &[("expires_in", "-600")]).await;
    let good = push_token(&TestAs::new().await, expired).await;
    let bad = push_token(&TestAs::with_quirks(&[Quirk::ClaimTokenExpired]).await, expired).await;
    assert_error(&good, StatusCode::FORBIDDEN, "need_info");
    assert_eq!(bad.status, StatusCode::OK, "{}", bad.text());
}

/// Another client presents the demo client's PCT.
async fn cross_client_pct(as_: &TestAs) -> Resp {
    let pat = as_.pat().await;
    let (rid, pct) = pct_from_a_claims_grant(as_, &pat).await;
    let (id, secret) = other_client(as_, "view").await;
    let t = as_.ticket_for(&pat, &rid, &["view"]).await;
    uma_token_by(as_, (&id, &secret), &t, &[("pct", &pct)]).await
}

#[tokio::test]
async fn quirk_pct_cross_client_honours_a_pct_presented_by_another_client() {
    // Arrange
    let good = TestAs::new().await;
    let bad = TestAs::with_quirks(&[Quirk::PctCrossClient]).await;

    // Act
    let good_r = cross_client_pct(&good).await;
    let bad_r = cross_client_pct(&bad).await;

    // Assert
    assert_error(&good_r, StatusCode::FORBIDDEN, "need_info");
    assert_eq!(bad_r.status, StatusCode::OK, "{}", bad_r.text());
}

// ---- 11. JWT RPTs ----

#[tokio::test]
async fn a_jwt_rpt_is_an_es256_jwt_verifiable_with_the_published_key_and_introspects_active() {
    // Arrange
    let as_ = TestAs::with(Config {
        rpt_format: RptFormat::Jwt,
        ..Config::demo()
    })
    .await;
    let pat = as_.pat().await;
    let (rid, t) = as_.open_resource_ticket(&pat, &["view", "download"], &["view"]).await;

    // Act
    let r = as_.uma_token(&t, &[]).await;
    let jwks = as_.get("/jwks", None).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let rpt = r.str("access_token");
    assert_eq!(rpt.split('.').count(), 3, "{rpt}");
    let header = jsonwebtoken::decode_header(&rpt).expect("a JWT header");
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let kid = header.kid.expect("a kid");
    assert_eq!(jwks.status, StatusCode::OK, "{}", jwks.text());
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&jwks.body).expect("a JWKS");
    let jwk = set.find(&kid).expect("the kid is published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).expect("a usable key");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.validate_aud = false;
    v.set_issuer(&[ISSUER]);
    let claims = jsonwebtoken::decode::<Value>(&rpt, &key, &v)
        .expect("the signature verifies")
        .claims;
    assert_eq!(claims["client_id"], json!(CLIENT.0));
    assert_eq!(claims["permissions"][0]["resource_id"], json!(rid));
    assert_eq!(claims["permissions"][0]["resource_scopes"], json!(["view"]));
    let intro = as_.introspect(&pat, &rpt).await;
    assert_eq!(intro["active"], json!(true));
    assert_eq!(perms(&intro), expect(&[(&rid, &["view"])]));
}

#[tokio::test]
async fn a_jwt_rpt_does_not_verify_with_another_key() {
    // Arrange
    let as_ = TestAs::with(Config {
        rpt_format: RptFormat::Jwt,
        ..Config::demo()
    })
    .await;
    let pat = as_.pat().await;
    let (_, t) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    let rpt = as_.uma_token(&t, &[]).await.str("access_token");
    let other = Signer::generate().expect("key").jwks();
    let key = jsonwebtoken::DecodingKey::from_jwk(&other.keys[0]).expect("a usable key");
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.validate_aud = false;

    // Act
    let result = jsonwebtoken::decode::<Value>(&rpt, &key, &v);

    // Assert
    assert!(result.is_err(), "a foreign key must not verify the RPT");
}

#[tokio::test]
async fn quirk_scopes_beyond_policy_still_grants_nothing_without_a_policy() {
    // Arrange: the quirk ignores a denying policy, not the absence of one (G-AS-73 stays intact).
    let as_ = TestAs::with_quirks(&[Quirk::ScopesBeyondPolicy]).await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;
    let t = as_.ticket_for(&pat, &rid, &["view"]).await;

    // Act
    let r = as_.uma_token(&t, &[]).await;

    // Assert
    assert_error(&r, StatusCode::FORBIDDEN, "request_denied");
}

#[tokio::test]
async fn the_refresh_token_of_an_upgraded_rpt_is_revoked_with_it() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_, t1) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    let first = as_.uma_token(&t1, &[]).await;
    let (rpt1, rt1) = (first.str("access_token"), first.str("refresh_token"));
    let (_, t2) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    assert_eq!(
        member(&as_.uma_token(&t2, &[("rpt", &rpt1)]).await, "upgraded"),
        Some(json!(true))
    );

    // Act: the old refresh token would otherwise mint the old RPT again.
    let r = as_
        .form(
            "/token",
            Some(&basic(CLIENT)),
            &[("grant_type", "refresh_token"), ("refresh_token", &rt1)],
        )
        .await;

    // Assert
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_grant");
}
