//! Query strings and form bodies as `application/x-www-form-urlencoded` writes them: pairs split
//! on `&` and `=`, `+` read as a space, percent escapes decoded. The router (path-key
//! discriminators), validation and the engine all read queries through this one reader.

/// Query pairs, form-decoded, in order.
pub fn parse(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// One form-encoded component.
pub fn decode(s: &str) -> String {
    let spaced = s.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn pairs_decode_plus_and_escapes_and_keep_order() {
        assert_eq!(super::parse("a=1+2&b=%26&&c"), [("a".into(), "1 2".into()), ("b".into(), "&".into()), ("c".into(), String::new())]);
    }
}
