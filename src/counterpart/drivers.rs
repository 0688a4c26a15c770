//! The claims-gathering drivers of a run: the browser (chromedriver, started on first use and
//! stopped when the run ends) and the manual driver's one-at-a-time desk.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::browser::Browser;
use crate::profile::{ClaimsDriver, DriverKind};

async fn start(
    cell: &tokio::sync::OnceCell<Result<Arc<Browser>, String>>,
    profile: &ClaimsDriver,
    private_ca: bool,
) -> Result<Arc<Browser>, String> {
    cell.get_or_init(|| async {
        let browser = Browser::start(profile.chromedriver.as_deref(), profile.chromium.as_deref(), private_ca)
            .await
            .map(Arc::new)?;
        browser.warm();
        Ok(browser)
    })
    .await
    .clone()
}

/// What the claims drivers of one run share.
#[derive(Debug, Default)]
pub struct ClaimsDrivers {
    browser: Arc<tokio::sync::OnceCell<Result<Arc<Browser>, String>>>,
    manual: tokio::sync::Mutex<()>,
    artifacts: Option<PathBuf>,
}

impl ClaimsDrivers {
    /// Drivers whose screenshots go to `artifacts` (the report's folder), or to the system's
    /// temporary folder when `None`.
    pub fn new(artifacts: Option<PathBuf>) -> Self {
        Self {
            artifacts,
            ..Self::default()
        }
    }

    /// The run's browser, started the first time (a failure to start is kept: every pass then
    /// reports it).
    pub async fn browser(&self, profile: &ClaimsDriver, private_ca: bool) -> Result<Arc<Browser>, String> {
        start(&self.browser, profile, private_ca).await
    }

    /// Starts the browser and its first sessions in the background now, when the profile uses
    /// the browser driver (from within the run's runtime), so the first pass finds them ready.
    pub fn warm(&self, profile: Option<&ClaimsDriver>, private_ca: bool) {
        let Some(profile) = profile.filter(|p| p.driver == DriverKind::Browser).cloned() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return;
        }
        let cell = Arc::clone(&self.browser);
        tokio::spawn(async move {
            let _ = start(&cell, &profile, private_ca).await;
        });
    }

    /// Holds the manual desk: one person, one claims page at a time.
    pub async fn desk(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.manual.lock().await
    }

    /// Where a screenshot named `name` goes: `screenshots/` next to the report.
    pub fn screenshot_path(&self, name: &str) -> PathBuf {
        self.artifacts
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("uma-conformance"))
            .join("screenshots")
            .join(Path::new(name).file_name().unwrap_or_default())
    }
}
