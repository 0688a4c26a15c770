//! The outputs of a run for people and CI, tested on synthetic reports (no target needed) and
//! through the CLI: formats and their escaping, baselines, bundles, shards and merges, the
//! GitHub Action and the GitLab example, interrupted runs.

mod baseline;
mod bundle;
mod ci;
mod cli;
mod formats;
mod synthetic;
