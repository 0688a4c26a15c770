//! The reference AS as a standing counterpart (issue 11, item 3): policies configured for
//! resources a third-party RS registers, resource servers that register by DCR and act for an
//! owner of their own, plain access tokens for requesting clients, unknown requested scopes
//! ignored, and the shipped `interop` profile. Each behaviour is opt-in: the demo and default
//! configurations behave as before.

use crate::common;

use axum::http::StatusCode;
use common::{CLIENT, TestAs, UMA_GRANT, basic};
use serde_json::{Value, json};
use uma_reference_server::Config;
use uma_reference_server::config::UnknownScopes;

/// The demo configuration with `registration_policies` from JSON.
fn with_rules(rules: Value) -> Config {
    let mut c = Config::demo();
    c.registration_policies = serde_json::from_value(rules).expect("rules parse");
    c
}

/// Registers a resource named `name` with `scopes` through the demo RS.
async fn named_resource(a: &TestAs, pat: &str, name: &str, scopes: &[&str]) -> String {
    let r = a
        .json(
            "POST",
            "/resource_set",
            Some(&format!("Bearer {pat}")),
            &json!({"name": name, "resource_scopes": scopes}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.str("_id")
}

/// RFC 7591 registration; returns (client_id, client_secret).
async fn register(a: &TestAs, metadata: Value) -> (String, String) {
    let r = a.json("POST", "/register", None, &metadata).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    (r.str("client_id"), r.str("client_secret"))
}

#[tokio::test]
async fn a_registration_policy_gives_a_third_party_resource_an_outcome_without_the_policy_api() {
    // Arrange
    let a = TestAs::with(with_rules(json!([{"default": {"type": "open"}}]))).await;
    let pat = a.pat().await;
    let rid = named_resource(&a, &pat, "anything", &["view"]).await;
    let t = a.ticket_for(&pat, &rid, &["view"]).await;

    // Act
    let r = a.uma_token(&t, &[]).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let got = a.introspect(&pat, &r.str("access_token")).await;
    assert_eq!(got["permissions"][0]["resource_scopes"], json!(["view"]));
}

#[tokio::test]
async fn without_registration_policies_a_new_resource_still_has_no_policy_and_is_denied() {
    // Arrange
    let a = TestAs::new().await;
    let pat = a.pat().await;
    let rid = named_resource(&a, &pat, "anything", &["view"]).await;
    let t = a.ticket_for(&pat, &rid, &["view"]).await;

    // Act
    let r = a.uma_token(&t, &[]).await;
    let policy = a.get(&format!("/policy/{rid}"), Some(&format!("Bearer {pat}"))).await;

    // Assert
    assert_eq!(
        (r.status, r.error().as_str()),
        (StatusCode::FORBIDDEN, "request_denied")
    );
    assert_eq!(policy.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_first_rule_covering_the_resource_wins_by_name_owner_and_rs_client() {
    // Arrange: a deny rule by name, a claims rule by owner and RS client, an open catch-all.
    let a = TestAs::with(with_rules(json!([
        {"name": "*private*", "default": {"type": "deny"}},
        {"owner": "photoz-inc", "rs_client": "demo-*", "scopes": {"print": {"type": "claims", "claims": {"email": null}}}, "default": {"type": "open"}},
        {"default": {"type": "deny"}}
    ])))
    .await;
    let pat = a.pat().await;
    let private = named_resource(&a, &pat, "my-private-photo", &["view"]).await;
    let public = named_resource(&a, &pat, "holiday", &["view", "print"]).await;

    // Act
    let denied = a.uma_token(&a.ticket_for(&pat, &private, &["view"]).await, &[]).await;
    let viewed = a.uma_token(&a.ticket_for(&pat, &public, &["view"]).await, &[]).await;
    let printed = a.uma_token(&a.ticket_for(&pat, &public, &["print"]).await, &[]).await;
    let stored = a
        .get(&format!("/policy/{public}"), Some(&format!("Bearer {pat}")))
        .await;

    // Assert
    assert_eq!(denied.error(), "request_denied", "{}", denied.text());
    assert_eq!(viewed.status, StatusCode::OK, "{}", viewed.text());
    assert_eq!(printed.error(), "need_info", "{}", printed.text());
    assert_eq!(stored.json()["scopes"]["print"]["type"], "claims");
}

#[tokio::test]
async fn the_owner_replaces_a_registration_policy_through_the_policy_api() {
    // Arrange
    let a = TestAs::with(with_rules(json!([{"default": {"type": "open"}}]))).await;
    let pat = a.pat().await;
    let rid = named_resource(&a, &pat, "photo", &["view"]).await;
    a.policy(&pat, &rid, json!({"default": {"type": "deny"}})).await;

    // Act
    let r = a.uma_token(&a.ticket_for(&pat, &rid, &["view"]).await, &[]).await;

    // Assert
    assert_eq!(r.error(), "request_denied", "{}", r.text());
}

#[tokio::test]
async fn an_owner_approval_rule_is_decided_through_the_approval_api() {
    // Arrange
    let a = TestAs::with(with_rules(
        json!([{"name": "*approval*", "default": {"type": "owner-approval"}}]),
    ))
    .await;
    let pat = a.pat().await;
    let rid = named_resource(&a, &pat, "needs-approval", &["view"]).await;
    let first = a.uma_token(&a.ticket_for(&pat, &rid, &["view"]).await, &[]).await;
    assert_eq!(first.error(), "request_submitted", "{}", first.text());
    let pending = a.get("/approvals", Some(&format!("Bearer {pat}"))).await.json();
    let id = pending[0]["id"].as_str().expect("a pending approval").to_owned();

    // Act
    let decided = a
        .json(
            "POST",
            &format!("/approvals/{id}"),
            Some(&format!("Bearer {pat}")),
            &json!({"decision": "approve"}),
        )
        .await;
    let poll = a.uma_token(&first.str("ticket"), &[]).await;

    // Assert
    assert_eq!(decided.status, StatusCode::OK, "{}", decided.text());
    assert_eq!(poll.status, StatusCode::OK, "{}", poll.text());
}

#[tokio::test]
async fn a_dcr_resource_server_acts_for_an_owner_of_its_own_only_with_dcr_owners() {
    for on in [true, false] {
        // Arrange
        let mut c = Config::demo();
        c.dcr_owners = on;
        let a = TestAs::with(c).await;
        let rs = register(
            &a,
            json!({"scope": "uma_protection", "grant_types": ["client_credentials"], "client_name": "participant RS"}),
        )
        .await;

        // Act
        let r = a
            .form(
                "/token",
                Some(&basic((&rs.0, &rs.1))),
                &[("grant_type", "client_credentials"), ("scope", "uma_protection")],
            )
            .await;

        // Assert
        if on {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let pat = r.str("access_token");
            let list = a.get("/resource_set", Some(&format!("Bearer {pat}"))).await;
            assert_eq!(list.status, StatusCode::OK, "{}", list.text());
        } else {
            assert_eq!(r.error(), "unauthorized_client", "{}", r.text());
        }
    }
}

#[tokio::test]
async fn a_requesting_client_gets_a_plain_access_token_only_with_client_access_tokens() {
    for on in [true, false] {
        // Arrange
        let mut c = Config::demo();
        c.client_access_tokens = on;
        let a = TestAs::with(c).await;

        // Act
        let r = a
            .form("/token", Some(&basic(CLIENT)), &[("grant_type", "client_credentials")])
            .await;

        // Assert
        if on {
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            assert_eq!(r.str("scope"), "download view");
            // Not a PAT: the protection API refuses it.
            let token = r.str("access_token");
            let list = a.get("/resource_set", Some(&format!("Bearer {token}"))).await;
            assert_eq!(list.status, StatusCode::FORBIDDEN, "{}", list.text());
        } else {
            assert_eq!(r.error(), "unauthorized_client", "{}", r.text());
        }
    }
}

#[tokio::test]
async fn a_plain_access_token_is_limited_to_registered_scopes_and_never_uma_protection() {
    // Arrange
    let mut c = Config::demo();
    c.client_access_tokens = true;
    let a = TestAs::with(c).await;

    // Act
    let narrowed = a
        .form(
            "/token",
            Some(&basic(CLIENT)),
            &[("grant_type", "client_credentials"), ("scope", "view")],
        )
        .await;
    let unregistered = a
        .form(
            "/token",
            Some(&basic(CLIENT)),
            &[("grant_type", "client_credentials"), ("scope", "edit")],
        )
        .await;
    let protection = a
        .form(
            "/token",
            Some(&basic(CLIENT)),
            &[("grant_type", "client_credentials"), ("scope", "uma_protection")],
        )
        .await;

    // Assert
    assert_eq!(narrowed.str("scope"), "view");
    assert_eq!(unregistered.error(), "invalid_scope", "{}", unregistered.text());
    assert_eq!(protection.error(), "unauthorized_client", "{}", protection.text());
}

#[tokio::test]
async fn an_unknown_requested_scope_is_refused_by_default_and_ignored_when_configured() {
    for mode in [UnknownScopes::Refuse, UnknownScopes::Ignore] {
        // Arrange
        let mut c = Config::demo();
        c.unknown_scopes = mode;
        let a = TestAs::with(c).await;
        let pat = a.pat().await;
        let (_, t) = a.open_resource_ticket(&pat, &["view"], &["view"]).await;

        // Act
        let r = a.uma_token(&t, &[("scope", "openid")]).await;

        // Assert
        match mode {
            UnknownScopes::Refuse => assert_eq!(r.error(), "invalid_scope", "{}", r.text()),
            UnknownScopes::Ignore => assert_eq!(r.status, StatusCode::OK, "{}", r.text()),
        }
    }
}

#[tokio::test]
async fn ignoring_unknown_scopes_keeps_invalid_scope_for_a_registered_scope_no_resource_offers() {
    // Arrange: the demo client is registered for `download`; the resource offers only `view`.
    let mut c = Config::demo();
    c.unknown_scopes = UnknownScopes::Ignore;
    let a = TestAs::with(c).await;
    let pat = a.pat().await;
    let (_, t) = a.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let r = a.uma_token(&t, &[("scope", "download")]).await;

    // Assert
    assert_eq!(r.error(), "invalid_scope", "{}", r.text());
}

#[tokio::test]
async fn ignoring_unknown_scopes_lets_a_pat_request_with_openid_through() {
    for mode in [UnknownScopes::Refuse, UnknownScopes::Ignore] {
        // Arrange
        let mut c = Config::demo();
        c.unknown_scopes = mode;
        let a = TestAs::with(c).await;

        // Act
        let r = a
            .form(
                "/token",
                Some(&basic(common::RS)),
                &[("grant_type", "client_credentials"), ("scope", "openid uma_protection")],
            )
            .await;

        // Assert
        match mode {
            UnknownScopes::Refuse => assert_eq!(r.error(), "invalid_scope", "{}", r.text()),
            UnknownScopes::Ignore => {
                assert_eq!(r.status, StatusCode::OK, "{}", r.text());
                // RFC 6749 §3.3: the issued scope differs from the request, so it is stated.
                assert_eq!(r.str("scope"), "uma_protection");
            }
        }
    }
}

#[tokio::test]
async fn the_interop_profile_carries_two_dcr_participants_through_a_grant() {
    // Arrange: a participant's RS and a participant's client, both registered by DCR.
    let a = TestAs::with(Config::profile("interop", &[]).expect("profile loads")).await;
    let rs = register(
        &a,
        json!({"scope": "uma_protection", "grant_types": ["client_credentials"]}),
    )
    .await;
    let client = register(
        &a,
        json!({"scope": "view", "claims_redirect_uris": ["http://127.0.0.1:9/cb"], "client_name": "participant client"}),
    )
    .await;
    let pat = a
        .form(
            "/token",
            Some(&basic((&rs.0, &rs.1))),
            &[("grant_type", "client_credentials"), ("scope", "openid uma_protection")],
        )
        .await
        .str("access_token");
    let open = named_resource(&a, &pat, "shared photo", &["view"]).await;
    let claims = named_resource(&a, &pat, "claims-needed", &["view"]).await;
    let client_auth = basic((&client.0, &client.1));

    // Act: the client starts with an access token (as some libraries must), then asks for RPTs.
    let started = a
        .form("/token", Some(&client_auth), &[("grant_type", "client_credentials")])
        .await;
    let t_open = a.ticket_for(&pat, &open, &["view"]).await;
    let rpt = a
        .form(
            "/token",
            Some(&client_auth),
            &[("grant_type", UMA_GRANT), ("ticket", &t_open), ("scope", "openid")],
        )
        .await;
    let t_claims = a.ticket_for(&pat, &claims, &["view"]).await;
    let need_info = a
        .form(
            "/token",
            Some(&client_auth),
            &[("grant_type", UMA_GRANT), ("ticket", &t_claims)],
        )
        .await;
    let id_token = a.id_token(&[("email", "bob@example.com")]).await;
    let pushed = a
        .form(
            "/token",
            Some(&client_auth),
            &[
                ("grant_type", UMA_GRANT),
                ("ticket", &need_info.str("ticket")),
                ("claim_token", &id_token),
                ("claim_token_format", common::ID_TOKEN),
            ],
        )
        .await;

    // Assert
    assert_eq!(started.status, StatusCode::OK, "{}", started.text());
    assert_eq!(rpt.status, StatusCode::OK, "{}", rpt.text());
    assert_eq!(need_info.error(), "need_info", "{}", need_info.text());
    assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.text());
    let seen = a.introspect(&pat, &rpt.str("access_token")).await;
    assert_eq!(seen["permissions"][0]["resource_id"], json!(open));
}
