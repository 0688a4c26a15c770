//! The store on PostgreSQL (shared mode): a whole grant, state surviving a new context over the
//! same database, and single use of a ticket under parallel redemption. Runs only if
//! `UMA_TEST_POSTGRES_URL` names a database it may create schemas in, e.g.
//! `postgres://postgres@127.0.0.1:5432/uma_test`; otherwise each test returns early with a note.
//!
//! (To run every router test against PostgreSQL instead, set `UMA_TEST_DATABASE_URL`.)

use crate::common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;
use uma_reference_server::Config;

/// A fresh schema in the database of `UMA_TEST_POSTGRES_URL`, or `None` with a note.
async fn postgres() -> Option<String> {
    match std::env::var("UMA_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => Some(fresh_postgres_schema(&url).await),
        None => {
            eprintln!("note: UMA_TEST_POSTGRES_URL is not set; skipping this PostgreSQL test");
            None
        }
    }
}

async fn as_at(url: &str) -> TestAs {
    let (router, ctx) = uma_reference_server::test_app_at(Config::demo(), ISSUER, url)
        .await
        .expect("test AS starts on PostgreSQL");
    TestAs { router, ctx }
}

#[tokio::test]
async fn a_whole_grant_runs_on_postgres_and_its_state_outlives_the_context() {
    let Some(url) = postgres().await else { return };

    // Arrange
    let as_ = as_at(&url).await;
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view", "print"]).await;
    let policy = json!({"scopes": {"view": {"type": "claims", "claims": {"email": "bob@example.com"}}}});
    as_.policy(&pat, &rid, policy.clone()).await;
    let open_rid = as_.resource(&pat, &["view"]).await;
    as_.policy(&pat, &open_rid, json!({"default": {"type": "open"}})).await;
    let unused = as_.ticket_for(&pat, &open_rid, &["view"]).await;
    let t1 = as_.ticket_for(&pat, &rid, &["view"]).await;

    // Act
    let first = as_.uma_token(&t1, &[]).await;
    let t2 = first.str("ticket");
    let id_token = as_.id_token(&[("email", "bob@example.com")]).await;
    let second = as_.push_id_token(&t2, &id_token).await;

    // Assert
    assert_eq!(first.status, StatusCode::FORBIDDEN, "{}", first.text());
    assert_eq!(first.error(), "need_info");
    assert_eq!(second.status, StatusCode::OK, "{}", second.text());
    let (rpt, pct) = (second.str("access_token"), second.str("pct"));
    let intro = as_.introspect(&pat, &rpt).await;
    assert_eq!(intro["active"], json!(true));
    assert_eq!(
        intro["permissions"],
        json!([{"resource_id": rid, "resource_scopes": ["view"], "exp": intro["exp"]}])
    );
    let reused = as_.uma_token(&t2, &[]).await;
    assert_eq!(reused.error(), "invalid_grant");

    // A new context over the same database (what a restart or another instance sees).
    as_.ctx.store.close().await;
    drop(as_);
    let again = as_at(&url).await;
    let intro = again.introspect(&pat, &rpt).await;
    assert_eq!(intro["active"], json!(true), "{intro}");
    let got = again
        .get(&format!("/policy/{rid}"), Some(&format!("Bearer {pat}")))
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text());
    assert_eq!(got.json(), policy);
    let redeemed = again.uma_token(&unused, &[]).await;
    assert_eq!(redeemed.status, StatusCode::OK, "{}", redeemed.text());
    let t = again.ticket_for(&pat, &rid, &["view"]).await;
    let with_pct = again.uma_token(&t, &[("pct", &pct)]).await;
    assert_eq!(with_pct.status, StatusCode::OK, "{}", with_pct.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_redemptions_of_one_ticket_on_postgres_yield_one_rpt() {
    let Some(url) = postgres().await else { return };

    // Arrange
    let as_ = as_at(&url).await;
    let pat = as_.pat().await;
    let (_rid, ticket) = as_.open_resource_ticket(&pat, &["view"], &["view"]).await;

    // Act
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (router, ctx) = (as_.router.clone(), as_.ctx.clone());
        let ticket = ticket.clone();
        tasks.push(tokio::spawn(async move {
            TestAs { router, ctx }.uma_token(&ticket, &[]).await
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("task"));
    }

    // Assert
    let ok = results.iter().filter(|r| r.status == StatusCode::OK).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        results.iter().map(|r| (r.status, r.text())).collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status != StatusCode::OK) {
        assert_eq!(r.error(), "invalid_grant", "{}", r.text());
    }
}

#[tokio::test]
async fn a_nul_byte_in_a_looked_up_identifier_is_unknown_on_postgres() {
    let Some(url) = postgres().await else { return };

    // Arrange
    let as_ = as_at(&url).await;
    let pat = as_.pat().await;

    // Act
    let permission = as_
        .json(
            "POST",
            "/permission",
            Some(&format!("Bearer {pat}")),
            &json!({"resource_id": "a\u{0}b", "resource_scopes": ["view"]}),
        )
        .await;
    let resource = as_.get("/resource_set/a%00b", Some(&format!("Bearer {pat}"))).await;
    let client = as_
        .form(
            "/token",
            None,
            &[("grant_type", "client_credentials"), ("client_id", "demo\0rs")],
        )
        .await;

    // Assert
    assert_eq!(permission.status, StatusCode::BAD_REQUEST, "{}", permission.text());
    assert_eq!(permission.error(), "invalid_resource_id");
    assert_eq!(resource.status, StatusCode::NOT_FOUND, "{}", resource.text());
    assert_eq!(client.status, StatusCode::UNAUTHORIZED, "{}", client.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_starting_together_on_an_empty_postgres_database_all_come_up() {
    use sqlx::{Connection as _, Row as _};
    let Some(url) = postgres().await else { return };

    // Act: several instances migrate the same empty schema at once.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            uma_reference_server::test_app_at(Config::demo(), ISSUER, &url)
                .await
                .map(|_| ())
                .map_err(|e| {
                    let mut msg = e.to_string();
                    let mut src = std::error::Error::source(&e);
                    while let Some(s) = src {
                        msg.push_str(&format!(": {s}"));
                        src = s.source();
                    }
                    msg
                })
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.expect("task"));
    }

    // Assert
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
    let versions: i64 = sqlx::query("SELECT COUNT(*) AS n FROM schema_version")
        .fetch_one(&mut conn)
        .await
        .expect("count")
        .try_get("n")
        .expect("n");
    assert_eq!(versions, 1, "each migration is recorded once");
}
