//! HTTPS on real loopback sockets: the AS serves TLS with a certificate of a generated test CA,
//! refuses plain HTTP on its port and, with a client CA, clients without a certificate of it;
//! the TLS quirks change exactly what they name; and registration refuses http redirect URIs
//! outside the loopback interface (RFC 9700 §2.6) unless its quirk is on.

use crate::common;

use serde_json::{Value, json};
use uma_reference_server::tls::{LOOPBACK_NAMES, ServerTls, TestCa};
use uma_reference_server::{Config, Quirk, Server};

/// The demo AS over TLS with `quirks`, and a client that trusts its CA.
async fn tls_as(quirks: &[Quirk], client_ca: Option<&TestCa>) -> (Server, TestCa, reqwest::Client) {
    let ca = TestCa::generate("test CA").unwrap();
    let tls = ServerTls::new(&ca.server(LOOPBACK_NAMES).unwrap(), client_ca.map(TestCa::pem)).unwrap();
    let mut config = Config::demo();
    for q in quirks {
        config.quirks.insert(*q);
    }
    let server = Server::builder(config).memory().tls(tls).start().await.unwrap();
    let http = trusting(&ca, None);
    (server, ca, http)
}

fn trusting(ca: &TestCa, identity: Option<&uma_reference_server::tls::Identity>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(ca.pem().as_bytes()).unwrap())
        .timeout(std::time::Duration::from_secs(10));
    if let Some(id) = identity {
        b = b.identity(reqwest::Identity::from_pem(format!("{}\n{}", id.cert_pem, id.key_pem).as_bytes()).unwrap());
    }
    b.build().unwrap()
}

async fn discovery(http: &reqwest::Client, issuer: &str) -> Value {
    http.get(format!("{issuer}/.well-known/uma2-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A token request with a made-up client, sent in plain HTTP to the AS's TLS port.
async fn plaintext_token(server: &Server) -> Result<reqwest::Response, reqwest::Error> {
    reqwest::Client::new()
        .post(format!("http://{}/token", server.local_addr()))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "nobody"),
            ("client_secret", "x"),
        ])
        .send()
        .await
}

#[tokio::test]
async fn the_as_serves_https_with_a_generated_ca_and_refuses_plain_http() {
    // Arrange
    let (server, _ca, http) = tls_as(&[], None).await;

    // Act
    let doc = discovery(&http, server.issuer()).await;
    let plain = plaintext_token(&server).await;
    let untrusting = reqwest::Client::new()
        .get(format!("{}/jwks", server.issuer()))
        .send()
        .await;

    // Assert
    assert!(server.issuer().starts_with("https://127.0.0.1:"), "{}", server.issuer());
    assert_eq!(doc["issuer"], server.issuer());
    for member in [
        "token_endpoint",
        "permission_endpoint",
        "resource_registration_endpoint",
        "introspection_endpoint",
    ] {
        assert!(
            doc[member].as_str().unwrap().starts_with("https://"),
            "{member}: {}",
            doc[member]
        );
    }
    assert!(plain.is_err(), "a plain-HTTP request got an answer: {plain:?}");
    assert!(
        untrusting.is_err(),
        "a client that does not trust the test CA connected"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn with_a_client_ca_only_clients_with_its_certificates_connect() {
    // Arrange
    let client_ca = TestCa::generate("client CA").unwrap();
    let (server, ca, without) = tls_as(&[], Some(&client_ca)).await;
    let with = trusting(&ca, Some(&client_ca.client("harness").unwrap()));

    // Act
    let refused = without.get(format!("{}/jwks", server.issuer())).send().await;
    let served = with.get(format!("{}/jwks", server.issuer())).send().await.unwrap();

    // Assert
    assert!(refused.is_err(), "a client without a certificate was served");
    assert_eq!(served.status(), 200);
    server.shutdown().await;
}

#[tokio::test]
async fn quirk_issuer_http_writes_the_issuer_with_http_only() {
    // Arrange
    let (quirky, _, h1) = tls_as(&[Quirk::IssuerHttp], None).await;
    let (plain, _, h2) = tls_as(&[], None).await;

    // Act
    let q = discovery(&h1, quirky.issuer()).await;
    let p = discovery(&h2, plain.issuer()).await;

    // Assert
    assert_eq!(q["issuer"], quirky.issuer().replacen("https://", "http://", 1));
    assert_eq!(p["issuer"], plain.issuer());
    assert!(q["token_endpoint"].as_str().unwrap().starts_with("https://"));
    assert!(
        plaintext_token(&quirky).await.is_err(),
        "the quirk serves no plain HTTP"
    );
    quirky.shutdown().await;
    plain.shutdown().await;
}

#[tokio::test]
async fn quirk_protection_endpoints_http_publishes_and_serves_them_in_plain_http() {
    // Arrange
    let (quirky, _, http) = tls_as(&[Quirk::ProtectionEndpointsHttp], None).await;

    // Act
    let doc = discovery(&http, quirky.issuer()).await;
    let permission = doc["permission_endpoint"].as_str().unwrap().to_owned();
    let answered = reqwest::Client::new()
        .post(&permission)
        .json(&json!({"resource_id": "x", "resource_scopes": ["view"]}))
        .send()
        .await
        .unwrap();
    let token = plaintext_token(&quirky).await.unwrap();

    // Assert: the protection API is http and answers (401: no PAT); other paths refuse.
    for member in [
        "permission_endpoint",
        "resource_registration_endpoint",
        "introspection_endpoint",
    ] {
        assert!(doc[member].as_str().unwrap().starts_with("http://"), "{member}");
    }
    assert!(doc["token_endpoint"].as_str().unwrap().starts_with("https://"));
    assert_eq!(answered.status(), 401);
    assert_eq!(token.status(), 400);
    assert!(
        token
            .text()
            .await
            .unwrap()
            .contains("plain HTTP request was sent to HTTPS port")
    );
    quirky.shutdown().await;
}

#[tokio::test]
async fn quirk_token_endpoint_plaintext_evaluates_plain_http_token_requests() {
    // Arrange
    let (quirky, _, http) = tls_as(&[Quirk::TokenEndpointPlaintext], None).await;

    // Act
    let doc = discovery(&http, quirky.issuer()).await;
    let answer = plaintext_token(&quirky).await.unwrap();

    // Assert: discovery is unchanged; the plain request is evaluated (the client is unknown).
    assert!(doc["token_endpoint"].as_str().unwrap().starts_with("https://"));
    assert_eq!(answer.status(), 401);
    let body: Value = answer.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    quirky.shutdown().await;
}

#[tokio::test]
async fn quirk_http_redirect_uri_accepted_registers_a_remote_http_redirect_uri() {
    // Arrange
    let [quirky, plain] = common::TestAs::with_and_without(Quirk::HttpRedirectUriAccepted).await;
    let body = json!({"redirect_uris": ["http://client.example/cb"], "grant_types": ["authorization_code"]});
    let loopback = json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "grant_types": ["authorization_code"]});

    // Act
    let q = quirky.json("POST", "/register", None, &body).await;
    let p = plain.json("POST", "/register", None, &body).await;
    let l = plain.json("POST", "/register", None, &loopback).await;

    // Assert
    assert_eq!(q.status, 201, "{}", q.text());
    assert_eq!(p.status, 400, "{}", p.text());
    assert_eq!(p.error(), "invalid_redirect_uri");
    assert_eq!(
        l.status,
        201,
        "a loopback http redirect URI stays allowed: {}",
        l.text()
    );
}
