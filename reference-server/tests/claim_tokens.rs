//! Claim tokens from a trusted issuer configured by JWKS URL: the AS fetches the key set over
//! HTTP (here, another reference AS plays the identity provider on loopback) and refuses, with
//! `need_info` and without hanging, when the key set cannot be fetched.

use crate::common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;
use uma_reference_server::config::TrustedIssuer;
use uma_reference_server::{Config, Server};

const IDP: &str = "https://idp.test";

fn id_token(idp: &Server, email: &str, exp_in: i64) -> String {
    let now = idp.ctx().clock.now();
    idp.ctx()
        .signer
        .sign(
            "JWT",
            &json!({"iss": IDP, "sub": "bob", "aud": ISSUER, "email": email, "iat": now, "exp": now + exp_in}),
        )
        .expect("signed")
}

/// Another reference AS on loopback, playing an identity provider: its `/jwks` serves its key.
async fn start_idp(role: &str) -> Server {
    Server::builder(Config::default())
        .memory()
        .start()
        .await
        .unwrap_or_else(|e| panic!("{role} starts: {e}"))
}

async fn as_trusting(jwks_uri: String) -> TestAs {
    let mut config = Config::demo();
    config.trusted_issuers.push(TrustedIssuer {
        issuer: IDP.into(),
        jwks_uri: Some(jwks_uri),
        jwks: None,
        audiences: vec![],
    });
    TestAs::with(config).await
}

async fn need_info_ticket(as_: &TestAs) -> String {
    let pat = as_.pat().await;
    let rid = as_.resource(&pat, &["view"]).await;
    as_.policy(
        &pat,
        &rid,
        json!({"scopes": {"view": {"type": "claims", "claims": {"email": "bob@example.com"}, "issuer": IDP}}}),
    )
    .await;
    let t = as_.ticket_for(&pat, &rid, &["view"]).await;
    let r = as_.uma_token(&t, &[]).await;
    assert_eq!(r.error(), "need_info");
    r.str("ticket")
}

#[tokio::test]
async fn an_id_token_verified_with_keys_fetched_from_the_issuers_jwks_uri_is_accepted() {
    // Arrange
    let idp = start_idp("idp").await;
    let as_ = as_trusting(format!("{}/jwks", idp.issuer())).await;
    let ticket = need_info_ticket(&as_).await;

    // Act
    let token = id_token(&idp, "bob@example.com", 300);
    let r = as_.push_id_token(&ticket, &token).await;
    idp.shutdown().await;

    // Assert
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn a_token_signed_by_another_key_than_the_fetched_ones_is_need_info() {
    // Arrange: the JWKS URL serves one key, the token is signed with another.
    let idp = start_idp("idp").await;
    let forger = start_idp("forger").await;
    let as_ = as_trusting(format!("{}/jwks", idp.issuer())).await;
    let ticket = need_info_ticket(&as_).await;

    // Act
    let token = id_token(&forger, "bob@example.com", 300);
    let r = as_.push_id_token(&ticket, &token).await;
    idp.shutdown().await;
    forger.shutdown().await;

    // Assert
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error(), "need_info");
}

#[tokio::test]
async fn an_unreachable_jwks_uri_gives_need_info_not_a_grant_or_a_hang() {
    // Arrange: nothing listens on the JWKS port.
    let idp = start_idp("idp").await;
    let as_ = as_trusting(format!("http://127.0.0.1:{}/jwks", unused_port())).await;
    let ticket = need_info_ticket(&as_).await;

    // Act
    let token = id_token(&idp, "bob@example.com", 300);
    let r = as_.push_id_token(&ticket, &token).await;
    idp.shutdown().await;

    // Assert
    assert_eq!(r.error(), "need_info");
}

fn unused_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
