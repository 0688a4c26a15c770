//! The resource owner a request's PAT stands for, as the counterpart AS that issued it resolves
//! it: recorded beside each of the target's requests (`pat_owner`) so that checks can tell owners
//! apart without comparing token strings (an RS may renew its PAT; FedAuthz §4 maps a permission
//! request to one owner through its PAT).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What a counterpart's resolver returns: the resource owner a PAT stands for, if it is one.
pub type PatOwnerFuture = Pin<Box<dyn Future<Output = Option<String>> + Send>>;

/// Resolves a request's `Authorization` header value to the resource owner its bearer token
/// stands for, as the counterpart that issued it knows it (FedAuthz §4: "the PAT ... enables
/// the authorization server to map the ... request to the appropriate resource owner"). `None`
/// for anything but a valid PAT in the Bearer scheme.
pub type PatOwnerResolver = Arc<dyn Fn(String) -> PatOwnerFuture + Send + Sync>;

/// The reference counterpart AS's own answer to "which resource owner does this PAT stand for" (the
/// check it makes at its protection API), for the recorder's `pat_owner`.
pub(super) fn reference(ctx: uma_reference_server::SharedCtx) -> PatOwnerResolver {
    Arc::new(move |authorization: String| {
        let ctx = ctx.clone();
        Box::pin(async move {
            uma_reference_server::core::protection::authorize_pat(&ctx, Some(&authorization))
                .await
                .ok()
                .map(|pat| pat.owner)
                .filter(|owner| !owner.is_empty())
        })
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::counterpart::{Party, Traffic};

    #[tokio::test]
    async fn a_bearer_request_records_the_owner_its_counterpart_resolves_and_other_requests_none() {
        // Arrange: a counterpart AS whose only PAT is `pat-a`, for `alice`.
        let traffic = Traffic::new();
        traffic.resolve_pat_owners(
            Party::As,
            Arc::new(|authorization: String| -> PatOwnerFuture {
                Box::pin(async move { (authorization == "Bearer pat-a").then(|| "alice".to_string()) })
            }),
        );
        let router = traffic.layer(
            axum::Router::new().route("/perm", axum::routing::post(|| async { "{}" })),
            Party::As,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let http = reqwest::Client::builder().no_proxy().build().expect("client");

        // Act: a valid PAT, a token that is not one, and no token.
        for token in [Some("pat-a"), Some("rpt-x"), None] {
            let mut req = http.post(format!("{base}/perm")).body("[]");
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            req.send().await.expect("answered");
        }
        server.abort();

        // Assert
        let owners: Vec<Value> = traffic
            .since(0)
            .iter()
            .map(|r| r.to_value().get("pat_owner").cloned().unwrap_or(Value::Null))
            .collect();
        assert_eq!(owners, [json!("alice"), Value::Null, Value::Null]);
        assert_eq!(traffic.since(0)[0].pat_owner.as_deref(), Some("alice"));
    }
}
