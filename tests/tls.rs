//! Production-like deployments: the reference AS served over TLS by a private test CA on an
//! issuer path (`fixtures/targets/servers/reference-server-tls.yaml`), tested through the example
//! profile `fixtures/targets/reference-tls.yaml` (ports and files replaced, secrets inline): the
//! whole AS suite passes with the CA given in the profile and every TLS check judged; mutual TLS
//! with a client certificate; an untrusted certificate is a configuration error; and turning
//! verification off is announced in every report format.

use crate::examples;

use examples::{example, free_port, with_reference_secrets};

use std::path::{Path, PathBuf};

use uma_conformance::outcome::Severity;
use uma_conformance::report::{self, Context};
use uma_conformance::{Catalogue, Redactor, Report, RunRequest, Verdict, exit};
use uma_reference_server::tls::{LOOPBACK_NAMES, ServerTls, TestCa};
use uma_reference_server::{Config, Server};

/// The reference AS of the TLS example, started on free ports, and its example profile.
struct Deployment {
    server: Server,
    dir: tempfile::TempDir,
    ca: TestCa,
    /// The example profile with this deployment's ports, CA file and inline secrets.
    profile: String,
}

impl Deployment {
    async fn start(client_ca: Option<&TestCa>) -> Self {
        let (as_port, idp_port) = (free_port(), free_port());
        let ports = |t: String| {
            t.replace("127.0.0.1:8443", &format!("127.0.0.1:{as_port}"))
                .replace("9555", &idp_port.to_string())
        };
        let dir = tempfile::tempdir().unwrap();
        let config_file = dir.path().join("server.yaml");
        std::fs::write(&config_file, ports(example("servers/reference-server-tls.yaml"))).unwrap();
        let config = Config::from_file_with(&config_file, &[]).unwrap();
        let ca = TestCa::generate("test CA").unwrap();
        let ca_file = dir.path().join("tls-ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        let tls = ServerTls::new(&ca.server(LOOPBACK_NAMES).unwrap(), client_ca.map(TestCa::pem)).unwrap();
        let server = Server::builder(config)
            .memory()
            .port(as_port)
            .tls(tls)
            .start()
            .await
            .unwrap();
        let profile = with_reference_secrets(
            ports(example("reference-tls.yaml"))
                .replace("ca_file: tls-ca.pem", &format!("ca_file: {}", ca_file.display())),
        );
        Self {
            server,
            dir,
            ca,
            profile,
        }
    }

    /// Runs with the profile (changed by `edit`), `filter` and `--strict`.
    async fn run(&self, edit: impl Fn(String) -> String, filter: Option<&str>) -> Report {
        let path = self.dir.path().join("target.yaml");
        std::fs::write(&path, edit(self.profile.clone())).unwrap();
        let req = RunRequest {
            target: Some(path),
            filter: filter.map(str::to_string),
            strict: true,
            ..RunRequest::default()
        };
        uma_conformance::run(&req).await.unwrap()
    }
}

fn judged(report: &Report, requirement: &str) -> Vec<Verdict> {
    report
        .scenarios
        .iter()
        .flat_map(|s| &s.checks)
        .filter(|c| c.requirement.as_ref().is_some_and(|r| r.as_str() == requirement))
        .map(|c| c.verdict)
        .collect()
}

fn errors(report: &Report) -> Vec<String> {
    report
        .preflight
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.what.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_as_suite_passes_over_tls_with_the_ca_of_the_profile_on_an_issuer_path() {
    // Arrange: the example deployment (https://127.0.0.1:PORT/realms/demo).
    let d = Deployment::start(None).await;

    // Act: every AS scenario through the example profile.
    let report = d.run(|p| p, None).await;

    // Assert: everything passes (or is skipped for a capability), and the TLS requirements are
    // judged, not skipped.
    assert!(d.server.issuer().ends_with("/realms/demo"), "{}", d.server.issuer());
    assert!(errors(&report).is_empty(), "{:?}", report.preflight.problems);
    assert!(report.scenarios.len() > 100, "{} scenarios", report.scenarios.len());
    for s in &report.scenarios {
        assert!(
            matches!(s.verdict, Verdict::Pass | Verdict::Skip),
            "{}: {:?} {:?} {:?}",
            s.trial,
            s.verdict,
            s.reason,
            s.checks
                .iter()
                .filter(|c| c.verdict != Verdict::Pass)
                .collect::<Vec<_>>()
        );
    }
    for tls in ["F-AS-01", "R8414-03", "R9700-12", "G-ALL-03"] {
        let v = judged(&report, tls);
        assert!(v.contains(&Verdict::Pass), "{tls} was not judged: {v:?}");
    }
    assert_eq!(exit::of(&report), exit::PASS);
    assert!(report.run.insecure_tls.is_none());
    d.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_needs_the_client_certificate_of_the_profile() {
    // Arrange: the AS demands certificates of a client CA; the harness gets one.
    let client_ca = TestCa::generate("client CA").unwrap();
    let d = Deployment::start(Some(&client_ca)).await;
    let id = client_ca.client("uma-conformance").unwrap();
    let (cert, key) = (d.dir.path().join("client.pem"), d.dir.path().join("client-key.pem"));
    std::fs::write(&cert, &id.cert_pem).unwrap();
    std::fs::write(&key, &id.key_pem).unwrap();
    let with_cert = |p: String| {
        p.replace("# client_cert: client.pem", &format!("client_cert: {}", cert.display()))
            .replace(
                "# client_key: client-key.pem",
                &format!("client_key: {}", key.display()),
            )
    };

    // Act
    let with = d.run(with_cert, Some("as::discovery::")).await;
    let without = d.run(|p| p, Some("as::discovery::")).await;

    // Assert
    assert!(errors(&with).is_empty(), "{:?}", with.preflight.problems);
    assert_eq!(exit::of(&with), exit::PASS);
    assert!(!errors(&without).is_empty(), "served without a client certificate");
    assert_eq!(exit::of(&without), exit::CONFIG);
    assert_eq!(
        without.summary.checks.fail, 0,
        "a TLS refusal is never a conformance failure"
    );
    d.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_certificate_is_a_configuration_error_and_verification_is_never_off_silently() {
    // Arrange
    let d = Deployment::start(None).await;
    let no_ca = |p: String| p.replace(&format!("ca_file: {}", d.dir.path().join("tls-ca.pem").display()), "");
    let insecure = |p: String| no_ca(p).replace("tls:\n", "tls:\n  insecure_skip_verify: true\n");

    // Act
    let untrusted = d.run(no_ca, Some("as::discovery::")).await;
    let unverified = d.run(insecure, Some("as::discovery::")).await;
    let out = d.dir.path().join("reports");
    let catalogue = Catalogue::load(&RunRequest::default().catalogue).unwrap();
    report::write_all(&unverified, &Redactor::new(), &Context::new(&catalogue), &out).unwrap();

    // Assert: without the CA the certificate is not trusted: a configuration error, no failure.
    assert!(!errors(&untrusted).is_empty(), "an unknown CA was trusted");
    assert_eq!(exit::of(&untrusted), exit::CONFIG);
    assert_eq!(untrusted.summary.checks.fail, 0);
    // Verification off: the run goes on, and every format says so.
    assert!(errors(&unverified).is_empty(), "{:?}", unverified.preflight.problems);
    let warning = unverified.run.insecure_tls.clone().expect("report.json marks the run");
    assert!(warning.contains("verification was OFF"), "{warning}");
    for file in ["report.json", "report.html", "junit.xml", "summary.md"] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(
            text.contains("verification was OFF"),
            "{file} does not carry the warning"
        );
    }
    let console = report::console::summary(&unverified);
    assert!(
        console.starts_with("WARNING: TLS certificate verification was OFF"),
        "{console}"
    );
    let _ = &d.ca;
    d.server.shutdown().await;
}

/// The example files load as they are (the CA file, relative to the working folder, is read when
/// a run starts).
#[test]
fn the_example_profile_and_server_configuration_load() {
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/targets");
    let config = Config::from_file_with(&dir.join("servers/reference-server-tls.yaml"), &[]).unwrap();
    assert_eq!(config.issuer, "https://127.0.0.1:8443/realms/demo");
    let text = example("reference-tls.yaml");
    assert!(text.contains("ca_file: tls-ca.pem"));
    let parsed = uma_conformance::Profile::parse_in(
        &text,
        "reference-tls.yaml",
        &uma_conformance::profile::Environment::from_pairs([]),
    );
    assert!(parsed.is_ok(), "{:?}", parsed.err());
}
