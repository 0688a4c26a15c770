//! How the harness plays the requesting party at the AS's claims interaction endpoint (UMA
//! Grant §3.3.2): the `claims:` block of an AS profile.
//!
//! - `form`: follow redirects and fill the claims form over HTTP (no browser needed);
//! - `browser`: a real headless Chromium driven through WebDriver, scripted by `steps:` (fill
//!   a selector, click, wait for a selector or a URL), for pages only a browser can fill;
//! - `manual`: print a link, let a person complete the page, and wait (bounded) for the
//!   redirect back on a loopback callback.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ProfileError;

/// Which driver plays the requesting party.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DriverKind {
    /// Follow redirects and fill the claims form over HTTP.
    #[default]
    Form,
    /// A headless Chromium through WebDriver (chromedriver), scripted by `steps`.
    Browser,
    /// A person completes the page; the harness waits for the redirect back.
    Manual,
}

impl DriverKind {
    /// The name used in profiles.
    pub fn name(self) -> &'static str {
        match self {
            Self::Form => "form",
            Self::Browser => "browser",
            Self::Manual => "manual",
        }
    }
}

/// The default bound of a browser pass (page loads, every step and the redirect back).
pub const DEFAULT_BROWSER_TIMEOUT_SECONDS: u64 = 30;
/// The default bound of a manual pass: how long a person has.
pub const DEFAULT_MANUAL_TIMEOUT_SECONDS: u64 = 120;
/// The most a profile may give either.
pub const MAX_TIMEOUT_SECONDS: u64 = 1800;

/// The claims-gathering driver.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimsDriver {
    /// `form`, `browser` or `manual`.
    pub driver: DriverKind,
    /// Form field → value; `{email}` and `{sub}` stand for the requesting party's. The browser
    /// driver without `steps` fills `[name="FIELD"]` with each.
    #[serde(default)]
    pub fill: BTreeMap<String, String>,
    /// The submit button value that shares the claims (default `submit`).
    #[serde(default)]
    pub submit: Option<String>,
    /// Browser driver: what to do on the claims page, in order (default: fill each `fill`
    /// field by name, then click the button whose value is `{button}`). Values may hold
    /// `{email}`, `{sub}`, `{button}` (the button the scenario asks for: `submit` or `cancel`)
    /// and `{claims_redirect_uri}`. After the last step the harness waits for the redirect back
    /// to the claims redirection URI itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<BrowserStep>,
    /// Seconds one pass may take: browser (default 30: page loads, steps, the redirect back),
    /// manual (default 120: how long a person has). Past it the scenario is an `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1800))]
    pub timeout_seconds: Option<u64>,
    /// Browser driver: the chromedriver program (default `chromedriver` on the PATH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chromedriver: Option<String>,
    /// Browser driver: the Chromium program (default `chromium` on the PATH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chromium: Option<String>,
}

/// One action of the browser driver.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum BrowserStep {
    /// Type a value into the element a CSS selector finds (its old value cleared first).
    Fill {
        /// CSS selector.
        selector: String,
        /// The value (placeholders allowed).
        value: String,
    },
    /// Click the element a CSS selector finds.
    Click(String),
    /// Wait until an element matches the CSS selector.
    WaitFor(String),
    /// Wait until the page's URL starts with this (placeholders allowed), e.g. a consent page
    /// after a login page.
    WaitForUrl(String),
}

impl ClaimsDriver {
    /// The bound of one pass.
    pub fn timeout(&self) -> std::time::Duration {
        let default = match self.driver {
            DriverKind::Manual => DEFAULT_MANUAL_TIMEOUT_SECONDS,
            _ => DEFAULT_BROWSER_TIMEOUT_SECONDS,
        };
        std::time::Duration::from_secs(self.timeout_seconds.unwrap_or(default))
    }

    /// Scenarios run one at a time with this driver (a person completes one page at a time, and
    /// a ticket must not expire while its scenario waits for its turn).
    pub fn one_at_a_time(&self) -> bool {
        self.driver == DriverKind::Manual
    }

    /// The bound of one scenario with this driver, given the usual one: room for a few passes.
    pub fn scenario_time(&self, usual: std::time::Duration) -> std::time::Duration {
        match self.driver {
            DriverKind::Form => usual,
            DriverKind::Browser | DriverKind::Manual => usual + self.timeout() * 4,
        }
    }

    /// The steps of the browser driver: the profile's, or fill by name and click `{button}`.
    pub fn browser_steps(&self) -> Vec<BrowserStep> {
        if !self.steps.is_empty() {
            return self.steps.clone();
        }
        let mut steps: Vec<BrowserStep> = self
            .fill
            .iter()
            .map(|(name, value)| BrowserStep::Fill {
                selector: format!("[name=\"{}\"]", css_string(name)),
                value: value.clone(),
            })
            .collect();
        steps.push(BrowserStep::Click(
            "button[value=\"{button}\"], input[type=submit][value=\"{button}\"]".into(),
        ));
        steps
    }

    /// Checks what the schema cannot.
    pub fn check(&self, location: &str) -> Result<(), ProfileError> {
        let bad = |m: String| Err(ProfileError::at(location, m));
        if self.timeout_seconds.is_some_and(|t| t == 0 || t > MAX_TIMEOUT_SECONDS) {
            return bad(format!("`claims.timeout_seconds` is from 1 to {MAX_TIMEOUT_SECONDS}"));
        }
        if self.driver != DriverKind::Browser
            && (!self.steps.is_empty() || self.chromedriver.is_some() || self.chromium.is_some())
        {
            return bad(format!(
                "`claims.steps`, `chromedriver` and `chromium` are for `driver: browser`, not `{}`",
                self.driver.name()
            ));
        }
        for step in &self.steps {
            let empty = match step {
                BrowserStep::Fill { selector, .. } => selector.trim().is_empty(),
                BrowserStep::Click(s) | BrowserStep::WaitFor(s) | BrowserStep::WaitForUrl(s) => s.trim().is_empty(),
            };
            if empty {
                return bad("a `claims.steps` entry has an empty selector or URL".into());
            }
        }
        Ok(())
    }
}

/// `name` as the content of a double-quoted CSS string.
fn css_string(name: &str) -> String {
    name.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> ClaimsDriver {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn browser_steps_default_to_filling_by_name_and_clicking_the_button() {
        // Arrange
        let d = parse("driver: browser\nfill: { email: \"{email}\" }\n");

        // Act
        let steps = d.browser_steps();

        // Assert
        assert_eq!(
            steps,
            vec![
                BrowserStep::Fill {
                    selector: "[name=\"email\"]".into(),
                    value: "{email}".into()
                },
                BrowserStep::Click("button[value=\"{button}\"], input[type=submit][value=\"{button}\"]".into()),
            ]
        );
        assert_eq!(d.timeout().as_secs(), DEFAULT_BROWSER_TIMEOUT_SECONDS);
    }

    #[test]
    fn scripted_steps_parse_and_the_manual_timeout_defaults_to_two_minutes() {
        // Arrange
        let d = parse(
            "driver: browser\nsteps:\n  - wait_for: \"#claims form\"\n  - fill: { selector: \"input[type=email]\", value: \"{email}\" }\n  - click: \"button[value={button}]\"\n  - wait_for_url: \"https://as.example/consent\"\n",
        );
        let m = parse("driver: manual\n");

        // Assert
        assert_eq!(d.browser_steps().len(), 4);
        assert!(d.check("p").is_ok());
        assert_eq!(m.timeout().as_secs(), 120);
    }

    #[test]
    fn options_of_another_driver_and_unbounded_timeouts_are_refused() {
        let e = parse("driver: form\nsteps: [{ click: \"button\" }]\n")
            .check("p")
            .unwrap_err();
        assert!(e.to_string().contains("for `driver: browser`"), "{e}");
        let e = parse("driver: browser\ntimeout_seconds: 0\n").check("p").unwrap_err();
        assert!(e.to_string().contains("timeout_seconds"), "{e}");
        assert!(serde_saphyr::from_str::<ClaimsDriver>("driver: robot\n").is_err());
    }
}
