//! The HTTP client builder of the reference AS, RS and client (and of the conformance harness):
//! a `reqwest` builder whose TLS configuration is built once per process.
//!
//! A plain `reqwest::Client::builder().build()` loads and parses the platform's root
//! certificates (every file of `/etc/ssl/certs` on Debian) each time it is called. The harness
//! builds a client per scenario and the reference components one each, so a whole run spent
//! about a third of its CPU time re-reading the same certificates. Here they are read once, into
//! one `rustls` configuration with the platform verifier (what reqwest builds by default: TLS
//! 1.2 and 1.3, SNI, ALPN `h2` and `http/1.1`), and every builder starts from a copy of it. A
//! client that also trusts a CA of its own ([`trusting`]: the harness's test CA of a run over
//! TLS) gets such a configuration too, built once per CA.

use std::sync::{Arc, Mutex, OnceLock};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls_platform_verifier::Verifier;

/// How many CAs' configurations [`trusting`] keeps: a run over TLS has one test CA. Past this
/// many, a builder for another CA is reqwest's own (which reads the platform's roots again).
const KEPT_CAS: usize = 16;

/// A configuration like reqwest's default with the verifier `verifier` makes, or `None` when
/// it cannot be built (no root certificates).
fn platform_config(
    verifier: impl FnOnce(Arc<rustls::crypto::CryptoProvider>) -> Result<Verifier, rustls::Error>,
) -> Option<rustls::ClientConfig> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let verifier = verifier(provider.clone()).ok()?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Some(config)
}

/// The shared TLS configuration, or `None` when the platform verifier cannot be built (no root
/// certificates): then each builder is reqwest's own, which reports that when it is built.
fn shared() -> Option<&'static rustls::ClientConfig> {
    static CONFIG: OnceLock<Option<rustls::ClientConfig>> = OnceLock::new();
    CONFIG.get_or_init(|| platform_config(Verifier::new)).as_ref()
}

/// The configurations [`with_extra_roots`] built, by PEM text.
static KEPT: Mutex<Vec<(String, Option<rustls::ClientConfig>)>> = Mutex::new(Vec::new());

/// The configuration that trusts the CA certificates of `pem` besides the platform's roots
/// (what reqwest's `tls_certs_merge` builds), built once per PEM text; `None` when `pem` holds
/// no certificate or the verifier cannot be built.
fn with_extra_roots(pem: &str) -> Option<rustls::ClientConfig> {
    let mut kept = KEPT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, config)) = kept.iter().find(|(p, _)| p == pem) {
        return config.clone();
    }
    let roots: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .ok()
        .filter(|r: &Vec<_>| !r.is_empty())?;
    let config = platform_config(|provider| Verifier::new_with_extra_roots(roots, provider));
    if kept.len() < KEPT_CAS {
        kept.push((pem.to_owned(), config.clone()));
    }
    config
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

/// A builder that also trusts the CA certificates of `ca_pem` (PEM) when given, else
/// [`builder`]. Its TLS settings are final, as [`builder`]'s. A PEM without a certificate gets
/// reqwest's own set-up ([`crate::tls::trusting`], which says why it trusts only the system's
/// roots).
pub fn trusting(ca_pem: Option<&str>) -> reqwest::ClientBuilder {
    match ca_pem {
        Some(pem) => match with_extra_roots(pem) {
            Some(config) => reqwest::Client::builder().tls_backend_preconfigured(config),
            None => crate::tls::trusting(reqwest::Client::builder(), Some(pem)),
        },
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

    #[tokio::test]
    async fn a_client_trusting_a_ca_reaches_its_servers_and_each_ca_has_a_configuration_of_its_own() {
        // Arrange: an AS over TLS with a certificate of CA `a`.
        let (a, b) = (
            crate::tls::TestCa::generate("a").expect("CA a"),
            crate::tls::TestCa::generate("b").expect("CA b"),
        );
        let identity = a.server(&["127.0.0.1"]).expect("server certificate");
        let server = crate::Server::builder(crate::Config::demo())
            .memory()
            .tls(crate::tls::ServerTls::new(&identity, None).expect("TLS"))
            .start()
            .await
            .expect("the AS starts");
        let url = format!("{}/.well-known/uma2-configuration", server.issuer());

        // Act: twice with `a` (the second from the kept configuration), once with `b`.
        let mut statuses = Vec::new();
        for ca in [&a, &a] {
            let http = super::trusting(Some(ca.pem())).build().expect("a client");
            statuses.push(http.get(&url).send().await.map(|r| r.status().as_u16()).ok());
        }
        let other = super::trusting(Some(b.pem())).build().expect("a client");
        let refused = other.get(&url).send().await;

        // Assert
        assert_eq!(statuses, [Some(200), Some(200)]);
        assert!(refused.is_err(), "a client trusting another CA got {refused:?}");
        let built = {
            let kept = super::KEPT.lock().expect("the kept configurations");
            kept.iter().filter(|(pem, _)| pem == a.pem()).count()
        };
        assert_eq!(built, 1, "CA a's configuration was built again");
        assert!(super::with_extra_roots("no certificate here").is_none());
        server.shutdown().await;
    }

    #[test]
    fn the_configuration_is_built_once() {
        let (a, b) = (super::shared(), super::shared());
        assert!(a.is_some(), "the platform's root certificates load");
        assert!(std::ptr::eq(a.unwrap(), b.unwrap()));
    }
}
