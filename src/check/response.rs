//! A response as steps yield it and checks see it.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::template::get_path;

/// A response as the checks see it: an HTTP answer, or what a step that sends nothing yields
/// (recorded traffic, a summary of parallel answers, saved variables).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Response {
    /// Status (0 when there was no HTTP response, e.g. an adapter step).
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub text: String,
    /// Body JSON, if it parsed.
    pub json: Option<Value>,
    /// For a claims step: the final `Location` back to the client and its query parameters.
    pub redirect: Option<Redirect>,
    /// The index of the exchange in the scenario's record.
    pub exchange: Option<usize>,
    /// More members of the response value (`challenge`, `observed`, `callback`...).
    pub extra: BTreeMap<String, Value>,
}

/// A redirect back to the client.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Redirect {
    /// The full `Location`.
    pub location: String,
    /// Query parameters (a repeated parameter keeps its first value; `repeated` lists it).
    pub params: BTreeMap<String, String>,
    /// Parameters that appeared more than once.
    pub repeated: Vec<String>,
}

impl Redirect {
    /// Parses the query of a URL into parameters, noting repeated names.
    pub fn parse(location: &str) -> Self {
        let mut r = Self {
            location: location.to_string(),
            ..Self::default()
        };
        if let Ok(u) = url::Url::parse(location) {
            for (k, v) in u.query_pairs() {
                if r.params.contains_key(k.as_ref()) {
                    r.repeated.push(k.to_string());
                } else {
                    r.params.insert(k.to_string(), v.to_string());
                }
            }
        }
        r
    }

    /// The redirect as JSON: its parameters, `location` and `repeated`.
    pub fn to_value(&self) -> Value {
        let mut m: serde_json::Map<String, Value> = self
            .params
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        m.insert("location".into(), Value::String(self.location.clone()));
        m.insert(
            "repeated".into(),
            Value::Array(self.repeated.iter().map(|x| Value::String(x.clone())).collect()),
        );
        Value::Object(m)
    }
}

impl Response {
    /// A response whose body is a JSON value (a step that sends nothing).
    pub fn of_json(v: Value) -> Self {
        Self {
            text: v.to_string(),
            json: Some(v),
            ..Self::default()
        }
    }

    /// A header value (case-insensitive), the first one.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All values of a header.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A member of the JSON body.
    pub fn body(&self, path: &str) -> Option<&Value> {
        self.json.as_ref().and_then(|j| get_path(j, path))
    }

    /// A string member of the JSON body.
    pub fn body_str(&self, path: &str) -> Option<&str> {
        self.body(path).and_then(Value::as_str)
    }

    /// `HTTP 400 error=invalid_grant`, for messages.
    pub fn status_line(&self) -> String {
        match self.body_str("error") {
            Some(e) => format!("HTTP {} error={e}", self.status),
            None => format!("HTTP {}", self.status),
        }
    }

    /// The response as one JSON value (`status`, `header`, `body`, `redirect`, and the extra
    /// members) for `save` paths.
    pub fn as_value(&self) -> Value {
        let mut headers = serde_json::Map::new();
        for (k, v) in &self.headers {
            headers
                .entry(k.to_ascii_lowercase())
                .or_insert_with(|| Value::String(v.clone()));
        }
        let redirect = self.redirect.as_ref().map(|r| {
            let mut v = r.to_value();
            if let Some(o) = v.as_object_mut() {
                o.remove("repeated");
            }
            v
        });
        let mut v = serde_json::json!({
            "status": self.status,
            "header": headers,
            "body": self.json.clone().unwrap_or_else(|| Value::String(self.text.clone())),
            "redirect": redirect.unwrap_or(Value::Null),
        });
        if let Some(o) = v.as_object_mut() {
            for (k, x) in &self.extra {
                o.insert(k.clone(), x.clone());
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_keeps_the_first_of_repeated_parameters_and_names_them() {
        let r = Redirect::parse("https://c.example/cb?ticket=a&state=s&ticket=b");
        assert_eq!(r.params["ticket"], "a");
        assert_eq!(r.repeated, vec!["ticket"]);
    }

    #[test]
    fn the_response_value_lower_cases_header_names() {
        let r = Response {
            status: 201,
            headers: vec![("Location".into(), "/r/1".into())],
            ..Response::of_json(serde_json::json!({"_id": "1"}))
        };
        let v = r.as_value();
        assert_eq!(v["header"]["location"], "/r/1");
        assert_eq!(v["body"]["_id"], "1");
        assert_eq!(v["status"], 201);
    }
}
