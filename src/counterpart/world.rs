//! What RS and client scenarios know about the parties around their target: the counterparts the
//! harness plays (the reference AS, and for a client the reference RS, behind the traffic
//! recorder) and the target itself as its profile describes it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Traffic;
use crate::profile::peer::{ClientTargetProfile, RsTargetProfile};

/// The RS requests of the reference RS, as an RS profile names them: (name, method, path, scope).
pub const REFERENCE_RS_REQUESTS: &[(&str, &str, &str, &str)] = &[
    ("read", "GET", "/photos/beach", "view"),
    ("other-scope", "GET", "/photos/beach/download", "download"),
    ("other-resource", "GET", "/photos/sunset", "view"),
    ("several", "GET", "/albums/vacation/photos", "view"),
];

/// The counterparts of an RS or client target.
#[derive(Debug)]
pub struct Counterparts {
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
    /// Serialises the scenarios of this target (one counterpart for the whole run).
    pub serial: tokio::sync::Mutex<()>,
}
