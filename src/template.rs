//! Path templates as documents write them: `/runs/{runId}:cancel`, `/files/{name}.{ext}`, and
//! the RPC convention of a discriminator after the path (`/#X-Amz-Target=Svc.Op`,
//! `/?Action=Describe`, `/{Bucket}?acl`). The one scanner of `{name}` placeholders: the router,
//! the compiler's bindings, lint, behaviour's `Location` and verify's requests all read templates
//! through it, so they agree on what a parameter is.

/// A piece of a template: literal text or a `{name}` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Param(&'a str),
}

/// Splits `template` into text and parameters, in order. An unclosed `{` is text.
pub fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|c| open + c) else { break };
        if open > 0 {
            out.push(Piece::Text(&rest[..open]));
        }
        out.push(Piece::Param(&rest[open + 1..close]));
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

/// The parameter names of a path template, before any discriminator (which holds none).
pub fn names(template: &str) -> Vec<String> {
    pieces(split_key(template).0)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Param(n) => Some(n.to_string()),
            Piece::Text(_) => None,
        })
        .collect()
}

/// `template` with each parameter replaced by `value(name)`; a parameter without a value stays
/// as written.
pub fn fill(template: &str, mut value: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    for piece in pieces(template) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Param(name) => match value(name) {
                Some(v) => out.push_str(&v),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
    }
    out
}

/// A condition from a path key's `#…` or `?…` part: a header or query parameter `name` that must
/// be present and, when `value` is given, equal it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Discriminator {
    pub name: String,
    pub value: Option<String>,
}

/// Splits a path key into its path and the discriminators after `#` or `?`.
pub fn split_key(template: &str) -> (&str, Vec<Discriminator>) {
    let Some(at) = template.find(['?', '#']) else {
        return (template, Vec::new());
    };
    let mut when: Vec<Discriminator> = template[at + 1..]
        .split(['&', '#'])
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => Discriminator { name: k.to_string(), value: Some(v.to_string()) },
            None => Discriminator { name: pair.to_string(), value: None },
        })
        .collect();
    when.sort();
    when.dedup();
    (&template[..at], when)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_split_text_and_parameters() {
        assert_eq!(pieces("{name}.{ext}"), [Piece::Param("name"), Piece::Text("."), Piece::Param("ext")]);
        assert_eq!(pieces("/jobs/{id}:retry"), [Piece::Text("/jobs/"), Piece::Param("id"), Piece::Text(":retry")]);
        assert_eq!(pieces("/a/{open"), [Piece::Text("/a/{open")]);
    }

    #[test]
    fn names_are_the_parameters_before_a_discriminator() {
        assert_eq!(names("/a/{x}/b/{y}:retry"), vec!["x", "y"]);
        assert_eq!(names("/{Bucket}?list-type=2"), vec!["Bucket"]);
        assert!(names("/#X-Amz-Target=Svc.{Op}").is_empty());
    }

    #[test]
    fn fill_keeps_parameters_it_has_no_value_for() {
        let filled = fill("/ns/{ns}/jobs/{job}", |n| (n == "ns").then(|| "demo".to_string()));
        assert_eq!(filled, "/ns/demo/jobs/{job}");
    }

    #[test]
    fn split_key_reads_both_conventions() {
        assert_eq!(split_key("/users/{id}"), ("/users/{id}", vec![]));
        let (path, when) = split_key("/v1/#X-Amz-Target=Svc.Op");
        assert_eq!((path, when), ("/v1/", vec![Discriminator { name: "X-Amz-Target".into(), value: Some("Svc.Op".into()) }]));
        let (path, when) = split_key("/{Bucket}?acl");
        assert_eq!((path, when), ("/{Bucket}", vec![Discriminator { name: "acl".into(), value: None }]));
    }
}
