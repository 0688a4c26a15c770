//! `cargo test --test claims_drivers` (as the README shows it): the tests of `tests/claims_drivers.rs`
//! (the claims-gathering drivers) as a binary of their own. Plain `cargo test` runs them in the `integration`
//! binary instead (`test = false` on this target in Cargo.toml), so they are built and run once.

#[path = "../claims_drivers.rs"]
mod claims_drivers;
#[path = "../support/examples.rs"]
mod examples;
