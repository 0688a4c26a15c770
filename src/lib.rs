//! UMA conformance harness.
