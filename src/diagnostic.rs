//! Diagnostics for the files people write (scenarios, fragments, profiles, the catalogue): a
//! problem with its `file:line:col`, the offending line shown under it (the way rustc and hurl
//! print them), and "did you mean" hints.

use std::fmt;

/// Where something is written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// The file, as shown to the user (e.g. `suites/as/ticket/x.yaml`).
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: u64,
    /// 1-based column (0 when unknown).
    pub column: u64,
}

impl Location {
    /// A position in a file.
    pub fn new(file: impl Into<String>, line: u64, column: u64) -> Self {
        Self {
            file: file.into(),
            line,
            column,
        }
    }

    /// A whole file.
    pub fn file(file: impl Into<String>) -> Self {
        Self::new(file, 0, 0)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

/// One problem in a file, with the text of its line when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where.
    pub location: Location,
    /// What is wrong and how to fix it (lowercase, one sentence or two).
    pub message: String,
    /// The offending source line, when the file's text is at hand.
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// A problem at `location`.
    pub fn new(location: Location, message: impl Into<String>) -> Self {
        Self {
            location,
            message: message.into(),
            source_line: None,
        }
    }

    /// Attaches the offending line from the file's text.
    pub fn with_source(mut self, text: &str) -> Self {
        if self.location.line > 0 {
            self.source_line = text.lines().nth((self.location.line - 1) as usize).map(str::to_string);
        }
        self
    }

    /// A problem reported by the YAML parser, whose message and position it keeps.
    pub fn from_yaml(file: &str, text: &str, e: &serde_saphyr::Error) -> Self {
        let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
        // The plain message, without serde-saphyr's own snippet and `line L column C` prefix.
        let raw = e.to_string();
        let first = raw.lines().next().unwrap_or("").trim_start_matches("error: ");
        let message = match first.split_once(": ") {
            Some((head, rest)) if head.starts_with("line ") => rest.to_string(),
            _ => first.to_string(),
        };
        Self::new(Location::new(file, line, column), message).with_source(text)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        write!(f, "  --> {}", self.location)?;
        if let Some(src) = &self.source_line {
            let n = self.location.line.to_string();
            let pad = " ".repeat(n.len());
            write!(f, "\n {pad} |\n {n} | {src}\n {pad} | ")?;
            let caret = " ".repeat(self.location.column.saturating_sub(1) as usize);
            write!(f, "{caret}^")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// The 1-based line and column of the first occurrence of `needle` at or after `line` (1-based),
/// for pointing at a value inside a step whose own position is known.
pub fn find_after(text: &str, line: u64, needle: &str) -> Option<(u64, u64)> {
    text.lines()
        .enumerate()
        .skip(line.saturating_sub(1) as usize)
        .find_map(|(i, l)| {
            l.find(needle)
                .map(|c| (i as u64 + 1, l[..c].chars().count() as u64 + 1))
        })
}

/// Levenshtein distance.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate within `max` edits.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>, max: usize) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= max)
        .min()
        .map(|(_, c)| c)
}

/// ` (did you mean `x`?)`, or nothing: within a third of the word's length (two edits for
/// words of four letters or more, so a swap counts), at most three.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let n = word.chars().count();
    let floor = if n >= 4 { 2 } else { 1 };
    closest(word, candidates, (n / 3).clamp(floor, 3))
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// A map key that must be one of `known`: deserialized as a seed, so an unknown key is reported
/// at its own position in the file, with a "did you mean".
#[derive(Clone, Copy, Debug)]
pub struct KnownKey<'a> {
    /// The keys allowed.
    pub known: &'a [&'a str],
    /// What they are, for the message (`step key`, `check`, `matcher operator`).
    pub what: &'static str,
    /// More text after the suggestion (the list of what is allowed, say).
    pub help: &'a str,
}

impl<'de> serde::de::DeserializeSeed<'de> for KnownKey<'_> {
    type Value = String;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        let key = String::deserialize(d)?;
        if self.known.contains(&key.as_str()) {
            Ok(key)
        } else {
            Err(serde::de::Error::custom(format!(
                "unknown {} `{key}`{}{}",
                self.what,
                did_you_mean(&key, self.known.iter().copied()),
                self.help
            )))
        }
    }
}

use serde::Deserialize;

/// Escapes what a target sent before it reaches a terminal: control characters (ANSI escapes
/// among them) become `\u{..}`, so a target cannot print a fake summary line or move the cursor.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diagnostic_shows_its_location_and_points_at_the_column() {
        let text = "id: x\nsteps:\n  - token: { ticket: $t9 }\n";
        let d = Diagnostic::new(
            Location::new("suites/as/x/y.yaml", 3, 22),
            "variable `$t9` is not defined",
        )
        .with_source(text);
        let shown = d.to_string();
        assert!(shown.contains("--> suites/as/x/y.yaml:3:22"), "{shown}");
        assert!(shown.contains("3 |   - token: { ticket: $t9 }"), "{shown}");
        assert!(shown.ends_with(&format!("{}^", " ".repeat(21))), "{shown}");
    }

    #[test]
    fn find_after_points_at_the_needle_from_the_given_line_on() {
        let text = "a: $t9\nb: 1\nc: $t9\n";
        assert_eq!(find_after(text, 2, "$t9"), Some((3, 4)));
        assert_eq!(find_after(text, 1, "$t9"), Some((1, 4)));
        assert_eq!(find_after(text, 4, "$t9"), None);
    }

    #[test]
    fn did_you_mean_suggests_a_near_name_only() {
        assert_eq!(
            did_you_mean("no-stor", ["no-store", "iss"]),
            " (did you mean `no-store`?)"
        );
        assert_eq!(did_you_mean("zzzzzzzz", ["no-store"]), "");
    }

    #[test]
    fn control_characters_from_a_target_are_escaped() {
        assert_eq!(printable("ok\u{1b}[2Kfake"), "ok\\u{1b}[2Kfake");
        assert_eq!(printable("line\nnext"), "line\nnext");
    }
}
