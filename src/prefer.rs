//! Reads the `Prefer` request header (RFC 7240) through which a client steers the mock, with
//! Prism's vocabulary: `code=404`, `example=NAME`, `dynamic=true`, and Prism's query spelling of
//! the same (`?__code=404`, `?__example=NAME`, `?__dynamic=true`), for clients that cannot set
//! headers (a browser's address bar, an `<img src>`).

use http::HeaderMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefer {
    pub code: Option<u16>,
    pub example: Option<String>,
    pub dynamic: Option<bool>,
    /// Every preference as given, for the steps that read others (latency, faults).
    pub all: Vec<(String, String)>,
}

/// The query parameters that steer the mock rather than reach the operation.
const QUERY_STEERING: [&str; 3] = ["__code", "__example", "__dynamic"];

impl Prefer {
    /// Takes Prism's `__code`, `__example` and `__dynamic` out of the query (they are no
    /// parameters of the operation, so validation and behaviour never see them) and applies
    /// them, over what the header said: the URL is the more specific ask, and that is Prism's
    /// order too. Returns the pairs taken, for the journal.
    pub fn take_query(&mut self, query: &mut Vec<(String, String)>) -> Vec<(String, String)> {
        if !query.iter().any(|(k, _)| k.starts_with("__")) {
            return Vec::new();
        }
        let (steering, rest): (Vec<_>, Vec<_>) = std::mem::take(query).into_iter().partition(|(k, _)| QUERY_STEERING.contains(&k.as_str()));
        *query = rest;
        for (k, v) in &steering {
            // `?__dynamic` alone asks, as a bare `Prefer: dynamic` does.
            let v = if v.is_empty() { "true" } else { v.as_str() };
            self.set(k[2..].to_string(), v.to_string());
        }
        steering
    }

    /// Sets a preference, replacing an earlier one of that name.
    fn set(&mut self, k: String, v: String) {
        match k.as_str() {
            "code" => self.code = v.parse().ok(),
            "example" => self.example = Some(v.clone()),
            "dynamic" => self.dynamic = Some(v.eq_ignore_ascii_case("true")),
            _ => {}
        }
        self.all.retain(|(name, _)| *name != k);
        self.all.push((k, v));
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.all.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

pub fn parse(headers: &HeaderMap) -> Prefer {
    let mut p = Prefer::default();
    for value in headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()) {
        for item in value.split([',', ';']) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let (k, v) = item.split_once('=').unwrap_or((item, "true"));
            let k = k.trim().to_ascii_lowercase();
            // Only the first instance of a preference counts (RFC 7240 §2).
            if p.get(&k).is_none() {
                p.set(k, v.trim().trim_matches('"').to_string());
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_prism_preferences_from_one_or_many_headers() {
        let mut h = HeaderMap::new();
        h.append("prefer", "code=404, example=\"missing\"".parse().unwrap());
        h.append("Prefer", "dynamic=true; latency=20ms, code=500".parse().unwrap());
        let p = parse(&h);
        assert_eq!(p.code, Some(404));
        assert_eq!(p.example.as_deref(), Some("missing"));
        assert_eq!(p.dynamic, Some(true));
        assert_eq!(p.get("latency"), Some("20ms"));
    }

    #[test]
    fn prism_query_overrides_leave_the_query_and_win_over_the_header() {
        // Arrange
        let mut h = HeaderMap::new();
        h.append("prefer", "code=404, dynamic=true".parse().unwrap());
        let mut p = parse(&h);
        let mut query: Vec<(String, String)> =
            [("limit", "3"), ("__code", "500"), ("__dynamic", "false"), ("__example", "big"), ("__other", "x")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into();
        // Act
        let taken = p.take_query(&mut query);
        // Assert
        assert_eq!(taken.len(), 3);
        assert_eq!(query, [("limit".to_string(), "3".to_string()), ("__other".to_string(), "x".to_string())]);
        assert_eq!((p.code, p.example.as_deref(), p.dynamic), (Some(500), Some("big"), Some(false)));
        assert_eq!(p.get("code"), Some("500"));
    }

    #[test]
    fn a_bare_dynamic_query_parameter_asks_for_generated_data() {
        let mut p = Prefer::default();
        let mut query = vec![("__dynamic".to_string(), String::new())];
        p.take_query(&mut query);
        assert_eq!(p.dynamic, Some(true));
    }
}
