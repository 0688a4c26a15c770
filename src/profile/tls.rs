//! `tls:` in a target profile: the certificate authorities the harness trusts for the target (a
//! private CA), the client certificate it presents (mutual TLS), and the one explicit way to turn
//! certificate verification off, which every report then announces.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ProfileError, env};
use crate::net;

/// How the harness reaches a target over TLS. File paths are relative to the working folder
/// (as adapter commands are) and may be `{ env: NAME }`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsProfile {
    /// CA certificates (PEM) to trust for the target instead of the system's roots: a private
    /// CA, or the test CA the reference server writes with `--tls`.
    #[serde(
        default,
        deserialize_with = "env::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<env::EnvOr<String>>")]
    pub ca_file: Option<String>,
    /// A client certificate chain (PEM) to present for mutual TLS; with `client_key`.
    #[serde(
        default,
        deserialize_with = "env::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<env::EnvOr<String>>")]
    pub client_cert: Option<String>,
    /// The private key (PEM) of `client_cert`.
    #[serde(
        default,
        deserialize_with = "env::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<env::EnvOr<String>>")]
    pub client_key: Option<String>,
    /// Verify no certificate at all. Never silent: every report of the run (report.json,
    /// report.html, junit.xml, summary.md, the console) then carries a warning that its results
    /// show nothing about the target.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure_skip_verify: bool,
}

impl TlsProfile {
    /// Checks what needs no file: a client certificate comes with its key, and verification
    /// off excludes a CA to trust. The files are read when the run starts ([`Self::load`]).
    pub fn check(&self, location: &str) -> Result<(), ProfileError> {
        let bad = |message: &str| Err(ProfileError::at(location, message.to_string()));
        if self.client_cert.is_some() != self.client_key.is_some() {
            return bad("`tls.client_cert` and `tls.client_key` go together");
        }
        if self.insecure_skip_verify && self.ca_file.is_some() {
            return bad(
                "`tls.insecure_skip_verify: true` verifies nothing, so `tls.ca_file` would be ignored: give one of them",
            );
        }
        Ok(())
    }

    /// Reads the files it names into the guarded path's TLS settings; every problem names the
    /// field and the file.
    pub fn load(&self, location: &str) -> Result<net::Tls, ProfileError> {
        self.check(location)?;
        let bad = |message: String| ProfileError::at(location, message);
        let read = |field: &str, path: &str| {
            std::fs::read_to_string(path).map_err(|e| bad(format!("`tls.{field}`: cannot read {path}: {e}")))
        };
        let mut tls = net::Tls::default();
        if let Some(ca) = &self.ca_file {
            tls = tls
                .only_trusting(&read("ca_file", ca)?, ca)
                .map_err(|e| bad(format!("`tls.ca_file`: {e}")))?;
        }
        if let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) {
            tls = tls
                .with_identity(&read("client_cert", cert)?, &read("client_key", key)?)
                .map_err(|e| bad(format!("`tls.client_cert`: {e}")))?;
        }
        if self.insecure_skip_verify {
            tls = tls.insecure();
        }
        Ok(tls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_read_and_problems_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.pem").display().to_string();
        let p = TlsProfile {
            ca_file: Some(missing.clone()),
            ..TlsProfile::default()
        };
        let e = p.load("t.yaml").unwrap_err().to_string();
        assert!(e.contains("`tls.ca_file`: cannot read") && e.contains(&missing), "{e}");
        let half = TlsProfile {
            client_cert: Some("c.pem".into()),
            ..TlsProfile::default()
        };
        assert!(half.load("t.yaml").unwrap_err().to_string().contains("go together"));
        let off = TlsProfile {
            insecure_skip_verify: true,
            ..TlsProfile::default()
        };
        assert!(off.load("t.yaml").unwrap().is_insecure());
        assert!(!TlsProfile::default().load("t.yaml").unwrap().is_insecure());
    }
}
