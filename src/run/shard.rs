//! `--shard K/N`: one share of the scenarios, for splitting a run across CI jobs. The selected
//! scenarios (after `--role` and `--filter`) are sorted by trial name and shard K keeps those
//! whose index is K-1 modulo N: the same split on every machine for the same suites, shares
//! that differ by at most one scenario, and `merge` joins the shards' reports back.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use super::{RunError, RunRequest};
use crate::suite::Scenario;
use crate::uma::Role;

/// `K/N`: the K-th of N shares (1 ≤ K ≤ N).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// K, from 1.
    pub index: usize,
    /// N.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a shard: write K/N with 1 <= K <= N, e.g. 2/8");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Whether a scenario passes `--filter`.
pub fn matches_filter(req: &RunRequest, s: &Scenario) -> bool {
    req.filter
        .as_ref()
        .is_none_or(|f| s.trial_name.contains(f.as_str()) || s.id.contains(f.as_str()))
}

/// The trial names a request selects among `roles` (filter, then shard); a selection that is
/// empty is a usage error, never a green run.
pub fn select(req: &RunRequest, scenarios: &[Scenario], roles: &[Role]) -> Result<BTreeSet<String>, RunError> {
    let mut names: Vec<&str> = scenarios
        .iter()
        .filter(|s| roles.contains(&s.role) && matches_filter(req, s))
        .map(|s| s.trial_name.as_str())
        .collect();
    names.sort_unstable();
    let kept: BTreeSet<String> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| req.shard.is_none_or(|sh| i % sh.count == sh.index - 1))
        .map(|(_, n)| n.to_string())
        .collect();
    if kept.is_empty() {
        let mut what = Vec::new();
        if let Some(f) = &req.filter {
            what.push(format!("--filter {f}"));
        }
        if let Some(sh) = req.shard {
            what.push(format!("--shard {sh} (of {} scenarios)", names.len()));
        }
        let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        what.push(format!("roles {}", roles.join(", ")));
        return Err(RunError::NothingSelected(what.join(", ")));
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_is_k_of_n() {
        assert_eq!("2/8".parse::<Shard>(), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
