//! The example deployment files under `fixtures/targets/` as the tests start them: a free
//! loopback port, an example file's text, and an example profile with its secrets inline.

#![allow(dead_code, reason = "each test binary uses a part of it")]

use std::path::Path;

/// A loopback port free at the time of asking.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The text of `fixtures/targets/<name>`.
pub(crate) fn example(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/targets")
            .join(name),
    )
    .unwrap()
}

/// The client secrets of the example profiles, read from these environment variables.
pub(crate) const SECRET_VARS: [&str; 4] = [
    "UMA_RS_SECRET",
    "UMA_RS2_SECRET",
    "UMA_CLIENT_SECRET",
    "UMA_CLIENT2_SECRET",
];

/// An example profile with each `{ env: UMA_… }` replaced by `secret(var)`.
pub(crate) fn with_secrets(mut profile: String, secret: impl Fn(&str) -> String) -> String {
    for var in SECRET_VARS {
        profile = profile.replace(&format!("{{ env: {var} }}"), &secret(var));
    }
    profile
}

/// An example profile with the secrets the example server configurations
/// (`servers/reference-server*.yaml`) give its clients: `UMA_RS_SECRET` → `harness-rs-secret`.
pub(crate) fn with_reference_secrets(profile: String) -> String {
    with_secrets(profile, |var| {
        let client = var
            .trim_start_matches("UMA_")
            .trim_end_matches("_SECRET")
            .to_ascii_lowercase();
        format!("harness-{client}-secret")
    })
}
