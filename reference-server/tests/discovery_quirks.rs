//! Router tests of the quirks that break discovery and RFC 7591 registration: each changes exactly
//! the behaviour it names, and nothing with the quirk off.

use crate::common;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use uma_reference_server::Quirk;
use uma_reference_server::core::discovery::PROFILE_ICG_PKCE;

const UMA_DOC: &str = "/.well-known/uma2-configuration";
const OAUTH_DOC: &str = "/.well-known/oauth-authorization-server";

async fn uma_doc(as_: &TestAs) -> Value {
    let r = as_.get(UMA_DOC, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

/// Everything but `member` is the same in both documents.
fn assert_same_but(quirky: &Value, plain: &Value, member: &str) {
    let strip = |v: &Value| {
        let mut v = v.clone();
        v.as_object_mut().expect("an object").remove(member);
        v
    };
    assert_eq!(strip(quirky), strip(plain));
}

async fn register(as_: &TestAs, body: Value) -> Resp {
    as_.json("POST", "/register", None, &body).await
}

fn metadata() -> Value {
    json!({
        "client_name": "quirk test",
        "redirect_uris": ["https://client.example/cb"],
        "claims_redirect_uris": ["https://client.example/claims"],
        "grant_types": [UMA_GRANT],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "view",
    })
}

// ---- discovery ----

#[tokio::test]
async fn quirk_discovery_issuer_mismatch_adds_a_trailing_slash_to_the_issuer_only() {
    // Arrange
    let [quirky, plain] = TestAs::with_and_without(Quirk::DiscoveryIssuerMismatch).await;

    // Act
    let (q, p) = (uma_doc(&quirky).await, uma_doc(&plain).await);

    // Assert
    assert_eq!(q["issuer"], json!(format!("{ISSUER}/")));
    assert_eq!(p["issuer"], json!(ISSUER));
    assert_same_but(&q, &p, "issuer");
}

#[tokio::test]
async fn quirk_discovery_not_json_serves_the_same_json_as_octet_stream() {
    // Arrange
    let [quirky, plain] = TestAs::with_and_without(Quirk::DiscoveryNotJson).await;

    // Act
    let q = quirky.get(UMA_DOC, None).await;
    let p = plain.get(UMA_DOC, None).await;

    // Assert
    assert_eq!(q.status, StatusCode::OK);
    assert_eq!(q.header("content-type").as_deref(), Some("application/octet-stream"));
    assert!(
        p.header("content-type")
            .unwrap_or_default()
            .starts_with("application/json")
    );
    assert_eq!(q.json(), p.json());
}

#[tokio::test]
async fn quirks_that_drop_a_member_drop_only_that_member() {
    for (quirk, member) in [
        (Quirk::NoResponseTypes, "response_types_supported"),
        (
            Quirk::IssNotAdvertised,
            "authorization_response_iss_parameter_supported",
        ),
        (Quirk::PkceNotAdvertised, "code_challenge_methods_supported"),
    ] {
        // Arrange
        let [quirky, plain] = TestAs::with_and_without(quirk).await;

        // Act
        let (q, p) = (uma_doc(&quirky).await, uma_doc(&plain).await);

        // Assert
        assert!(q.get(member).is_none(), "{quirk}: {q}");
        assert!(p.get(member).is_some(), "{quirk}: {p}");
        assert_same_but(&q, &p, member);
    }
}

#[tokio::test]
async fn quirk_introspection_unadvertised_drops_the_member_from_the_uma_document_only() {
    // Arrange
    let as_ = TestAs::with_quirks(&[Quirk::IntrospectionUnadvertised]).await;
    let pat = as_.pat().await;

    // Act
    let uma = uma_doc(&as_).await;
    let oauth = as_.get(OAUTH_DOC, None).await.json();
    let introspected = as_.introspect(&pat, "no-such-token").await;

    // Assert
    assert!(uma.get("introspection_endpoint").is_none(), "{uma}");
    assert_eq!(oauth["introspection_endpoint"], json!(format!("{ISSUER}/introspect")));
    assert_same_but(&uma, &oauth, "introspection_endpoint");
    assert_eq!(introspected, json!({"active": false}));
}

#[tokio::test]
async fn quirk_s256_not_advertised_lists_plain_instead() {
    // Arrange
    let [quirky, plain] = TestAs::with_and_without(Quirk::S256NotAdvertised).await;

    // Act
    let (q, p) = (uma_doc(&quirky).await, uma_doc(&plain).await);

    // Assert
    assert_eq!(q["code_challenge_methods_supported"], json!(["plain"]));
    assert_eq!(p["code_challenge_methods_supported"], json!(["S256"]));
    assert_same_but(&q, &p, "code_challenge_methods_supported");
}

#[tokio::test]
async fn quirk_uma_profile_not_uri_names_the_id_token_format_by_a_short_name() {
    // Arrange
    let [quirky, plain] = TestAs::with_and_without(Quirk::UmaProfileNotUri).await;

    // Act
    let (q, p) = (uma_doc(&quirky).await, uma_doc(&plain).await);

    // Assert
    let profiles = q["uma_profiles_supported"].as_array().expect("still an array").clone();
    assert!(profiles.contains(&json!("id_token")), "{profiles:?}");
    assert!(!profiles.contains(&json!(ID_TOKEN)), "{profiles:?}");
    assert!(profiles.contains(&json!(PROFILE_ICG_PKCE)), "{profiles:?}");
    assert!(
        p["uma_profiles_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(ID_TOKEN))
    );
    assert_same_but(&q, &p, "uma_profiles_supported");
}

#[tokio::test]
async fn quirk_claims_endpoint_relative_publishes_the_path() {
    // Arrange
    let [quirky, plain] = TestAs::with_and_without(Quirk::ClaimsEndpointRelative).await;

    // Act
    let (q, p) = (uma_doc(&quirky).await, uma_doc(&plain).await);

    // Assert
    assert_eq!(q["claims_interaction_endpoint"], json!("/claims"));
    assert_eq!(p["claims_interaction_endpoint"], json!(format!("{ISSUER}/claims")));
    assert_same_but(&q, &p, "claims_interaction_endpoint");
}

// ---- dynamic client registration ----

#[tokio::test]
async fn quirk_dcr_drops_claims_redirect_uris_echoes_them_but_does_not_keep_them() {
    // Arrange
    let [quirky, plain] = TestAs::with_and_without(Quirk::DcrDropsClaimsRedirectUris).await;
    let mut kept = Vec::new();

    // Act
    for as_ in [&quirky, &plain] {
        let r = register(as_, metadata()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        assert_eq!(
            r.json()["claims_redirect_uris"],
            json!(["https://client.example/claims"])
        );
        let stored = as_
            .ctx
            .store
            .client(&r.str("client_id"))
            .await
            .unwrap()
            .expect("stored");
        kept.push(stored.claims_redirect_uris);
    }

    // Assert
    assert!(kept[0].is_empty(), "{:?}", kept[0]);
    assert_eq!(kept[1], vec!["https://client.example/claims".to_owned()]);
}

#[tokio::test]
async fn quirk_dcr_partial_echo_leaves_out_client_name() {
    // Arrange
    let [quirky, plain] = TestAs::with_and_without(Quirk::DcrPartialEcho).await;

    // Act
    let q = register(&quirky, metadata()).await.json();
    let p = register(&plain, metadata()).await.json();

    // Assert
    assert!(q.get("client_name").is_none(), "{q}");
    assert_eq!(q["scope"], "view");
    assert_eq!(p["client_name"], "quirk test");
}

#[tokio::test]
async fn quirk_dcr_no_secret_expiry_drops_client_secret_expires_at() {
    // Arrange
    let [quirky, plain] = TestAs::with_and_without(Quirk::DcrNoSecretExpiry).await;

    // Act
    let q = register(&quirky, metadata()).await.json();
    let p = register(&plain, metadata()).await.json();

    // Assert
    assert!(q["client_secret"].is_string());
    assert!(q.get("client_secret_expires_at").is_none(), "{q}");
    assert_eq!(p["client_secret_expires_at"], json!(0));
}

#[tokio::test]
async fn quirk_dcr_wrong_error_code_answers_invalid_request_for_bad_metadata_only() {
    // Arrange
    let [quirky, plain] = TestAs::with_and_without(Quirk::DcrWrongErrorCode).await;
    let bad_metadata = json!({"claims_redirect_uris": "https://client.example/not-an-array"});
    let bad_uri = json!({"redirect_uris": ["https://client.example/cb#fragment"]});

    // Act
    let q = register(&quirky, bad_metadata.clone()).await;
    let p = register(&plain, bad_metadata).await;
    let q_uri = register(&quirky, bad_uri).await;

    // Assert
    assert_eq!(q.status, StatusCode::BAD_REQUEST);
    assert_eq!(q.error(), "invalid_request");
    assert_eq!(p.error(), "invalid_client_metadata");
    assert_eq!(q_uri.error(), "invalid_redirect_uri");
}

#[tokio::test]
async fn quirk_dcr_rejects_unknown_metadata_refuses_an_unknown_member() {
    // Arrange
    let [quirky, plain] = TestAs::with_and_without(Quirk::DcrRejectsUnknownMetadata).await;
    let mut with_unknown = metadata();
    with_unknown["x_extension"] = json!("ignored");

    // Act
    let q = register(&quirky, with_unknown.clone()).await;
    let q_known = register(&quirky, metadata()).await;
    let p = register(&plain, with_unknown).await;

    // Assert
    assert_eq!(q.status, StatusCode::BAD_REQUEST);
    assert_eq!(q.error(), "invalid_client_metadata");
    assert_eq!(q_known.status, StatusCode::CREATED, "{}", q_known.text());
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.text());
}
