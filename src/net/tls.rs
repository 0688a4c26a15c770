//! TLS on the guarded path: which certificate authorities the harness trusts, the client
//! certificate it presents, and the one explicit way to turn verification off.

use std::fmt;

/// Every report of a run that did not verify certificates carries this warning.
pub const INSECURE_WARNING: &str = "TLS certificate verification was OFF for this run (`tls.insecure_skip_verify: true` in the \
     target profile): anyone on the network path could have answered for the target, so no result of this report \
     shows how the target behaves";

/// Why TLS settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A CA file holds no usable certificate.
    #[error("{what} holds no PEM certificate ({why})")]
    Certificate {
        /// What was read.
        what: String,
        /// Why it is unusable.
        why: String,
    },
    /// A client certificate and key are unusable.
    #[error("the client certificate and key are unusable: {0}")]
    Identity(String),
}

/// The TLS settings of the guarded path.
#[derive(Clone, Default)]
pub struct Tls {
    /// CAs trusted instead of the system's roots (a profile's `tls.ca_file`).
    only: Vec<reqwest::Certificate>,
    /// CAs trusted besides (the harness's own test CA), and their PEM.
    also: Vec<reqwest::Certificate>,
    also_pem: String,
    /// The client certificate for mutual TLS.
    identity: Option<reqwest::Identity>,
    /// No verification at all.
    insecure: bool,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("only", &self.only.len())
            .field("also", &self.also.len())
            .field("identity", &self.identity.is_some())
            .field("insecure", &self.insecure)
            .finish()
    }
}

fn certificates(pem: &str, what: &str) -> Result<Vec<reqwest::Certificate>, TlsError> {
    let bad = |why: String| TlsError::Certificate {
        what: what.to_string(),
        why,
    };
    let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes()).map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("none found".into()));
    }
    Ok(certs)
}

impl Tls {
    /// Trusts only the CA certificates in `pem` (read from `what`), instead of the system's.
    pub fn only_trusting(mut self, pem: &str, what: &str) -> Result<Self, TlsError> {
        self.only.extend(certificates(pem, what)?);
        Ok(self)
    }

    /// Also trusts the CA certificates in `pem` (the harness's own test CA).
    pub fn also_trusting(mut self, pem: &str) -> Result<Self, TlsError> {
        self.also.extend(certificates(pem, "the harness's test CA")?);
        self.also_pem.push_str(pem.trim_end());
        self.also_pem.push('\n');
        Ok(self)
    }

    /// Presents this client certificate chain and key (PEM) for mutual TLS.
    pub fn with_identity(mut self, cert_pem: &str, key_pem: &str) -> Result<Self, TlsError> {
        let both = format!("{}\n{}", cert_pem.trim_end(), key_pem.trim_end());
        let id = reqwest::Identity::from_pem(both.as_bytes()).map_err(|e| TlsError::Identity(e.to_string()))?;
        self.identity = Some(id);
        Ok(self)
    }

    /// Verifies no certificate at all (`insecure_skip_verify: true`; reports carry
    /// [`INSECURE_WARNING`]).
    pub fn insecure(mut self) -> Self {
        self.insecure = true;
        self
    }

    /// Whether the settings trust a CA of their own (a profile's `tls.ca_file`, the run's test CA)
    /// rather than only the system's roots.
    pub fn trusts_private_ca(&self) -> bool {
        !self.only.is_empty() || !self.also.is_empty()
    }

    /// Whether certificate verification is off.
    pub fn is_insecure(&self) -> bool {
        self.insecure
    }

    /// Whether these are the default settings (the system's roots, no client certificate,
    /// verification on): then a client may use the process's shared TLS configuration.
    pub fn is_system_default(&self) -> bool {
        self.only.is_empty() && self.also.is_empty() && self.identity.is_none() && !self.insecure
    }

    /// The PEM of the CAs trusted besides the system's roots, when that is all these settings
    /// change: a client may then use a TLS configuration built once for them
    /// (`uma_reference_server::http_client::trusting`).
    pub fn extra_roots_only(&self) -> Option<&str> {
        (self.only.is_empty() && !self.also.is_empty() && self.identity.is_none() && !self.insecure)
            .then_some(self.also_pem.as_str())
    }

    /// Applies the settings to a client builder (one without a preconfigured TLS backend).
    pub fn apply(&self, b: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        let mut b = if !self.only.is_empty() {
            b.tls_certs_only(self.only.iter().chain(&self.also).cloned())
        } else if !self.also.is_empty() {
            b.tls_certs_merge(self.also.iter().cloned())
        } else {
            b
        };
        if let Some(id) = &self.identity {
            b = b.identity(id.clone());
        }
        if self.insecure {
            b = b.tls_danger_accept_invalid_certs(true);
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_a_certificate_is_refused_with_its_name() {
        let e = Tls::default()
            .only_trusting("not pem", "ca.pem")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("ca.pem holds no PEM certificate"), "{e}");
        let e = Tls::default().with_identity("x", "y").unwrap_err().to_string();
        assert!(e.starts_with("the client certificate and key are unusable"), "{e}");
    }

    #[test]
    fn only_settings_that_add_roots_alone_may_share_a_configuration_built_for_them() {
        // Arrange
        let ca = uma_reference_server::tls::TestCa::generate("own").expect("a CA");
        let client = ca.client("harness").expect("a client certificate");
        let own = Tls::default().also_trusting(ca.pem()).expect("PEM");

        // Act / Assert: the CA's PEM when it is the only change; otherwise none, so that a client
        // certificate, a profile's own roots or switched-off verification is never dropped.
        let pem = own.extra_roots_only().expect("the own CA alone");
        assert_eq!(pem.trim_end(), ca.pem().trim_end());
        assert_eq!(Tls::default().extra_roots_only(), None);
        let with_identity = own
            .clone()
            .with_identity(&client.cert_pem, &client.key_pem)
            .expect("identity");
        assert_eq!(with_identity.extra_roots_only(), None);
        let with_only = own.clone().only_trusting(ca.pem(), "ca.pem").expect("PEM");
        assert_eq!(with_only.extra_roots_only(), None);
        assert_eq!(own.insecure().extra_roots_only(), None);
    }

    #[test]
    fn verification_is_on_unless_asked_off() {
        assert!(!Tls::default().is_insecure());
        assert!(Tls::default().insecure().is_insecure());
        assert!(format!("{:?}", Tls::default().insecure()).contains("insecure: true"));
    }
}
