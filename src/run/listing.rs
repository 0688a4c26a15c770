//! What `list` prints.

use std::fmt::Write as _;

use uma_reference_server::Quirk;
use uma_reference_server::variants::Variant;

use crate::catalogue::Requirement;
use crate::suite::Scenario;

/// One line of `list --requirements`: the requirement, how many scenarios check it, the quirks
/// that break it (sensitivity) and the variants that take a freedom it leaves (specificity).
pub fn requirement_line(r: &Requirement, scenarios: &[Scenario]) -> String {
    let id = r.id.as_str();
    let checked = scenarios
        .iter()
        .filter(|s| s.requirements.iter().any(|x| x.as_str() == id))
        .count();
    let quirks: Vec<&str> = Quirk::ALL
        .iter()
        .filter(|q| q.requirement() == id)
        .map(|q| q.name())
        .collect();
    let variants: Vec<&str> = Variant::exercising(id).map(|v| v.name()).collect();
    let mut line = format!(
        "{:10} {:11} {:6} {} [scenarios: {checked}]",
        r.id,
        format!("{:?}", r.keyword),
        r.role.as_str(),
        r.summary
    );
    if !quirks.is_empty() {
        let _ = write!(line, " [quirks: {}]", quirks.join(", "));
    }
    if !variants.is_empty() {
        let _ = write!(line, " [variants: {}]", variants.join(", "));
    }
    if let Some(u) = &r.untestable {
        let _ = write!(line, " [untestable: {u}]");
    }
    line
}
