//! The reference server's integration tests as one binary: each file of `tests/` is a module
//! here (their tests are named `<file>::<test>`), so that a build links one test binary instead of
//! one per file (issue 13: `cargo test` < 5 min from a clean clone). Run one file's tests with
//! `cargo test -p uma-reference-server --test reference -- grant::`.
//!
//! `tests/durability.rs` stays a binary of its own (`--test durability`): its tests measure
//! write-out windows and run one at a time. Cargo.toml lists the test targets (`autotests =
//! false`): a new file of `tests/` becomes a module here.

mod common;

#[path = "claim_tokens.rs"]
mod claim_tokens;
#[path = "cli.rs"]
mod cli;
#[path = "client.rs"]
mod client;
#[path = "discovery_quirks.rs"]
mod discovery_quirks;
#[path = "grant.rs"]
mod grant;
#[path = "hygiene.rs"]
mod hygiene;
#[path = "icg.rs"]
mod icg;
#[path = "interop.rs"]
mod interop;
#[path = "parsers.rs"]
mod parsers;
#[path = "postgres.rs"]
mod postgres;
#[path = "protection.rs"]
mod protection;
#[path = "protection_quirks.rs"]
mod protection_quirks;
#[path = "readme.rs"]
mod readme;
#[path = "restart.rs"]
mod restart;
#[path = "rs.rs"]
mod rs;
#[path = "rs_cli.rs"]
mod rs_cli;
#[path = "rs_protection.rs"]
mod rs_protection;
#[path = "smoke.rs"]
mod smoke;
#[path = "ticket_quirks.rs"]
mod ticket_quirks;
#[path = "tls_quirks.rs"]
mod tls_quirks;
#[path = "token_quirks.rs"]
mod token_quirks;
#[path = "transport.rs"]
mod transport;
#[path = "variants/main.rs"]
mod variants;
