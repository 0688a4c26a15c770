//! Request size limits and the sweeping of expired state.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use uma_reference_server::store::StoreTable;

#[tokio::test]
async fn a_request_body_over_the_limit_is_refused_with_413() {
    // Arrange
    let as_ = TestAs::new().await;
    let huge = "a=".to_owned() + &"x".repeat(70 * 1024);

    // Act
    let resp = as_
        .send(
            Request::post("/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(huge))
                .unwrap(),
        )
        .await;

    // Assert
    assert_eq!(resp.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_sweep_removes_expired_tickets_but_keeps_live_ones() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_rid, _ticket) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    let store = &as_.ctx.store;
    let now = as_.ctx.clock.now();
    assert_eq!(store.count(StoreTable::Tickets).await.unwrap(), 1);

    // Act
    let early = store.sweep(now, 86_400).await.unwrap();
    let tickets_after_early = store.count(StoreTable::Tickets).await.unwrap();
    let late = store.sweep(now + 301, 86_400).await.unwrap();

    // Assert
    assert_eq!(early, 0);
    assert_eq!(tickets_after_early, 1);
    assert!(late >= 1);
    assert_eq!(store.count(StoreTable::Tickets).await.unwrap(), 0);
    // The PAT (a day's lifetime) is still there.
    assert!(store.count(StoreTable::Tokens).await.unwrap() >= 1);
}

#[tokio::test]
async fn an_extreme_expires_in_at_the_demo_idp_is_not_a_panic() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let max = i64::MAX.to_string();
    let min = i64::MIN.to_string();
    let far = as_
        .form("/demo-idp/id_token", None, &[("sub", "bob"), ("expires_in", &max)])
        .await;
    let past = as_
        .form("/demo-idp/id_token", None, &[("sub", "bob"), ("expires_in", &min)])
        .await;

    // Assert: a client error or a token, never a dropped connection.
    assert!(
        far.status.is_success() || far.status.is_client_error(),
        "{}",
        far.status
    );
    assert!(
        past.status.is_success() || past.status.is_client_error(),
        "{}",
        past.status
    );
}

#[tokio::test]
async fn a_pushed_id_token_expiring_at_the_end_of_time_is_not_a_panic() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let (_rid, ticket) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;
    let expires_in = (i64::MAX - as_.ctx.clock.now()).to_string();
    let token = as_.id_token(&[("expires_in", &expires_in)]).await;

    // Act
    let r = as_.push_id_token(&ticket, &token).await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}
