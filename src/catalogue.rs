//! The requirement catalogue (`fixtures/requirements.yaml`): every requirement a check may cite,
//! with its spec, section, keyword, role and URL. The keyword sets a failed check's verdict.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An RFC 2119 keyword, or the digest's `declarative` / `example` (digest §0.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum Keyword {
    /// MUST.
    #[serde(rename = "MUST")]
    Must,
    /// MUST NOT.
    #[serde(rename = "MUST NOT")]
    MustNot,
    /// REQUIRED.
    #[serde(rename = "REQUIRED")]
    Required,
    /// SHALL.
    #[serde(rename = "SHALL")]
    Shall,
    /// SHOULD.
    #[serde(rename = "SHOULD")]
    Should,
    /// SHOULD NOT.
    #[serde(rename = "SHOULD NOT")]
    ShouldNot,
    /// RECOMMENDED.
    #[serde(rename = "RECOMMENDED")]
    Recommended,
    /// MAY.
    #[serde(rename = "MAY")]
    May,
    /// OPTIONAL.
    #[serde(rename = "OPTIONAL")]
    Optional,
    /// Stated as plain fact, without a keyword: a failure in `--strict`, a warning otherwise.
    #[serde(rename = "declarative")]
    Declarative,
    /// Shown only in a spec example: a warning.
    #[serde(rename = "example")]
    Example,
}

/// How a failed check of a requirement is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `fail`.
    Fail,
    /// `warn`.
    Warn,
    /// Optional behaviour not offered: `skip`.
    Info,
}

impl Keyword {
    /// The severity of a failed check, with or without `--strict`.
    pub fn severity(self, strict: bool) -> Severity {
        match self {
            Self::Must | Self::MustNot | Self::Required | Self::Shall => Severity::Fail,
            Self::Should | Self::ShouldNot | Self::Recommended | Self::Example => Severity::Warn,
            Self::Declarative if strict => Severity::Fail,
            Self::Declarative => Severity::Warn,
            Self::May | Self::Optional => Severity::Info,
        }
    }
}

/// The role a requirement binds (shared with the reference implementation).
pub use uma_reference_server::Role;

/// One requirement.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Stable ID, e.g. `G-AS-32`.
    pub id: String,
    /// `grant`, `fedz`, `rfcNNNN` or `profile`.
    pub spec: String,
    /// Section number.
    pub section: String,
    /// The keyword.
    pub keyword: Keyword,
    /// The role it binds.
    pub role: Role,
    /// One line, in our words.
    pub summary: String,
    /// The spec URL with its anchor.
    pub url: String,
    /// Why no black-box check can test it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untestable: Option<String>,
    /// Why the harness does not check it yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred: Option<String>,
    /// For profile items (`icg-pkce`, `icg-iss`, `dpop`): not UMA conformance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

impl Requirement {
    /// Whether a check of this requirement is a profile result rather than UMA conformance.
    pub fn is_profile(&self) -> bool {
        self.profile.is_some()
    }
    /// Whether a check can and should exist for it.
    pub fn is_testable(&self) -> bool {
        self.untestable.is_none() && self.deferred.is_none()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    requirements: Vec<Requirement>,
}

/// The loaded catalogue.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    by_id: BTreeMap<String, Requirement>,
    order: Vec<String>,
}

/// A catalogue that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// Unreadable file.
    #[error("failed to read {path}")]
    Read {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Bad YAML or a bad field.
    #[error("{path}: {message}")]
    Parse {
        /// The path.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
}

impl Catalogue {
    /// Loads `fixtures/requirements.yaml` (or another file).
    pub fn load(path: &Path) -> Result<Self, CatalogueError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogueError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses catalogue text.
    pub fn parse(text: &str, origin: &str) -> Result<Self, CatalogueError> {
        let file: CatalogueFile = serde_saphyr::from_str(text).map_err(|e| CatalogueError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        let mut cat = Catalogue::default();
        for r in file.requirements {
            if cat.by_id.contains_key(&r.id) {
                return Err(CatalogueError::Parse {
                    path: origin.to_string(),
                    message: format!("requirement {} is listed twice", r.id),
                });
            }
            cat.order.push(r.id.clone());
            cat.by_id.insert(r.id.clone(), r);
        }
        Ok(cat)
    }

    /// The requirement with this ID.
    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.by_id.get(id)
    }

    /// Every requirement, in catalogue order.
    pub fn iter(&self) -> impl Iterator<Item = &Requirement> {
        self.order.iter().filter_map(|id| self.by_id.get(id))
    }

    /// The number of requirements.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The closest IDs to a misspelt one (a "did you mean").
    pub fn suggest(&self, id: &str) -> Option<String> {
        self.order
            .iter()
            .map(|c| (crate::suite::edit_distance(id, c), c))
            .filter(|(d, _)| *d <= 2)
            .min()
            .map(|(_, c)| c.clone())
    }
}
