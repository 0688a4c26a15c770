//! The world around an RS or client target: the counterparts the harness plays (the reference AS,
//! and for a client the reference RS, behind the traffic recorder), the target itself (the
//! embedded reference RS or client, or a third-party one from a profile), and what scenarios need
//! to know about them.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::counterpart::Traffic;
use crate::target::peer::{ClientTargetProfile, RsTargetProfile};

pub mod start;

pub use start::{Running, start_client, start_rs};

/// The RS requests of the reference RS, as an RS profile names them.
pub const REFERENCE_RS_REQUESTS: &[(&str, &str, &str, &str)] = &[
    ("read", "GET", "/photos/beach", "view"),
    ("other-scope", "GET", "/photos/beach/download", "download"),
    ("other-resource", "GET", "/photos/sunset", "view"),
];

/// What RS and client scenarios know about their world.
#[derive(Debug)]
pub struct PeerWorld {
    /// The recorder and hooks of the counterparts.
    pub traffic: Traffic,
    /// The counterpart AS issuer.
    pub as_issuer: String,
    /// The counterpart RS base URL (client targets).
    pub rs_base: Option<String>,
    /// The counterpart RS's resource ids by name (client targets).
    pub rs_ids: BTreeMap<String, String>,
    /// The RS under test (RS targets).
    pub rs: Option<RsTargetProfile>,
    /// The client under test (client targets).
    pub client: Option<ClientTargetProfile>,
    /// The quiet window of negative checks.
    pub quiet_window: Duration,
    /// Serialises the scenarios of this world (one counterpart for the whole run).
    pub serial: tokio::sync::Mutex<()>,
}
