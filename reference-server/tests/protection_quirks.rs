//! Router tests of the protection API's authentication answers (RFC 6750 §3) and of the quirks
//! that break the protection API, resource registration, the permission endpoint and
//! introspection on purpose: each quirk changes exactly the behaviour it names.

use crate::common;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use uma_reference_server::config::StaticClient;
use uma_reference_server::types::ClientSecret;
use uma_reference_server::{Config, Quirk};

/// A second resource server, acting for another organisational owner.
const RS_B: (&str, &str) = ("rs-b", "rs-b-secret");

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The demo configuration plus [`RS_B`], with `quirks` on.
fn two_owner_config(quirks: &[Quirk]) -> Config {
    let mut c = Config::demo();
    c.clients.push(StaticClient {
        client_id: RS_B.0.into(),
        client_secret: Some(ClientSecret::new(RS_B.1)),
        redirect_uris: Vec::new(),
        claims_redirect_uris: Vec::new(),
        scope: "uma_protection".into(),
        owner: Some("other-inc".into()),
        client_name: None,
    });
    for q in quirks {
        c.quirks.insert(*q);
    }
    c
}

/// The same test on an AS with `quirk` and on a conformant one, both knowing [`RS_B`].
async fn with_and_without(quirk: Quirk) -> [TestAs; 2] {
    [
        TestAs::with(two_owner_config(&[quirk])).await,
        TestAs::with(two_owner_config(&[])).await,
    ]
}

/// A client-credentials PAT of [`RS_B`].
async fn pat_b(as_: &TestAs) -> String {
    let r = as_
        .form(
            "/token",
            Some(&basic(RS_B)),
            &[("grant_type", "client_credentials"), ("scope", "uma_protection")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.str("access_token")
}

/// An RPT for a fresh open resource of `pat`'s owner, with its resource id.
async fn open_rpt(as_: &TestAs, pat: &str) -> (String, String) {
    let (rid, ticket) = as_.open_resource_ticket(pat, &["view"], &["view"]).await;
    let r = as_.uma_token(&ticket, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    (rid, r.str("access_token"))
}

fn challenge(r: &Resp) -> String {
    r.header("www-authenticate").unwrap_or_default()
}

// ---- RFC 6750 §3: requests without credentials ----

#[tokio::test]
async fn a_protection_request_without_credentials_gets_no_error_code_in_the_challenge_or_the_body() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;
    let permission = json!({"resource_id": rid, "resource_scopes": ["view"]});

    // Act
    let answers = [
        as_.get("/resource_set", None).await,
        as_.json("POST", "/permission", None, &permission).await,
        as_.form("/introspect", None, &[("token", "x")]).await,
        // RFC 6750 §3.1: another authentication scheme counts as no authentication information.
        as_.get("/resource_set", Some(&basic(RS))).await,
    ];

    // Assert
    for r in &answers {
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(challenge(r), "Bearer realm=\"uma\"");
        assert!(r.body.is_empty(), "no error information: {}", r.text());
    }
}

#[tokio::test]
async fn a_bearer_header_without_a_token_is_invalid_token() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let r = as_.get("/resource_set", Some("Bearer ")).await;

    // Assert
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(challenge(&r).contains("error=\"invalid_token\""), "{}", challenge(&r));
    assert_eq!(r.error(), "invalid_token");
}

// ---- quirks ----

#[tokio::test]
async fn quirk_bare_challenge_with_error_names_invalid_token_without_a_token() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::BareChallengeWithError).await;

    // Act
    let results = [
        quirky.get("/resource_set", None).await,
        plain.get("/resource_set", None).await,
    ];

    // Assert
    assert_eq!(results[0].status, StatusCode::UNAUTHORIZED);
    assert!(challenge(&results[0]).contains("error=\"invalid_token\""));
    assert_eq!(results[0].error(), "invalid_token");
    assert_eq!(results[1].status, StatusCode::UNAUTHORIZED);
    assert!(!challenge(&results[1]).contains("error="));
}

#[tokio::test]
async fn quirk_no_bearer_challenge_drops_the_challenge_of_a_tokenless_request_only() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::NoBearerChallenge).await;

    // Act
    let none = [
        quirky.get("/resource_set", None).await,
        plain.get("/resource_set", None).await,
    ];
    let bogus = quirky.get("/resource_set", Some("Bearer bogus")).await;

    // Assert
    assert_eq!(none[0].status, StatusCode::UNAUTHORIZED);
    assert!(none[0].header("www-authenticate").is_none());
    assert!(challenge(&none[1]).starts_with("Bearer"));
    assert!(challenge(&bogus).contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn quirk_invalid_pat_no_error_code_sends_a_bare_challenge_for_an_unknown_pat() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::InvalidPatNoErrorCode).await;

    // Act
    let results = [
        quirky.get("/resource_set", Some("Bearer bogus")).await,
        plain.get("/resource_set", Some("Bearer bogus")).await,
    ];

    // Assert
    assert_eq!(results[0].status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&results[0]), "Bearer realm=\"uma\"");
    assert!(challenge(&results[1]).contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn quirk_wrong_scope_as_401_refuses_an_rpt_used_as_a_pat_with_401_invalid_token() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::WrongScopeAs401).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let pat = as_.pat().await;
        let (_, rpt) = open_rpt(as_, &pat).await;
        results.push(as_.get("/resource_set", Some(&bearer(&rpt))).await);
    }

    // Assert
    assert_eq!(results[0].status, StatusCode::UNAUTHORIZED);
    assert_eq!(results[0].error(), "invalid_token");
    assert_eq!(results[1].status, StatusCode::FORBIDDEN);
    assert_eq!(results[1].error(), "insufficient_scope");
}

#[tokio::test]
async fn quirk_resource_without_id_leaves_id_out_of_the_update_answer() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::ResourceWithoutId).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let pat = as_.pat().await;
        let rid = as_.resource(&pat, &["view"]).await;
        let body = json!({"resource_scopes": ["view", "print"]});
        let r = as_
            .json("PUT", &format!("/resource_set/{rid}"), Some(&bearer(&pat)), &body)
            .await;
        results.push((rid, r));
    }

    // Assert
    assert_eq!(results[0].1.status, StatusCode::OK);
    assert!(results[0].1.json().get("_id").is_none(), "{}", results[0].1.text());
    assert_eq!(results[1].1.str("_id"), results[1].0);
}

#[tokio::test]
async fn quirk_deleted_resource_still_protected_issues_tickets_for_a_deleted_resource() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::DeletedResourceStillProtected).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let pat = as_.pat().await;
        let rid = as_.resource(&pat, &["view"]).await;
        let path = format!("/resource_set/{rid}");
        let deleted = as_.json("DELETE", &path, Some(&bearer(&pat)), &json!({})).await;
        let read = as_.get(&path, Some(&bearer(&pat))).await;
        let list = as_.get("/resource_set", Some(&bearer(&pat))).await;
        let body = json!({"resource_id": rid, "resource_scopes": ["view"]});
        let perm = as_.json("POST", "/permission", Some(&bearer(&pat)), &body).await;
        results.push((deleted, read, list, perm));
    }

    // Assert
    for (deleted, read, list, _) in &results {
        assert_eq!(deleted.status, StatusCode::NO_CONTENT);
        assert_eq!(read.status, StatusCode::NOT_FOUND);
        assert_eq!(list.json(), json!([]));
    }
    assert_eq!(results[0].3.status, StatusCode::CREATED, "{}", results[0].3.text());
    assert_eq!(results[1].3.status, StatusCode::BAD_REQUEST);
    assert_eq!(results[1].3.error(), "invalid_resource_id");
}

#[tokio::test]
async fn quirk_list_all_owners_lists_another_owners_resources() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::ListAllOwners).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let rid = as_.resource(&as_.pat().await, &["view"]).await;
        let list = as_.get("/resource_set", Some(&bearer(&pat_b(as_).await))).await;
        results.push((rid, list.json()));
    }

    // Assert
    assert_eq!(results[0].1, json!([results[0].0]));
    assert_eq!(results[1].1, json!([]));
}

#[tokio::test]
async fn quirk_permission_cross_owner_accepts_another_owners_resource() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::PermissionCrossOwner).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let rid = as_.resource(&as_.pat().await, &["view"]).await;
        let body = json!({"resource_id": rid, "resource_scopes": ["view"]});
        let pat_b = pat_b(as_).await;
        results.push(as_.json("POST", "/permission", Some(&bearer(&pat_b)), &body).await);
    }

    // Assert
    assert_eq!(results[0].status, StatusCode::CREATED, "{}", results[0].text());
    assert_eq!(results[1].status, StatusCode::BAD_REQUEST);
    assert_eq!(results[1].error(), "invalid_resource_id");
}

#[tokio::test]
async fn quirk_ticket_per_permission_answers_several_permissions_with_an_array_of_tickets() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::TicketPerPermission).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let pat = as_.pat().await;
        let (r1, r2) = (as_.resource(&pat, &["view"]).await, as_.resource(&pat, &["view"]).await);
        let body = json!([
            {"resource_id": r1, "resource_scopes": ["view"]},
            {"resource_id": r2, "resource_scopes": ["view"]},
        ]);
        let two = as_.json("POST", "/permission", Some(&bearer(&pat)), &body).await;
        let one = as_.ticket_for(&pat, &r1, &["view"]).await;
        results.push((two, one));
    }

    // Assert
    let tickets = results[0].0.json()["ticket"].clone();
    assert_eq!(tickets.as_array().map(Vec::len), Some(2), "{tickets}");
    assert!(!results[0].1.is_empty());
    assert!(results[1].0.json()["ticket"].is_string());
}

#[tokio::test]
async fn quirk_protection_error_plain_text_answers_permission_errors_in_plain_text() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::ProtectionErrorPlainText).await;
    let body = json!({"resource_id": "no-such-resource", "resource_scopes": ["view"]});
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let pat = as_.pat().await;
        results.push(as_.json("POST", "/permission", Some(&bearer(&pat)), &body).await);
    }
    let unauthenticated = quirky.json("POST", "/permission", Some("Bearer bogus"), &body).await;

    // Assert
    assert_eq!(results[0].status, StatusCode::BAD_REQUEST);
    assert!(
        results[0]
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/plain"),
        "{:?}",
        results[0].header("content-type")
    );
    assert!(
        results[0].text().starts_with("400 invalid_resource_id"),
        "{}",
        results[0].text()
    );
    assert_eq!(results[1].error(), "invalid_resource_id");
    assert_eq!(unauthenticated.error(), "invalid_token");
}

#[tokio::test]
async fn quirk_sequential_tickets_mints_redeemable_counter_tickets() {
    // Arrange
    let as_ = TestAs::with(two_owner_config(&[Quirk::SequentialTickets])).await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;
    as_.policy(&pat, &rid, json!({"default": {"type": "open"}})).await;

    // Act
    let first = as_.ticket_for(&pat, &rid, &["view"]).await;
    let second = as_.ticket_for(&pat, &rid, &["view"]).await;
    let redeemed = as_.uma_token(&second, &[]).await;

    // Assert
    let n = |t: &str| -> u64 {
        t.strip_prefix("tkt-")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("not a counter ticket: {t}"))
    };
    assert_eq!(n(&second), n(&first) + 1);
    assert_eq!(redeemed.status, StatusCode::OK, "{}", redeemed.text());
}

#[tokio::test]
async fn quirk_introspection_bogus_pat_accepted_serves_a_revoked_pat() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::IntrospectionBogusPatAccepted).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let pat = as_.pat().await;
        let (_, rpt) = open_rpt(as_, &pat).await;
        let spare = as_.pat().await;
        let revoked = as_.form("/revoke", Some(&basic(RS)), &[("token", &spare)]).await;
        assert_eq!(revoked.status, StatusCode::OK);
        let with_revoked = as_.form("/introspect", Some(&bearer(&spare)), &[("token", &rpt)]).await;
        let with_unknown = as_.form("/introspect", Some("Bearer bogus"), &[("token", &rpt)]).await;
        results.push((with_revoked, with_unknown));
    }

    // Assert
    assert_eq!(results[0].0.status, StatusCode::OK);
    assert_eq!(results[0].0.json()["active"], json!(true));
    assert_eq!(results[0].1.status, StatusCode::UNAUTHORIZED);
    assert_eq!(results[1].0.status, StatusCode::UNAUTHORIZED);
    assert_eq!(results[1].1.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn quirk_introspection_any_owner_shows_an_rpt_to_another_owners_resource_server() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::IntrospectionAnyOwner).await;
    let mut results = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let (rid, rpt) = open_rpt(as_, &as_.pat().await).await;
        results.push((rid, as_.introspect(&pat_b(as_).await, &rpt).await));
    }

    // Assert
    assert_eq!(results[0].1["active"], json!(true));
    assert_eq!(results[0].1["permissions"][0]["resource_id"], json!(results[0].0));
    assert_eq!(results[1].1, json!({"active": false}));
}

#[tokio::test]
async fn quirk_inactive_with_reason_says_why_a_token_is_inactive() {
    // Arrange
    let [quirky, plain] = with_and_without(Quirk::InactiveWithReason).await;
    let mut results: Vec<Value> = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        results.push(as_.introspect(&as_.pat().await, "no-such-token").await);
    }

    // Assert
    assert_eq!(results[0]["active"], json!(false));
    assert!(results[0]["reason"].is_string(), "{}", results[0]);
    assert_eq!(results[1], json!({"active": false}));
}
