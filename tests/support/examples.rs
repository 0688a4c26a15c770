//! The example deployment files under `fixtures/targets/` as the tests start them: a free
//! loopback port, an example file's text, and an example profile with its secrets inline.

#![allow(dead_code, reason = "each test binary uses a part of it")]

use std::path::Path;

/// A loopback port free at the time of asking, for a server the test starts later.
///
/// It is taken below the kernel's ephemeral range (Linux: 32768–60999), never from it: a port
/// asked of the kernel with `bind(…:0)` and released can be handed again to any server the
/// tests of the same binary start on port 0 before this test binds it (a clean-clone CI run saw
/// a counterpart fail to bind that way). The ports handed out are distinct within the process,
/// spread by process id between processes, and checked free when handed out.
pub(crate) fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    const FIRST: u16 = 20_000;
    const SPAN: u16 = 12_000;
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let start = (std::process::id() % u32::from(SPAN)) as u16;
    for _ in 0..SPAN {
        let step = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = FIRST + (start + step) % SPAN;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between {FIRST} and {}", FIRST + SPAN)
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
