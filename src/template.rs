//! Templates: values in scenario files that may name variables. `$name` (the whole value,
//! keeping its JSON type), `$name.member[0]` (a path into a saved JSON value), `${name}` inside a
//! longer string, and `$$` for a literal dollar. This module substitutes them, looks up JSON
//! paths, and lists the variables a template names (for load-time validation).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A value that may contain variables.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Tpl(#[schemars(with = "Value")] pub Value);

impl Tpl {
    /// A template of a plain value.
    pub fn new(v: Value) -> Self {
        Self(v)
    }

    /// The variable names it refers to (the first segment of each reference).
    pub fn references(&self) -> Vec<String> {
        let mut out = Vec::new();
        references_in(&self.0, &mut out);
        out
    }
}

/// Every variable a JSON value names, anywhere in its strings and object keys.
pub fn references_in(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.extend(string_references(s)),
        Value::Array(a) => a.iter().for_each(|x| references_in(x, out)),
        Value::Object(o) => {
            for (k, x) in o {
                out.extend(string_references(k));
                references_in(x, out);
            }
        }
        _ => {}
    }
}

/// The variable names a string refers to: `$a.b` → `a`, `x-${b}-y` → `b`.
pub fn string_references(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(rest) = s.strip_prefix('$')
        && !rest.is_empty()
        && !rest.starts_with('{')
        && !rest.starts_with('$')
        && rest.chars().all(is_path_char)
    {
        out.push(root_name(rest).to_string());
        return out;
    }
    let bytes: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == '$' {
            match bytes.get(i + 1) {
                Some('$') => i += 2,
                Some('{') => {
                    let rest: String = bytes[i + 2..].iter().collect();
                    if let Some(end) = rest.find('}') {
                        out.push(root_name(&rest[..end]).to_string());
                        i += 2 + rest[..end].chars().count() + 1;
                    } else {
                        i += 1;
                    }
                }
                _ => i += 1,
            }
        } else {
            i += 1;
        }
    }
    out
}

/// `name` of `name.path[0]`.
pub fn root_name(reference: &str) -> &str {
    match reference.find(['.', '[']) {
        Some(i) => &reference[..i],
        None => reference,
    }
}

/// Looks up `a.b[0].c` in a JSON value; the empty path is the value itself.
pub fn get_path<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = root;
    if path.is_empty() {
        return Some(cur);
    }
    for seg in split_path(path) {
        match seg {
            Seg::Key(k) => cur = cur.as_object()?.get(&k)?,
            Seg::Index(i) => cur = cur.as_array()?.get(i)?,
            Seg::FromEnd(back) => {
                let a = cur.as_array()?;
                cur = a.get(a.len().checked_sub(back)?)?;
            }
        }
    }
    Some(cur)
}

/// Looks up a path that may contain `[*]` (every element of an array): the values found under
/// the wildcard are collected into an array (elements without the rest of the path are left
/// out). Without a wildcard it is [`get_path`].
pub fn select(root: &Value, path: &str) -> Option<Value> {
    match path.find("[*]") {
        None => get_path(root, path).cloned(),
        Some(i) => {
            let head = path[..i].trim_end_matches('.');
            let rest = path[i + 3..].trim_start_matches('.');
            let items = get_path(root, head)?.as_array()?;
            Some(Value::Array(items.iter().filter_map(|x| select(x, rest)).collect()))
        }
    }
}

enum Seg {
    Key(String),
    Index(usize),
    /// `[-1]`: counted from the end.
    FromEnd(usize),
}

fn split_path(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        if let Some(b) = rest.find('[') {
            if b > 0 {
                out.push(Seg::Key(rest[..b].to_string()));
            }
            rest = &rest[b..];
            while let Some(stripped) = rest.strip_prefix('[') {
                match stripped.find(']') {
                    Some(e) => {
                        let inner = &stripped[..e];
                        match (inner.parse::<usize>(), inner.strip_prefix('-').map(str::parse::<usize>)) {
                            (Ok(i), _) => out.push(Seg::Index(i)),
                            (_, Some(Ok(back))) if back > 0 => out.push(Seg::FromEnd(back)),
                            _ => out.push(Seg::Key(inner.to_string())),
                        }
                        rest = &stripped[e + 1..];
                    }
                    None => {
                        out.push(Seg::Key(stripped.to_string()));
                        rest = "";
                    }
                }
            }
        } else if !rest.is_empty() {
            out.push(Seg::Key(rest.to_string()));
        }
    }
    out
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn is_path_char(c: char) -> bool {
    is_name_char(c) || c == '.' || c == '[' || c == ']'
}

/// A template that cannot be filled in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The variable was never set (the step that yields it did not run or did not yield it).
    #[error("variable `${0}` is not set (an earlier step did not yield it)")]
    Unset(String),
    /// The variable is set but has no such member.
    #[error("`${reference}`: `${name}` has no member `{path}`")]
    NoMember {
        /// The whole reference.
        reference: String,
        /// The variable.
        name: String,
        /// The path inside it.
        path: String,
    },
    /// `${` without its `}`.
    #[error("unclosed `${{` in `{0}`")]
    Unclosed(String),
}

/// Resolves `name.path` against the variables (`[*]` collects every element, as in [`select`]).
pub fn lookup(vars: &BTreeMap<String, Value>, reference: &str) -> Result<Value, TemplateError> {
    let (name, path) = match reference.find(['.', '[']) {
        Some(i) => (&reference[..i], reference[i..].trim_start_matches('.')),
        None => (reference, ""),
    };
    let v = vars.get(name).ok_or_else(|| TemplateError::Unset(name.to_string()))?;
    select(v, path).ok_or_else(|| TemplateError::NoMember {
        reference: reference.to_string(),
        name: name.to_string(),
        path: path.to_string(),
    })
}

/// Renders a value inside a string: strings as is, arrays of strings space-separated.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(to_text).collect::<Vec<_>>().join(" "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Substitutes variables in a template value.
pub fn subst(v: &Value, vars: &BTreeMap<String, Value>) -> Result<Value, TemplateError> {
    match v {
        Value::String(s) => subst_str(s, vars),
        Value::Array(a) => a
            .iter()
            .map(|x| subst(x, vars))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        Value::Object(o) => {
            let mut m = serde_json::Map::new();
            for (k, x) in o {
                let key = match subst_str(k, vars)? {
                    Value::String(s) => s,
                    other => to_text(&other),
                };
                m.insert(key, subst(x, vars)?);
            }
            Ok(Value::Object(m))
        }
        other => Ok(other.clone()),
    }
}

fn subst_str(s: &str, vars: &BTreeMap<String, Value>) -> Result<Value, TemplateError> {
    if let Some(rest) = s.strip_prefix('$')
        && !rest.is_empty()
        && !rest.starts_with('{')
        && !rest.starts_with('$')
        && rest.chars().all(is_path_char)
    {
        return lookup(vars, rest);
    }
    if !s.contains('$') {
        return Ok(Value::String(s.to_string()));
    }
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some((_, '$')) => {
                out.push('$');
                chars.next();
            }
            Some((_, '{')) => {
                let start = i + 2;
                let end = s[start..]
                    .find('}')
                    .ok_or_else(|| TemplateError::Unclosed(s.to_string()))?;
                let r = &s[start..start + end];
                out.push_str(&to_text(&lookup(vars, r)?));
                // skip to after the brace
                while let Some((j, _)) = chars.peek() {
                    if *j > start + end {
                        break;
                    }
                    chars.next();
                }
            }
            _ => out.push('$'),
        }
    }
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> BTreeMap<String, Value> {
        let mut v = BTreeMap::new();
        v.insert("t".into(), json!("abc"));
        v.insert("r".into(), json!({"ids": ["x", "y"], "n": 3}));
        v.insert("scopes".into(), json!(["view", "print"]));
        v
    }

    #[test]
    fn a_whole_value_reference_keeps_its_type() {
        assert_eq!(subst(&json!("$r.n"), &vars()).unwrap(), json!(3));
        assert_eq!(subst(&json!("$scopes"), &vars()).unwrap(), json!(["view", "print"]));
        assert_eq!(subst(&json!("$r.ids[1]"), &vars()).unwrap(), json!("y"));
    }

    #[test]
    fn braces_interpolate_inside_strings_and_join_lists_with_spaces() {
        assert_eq!(subst(&json!("a-${t}-b"), &vars()).unwrap(), json!("a-abc-b"));
        assert_eq!(subst(&json!("${scopes}"), &vars()).unwrap(), json!("view print"));
        assert_eq!(subst(&json!("cost $$5"), &vars()).unwrap(), json!("cost $5"));
    }

    #[test]
    fn an_unset_variable_is_an_error_naming_it() {
        let e = subst(&json!("$nope"), &vars()).unwrap_err();
        assert_eq!(e, TemplateError::Unset("nope".into()));
        assert!(e.to_string().contains("$nope"), "{e}");
    }

    #[test]
    fn references_name_the_root_variable_of_each_use() {
        assert_eq!(string_references("$r.ids[1]"), vec!["r"]);
        assert_eq!(string_references("a-${t}-b ${u.x}"), vec!["t", "u"]);
        assert_eq!(string_references("cost $$5"), Vec::<String>::new());
        let t = Tpl::new(json!({"k": ["$a", {"${b}": "$c"}]}));
        assert_eq!(t.references(), vec!["a", "b", "c"]);
    }

    #[test]
    fn a_wildcard_collects_what_every_element_has() {
        let v = json!({"requests": [{"response": {"pct": "a"}}, {"response": {}}, {"response": {"pct": "b"}}]});
        assert_eq!(select(&v, "requests[*].response.pct"), Some(json!(["a", "b"])));
        assert_eq!(select(&v, "requests[*]"), Some(v["requests"].clone()));
        assert_eq!(select(&v, "nothing[*].x"), None);
        assert_eq!(select(&v, "requests[2].response.pct"), Some(json!("b")));
    }

    #[test]
    fn paths_reach_into_arrays_and_objects() {
        let v = json!({"permissions": [{"resource_id": "a", "resource_scopes": ["v"]}]});
        assert_eq!(get_path(&v, "permissions[0].resource_id"), Some(&json!("a")));
        assert_eq!(get_path(&v, ""), Some(&v));
        assert_eq!(get_path(&v, "permissions[3]"), None);
        assert_eq!(get_path(&v, "permissions[-1].resource_id"), Some(&json!("a")));
        assert_eq!(get_path(&v, "permissions[-2]"), None);
    }
}
