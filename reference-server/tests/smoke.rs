//! A whole grant through the router: PAT, resource, policy, permission, need_info, pushed claim
//! token, RPT, introspection.

use crate::common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;

#[tokio::test]
async fn a_whole_grant_with_a_pushed_claim_token_yields_an_introspectable_rpt() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view", "print"]).await;
    as_.policy(
        &pat,
        &rid,
        json!({"scopes": {"view": {"type": "claims", "claims": {"email": "bob@example.com"}}}}),
    )
    .await;
    let t1 = as_.ticket_for(&pat, &rid, &["view"]).await;

    // Act
    let first = as_.uma_token(&t1, &[]).await;
    let t2 = first.str("ticket");
    let id_token = as_.id_token(&[("email", "bob@example.com")]).await;
    let second = as_.push_id_token(&t2, &id_token).await;

    // Assert
    assert_eq!(first.status, StatusCode::FORBIDDEN);
    assert_eq!(first.error(), "need_info");
    assert_ne!(t1, t2);
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    assert_eq!(second.header("cache-control").as_deref(), Some("no-store"));
    let rpt = second.str("access_token");
    let intro = as_.introspect(&pat, &rpt).await;
    assert_eq!(intro["active"], json!(true));
    assert!(intro.get("scope").is_none());
    assert_eq!(
        intro["permissions"],
        json!([{"resource_id": rid, "resource_scopes": ["view"], "exp": intro["exp"]}])
    );
}
