//! Media-type matching shared by request checks (`Content-Type` → 415, `Accept` → 406) and the
//! responder (which declared representation to send). A structured-syntax suffix stands in for
//! its base type when nothing else matches: clients of vendor APIs ask for
//! `application/vnd.github+json` where the document only declares `application/json`.

/// The bare, lower-case media type of a header value (`application/json; charset=utf-8` →
/// `application/json`).
pub fn essence(value: &str) -> String {
    value.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Whether a declared media range (`application/*`, `*/*`, `application/json`) covers `actual`.
pub fn covers(range: &str, actual: &str) -> bool {
    let range = essence(range);
    let actual = essence(actual);
    if range == "*/*" || range == actual {
        return true;
    }
    match (range.split_once('/'), actual.split_once('/')) {
        (Some((rt, "*")), Some((at, _))) => rt == at,
        _ => false,
    }
}

pub fn is_json(media: &str) -> bool {
    let m = essence(media);
    m == "application/json" || m.ends_with("+json") || m == "*/*" || m == "application/*"
}

/// The type a structured-syntax suffix names (`application/vnd.github+json` →
/// `application/json`, `+xml` → `application/xml`); other types are their own base.
pub fn base(media: &str) -> String {
    let m = essence(media);
    let based = match (m.split_once('/'), m.rfind('+')) {
        (Some((_, sub)), Some(plus)) if sub != "*" && plus + 1 < m.len() => format!("application/{}", &m[plus + 1..]),
        _ => m,
    };
    // The two XML names are one syntax.
    if based == "text/xml" { "application/xml".to_string() } else { based }
}

/// The Accept header's ranges, best first; a range with q=0 is dropped.
fn accept_ranges(accept: &str) -> Vec<(String, f32)> {
    let mut ranges = weighted_ranges(accept);
    ranges.retain(|(_, q)| *q > 0.0);
    ranges
}

/// Every range of the Accept header with its weight, refusals (q=0) included.
fn weighted_ranges(accept: &str) -> Vec<(String, f32)> {
    let mut ranges: Vec<(String, f32)> = accept
        .split(',')
        .filter_map(|part| {
            let mut bits = part.split(';');
            let range = bits.next()?.trim().to_ascii_lowercase();
            if range.is_empty() {
                return None;
            }
            let q = bits.filter_map(|b| b.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok())).next().unwrap_or(1.0);
            Some((range, q))
        })
        .collect();
    // Stable sort keeps the client's order among equal weights; specific beats wildcard.
    ranges.sort_by(|a, b| {
        b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.0.matches('*').count().cmp(&b.0.matches('*').count()))
    });
    ranges
}

/// Picks the index of the declared media type to answer with, or None when the client accepts
/// none of them. No Accept header (or an empty one) accepts anything, JSON first. When no range
/// covers a declared type, one of the same base syntax is taken (`+json` ↔ `application/json`),
/// unless the client refused that type by name.
pub fn choose(accept: Option<&str>, declared: &[&str]) -> Option<usize> {
    if declared.is_empty() {
        return Some(0);
    }
    let accept = accept.map(str::trim).filter(|a| !a.is_empty());
    let Some(accept) = accept else {
        return Some(declared.iter().position(|d| is_json(d)).unwrap_or(0));
    };
    for (range, _) in accept_ranges(accept) {
        if range == "*/*" {
            return Some(declared.iter().position(|d| is_json(d)).unwrap_or(0));
        }
        if let Some(i) = declared.iter().position(|d| covers(&range, d) || covers(d, &range)) {
            return Some(i);
        }
    }
    let refused: Vec<String> = weighted_ranges(accept).into_iter().filter(|(_, q)| *q <= 0.0).map(|(r, _)| r).collect();
    for (range, _) in accept_ranges(accept) {
        let wanted = base(&range);
        if let Some(i) = declared.iter().position(|d| base(d) == wanted && !refused.contains(&essence(d))) {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn essence_drops_parameters_and_case() {
        assert_eq!(essence("Application/JSON; charset=utf-8"), "application/json");
    }

    #[test]
    fn wildcards_cover_subtypes() {
        assert!(covers("application/*", "application/merge-patch+json"));
        assert!(covers("*/*", "text/plain"));
        assert!(!covers("text/*", "application/json"));
    }

    #[test]
    fn choose_respects_quality_and_defaults_to_json() {
        let declared = ["application/xml", "application/json"];
        assert_eq!(choose(None, &declared), Some(1));
        assert_eq!(choose(Some("application/xml"), &declared), Some(0));
        assert_eq!(choose(Some("application/xml;q=0.5, application/json"), &declared), Some(1));
        assert_eq!(choose(Some("text/html"), &declared), None);
        assert_eq!(choose(Some("text/html, */*;q=0.1"), &declared), Some(1));
        assert_eq!(choose(Some("application/json;q=0"), &["application/json"]), None);
    }

    #[test]
    fn a_suffixed_vendor_type_is_answered_with_its_base_type() {
        let declared = ["application/json"];
        assert_eq!(choose(Some("application/vnd.github+json"), &declared), Some(0));
        assert_eq!(choose(Some("application/vnd.github.v3+json; charset=utf-8"), &declared), Some(0));
        assert_eq!(choose(Some("application/vnd.acme+xml"), &["text/xml", "application/json"]), Some(0));
        assert_eq!(choose(Some("application/vnd.acme+xml"), &declared), None);
        // A JSON client takes the declared vendor JSON too.
        assert_eq!(choose(Some("application/json"), &["application/vnd.github+json"]), Some(0));
    }

    #[test]
    fn a_declared_match_beats_a_suffix_match_and_a_refusal_holds() {
        let declared = ["application/json", "application/vnd.github+json"];
        assert_eq!(choose(Some("application/vnd.github+json"), &declared), Some(1));
        assert_eq!(choose(Some("application/vnd.github.raw+json, text/plain"), &["text/plain", "application/json"]), Some(0));
        assert_eq!(choose(Some("application/vnd.github+json, application/json;q=0"), &["application/json"]), None);
    }

    #[test]
    fn base_names_the_suffix_syntax() {
        assert_eq!(base("application/vnd.github+json"), "application/json");
        assert_eq!(base("application/problem+xml"), "application/xml");
        assert_eq!(base("Application/JSON"), "application/json");
        assert_eq!(base("application/*"), "application/*");
        assert_eq!(base("text/xml"), "application/xml");
    }
}
