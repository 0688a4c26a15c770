//! UMA 2.0 protocol vocabulary and knowledge; it knows nothing about scenarios.
//!
//! - [`Role`]: the three roles (shared with the reference implementation).
//! - [`grant`]: protocol constants (the grant type, claim token formats, profile URIs).
//! - [`Secret`] and [`ClientId`]: protocol values as newtypes; a secret never prints.
//! - [`setmath`]: the per-resource authorization assessment of UMA Grant §3.3.4 (digest §4.3),
//!   and the invariants an RPT's granted permissions must respect.
//! - [`pkce`]: RFC 7636 verifiers and the S256 transform (digest §9.1).
//! - [`challenge`]: a tolerant `WWW-Authenticate` parser that reports non-canonical forms.
//! - [`entropy`]: rough estimates of how guessable tickets and PCTs are (digest §5, T-07).
//! - [`messages`]: JSON Schemas of UMA messages (`fixtures/schemas/messages/`).

pub mod challenge;
pub mod entropy;
pub mod grant;
pub mod messages;
pub mod pkce;
pub mod setmath;

mod values;

pub use uma_reference_server::Role;
pub use values::{ClientId, Secret};
