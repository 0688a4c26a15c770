//! `cargo test --test remote` (as the README shows it): the tests of `tests/remote.rs`
//! (remote profiles) as a binary of their own. Plain `cargo test` runs them in the `integration`
//! binary instead (`test = false` on this target in Cargo.toml), so they are built and run once.

#[path = "../support/examples.rs"]
mod examples;
#[path = "../remote.rs"]
mod remote;
