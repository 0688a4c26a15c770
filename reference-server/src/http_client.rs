//! The HTTP client builder of the reference AS, RS and client (and of the conformance harness):
//! a `reqwest` builder whose TLS configuration is built once per process.
//!
//! A plain `reqwest::Client::builder().build()` loads and parses the platform's root
//! certificates (every file of `/etc/ssl/certs` on Debian) each time it is called. The harness
//! builds a client per scenario and the reference components one each, so a whole run spent
//! about a third of its CPU time re-reading the same certificates. Here they are read once, into
//! one `rustls` configuration with the platform verifier (what reqwest builds by default: TLS
//! 1.2 and 1.3, SNI, ALPN `h2` and `http/1.1`), and every builder starts from a copy of it.

use std::sync::{Arc, OnceLock};

/// The shared TLS configuration, or `None` when the platform verifier cannot be built (no root
/// certificates): then each builder is reqwest's own, which reports that when it is built.
fn shared() -> Option<&'static rustls::ClientConfig> {
    static CONFIG: OnceLock<Option<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = rustls::crypto::CryptoProvider::get_default()
                .cloned()
                .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
            let verifier = rustls_platform_verifier::Verifier::new(provider.clone()).ok()?;
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .ok()?
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth();
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Some(config)
        })
        .as_ref()
}

/// A `reqwest` client builder with the process's shared TLS configuration. Its TLS settings
/// are final: reqwest ignores root certificates, identities and verification switches added to
/// a builder with a preconfigured backend, so a client that needs any of those starts from
/// `reqwest::Client::builder()` instead (as [`trusting`] does).
pub fn builder() -> reqwest::ClientBuilder {
    match shared() {
        Some(config) => reqwest::Client::builder().tls_backend_preconfigured(config.clone()),
        None => reqwest::Client::builder(),
    }
}

/// A builder that also trusts the CA certificates of `ca_pem` (PEM) when given (reqwest's own
/// TLS set-up, see [`crate::tls::trusting`]), else [`builder`].
pub fn trusting(ca_pem: Option<&str>) -> reqwest::ClientBuilder {
    match ca_pem {
        Some(pem) => crate::tls::trusting(reqwest::Client::builder(), Some(pem)),
        None => builder(),
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_shared_configuration_client_speaks_plain_http() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let http = super::builder().build().expect("a client");
        let body = http
            .get(format!("http://{addr}/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(body, "hello");
        server.abort();
    }

    #[test]
    fn the_configuration_is_built_once() {
        let (a, b) = (super::shared(), super::shared());
        assert!(a.is_some(), "the platform's root certificates load");
        assert!(std::ptr::eq(a.unwrap(), b.unwrap()));
    }
}
