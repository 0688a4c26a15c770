//! HTTPS for the reference AS, RS and client (and the harness's counterparts, all served by
//! [`crate::serving`]), with rustls: a certificate generated at start by a private test CA
//! ([`TestCa`], rcgen) for the loopback names, or a certificate chain and key read from PEM
//! files; optionally requiring client certificates issued by a given CA (mutual TLS).
//!
//! ```
//! # fn demo() -> Result<(), uma_reference_server::tls::TlsError> {
//! use uma_reference_server::tls::{ServerTls, TestCa};
//!
//! let ca = TestCa::generate("uma-conformance test CA")?;
//! let tls = ServerTls::new(&ca.server(&["127.0.0.1", "localhost"])?, None)?;
//! // Clients trust `ca.pem()`; serve with `tls` (see `Server::builder(..).tls(..)`).
//! # let _ = tls; Ok(()) }
//! ```

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The names a generated server certificate covers by default: the loopback host names.
pub const LOOPBACK_NAMES: &[&str] = &["127.0.0.1", "::1", "localhost"];

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// rcgen could not generate a key or a certificate.
    #[error("failed to generate a test certificate")]
    Generate(#[from] rcgen::Error),
    /// A PEM file could not be read.
    #[error("failed to read {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A PEM text holds nothing usable.
    #[error("{what} holds no {kind} in PEM form")]
    Pem {
        /// The file or text.
        what: String,
        /// What was looked for.
        kind: &'static str,
    },
    /// The generated CA's certificate could not be written.
    #[error("failed to write {path}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// rustls refused the certificate, the key or the client CA.
    #[error("failed to set up TLS: {0}")]
    Config(String),
}

/// A certificate chain (leaf first) and its private key, in PEM.
#[derive(Clone)]
pub struct Identity {
    /// The chain.
    pub cert_pem: String,
    /// The private key (PKCS#8).
    pub key_pem: String,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("cert_pem", &format!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &"[redacted]")
            .finish()
    }
}

/// A private certificate authority generated at start, for test deployments only: it issues
/// server certificates (for [`LOOPBACK_NAMES`] or other names) and client certificates (for
/// mutual TLS). Its key lives in memory and dies with it.
pub struct TestCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pem: String,
}

impl fmt::Debug for TestCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestCa").finish_non_exhaustive()
    }
}

impl TestCa {
    /// A new CA with this common name (ECDSA P-256).
    pub fn generate(name: &str) -> Result<Self, TlsError> {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Self {
            pem: cert.pem(),
            issuer: rcgen::Issuer::new(params, key),
        })
    }

    /// The CA's certificate in PEM: what clients trust.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A server certificate for `names` (IP addresses or DNS names).
    pub fn server(&self, names: &[&str]) -> Result<Identity, TlsError> {
        self.issue(
            names,
            names.first().copied().unwrap_or("server"),
            rcgen::ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate with this common name, for mutual TLS.
    pub fn client(&self, name: &str) -> Result<Identity, TlsError> {
        self.issue(&[], name, rcgen::ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(&self, names: &[&str], cn: &str, usage: rcgen::ExtendedKeyUsagePurpose) -> Result<Identity, TlsError> {
        let mut params = rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
        params.distinguished_name.push(rcgen::DnType::CommonName, cn);
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        let key = rcgen::KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Identity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn certs(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Config(format!("{what}: {e}")))?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what: what.to_string(),
            kind: "certificate",
        });
    }
    Ok(certs)
}

fn read(path: &Path) -> Result<String, TlsError> {
    std::fs::read_to_string(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// How a server serves HTTPS: a rustls configuration (HTTP/1.1 only).
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls").finish_non_exhaustive()
    }
}

impl ServerTls {
    /// Serves `identity`; with `client_ca_pem`, every client must present a certificate issued
    /// by that CA (mutual TLS).
    pub fn new(identity: &Identity, client_ca_pem: Option<&str>) -> Result<Self, TlsError> {
        let chain = certs(&identity.cert_pem, "the server certificate")?;
        let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()).map_err(|_| TlsError::Pem {
            what: "the server key".into(),
            kind: "private key",
        })?;
        let bad = |e: rustls::Error| TlsError::Config(e.to_string());
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(bad)?;
        let builder = match client_ca_pem {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in certs(ca, "the client CA")? {
                    roots.add(c).map_err(bad)?;
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                    .build()
                    .map_err(|e| TlsError::Config(e.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_single_cert(chain, key).map_err(bad)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// Serves the chain and key of two PEM files (`--tls-cert`, `--tls-key`), requiring client
    /// certificates issued by the CA in `client_ca` if given.
    pub fn from_files(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<Self, TlsError> {
        let identity = Identity {
            cert_pem: read(cert)?,
            key_pem: read(key)?,
        };
        let ca = client_ca.map(read).transpose()?;
        Self::new(&identity, ca.as_deref())
    }

    /// The rustls configuration.
    pub fn config(&self) -> Arc<rustls::ServerConfig> {
        self.config.clone()
    }
}

/// A client builder that also trusts the CA certificates in `ca_pem` (besides the system's
/// roots), for a reference component calling servers of a private CA.
pub fn trusting(builder: reqwest::ClientBuilder, ca_pem: Option<&str>) -> reqwest::ClientBuilder {
    match ca_pem.map(|p| reqwest::Certificate::from_pem_bundle(p.as_bytes())) {
        Some(Ok(certs)) => builder.tls_certs_merge(certs),
        Some(Err(e)) => {
            tracing::warn!(error = %e, "the CA to trust is not PEM; only the system's roots are trusted");
            builder
        }
        None => builder,
    }
}

/// The TLS options of the reference servers' command lines (AS, RS and client).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct TlsArgs {
    /// Serve HTTPS with a certificate for 127.0.0.1, ::1 and localhost issued at start by a new
    /// test CA; its certificate is written to --tls-ca-out for clients to trust.
    #[arg(long, conflicts_with = "tls_cert")]
    pub tls: bool,
    /// Serve HTTPS with this certificate chain (PEM, leaf first; with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert (PEM, PKCS#8 or SEC1 or PKCS#1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Require every client to present a certificate issued by this CA (mutual TLS; PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_client_ca: Option<std::path::PathBuf>,
    /// Where --tls writes the test CA's certificate (default: tls-ca.pem in the working folder).
    #[arg(long, value_name = "FILE")]
    pub tls_ca_out: Option<std::path::PathBuf>,
    /// Trust this CA (PEM) for outgoing HTTPS calls (to the AS, the RS), besides the system's roots.
    #[arg(long, value_name = "FILE")]
    pub trust_ca: Option<std::path::PathBuf>,
}

impl TlsArgs {
    /// The server's TLS, if asked for, and where the generated CA was written (`--tls`).
    pub fn server(&self) -> Result<Option<(ServerTls, Option<std::path::PathBuf>)>, TlsError> {
        let client_ca = self.tls_client_ca.as_deref().map(read).transpose()?;
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            let identity = Identity {
                cert_pem: read(cert)?,
                key_pem: read(key)?,
            };
            return Ok(Some((ServerTls::new(&identity, client_ca.as_deref())?, None)));
        }
        if !self.tls {
            return Ok(None);
        }
        let ca = TestCa::generate("uma-reference-server test CA")?;
        let out = self
            .tls_ca_out
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from("tls-ca.pem"));
        std::fs::write(&out, ca.pem()).map_err(|source| TlsError::Write {
            path: out.display().to_string(),
            source,
        })?;
        let tls = ServerTls::new(&ca.server(LOOPBACK_NAMES)?, client_ca.as_deref())?;
        Ok(Some((tls, Some(out))))
    }

    /// The CA to trust for outgoing calls (`--trust-ca`), as PEM.
    pub fn trusted(&self) -> Result<Option<String>, TlsError> {
        self.trust_ca.as_deref().map(read).transpose()
    }

    /// Everything the options ask for: the server's TLS, where `--tls` wrote its CA, and the CA
    /// to trust for outgoing calls; or the message for the command line.
    pub fn resolve(&self) -> Result<Resolved, String> {
        let chain = |e: TlsError| {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                msg.push_str(&format!(": {s}"));
                src = s.source();
            }
            msg
        };
        let (server, ca_written) = match self.server().map_err(chain)? {
            Some((t, out)) => (Some(t), out),
            None => (None, None),
        };
        Ok(Resolved {
            server,
            ca_written,
            trust_ca_pem: self.trusted().map_err(chain)?,
        })
    }
}

/// What [`TlsArgs`] asked for, set up.
#[derive(Debug, Default)]
pub struct Resolved {
    /// HTTPS for the server, if asked for.
    pub server: Option<ServerTls>,
    /// Where `--tls` wrote its test CA's certificate.
    pub ca_written: Option<std::path::PathBuf>,
    /// The CA to trust for outgoing calls.
    pub trust_ca_pem: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_ca_issues_server_and_client_certificates_rustls_accepts() {
        let ca = TestCa::generate("test CA").unwrap();
        assert!(ca.pem().starts_with("-----BEGIN CERTIFICATE-----"));
        let server = ca.server(LOOPBACK_NAMES).unwrap();
        assert!(ServerTls::new(&server, None).is_ok());
        assert!(ServerTls::new(&server, Some(ca.pem())).is_ok());
        let client = ca.client("harness").unwrap();
        assert!(client.key_pem.contains("PRIVATE KEY"));
        assert!(!format!("{client:?}").contains("PRIVATE"), "Debug shows no key");
    }

    #[test]
    fn a_file_without_a_certificate_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let e = ServerTls::from_files(&empty, &empty, None).unwrap_err().to_string();
        assert!(e.contains("the server certificate holds no certificate"), "{e}");
        let missing = ServerTls::from_files(&dir.path().join("no.pem"), &empty, None).unwrap_err();
        assert!(missing.to_string().starts_with("failed to read"), "{missing}");
    }
}
