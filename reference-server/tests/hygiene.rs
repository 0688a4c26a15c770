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
