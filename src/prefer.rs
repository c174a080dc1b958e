//! Reads the `Prefer` request header (RFC 7240) through which a client steers the mock, with
//! Prism's vocabulary: `code=404`, `example=NAME`, `dynamic=true`.

use http::HeaderMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefer {
    pub code: Option<u16>,
    pub example: Option<String>,
    pub dynamic: Option<bool>,
    /// Every preference as given, for the steps that read others (latency, faults).
    pub all: Vec<(String, String)>,
}

impl Prefer {
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
            let v = v.trim().trim_matches('"').to_string();
            match k.as_str() {
                "code" => p.code = v.parse().ok(),
                "example" => p.example = Some(v.clone()),
                "dynamic" => p.dynamic = Some(v.eq_ignore_ascii_case("true")),
                _ => {}
            }
            p.all.push((k, v));
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
        h.append("Prefer", "dynamic=true; latency=20ms".parse().unwrap());
        let p = parse(&h);
        assert_eq!(p.code, Some(404));
        assert_eq!(p.example.as_deref(), Some("missing"));
        assert_eq!(p.dynamic, Some(true));
        assert_eq!(p.get("latency"), Some("20ms"));
    }
}
