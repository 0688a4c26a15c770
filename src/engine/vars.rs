//! Variables: `$name`, `$name.path[0]` and `${name}` substitution, and JSON path lookups.

use std::collections::BTreeMap;

use serde_json::Value;

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
        }
    }
    Some(cur)
}

enum Seg {
    Key(String),
    Index(usize),
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
                        match stripped[..e].parse::<usize>() {
                            Ok(i) => out.push(Seg::Index(i)),
                            Err(_) => out.push(Seg::Key(stripped[..e].to_string())),
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

/// Resolves `name.path` against the variables.
pub fn lookup(vars: &BTreeMap<String, Value>, reference: &str) -> Result<Value, String> {
    let (name, path) = match reference.find(['.', '[']) {
        Some(i) => (&reference[..i], reference[i..].trim_start_matches('.')),
        None => (reference, ""),
    };
    let v = vars
        .get(name)
        .ok_or_else(|| format!("variable `${name}` is not set (an earlier step did not yield it)"))?;
    get_path(v, path)
        .cloned()
        .ok_or_else(|| format!("`${reference}`: `${name}` has no member `{path}`"))
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
pub fn subst(v: &Value, vars: &BTreeMap<String, Value>) -> Result<Value, String> {
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

fn subst_str(s: &str, vars: &BTreeMap<String, Value>) -> Result<Value, String> {
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
                let end = s[start..].find('}').ok_or_else(|| format!("unclosed `${{` in `{s}`"))?;
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
        assert!(e.contains("$nope"), "{e}");
    }

    #[test]
    fn paths_reach_into_arrays_and_objects() {
        let v = json!({"permissions": [{"resource_id": "a", "resource_scopes": ["v"]}]});
        assert_eq!(get_path(&v, "permissions[0].resource_id"), Some(&json!("a")));
        assert_eq!(get_path(&v, ""), Some(&v));
        assert_eq!(get_path(&v, "permissions[3]"), None);
    }
}
