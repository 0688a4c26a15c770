//! The requirement catalogue (`fixtures/requirements.yaml`): every requirement a check may cite,
//! with its spec, section, keyword, role and URL. The keyword sets a failed check's verdict.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A requirement's stable ID, e.g. `G-AS-32` (digest §0.2).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct RequirementId(String);

impl RequirementId {
    /// Wraps an ID (whether it is in the catalogue is checked where scenarios load).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The ID.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequirementId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for RequirementId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

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
    pub id: RequirementId,
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
    by_id: BTreeMap<RequirementId, Requirement>,
    order: Vec<RequirementId>,
}

/// A catalogue that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    /// Unreadable file.
    #[error("failed to read the requirement catalogue {path}")]
    Read {
        /// The path.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Bad YAML, a bad field or a duplicate ID.
    #[error("{0}")]
    Parse(crate::diagnostic::Diagnostic),
}

impl Catalogue {
    /// Loads `fixtures/requirements.yaml` (built in, or another file).
    pub fn load(path: &Path) -> Result<Self, CatalogueError> {
        let text = crate::builtin::read_to_string(path).map_err(|source| CatalogueError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses catalogue text.
    pub fn parse(text: &str, origin: &str) -> Result<Self, CatalogueError> {
        let file: CatalogueFile = serde_saphyr::from_str(text)
            .map_err(|e| CatalogueError::Parse(crate::diagnostic::Diagnostic::from_yaml(origin, text, &e)))?;
        let mut cat = Catalogue::default();
        for r in file.requirements {
            if cat.by_id.contains_key(&r.id) {
                let (line, column) = crate::diagnostic::find_after(text, 1, &format!("id: {}", r.id)).unwrap_or((0, 0));
                return Err(CatalogueError::Parse(
                    crate::diagnostic::Diagnostic::new(
                        crate::diagnostic::Location::new(origin, line, column),
                        format!("requirement {} is listed twice", r.id),
                    )
                    .with_source(text),
                ));
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

    /// The closest ID to a misspelt one (a "did you mean").
    pub fn suggest(&self, id: &str) -> Option<&RequirementId> {
        let near = crate::diagnostic::closest(id, self.order.iter().map(RequirementId::as_str), 2)?;
        self.by_id.get(near).map(|r| &r.id)
    }
}
