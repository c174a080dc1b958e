//! Matches a request's method and path to an operation. Templates are compiled into a segment
//! tree once; a concrete segment beats a templated one (the OpenAPI rule, so `/runs:adhoc` never
//! routes to `/runs/{runId}`), and a segment may mix literal text and parameters
//! (`{jobId}:retry`). A known path with the wrong method is told apart from an unknown path.
//!
//! Templates of the same shape share a tree node whatever their parameters are called, so the
//! values are collected by position and named from the matched operation's own template:
//! `/users/{username}` and `/users/{user_id}/projects` each bind their own name. A path key may
//! carry a discriminator after `#` or `?` (`/#X-Amz-Target=Svc.Op`, `/?Action=Describe`,
//! `/{Bucket}?acl`), the way RPC-style APIs put many operations on one path: such a route also
//! needs a header or query parameter of that name (with that value, when one is given).

use std::borrow::Cow;
use std::collections::HashMap;

use http::{HeaderMap, Method};

use crate::spec::Operation;
use crate::template::{Discriminator, Piece, pieces, split_key};

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
    /// Percent-decoded path parameters, by the names of the matched operation's template.
    pub params: Vec<(String, String)>,
}

/// An operation that can never be reached: `by` (declared first) takes all of its requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shadowed {
    pub op: usize,
    pub by: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Param(String),
}

#[derive(Debug)]
struct Leaf {
    method: Method,
    op: usize,
    /// The template's parameter names, in path order.
    names: Vec<String>,
    /// Sorted, so two spellings of one condition compare equal.
    when: Vec<Discriminator>,
}

#[derive(Debug, Default)]
struct Node {
    literal: HashMap<String, Node>,
    /// Templated segments, most literal text first. The names in a key are the first template's;
    /// only the shape is compared.
    templated: Vec<(Vec<Part>, Node)>,
    leaves: Vec<Leaf>,
}

#[derive(Debug, Default)]
pub struct Router {
    root: Node,
    shadowed: Vec<Shadowed>,
}

/// What a request offers to discriminators; the query is parsed only when a route asks.
struct Offer<'a> {
    query: Option<&'a str>,
    parsed: Option<Vec<(String, String)>>,
    headers: &'a HeaderMap,
}

impl Offer<'_> {
    fn satisfies(&mut self, d: &Discriminator) -> bool {
        let header = self.headers.get_all(d.name.as_str()).iter().any(|v| match &d.value {
            None => true,
            Some(want) => v.as_bytes() == want.as_bytes(),
        });
        if header {
            return true;
        }
        let query = self.query;
        let pairs = self.parsed.get_or_insert_with(|| query.map(crate::query::parse).unwrap_or_default());
        pairs.iter().any(|(k, v)| *k == d.name && d.value.as_ref().is_none_or(|want| want == v))
    }
}

/// Why a node with routes did not take the request; the first such node decides the error.
enum Miss<'n> {
    /// No route for the method at this node.
    Method(&'n Node),
    /// Routes for the method, but none whose discriminators the request meets.
    Discriminator,
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

    /// Adds one route. A later route for the same method, shape and discriminators is never
    /// reached: it is listed in [`Router::shadowed`] (first declared wins).
    pub fn insert(&mut self, template: &str, method: Method, op: usize) {
        let (path, when) = split_key(template);
        let mut node = &mut self.root;
        let mut names = Vec::new();
        for seg in segments(path) {
            let parts = parse_segment(seg);
            names.extend(parts.iter().filter_map(|p| if let Part::Param(n) = p { Some(n.clone()) } else { None }));
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
        if let Some(first) = node.leaves.iter().find(|l| l.method == method && l.when == when) {
            self.shadowed.push(Shadowed { op, by: first.op });
            return;
        }
        node.leaves.push(Leaf { method, op, names, when });
    }

    /// Routes that can never be reached, in insertion order.
    pub fn shadowed(&self) -> &[Shadowed] {
        &self.shadowed
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

    /// Finds the operation for `method` on `path` (the raw request path, still percent-encoded;
    /// a `?query` on it is read as the query). Routes that need a header never match here: use
    /// [`Router::find_request`].
    pub fn find(&self, method: &Method, path: &str) -> Result<RouteMatch, RouteError> {
        let (path, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
        self.find_request(method, path, query, &HeaderMap::new())
    }

    /// Finds the operation for a request: `path` raw (still percent-encoded), `query` without its
    /// `?`. `HEAD` falls back to `GET`. Among routes on one path and method, the one with the most
    /// discriminators that the headers or query meet wins, then the one without any.
    pub fn find_request(&self, method: &Method, path: &str, query: Option<&str>, headers: &HeaderMap) -> Result<RouteMatch, RouteError> {
        // Segments without escapes stay borrowed from the path (and are not scanned again).
        let decoded: Vec<Cow<str>> = segments(path)
            .map(|s| if s.contains('%') { percent_encoding::percent_decode_str(s).decode_utf8_lossy() } else { s.into() })
            .collect();
        let mut offer = Offer { query, parsed: None, headers };
        let mut first_miss: Option<Miss> = None;
        let mut values = Vec::new();
        let found = find_in(&self.root, &decoded, &mut values, &mut |node| match pick(node, method, &mut offer) {
            Ok(leaf) => Some(leaf),
            Err(miss) => {
                if first_miss.is_none() && !node.leaves.is_empty() {
                    first_miss = Some(miss);
                }
                None
            }
        });
        match found {
            Some(leaf) => {
                let params = leaf.names.iter().cloned().zip(values.into_iter().map(String::from)).collect();
                Ok(RouteMatch { op: leaf.op, params })
            }
            None => match first_miss {
                Some(Miss::Method(node)) => Err(RouteError::MethodNotAllowed { allow: allow_list(node) }),
                _ => Err(RouteError::NotFound),
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

/// The leaf at `node` that takes the request, or why none does.
fn pick<'n>(node: &'n Node, method: &Method, offer: &mut Offer) -> Result<&'n Leaf, Miss<'n>> {
    let serves = |m: &Method| node.leaves.iter().any(|l| l.method == *m);
    let method = if *method == Method::HEAD && !serves(method) { &Method::GET } else { method };
    if !serves(method) {
        return Err(Miss::Method(node));
    }
    let mut best: Option<&Leaf> = None;
    for leaf in node.leaves.iter().filter(|l| l.method == *method && !l.when.is_empty()) {
        if best.is_none_or(|b| leaf.when.len() > b.when.len()) && leaf.when.iter().all(|d| offer.satisfies(d)) {
            best = Some(leaf);
        }
    }
    best.or_else(|| node.leaves.iter().find(|l| l.method == *method && l.when.is_empty())).ok_or(Miss::Discriminator)
}

fn allow_list(node: &Node) -> Vec<Method> {
    let mut allow: Vec<Method> = Vec::new();
    for leaf in &node.leaves {
        if !allow.contains(&leaf.method) {
            allow.push(leaf.method.clone());
        }
    }
    if allow.contains(&Method::GET) && !allow.contains(&Method::HEAD) {
        allow.push(Method::HEAD);
    }
    if !allow.contains(&Method::OPTIONS) {
        allow.push(Method::OPTIONS);
    }
    allow
}

fn find_in<'n, 's>(
    node: &'n Node,
    segs: &'s [Cow<str>],
    values: &mut Vec<&'s str>,
    accept: &mut dyn FnMut(&'n Node) -> Option<&'n Leaf>,
) -> Option<&'n Leaf> {
    let Some((seg, rest)) = segs.split_first() else {
        return accept(node);
    };
    if let Some(child) = node.literal.get(seg.as_ref()) {
        if let Some(leaf) = find_in(child, rest, values, accept) {
            return Some(leaf);
        }
    }
    for (parts, child) in &node.templated {
        let mark = values.len();
        if match_parts(parts, seg, values) {
            if let Some(leaf) = find_in(child, rest, values, accept) {
                return Some(leaf);
            }
        }
        values.truncate(mark);
    }
    None
}

/// Matches one decoded segment against literal/parameter parts, pushing each parameter's value; a
/// parameter takes at least one character, and the shortest split that lets the rest match.
fn match_parts<'s>(parts: &[Part], seg: &'s str, values: &mut Vec<&'s str>) -> bool {
    match parts.split_first() {
        None => seg.is_empty(),
        Some((Part::Lit(l), rest)) => seg.strip_prefix(l.as_str()).is_some_and(|s| match_parts(rest, s, values)),
        Some((Part::Param(_), rest)) => {
            if rest.is_empty() {
                if seg.is_empty() {
                    return false;
                }
                values.push(seg);
                return true;
            }
            for (i, _) in seg.char_indices().skip(1).chain(std::iter::once((seg.len(), ' '))) {
                let mark = values.len();
                values.push(&seg[..i]);
                if match_parts(rest, &seg[i..], values) {
                    return true;
                }
                values.truncate(mark);
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
    let mut parts: Vec<Part> = pieces(seg)
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => Part::Lit(t.to_string()),
            Piece::Param(n) => Part::Param(n.to_string()),
        })
        .collect();
    if parts.is_empty() {
        parts.push(Part::Lit(String::new()));
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

    fn header(name: &str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        h
    }

    #[test]
    fn sibling_templates_bind_the_names_of_the_matched_operation_in_either_order() {
        let github =
            [("GET", "/users/{username}"), ("GET", "/users/{user_id}/projectsV2/{project_number}"), ("GET", "/users/{username}/repos")];
        let reversed: Vec<_> = github.iter().rev().copied().collect();
        for (routes, [user, project, repos]) in [(github.to_vec(), [0, 1, 2]), (reversed, [2, 1, 0])] {
            let r = router(&routes);
            let m = r.find(&Method::GET, "/users/octocat").unwrap();
            assert_eq!((m.op, params(&m)), (user, vec![("username", "octocat")]));
            let m = r.find(&Method::GET, "/users/42/projectsV2/7").unwrap();
            assert_eq!((m.op, params(&m)), (project, vec![("user_id", "42"), ("project_number", "7")]));
            let m = r.find(&Method::GET, "/users/octocat/repos").unwrap();
            assert_eq!((m.op, params(&m)), (repos, vec![("username", "octocat")]));
        }
    }

    #[test]
    fn two_parameter_prefixes_keep_their_own_names_down_to_mixed_segments() {
        let r = router(&[
            ("GET", "/{owner}/{repo}/issues"),
            ("GET", "/{org}/{team}/members"),
            ("GET", "/files/{name}.json"),
            ("GET", "/files/{id}.json/meta"),
        ]);
        let m = r.find(&Method::GET, "/acme/widgets/issues").unwrap();
        assert_eq!((m.op, params(&m)), (0, vec![("owner", "acme"), ("repo", "widgets")]));
        let m = r.find(&Method::GET, "/acme/core/members").unwrap();
        assert_eq!((m.op, params(&m)), (1, vec![("org", "acme"), ("team", "core")]));
        let m = r.find(&Method::GET, "/files/a.json").unwrap();
        assert_eq!((m.op, params(&m)), (2, vec![("name", "a")]));
        let m = r.find(&Method::GET, "/files/a.json/meta").unwrap();
        assert_eq!((m.op, params(&m)), (3, vec![("id", "a")]));
    }

    #[test]
    fn a_same_shape_template_for_the_same_method_is_shadowed_by_the_first() {
        let r = router(&[("GET", "/a/{id}"), ("GET", "/a/{name}"), ("POST", "/a/{name}"), ("GET", "/b/"), ("GET", "/b")]);
        assert_eq!(r.shadowed(), [Shadowed { op: 1, by: 0 }, Shadowed { op: 4, by: 3 }]);
        let m = r.find(&Method::GET, "/a/x").unwrap();
        assert_eq!((m.op, params(&m)), (0, vec![("id", "x")]));
        let m = r.find(&Method::POST, "/a/x").unwrap();
        assert_eq!((m.op, params(&m)), (2, vec![("name", "x")]));
    }

    #[test]
    fn a_fragment_discriminator_routes_by_header_or_query() {
        let r = router(&[
            ("POST", "/#X-Amz-Target=AWSCUR.DeleteReportDefinition"),
            ("POST", "/#X-Amz-Target=AWSCUR.DescribeReportDefinitions"),
        ]);
        let target = |v| header("X-Amz-Target", v);
        assert_eq!(r.find_request(&Method::POST, "/", None, &target("AWSCUR.DescribeReportDefinitions")).unwrap().op, 1);
        assert_eq!(r.find_request(&Method::POST, "/", None, &target("AWSCUR.DeleteReportDefinition")).unwrap().op, 0);
        let by_query = r.find_request(&Method::POST, "/", Some("X-Amz-Target=AWSCUR.DescribeReportDefinitions"), &HeaderMap::new());
        assert_eq!(by_query.unwrap().op, 1);
        assert_eq!(r.find_request(&Method::POST, "/", None, &target("AWSCUR.Nope")), Err(RouteError::NotFound));
        assert_eq!(r.find(&Method::POST, "/"), Err(RouteError::NotFound));
        assert_eq!(r.find(&Method::GET, "/"), Err(RouteError::MethodNotAllowed { allow: vec![Method::POST, Method::OPTIONS] }));
        assert_eq!(r.allowed("/"), Some(vec![Method::POST, Method::OPTIONS]));
    }

    #[test]
    fn query_discriminators_need_every_pair_and_the_plain_path_is_the_fallback() {
        let r = router(&[
            ("GET", "/?Action=DescribeInstances&Version=2016-11-15"),
            ("GET", "/?Action=DescribeInstances"),
            ("GET", "/?Version=2016-11-15&Action=RunInstances"),
            ("GET", "/"),
            ("GET", "/{Bucket}?acl"),
            ("GET", "/{Bucket}"),
        ]);
        let q = |q| r.find_request(&Method::GET, "/", Some(q), &HeaderMap::new()).unwrap().op;
        assert_eq!(q("Version=2016-11-15&Action=DescribeInstances"), 0);
        assert_eq!(q("Action=DescribeInstances"), 1);
        assert_eq!(q("Action=RunInstances&Version=2016-11-15"), 2);
        assert_eq!(q("Action=RunInstances"), 3);
        assert_eq!(r.find(&Method::GET, "/?Action=DescribeInstances").unwrap().op, 1);
        let m = r.find_request(&Method::GET, "/photos", Some("acl"), &HeaderMap::new()).unwrap();
        assert_eq!((m.op, params(&m)), (4, vec![("Bucket", "photos")]));
        assert_eq!(r.find(&Method::GET, "/photos").unwrap().op, 5);
        // A name that cannot be a header is still read from the query.
        let odd = router(&[("GET", "/?odd name=1")]);
        assert_eq!(odd.find(&Method::GET, "/?odd%20name=1").unwrap().op, 0);
        // The same condition spelled in another order is the same route.
        let r = router(&[("GET", "/?a=1&b=2"), ("GET", "/?b=2&a=1")]);
        assert_eq!(r.shadowed(), [Shadowed { op: 1, by: 0 }]);
    }

    #[test]
    fn discriminators_are_split_from_the_path_key() {
        assert_eq!(split_key("/users/{id}"), ("/users/{id}", vec![]));
        let (path, when) = split_key("/v1/#X-Amz-Target=Svc.Op");
        assert_eq!((path, when), ("/v1/", vec![Discriminator { name: "X-Amz-Target".into(), value: Some("Svc.Op".into()) }]));
        let (path, when) = split_key("/{Bucket}?acl");
        assert_eq!((path, when), ("/{Bucket}", vec![Discriminator { name: "acl".into(), value: None }]));
    }

    /// A request for `template` with its parameters filled as `v0`, `v1`… and its discriminators
    /// sent as a header (`#` keys) or in the query (`?` keys); also the parameters it must bind.
    fn request_for(template: &str) -> (String, Option<String>, HeaderMap, Vec<(String, String)>) {
        let (path, when) = split_key(template);
        let mut filled = String::new();
        let mut bound = Vec::new();
        let mut rest = path;
        while let Some(start) = rest.find('{') {
            let end = start + rest[start..].find('}').unwrap();
            let value = format!("v{}", bound.len());
            filled.push_str(&rest[..start]);
            filled.push_str(&value);
            bound.push((rest[start + 1..end].to_string(), value));
            rest = &rest[end + 1..];
        }
        filled.push_str(rest);
        let mut headers = HeaderMap::new();
        let mut query = Vec::new();
        for d in when {
            let value = d.value.unwrap_or_default();
            if template.contains('#') {
                headers.insert(http::HeaderName::from_bytes(d.name.as_bytes()).unwrap(), value.parse().unwrap());
            } else {
                query.push(format!("{}={value}", d.name));
            }
        }
        (filled, (!query.is_empty()).then(|| query.join("&")), headers, bound)
    }

    /// Every route reaches its own operation with its own parameter names, or is reported as
    /// shadowed by the one that does take its requests.
    fn assert_every_route_reaches_itself(routes: &[(Method, String)], r: &Router) {
        for (op, (method, template)) in routes.iter().enumerate() {
            let (path, query, headers, bound) = request_for(template);
            let m = r.find_request(method, &path, query.as_deref(), &headers).unwrap_or_else(|e| panic!("{method} {template}: {e:?}"));
            let want = r.shadowed().iter().find(|s| s.op == op).map_or(op, |s| s.by);
            assert_eq!(m.op, want, "{method} {template} reached {:?}", routes[m.op]);
            if want == op {
                assert_eq!(m.params, bound, "{method} {template}");
            }
        }
    }

    #[test]
    fn every_generated_template_routes_to_its_own_operation_under_its_own_names() {
        let pool = ["a", "b", "{p}", "x{p}", "{p}.json", "{p}:do"];
        let mut templates = Vec::new();
        for depth in 1..=3u32 {
            for n in 0..pool.len().pow(depth) {
                let segs: Vec<&str> = (0..depth).map(|i| pool[n / pool.len().pow(i) % pool.len()]).collect();
                templates.push(format!("/{}", segs.join("/")));
            }
        }
        let mut routes = Vec::new();
        for (t, template) in templates.iter().enumerate() {
            // Names unique to each template, so a sibling's name can only come from a bug.
            let mut k = 0;
            let named = template.split("{p}").enumerate().fold(String::new(), |acc, (i, piece)| {
                if i == 0 {
                    return piece.to_string();
                }
                k += 1;
                format!("{acc}{{t{t}p{k}}}{piece}")
            });
            let method = if t % 3 == 0 { Method::POST } else { Method::GET };
            routes.push((method.clone(), named.clone()));
            if t % 7 == 0 {
                routes.push((method.clone(), format!("{named}#X-Amz-Target=Svc.Op{t}")));
                routes.push((method.clone(), format!("{named}?Action=Op{t}&Version=1")));
            }
            if t % 11 == 0 {
                // Same shape and method: never reached, and said so.
                routes.push((method, named.replace("{t", "{again")));
            }
        }
        let mut r = Router::default();
        for (i, (m, p)) in routes.iter().enumerate() {
            r.insert(p, m.clone(), i);
        }
        r.sort();
        assert!(!r.shadowed().is_empty());
        assert_every_route_reaches_itself(&routes, &r);
    }

    #[test]
    fn every_operation_of_the_bundled_documents_routes_to_itself() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files: Vec<_> = std::fs::read_dir(root.join("specs")).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        // The discriminated keys keep their `#`/`?` part through loading, under a mount too.
        let routing = root.join("tests/data/routing.yaml");
        files.push(routing.clone());
        let mounted = crate::spec::LoadOptions { mounts: vec![(routing.clone(), "/aws".into())], ..Default::default() };
        for file in files {
            let opts = if file == routing { mounted.clone() } else { crate::spec::LoadOptions::default() };
            let (set, problems) = crate::spec::load(std::slice::from_ref(&file), &opts);
            let set = set.unwrap_or_else(|| panic!("{}: {problems:?}", file.display()));
            assert!(!set.operations.is_empty());
            if file == routing {
                assert!(set.operations.iter().any(|o| o.served_path == "/aws/#X-Amz-Target=AWSCUR.DeleteReportDefinition"));
            }
            let routes: Vec<(Method, String)> = set.operations.iter().map(|o| (o.method.clone(), o.served_path.clone())).collect();
            assert_every_route_reaches_itself(&routes, &Router::new(&set.operations));
        }
    }
}
