//! W3C Trace Context (<https://www.w3.org/TR/trace-context/>): every answer carries a
//! `traceparent` that continues the caller's trace (same trace id, a new span id for specstub's
//! own span) or starts a fresh one, and echoes the caller's `tracestate`.

use http::{HeaderMap, HeaderName, HeaderValue};

pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
pub const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// The part of an incoming `traceparent` that is carried on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parent {
    pub trace_id: u128,
    pub span_id: u64,
    pub flags: u8,
}

/// Reads a `traceparent` value; `None` when it is not valid (then a fresh trace starts).
pub fn parse(value: &str) -> Option<Parent> {
    let v = value.trim();
    let mut parts = v.splitn(5, '-');
    let version = parts.next()?;
    let trace = parts.next()?;
    let span = parts.next()?;
    let flags = parts.next()?;
    let rest = parts.next();
    if version.len() != 2 || !is_lower_hex(version) || version == "ff" {
        return None;
    }
    // Version 00 has exactly four fields; later versions may append more after a '-'.
    if version == "00" && rest.is_some() {
        return None;
    }
    if trace.len() != 32 || span.len() != 16 || flags.len() != 2 || ![trace, span, flags].iter().all(|p| is_lower_hex(p)) {
        return None;
    }
    let trace_id = u128::from_str_radix(trace, 16).ok().filter(|t| *t != 0)?;
    let span_id = u64::from_str_radix(span, 16).ok().filter(|s| *s != 0)?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some(Parent { trace_id, span_id, flags })
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A `traceparent` value (version 00).
pub fn format(trace_id: u128, span_id: u64, flags: u8) -> String {
    // Written by hand: this runs for every answer, and `format!` with padded hex was ~7 % of a GET.
    fn hex(out: &mut String, v: u128, digits: u32) {
        for i in (0..digits).rev() {
            out.push(char::from(b"0123456789abcdef"[((v >> (4 * i)) & 0xf) as usize]));
        }
    }
    let mut out = String::with_capacity(55);
    out.push_str("00-");
    hex(&mut out, trace_id, 32);
    out.push('-');
    hex(&mut out, u128::from(span_id), 16);
    out.push('-');
    hex(&mut out, u128::from(flags), 2);
    out
}

fn nonzero_u128() -> u128 {
    loop {
        let v: u128 = rand::random();
        if v != 0 {
            return v;
        }
    }
}

fn nonzero_u64() -> u64 {
    loop {
        let v: u64 = rand::random();
        if v != 0 {
            return v;
        }
    }
}

/// The trace headers of the answer to a request with these headers: the caller's trace
/// continued with a new span id (the sampled flag kept), else a fresh sampled trace. `tracestate`
/// is echoed only with a valid `traceparent`, as the W3C recommendation requires.
pub fn answer_headers(request: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    let parent = request.get(TRACEPARENT).and_then(|v| v.to_str().ok()).and_then(parse);
    let mut out = Vec::with_capacity(2);
    let value = match parent {
        Some(p) => format(p.trace_id, nonzero_u64(), p.flags & 0x01),
        None => format(nonzero_u128(), nonzero_u64(), 0x01),
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        out.push((TRACEPARENT, v));
    }
    if parent.is_some() {
        let states: Vec<&str> = request.get_all(TRACESTATE).iter().filter_map(|v| v.to_str().ok()).collect();
        if !states.is_empty() {
            if let Ok(v) = HeaderValue::from_str(&states.join(",")) {
                out.push((TRACESTATE, v));
            }
        }
    }
    out
}

/// The trace id an answer carries, for logs.
pub fn trace_id_of(response: &HeaderMap) -> Option<&str> {
    response.get(TRACEPARENT).and_then(|v| v.to_str().ok()).and_then(|v| v.get(3..35))
}

/// The trace headers of a request, kept by the server while the request is being answered, so
/// that answers made outside traffic control (404, admin, 413...) carry trace context too.
#[derive(Debug, Default)]
pub struct Carrier {
    request: HeaderMap,
}

impl Carrier {
    pub fn capture(request: &HeaderMap) -> Self {
        let mut kept = HeaderMap::new();
        for name in [TRACEPARENT, TRACESTATE] {
            for v in request.get_all(&name) {
                kept.append(name.clone(), v.clone());
            }
        }
        Self { request: kept }
    }

    /// Adds trace headers to an answer that has none yet.
    pub fn ensure(&self, response: &mut HeaderMap) {
        if response.contains_key(TRACEPARENT) {
            return;
        }
        for (k, v) in answer_headers(&self.request) {
            response.insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn formats_zero_padded_lower_hex() {
        for (t, s, f) in
            [(1u128, 1u64, 0u8), (u128::MAX, u64::MAX, 0xff), (0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736, 0x00f0_67aa_0ba9_02b7, 1)]
        {
            assert_eq!(format(t, s, f), std::format!("00-{t:032x}-{s:016x}-{f:02x}"));
        }
    }

    #[test]
    fn parses_the_w3c_example_and_refuses_malformed_values() {
        let p = parse(CALLER).unwrap();
        assert_eq!(p.trace_id, 0x4bf92f3577b34da6a3ce929d0e0e4736);
        assert_eq!(p.span_id, 0x00f067aa0ba902b7);
        assert_eq!(p.flags, 1);
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        // A later version may carry more fields.
        assert!(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-whatever").is_some());
    }

    #[test]
    fn continues_the_callers_trace_with_a_new_span_and_echoes_tracestate() {
        let mut h = HeaderMap::new();
        h.insert(TRACEPARENT, HeaderValue::from_static(CALLER));
        h.append(TRACESTATE, HeaderValue::from_static("congo=t61rcWkgMzE"));
        h.append(TRACESTATE, HeaderValue::from_static("rojo=00f067aa0ba902b7"));
        let out = answer_headers(&h);
        let tp = out[0].1.to_str().unwrap();
        let p = parse(tp).unwrap();
        assert_eq!(p.trace_id, 0x4bf92f3577b34da6a3ce929d0e0e4736);
        assert_ne!(p.span_id, 0x00f067aa0ba902b7);
        assert!(tp.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && tp.ends_with("-01"));
        assert_eq!(out[1], (TRACESTATE, HeaderValue::from_static("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")));
    }

    #[test]
    fn starts_a_fresh_trace_without_a_valid_parent_and_drops_its_tracestate() {
        let mut h = HeaderMap::new();
        h.insert(TRACEPARENT, HeaderValue::from_static("garbage"));
        h.insert(TRACESTATE, HeaderValue::from_static("congo=t61rcWkgMzE"));
        let out = answer_headers(&h);
        assert_eq!(out.len(), 1);
        let tp = out[0].1.to_str().unwrap();
        assert_eq!(tp.len(), 55);
        assert!(parse(tp).is_some(), "{tp}");
        let mut resp = HeaderMap::new();
        Carrier::capture(&HeaderMap::new()).ensure(&mut resp);
        assert!(trace_id_of(&resp).is_some_and(|t| t.len() == 32));
    }
}
