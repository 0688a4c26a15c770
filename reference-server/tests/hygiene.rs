//! Request hygiene of the AS router: size limits, content codings and media types, each refusal
//! an OAuth JSON error; and the sweeping of expired state.

use crate::common;

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::{Value, json};
use uma_reference_server::store::StoreTable;

/// Asserts an OAuth JSON error: `status`, `error`, an `error_description` containing every one
/// of `mentions`, `Content-Type: application/json` and `Cache-Control: no-store`.
fn assert_oauth_error(r: &Resp, status: StatusCode, error: &str, mentions: &[&str]) {
    assert_eq!(r.status, status, "{}", r.text());
    assert!(
        r.header("content-type")
            .is_some_and(|ct| ct.starts_with("application/json")),
        "{:?}",
        r.headers
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(r.error(), error, "{}", r.text());
    let description = r.str("error_description");
    for m in mentions {
        assert!(description.contains(m), "`{m}` not in {description:?}");
    }
}

/// A request with an optional `Content-Type` and `Authorization`.
fn request(
    method: &str,
    path: &str,
    content_type: Option<&str>,
    auth: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    if let Some(a) = auth {
        b = b.header(header::AUTHORIZATION, a);
    }
    b.body(body.into()).unwrap()
}

#[tokio::test]
async fn a_request_body_over_the_limit_is_refused_with_a_413_oauth_error() {
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
    assert_oauth_error(&resp, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", &["larger"]);
}

#[tokio::test]
async fn a_declared_content_length_over_the_limit_is_refused_with_413_before_the_body_is_read() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act: the declared length is never sent; the answer must not wait for it.
    let resp = as_
        .send(
            Request::post("/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::CONTENT_LENGTH, "10000000")
                .body(Body::from("grant_type=client_credentials"))
                .unwrap(),
        )
        .await;

    // Assert
    assert_oauth_error(
        &resp,
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        &["10000000", "65536"],
    );
}

/// A body whose stream breaks, as when a client's connection drops mid-body.
struct BrokenBody;

impl axum::body::HttpBody for BrokenBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::other("connection reset"))))
    }
}

#[tokio::test]
async fn a_body_that_cannot_be_read_is_a_400_oauth_error() {
    // Arrange
    let as_ = TestAs::new().await;

    // Act
    let resp = as_
        .send(request(
            "POST",
            "/token",
            Some("application/x-www-form-urlencoded"),
            None,
            Body::new(BrokenBody),
        ))
        .await;

    // Assert
    assert_oauth_error(
        &resp,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &["could not be read"],
    );
}

#[tokio::test]
async fn a_request_target_over_the_limit_is_refused_with_a_414_oauth_error() {
    // Arrange
    let as_ = TestAs::new().await;
    let path = format!("/.well-known/uma2-configuration?pad={}", "x".repeat(17 * 1024));

    // Act
    let resp = as_.get(&path, None).await;

    // Assert
    assert_oauth_error(&resp, StatusCode::URI_TOO_LONG, "invalid_request", &["16384"]);
}

#[tokio::test]
async fn too_many_header_fields_are_refused_with_a_431_oauth_error() {
    // Arrange
    let as_ = TestAs::new().await;
    let mut b = Request::get("/.well-known/uma2-configuration");
    for i in 0..65 {
        b = b.header(format!("x-padding-{i}"), "x");
    }

    // Act
    let resp = as_.send(b.body(Body::empty()).unwrap()).await;

    // Assert
    assert_oauth_error(
        &resp,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "invalid_request",
        &["65 header fields"],
    );
}

#[tokio::test]
async fn header_fields_over_the_size_limit_are_refused_with_a_431_oauth_error() {
    // Arrange
    let as_ = TestAs::new().await;
    let big = "x".repeat(33 * 1024);

    // Act
    let resp = as_
        .send(
            Request::get("/.well-known/uma2-configuration")
                .header("x-padding", big)
                .body(Body::empty())
                .unwrap(),
        )
        .await;

    // Assert
    assert_oauth_error(
        &resp,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "invalid_request",
        &["32768"],
    );
}

#[tokio::test]
async fn a_path_that_is_not_utf_8_is_a_400_oauth_error() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;

    // Act
    let resp = as_.get("/resource_set/%FF", Some(&format!("Bearer {pat}"))).await;

    // Assert
    assert_oauth_error(&resp, StatusCode::BAD_REQUEST, "invalid_request", &["UTF-8"]);
}

// ---- content codings ----

#[tokio::test]
async fn a_gzip_labelled_policy_is_refused_with_415_and_the_policy_is_unchanged() {
    // Arrange: an open policy.
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let bearer = format!("Bearer {pat}");
    let rid = as_.resource(&pat, &["view"]).await;
    as_.policy(&pat, &rid, json!({"default": {"type": "open"}})).await;
    let before = as_.get(&format!("/policy/{rid}"), Some(&bearer)).await.json();

    // Act: `{}` labelled gzip (it is not gzip: a server that ignored the label read an empty
    // policy).
    let mut req = request(
        "PUT",
        &format!("/policy/{rid}"),
        Some("application/json"),
        Some(&bearer),
        "{}",
    );
    req.headers_mut()
        .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
    let resp = as_.send(req).await;

    // Assert
    assert_oauth_error(
        &resp,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "invalid_request",
        &["Content-Encoding gzip is not supported"],
    );
    assert_eq!(resp.header("accept-encoding").as_deref(), Some("identity"));
    let after = as_.get(&format!("/policy/{rid}"), Some(&bearer)).await.json();
    assert_eq!(after, before);
    assert_eq!(after["default"], json!({"type": "open"}));
}

#[tokio::test]
async fn any_content_encoding_but_identity_is_refused_at_every_endpoint_before_authentication() {
    // Arrange
    let as_ = TestAs::new().await;
    let form = form(&[("grant_type", "client_credentials"), ("scope", "uma_protection")]);

    for (path, ct, coding) in [
        ("/token", "application/x-www-form-urlencoded", "br"),
        ("/introspect", "application/x-www-form-urlencoded", "deflate"),
        ("/resource_set", "application/json", "gzip"),
        ("/permission", "application/json", "compress"),
        ("/register", "application/json", "x-gzip"),
    ] {
        // Act
        let mut req = request("POST", path, Some(ct), None, form.clone());
        req.headers_mut()
            .insert(header::CONTENT_ENCODING, coding.parse().unwrap());
        let resp = as_.send(req).await;

        // Assert
        assert_oauth_error(
            &resp,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            &[&format!("Content-Encoding {coding}")],
        );
    }
}

#[tokio::test]
async fn an_identity_content_encoding_is_accepted() {
    // Arrange
    let as_ = TestAs::new().await;
    let body = form(&[("grant_type", "client_credentials"), ("scope", "uma_protection")]);
    let mut req = request(
        "POST",
        "/token",
        Some("application/x-www-form-urlencoded"),
        Some(&basic(RS)),
        body,
    );
    req.headers_mut()
        .insert(header::CONTENT_ENCODING, "identity".parse().unwrap());

    // Act
    let resp = as_.send(req).await;

    // Assert
    assert_eq!(resp.status, StatusCode::OK, "{}", resp.text());
}

// ---- media types ----

#[tokio::test]
async fn json_declared_as_text_plain_at_resource_registration_is_refused_and_registers_nothing() {
    // Arrange
    let as_ = TestAs::new().await;
    let bearer = format!("Bearer {}", as_.pat().await);
    let body = json!({"resource_scopes": ["view"]}).to_string();

    // Act
    let resp = as_
        .send(request(
            "POST",
            "/resource_set",
            Some("text/plain"),
            Some(&bearer),
            body,
        ))
        .await;

    // Assert
    assert_oauth_error(
        &resp,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &["Content-Type text/plain", "application/json"],
    );
    assert_eq!(as_.get("/resource_set", Some(&bearer)).await.json(), json!([]));
}

#[tokio::test]
async fn a_body_of_another_media_type_is_refused_at_every_json_endpoint() {
    // Arrange
    let as_ = TestAs::new().await;
    let pat = as_.pat().await;
    let bearer = format!("Bearer {pat}");
    let rid = as_.resource(&pat, &["view"]).await;
    let json_body = json!({"resource_id": rid, "resource_scopes": ["view"]}).to_string();

    for (method, path, error) in [
        ("POST", "/resource_set".to_owned(), "invalid_request"),
        ("PUT", format!("/resource_set/{rid}"), "invalid_request"),
        ("POST", "/permission".to_owned(), "invalid_request"),
        ("PUT", format!("/policy/{rid}"), "invalid_request"),
        ("POST", "/approvals/some-request".to_owned(), "invalid_request"),
        ("POST", "/register".to_owned(), "invalid_client_metadata"),
    ] {
        for ct in ["application/x-www-form-urlencoded", "text/plain"] {
            // Act
            let resp = as_
                .send(request(method, &path, Some(ct), Some(&bearer), json_body.clone()))
                .await;

            // Assert
            assert_oauth_error(
                &resp,
                StatusCode::BAD_REQUEST,
                error,
                &[&format!("Content-Type {ct}"), "application/json"],
            );
        }
    }
}

#[tokio::test]
async fn a_body_of_another_media_type_is_refused_at_every_form_endpoint() {
    // Arrange
    let as_ = TestAs::new().await;
    let bearer = format!("Bearer {}", as_.pat().await);
    let body = form(&[("grant_type", "client_credentials"), ("token", "x"), ("sub", "bob")]);

    for (path, auth) in [
        ("/token", Some(basic(RS))),
        ("/revoke", Some(basic(CLIENT))),
        ("/introspect", Some(bearer.clone())),
        ("/claims", None),
        ("/authorize", None),
        ("/demo-idp/id_token", None),
    ] {
        for ct in ["application/json", "text/plain"] {
            // Act
            let resp = as_
                .send(request("POST", path, Some(ct), auth.as_deref(), body.clone()))
                .await;

            // Assert
            assert_oauth_error(
                &resp,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                &[&format!("Content-Type {ct}"), "application/x-www-form-urlencoded"],
            );
        }
    }
}

#[tokio::test]
async fn a_body_without_a_content_type_is_read_as_the_endpoints_own_type() {
    // Arrange
    let as_ = TestAs::new().await;
    let form_body = form(&[("grant_type", "client_credentials"), ("scope", "uma_protection")]);

    // Act: a form without Content-Type at the token endpoint, then JSON without Content-Type at
    // the protection API.
    let token = as_
        .send(request("POST", "/token", None, Some(&basic(RS)), form_body))
        .await;
    let bearer = format!("Bearer {}", token.str("access_token"));
    let created = as_
        .send(request(
            "POST",
            "/resource_set",
            None,
            Some(&bearer),
            json!({"resource_scopes": ["view"]}).to_string(),
        ))
        .await;
    let rid = created.str("_id");
    let policy = as_
        .send(request(
            "PUT",
            &format!("/policy/{rid}"),
            None,
            Some(&bearer),
            json!({"default": {"type": "open"}}).to_string(),
        ))
        .await;
    let permission = as_
        .send(request(
            "POST",
            "/permission",
            None,
            Some(&bearer),
            json!({"resource_id": rid, "resource_scopes": ["view"]}).to_string(),
        ))
        .await;
    let rpt = as_.uma_token(&permission.str("ticket"), &[]).await.str("access_token");
    let introspection = as_
        .send(request(
            "POST",
            "/introspect",
            None,
            Some(&bearer),
            form(&[("token", &rpt)]),
        ))
        .await;

    // Assert
    assert_eq!(token.status, StatusCode::OK, "{}", token.text());
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(policy.status, StatusCode::OK, "{}", policy.text());
    assert_eq!(permission.status, StatusCode::CREATED, "{}", permission.text());
    assert_eq!(introspection.status, StatusCode::OK, "{}", introspection.text());
    assert_eq!(introspection.json()["active"], Value::Bool(true));
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
