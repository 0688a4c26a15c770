//! UMA 2.0 protocol knowledge the checks use; it knows nothing about scenarios.
//!
//! - [`setmath`]: the per-resource authorization assessment of UMA Grant §3.3.4 (digest §4.3),
//!   and the invariants an RPT's granted permissions must respect.
//! - [`pkce`]: RFC 7636 verifiers and the S256 transform (digest §9.1).
//! - [`challenge`]: a tolerant `WWW-Authenticate` parser that reports non-canonical forms.
//! - [`entropy`]: rough estimates of how guessable tickets and PCTs are (digest §5, T-07).
//! - [`forms`]: a tolerant HTML form extractor for driving interactive claims gathering.
//! - [`idp`]: the harness's own test identity provider, which mints ID tokens to push as UMA
//!   claim tokens.

pub mod challenge;
pub mod entropy;
pub mod forms;
pub mod idp;
pub mod pkce;
pub mod setmath;
