//! Media-type matching shared by request checks (`Content-Type` → 415, `Accept` → 406) and the
//! responder (which declared representation to send).

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

/// The Accept header's ranges, best first; a range with q=0 is dropped.
fn accept_ranges(accept: &str) -> Vec<(String, f32)> {
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
        .filter(|(_, q)| *q > 0.0)
        .collect();
    // Stable sort keeps the client's order among equal weights; specific beats wildcard.
    ranges.sort_by(|a, b| {
        b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.0.matches('*').count().cmp(&b.0.matches('*').count()))
    });
    ranges
}

/// Picks the index of the declared media type to answer with, or None when the client accepts
/// none of them. No Accept header (or an empty one) accepts anything, JSON first.
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
}
