//! Matches a request's method and path to an operation. Templates are compiled into a segment
//! tree once; a concrete segment beats a templated one (the OpenAPI rule, so `/runs:adhoc` never
//! routes to `/runs/{runId}`), and a segment may mix literal text and parameters
//! (`{jobId}:retry`). A known path with the wrong method is told apart from an unknown path.

use std::collections::HashMap;

use http::Method;

use crate::spec::Operation;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    /// The path exists; these methods are served on it.
    MethodNotAllowed {
        allow: Vec<Method>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// Index into the operation list the router was built from.
    pub op: usize,
    /// Percent-decoded path parameters, by name.
    pub params: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Param(String),
}

#[derive(Debug, Default)]
struct Node {
    literal: HashMap<String, Node>,
    /// Templated segments, most literal text first.
    templated: Vec<(Vec<Part>, Node)>,
    methods: Vec<(Method, usize)>,
}

#[derive(Debug, Default)]
pub struct Router {
    root: Node,
}

impl Router {
    pub fn new(ops: &[Operation]) -> Self {
        let mut router = Router::default();
        for (i, op) in ops.iter().enumerate() {
            router.insert(&op.served_path, op.method.clone(), i);
        }
        router.sort();
        router
    }

    /// Adds one route; a later route for the same method and template is ignored (loading reports
    /// such conflicts before a router is built).
    pub fn insert(&mut self, template: &str, method: Method, op: usize) {
        let mut node = &mut self.root;
        for seg in segments(template) {
            let parts = parse_segment(seg);
            node = match parts.as_slice() {
                [Part::Lit(l)] => node.literal.entry(l.clone()).or_default(),
                _ => {
                    let pos = node.templated.iter().position(|(p, _)| same_shape(p, &parts));
                    let pos = pos.unwrap_or_else(|| {
                        node.templated.push((parts, Node::default()));
                        node.templated.len() - 1
                    });
                    &mut node.templated[pos].1
                }
            };
        }
        if !node.methods.iter().any(|(m, _)| *m == method) {
            node.methods.push((method, op));
        }
    }

    fn sort(&mut self) {
        fn visit(n: &mut Node) {
            n.templated.sort_by_key(|(parts, _)| {
                let lit: usize = parts.iter().map(|p| if let Part::Lit(l) = p { l.len() } else { 0 }).sum();
                std::cmp::Reverse(lit)
            });
            n.literal.values_mut().for_each(visit);
            n.templated.iter_mut().for_each(|(_, c)| visit(c));
        }
        visit(&mut self.root);
    }

    /// Finds the operation for `method` on `path` (the raw request path, still percent-encoded).
    /// `HEAD` falls back to `GET`.
    pub fn find(&self, method: &Method, path: &str) -> Result<RouteMatch, RouteError> {
        // Segments without escapes stay borrowed from the path (and are not scanned again).
        let decoded: Vec<std::borrow::Cow<str>> = segments(path)
            .map(|s| if s.contains('%') { percent_encoding::percent_decode_str(s).decode_utf8_lossy() } else { s.into() })
            .collect();
        let mut first_allow: Option<Vec<Method>> = None;
        let mut params = Vec::new();
        let found = find_in(&self.root, &decoded, &mut params, &mut |node: &Node| {
            let hit = node
                .methods
                .iter()
                .find(|(m, _)| m == method)
                .or_else(|| (*method == Method::HEAD).then(|| node.methods.iter().find(|(m, _)| *m == Method::GET)).flatten());
            match hit {
                Some((_, op)) => Some(*op),
                None => {
                    if first_allow.is_none() && !node.methods.is_empty() {
                        first_allow = Some(allow_list(node));
                    }
                    None
                }
            }
        });
        match found {
            Some(op) => Ok(RouteMatch { op, params }),
            None => match first_allow {
                Some(allow) => Err(RouteError::MethodNotAllowed { allow }),
                None => Err(RouteError::NotFound),
            },
        }
    }

    /// The methods served on `path`, if it is a known path.
    pub fn allowed(&self, path: &str) -> Option<Vec<Method>> {
        match self.find(&Method::from_bytes(b"SPECSTUB-PROBE").ok()?, path) {
            Err(RouteError::MethodNotAllowed { allow }) => Some(allow),
            _ => None,
        }
    }
}

fn allow_list(node: &Node) -> Vec<Method> {
    let mut allow: Vec<Method> = node.methods.iter().map(|(m, _)| m.clone()).collect();
    if allow.contains(&Method::GET) && !allow.contains(&Method::HEAD) {
        allow.push(Method::HEAD);
    }
    if !allow.contains(&Method::OPTIONS) {
        allow.push(Method::OPTIONS);
    }
    allow
}

fn find_in(
    node: &Node,
    segs: &[std::borrow::Cow<str>],
    params: &mut Vec<(String, String)>,
    accept: &mut dyn FnMut(&Node) -> Option<usize>,
) -> Option<usize> {
    let Some((seg, rest)) = segs.split_first() else {
        return accept(node);
    };
    if let Some(child) = node.literal.get(seg.as_ref()) {
        if let Some(op) = find_in(child, rest, params, accept) {
            return Some(op);
        }
    }
    for (parts, child) in &node.templated {
        let mark = params.len();
        if match_parts(parts, seg, params) {
            if let Some(op) = find_in(child, rest, params, accept) {
                return Some(op);
            }
        }
        params.truncate(mark);
    }
    None
}

/// Matches one decoded segment against literal/parameter parts; a parameter takes at least one
/// character, and the shortest split that lets the rest match.
fn match_parts(parts: &[Part], seg: &str, params: &mut Vec<(String, String)>) -> bool {
    match parts.split_first() {
        None => seg.is_empty(),
        Some((Part::Lit(l), rest)) => seg.strip_prefix(l.as_str()).is_some_and(|s| match_parts(rest, s, params)),
        Some((Part::Param(name), rest)) => {
            if rest.is_empty() {
                if seg.is_empty() {
                    return false;
                }
                params.push((name.clone(), seg.to_string()));
                return true;
            }
            for (i, _) in seg.char_indices().skip(1).chain(std::iter::once((seg.len(), ' '))) {
                let mark = params.len();
                params.push((name.clone(), seg[..i].to_string()));
                if match_parts(rest, &seg[i..], params) {
                    return true;
                }
                params.truncate(mark);
            }
            false
        }
    }
}

fn same_shape(a: &[Part], b: &[Part]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Part::Lit(p), Part::Lit(q)) => p == q,
            (Part::Param(_), Part::Param(_)) => true,
            _ => false,
        })
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    // A single trailing slash is the same resource: clients disagree on it more than servers do.
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    trimmed.split('/').filter({
        let empty_root = trimmed.is_empty();
        move |_| !empty_root
    })
}

fn parse_segment(seg: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut rest = seg;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        if start > 0 {
            parts.push(Part::Lit(rest[..start].to_string()));
        }
        parts.push(Part::Param(rest[start + 1..start + len].to_string()));
        rest = &rest[start + len + 1..];
    }
    if !rest.is_empty() || parts.is_empty() {
        parts.push(Part::Lit(rest.to_string()));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(routes: &[(&str, &str)]) -> Router {
        let mut r = Router::default();
        for (i, (m, p)) in routes.iter().enumerate() {
            r.insert(p, Method::from_bytes(m.as_bytes()).unwrap(), i);
        }
        r.sort();
        r
    }

    fn params(m: &RouteMatch) -> Vec<(&str, &str)> {
        m.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn concrete_segment_beats_template() {
        let r = router(&[("GET", "/runs/{runId}"), ("GET", "/runs/latest")]);
        assert_eq!(r.find(&Method::GET, "/runs/latest").unwrap().op, 1);
        let m = r.find(&Method::GET, "/runs/abc").unwrap();
        assert_eq!((m.op, params(&m)), (0, vec![("runId", "abc")]));
    }

    #[test]
    fn custom_verb_segments_route_apart_from_the_collection() {
        let r = router(&[
            ("GET", "/api/v2/runs"),
            ("POST", "/api/v2/runs:adhoc"),
            ("GET", "/api/v2/runs/{runId}"),
            ("POST", "/api/v1/jobs/{jobId}:retry"),
            ("POST", "/api/v1/jobs/{jobId}:cancel"),
        ]);
        assert_eq!(r.find(&Method::POST, "/api/v2/runs:adhoc").unwrap().op, 1);
        let m = r.find(&Method::POST, "/api/v1/jobs/job-1:retry").unwrap();
        assert_eq!((m.op, params(&m)), (3, vec![("jobId", "job-1")]));
        assert_eq!(r.find(&Method::POST, "/api/v1/jobs/job-1:cancel").unwrap().op, 4);
        assert_eq!(r.find(&Method::POST, "/api/v1/jobs/job-1:explode"), Err(RouteError::NotFound));
        // An encoded colon is the same path.
        assert_eq!(r.find(&Method::POST, "/api/v1/jobs/a%3Aretry").unwrap().params[0].1, "a");
    }

    #[test]
    fn parameters_are_percent_decoded() {
        let r = router(&[("GET", "/ns/{namespace}/jobs/{job}")]);
        let m = r.find(&Method::GET, "/ns/my%20ns/jobs/a%2Fb").unwrap();
        assert_eq!(params(&m), vec![("namespace", "my ns"), ("job", "a/b")]);
    }

    #[test]
    fn wrong_method_lists_allowed_methods() {
        let r = router(&[("GET", "/runs"), ("POST", "/runs"), ("GET", "/runs/{id}")]);
        assert_eq!(
            r.find(&Method::TRACE, "/runs"),
            Err(RouteError::MethodNotAllowed { allow: vec![Method::GET, Method::POST, Method::HEAD, Method::OPTIONS] })
        );
        assert_eq!(r.find(&Method::GET, "/nothing"), Err(RouteError::NotFound));
        assert_eq!(r.find(&Method::GET, "/runs/a/b"), Err(RouteError::NotFound));
    }

    #[test]
    fn head_falls_back_to_get_and_trailing_slash_is_ignored() {
        let r = router(&[("GET", "/runs")]);
        assert_eq!(r.find(&Method::HEAD, "/runs/").unwrap().op, 0);
        assert_eq!(r.find(&Method::GET, "/runs?x=1").unwrap().op, 0);
    }

    #[test]
    fn a_template_that_fails_deeper_gives_way_to_the_next() {
        let r = router(&[("GET", "/a/{x}/b"), ("GET", "/{y}/c/d")]);
        let m = r.find(&Method::GET, "/a/c/d").unwrap();
        assert_eq!((m.op, params(&m)), (1, vec![("y", "a")]));
    }

    #[test]
    fn mixed_segment_with_two_parameters() {
        let r = router(&[("GET", "/files/{name}.{ext}")]);
        let m = r.find(&Method::GET, "/files/report.tar.gz").unwrap();
        assert_eq!(params(&m), vec![("name", "report"), ("ext", "tar.gz")]);
    }

    #[test]
    fn root_path_routes() {
        let r = router(&[("GET", "/")]);
        assert_eq!(r.find(&Method::GET, "/").unwrap().op, 0);
    }
}
