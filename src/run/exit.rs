//! Exit codes (DESIGN §3): see [`crate::status`], where they live so that report formats can
//! show them too.

pub use crate::status::*;
