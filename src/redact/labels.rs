//! Replacing secrets by their labels: every secret, in its own and its URL-encoded form, found
//! in one pass over a text (Aho-Corasick), where replacing them one after another made every
//! text cost one scan per secret of the run. Profiled in the selftest (debug build, 2 cores),
//! redaction was about a tenth of its CPU.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

/// A secret as it appears in a form body or a query string.
fn encoded(secret: &str) -> String {
    url::form_urlencoded::byte_serialize(secret.as_bytes()).collect()
}

/// The forms a secret is searched in: itself, then its URL-encoded form when that differs
/// (none for the empty string).
fn each_form(secret: &str) -> impl Iterator<Item = String> {
    let encoded = Some(encoded(secret)).filter(|e| e != secret);
    std::iter::once(secret.to_owned())
        .chain(encoded)
        .filter(|f| !f.is_empty())
}

/// The forms of `secrets` ([`each_form`]) with the label each is replaced by; a form already
/// present keeps its first label.
fn forms(secrets: &[(String, String)]) -> (Vec<String>, Vec<String>) {
    let (mut patterns, mut labels) = (Vec::new(), Vec::<String>::new());
    let mut seen = std::collections::HashSet::new();
    for (secret, label) in secrets {
        for form in each_form(secret) {
            if seen.insert(form.clone()) {
                patterns.push(form);
                labels.push(label.clone());
            }
        }
    }
    (patterns, labels)
}

/// An automaton over `patterns`. A contiguous NFA: an automaton serves one scenario, and a DFA
/// (what the builder picks for a few patterns) took longer to build than every search with it
/// (in the selftest, building was 6% of the CPU and the searches under 1%).
fn automaton(kind: MatchKind, patterns: &[String]) -> Result<AhoCorasick, aho_corasick::BuildError> {
    AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .match_kind(kind)
        .build(patterns)
}

/// Secrets and their labels, ready to be replaced in many texts.
pub(super) struct Labels {
    /// Each secret's forms ([`forms`]) and the label of each.
    patterns: Vec<String>,
    labels: Vec<String>,
    /// Matches the leftmost form and, of those starting there, the longest: a secret that
    /// contains another is replaced whole, and a label written is never searched again. `None`
    /// when there is nothing to match, or (past the automaton's size limits, far beyond a run's
    /// secrets) when it cannot be built: then `apply` replaces them the slow way.
    automaton: Option<AhoCorasick>,
}

impl Labels {
    /// `secrets` as (value, label) pairs.
    pub(super) fn new(secrets: &[(String, String)]) -> Self {
        let (patterns, labels) = forms(secrets);
        let automaton = if patterns.is_empty() {
            None
        } else {
            automaton(MatchKind::LeftmostLongest, &patterns).ok()
        };
        Self {
            patterns,
            labels,
            automaton,
        }
    }

    /// Replaces every secret of `text` by its label.
    pub(super) fn apply(&self, text: &mut String) {
        match &self.automaton {
            Some(ac) => {
                if ac.is_match(text.as_str()) {
                    *text = ac.replace_all(text, &self.labels);
                }
            }
            None => replace_one_by_one(text, &self.patterns, &self.labels),
        }
    }
}

/// Where each of `values` (or its URL-encoded form) first occurs in `haystack`, `None` where
/// neither does.
pub(super) fn first_indices(haystack: &str, values: &[String]) -> Vec<Option<usize>> {
    let mut patterns = Vec::with_capacity(values.len() * 2);
    let mut owner = Vec::with_capacity(values.len() * 2);
    for (i, v) in values.iter().enumerate() {
        for form in each_form(v) {
            patterns.push(form);
            owner.push(i);
        }
    }
    let mut first = vec![None; values.len()];
    match automaton(MatchKind::Standard, &patterns) {
        Ok(ac) => {
            for m in ac.find_overlapping_iter(haystack) {
                let slot: &mut Option<usize> = &mut first[owner[m.pattern().as_usize()]];
                if slot.is_none_or(|at| m.start() < at) {
                    *slot = Some(m.start());
                }
            }
        }
        Err(_) => {
            for (slot, v) in first.iter_mut().zip(values) {
                *slot = [haystack.find(v.as_str()), haystack.find(encoded(v).as_str())]
                    .into_iter()
                    .flatten()
                    .min();
            }
        }
    }
    first
}

/// The replacement [`Labels::apply`] makes, form by form at each position (`patterns` and their
/// `labels` from [`forms`]): where the automaton cannot be built, and as the tests' oracle.
fn replace_one_by_one(text: &mut String, patterns: &[String], labels: &[String]) {
    let mut present: Vec<(&str, &str)> = patterns
        .iter()
        .zip(labels)
        .filter(|(p, _)| text.contains(p.as_str()))
        .map(|(p, l)| (p.as_str(), l.as_str()))
        .collect();
    if present.is_empty() {
        return;
    }
    present.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        match present.iter().find(|(p, _)| rest.starts_with(p)) {
            Some((p, label)) => {
                out.push_str(label);
                i += p.len();
            }
            None => {
                let c = rest.chars().next().unwrap_or(' ');
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    *text = out;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(secrets: &[&str]) -> Vec<(String, String)> {
        secrets
            .iter()
            .enumerate()
            .map(|(i, s)| ((*s).to_owned(), format!("[secret-{}]", i + 1)))
            .collect()
    }

    #[test]
    fn a_secret_inside_another_is_replaced_with_it_and_the_encoded_form_too() {
        // Arrange
        let labels = Labels::new(&pairs(&["abc def", "abc def ghi", "x+y/z="]));
        let mut text = "abc def ghi | abc+def | abc def | x%2By%2Fz%3D | x+y/z=".to_owned();

        // Act
        labels.apply(&mut text);

        // Assert
        assert_eq!(text, "[secret-2] | [secret-1] | [secret-1] | [secret-3] | [secret-3]");
    }

    #[test]
    fn first_indices_take_the_earlier_form_and_see_overlapping_secrets() {
        // Arrange
        let hay = "..a+b..abcdef..a b";
        let values = vec![
            "a b".to_owned(),
            "bcd".to_owned(),
            "abcdef".to_owned(),
            "zzz".to_owned(),
        ];

        // Act / Assert
        assert_eq!(first_indices(hay, &values), [Some(2), Some(8), Some(7), None]);
    }

    proptest! {
        #[test]
        fn the_automaton_replaces_as_secret_by_secret_replacement_does(
            secrets in proptest::collection::vec("[ab+/ %=é]{1,5}", 0..6),
            text in "[ab+/ %=é2BFD3]{0,40}",
        ) {
            let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
            let pairs = pairs(&secrets);
            let (mut fast, mut slow) = (text.clone(), text.clone());
            Labels::new(&pairs).apply(&mut fast);
            let (patterns, labels) = forms(&pairs);
            replace_one_by_one(&mut slow, &patterns, &labels);
            prop_assert_eq!(fast, slow);
            let owned: Vec<String> = secrets.iter().map(|s| (*s).to_owned()).collect();
            let expected: Vec<Option<usize>> = owned
                .iter()
                .map(|v| [text.find(v.as_str()), text.find(encoded(v).as_str())].into_iter().flatten().min())
                .collect();
            prop_assert_eq!(first_indices(&text, &owned), expected);
        }
    }
}
