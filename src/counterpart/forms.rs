//! A tolerant HTML form extractor for the interactive-claims `form` driver.
//!
//! The harness plays the requesting party's browser at a claims interaction endpoint (UMA
//! Grant §3.3.2): it fetches the page, finds the form, fills it and submits it. Pages come
//! from arbitrary authorization servers, so the scanner is hand-written and forgiving: it never
//! panics, does work linear in the input's length whatever the input, and recovers from
//! unclosed tags, quotes and comments the way browsers roughly do.
//!
//! What it understands: `<form>` (`action`, `method`); `<input>` (skipped without a name or
//! when `disabled`; checkboxes and radio buttons only when `checked`; `type=button`, `reset`
//! and `image` never submit); `<textarea>` (its text); `<select>` (the selected option's value,
//! else the first option's; every selected option for `multiple`); submit buttons
//! (`<button>` of type `submit` or no type, `<input type=submit>`) with a name. Comments,
//! `<script>` and `<style>` are skipped. Tag and attribute names are case-insensitive;
//! attribute values may be double-quoted, single-quoted or unquoted, and their character
//! references are decoded. Controls outside a `<form>` (or tied to one by a `form` attribute)
//! are ignored, and so are forms nested inside another form, as in HTML.
//!
//! Over 600 lines because of its tests: the scanner itself is under 580 lines, the rest is the
//! table of hostile and odd pages it must read (and its proptest).

use std::collections::{BTreeMap, BTreeSet};

/// One control of a form that submits a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The control's `name`.
    pub name: String,
    /// The value it submits as the page left it.
    pub value: String,
    /// The `<input>` type, lowercased (`text` when absent), or `textarea` / `select`.
    /// Submit buttons are not fields: they are in [`Form::buttons`].
    pub kind: String,
}

/// One `<form>` of a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Form {
    /// The `action` attribute, decoded but not resolved against the page's URL.
    pub action: Option<String>,
    /// The `method` attribute, uppercased; `GET` when absent or empty.
    pub method: String,
    /// The controls that submit a value, in document order.
    pub fields: Vec<Field>,
    /// `(name, value)` of every named submit button (`<button type=submit>`, `<button>`
    /// without a type, `<input type=submit>`), in document order. A button without a `value`
    /// has an empty one.
    pub buttons: Vec<(String, String)>,
}

impl Form {
    /// The body to submit: hidden/other fields with their values, overridden or filled from
    /// `values` (by name); `button` picks the submit button whose value (or name) matches and
    /// adds it; values for names the form does not have are appended too.
    ///
    /// A name given in `values` is sent once, in place of the form's first field of that
    /// name; later fields of the same name are dropped. Values for names the form lacks follow
    /// the fields in name order, then the chosen button. A `button` that matches no submit
    /// button adds nothing.
    pub fn fill(&self, values: &BTreeMap<String, String>, button: Option<&str>) -> Vec<(String, String)> {
        let chosen = button.and_then(|b| {
            self.buttons
                .iter()
                .find(|(_, value)| value == b)
                .or_else(|| self.buttons.iter().find(|(name, _)| name == b))
        });
        let mut body = Vec::with_capacity(self.fields.len() + values.len() + 1);
        let mut filled = BTreeSet::new();
        for field in &self.fields {
            match values.get(&field.name) {
                Some(v) => {
                    if filled.insert(field.name.as_str()) {
                        body.push((field.name.clone(), v.clone()));
                    }
                }
                None => body.push((field.name.clone(), field.value.clone())),
            }
        }
        for (name, v) in values {
            let is_button = chosen.is_some_and(|(button_name, _)| button_name == name);
            if !filled.contains(name.as_str()) && !is_button {
                body.push((name.clone(), v.clone()));
            }
        }
        if let Some((name, value)) = chosen {
            body.push((name.clone(), value.clone()));
        }
        body
    }
}

/// Every form of `html`, in document order. Never panics; malformed markup gives whatever
/// could be recovered.
pub fn parse_forms(html: &str) -> Vec<Form> {
    let mut builder = Builder::default();
    let mut scanner = Scanner::new(html);
    while let Some(token) = scanner.next_token() {
        match token {
            Token::Text(text) => builder.text(text),
            Token::Start(tag) => {
                if RAW_TEXT.contains(&tag.name.as_str()) {
                    scanner.raw_until(&tag.name);
                }
                builder.start(&tag);
            }
            Token::End(name) => builder.end(&name),
        }
    }
    builder.finish()
}

/// Elements whose content is text up to their end tag, never markup.
const RAW_TEXT: &[&str] = &[
    "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
];

/// Longest character reference looked at (`&#x10FFFF;` and every named one we decode fit).
const MAX_REFERENCE: usize = 12;

/// A start tag: lowercased name and attributes, values decoded, first occurrence wins.
#[derive(Debug)]
struct Tag {
    name: String,
    attrs: Vec<(String, String)>,
}

impl Tag {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.attrs.iter().any(|(n, _)| n == name)
    }

    /// A non-empty `name` attribute.
    fn control_name(&self) -> Option<&str> {
        self.attr("name").filter(|n| !n.is_empty())
    }
}

#[derive(Debug)]
enum Token<'a> {
    Text(&'a str),
    Start(Tag),
    End(String),
}

/// Splits HTML into text, start tags and end tags. Every call to [`Scanner::next_token`]
/// advances by at least one byte, and every byte is looked at a bounded number of times.
#[derive(Debug)]
struct Scanner<'a> {
    src: &'a str,
    pos: usize,
    /// Set after a raw-text start tag: the next token is its content.
    raw: Option<String>,
}

impl<'a> Scanner<'a> {
    fn new(src: &'a str) -> Self {
        Self { src, pos: 0, raw: None }
    }

    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    fn slice(&self, from: usize, to: usize) -> &'a str {
        self.src.get(from..to).unwrap_or_default()
    }

    /// Makes the next token the text up to `</name` (or the end of the input).
    fn raw_until(&mut self, name: &str) {
        self.raw = Some(format!("</{name}"));
    }

    fn next_token(&mut self) -> Option<Token<'a>> {
        let bytes = self.bytes();
        let len = bytes.len();
        if let Some(close) = self.raw.take() {
            let end = find_ci(bytes, self.pos, close.as_bytes()).unwrap_or(len);
            let text = self.slice(self.pos, end);
            self.pos = end;
            return Some(Token::Text(text));
        }
        loop {
            let pos = self.pos;
            let &first = bytes.get(pos)?;
            if first != b'<' {
                let end = find_byte(bytes, pos, b'<').unwrap_or(len);
                self.pos = end;
                return Some(Token::Text(self.slice(pos, end)));
            }
            let next = bytes.get(pos + 1).copied();
            match next {
                Some(b'!') if bytes.get(pos + 2..pos + 4) == Some(&b"--"[..]) => {
                    self.pos = find_ci(bytes, pos + 4, b"-->").map_or(len, |i| i + 3);
                }
                Some(b'!' | b'?') => {
                    self.pos = find_byte(bytes, pos + 1, b'>').map_or(len, |i| i + 1);
                }
                Some(b'/') if bytes.get(pos + 2).is_some_and(u8::is_ascii_alphabetic) => {
                    let name_end = tag_name_end(bytes, pos + 2);
                    let name = self.slice(pos + 2, name_end).to_ascii_lowercase();
                    self.pos = find_byte(bytes, name_end, b'>').map_or(len, |i| i + 1);
                    return Some(Token::End(name));
                }
                Some(b'/') => {
                    // `</>` or `</ junk>`: dropped, like a bogus comment.
                    self.pos = find_byte(bytes, pos + 1, b'>').map_or(len, |i| i + 1);
                }
                Some(c) if c.is_ascii_alphabetic() => return Some(Token::Start(self.start_tag())),
                _ => {
                    // A lone `<` is text.
                    let end = find_byte(bytes, pos + 1, b'<').unwrap_or(len);
                    self.pos = end;
                    return Some(Token::Text(self.slice(pos, end)));
                }
            }
        }
    }

    /// Parses the start tag at `self.pos` (which is `<` followed by a letter).
    fn start_tag(&mut self) -> Tag {
        let bytes = self.bytes();
        let len = bytes.len();
        let name_end = tag_name_end(bytes, self.pos + 1);
        let name = self.slice(self.pos + 1, name_end).to_ascii_lowercase();
        let mut attrs: Vec<(String, String)> = Vec::new();
        // Kept beside `attrs` so that a tag with many attributes is not quadratic.
        let mut seen = BTreeSet::new();
        let mut i = name_end;
        loop {
            while i < len && (bytes[i].is_ascii_whitespace() || bytes[i] == b'/') {
                i += 1;
            }
            if i >= len {
                break;
            }
            if bytes[i] == b'>' {
                i += 1;
                break;
            }
            let name_start = i;
            // A leading `=` belongs to the name (HTML parse error recovery); it also
            // guarantees progress.
            i += 1;
            while i < len && !bytes[i].is_ascii_whitespace() && !matches!(bytes[i], b'/' | b'>' | b'=') {
                i += 1;
            }
            let attr_name = self.slice(name_start, i).to_ascii_lowercase();
            let mut j = i;
            while j < len && bytes[j].is_ascii_whitespace() {
                j += 1;
            }
            let mut value = String::new();
            if bytes.get(j) == Some(&b'=') {
                j += 1;
                while j < len && bytes[j].is_ascii_whitespace() {
                    j += 1;
                }
                match bytes.get(j).copied() {
                    Some(q @ (b'"' | b'\'')) => {
                        let end = find_byte(bytes, j + 1, q).unwrap_or(len);
                        value = decode_entities(self.slice(j + 1, end));
                        j = (end + 1).min(len);
                    }
                    Some(_) => {
                        let start = j;
                        while j < len && !bytes[j].is_ascii_whitespace() && bytes[j] != b'>' {
                            j += 1;
                        }
                        value = decode_entities(self.slice(start, j));
                    }
                    None => {}
                }
                i = j;
            }
            if seen.insert(attr_name.clone()) {
                attrs.push((attr_name, value));
            }
        }
        self.pos = i;
        Tag { name, attrs }
    }
}

/// Where a tag name starting at `from` ends.
fn tag_name_end(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < bytes.len() && !bytes[i].is_ascii_whitespace() && !matches!(bytes[i], b'/' | b'>') {
        i += 1;
    }
    i
}

fn find_byte(bytes: &[u8], from: usize, b: u8) -> Option<usize> {
    bytes.get(from..)?.iter().position(|x| *x == b).map(|i| i + from)
}

/// Case-insensitive search for an ASCII `needle` (given in lowercase) from `from`.
fn find_ci(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len().max(1))
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|i| i + from)
}

/// Decodes the character references of an attribute value or text: `&amp;`, `&quot;`,
/// `&apos;`, `&#39;`, `&lt;`, `&gt;`, `&nbsp;`, `&#NN;` and `&#xHH;`. Anything else, and a
/// reference without its `;`, is kept as written. A numeric reference to an invalid code
/// point becomes U+FFFD.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or_default());
        let after = rest.get(amp + 1..).unwrap_or_default();
        let semi = after.bytes().take(MAX_REFERENCE).position(|b| b == b';');
        let decoded = semi.and_then(|semi| Some((reference(after.get(..semi)?)?, semi)));
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = after.get(semi + 1..).unwrap_or_default();
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character a reference name (between `&` and `;`) stands for.
fn reference(name: &str) -> Option<char> {
    let code = |digits: &str, radix: u32| {
        let ok = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
        ok.then(|| {
            u32::from_str_radix(digits, radix)
                .ok()
                .filter(|n| *n != 0)
                .and_then(char::from_u32)
                .unwrap_or(char::REPLACEMENT_CHARACTER)
        })
    };
    match name {
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "nbsp" => Some('\u{a0}'),
        _ => {
            let num = name.strip_prefix('#')?;
            match num.strip_prefix(['x', 'X']) {
                Some(hex) => code(hex, 16),
                None => code(num, 10),
            }
        }
    }
}

/// HTML's "strip and collapse ASCII whitespace".
fn collapse_whitespace(s: &str) -> String {
    s.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// An open `<select>`.
#[derive(Debug)]
struct Select {
    name: Option<String>,
    multiple: bool,
    options: Vec<(String, bool)>,
    /// The open `<option>`: its `value` attribute, text so far, `selected`.
    option: Option<(Option<String>, String, bool)>,
}

impl Select {
    fn close_option(&mut self) {
        if let Some((value, text, selected)) = self.option.take() {
            let value = value.unwrap_or_else(|| collapse_whitespace(&decode_entities(&text)));
            self.options.push((value, selected));
        }
    }

    /// The fields the select submits.
    fn finish(mut self) -> Vec<Field> {
        self.close_option();
        let Some(name) = self.name else {
            return Vec::new();
        };
        let field = |value: &str| Field {
            name: name.clone(),
            value: value.to_owned(),
            kind: "select".to_owned(),
        };
        if self.multiple {
            return self.options.iter().filter(|(_, s)| *s).map(|(v, _)| field(v)).collect();
        }
        // With several `selected` options, browsers keep the last one.
        self.options
            .iter()
            .rev()
            .find(|(_, s)| *s)
            .or_else(|| self.options.first())
            .map(|(v, _)| vec![field(v)])
            .unwrap_or_default()
    }
}

/// Turns tokens into forms.
#[derive(Debug, Default)]
struct Builder {
    forms: Vec<Form>,
    form: Option<Form>,
    select: Option<Select>,
    /// The index in the open form's fields of a `<textarea>` waiting for its text.
    textarea: Option<usize>,
}

impl Builder {
    fn text(&mut self, text: &str) {
        if let Some(i) = self.textarea.take() {
            let text = text
                .strip_prefix("\r\n")
                .or_else(|| text.strip_prefix('\n'))
                .unwrap_or(text);
            if let Some(field) = self.form.as_mut().and_then(|f| f.fields.get_mut(i)) {
                field.value = decode_entities(text);
            }
        } else if let Some((_, t, _)) = self.select.as_mut().and_then(|s| s.option.as_mut()) {
            t.push_str(text);
        }
    }

    fn close_select(&mut self) {
        if let Some(select) = self.select.take() {
            let fields = select.finish();
            if let Some(form) = self.form.as_mut() {
                form.fields.extend(fields);
            }
        }
    }

    fn start(&mut self, tag: &Tag) {
        self.textarea = None;
        if tag.name == "form" {
            if self.form.is_none() {
                let method = tag.attr("method").map(str::trim).unwrap_or_default();
                self.form = Some(Form {
                    action: tag.attr("action").map(str::to_owned),
                    method: if method.is_empty() {
                        "GET".to_owned()
                    } else {
                        method.to_ascii_uppercase()
                    },
                    fields: Vec::new(),
                    buttons: Vec::new(),
                });
            }
            return;
        }
        if self.form.is_none() {
            return;
        }
        match tag.name.as_str() {
            "option" => {
                if let Some(select) = self.select.as_mut() {
                    select.close_option();
                    select.option = Some((tag.attr("value").map(str::to_owned), String::new(), tag.has("selected")));
                }
            }
            "optgroup" => {
                if let Some(select) = self.select.as_mut() {
                    select.close_option();
                }
            }
            "select" => {
                self.close_select();
                self.select = Some(Select {
                    name: tag.control_name().filter(|_| !tag.has("disabled")).map(str::to_owned),
                    multiple: tag.has("multiple"),
                    options: Vec::new(),
                    option: None,
                });
            }
            "input" => self.input(tag),
            "button" => {
                let kind = tag.attr("type").map(|t| t.trim().to_ascii_lowercase());
                let submits = !matches!(kind.as_deref(), Some("button" | "reset"));
                self.button(tag, submits);
            }
            "textarea" => {
                if let (Some(name), Some(form)) = (tag.control_name(), self.form.as_mut())
                    && !tag.has("disabled")
                {
                    form.fields.push(Field {
                        name: name.to_owned(),
                        value: String::new(),
                        kind: "textarea".to_owned(),
                    });
                    self.textarea = Some(form.fields.len() - 1);
                }
            }
            _ => {}
        }
    }

    fn input(&mut self, tag: &Tag) {
        let kind = tag
            .attr("type")
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "text".to_owned());
        match kind.as_str() {
            "submit" => {
                self.button(tag, true);
                return;
            }
            "button" | "reset" | "image" => return,
            _ => {}
        }
        let (Some(name), Some(form)) = (tag.control_name(), self.form.as_mut()) else {
            return;
        };
        if tag.has("disabled") || (matches!(kind.as_str(), "checkbox" | "radio") && !tag.has("checked")) {
            return;
        }
        let default = if matches!(kind.as_str(), "checkbox" | "radio") {
            "on"
        } else {
            ""
        };
        form.fields.push(Field {
            name: name.to_owned(),
            value: tag.attr("value").unwrap_or(default).to_owned(),
            kind,
        });
    }

    fn button(&mut self, tag: &Tag, submits: bool) {
        if let (true, Some(name), Some(form)) = (submits, tag.control_name(), self.form.as_mut())
            && !tag.has("disabled")
        {
            form.buttons
                .push((name.to_owned(), tag.attr("value").unwrap_or_default().to_owned()));
        }
    }

    fn end(&mut self, name: &str) {
        self.textarea = None;
        match name {
            "option" => {
                if let Some(select) = self.select.as_mut() {
                    select.close_option();
                }
            }
            "select" => self.close_select(),
            "form" => {
                self.close_select();
                if let Some(form) = self.form.take() {
                    self.forms.push(form);
                }
            }
            _ => {}
        }
    }

    fn finish(mut self) -> Vec<Form> {
        self.end("form");
        self.forms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The page the reference AS's `claims_form` renders (reference-server
    /// `src/core/interaction.rs`), with an error message, as a fixed string.
    const CLAIMS_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Share your claims</title>\
        <style>body{font-family:sans-serif;max-width:32rem;margin:3rem auto}label{display:block;margin:.5rem 0}</style>\
        </head><body><h1>Share your claims</h1>\n\
        <p><strong>Demo &lt;client&gt;</strong> asks for access on your behalf. The owner's policy needs some information about you.</p>\n\
        <p id=\"error\">The claims did not satisfy the policy.</p>\
        <form method=\"post\" action=\"http://127.0.0.1:8080/claims\">\n\
        <input type=\"hidden\" name=\"interaction\" value=\"Zm9vYmFyYmF6cXV4cXV1eA\">\n\
        <input type=\"hidden\" name=\"csrf_token\" value=\"c3JmLXRva2VuLXZhbHVlLWZvci10ZXN0cy1vbmx5LXh5eg\">\n\
        <label>Email <input type=\"email\" name=\"email\" required></label>\n\
        <label>Name <input type=\"text\" name=\"name\"></label>\n\
        <button type=\"submit\" name=\"action\" value=\"submit\">Share</button>\n\
        <button type=\"submit\" name=\"action\" value=\"cancel\" formnovalidate>Cancel</button>\n\
        </form>\n</body></html>\n";

    /// The page the reference AS's `login_form` renders.
    const LOGIN_PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign in</title>\
        <style>body{font-family:sans-serif}</style></head><body><h1>Sign in</h1>\n\
        <p><strong>Demo resource server</strong> asks to protect your resources with this authorization server.</p>\n\
        <form method=\"post\" action=\"http://127.0.0.1:8080/authorize?x=1&amp;y=2\">\n\
        <input type=\"hidden\" name=\"interaction\" value=\"aWQ\">\n\
        <input type=\"hidden\" name=\"csrf_token\" value=\"Y3NyZg\">\n\
        <label>Username <input type=\"text\" name=\"username\" required></label>\n\
        <label>Password <input type=\"password\" name=\"password\" required></label>\n\
        <button type=\"submit\">Sign in and allow</button>\n</form>\n</body></html>\n";

    fn field(name: &str, value: &str, kind: &str) -> Field {
        Field {
            name: name.to_owned(),
            value: value.to_owned(),
            kind: kind.to_owned(),
        }
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn pairs(body: &[(String, String)]) -> Vec<(&str, &str)> {
        body.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn the_reference_claims_form_is_extracted_with_its_fields_and_buttons() {
        // Act
        let forms = parse_forms(CLAIMS_PAGE);

        // Assert
        assert_eq!(
            forms,
            vec![Form {
                action: Some("http://127.0.0.1:8080/claims".to_owned()),
                method: "POST".to_owned(),
                fields: vec![
                    field("interaction", "Zm9vYmFyYmF6cXV4cXV1eA", "hidden"),
                    field("csrf_token", "c3JmLXRva2VuLXZhbHVlLWZvci10ZXN0cy1vbmx5LXh5eg", "hidden"),
                    field("email", "", "email"),
                    field("name", "", "text"),
                ],
                buttons: vec![
                    ("action".to_owned(), "submit".to_owned()),
                    ("action".to_owned(), "cancel".to_owned())
                ],
            }]
        );
    }

    #[test]
    fn filling_the_claims_form_keeps_hidden_fields_and_adds_the_chosen_button() {
        // Arrange
        let form = &parse_forms(CLAIMS_PAGE)[0];

        // Act
        let share = form.fill(&values(&[("email", "bob@example.com")]), Some("submit"));
        let cancel = form.fill(&BTreeMap::new(), Some("cancel"));

        // Assert
        assert_eq!(
            pairs(&share),
            vec![
                ("interaction", "Zm9vYmFyYmF6cXV4cXV1eA"),
                ("csrf_token", "c3JmLXRva2VuLXZhbHVlLWZvci10ZXN0cy1vbmx5LXh5eg"),
                ("email", "bob@example.com"),
                ("name", ""),
                ("action", "submit"),
            ]
        );
        assert_eq!(
            cancel.last().map(|(k, v)| (k.as_str(), v.as_str())),
            Some(("action", "cancel"))
        );
    }

    #[test]
    fn the_reference_login_form_has_no_named_button_and_a_decoded_action() {
        // Act
        let forms = parse_forms(LOGIN_PAGE);
        let body = forms[0].fill(
            &values(&[("username", "alice"), ("password", "alice-password")]),
            Some("Sign in and allow"),
        );

        // Assert
        assert_eq!(forms.len(), 1);
        assert_eq!(
            forms[0].action.as_deref(),
            Some("http://127.0.0.1:8080/authorize?x=1&y=2")
        );
        assert!(forms[0].buttons.is_empty());
        assert_eq!(
            pairs(&body),
            vec![
                ("interaction", "aWQ"),
                ("csrf_token", "Y3NyZg"),
                ("username", "alice"),
                ("password", "alice-password"),
            ]
        );
    }

    #[test]
    fn attributes_may_be_quoted_either_way_or_unquoted_in_any_case_with_entities() {
        // Arrange
        let html = "<FORM Method=post ACTION='/a?x=1&amp;y=2'>\
            <INPUT TYPE=Hidden NAME=t VALUE=\"&quot;q&#39;&lt;&gt;&#65;&#x42;&#X43;&apos;\">\
            <input name = spaced value = 'a b' >\
            <input name=u value=a&amp;b>\
            <input name=keep value=\"&unknown; &amp &#xZZ; &#0;\">\
            </Form>";

        // Act
        let forms = parse_forms(html);

        // Assert
        assert_eq!(forms.len(), 1);
        assert_eq!(forms[0].action.as_deref(), Some("/a?x=1&y=2"));
        assert_eq!(forms[0].method, "POST");
        assert_eq!(
            forms[0].fields,
            vec![
                field("t", "\"q'<>ABC'", "hidden"),
                field("spaced", "a b", "text"),
                field("u", "a&b", "text"),
                field("keep", "&unknown; &amp &#xZZ; \u{fffd}", "text"),
            ]
        );
    }

    #[test]
    fn unchecked_boxes_disabled_and_nameless_controls_are_not_submitted() {
        // Arrange
        let html = "<form><input type=checkbox name=a value=1 checked><input type=checkbox name=b>\
            <input type=radio name=c value=x><input type=radio name=c value=y checked>\
            <input type=checkbox name=d checked>\
            <input name=e disabled value=1><input value=nameless><input type=reset name=r>\
            <input type=image name=i><input type=button name=btn value=v></form>";

        // Act
        let form = &parse_forms(html)[0];

        // Assert
        assert_eq!(form.method, "GET");
        assert_eq!(form.action, None);
        assert_eq!(
            form.fields,
            vec![
                field("a", "1", "checkbox"),
                field("c", "y", "radio"),
                field("d", "on", "checkbox")
            ]
        );
        assert!(form.buttons.is_empty());
    }

    #[test]
    fn textareas_and_selects_submit_their_text_and_selected_option() {
        // Arrange
        let html = "<form method=POST action=/claims>\
            <textarea name=bio>\nHello &amp; <b>welcome</b></textarea>\
            <select name=colour><option value=r>Red<option value=g selected>Green</select>\
            <select name=size><option> Large\n one </option><option>Small</option></select>\
            <select name=tags multiple><option selected>a<option>b<option selected value=c>C</select>\
            <select name=none></select>\
            <input type=submit name=go value=Go><button name=plain>x</button><button type=button name=no>y</button>\
            </form>";

        // Act
        let form = &parse_forms(html)[0];

        // Assert
        assert_eq!(
            form.fields,
            vec![
                field("bio", "Hello & <b>welcome</b>", "textarea"),
                field("colour", "g", "select"),
                field("size", "Large one", "select"),
                field("tags", "a", "select"),
                field("tags", "c", "select"),
            ]
        );
        assert_eq!(
            form.buttons,
            vec![("go".to_owned(), "Go".to_owned()), ("plain".to_owned(), String::new())]
        );
    }

    #[test]
    fn fill_overrides_by_name_once_appends_unknown_names_and_picks_buttons_by_name_too() {
        // Arrange
        let form = &parse_forms(
            "<form><input type=hidden name=h value=1><input type=checkbox name=t value=a checked>\
             <input type=checkbox name=t value=b checked><button name=go value=yes></form>",
        )[0];

        // Act
        let body = form.fill(&values(&[("t", "z"), ("extra", "e"), ("go", "ignored")]), Some("go"));

        // Assert
        assert_eq!(
            pairs(&body),
            vec![("h", "1"), ("t", "z"), ("extra", "e"), ("go", "yes")]
        );
    }

    #[test]
    fn markup_in_comments_scripts_and_outside_forms_is_ignored() {
        // Arrange
        let html = "<input name=outside><!-- <form><input name=c></form> -->\
            <script>var s = '<form><input name=s></form>';</script>\
            <form id=1><form id=nested><input name=in></form><input name=after>";

        // Act
        let forms = parse_forms(html);

        // Assert
        assert_eq!(forms.len(), 1);
        assert_eq!(forms[0].fields, vec![field("in", "", "text")]);
    }

    #[test]
    fn unterminated_markup_is_recovered_without_panicking() {
        assert_eq!(parse_forms("<form><input name=a value=\"open").len(), 1);
        assert_eq!(parse_forms("<form><textarea name=t>never closed").len(), 1);
        assert_eq!(parse_forms("<form><!-- never closed <input name=x>")[0].fields, vec![]);
        assert!(parse_forms("<").is_empty());
        assert!(parse_forms("</").is_empty());
        assert!(parse_forms("<form").len() == 1);
        assert!(parse_forms("&#x110000;<é><form é=é><input name=é value=&#xD800;>").len() == 1);
    }

    #[test]
    fn pathological_inputs_are_scanned_in_linear_time() {
        // Each of these would be quadratic with a naive "search to the end from every tag".
        let inputs = [
            "<textarea>".repeat(20_000),
            "<!--".repeat(20_000),
            "<form><select name=s>".repeat(10_000) + &"<option>".repeat(10_000),
            format!("<input {}>", "a=&#x1;&amp".repeat(20_000)),
            "<a\"".repeat(20_000),
        ];
        for html in &inputs {
            let _ = parse_forms(html);
        }
    }

    /// Fetches `url` with the browser-like client and parses its only form.
    async fn page_form(http: &reqwest::Client, url: &str) -> Form {
        let resp = http.get(url).send().await.unwrap();
        assert_eq!(
            resp.status(),
            reqwest::StatusCode::OK,
            "{url} -> {:?}",
            resp.headers().get("location")
        );
        let mut forms = parse_forms(&resp.text().await.unwrap());
        assert_eq!(forms.len(), 1);
        forms.remove(0)
    }

    /// Submits `body` to the form's action and returns the redirect's `Location`.
    async fn submit(http: &reqwest::Client, form: &Form, body: &[(String, String)]) -> String {
        assert_eq!(form.method, "POST");
        let resp = http
            .post(form.action.as_deref().unwrap())
            .form(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), reqwest::StatusCode::FOUND);
        resp.headers()[reqwest::header::LOCATION].to_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn the_live_reference_login_and_claims_forms_can_be_filled_and_submitted() {
        // Arrange: a browser-like client (cookies, no redirects) and a ticket for the demo client.
        let server = uma_reference_server::Server::builder(uma_reference_server::Config::demo())
            .memory()
            .start()
            .await
            .unwrap();
        let issuer = server.issuer().to_owned();
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let pat: serde_json::Value = http
            .post(format!("{issuer}/token"))
            .basic_auth("demo-rs", Some("demo-rs-secret"))
            .form(&[("grant_type", "client_credentials"), ("scope", "uma_protection")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let pat = pat["access_token"].as_str().unwrap();
        let created: serde_json::Value = http
            .post(format!("{issuer}/resource_set"))
            .bearer_auth(pat)
            .json(&serde_json::json!({"resource_scopes": ["view"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ticket: serde_json::Value = http
            .post(format!("{issuer}/permission"))
            .bearer_auth(pat)
            .json(&serde_json::json!({"resource_id": created["_id"], "resource_scopes": ["view"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let ticket = ticket["ticket"].as_str().unwrap();
        let challenge = crate::uma::pkce::s256_challenge(&crate::uma::pkce::generate_verifier());

        // Act
        let login = page_form(
            &http,
            &format!(
                "{issuer}/authorize?client_id=demo-rs&response_type=code&code_challenge={challenge}&code_challenge_method=S256"
            ),
        )
        .await;
        let login_body = login.fill(&values(&[("username", "alice"), ("password", "alice-password")]), None);
        let login_location = submit(&http, &login, &login_body).await;
        let claims = page_form(&http, &format!(
                "{issuer}/claims?client_id=demo-client&ticket={ticket}&code_challenge={challenge}&code_challenge_method=S256"
            )).await;
        let claims_body = claims.fill(&values(&[("email", "bob@example.com")]), Some("submit"));
        let claims_location = submit(&http, &claims, &claims_body).await;
        server.shutdown().await;

        // Assert
        let names: Vec<&str> = login.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["interaction", "csrf_token", "username", "password"]);
        assert!(
            login_location.starts_with("http://127.0.0.1:9/rs/callback?"),
            "{login_location}"
        );
        assert!(login_location.contains("code="), "{login_location}");
        assert_eq!(
            claims.buttons,
            [
                ("action".to_owned(), "submit".to_owned()),
                ("action".to_owned(), "cancel".to_owned())
            ]
        );
        assert!(
            claims_location.starts_with("http://127.0.0.1:9/client/claims?"),
            "{claims_location}"
        );
        assert!(claims_location.contains("ticket="), "{claims_location}");
        assert!(!claims_location.contains("error="), "{claims_location}");
    }

    proptest! {
        #[test]
        fn parse_forms_never_panics_on_arbitrary_strings(html in ".{0,300}") {
            let _ = parse_forms(&html);
        }

        #[test]
        fn parse_forms_never_panics_on_html_like_fragments(
            parts in prop::collection::vec(
                prop::sample::select(&[
                    "<form", "<form method=post action='/x'>", "</form>", "<input", " name=", "a", "\"", "'", "=",
                    ">", "<", "/", "<textarea name=t>", "</textarea>", "<select name=s>", "<option",
                    " selected", "</select>", "<button", " type=submit", " value=", "&amp;", "&#x41;", "&#",
                    "<!--", "-->", "<script>", "</script>", " ", "\n", "é", "checked",
                ][..]),
                0..60,
            ),
        ) {
            let html: String = parts.concat();
            for form in parse_forms(&html) {
                let _ = form.fill(&BTreeMap::new(), Some("x"));
            }
        }
    }
}
