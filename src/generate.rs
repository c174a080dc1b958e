//! Builds JSON values that satisfy a JSON Schema, for mock responses (and request bodies) that no
//! example covers. This module owns the whole schema → value walk: `$ref`/`allOf`/`oneOf`/`anyOf`
//! resolution, keyword-aware leaf values (formats, patterns, numeric bounds), the recursion and
//! size limits that keep generation finite on any input, and copying path parameters ("echo") into
//! generated or example bodies where the field's schema takes them. A schema nothing can satisfy (`minimum` above `maximum`, a pattern
//! no string matches, more items than any answer should carry) is reported by [`try_generate`] as
//! [`Unsatisfiable`], naming the schema, so that no answer breaks the schema it claims.
//! With [`Realistic`] set, leaves first take a plausible value for their property's name and
//! format ([`realistic`]), kept only when it meets the schema.

mod realistic;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use base64::Engine as _;
use rand::distr::Distribution;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use regex_syntax::hir::{self, Class, ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange, Hir, HirKind};
use serde_json::{Map, Number, Value};

/// Which side of the exchange the value is for: responses never carry `writeOnly` properties,
/// requests never carry `readOnly` ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Request,
    Response,
}

/// Where a schema keeps its `required` list for responses when it differs from the one for
/// requests (a required `readOnly` or `writeOnly` property): one document serves both flows,
/// `required` holding the request's list.
pub const RESPONSE_REQUIRED: &str = "x-specstub-response-required";

impl Direction {
    /// The list of names `m` requires in a value of this direction.
    fn required(self, m: &Map<String, Value>) -> Option<&Value> {
        match self {
            Direction::Request => m.get("required"),
            Direction::Response => m.get(RESPONSE_REQUIRED).or_else(|| m.get("required")),
        }
    }
}

/// The names `schema` requires in a value of direction `dir` (its own list, not its members').
pub fn required_names(schema: &Value, dir: Direction) -> impl Iterator<Item = &str> {
    schema.as_object().and_then(|m| dir.required(m)).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The same schema always gives the same value (for one [`Realistic::seed`]).
    Deterministic,
    /// Varied values; the same seed gives the same value.
    Random { seed: u64 },
}

#[derive(Debug, Clone)]
pub struct GenOptions<'a> {
    pub mode: Mode,
    pub direction: Direction,
    /// Nesting (objects, arrays, `$ref`s) beyond which only required content is generated.
    pub max_depth: usize,
    /// Property name → value used instead of a generated one (e.g. the request's path parameters).
    pub echo: Option<&'a Map<String, Value>>,
    /// Plausible values by property name and format instead of placeholders; None: placeholders.
    pub realistic: Option<Realistic>,
    /// The property the value is for, when it is one: realistic values go by its name.
    pub name: Option<&'a str>,
}

impl Default for GenOptions<'_> {
    fn default() -> Self {
        Self { mode: Mode::Deterministic, direction: Direction::Response, max_depth: 6, echo: None, realistic: None, name: None }
    }
}

/// What generated values look like: format-based placeholders (`"string"`, `user@example.com`),
/// or values plausible for each property's name and format (`--data realistic`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataMode {
    #[default]
    Static,
    Realistic,
}

/// How realistic values are drawn: from `seed` (in [`Mode::Random`], from the mode's seed as
/// well), with dates around `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Realistic {
    pub seed: u64,
    /// Unix seconds, the start of a UTC day: the same seed gives the same dates all day long.
    pub now: i64,
}

impl Realistic {
    /// Realistic values from `seed`, dated around the day of `now` (Unix seconds).
    pub fn new(seed: u64, now: i64) -> Self {
        Self { seed, now: now.div_euclid(86_400) * 86_400 }
    }

    /// For `mode`: realistic values from `seed` when `mode` is [`DataMode::Realistic`], dated
    /// around today.
    pub fn when(mode: DataMode, seed: u64) -> Option<Self> {
        let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        (mode == DataMode::Realistic).then(|| Self::new(seed, now()))
    }

    /// Another stream for the part named `salt` (one property of several generated apart), so
    /// that two parts do not draw the same values.
    pub fn fork(self, salt: &str) -> Self {
        // FNV-1a: stable across builds, unlike the standard library's hasher.
        let h = salt.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        Self { seed: self.seed ^ h, ..self }
    }
}

/// Items (and properties) an array (object) gets at most: a `minItems` above it is unsatisfiable
/// rather than silently shortened.
const MAX_ITEMS: usize = 10_000;
/// Items beyond the minimum that an array shows when it may have more.
const EXTRA_ITEMS: usize = 3;
const MAX_LEN: usize = 10_000;
/// Past `max_depth` only required content is produced; this much further, containers come out
/// empty, so a schema whose required properties recurse forever still ends.
const EXTRA_DEPTH: usize = 10;
/// Wide schemas multiply: this bounds the total work whatever the depth.
const MAX_NODES: usize = 200_000;
const MAX_LAYERS: usize = 256;
const MAX_REPEAT: u32 = 8;
/// The largest repeat count tried to reach a pattern's `minLength`.
const MAX_STRETCH: usize = 256;
const DETERMINISTIC_SEED: u64 = 0x5eed;

/// Why no value satisfies a schema: the JSON pointer of the (sub)schema at fault, in the document
/// `root` of the generation, and what contradicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsatisfiable {
    pub pointer: String,
    pub why: String,
}

impl std::fmt::Display for Unsatisfiable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no value satisfies the schema at {}: {}", if self.pointer.is_empty() { "/" } else { &self.pointer }, self.why)
    }
}

/// Builds a value valid against `schema` (best effort for contradictory schemas). `$ref`s resolve
/// against `root`; a reference that does not resolve gives `null`. Never panics.
pub fn generate(schema: &Value, root: &Value, opts: &GenOptions) -> Value {
    run(schema, root, "", opts).0
}

/// Like [`generate`], but a schema the generator finds contradictory is an error instead of a
/// best-effort value. `pointer` is where `schema` sits in `root`, for the error to name. A value
/// it returns can still miss what it does not model (`not`, `oneOf` exclusivity, overlapping
/// `allOf` members with `additionalProperties: false`): callers that must be sure validate it.
pub fn try_generate(schema: &Value, root: &Value, pointer: &str, opts: &GenOptions) -> Result<Value, Unsatisfiable> {
    match run(schema, root, pointer, opts) {
        (_, Some(e)) => Err(e),
        (v, None) => Ok(v),
    }
}

fn run(schema: &Value, root: &Value, pointer: &str, opts: &GenOptions) -> (Value, Option<Unsatisfiable>) {
    let soft = opts.max_depth.min(64);
    let rng = match opts.mode {
        Mode::Deterministic => None,
        Mode::Random { seed } => Some(StdRng::seed_from_u64(seed)),
    };
    // Its own stream, so that a realistic value drawn or not changes none of the other choices.
    let fake = opts.realistic.map(|r| {
        let seed = match opts.mode {
            Mode::Deterministic => r.seed,
            Mode::Random { seed } => seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ r.seed,
        };
        StdRng::seed_from_u64(seed ^ 0xDA7A)
    });
    let now = opts.realistic.map_or(0, |r| r.now);
    let mut g = Gen {
        root,
        opts,
        rng,
        fake,
        now,
        name: opts.name,
        parent: None,
        soft,
        hard: soft + EXTRA_DEPTH,
        nodes: 0,
        variant: 0,
        failure: None,
    };
    let v = g.value(&[(schema, pointer.to_string())], 0, 1);
    (v, g.failure)
}

/// A schema and its JSON pointer in the generation's root document.
type At<'a> = (&'a Value, String);

/// `ptr` extended by one reference token, escaped as RFC 6901 says.
fn child(ptr: &str, token: &str) -> String {
    format!("{ptr}/{}", token.replace('~', "~0").replace('/', "~1"))
}

/// Replaces the values of keys named in `echo` in the top-level object (or the objects of a
/// top-level array) and in the objects directly inside it, so a stored example answers with the
/// identifiers the client asked for. A replacement keeps the JSON type of the value it replaces
/// when the echoed text converts ("42" into a number slot becomes 42).
pub fn echo_into(value: &mut Value, echo: &Map<String, Value>) {
    fn replace(obj: &mut Map<String, Value>, echo: &Map<String, Value>) {
        for (k, e) in echo {
            if let Some(slot) = obj.get_mut(k) {
                *slot = like(e, slot);
            }
        }
    }
    match value {
        Value::Object(top) => {
            replace(top, echo);
            for v in top.values_mut() {
                if let Value::Object(inner) = v {
                    replace(inner, echo);
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                if let Value::Object(inner) = v {
                    replace(inner, echo);
                }
            }
        }
        _ => {}
    }
}

/// Whether [`echo_into`] would change `value`: when it would not, a pre-encoded body can be
/// served as is.
pub fn echo_changes(value: &Value, echo: &Map<String, Value>) -> bool {
    fn differs(obj: &Map<String, Value>, echo: &Map<String, Value>) -> bool {
        echo.iter().any(|(k, e)| obj.get(k).is_some_and(|slot| like(e, slot) != *slot))
    }
    match value {
        Value::Object(top) => differs(top, echo) || top.values().any(|v| matches!(v, Value::Object(inner) if differs(inner, echo))),
        Value::Array(items) => items.iter().any(|v| matches!(v, Value::Object(inner) if differs(inner, echo))),
        _ => false,
    }
}

/// `echo` converted to the JSON type of `slot` when its text allows.
fn like(echo: &Value, slot: &Value) -> Value {
    match (echo, slot) {
        (Value::String(s), Value::Number(n)) => {
            let integral = n.is_i64() || n.is_u64();
            text_to_number(s, integral).map(Value::Number).unwrap_or_else(|| echo.clone())
        }
        (Value::String(s), Value::Bool(_)) => s.parse::<bool>().map(Value::Bool).unwrap_or_else(|_| echo.clone()),
        (Value::Number(n), Value::String(_)) => Value::String(n.to_string()),
        (Value::Bool(b), Value::String(_)) => Value::String(b.to_string()),
        _ => echo.clone(),
    }
}

fn text_to_number(s: &str, integral: bool) -> Option<Number> {
    if integral {
        return s.trim().parse::<i64>().ok().map(Number::from);
    }
    let f = s.trim().parse::<f64>().ok().filter(|f| f.is_finite())?;
    s.trim().parse::<Number>().ok().or_else(|| Number::from_f64(f))
}

/// What a `oneOf` branch says about the values it accepts, enough to tell whether another
/// branch's generated values pass it too (`$ref`s and `allOf` members folded in).
#[derive(Default)]
struct Outline<'a> {
    /// `false`: accepts nothing.
    never: bool,
    types: Vec<&'a str>,
    props: Map<String, Value>,
    required: Vec<&'a str>,
    closed: bool,
}

impl<'a> Outline<'a> {
    fn of(root: &'a Value, s: &'a Value, depth: usize, dir: Direction) -> Self {
        let mut out = Outline::default();
        out.fold(root, s, depth, dir);
        out
    }

    fn fold(&mut self, root: &'a Value, s: &'a Value, depth: usize, dir: Direction) {
        let Value::Object(m) = s else {
            self.never |= *s == Value::Bool(false);
            return;
        };
        if depth > 4 {
            return;
        }
        if let Some(target) = m.get("$ref").and_then(Value::as_str).and_then(|r| resolve(root, r)) {
            self.fold(root, target, depth + 1, dir);
        }
        for member in m.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            self.fold(root, member, depth + 1, dir);
        }
        match m.get("type") {
            Some(Value::String(t)) => self.types.push(t),
            Some(Value::Array(ts)) => self.types.extend(ts.iter().filter_map(Value::as_str)),
            _ => {}
        }
        for (k, v) in m.get("properties").and_then(Value::as_object).into_iter().flatten() {
            let v = v.get("$ref").and_then(Value::as_str).and_then(|r| resolve(root, r)).unwrap_or(v);
            self.props.insert(k.clone(), v.clone());
        }
        self.required.extend(dir.required(m).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str));
        self.closed |= m.get("additionalProperties") == Some(&Value::Bool(false));
    }

    /// Whether this branch refuses every value generated from `other`: their types never meet, it
    /// requires a property `other` does not have, a property both have is fixed to different
    /// values, or it is closed and `other` requires a property it does not list.
    fn rejects(&self, other: &Outline) -> bool {
        if self.never {
            return true;
        }
        let meet = |a: &str, b: &str| a == b || matches!((a, b), ("integer", "number") | ("number", "integer"));
        if !self.types.is_empty() && !other.types.is_empty() && !other.types.iter().any(|t| self.types.iter().any(|u| meet(t, u))) {
            return true;
        }
        let objects = other.types.is_empty() || other.types.contains(&"object");
        if objects && !other.props.is_empty() && self.required.iter().any(|r| !other.props.contains_key(*r)) {
            return true;
        }
        let fixed = |p: &Value| {
            p.get("const").cloned().or_else(|| p.get("enum").and_then(Value::as_array).filter(|e| e.len() == 1).map(|e| e[0].clone()))
        };
        let differ = self.props.iter().any(|(k, mine)| {
            let theirs = other.props.get(k).and_then(fixed);
            let Some(theirs) = theirs else { return false };
            match (mine.get("const"), mine.get("enum").and_then(Value::as_array)) {
                (Some(c), _) => *c != theirs,
                (None, Some(e)) => !e.contains(&theirs),
                _ => false,
            }
        });
        differ || (self.closed && other.required.iter().any(|r| !self.props.contains_key(*r)))
    }
}

/// Resolves a local reference (`#/a/b~1c`, percent-encoded or not).
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let fragment = reference.strip_prefix('#')?;
    root.pointer(&percent_decode(fragment))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One schema object taking part in the value: the schema itself, what its `$ref` points to, its
/// `allOf` members and the chosen `oneOf`/`anyOf` branch. Earlier layers are outer ones, so their
/// single-valued keywords (`format`, `example`, ...) win.
struct Layer<'a> {
    map: &'a Map<String, Value>,
    /// Where the layer sits in the root document, for an [`Unsatisfiable`] to name.
    ptr: String,
    /// Whether this layer's `example`/`default` describes the whole value: one member of a
    /// multi-member `allOf` does not.
    whole: bool,
    /// One of the schemas the value was asked for (not reached through one of them): together
    /// they are the whole contract a fixed value must meet.
    given: bool,
}

#[derive(Default)]
struct Layers<'a> {
    maps: Vec<Layer<'a>>,
    /// A `false` schema or a `$ref` that points nowhere: nothing valid can be built.
    dead: Option<Unsatisfiable>,
    refs: usize,
    seen: Vec<*const Value>,
    /// (propertyName, value) of a `discriminator` whose branch was chosen.
    tag: Option<(&'a str, String)>,
    /// The `$ref`s followed, outermost first: a schema that inherits a `discriminator` through
    /// `allOf` is named by the reference that led to it.
    named: Vec<&'a str>,
}

impl<'a> Layers<'a> {
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.maps.iter().find_map(|l| l.map.get(key))
    }

    /// The pointer of the first layer that has `key` (else of the outermost layer).
    fn ptr_of(&self, key: &str) -> String {
        let layer = self.maps.iter().find(|l| l.map.contains_key(key)).or(self.maps.first());
        layer.map(|l| child(&l.ptr, key)).unwrap_or_default()
    }

    /// Every layer's `key`, with its pointer.
    fn all_at(&self, key: &'a str) -> impl Iterator<Item = At<'a>> + '_ {
        self.maps.iter().filter_map(move |l| l.map.get(key).map(|v| (v, child(&l.ptr, key))))
    }

    fn all(&self, key: &'a str) -> impl Iterator<Item = &'a Value> + '_ {
        self.maps.iter().filter_map(move |l| l.map.get(key))
    }

    /// Every layer's list of required names for a value of direction `dir`.
    fn required(&self, dir: Direction) -> impl Iterator<Item = &'a Value> + '_ {
        self.maps.iter().filter_map(move |l| dir.required(l.map))
    }

    fn flag(&self, key: &'a str) -> bool {
        self.all(key).any(|v| v == &Value::Bool(true))
    }

    fn str(&self, key: &'a str) -> Option<&'a str> {
        self.all(key).find_map(Value::as_str)
    }

    fn count_max(&self, key: &'a str) -> Option<usize> {
        self.all(key).filter_map(count).max()
    }

    fn count_min(&self, key: &'a str) -> Option<usize> {
        self.all(key).filter_map(count).min()
    }

    /// The `type`s every layer allows, in the order the outermost layer lists them.
    fn types(&self) -> Vec<&'a str> {
        self.type_sets().0
    }

    /// [`Layers::types`], and whether two layers allow no type in common.
    fn type_sets(&self) -> (Vec<&'a str>, bool) {
        let mut disjoint = false;
        let mut acc: Option<Vec<&'a str>> = None;
        for t in self.all("type") {
            let list: Vec<&'a str> = match t {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => continue,
            };
            let list: Vec<&'a str> = list.into_iter().filter(|t| TYPES.contains(t)).collect();
            if list.is_empty() {
                continue;
            }
            acc = Some(match acc {
                None => list,
                Some(prev) => {
                    let both: Vec<&'a str> = prev
                        .iter()
                        .filter_map(|t| match *t {
                            t if list.contains(&t) => Some(t),
                            "number" | "integer" if list.contains(&"number") || list.contains(&"integer") => Some("integer"),
                            _ => None,
                        })
                        .collect();
                    if both.is_empty() {
                        disjoint = true;
                        prev
                    } else {
                        both
                    }
                }
            });
        }
        (acc.unwrap_or_default(), disjoint)
    }
}

const TYPES: [&str; 7] = ["null", "boolean", "object", "array", "number", "integer", "string"];
/// Keywords that make an outer schema say more than an inner example shows.
const SHAPING: [&str; 5] = ["properties", "required", "items", "prefixItems", "additionalProperties"];
const OBJECT_WORDS: [&str; 6] = ["properties", "required", "additionalProperties", "patternProperties", "minProperties", "maxProperties"];
const ARRAY_WORDS: [&str; 6] = ["items", "prefixItems", "minItems", "maxItems", "contains", "uniqueItems"];

/// A non-negative count keyword (`minItems`, `maxLength`, ...); nonsense is ignored.
fn count(v: &Value) -> Option<usize> {
    let f = v.as_f64().filter(|f| f.is_finite() && *f >= 0.0)?;
    Some(f.min(1e9) as usize)
}

struct Gen<'a> {
    root: &'a Value,
    opts: &'a GenOptions<'a>,
    rng: Option<StdRng>,
    /// Realistic values' stream, when they are asked for.
    fake: Option<StdRng>,
    /// Realistic dates are drawn around this (Unix seconds).
    now: i64,
    /// The property whose value is being built (items of an array keep the array's), and the
    /// schema name of the object it belongs to: what realistic values go by.
    name: Option<&'a str>,
    parent: Option<&'a str>,
    soft: usize,
    hard: usize,
    nodes: usize,
    /// Index of the item being generated inside a `uniqueItems` array, so deterministic values
    /// differ between items.
    variant: u64,
    /// The first contradiction met; generation goes on with a best-effort value.
    failure: Option<Unsatisfiable>,
}

impl<'a> Gen<'a> {
    fn fail(&mut self, pointer: String, why: impl Into<String>) {
        if self.failure.is_none() {
            self.failure = Some(Unsatisfiable { pointer, why: why.into() });
        }
    }

    fn value(&mut self, schemas: &[At<'a>], depth: usize, level: usize) -> Value {
        let layers = self.layers(schemas, depth > self.soft);
        self.build(&layers, depth, level)
    }

    fn layers(&mut self, schemas: &[At<'a>], minimal: bool) -> Layers<'a> {
        let mut out = Layers::default();
        for (s, ptr) in schemas {
            let first = out.maps.len();
            self.flatten(s, ptr.clone(), true, minimal, &mut out);
            if let Some(l) = out.maps.get_mut(first) {
                l.given = true;
            }
        }
        out
    }

    /// Collects the conjunction of schemas `v` stands for. A schema already collected adds
    /// nothing (conjunction is idempotent), which is also what ends reference cycles here.
    fn flatten(&mut self, v: &'a Value, ptr: String, whole: bool, minimal: bool, out: &mut Layers<'a>) {
        let m = match v {
            Value::Bool(false) => {
                out.dead.get_or_insert(Unsatisfiable { pointer: ptr, why: "the schema is `false`: no value is valid".into() });
                return;
            }
            Value::Object(m) => m,
            _ => return,
        };
        if out.seen.contains(&(v as *const Value)) || out.maps.len() >= MAX_LAYERS {
            return;
        }
        out.seen.push(v);
        out.maps.push(Layer { map: m, ptr: ptr.clone(), whole, given: false });
        let all_of = m.get("allOf").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let choices: Vec<(&str, &'a Vec<Value>)> = ["oneOf", "anyOf"]
            .iter()
            .filter_map(|k| m.get(*k).and_then(Value::as_array).map(|a| (*k, a)))
            .filter(|(_, a)| !a.is_empty())
            .collect();
        let choices_empty = choices.is_empty();
        let subtrees = usize::from(m.contains_key("$ref")) + all_of.len() + choices.len();
        let pass = whole && subtrees <= 1 && !SHAPING.iter().any(|k| m.contains_key(*k));
        if let Some(r) = m.get("$ref") {
            match r.as_str().and_then(|r| resolve(self.root, r).map(|t| (r, t))) {
                Some((r, target)) => {
                    out.refs += 1;
                    out.named.push(r);
                    let target_ptr = percent_decode(r.strip_prefix('#').unwrap_or_default());
                    self.flatten(target, target_ptr, pass, minimal, out);
                }
                None => {
                    out.dead
                        .get_or_insert(Unsatisfiable { pointer: child(&ptr, "$ref"), why: format!("the reference {r} does not resolve") });
                }
            }
        }
        for (i, member) in all_of.iter().enumerate() {
            self.flatten(member, child(&child(&ptr, "allOf"), &i.to_string()), pass, minimal, out);
        }
        for (key, branches) in choices {
            let i = if key == "oneOf" { self.pick_exclusive(branches, minimal) } else { self.pick_branch(branches, minimal) };
            let branch = &branches[i];
            if out.tag.is_none() {
                out.tag = discriminator_tag(m, branch);
            }
            self.flatten(branch, child(&child(&ptr, key), &i.to_string()), pass, minimal, out);
        }
        // A parent that names its subtypes by a discriminator, reached through a child's `allOf`:
        // the child is the value's type, so its name is the tag.
        if out.tag.is_none()
            && choices_empty
            && let Some(d) = m.get("discriminator")
            && let Some(property) = d.get("propertyName").and_then(Value::as_str)
            && let Some(outer) = out.named.iter().find(|r| resolve(self.root, r).is_some_and(|t| !std::ptr::eq(t, v)))
        {
            out.tag = Some((property, mapped_name(d, outer)));
        }
    }

    /// First usable branch, a random one in Random mode; past the depth limit the branch most
    /// likely to end the recursion (null, then scalars).
    fn pick_branch(&mut self, branches: &'a [Value], minimal: bool) -> usize {
        let usable: Vec<usize> = (0..branches.len()).filter(|i| branches[*i] != Value::Bool(false)).collect();
        if usable.is_empty() {
            return 0;
        }
        if minimal {
            return usable.iter().copied().min_by_key(|i| self.weight(&branches[*i])).unwrap_or(0);
        }
        match &mut self.rng {
            Some(rng) => usable[rng.random_range(0..usable.len())],
            None => usable[0],
        }
    }

    /// For `oneOf`, a branch whose values no other branch accepts, as far as their types,
    /// required properties, consts and closed property lists tell: GitHub's CreateEvent has every
    /// field DeleteEvent requires, so a CreateEvent value is valid under both and breaks the
    /// `oneOf`, where a DeleteEvent one lacks CreateEvent's `master_branch`. The usual choice when
    /// it is such a branch, or when none can be told apart.
    fn pick_exclusive(&mut self, branches: &'a [Value], minimal: bool) -> usize {
        let usual = self.pick_branch(branches, minimal);
        if minimal || branches.len() < 2 {
            return usual;
        }
        let outlines: Vec<Outline> = branches.iter().map(|b| Outline::of(self.root, b, 0, self.opts.direction)).collect();
        let alone = |i: usize| (0..outlines.len()).all(|j| j == i || outlines[j].rejects(&outlines[i]));
        if alone(usual) {
            return usual;
        }
        let exclusive: Vec<usize> = (0..branches.len()).filter(|i| branches[*i] != Value::Bool(false) && alone(*i)).collect();
        match (&mut self.rng, exclusive.len()) {
            (_, 0) => usual,
            (Some(rng), n) => exclusive[rng.random_range(0..n)],
            (None, _) => exclusive[0],
        }
    }

    fn weight(&self, mut s: &'a Value) -> u8 {
        for _ in 0..8 {
            match s.get("$ref").and_then(Value::as_str).and_then(|r| resolve(self.root, r)) {
                Some(t) => s = t,
                None => break,
            }
        }
        match s.get("type") {
            Some(Value::String(t)) if t == "null" => 0,
            Some(Value::Array(a)) if a.iter().any(|t| t == "null") => 0,
            Some(Value::String(t)) if t == "object" || t == "array" => 2,
            Some(Value::String(_)) => 1,
            _ if ["properties", "items", "allOf", "oneOf", "anyOf", "$ref"].iter().any(|k| s.get(*k).is_some()) => 2,
            _ => 1,
        }
    }

    fn build(&mut self, layers: &Layers<'a>, depth: usize, level: usize) -> Value {
        self.nodes += 1;
        if let Some(dead) = &layers.dead {
            let dead = dead.clone();
            self.fail(dead.pointer, dead.why);
            return Value::Null;
        }
        if let Some(v) = self.fixed(layers) {
            return v;
        }
        let depth = depth + layers.refs;
        let minimal = depth > self.soft;
        let shallow = depth > self.hard || self.nodes > MAX_NODES;
        match self.pick_type(layers, minimal) {
            "null" => Value::Null,
            "boolean" => Value::Bool(match &mut self.rng {
                Some(rng) => rng.random_bool(0.5),
                None => self.variant % 2 == 0,
            }),
            "integer" => self.realistic_number(layers, true).unwrap_or_else(|| Value::Number(self.integer(layers).into())),
            "number" => self.realistic_number(layers, false).unwrap_or_else(|| Value::Number(self.number(layers))),
            "array" if shallow => {
                if layers.count_max("minItems").unwrap_or(0) > 0 {
                    self.fail(layers.ptr_of("minItems"), too_big(depth));
                }
                Value::Array(Vec::new())
            }
            "array" => self.array(layers, depth, level, minimal),
            "object" if shallow => {
                if layers.required(self.opts.direction).filter_map(Value::as_array).any(|r| !r.is_empty()) {
                    // The first layer with a list for this direction (an empty response list
                    // stands for a `required` the response's own copy used to drop).
                    let dir = self.opts.direction;
                    let listed = |m: &Map<String, Value>| match dir.required(m) {
                        Some(Value::Array(r)) if r.is_empty() => !m.contains_key(RESPONSE_REQUIRED) || dir == Direction::Request,
                        other => other.is_some(),
                    };
                    let at = layers.maps.iter().find(|l| listed(l.map)).map(|l| child(&l.ptr, "required"));
                    self.fail(at.unwrap_or_else(|| layers.ptr_of("required")), too_big(depth));
                }
                Value::Object(Map::new())
            }
            "object" => self.object(layers, depth, level, minimal),
            _ => Value::String(self.string(layers)),
        }
    }

    /// Whether `v` meets every schema the value was asked for.
    fn fits(&self, v: &Value, layers: &Layers<'a>) -> bool {
        layers.maps.iter().filter(|l| l.given).all(|l| fits_map(v, l.map, self.root, self.opts.direction, 0))
    }

    /// `const`, then an example, then `default`, then `enum`: each only when it meets the schema
    /// (an example or default that contradicts it is passed over; a `const` or `enum` that does is
    /// unsatisfiable). `null` counts as a value here: `default: null` answers `null` where the
    /// schema allows it.
    fn fixed(&mut self, layers: &Layers<'a>) -> Option<Value> {
        if let Some(c) = layers.get("const") {
            if !self.fits(c, layers) {
                self.fail(layers.ptr_of("const"), format!("the const {c} contradicts the rest of the schema"));
            }
            return Some(c.clone());
        }
        let whole: Vec<&Layer<'a>> = layers.maps.iter().filter(|l| l.whole).collect();
        let candidates = whole.iter().flat_map(|l| {
            let examples = match l.map.get("examples") {
                Some(Value::Array(a)) => a.first(),
                _ => None,
            };
            examples.into_iter().chain(l.map.get("example"))
        });
        let candidates = candidates.chain(whole.iter().filter_map(|l| l.map.get("default")));
        for c in candidates {
            if self.fits(c, layers) {
                return Some(self.hide(c, layers));
            }
        }
        let mut enums = layers.all("enum").filter_map(Value::as_array);
        let first = enums.next()?;
        let rest: Vec<&Vec<Value>> = enums.collect();
        let listed: Vec<&Value> = first.iter().filter(|v| rest.iter().all(|r| r.iter().any(|x| same(x, v)))).collect();
        let allowed: Vec<&Value> = listed.iter().copied().filter(|v| self.fits(v, layers)).collect();
        if allowed.is_empty() {
            self.fail(layers.ptr_of("enum"), "no value of the enum satisfies the rest of the schema");
            return first.first().cloned().or(Some(Value::Null));
        }
        Some(match &mut self.rng {
            Some(rng) => allowed[rng.random_range(0..allowed.len())].clone(),
            None => {
                // A deterministic body shows a real value rather than the `null` a nullable enum lists.
                let non_null: Vec<&Value> = allowed.iter().copied().filter(|v| !v.is_null()).collect();
                let pool = if non_null.is_empty() { &allowed } else { &non_null };
                pool[(self.variant % pool.len() as u64) as usize].clone()
            }
        })
    }

    /// An example object without the properties this direction never carries (`writeOnly` ones
    /// in a response, `readOnly` ones in a request).
    fn hide(&mut self, example: &Value, layers: &Layers<'a>) -> Value {
        let mut v = example.clone();
        if let Value::Object(obj) = &mut v {
            let shape = ObjectShape::of(layers, self.opts.direction);
            for (name, schemas) in &shape.props {
                if !obj.contains_key(*name) {
                    continue;
                }
                let pl = self.layers(schemas, true);
                if self.hidden(&pl) {
                    obj.shift_remove(*name);
                }
            }
        }
        v
    }

    fn hidden(&self, layers: &Layers<'a>) -> bool {
        match self.opts.direction {
            Direction::Response => layers.flag("writeOnly"),
            Direction::Request => layers.flag("readOnly"),
        }
    }

    fn pick_type(&mut self, layers: &Layers<'a>, minimal: bool) -> &'static str {
        let (types, disjoint) = layers.type_sets();
        if disjoint {
            self.fail(layers.ptr_of("type"), "its members allow no type in common");
        }
        let chosen = if types.is_empty() {
            if layers.maps.iter().any(|l| OBJECT_WORDS.iter().any(|k| l.map.contains_key(*k))) {
                "object"
            } else if layers.maps.iter().any(|l| ARRAY_WORDS.iter().any(|k| l.map.contains_key(*k))) {
                "array"
            } else {
                "string"
            }
        } else {
            types.iter().copied().find(|t| *t != "null").unwrap_or("null")
        };
        let nullable = types.contains(&"null");
        let null = nullable
            && match &mut self.rng {
                _ if minimal && matches!(chosen, "object" | "array") => true,
                Some(rng) => rng.random_bool(0.2),
                None => false,
            };
        let chosen = if null { "null" } else { chosen };
        TYPES.iter().copied().find(|t| *t == chosen).unwrap_or("string")
    }

    fn integer(&mut self, layers: &Layers<'a>) -> i64 {
        let (mut lo, mut hi) = (i64::MIN as i128, i64::MAX as i128);
        for l in &layers.maps {
            let m = l.map;
            let bool_excl = |k: &str| m.get(k) == Some(&Value::Bool(true));
            if let Some(v) = m.get("minimum").and_then(|v| int_bound(v, !bool_excl("exclusiveMinimum"))) {
                lo = lo.max(if bool_excl("exclusiveMinimum") { v + 1 } else { v });
            }
            if let Some(v) = m.get("exclusiveMinimum").and_then(|v| int_bound(v, false)) {
                lo = lo.max(v + 1);
            }
            if let Some(v) = m.get("maximum").and_then(|v| int_bound(v, bool_excl("exclusiveMaximum"))) {
                hi = hi.min(if bool_excl("exclusiveMaximum") { v - 1 } else { v });
            }
            if let Some(v) = m.get("exclusiveMaximum").and_then(|v| int_bound(v, true)) {
                hi = hi.min(v - 1);
            }
        }
        let (flo, fhi) = match layers.str("format") {
            Some("int32") => (i32::MIN as i128, i32::MAX as i128),
            Some("uint32") => (0, u32::MAX as i128),
            Some("uint64") => (0, i64::MAX as i128),
            _ => (i64::MIN as i128, i64::MAX as i128),
        };
        let (lo, hi) = (lo.max(flo), hi.min(fhi));
        let mut step: i128 = 1;
        for m in layers.all("multipleOf").filter_map(finite).filter(|m| *m > 0.0) {
            match integer_step(m) {
                Some(s) => step = lcm(step, s).unwrap_or(i64::MAX as i128),
                None => self.fail(layers.ptr_of("multipleOf"), format!("no integer up to 1000 is a multiple of {m}")),
            }
        }
        let k = self.pick_k(div_ceil(lo, step), div_floor(hi, step), (1000 / step).max(1));
        if k.is_none() {
            let why = if lo > hi {
                format!("no integer is at least {lo} and at most {hi}")
            } else {
                format!("no multiple of {step} lies between {lo} and {hi}")
            };
            self.fail(layers.ptr_of(if lo > hi { "minimum" } else { "multipleOf" }), why);
        }
        let v = k.map(|k| k * step).unwrap_or(lo.clamp(flo, fhi));
        v.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }

    fn number(&mut self, layers: &Layers<'a>) -> Number {
        let mut r = Range { lo: f64::NEG_INFINITY, lo_x: false, hi: f64::INFINITY, hi_x: false };
        for l in &layers.maps {
            let m = l.map;
            let bool_excl = |k: &str| m.get(k) == Some(&Value::Bool(true));
            if let Some(v) = m.get("minimum").and_then(finite) {
                r.raise(v, bool_excl("exclusiveMinimum"));
            }
            if let Some(v) = m.get("exclusiveMinimum").and_then(finite) {
                r.raise(v, true);
            }
            if let Some(v) = m.get("maximum").and_then(finite) {
                r.lower(v, bool_excl("exclusiveMaximum"));
            }
            if let Some(v) = m.get("exclusiveMaximum").and_then(finite) {
                r.lower(v, true);
            }
        }
        let empty = r.lo > r.hi || (r.lo == r.hi && (r.lo_x || r.hi_x));
        if empty {
            self.fail(layers.ptr_of("minimum"), format!("no number lies between {} and {}", r.lo, r.hi));
        }
        let steps: Vec<f64> = layers.all("multipleOf").filter_map(finite).filter(|m| *m > 0.0).collect();
        if let Some(m) = common_multiple(&steps) {
            let big = 4e18_f64;
            let mut kmin = (r.lo / m).ceil().clamp(-big, big);
            if r.lo_x && kmin * m <= r.lo {
                kmin += 1.0;
            }
            let mut kmax = (r.hi / m).floor().clamp(-big, big);
            if r.hi_x && kmax * m >= r.hi {
                kmax -= 1.0;
            }
            let span = ((1000.0 / m).max(1.0)).min(big) as i128;
            if let Some(k) = self.pick_k(kmin as i128, kmax as i128, span) {
                let decimals = decimals(m);
                let scale = 10f64.powi(decimals);
                let x = ((k as f64 * m) * scale).round() / scale;
                if let Some(n) = Number::from_f64(x) {
                    return n;
                }
            } else if !empty {
                self.fail(layers.ptr_of("multipleOf"), format!("no multiple of {m} lies between {} and {}", r.lo, r.hi));
            }
        }
        let x = match &mut self.rng {
            Some(rng) => {
                let anchor = r.anchor();
                let (mut wlo, mut whi) = (anchor, (anchor + 1000.0).min(r.hi));
                if whi <= wlo {
                    (wlo, whi) = ((anchor - 1000.0).max(r.lo), anchor);
                }
                let x = if whi > wlo { rng.random_range(wlo..=whi) } else { wlo };
                let rounded = (x * 100.0).round() / 100.0;
                [rounded, x].into_iter().find(|x| r.contains(*x)).unwrap_or_else(|| r.smallest(0))
            }
            None => r.smallest(self.variant),
        };
        Number::from_f64(x).unwrap_or_else(|| Number::from(0))
    }

    /// An integer `k` in `[kmin, kmax]`: the one nearest zero (moved by the variant) in
    /// Deterministic mode, a random one within `span` of it in Random mode.
    fn pick_k(&mut self, kmin: i128, kmax: i128, span: i128) -> Option<i128> {
        if kmin > kmax {
            return None;
        }
        let anchor = 0i128.clamp(kmin, kmax);
        Some(match &mut self.rng {
            None => {
                let v = self.variant as i128;
                if anchor + v <= kmax {
                    anchor + v
                } else if anchor - v >= kmin {
                    anchor - v
                } else {
                    anchor
                }
            }
            Some(rng) => {
                // Distinct items of a long `uniqueItems` array need room to differ.
                let span = span.max(self.variant as i128 * 4);
                let (mut wlo, mut whi) = (anchor, anchor.saturating_add(span).min(kmax));
                if whi == wlo {
                    wlo = anchor.saturating_sub(span).max(kmin);
                    whi = anchor;
                }
                let (wlo, whi) = (wlo.clamp(i64::MIN as i128, i64::MAX as i128), whi.clamp(i64::MIN as i128, i64::MAX as i128));
                rng.random_range(wlo as i64..=whi as i64) as i128
            }
        })
    }

    /// A plausible number for the property's name, when one is known and fits the schema.
    fn realistic_number(&mut self, layers: &Layers<'a>, integral: bool) -> Option<Value> {
        self.fake.as_ref()?;
        let kind = realistic::number_kind(self.name)?;
        let rng = self.fake.as_mut()?;
        let v = if integral {
            Value::Number(realistic::integer(kind, rng, self.now)?.into())
        } else {
            Value::Number(Number::from_f64(realistic::number(kind, rng, self.now)?)?)
        };
        self.fits(&v, layers).then_some(v)
    }

    /// A plausible string for the property's name and format, when one is known and fits the
    /// schema (a few draws: a shorter name may meet a `maxLength` the first did not).
    fn realistic_string(&mut self, layers: &Layers<'a>) -> Option<String> {
        let kind = realistic::string_kind(self.name, self.parent, layers.str("format"))?;
        for _ in 0..3 {
            let s = realistic::string(kind, self.fake.as_mut()?, self.now)?;
            let v = Value::String(s);
            if self.fits(&v, layers) {
                return v.as_str().map(String::from);
            }
        }
        None
    }

    fn string(&mut self, layers: &Layers<'a>) -> String {
        if self.fake.is_some()
            && let Some(s) = self.realistic_string(layers)
        {
            return s;
        }
        let min = layers.count_max("minLength").unwrap_or(0).min(MAX_LEN);
        let max = layers.count_min("maxLength");
        if let Some(max) = max
            && min > max
        {
            self.fail(layers.ptr_of("minLength"), format!("minLength {min} exceeds maxLength {max}"));
        }
        if layers.count_max("minLength").is_some_and(|m| m > MAX_LEN) {
            self.fail(layers.ptr_of("minLength"), format!("strings longer than {MAX_LEN} characters are not generated"));
        }
        let length_ok = |s: &str| {
            let n = s.chars().count();
            n >= min && max.is_none_or(|m| n <= m)
        };
        // Every layer's pattern applies (allOf members each bring theirs); the first is sampled.
        let patterns: Vec<Rc<Pattern>> = layers.all("pattern").filter_map(Value::as_str).map(compiled_pattern).collect();
        let all_match = |s: &str| patterns.iter().all(|p| p.matches(s));
        let format = layers.str("format");
        let format_ok = |s: &str| format.is_none_or(|f| format_holds(f, s));
        if let Some(f) = format
            && let Some(s) = self.formatted(f, layers)
        {
            // A pattern may want the format in the other case (loket's upper-case uuids).
            for s in [s.clone(), s.to_uppercase(), s.to_lowercase()] {
                if all_match(&s) && length_ok(&s) && format_ok(&s) {
                    return s;
                }
            }
        }
        let sampled = patterns.first().and_then(|p| self.sample_pattern(p, min, max, &format_ok)).map(|s| stretched(s, min, &all_match));
        if let Some(s) = &sampled
            && all_match(s)
            && length_ok(s)
            && format_ok(s)
        {
            return s.clone();
        }
        let plain = self.plain_string(min, max);
        if patterns.is_empty() || all_match(&plain) {
            return plain;
        }
        let why = format!(
            "no string of {min} to {} characters matching {} was found",
            max.map_or("any".to_string(), |m| m.to_string()),
            layers.all("pattern").filter_map(Value::as_str).collect::<Vec<_>>().join(" and ")
        );
        self.fail(layers.ptr_of("pattern"), why);
        sampled.unwrap_or(plain)
    }

    fn plain_string(&mut self, min: usize, max: Option<usize>) -> String {
        let base = match (&mut self.fake, &mut self.rng) {
            (Some(fake), _) => realistic::words(fake, min.min(MAX_LEN)),
            (None, Some(rng)) => {
                let n = rng.random_range(1..4);
                (0..n).map(|_| WORDS[rng.random_range(0..WORDS.len())]).collect::<Vec<_>>().join(" ")
            }
            (None, None) if self.variant == 0 => "string".to_string(),
            (None, None) => format!("string{}", self.variant),
        };
        fit(&base, min, max)
    }

    /// A match of `p` of `min` to `max` characters that `accept` takes too (the format), else one
    /// of another length.
    fn sample_pattern(&mut self, p: &Pattern, min: usize, max: Option<usize>, accept: &dyn Fn(&str) -> bool) -> Option<String> {
        let generator = p.generator.as_ref()?;
        let mut fixed;
        let rng = match &mut self.rng {
            Some(rng) => rng,
            None => {
                fixed = StdRng::seed_from_u64(DETERMINISTIC_SEED.wrapping_add(self.variant));
                &mut fixed
            }
        };
        let mut fallback = None;
        for _ in 0..32 {
            let Ok(s) = Distribution::<Result<String, std::string::FromUtf8Error>>::sample(generator, rng) else { continue };
            if !p.matches(&s) {
                continue;
            }
            let n = s.chars().count();
            if n >= min && max.is_none_or(|m| n <= m) && accept(&s) {
                return Some(s);
            }
            // The pattern wins over the length: padding could break the match.
            fallback.get_or_insert(s);
        }
        sample_stretched(p, min, max, accept, rng).or(fallback)
    }

    fn formatted(&mut self, format: &str, layers: &Layers<'a>) -> Option<String> {
        let v = self.variant;
        let unix = match &mut self.rng {
            Some(rng) => rng.random_range(1_577_836_800i64..1_767_225_600),
            None => 1_704_067_200 + (v as i64 % 3650) * 86_400,
        };
        let when = time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let date = format!("{:04}-{:02}-{:02}", when.year(), when.month() as u8, when.day());
        let clock = format!("{:02}:{:02}:{:02}", when.hour(), when.minute(), when.second());
        let n: u64 = match &mut self.rng {
            Some(rng) => rng.random_range(1..1000),
            None => v,
        };
        let word = match &mut self.rng {
            Some(rng) => WORDS[rng.random_range(0..WORDS.len())],
            None => "user",
        };
        let suffix = if n == 0 { String::new() } else { n.to_string() };
        Some(match format {
            "date-time" => format!("{date}T{clock}Z"),
            "date" => date,
            "time" => format!("{clock}Z"),
            "duration" => format!("P{}D", n + 1),
            "uuid" => {
                let bytes: [u8; 16] = match &mut self.rng {
                    Some(rng) => rng.random(),
                    None => StdRng::seed_from_u64(DETERMINISTIC_SEED.wrapping_add(v)).random(),
                };
                uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
            }
            "email" | "idn-email" => format!("{word}{suffix}@example.com"),
            "hostname" | "idn-hostname" => match suffix.is_empty() {
                true => "example.com".to_string(),
                false => format!("host{suffix}.example.com"),
            },
            "ipv4" => format!("192.0.2.{}", n % 254 + 1),
            "ipv6" => format!("2001:db8::{:x}", n + 1),
            "uri" | "url" | "iri" | "uri-reference" | "iri-reference" => format!("https://example.com/{word}{suffix}"),
            "uri-template" => "https://example.com/{id}".to_string(),
            "json-pointer" => format!("/{word}{suffix}"),
            "relative-json-pointer" => format!("{n}"),
            "regex" => "^[a-z]+$".to_string(),
            "byte" => {
                let raw = match &mut self.rng {
                    Some(rng) => (0..rng.random_range(4..16)).map(|_| rng.random::<u8>()).collect(),
                    None => format!("string{suffix}").into_bytes(),
                };
                base64::engine::general_purpose::STANDARD.encode(raw)
            }
            "int32" | "int64" | "uint32" | "uint64" => self.integer(layers).to_string(),
            "float" | "double" => self.number(layers).to_string(),
            _ => return None,
        })
    }

    fn array(&mut self, layers: &Layers<'a>, depth: usize, level: usize, minimal: bool) -> Value {
        let items: Vec<At<'a>> = layers.all_at("items").filter(|(v, _)| !v.is_array()).collect();
        let prefix: Vec<At<'a>> = layers
            .all_at("prefixItems")
            .chain(layers.all_at("items"))
            .find_map(|(v, ptr)| v.as_array().map(|a| a.iter().enumerate().map(|(i, s)| (s, child(&ptr, &i.to_string()))).collect()))
            .unwrap_or_default();
        let closed = items.iter().any(|(v, _)| **v == Value::Bool(false));
        let asked_min = layers.count_max("minItems").unwrap_or(0);
        let max = layers.count_min("maxItems").unwrap_or(usize::MAX);
        if asked_min > max {
            self.fail(layers.ptr_of("minItems"), format!("minItems {asked_min} exceeds maxItems {max}"));
        } else if asked_min > MAX_ITEMS {
            self.fail(layers.ptr_of("minItems"), format!("minItems {asked_min} is more than the {MAX_ITEMS} items an answer carries"));
        } else if closed && asked_min > prefix.len() {
            self.fail(layers.ptr_of("minItems"), format!("minItems {asked_min} but only {} items are allowed", prefix.len()));
        }
        let min = asked_min.min(MAX_ITEMS);
        let max = max.min(MAX_ITEMS);
        let mut n = if minimal || max == 0 {
            min
        } else {
            let base = min.max(1).max(prefix.len());
            match &mut self.rng {
                Some(rng) if base < EXTRA_ITEMS * 10 => rng.random_range(base..=base + EXTRA_ITEMS),
                _ => base,
            }
        };
        if closed {
            n = n.min(prefix.len());
        }
        let n = n.max(min).min(max);
        let unique = layers.flag("uniqueItems");
        let contains: Vec<At<'a>> = layers.all_at("contains").collect();
        let saved = self.variant;
        let mut out: Vec<Value> = Vec::with_capacity(n);
        let mut attempts = 0;
        while out.len() < n && attempts < n * 4 + 4 {
            let i = out.len();
            let mut schemas: Vec<At<'a>> = match prefix.get(i) {
                Some(p) => vec![p.clone()],
                None => items.clone(),
            };
            if i == 0 {
                schemas.extend(contains.iter().cloned());
            }
            if unique {
                self.variant = attempts as u64;
            }
            attempts += 1;
            let v = self.value(&schemas, depth + 1, level + 1);
            if unique && out.iter().any(|o| same(o, &v)) {
                continue;
            }
            out.push(v);
        }
        self.variant = saved;
        if out.len() < min {
            let why = if unique {
                format!("{min} distinct items are required and only {} were found", out.len())
            } else {
                format!("{min} items are required and only {} could be built", out.len())
            };
            self.fail(layers.ptr_of("minItems"), why);
        }
        Value::Array(out)
    }

    fn object(&mut self, layers: &Layers<'a>, depth: usize, level: usize, minimal: bool) -> Value {
        let shape = ObjectShape::of(layers, self.opts.direction);
        if let Some(name) = shape.undeclared.first() {
            // Airbyte's `AirbyteStream` requires `json_schema` and declares only `jsonSchema`.
            self.fail(
                layers.ptr_of("additionalProperties"),
                format!("{name:?} is required, but additionalProperties is false where no property declares it"),
            );
        }
        // Values not under a declared property have no name to go by.
        let outer = (self.name.take(), self.parent);
        self.parent = layers.named.first().and_then(|r| r.rsplit('/').next());
        let (mut out, skipped) = self.properties(layers, &shape, depth, level, minimal);
        if out.is_empty()
            && !minimal
            && let Some(schema) = &shape.extra
        {
            let v = self.value(std::slice::from_ref(schema), depth + 1, level + 1);
            out.insert("key".to_string(), v);
        }
        self.fit_property_counts(layers, &shape, &mut out, skipped, depth, level);
        (self.name, self.parent) = outer;
        Value::Object(out)
    }

    /// The declared properties' values; optional ones left out in random mode come back as
    /// indexes into `shape.props`, for `minProperties` to draw from.
    fn properties(
        &mut self,
        layers: &Layers<'a>,
        shape: &ObjectShape<'a>,
        depth: usize,
        level: usize,
        minimal: bool,
    ) -> (Map<String, Value>, Vec<usize>) {
        let echo = self.opts.echo.filter(|_| level <= 2);
        let child_minimal = depth + 1 > self.soft;
        let mut out = Map::new();
        let mut skipped: Vec<usize> = Vec::new();
        for (i, (name, schemas)) in shape.props.iter().enumerate() {
            let tag = layers.tag.as_ref().filter(|(t, _)| t == name).map(|(_, v)| Value::String(v.clone()));
            // The tag says which branch the value is, so it is never left out.
            let is_required = shape.required.contains(name) || tag.is_some();
            if minimal && !is_required {
                continue;
            }
            let pl = self.layers(schemas, child_minimal);
            // An optional property whose schemas contradict each other is left out.
            if self.hidden(&pl) || (!is_required && (pl.dead.is_some() || pl.type_sets().1)) {
                continue;
            }
            // A path parameter stands in the field only when the field's schema takes it (Lex's
            // `botVersion` path text is shorter than the body field's `minLength`).
            if let Some(e) = echo.and_then(|e| e.get(*name)).map(|e| convert_echo(e, &pl.types()))
                && self.fits(&e, &pl)
            {
                out.insert(name.to_string(), e);
                continue;
            }
            if !is_required
                && let Some(rng) = &mut self.rng
                && !rng.random_bool(0.5)
            {
                skipped.push(i);
                continue;
            }
            let v = match tag {
                Some(t) if self.fits(&t, &pl) => t,
                _ => {
                    self.name = Some(name);
                    let v = self.build(&pl, depth + 1, level + 1);
                    self.name = None;
                    v
                }
            };
            out.insert(name.to_string(), v);
        }
        (out, skipped)
    }

    /// `minProperties` (skipped optional properties first, then `key1`, `key2`... where others
    /// are allowed) and `maxProperties` (optional ones dropped, newest first).
    fn fit_property_counts(
        &mut self,
        layers: &Layers<'a>,
        shape: &ObjectShape<'a>,
        out: &mut Map<String, Value>,
        skipped: Vec<usize>,
        depth: usize,
        level: usize,
    ) {
        let asked_min = layers.count_max("minProperties").unwrap_or(0);
        if asked_min > MAX_ITEMS {
            self.fail(
                layers.ptr_of("minProperties"),
                format!("minProperties {asked_min} is more than the {MAX_ITEMS} properties an answer carries"),
            );
        }
        let min_props = asked_min.min(MAX_ITEMS);
        for i in skipped {
            if out.len() >= min_props {
                break;
            }
            let (name, schemas) = &shape.props[i];
            self.name = Some(name);
            let v = self.value(schemas, depth + 1, level + 1);
            self.name = None;
            out.insert(name.to_string(), v);
        }
        let mut n = 0;
        while shape.open && out.len() < min_props && n < MAX_ITEMS {
            n += 1;
            let key = format!("key{n}");
            if out.contains_key(&key) {
                continue;
            }
            let v = self.value(&shape.extra.iter().cloned().collect::<Vec<_>>(), depth + 1, level + 1);
            out.insert(key, v);
        }
        if out.len() < min_props {
            self.fail(layers.ptr_of("minProperties"), format!("minProperties {min_props} but only {} properties are allowed", out.len()));
        }
        if let Some(max_props) = layers.count_min("maxProperties") {
            if max_props < min_props {
                self.fail(layers.ptr_of("minProperties"), format!("minProperties {min_props} exceeds maxProperties {max_props}"));
            }
            let optional: Vec<String> = out.keys().filter(|k| !shape.required.contains(&k.as_str())).cloned().collect();
            for k in optional.iter().rev() {
                if out.len() <= max_props {
                    break;
                }
                out.shift_remove(k);
            }
            if out.len() > max_props {
                self.fail(
                    layers.ptr_of("maxProperties"),
                    format!("{} properties are required but maxProperties is {max_props}", out.len()),
                );
            }
        }
    }
}

/// What an object schema's layers declare together: properties (each with every layer's schema
/// for it), required names, and what other properties may be.
struct ObjectShape<'a> {
    props: Vec<(&'a str, Vec<At<'a>>)>,
    required: Vec<&'a str>,
    /// `additionalProperties` when it is a schema.
    extra: Option<At<'a>>,
    /// Whether properties beyond the declared ones are allowed.
    open: bool,
    /// Required names a layer with `additionalProperties: false` does not declare.
    undeclared: Vec<&'a str>,
}

impl<'a> ObjectShape<'a> {
    fn of(layers: &Layers<'a>, dir: Direction) -> Self {
        let required: Vec<&'a str> = layers.required(dir).filter_map(Value::as_array).flatten().filter_map(Value::as_str).collect();
        let extra = layers.all_at("additionalProperties").find(|(v, _)| v.is_object());
        let open = !layers.all("additionalProperties").any(|v| v == &Value::Bool(false));
        let mut props: Vec<(&'a str, Vec<At<'a>>)> = Vec::new();
        for (p, ptr) in layers.all_at("properties") {
            for (name, schema) in p.as_object().into_iter().flatten() {
                let at = (schema, child(&ptr, name));
                match props.iter_mut().find(|(n, _)| *n == name.as_str()) {
                    Some((_, list)) => list.push(at),
                    None => props.push((name.as_str(), vec![at])),
                }
            }
        }
        // A required name no layer describes takes what `additionalProperties` says.
        for name in &required {
            if !props.iter().any(|(n, _)| n == name) {
                props.push((name, Vec::new()));
            }
        }
        // A layer's `additionalProperties` schema holds for every name that layer does not
        // declare itself, those of its `allOf` members too (Azure's `Factory` takes objects
        // beside its own properties, and its `Resource` member's `eTag` is a string).
        for layer in layers.maps.iter().filter(|l| l.map.get("patternProperties").is_none()) {
            let Some(schema @ Value::Object(_)) = layer.map.get("additionalProperties") else { continue };
            let own = layer.map.get("properties").and_then(Value::as_object);
            for (_, list) in props.iter_mut().filter(|(n, _)| own.is_none_or(|o| !o.contains_key(*n))) {
                list.push((schema, child(&layer.ptr, "additionalProperties")));
            }
        }
        // `additionalProperties: false` closes its own layer to the names that layer declares (a
        // pattern may admit any): a name another layer brings is left out, and a required one
        // makes the object unsatisfiable (BBC's `image_link` closes an object its `anyOf`
        // branches give required fields).
        let closed: Vec<&Map<String, Value>> = layers
            .maps
            .iter()
            .map(|l| l.map)
            .filter(|m| m.get("additionalProperties") == Some(&Value::Bool(false)) && m.get("patternProperties").is_none())
            .collect();
        let allowed =
            |name: &str| closed.iter().all(|m| m.get("properties").and_then(Value::as_object).is_some_and(|p| p.contains_key(name)));
        let undeclared = required.iter().copied().filter(|name| !allowed(name)).collect();
        props.retain(|(name, _)| allowed(name));
        Self { props, required, extra, open, undeclared }
    }
}

/// The discriminator value naming `branch`: its `mapping` key, else the referenced schema's name.
fn discriminator_tag<'a>(m: &'a Map<String, Value>, branch: &Value) -> Option<(&'a str, String)> {
    let d = m.get("discriminator")?;
    let property = d.get("propertyName")?.as_str()?;
    let reference = branch.get("$ref")?.as_str()?;
    Some((property, mapped_name(d, reference)))
}

/// The `mapping` key of a discriminator that names `reference`, else the schema's own name.
fn mapped_name(d: &Value, reference: &str) -> String {
    let name = reference.rsplit('/').next().unwrap_or(reference);
    d.get("mapping")
        .and_then(Value::as_object)
        .and_then(|map| map.iter().find(|(_, v)| v.as_str().is_some_and(|v| v == reference || v == name)))
        .map(|(k, _)| k.clone())
        .unwrap_or_else(|| percent_decode(name))
}

/// Whether `value` meets `schema` as far as the generator checks (type, format, pattern,
/// lengths, bounds, enum, `$ref`s and compositions): what a path parameter must meet to stand in
/// a field of an example.
pub fn admits(schema: &Value, root: &Value, value: &Value) -> bool {
    match schema {
        Value::Object(m) => fits_map(value, m, root, Direction::Response, 0),
        Value::Bool(b) => *b,
        _ => true,
    }
}

/// An echoed value in the property's declared type when its text converts.
pub fn convert_echo(e: &Value, types: &[&str]) -> Value {
    let has = |t: &str| types.contains(&t);
    match e {
        Value::String(s) if !has("string") => {
            let n = if has("integer") {
                text_to_number(s, true)
            } else if has("number") {
                text_to_number(s, false)
            } else {
                None
            };
            match (n, s.parse::<bool>()) {
                (Some(n), _) => Value::Number(n),
                (None, Ok(b)) if has("boolean") => Value::Bool(b),
                _ => e.clone(),
            }
        }
        Value::Number(n) if has("string") && !has("number") && !has("integer") => Value::String(n.to_string()),
        _ => e.clone(),
    }
}

fn too_big(depth: usize) -> String {
    format!("a valid value needs more than {depth} levels of nesting or {MAX_NODES} values")
}

/// JSON equality, with numbers equal by value (`1` and `1.0`), as JSON Schema's `enum`, `const`
/// and `uniqueItems` compare.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64().zip(y.as_f64()).is_some_and(|(x, y)| x == y),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w))),
        _ => a == b,
    }
}

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => true,
    }
}

/// Whether `v` meets the schema `m`, for choosing among fixed values (examples, defaults, enum
/// members) without building a validator per schema. It checks the keywords generation reads;
/// what it cannot decide (`not` aside, which it does check) it lets pass, so a caller that must be
/// sure still validates the whole value.
fn fits_map(v: &Value, m: &Map<String, Value>, root: &Value, dir: Direction, depth: usize) -> bool {
    if depth > 32 {
        return true;
    }
    let sub = |s: &Value, v: &Value| match s {
        Value::Bool(b) => *b,
        Value::Object(m) => fits_map(v, m, root, dir, depth + 1),
        _ => true,
    };
    if let Some(r) = m.get("$ref") {
        match r.as_str().and_then(|r| resolve(root, r)) {
            Some(t) if sub(t, v) => {}
            _ => return false,
        }
    }
    if let Some(all) = m.get("allOf").and_then(Value::as_array)
        && !all.iter().all(|s| sub(s, v))
    {
        return false;
    }
    for k in ["anyOf", "oneOf"] {
        if let Some(a) = m.get(k).and_then(Value::as_array).filter(|a| !a.is_empty())
            && !a.iter().any(|s| sub(s, v))
        {
            return false;
        }
    }
    if let Some(n) = m.get("not")
        && sub(n, v)
    {
        return false;
    }
    match m.get("type") {
        Some(Value::String(t)) if !has_type(v, t) => return false,
        Some(Value::Array(ts)) if !ts.is_empty() && !ts.iter().filter_map(Value::as_str).any(|t| has_type(v, t)) => return false,
        _ => {}
    }
    if m.get("const").is_some_and(|c| !same(c, v)) {
        return false;
    }
    if let Some(Value::Array(e)) = m.get("enum")
        && !e.iter().any(|x| same(x, v))
    {
        return false;
    }
    let bool_excl = |k: &str| m.get(k) == Some(&Value::Bool(true));
    if let Some(x) = v.as_f64() {
        let num = |k: &str| m.get(k).and_then(finite);
        if num("minimum").is_some_and(|b| x < b || (bool_excl("exclusiveMinimum") && x == b))
            || num("maximum").is_some_and(|b| x > b || (bool_excl("exclusiveMaximum") && x == b))
            || num("exclusiveMinimum").is_some_and(|b| x <= b)
            || num("exclusiveMaximum").is_some_and(|b| x >= b)
        {
            return false;
        }
        if let Some(step) = num("multipleOf").filter(|s| *s > 0.0) {
            let q = x / step;
            if (q - q.round()).abs() > 1e-9 * q.abs().max(1.0) {
                return false;
            }
        }
    }
    if let Some(s) = v.as_str() {
        let n = s.chars().count();
        if m.get("minLength").and_then(count).is_some_and(|l| n < l) || m.get("maxLength").and_then(count).is_some_and(|l| n > l) {
            return false;
        }
        if let Some(p) = m.get("pattern").and_then(Value::as_str)
            && !compiled_pattern(p).matches(s)
        {
            return false;
        }
        if let Some(f) = m.get("format").and_then(Value::as_str)
            && !format_holds(f, s)
        {
            return false;
        }
    }
    if let Some(items) = v.as_array() {
        let n = items.len();
        if m.get("minItems").and_then(count).is_some_and(|l| n < l) || m.get("maxItems").and_then(count).is_some_and(|l| n > l) {
            return false;
        }
        if m.get("uniqueItems") == Some(&Value::Bool(true)) && items.iter().enumerate().any(|(i, a)| items[..i].iter().any(|b| same(a, b)))
        {
            return false;
        }
        let prefix = m.get("prefixItems").or(m.get("items").filter(|i| i.is_array())).and_then(Value::as_array);
        let plen = prefix.map_or(0, Vec::len);
        if let Some(p) = prefix
            && !p.iter().zip(items).all(|(s, v)| sub(s, v))
        {
            return false;
        }
        if let Some(rest) = m.get("items").filter(|i| !i.is_array())
            && !items.iter().skip(plen).all(|v| sub(rest, v))
        {
            return false;
        }
        if let Some(c) = m.get("contains")
            && !items.iter().any(|v| sub(c, v))
        {
            return false;
        }
    }
    if let Some(obj) = v.as_object() {
        let n = obj.len();
        if m.get("minProperties").and_then(count).is_some_and(|l| n < l) || m.get("maxProperties").and_then(count).is_some_and(|l| n > l) {
            return false;
        }
        if let Some(req) = dir.required(m).and_then(Value::as_array)
            && !req.iter().filter_map(Value::as_str).all(|k| obj.contains_key(k))
        {
            return false;
        }
        let props = m.get("properties").and_then(Value::as_object);
        let patterned = m.get("patternProperties").and_then(Value::as_object);
        for (k, value) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) if !sub(s, value) => return false,
                Some(_) => {}
                None if patterned.is_some_and(|p| p.keys().any(|re| compiled_pattern(re).matches(k))) => {}
                None => match m.get("additionalProperties") {
                    Some(extra) if !sub(extra, value) => return false,
                    _ => {}
                },
            }
        }
    }
    true
}

thread_local! {
    static FORMATS: RefCell<HashMap<String, Option<Rc<jsonschema::Validator>>>> = RefCell::new(HashMap::new());
}

/// Whether `s` has `format`, as the server's validator asserts formats (unknown ones pass).
/// OpenAPI's numeric formats on strings (Google's `"format": "int64"` ids), as the server's
/// validator reads them: otherwise `"string"` would pass for an int64 here and fail there.
pub fn with_openapi_formats(o: jsonschema::ValidationOptions<'static>) -> jsonschema::ValidationOptions<'static> {
    o.with_format("int32", |s: &str| s.parse::<i32>().is_ok())
        .with_format("int64", |s: &str| s.parse::<i64>().is_ok())
        .with_format("uint32", |s: &str| s.parse::<u32>().is_ok())
        .with_format("uint64", |s: &str| s.parse::<u64>().is_ok())
        .with_format("float", |s: &str| s.parse::<f32>().is_ok())
        .with_format("double", |s: &str| s.parse::<f64>().is_ok())
}

fn format_holds(format: &str, s: &str) -> bool {
    let checker = FORMATS.with(|cache| {
        if let Some(hit) = cache.borrow().get(format) {
            return hit.clone();
        }
        let built = with_openapi_formats(jsonschema::options().should_validate_formats(true).should_ignore_unknown_formats(true))
            .build(&serde_json::json!({ "format": format }))
            .ok()
            .map(Rc::new);
        let mut cache = cache.borrow_mut();
        if cache.len() >= 256 {
            cache.clear();
        }
        cache.insert(format.to_string(), built.clone());
        built
    });
    checker.is_none_or(|c| c.is_valid(&Value::String(s.to_string())))
}

fn finite(v: &Value) -> Option<f64> {
    v.as_f64().filter(|f| f.is_finite())
}

/// An integer bound from a numeric keyword: rounded up for a lower bound, down for an upper one.
fn int_bound(v: &Value, lower: bool) -> Option<i128> {
    if let Some(i) = v.as_i64() {
        return Some(i as i128);
    }
    if let Some(u) = v.as_u64() {
        return Some(u as i128);
    }
    let f = finite(v)?.clamp(-1e30, 1e30);
    Some(if lower { f.ceil() } else { f.floor() } as i128)
}

/// The step integers take under `multipleOf: m`: the smallest integer that is a multiple of `m`
/// (none for a step like `1e-300` whose multiples no integer up to 1000 is).
fn integer_step(m: f64) -> Option<i128> {
    if !(m.is_finite() && m > 0.0) {
        return Some(1);
    }
    if m.fract() == 0.0 {
        return Some((m as i128).clamp(1, i64::MAX as i128));
    }
    (1..=1000).find(|n| {
        let q = (*n as f64) / m;
        (q - q.round()).abs() < 1e-9 * q.abs().max(1.0)
    })
}

fn gcd(a: i128, b: i128) -> i128 {
    if b == 0 { a.abs() } else { gcd(b, a % b) }
}

fn lcm(a: i128, b: i128) -> Option<i128> {
    let g = gcd(a, b).max(1);
    (a / g).checked_mul(b).filter(|v| *v <= i64::MAX as i128)
}

/// The smallest positive number every step divides, for several `multipleOf`s (through `allOf`):
/// decimal steps are scaled to integers first, so `0.5` and `0.75` give `1.5`.
fn common_multiple(steps: &[f64]) -> Option<f64> {
    let (first, rest) = steps.split_first()?;
    if rest.is_empty() {
        return Some(*first);
    }
    let d = steps.iter().map(|m| decimals(*m)).max().unwrap_or(0).min(9);
    let scale = 10f64.powi(d);
    let mut acc: i128 = 1;
    for m in steps {
        let scaled = (m * scale).round();
        if !(1.0..1e15).contains(&scaled) {
            return Some(*first);
        }
        acc = lcm(acc, scaled as i128)?;
    }
    Some(acc as f64 / scale)
}

fn div_floor(a: i128, b: i128) -> i128 {
    let q = a / b;
    if (a % b != 0) && ((a < 0) != (b < 0)) { q - 1 } else { q }
}

fn div_ceil(a: i128, b: i128) -> i128 {
    let q = a / b;
    if (a % b != 0) && ((a < 0) == (b < 0)) { q + 1 } else { q }
}

/// Decimal places in `m` (0.25 → 2), so multiples print without binary noise.
fn decimals(m: f64) -> i32 {
    (0..15)
        .find(|d| {
            let scaled = m * 10f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-9 * scaled.abs().max(1.0)
        })
        .unwrap_or(15)
}

struct Range {
    lo: f64,
    lo_x: bool,
    hi: f64,
    hi_x: bool,
}

impl Range {
    fn raise(&mut self, v: f64, exclusive: bool) {
        if v > self.lo || (v == self.lo && exclusive) {
            (self.lo, self.lo_x) = (v, exclusive);
        }
    }

    fn lower(&mut self, v: f64, exclusive: bool) {
        if v < self.hi || (v == self.hi && exclusive) {
            (self.hi, self.hi_x) = (v, exclusive);
        }
    }

    fn contains(&self, x: f64) -> bool {
        x.is_finite() && (x > self.lo || (!self.lo_x && x == self.lo)) && (x < self.hi || (!self.hi_x && x == self.hi))
    }

    /// The point random values start from: zero if allowed, else the bound nearest zero.
    fn anchor(&self) -> f64 {
        if self.contains(0.0) { 0.0 } else { self.smallest(0) }
    }

    /// The valid value nearest zero, moved up by `variant` when that stays valid.
    fn smallest(&self, variant: u64) -> f64 {
        let candidates = if self.contains(0.0) {
            [0.0, 0.0]
        } else if self.lo >= 0.0 {
            [self.lo, self.lo.floor() + 1.0]
        } else {
            [self.hi, self.hi.ceil() - 1.0]
        };
        let base = candidates.into_iter().find(|x| self.contains(*x)).unwrap_or_else(|| {
            let mid = self.lo / 2.0 + self.hi / 2.0;
            if mid.is_finite() { mid } else { 0.0 }
        });
        let moved = base + variant as f64;
        if variant > 0 && self.contains(moved) { moved } else { base }
    }
}

/// Pads (repeating `base`) or truncates to the length bounds, counted in characters as JSON
/// Schema does.
fn fit(base: &str, min: usize, max: Option<usize>) -> String {
    let max = max.unwrap_or(usize::MAX).min(MAX_LEN);
    let min = min.min(max);
    let mut out: String = base.chars().take(max).collect();
    let missing = min.saturating_sub(out.chars().count());
    let filler: Vec<char> = base.chars().filter(|c| *c != ' ').collect();
    let filler = if filler.is_empty() { vec!['x'] } else { filler };
    out.extend(filler.into_iter().cycle().take(missing));
    out
}

/// A sample shorter than `min` made long enough by repeating its last (or first) character, when
/// the pattern still matches: the generator bounds unbounded repeats (`[0-9]+`) at
/// `MAX_REPEAT`, which a `minLength` of 12 (AWS's account ids) goes past.
fn stretched(s: String, min: usize, matches: &dyn Fn(&str) -> bool) -> String {
    let missing = min.saturating_sub(s.chars().count());
    if missing == 0 {
        return s;
    }
    let (Some(first), Some(last)) = (s.chars().next(), s.chars().last()) else { return s };
    let longer = [format!("{s}{}", last.to_string().repeat(missing)), format!("{}{s}", first.to_string().repeat(missing))];
    longer.into_iter().find(|t| matches(t)).unwrap_or(s)
}

const WORDS: [&str; 12] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima"];

/// `minLength` and `maxLength`.
type LengthRange = (usize, Option<usize>);

/// A compiled `pattern`: a generator for it and a checker with the validator's regex dialect,
/// because the generator sees a simplified pattern (anchors dropped, classes narrowed).
struct Pattern {
    generator: Option<rand_regex::Regex>,
    checker: Option<jsonschema::Validator>,
    /// The parsed pattern before [`tame`], for [`Pattern::stretched`].
    parsed: Option<Hir>,
    /// The repeat count [`Pattern::stretched`] found for a length range (None: none did).
    counts: RefCell<HashMap<LengthRange, Option<u32>>>,
}

impl Pattern {
    fn matches(&self, s: &str) -> bool {
        self.checker.as_ref().is_none_or(|c| c.is_valid(&Value::String(s.to_string())))
    }

    /// A generator whose open repetitions all repeat exactly `count` times (within their own
    /// bounds): AWS's `AccountId` is `[0-9]+` of exactly 12 characters, which sampling with
    /// repetitions capped at [`MAX_REPEAT`] never reaches.
    fn stretched(&self, count: u32) -> Option<rand_regex::Regex> {
        let hir = tame(stretch(self.parsed.as_ref()?, count));
        rand_regex::Regex::with_hir(hir, count.max(MAX_REPEAT)).ok().filter(|r| r.capacity() <= MAX_LEN * 4)
    }
}

/// A match of the length asked for from [`Pattern::stretched`] generators, trying repeat
/// counts up to what the length needs; the count that worked is kept for the next value.
fn sample_stretched(p: &Pattern, min: usize, max: Option<usize>, accept: &dyn Fn(&str) -> bool, rng: &mut StdRng) -> Option<String> {
    let fits = |s: &str| {
        let n = s.chars().count();
        n >= min && max.is_none_or(|m| n <= m) && p.matches(s) && accept(s)
    };
    let draw = |count: u32, rng: &mut StdRng| -> Option<String> {
        let generator = p.stretched(count)?;
        (0..4).find_map(|_| Distribution::<Result<String, std::string::FromUtf8Error>>::sample(&generator, rng).ok().filter(|s| fits(s)))
    };
    let known = p.counts.borrow().get(&(min, max)).copied();
    if let Some(found) = known {
        return draw(found?, rng);
    }
    let top = u32::try_from(min.clamp(1, MAX_STRETCH)).unwrap_or(1);
    let found = (0..=top).find_map(|count| draw(count, rng).map(|s| (count, s)));
    p.counts.borrow_mut().insert((min, max), found.as_ref().map(|(c, _)| *c));
    found.map(|(_, s)| s)
}

/// `h` with every repetition whose count is open fixed at `count`, clamped to its bounds.
fn stretch(h: &Hir, count: u32) -> Hir {
    match h.kind() {
        HirKind::Repetition(r) => {
            let (min, max) = if r.max == Some(r.min) {
                (r.min, r.max)
            } else {
                let n = count.max(r.min).min(r.max.unwrap_or(u32::MAX));
                (n, Some(n))
            };
            Hir::repetition(hir::Repetition { min, max, greedy: r.greedy, sub: Box::new(stretch(&r.sub, count)) })
        }
        HirKind::Capture(c) => Hir::capture(hir::Capture { index: c.index, name: c.name.clone(), sub: Box::new(stretch(&c.sub, count)) }),
        HirKind::Concat(v) => Hir::concat(v.iter().map(|h| stretch(h, count)).collect()),
        HirKind::Alternation(v) => Hir::alternation(v.iter().map(|h| stretch(h, count)).collect()),
        _ => h.clone(),
    }
}

thread_local! {
    static PATTERNS: RefCell<HashMap<String, Rc<Pattern>>> = RefCell::new(HashMap::new());
}

/// Compiling regexes costs more than generating from them, and a spec has few distinct patterns.
fn compiled_pattern(p: &str) -> Rc<Pattern> {
    PATTERNS.with(|cache| {
        if let Some(hit) = cache.borrow().get(p) {
            return Rc::clone(hit);
        }
        let parse = |p: &str| {
            let parsed = regex_syntax::ParserBuilder::new().build().parse(p).ok()?;
            let generator = rand_regex::Regex::with_hir(tame(parsed.clone()), MAX_REPEAT).ok().filter(|r| r.capacity() <= MAX_LEN * 4)?;
            Some((generator, parsed))
        };
        // Lookaround is beyond the generator's syntax: it samples the rest, and the checker (which
        // has lookaround) throws away what the assertions forbid. Backreferences stay ungenerated.
        let (generator, parsed) = parse(p).or_else(|| without_lookaround(p).and_then(|rest| parse(&rest))).unzip();
        let checker = jsonschema::validator_for(&serde_json::json!({ "pattern": p })).ok();
        let compiled = Rc::new(Pattern { generator, checker, parsed, counts: RefCell::default() });
        let mut cache = cache.borrow_mut();
        if cache.len() >= 256 {
            cache.clear();
        }
        cache.insert(p.to_string(), Rc::clone(&compiled));
        compiled
    })
}

/// `p` with its lookaround groups (`(?=…)`, `(?!…)`, `(?<=…)`, `(?<!…)`) removed, or `None` when it
/// has none or they do not close.
fn without_lookaround(p: &str) -> Option<String> {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len());
    let (mut i, mut removed) = (0, false);
    let starts_lookaround = |i: usize| {
        let rest: String = chars[i..chars.len().min(i + 4)].iter().collect();
        ["(?=", "(?!", "(?<=", "(?<!"].iter().any(|s| rest.starts_with(s))
    };
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                out.extend(chars.get(i..i + 2).unwrap_or(&chars[i..]));
                i += 2;
            }
            '[' => {
                // A class is copied whole: its parentheses are literal.
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != ']' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
                out.extend(&chars[start..i.min(chars.len())]);
            }
            '(' if starts_lookaround(i) => {
                let mut depth = 0usize;
                loop {
                    match chars.get(i)? {
                        '\\' => i += 1,
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        '[' => {
                            while chars.get(i + 1).is_some_and(|c| *c != ']') {
                                i += if chars[i + 1] == '\\' { 2 } else { 1 };
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                i += 1;
                removed = true;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    removed.then_some(out)
}

/// Makes a parsed pattern generatable and readable: JSON Schema patterns are unanchored searches,
/// so anchors and word boundaries are dropped; classes are narrowed to printable ASCII when they
/// allow any of it (`\d` in Unicode mode would yield other scripts' digits, which ECMA-262 `\d`
/// rejects); bounded repetitions are capped like unbounded ones.
fn tame(h: Hir) -> Hir {
    match h.into_kind() {
        HirKind::Empty | HirKind::Look(_) => Hir::empty(),
        HirKind::Literal(hir::Literal(bytes)) => Hir::literal(bytes),
        HirKind::Class(Class::Unicode(c)) => {
            let mut narrow = ClassUnicode::new([ClassUnicodeRange::new(' ', '~')]);
            narrow.intersect(&c);
            Hir::class(Class::Unicode(if narrow.ranges().is_empty() { c } else { narrow }))
        }
        HirKind::Class(Class::Bytes(c)) => {
            let mut narrow = ClassBytes::new([ClassBytesRange::new(b' ', b'~')]);
            narrow.intersect(&c);
            Hir::class(Class::Bytes(if narrow.ranges().is_empty() { c } else { narrow }))
        }
        HirKind::Repetition(r) => Hir::repetition(hir::Repetition {
            max: r.max.map(|m| m.min(r.min.saturating_add(MAX_REPEAT))),
            sub: Box::new(tame(*r.sub)),
            ..r
        }),
        HirKind::Capture(c) => Hir::capture(hir::Capture { sub: Box::new(tame(*c.sub)), ..c }),
        HirKind::Concat(v) => Hir::concat(v.into_iter().map(tame).collect()),
        HirKind::Alternation(v) => Hir::alternation(v.into_iter().map(tame).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn det(schema: &Value) -> Value {
        generate(schema, &json!({}), &GenOptions::default())
    }

    fn sat(schema: &Value) -> Result<Value, Unsatisfiable> {
        try_generate(schema, &json!({}), "/s", &GenOptions::default())
    }

    /// Generated deterministically and with seeds, always valid and never unsatisfiable.
    #[track_caller]
    fn always_valid(schema: &Value, root: &Value) {
        let v = try_generate(schema, root, "", &GenOptions::default()).unwrap_or_else(|e| panic!("{schema}: {e}"));
        assert_valid(schema, root, &v);
        for seed in 0..10 {
            let opts = GenOptions { mode: Mode::Random { seed }, ..GenOptions::default() };
            let v = try_generate(schema, root, "", &opts).unwrap_or_else(|e| panic!("{schema}: {e}"));
            assert_valid(schema, root, &v);
        }
    }

    fn with(schema: &Value, root: &Value, mode: Mode, direction: Direction) -> Value {
        generate(schema, root, &GenOptions { mode, direction, ..GenOptions::default() })
    }

    fn random(schema: &Value, root: &Value, seed: u64) -> Value {
        with(schema, root, Mode::Random { seed }, Direction::Response)
    }

    /// Violations of `value` against `schema`, with `$ref`s resolved in `root`, checked the way
    /// the server's validator checks (formats asserted).
    fn violations(schema: &Value, root: &Value, value: &Value) -> Vec<String> {
        let mut doc = root.clone();
        if !doc.is_object() {
            doc = json!({});
        }
        doc["__schema"] = schema.clone();
        doc["$ref"] = json!("#/__schema");
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .should_ignore_unknown_formats(true)
            .with_format("int32", |s: &str| s.parse::<i32>().is_ok())
            .with_format("int64", |s: &str| s.parse::<i64>().is_ok())
            .build(&doc)
            .expect("test schema compiles");
        validator.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect()
    }

    #[track_caller]
    fn assert_valid(schema: &Value, root: &Value, value: &Value) {
        let v = violations(schema, root, value);
        assert!(v.is_empty(), "{value} is not valid against {schema}: {v:?}");
    }

    fn depth_of(v: &Value) -> usize {
        match v {
            Value::Object(m) => 1 + m.values().map(depth_of).max().unwrap_or(0),
            Value::Array(a) => 1 + a.iter().map(depth_of).max().unwrap_or(0),
            _ => 0,
        }
    }

    fn runs_doc() -> Value {
        json!({
            "components": {"schemas": {
                "Run": {
                    "type": "object",
                    "required": ["runId", "status", "steps"],
                    "properties": {
                        "runId": {"type": "string", "format": "uuid", "readOnly": true},
                        "name": {"type": "string", "minLength": 3, "maxLength": 40},
                        "status": {"$ref": "#/components/schemas/Status"},
                        "secret": {"type": "string", "writeOnly": true},
                        "createdAt": {"type": "string", "format": "date-time"},
                        "priority": {"type": "integer", "minimum": 1, "maximum": 5},
                        "score": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                        "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]{2,6}$"}, "uniqueItems": true, "maxItems": 4},
                        "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Step"}},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "owner": {"type": ["string", "null"], "format": "email"}
                    }
                },
                "Status": {"type": "string", "enum": ["queued", "running", "done"]},
                "Step": {
                    "type": "object",
                    "required": ["id"],
                    "properties": {
                        "id": {"type": "integer", "format": "int32", "minimum": 0},
                        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Step"}},
                        "kind": {"oneOf": [{"type": "string", "const": "shell"}, {"type": "integer", "minimum": 10}]}
                    }
                }
            }}
        })
    }

    fn run_ref() -> Value {
        json!({"$ref": "#/components/schemas/Run"})
    }

    #[test]
    fn default_options() {
        let o = GenOptions::default();
        assert_eq!(o.mode, Mode::Deterministic);
        assert_eq!(o.direction, Direction::Response);
        assert_eq!(o.max_depth, 6);
        assert!(o.echo.is_none());
    }

    #[test]
    fn priority_const_examples_example_default_enum_type() {
        let all =
            json!({"type": "string", "const": "c", "examples": ["xs"], "example": "x", "default": "d", "enum": ["e", "xs", "x", "d", "c"]});
        assert_eq!(det(&all), json!("c"));
        let mut s = all.clone();
        s.as_object_mut().unwrap().remove("const");
        assert_eq!(det(&s), json!("xs"));
        s.as_object_mut().unwrap().remove("examples");
        assert_eq!(det(&s), json!("x"));
        s.as_object_mut().unwrap().remove("example");
        assert_eq!(det(&s), json!("d"));
        s.as_object_mut().unwrap().remove("default");
        assert_eq!(det(&s), json!("e"));
        s.as_object_mut().unwrap().remove("enum");
        assert_eq!(det(&s), json!("string"));
        // The priority holds in Random mode too.
        assert_eq!(random(&all, &json!({}), 3), json!("c"));
    }

    #[test]
    fn enum_is_first_value_deterministic_and_any_value_random() {
        let s = json!({"enum": ["a", "b", "c", "d"]});
        assert_eq!(det(&s), json!("a"));
        let seen: std::collections::HashSet<String> =
            (0..40).map(|seed| random(&s, &json!({}), seed).as_str().unwrap().to_string()).collect();
        assert!(seen.len() > 1, "random enum always gave {seen:?}");
        assert!(seen.iter().all(|v| ["a", "b", "c", "d"].contains(&v.as_str())));
        // A nullable enum shows a real value deterministically.
        assert_eq!(det(&json!({"type": ["string", "null"], "enum": [null, "x"]})), json!("x"));
    }

    #[test]
    fn boolean_schemas() {
        assert_eq!(det(&json!(true)), json!("string"));
        assert_eq!(det(&json!(false)), Value::Null);
        let v = det(&json!({"type": "object", "properties": {"a": true, "b": false}}));
        assert_eq!(v, json!({"a": "string"}));
    }

    #[test]
    fn refs_resolve_with_escapes_and_percent_encoding() {
        let root = json!({"components": {"schemas": {"a/b": {"const": 1}, "c~d": {"const": 2}, "e f": {"const": 3}, "%": {"const": 4}}}});
        let g = |r: &str| generate(&json!({"$ref": r}), &root, &GenOptions::default());
        assert_eq!(g("#/components/schemas/a~1b"), json!(1));
        assert_eq!(g("#/components/schemas/c~0d"), json!(2));
        assert_eq!(g("#/components/schemas/e%20f"), json!(3));
        assert_eq!(g("#/components/schemas/%25"), json!(4));
        assert_eq!(g("#/components/schemas/missing"), Value::Null);
        assert_eq!(g("other.yaml#/x"), Value::Null);
        assert_eq!(g("#"), json!("string"));
        assert_eq!(generate(&json!({"$ref": 5}), &root, &GenOptions::default()), Value::Null);
    }

    #[test]
    fn ref_siblings_apply_and_win() {
        let root = json!({"components": {"schemas": {"S": {"type": "string", "example": "inner"}}}});
        let s = json!({"$ref": "#/components/schemas/S", "example": "outer"});
        assert_eq!(generate(&s, &root, &GenOptions::default()), json!("outer"));
        let s = json!({"$ref": "#/components/schemas/S", "maxLength": 5, "examples": []});
        assert_eq!(generate(&s, &root, &GenOptions::default()), json!("inner"));
        // An example the outer schema forbids is passed over.
        let s = json!({"$ref": "#/components/schemas/S", "maxLength": 3});
        assert_eq!(generate(&s, &root, &GenOptions::default()), json!("str"));
    }

    #[test]
    fn pure_reference_cycles_end() {
        let root = json!({"components": {"schemas": {
            "A": {"$ref": "#/components/schemas/B"},
            "B": {"$ref": "#/components/schemas/A"},
            "C": {"allOf": [{"$ref": "#/components/schemas/C"}, {"type": "integer"}]},
            "D": {"oneOf": [{"$ref": "#/components/schemas/D"}, {"type": "boolean"}]}
        }}});
        for name in ["A", "B", "C", "D"] {
            let s = json!({"$ref": format!("#/components/schemas/{name}")});
            let _ = generate(&s, &root, &GenOptions::default());
            for seed in 0..5 {
                let _ = random(&s, &root, seed);
            }
        }
        assert_eq!(generate(&json!({"$ref": "#/components/schemas/C"}), &root, &GenOptions::default()), json!(0));
    }

    #[test]
    fn all_of_merges_properties_and_required() {
        let root = json!({"components": {"schemas": {
            "Base": {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer", "minimum": 3}}, "example": {"id": 9}},
            "Named": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "maxLength": 4}}}
        }}});
        let s = json!({"allOf": [
            {"$ref": "#/components/schemas/Base"},
            {"$ref": "#/components/schemas/Named"},
            {"properties": {"id": {"maximum": 10}, "extra": {"type": "boolean"}}, "required": ["extra"]}
        ]});
        let v = generate(&s, &root, &GenOptions::default());
        // A member's own example describes only that member, so it is not the answer.
        assert_eq!(v, json!({"id": 3, "name": "stri", "extra": true}));
        assert_valid(&s, &root, &v);
        for seed in 0..30 {
            let v = random(&s, &root, seed);
            assert_valid(&s, &root, &v);
            for k in ["id", "name", "extra"] {
                assert!(v.get(k).is_some(), "{k} missing in {v}");
            }
        }
        // A single-member allOf is just a reference: its example still answers.
        let one = json!({"allOf": [{"$ref": "#/components/schemas/Base"}]});
        assert_eq!(generate(&one, &root, &GenOptions::default()), json!({"id": 9}));
    }

    #[test]
    fn one_of_and_any_of_pick_first_or_random_branch() {
        let s = json!({"oneOf": [{"type": "string", "maxLength": 2}, {"type": "integer", "minimum": 5}, {"type": "boolean"}]});
        assert_eq!(det(&s), json!("st"));
        let a = json!({"anyOf": [{"type": "integer", "minimum": 5}, {"type": "null"}]});
        assert_eq!(det(&a), json!(5));
        let mut kinds = std::collections::HashSet::new();
        for seed in 0..40 {
            let v = random(&s, &json!({}), seed);
            assert_valid(&s, &json!({}), &v);
            kinds.insert(match v {
                Value::String(_) => "s",
                Value::Number(_) => "n",
                Value::Bool(_) => "b",
                _ => "other",
            });
            assert_valid(&a, &json!({}), &random(&a, &json!({}), seed));
        }
        assert_eq!(kinds.len(), 3, "random oneOf used only {kinds:?}");
        // A `false` branch is never the choice.
        assert_eq!(det(&json!({"oneOf": [false, {"const": 1}]})), json!(1));
    }

    #[test]
    fn one_of_picks_a_branch_no_other_branch_accepts() {
        // GitHub's event payload: CreateEvent has every field DeleteEvent requires.
        let root = json!({"components": {"schemas": {
            "Create": {"type": "object", "required": ["ref", "master_branch"], "properties": {"ref": {"type": "string"}, "master_branch": {"type": "string"}}},
            "Delete": {"type": "object", "required": ["ref"], "properties": {"ref": {"type": "string"}}}
        }}});
        let s = json!({"oneOf": [{"$ref": "#/components/schemas/Create"}, {"$ref": "#/components/schemas/Delete"}]});
        let validator = jsonschema::validator_for(
            &json!({"oneOf": [root["components"]["schemas"]["Create"], root["components"]["schemas"]["Delete"]]}),
        )
        .unwrap();
        let v = generate(&s, &root, &GenOptions::default());
        assert!(validator.is_valid(&v), "{v}");
        for seed in 0..20 {
            let v = generate(&s, &root, &GenOptions { mode: Mode::Random { seed }, ..Default::default() });
            assert!(validator.is_valid(&v), "seed {seed}: {v}");
        }
        // Branches told apart by type keep the usual first choice.
        assert!(generate(&json!({"oneOf": [{"type": "string"}, {"type": "integer"}]}), &root, &GenOptions::default()).is_string());
    }

    #[test]
    fn one_of_merges_with_the_outer_schema_and_fills_the_discriminator() {
        let root = json!({"components": {"schemas": {
            "Pet": {
                "type": "object",
                "required": ["petType"],
                "properties": {"petType": {"type": "string"}},
                "oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
                "discriminator": {"propertyName": "petType", "mapping": {"kitty": "#/components/schemas/Cat"}}
            },
            "Cat": {"type": "object", "required": ["meows"], "properties": {"meows": {"type": "boolean"}}},
            "Dog": {"type": "object", "required": ["barks"], "properties": {"barks": {"type": "boolean"}}}
        }}});
        let s = json!({"$ref": "#/components/schemas/Pet"});
        assert_eq!(generate(&s, &root, &GenOptions::default()), json!({"petType": "kitty", "meows": true}));
        let mut dogs = 0;
        for seed in 0..30 {
            let v = random(&s, &root, seed);
            assert_valid(&s, &root, &v);
            if v.get("barks").is_some() {
                assert_eq!(v["petType"], json!("Dog"));
                dogs += 1;
            }
        }
        assert!(dogs > 0);
    }

    #[test]
    fn missing_type_is_inferred() {
        assert_eq!(det(&json!({"properties": {"a": {"type": "integer"}}})), json!({"a": 0}));
        assert_eq!(det(&json!({"items": {"type": "boolean"}})), json!([true]));
        assert_eq!(det(&json!({"description": "anything"})), json!("string"));
        assert_eq!(det(&json!({})), json!("string"));
    }

    #[test]
    fn type_arrays_take_the_first_non_null_type_and_random_sometimes_null() {
        let s = json!({"type": ["null", "integer", "string"]});
        assert_eq!(det(&s), json!(0));
        assert_eq!(det(&json!({"type": ["null"]})), Value::Null);
        let values: Vec<Value> = (0..60).map(|seed| random(&s, &json!({}), seed)).collect();
        assert!(values.iter().any(Value::is_null));
        assert!(values.iter().any(Value::is_i64));
        assert!(values.iter().all(|v| v.is_null() || v.is_i64()));
    }

    #[test]
    fn string_formats_are_valid() {
        let formats = [
            "date-time",
            "date",
            "time",
            "duration",
            "uuid",
            "email",
            "idn-email",
            "uri",
            "url",
            "iri",
            "uri-reference",
            "iri-reference",
            "uri-template",
            "hostname",
            "idn-hostname",
            "ipv4",
            "ipv6",
            "byte",
            "json-pointer",
            "relative-json-pointer",
            "regex",
            "int32",
            "int64",
            "binary",
            "password",
            "no-such-format",
        ];
        for f in formats {
            let s = json!({"type": "string", "format": f});
            let v = det(&s);
            assert!(v.is_string(), "{f}: {v}");
            assert_valid(&s, &json!({}), &v);
            for seed in 0..10 {
                assert_valid(&s, &json!({}), &random(&s, &json!({}), seed));
            }
        }
    }

    #[test]
    fn date_time_and_uuid_parse() {
        use time::format_description::well_known::Rfc3339;
        let dt = json!({"type": "string", "format": "date-time"});
        assert_eq!(det(&dt), json!("2024-01-01T00:00:00Z"));
        for seed in 0..20 {
            let v = random(&dt, &json!({}), seed);
            let parsed = time::OffsetDateTime::parse(v.as_str().unwrap(), &Rfc3339).expect("RFC 3339");
            assert!((2020..=2026).contains(&parsed.year()));
        }
        let date = det(&json!({"type": "string", "format": "date"}));
        assert_eq!(date, json!("2024-01-01"));
        let id = json!({"type": "string", "format": "uuid"});
        let u = uuid::Uuid::parse_str(det(&id).as_str().unwrap()).unwrap();
        assert_eq!(u.get_version_num(), 4);
        assert_eq!(det(&id), det(&id));
        let a = random(&id, &json!({}), 1);
        let b = random(&id, &json!({}), 2);
        assert_ne!(a, b);
        uuid::Uuid::parse_str(a.as_str().unwrap()).unwrap();
        let ip = det(&json!({"type": "string", "format": "ipv4"}));
        ip.as_str().unwrap().parse::<std::net::Ipv4Addr>().unwrap();
        let ip6 = det(&json!({"type": "string", "format": "ipv6"}));
        ip6.as_str().unwrap().parse::<std::net::Ipv6Addr>().unwrap();
        let bytes = det(&json!({"type": "string", "format": "byte"}));
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(bytes.as_str().unwrap()).unwrap(), b"string");
        let big = det(&json!({"type": "string", "format": "int64", "minimum": 12}));
        assert_eq!(big, json!("12"));
    }

    #[test]
    fn patterns_generate_matching_stable_strings() {
        let patterns = [
            r"^[a-z]{3}-\d{4}$",
            r"^\d+$",
            r"^[A-Z][a-z]+( [A-Z][a-z]+)*$",
            r"^(foo|bar)_[0-9a-f]{8}$",
            r"\w+@\w+\.com",
            r"^[^\s]{1,}$",
            r"^\S+$",
            r"^run-[a-z0-9]{1,100}$",
            r"^\p{Lu}\p{Ll}*$",
            r"^[a-z]+\/[a-z]+$",
        ];
        for p in patterns {
            let s = json!({"type": "string", "pattern": p});
            let v = det(&s);
            assert_valid(&s, &json!({}), &v);
            assert_eq!(v, det(&s), "{p} not stable");
            for seed in 0..10 {
                assert_valid(&s, &json!({}), &random(&s, &json!({}), seed));
            }
        }
        // Repetition is capped, so `+` stays short.
        let v = det(&json!({"type": "string", "pattern": "^a+$"}));
        assert!(v.as_str().unwrap().len() <= 1 + MAX_REPEAT as usize);
        // Length bounds are honoured when the pattern allows them.
        let s = json!({"type": "string", "pattern": "^[a-z]+$", "minLength": 5, "maxLength": 6});
        let v = det(&s);
        assert_valid(&s, &json!({}), &v);
        // A length past the repetition cap still matches (AWS's 12-digit account ids).
        let s = json!({"type": "string", "pattern": "[0-9]+", "minLength": 12, "maxLength": 12});
        for v in [det(&s), random(&s, &json!({}), 3)] {
            assert_valid(&s, &json!({}), &v);
        }
        // A pattern the generator cannot handle falls back without panicking.
        let _ = det(&json!({"type": "string", "pattern": "(?=a)b"}));
        let _ = det(&json!({"type": "string", "pattern": "(unclosed"}));
        let _ = det(&json!({"type": "string", "pattern": "(?!(unclosed"}));
    }

    #[test]
    fn lookaround_patterns_generate_from_the_rest_and_honour_the_assertion() {
        for p in ["^(?!admin)[a-z]{3,8}$", "^(?=[a-z]*\\d)[a-z0-9]{6}$", "^(?!admin).*$", "^[(](?<!x)[0-9]+$"] {
            let s = json!({"type": "string", "pattern": p});
            for v in [det(&s), random(&s, &json!({}), 7)] {
                assert_valid(&s, &json!({}), &v);
            }
        }
        assert_eq!(without_lookaround("^(?!a(b)[)])x\\(y$").as_deref(), Some("^x\\(y$"));
        assert_eq!(without_lookaround("^[a-z]+$"), None);
    }

    #[test]
    fn backreferences_fall_back_to_a_plain_string_without_looping() {
        // The generator cannot express `\\1`; the answer is a plain string, not a hang or a panic.
        let v = det(&json!({"type": "string", "pattern": "^(a+)\\1$"}));
        assert!(v.is_string(), "{v}");
    }

    #[test]
    fn format_yields_to_a_pattern_it_does_not_match() {
        let s =
            json!({"type": "string", "format": "uuid", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"});
        let v = det(&s);
        uuid::Uuid::parse_str(v.as_str().unwrap()).unwrap();
        assert_valid(&s, &json!({}), &v);
        let s = json!({"type": "string", "format": "email", "pattern": "^x{3}$"});
        assert_eq!(det(&s), json!("xxx"));
    }

    #[test]
    fn plain_strings_fit_length_bounds() {
        assert_eq!(det(&json!({"type": "string"})), json!("string"));
        assert_eq!(det(&json!({"type": "string", "maxLength": 3})), json!("str"));
        assert_eq!(det(&json!({"type": "string", "minLength": 10})), json!("stringstri"));
        assert_eq!(det(&json!({"type": "string", "maxLength": 0})), json!(""));
        let huge = det(&json!({"type": "string", "minLength": 1_000_000_000u64}));
        assert_eq!(huge.as_str().unwrap().len(), MAX_LEN);
        for seed in 0..20 {
            let s = json!({"type": "string", "minLength": 4, "maxLength": 7});
            assert_valid(&s, &json!({}), &random(&s, &json!({}), seed));
        }
    }

    #[test]
    fn integers_respect_bounds_and_multiples() {
        let cases = [
            (json!({"type": "integer"}), json!(0)),
            (json!({"type": "integer", "minimum": 5}), json!(5)),
            (json!({"type": "integer", "maximum": -3}), json!(-3)),
            (json!({"type": "integer", "exclusiveMinimum": 0}), json!(1)),
            (json!({"type": "integer", "exclusiveMaximum": -1}), json!(-2)),
            (json!({"type": "integer", "minimum": 10, "multipleOf": 7}), json!(14)),
            (json!({"type": "integer", "minimum": 0.5}), json!(1)),
            (json!({"type": "integer", "minimum": 1, "multipleOf": 2.5}), json!(5)),
            (json!({"type": "integer", "minimum": 9_007_199_254_740_993u64}), json!(9_007_199_254_740_993u64)),
            (json!({"type": "integer", "minimum": -10, "maximum": -5, "multipleOf": 4}), json!(-8)),
        ];
        for (s, want) in &cases {
            let v = det(s);
            assert_eq!(&v, want, "{s}");
            assert_valid(s, &json!({}), &v);
        }
        // OpenAPI 3.0's boolean form, in case a schema arrives untranslated.
        assert_eq!(det(&json!({"type": "integer", "minimum": 3, "exclusiveMinimum": true})), json!(4));
        let s = json!({"type": "integer", "format": "int32", "minimum": 2147483000});
        for seed in 0..20 {
            let v = random(&s, &json!({}), seed);
            assert!(v.as_i64().unwrap() <= i32::MAX as i64);
            assert_valid(&s, &json!({}), &v);
        }
        let s = json!({"type": "integer", "minimum": -7, "maximum": 7, "multipleOf": 3});
        for seed in 0..20 {
            assert_valid(&s, &json!({}), &random(&s, &json!({}), seed));
        }
    }

    #[test]
    fn numbers_respect_bounds_and_print_as_numbers() {
        let v = det(&json!({"type": "number"}));
        assert_eq!(v.to_string(), "0.0");
        let cases = [
            json!({"type": "number", "minimum": 2.5}),
            json!({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.001}),
            json!({"type": "number", "exclusiveMinimum": 0}),
            json!({"type": "number", "maximum": -0.5}),
            json!({"type": "number", "minimum": 0.25, "multipleOf": 0.1}),
            json!({"type": "number", "minimum": 1, "maximum": 2, "multipleOf": 0.01}),
            json!({"type": "number", "exclusiveMaximum": 10, "minimum": 10}),
        ];
        for s in &cases[..6] {
            assert_valid(s, &json!({}), &det(s));
            for seed in 0..20 {
                assert_valid(s, &json!({}), &random(s, &json!({}), seed));
            }
        }
        assert_eq!(det(&cases[4]).to_string(), "0.3");
        // Contradictory bounds still give a number.
        assert!(det(&cases[6]).is_number());
    }

    #[test]
    fn arrays_respect_counts_and_uniqueness() {
        assert_eq!(det(&json!({"type": "array", "items": {"type": "integer"}})), json!([0]));
        assert_eq!(det(&json!({"type": "array", "maxItems": 0})), json!([]));
        assert_eq!(det(&json!({"type": "array", "minItems": 3, "items": {"const": 1}})), json!([1, 1, 1]));
        let huge = det(&json!({"type": "array", "minItems": 1_000_000}));
        assert_eq!(huge.as_array().unwrap().len(), MAX_ITEMS);
        assert!(sat(&json!({"type": "array", "minItems": 1_000_000})).is_err());
        let uniques = [
            json!({"type": "array", "minItems": 3, "uniqueItems": true, "items": {"type": "integer", "minimum": 1}}),
            json!({"type": "array", "minItems": 3, "uniqueItems": true, "items": {"enum": ["a", "b", "c"]}}),
            json!({"type": "array", "minItems": 2, "uniqueItems": true, "items": {"type": "boolean"}}),
            json!({"type": "array", "minItems": 3, "uniqueItems": true, "items": {"type": "string", "format": "uuid"}}),
            json!({"type": "array", "minItems": 3, "uniqueItems": true, "items": {"type": "string", "pattern": "^[a-z]{4}$"}}),
            json!({"type": "array", "minItems": 3, "uniqueItems": true, "items": {"type": "string"}}),
            json!({"type": "array", "minItems": 3, "uniqueItems": true, "items": {"type": "object", "properties": {"n": {"type": "number"}}}}),
        ];
        for s in &uniques {
            assert_valid(s, &json!({}), &det(s));
            for seed in 0..10 {
                assert_valid(s, &json!({}), &random(s, &json!({}), seed));
            }
        }
        let s = json!({"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}});
        for seed in 0..20 {
            let v = random(&s, &json!({}), seed);
            assert_valid(&s, &json!({}), &v);
        }
    }

    #[test]
    fn prefix_items_and_contains() {
        let s = json!({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string", "format": "date"}], "items": false});
        assert_eq!(det(&s), json!([0, "2024-01-01"]));
        assert_valid(&s, &json!({}), &det(&s));
        let s = json!({"type": "array", "items": {"type": "integer"}, "contains": {"minimum": 5}});
        assert_eq!(det(&s), json!([5]));
    }

    #[test]
    fn objects_emit_properties_and_honour_required_in_random_mode() {
        let s = json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}, "b": {"type": "string"}, "c": {"type": "boolean"}}});
        assert_eq!(det(&s), json!({"a": 0, "b": "string", "c": true}));
        let mut optional_seen = 0;
        let mut optional_missing = 0;
        for seed in 0..40 {
            let v = random(&s, &json!({}), seed);
            assert!(v.get("a").is_some());
            if v.get("b").is_some() {
                optional_seen += 1;
            } else {
                optional_missing += 1;
            }
        }
        assert!(optional_seen > 0 && optional_missing > 0);
        // Required properties that no `properties` entry describes still appear.
        let v = det(&json!({"type": "object", "required": ["x"], "additionalProperties": {"type": "integer"}}));
        assert_eq!(v, json!({"x": 0}));
    }

    #[test]
    fn read_only_and_write_only_follow_the_direction() {
        let root = json!({"components": {"schemas": {"Id": {"type": "string", "readOnly": true}}}});
        let s = json!({"type": "object", "required": ["id", "password"], "properties": {
            "id": {"$ref": "#/components/schemas/Id"},
            "password": {"type": "string", "writeOnly": true},
            "name": {"type": "string"}
        }});
        let resp = with(&s, &root, Mode::Deterministic, Direction::Response);
        assert_eq!(resp, json!({"id": "string", "name": "string"}));
        let req = with(&s, &root, Mode::Deterministic, Direction::Request);
        assert_eq!(req, json!({"password": "string", "name": "string"}));
        for seed in 0..20 {
            assert!(with(&s, &root, Mode::Random { seed }, Direction::Response).get("password").is_none());
            assert!(with(&s, &root, Mode::Random { seed }, Direction::Request).get("id").is_none());
        }
    }

    #[test]
    fn a_response_reads_its_own_required_list_where_the_schema_has_one() {
        // As the loader records them: `required` for requests, the response's list beside it.
        let s = json!({"type": "object", "required": ["password"], RESPONSE_REQUIRED: ["id"], "properties": {
            "id": {"type": "string", "readOnly": true},
            "password": {"type": "string", "writeOnly": true},
            "name": {"type": "string"}
        }});
        for seed in 0..20 {
            let req = with(&s, &json!({}), Mode::Random { seed }, Direction::Request);
            assert!(req.get("password").is_some() && req.get("id").is_none(), "{req}");
            let resp = with(&s, &json!({}), Mode::Random { seed }, Direction::Response);
            assert!(resp.get("id").is_some() && resp.get("password").is_none(), "{resp}");
        }
        assert_eq!(with(&s, &json!({}), Mode::Deterministic, Direction::Request), json!({"password": "string", "name": "string"}));
    }

    #[test]
    fn additional_and_min_max_properties() {
        let s = json!({"type": "object", "additionalProperties": {"type": "integer", "minimum": 2}});
        assert_eq!(det(&s), json!({"key": 2}));
        let s = json!({"type": "object", "minProperties": 3, "properties": {"a": {"type": "integer"}}});
        let v = det(&s);
        assert_valid(&s, &json!({}), &v);
        let s = json!({"type": "object", "maxProperties": 1, "required": ["b"], "properties": {"a": {}, "b": {}, "c": {}}});
        assert_eq!(det(&s), json!({"b": "string"}));
        for seed in 0..20 {
            let s = json!({"type": "object", "minProperties": 2, "properties": {"a": {"type": "integer"}, "b": {}, "c": {}}});
            assert_valid(&s, &json!({}), &random(&s, &json!({}), seed));
        }
    }

    #[test]
    fn optional_recursion_stops_at_max_depth() {
        let root = json!({"components": {"schemas": {"Node": {
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}, "parent": {"$ref": "#/components/schemas/Node"}}
        }}}});
        let s = json!({"$ref": "#/components/schemas/Node"});
        let v = generate(&s, &root, &GenOptions::default());
        assert_valid(&s, &root, &v);
        assert!(depth_of(&v) <= 6, "too deep: {v}");
        let shallow = generate(&s, &root, &GenOptions { max_depth: 1, ..GenOptions::default() });
        assert_eq!(shallow, json!({"name": "string", "children": [], "parent": {"name": "string"}}));
        for seed in 0..20 {
            let v = random(&s, &root, seed);
            assert_valid(&s, &root, &v);
        }
    }

    #[test]
    fn required_self_recursion_terminates() {
        let root = json!({"components": {"schemas": {
            "Loop": {"type": "object", "required": ["next"], "properties": {"next": {"$ref": "#/components/schemas/Loop"}}},
            "Tree": {"type": "object", "required": ["l", "r", "items"], "properties": {
                "l": {"$ref": "#/components/schemas/Tree"},
                "r": {"$ref": "#/components/schemas/Tree"},
                "items": {"type": "array", "minItems": 3, "items": {"$ref": "#/components/schemas/Tree"}}
            }},
            "Maybe": {"type": "object", "required": ["next"], "properties": {"next": {"anyOf": [{"$ref": "#/components/schemas/Maybe"}, {"type": "null"}]}}},
            "Nullable": {"type": ["object", "null"], "required": ["next"], "properties": {"next": {"$ref": "#/components/schemas/Nullable"}}}
        }}});
        for name in ["Loop", "Tree", "Maybe", "Nullable"] {
            let s = json!({"$ref": format!("#/components/schemas/{name}")});
            for max_depth in [0, 6, 1000, usize::MAX] {
                let v = generate(&s, &root, &GenOptions { max_depth, ..GenOptions::default() });
                assert!(depth_of(&v) <= 64 + EXTRA_DEPTH + 2, "{name}: too deep");
            }
            let _ = random(&s, &root, 7);
        }
        // Where the schema offers a way out (null), the value is fully valid.
        for name in ["Maybe", "Nullable"] {
            let s = json!({"$ref": format!("#/components/schemas/{name}")});
            assert_valid(&s, &root, &generate(&s, &root, &GenOptions::default()));
        }
    }

    #[test]
    fn echo_replaces_generated_properties_with_conversion() {
        let echo: Map<String, Value> =
            json!({"runId": "abc", "count": "42", "ratio": "0.5", "flag": "true", "deep": "x"}).as_object().unwrap().clone();
        let s = json!({"type": "object", "properties": {
            "runId": {"type": "string"},
            "count": {"type": "integer"},
            "ratio": {"type": "number"},
            "flag": {"type": "boolean"},
            "run": {"type": "object", "properties": {"runId": {"type": "string"}, "inner": {"type": "object", "properties": {"deep": {"type": "string"}}}}}
        }});
        let opts = GenOptions { echo: Some(&echo), ..GenOptions::default() };
        let v = generate(&s, &json!({}), &opts);
        assert_eq!(v["runId"], json!("abc"));
        assert_eq!(v["count"], json!(42));
        assert_eq!(v["ratio"].as_f64(), Some(0.5));
        assert_eq!(v["flag"], json!(true));
        assert_eq!(v["run"]["runId"], json!("abc"));
        // Only the top-level object and the objects directly in it take echoed values.
        assert_eq!(v["run"]["inner"]["deep"], json!("string"));
        // Echoed optional properties appear in Random mode too.
        for seed in 0..10 {
            let v = generate(&s, &json!({}), &GenOptions { mode: Mode::Random { seed }, ..opts.clone() });
            assert_eq!(v["runId"], json!("abc"));
        }
        // Text that does not convert is not echoed: the field is generated.
        let bad: Map<String, Value> = json!({"count": "many"}).as_object().unwrap().clone();
        let v = generate(&s, &json!({}), &GenOptions { echo: Some(&bad), ..GenOptions::default() });
        assert!(v["count"].is_i64(), "{v}");
    }

    #[test]
    fn a_path_parameter_is_echoed_only_where_the_field_takes_it() {
        // alertersystem's `id` path text into a `uuid` field, Lex's `botVersion` "6" where the
        // field wants 5 or more characters.
        let s = json!({"type": "object", "required": ["id", "botVersion", "name"], "properties": {
            "id": {"type": "string", "format": "uuid"},
            "botVersion": {"type": "string", "minLength": 5, "pattern": "^(DRAFT|[0-9]+)$"},
            "name": {"type": "string", "pattern": "^[a-z]+$"}
        }});
        let echo: Map<String, Value> = json!({"id": "string", "botVersion": "6", "name": "rex"}).as_object().unwrap().clone();
        // Google's `profileId`: a string of format int64, which "string" is not.
        let google = json!({"type": "object", "properties": {"profileId": {"type": "string", "format": "int64"}}});
        let text: Map<String, Value> = json!({"profileId": "string"}).as_object().unwrap().clone();
        let v = generate(&google, &json!({}), &GenOptions { echo: Some(&text), ..GenOptions::default() });
        assert!(v["profileId"].as_str().is_some_and(|s| s.parse::<i64>().is_ok()), "{v}");
        let v = generate(&s, &json!({}), &GenOptions { echo: Some(&echo), ..GenOptions::default() });
        assert_valid(&s, &json!({}), &v);
        assert_eq!(v["name"], json!("rex"), "{v}");
        let fitting: Map<String, Value> = json!({"id": "0b0f0e52-3c3a-4b8e-9d5e-1f6c2a7b8c9d"}).as_object().unwrap().clone();
        let v = generate(&s, &json!({}), &GenOptions { echo: Some(&fitting), ..GenOptions::default() });
        assert_eq!(v["id"], fitting["id"]);
        assert!(admits(&s["properties"]["id"], &json!({}), &fitting["id"]) && !admits(&s["properties"]["id"], &json!({}), &echo["id"]));
    }

    #[test]
    fn a_pattern_meets_a_length_its_repetitions_reach_only_when_stretched() {
        // AWS's `AccountId`: `[0-9]+`, exactly 12 characters.
        for schema in [
            json!({"type": "string", "pattern": "[0-9]+", "minLength": 12, "maxLength": 12}),
            json!({"type": "string", "pattern": "^arn:[a-z]+:[0-9]{12}$", "minLength": 40}),
            json!({"type": "string", "pattern": "^[A-Z][a-z]*$", "minLength": 30, "maxLength": 31}),
        ] {
            always_valid(&schema, &json!({}));
        }
        // loket's ids: a `uuid` whose pattern wants upper case, braces allowed.
        let upper = json!({"type": "string", "format": "uuid", "pattern": "^[{(]?[0-9A-F]{8}[-]?([0-9A-F]{4}[-]?){3}[0-9A-F]{12}[)}]?$"});
        always_valid(&upper, &json!({}));
        let e = sat(&json!({"type": "string", "pattern": "^[0-9]{3}$", "minLength": 4})).unwrap_err();
        assert!(e.why.contains("no string of 4"), "{e}");
    }

    #[test]
    fn a_required_property_a_closed_object_does_not_declare_is_unsatisfiable() {
        // Airbyte's `AirbyteStream` requires `json_schema` and declares `jsonSchema`.
        let s = json!({"type": "object", "additionalProperties": false, "required": ["name", "json_schema"],
            "properties": {"name": {"type": "string"}, "jsonSchema": {"type": "object"}}});
        let e = sat(&s).unwrap_err();
        assert_eq!(e.pointer, "/s/additionalProperties");
        assert!(e.why.contains("\"json_schema\" is required"), "{e}");
        // Each closed layer admits only its own names: an optional one another layer brings is
        // left out, a required one is unsatisfiable.
        let merged = json!({"allOf": [
            {"type": "object", "additionalProperties": false, "properties": {"a": {"type": "integer"}, "b": {}}},
            {"properties": {"a": {"minimum": 1}, "c": {"type": "string"}}}
        ]});
        always_valid(&merged, &json!({}));
        // An `additionalProperties` schema holds for the names other layers bring.
        let azure = json!({"type": "object", "additionalProperties": {"type": "object"}, "properties": {"props": {"type": "object"}},
            "allOf": [{"properties": {"eTag": {"type": "string"}, "tags": {"type": "object"}}}]});
        for seed in 0..5 {
            let v = random(&azure, &json!({}), seed);
            assert!(v.get("eTag").is_none(), "{v}");
            assert_valid(&azure, &json!({}), &v);
        }
        let mut closed = merged.clone();
        closed["allOf"][1]["required"] = json!(["c"]);
        assert!(sat(&closed).unwrap_err().why.contains("\"c\" is required"));
        // Open, or with patterns that may take the name: generated as before.
        for open in [json!({"additionalProperties": {"type": "integer"}}), json!({"patternProperties": {"^j": {}}})] {
            let mut s = s.clone();
            s.as_object_mut().unwrap().remove("additionalProperties");
            s.as_object_mut().unwrap().extend(open.as_object().unwrap().clone());
            assert!(sat(&s).is_ok(), "{s}");
        }
    }

    #[test]
    fn echo_into_replaces_to_depth_two_keeping_types() {
        let echo: Map<String, Value> = json!({"runId": "r-1", "n": "7", "on": "false"}).as_object().unwrap().clone();
        let mut v = json!({
            "runId": "old", "n": 1, "on": true, "other": 3,
            "run": {"runId": "old", "n": 2.5, "nested": {"runId": "keep"}},
            "list": [{"runId": "keep"}]
        });
        echo_into(&mut v, &echo);
        assert_eq!(
            v,
            json!({
                "runId": "r-1", "n": 7, "on": false, "other": 3,
                "run": {"runId": "r-1", "n": 7, "nested": {"runId": "keep"}},
                "list": [{"runId": "keep"}]
            })
        );
        let mut list = json!([{"runId": "a"}, 5]);
        echo_into(&mut list, &echo);
        assert_eq!(list, json!([{"runId": "r-1"}, 5]));
        let mut scalar = json!("runId");
        echo_into(&mut scalar, &echo);
        assert_eq!(scalar, json!("runId"));
        // Keys absent from the value are not added.
        let mut empty = json!({});
        echo_into(&mut empty, &echo);
        assert_eq!(empty, json!({}));
    }

    #[test]
    fn deterministic_is_stable_and_valid() {
        let root = runs_doc();
        let a = generate(&run_ref(), &root, &GenOptions::default());
        let b = generate(&run_ref(), &root, &GenOptions::default());
        assert_eq!(a, b);
        assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
        assert_valid(&run_ref(), &root, &a);
        assert!(a.get("secret").is_none());
        assert_eq!(a["status"], json!("queued"));
        assert_eq!(a["createdAt"], json!("2024-01-01T00:00:00Z"));
    }

    #[test]
    fn random_is_reproducible_per_seed_and_valid() {
        let root = runs_doc();
        let mut distinct = std::collections::HashSet::new();
        for seed in 0..50 {
            let a = random(&run_ref(), &root, seed);
            assert_eq!(a, random(&run_ref(), &root, seed));
            assert_valid(&run_ref(), &root, &a);
            assert!(a.get("secret").is_none());
            distinct.insert(a.to_string());
        }
        assert!(distinct.len() > 40);
        let req = with(&run_ref(), &root, Mode::Random { seed: 1 }, Direction::Request);
        assert!(req.get("runId").is_none());
    }

    #[test]
    fn malformed_schemas_never_panic() {
        let root = json!({"components": {"schemas": {"X": 5}}});
        let nasty = [
            json!(5),
            json!("string"),
            json!(null),
            json!([1, 2]),
            json!({"type": 5}),
            json!({"type": []}),
            json!({"type": ["unknown"]}),
            json!({"type": "integer", "minimum": "x", "maximum": [], "multipleOf": 0}),
            json!({"type": "integer", "multipleOf": -3}),
            json!({"type": "integer", "minimum": 1e300}),
            json!({"type": "integer", "maximum": -1e300, "multipleOf": 1e-300}),
            json!({"type": "number", "minimum": 5, "maximum": 1}),
            json!({"type": "number", "multipleOf": 1e-300, "minimum": 1e300}),
            json!({"type": "number", "multipleOf": 1e300}),
            json!({"type": "integer", "minimum": 10, "maximum": 12, "multipleOf": 5.5}),
            json!({"type": "string", "minLength": -1, "maxLength": "3", "pattern": 7, "format": 1}),
            json!({"type": "string", "pattern": "a{1000}{1000}"}),
            json!({"type": "string", "pattern": "[^\\x00-\\x{10FFFF}]"}),
            json!({"type": "string", "pattern": "(?-u:\\xff)"}),
            json!({"type": "array", "items": 5, "minItems": 1e300, "maxItems": -2, "prefixItems": "x"}),
            json!({"type": "array", "items": [{"type": "integer"}]}),
            json!({"type": "object", "properties": [], "required": "a", "additionalProperties": 3}),
            json!({"type": "object", "required": [1, null, "a"], "minProperties": 1e12}),
            json!({"allOf": 5, "oneOf": [], "anyOf": "x", "$ref": {}}),
            json!({"$ref": "#/components/schemas/X"}),
            json!({"$ref": "#/components/schemas/X/deeper"}),
            json!({"$ref": "#%zz%"}),
            json!({"enum": []}),
            json!({"enum": 3, "const": null}),
            json!({"discriminator": {"propertyName": 3}, "oneOf": [{"$ref": 3}]}),
        ];
        for s in &nasty {
            let _ = generate(s, &root, &GenOptions::default());
            for seed in 0..5 {
                let _ = random(s, &root, seed);
                let _ = with(s, &root, Mode::Random { seed }, Direction::Request);
            }
        }
        assert_eq!(det(&json!({"enum": 3, "const": null})), Value::Null);
    }

    #[test]
    fn wide_and_deep_schemas_stay_bounded() {
        // 100 items of 100 items of ...: the node budget cuts it short.
        let root =
            json!({"components": {"schemas": {"W": {"type": "array", "minItems": 100, "items": {"$ref": "#/components/schemas/W"}}}}});
        let s = json!({"$ref": "#/components/schemas/W"});
        let v = generate(&s, &root, &GenOptions { max_depth: 64, ..GenOptions::default() });
        assert!(serde_json::to_string(&v).unwrap().len() < 10_000_000);
    }

    #[test]
    fn echo_changes_only_when_a_value_differs() {
        let example = json!({"runId": "r-1", "n": 3, "inner": {"runId": "r-1"}});
        let same: Map<String, Value> = [("runId".to_string(), json!("r-1"))].into_iter().collect();
        let other: Map<String, Value> = [("runId".to_string(), json!("r-2"))].into_iter().collect();
        let typed: Map<String, Value> = [("n".to_string(), json!("3"))].into_iter().collect();
        assert!(!echo_changes(&example, &same));
        assert!(echo_changes(&example, &other));
        assert!(!echo_changes(&example, &typed), "\"3\" echoes as the number 3");
        assert!(!echo_changes(&json!([{"x": 1}]), &other));
    }

    #[test]
    fn min_items_are_generated_up_to_the_cap() {
        let s = json!({"type": "array", "minItems": 3000, "items": {"type": "integer"}});
        assert_eq!(sat(&s).unwrap().as_array().unwrap().len(), 3000);
        always_valid(&json!({"type": "array", "minItems": 3000, "maxItems": 3001, "items": {"type": "string"}}), &json!({}));
        let e = sat(&json!({"type": "array", "minItems": MAX_ITEMS + 1})).unwrap_err();
        assert_eq!(e.pointer, "/s/minItems");
        assert!(sat(&json!({"type": "array", "minItems": 3, "maxItems": 2})).is_err());
        assert!(sat(&json!({"type": "array", "minItems": 2, "prefixItems": [{}], "items": false})).is_err());
    }

    #[test]
    fn unique_items_are_distinct_or_unsatisfiable() {
        always_valid(&json!({"type": "array", "minItems": 500, "uniqueItems": true, "items": {"type": "integer"}}), &json!({}));
        always_valid(
            &json!({"type": "array", "minItems": 3, "uniqueItems": true, "items": {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}}),
            &json!({}),
        );
        let e = sat(&json!({"type": "array", "minItems": 3, "uniqueItems": true, "items": {"enum": ["a", "b"]}})).unwrap_err();
        assert!(e.why.contains("distinct"), "{e}");
    }

    #[test]
    fn min_properties_are_met_or_unsatisfiable() {
        always_valid(&json!({"type": "object", "minProperties": 4, "properties": {"a": {"type": "integer"}}}), &json!({}));
        always_valid(&json!({"type": "object", "minProperties": 2, "additionalProperties": {"type": "boolean"}}), &json!({}));
        let closed = json!({"type": "object", "minProperties": 2, "properties": {"a": {}}, "additionalProperties": false});
        assert_eq!(sat(&closed).unwrap_err().pointer, "/s/minProperties");
        assert!(sat(&json!({"type": "object", "required": ["a", "b"], "maxProperties": 1})).is_err());
    }

    #[test]
    fn multiple_of_holds_for_integers_and_numbers() {
        for s in [
            json!({"type": "integer", "multipleOf": 7, "minimum": 10}),
            json!({"type": "integer", "multipleOf": 2.5}),
            json!({"type": "integer", "allOf": [{"multipleOf": 4}, {"multipleOf": 6}], "minimum": 1}),
            json!({"type": "number", "multipleOf": 0.01, "minimum": 0.005, "maximum": 5}),
            json!({"type": "number", "multipleOf": 0.25, "exclusiveMinimum": 1}),
            json!({"type": "number", "allOf": [{"multipleOf": 0.5}, {"multipleOf": 0.75}], "minimum": 1}),
        ] {
            always_valid(&s, &json!({}));
        }
        assert_eq!(det(&json!({"type": "integer", "allOf": [{"multipleOf": 4}, {"multipleOf": 6}], "minimum": 1})), json!(12));
        assert!(sat(&json!({"type": "integer", "multipleOf": 5, "minimum": 1, "maximum": 4})).is_err());
        assert!(sat(&json!({"type": "number", "multipleOf": 10, "minimum": 1, "maximum": 9})).is_err());
    }

    #[test]
    fn const_wins_and_a_contradicting_one_is_unsatisfiable() {
        assert_eq!(sat(&json!({"type": "integer", "const": 3})).unwrap(), json!(3));
        assert_eq!(sat(&json!({"const": null, "type": ["string", "null"]})).unwrap(), Value::Null);
        let e = sat(&json!({"type": "integer", "const": "three"})).unwrap_err();
        assert_eq!(e.pointer, "/s/const");
        assert!(sat(&json!({"type": "string", "enum": [1, 2]})).is_err());
    }

    #[test]
    fn null_examples_and_defaults_answer_only_where_null_is_allowed() {
        assert_eq!(sat(&json!({"type": ["string", "null"], "default": null})).unwrap(), Value::Null);
        assert_eq!(sat(&json!({"type": ["object", "null"], "example": null, "properties": {"a": {}}})).unwrap(), Value::Null);
        // OpenAPI 3.0's `nullable: true` reaches the generator as a type list, as the loader translates it.
        assert_eq!(sat(&json!({"type": "string", "example": null})).unwrap(), json!("string"));
        assert_eq!(sat(&json!({"type": "integer", "default": null, "minimum": 2})).unwrap(), json!(2));
    }

    #[test]
    fn examples_and_defaults_that_contradict_the_schema_are_not_used() {
        let root = json!({"components": {"schemas": {"Tag": {"type": "string", "maxLength": 3}}}});
        for s in [
            json!({"type": "integer", "minimum": 10, "example": 3}),
            json!({"type": "string", "format": "email", "example": "not an email"}),
            json!({"type": "string", "pattern": "^[a-z]+$", "default": "ABC"}),
            json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}, "example": {"name": "x"}}),
            json!({"type": "object", "properties": {"tag": {"$ref": "#/components/schemas/Tag"}}, "example": {"tag": "too long"}}),
            json!({"type": "array", "items": {"type": "integer"}, "maxItems": 2, "example": [1, 2, 3]}),
            json!({"type": "string", "enum": ["a", "b"], "example": "c"}),
        ] {
            let v = try_generate(&s, &root, "", &GenOptions::default()).unwrap();
            assert_ne!(Some(&v), s.get("example").or(s.get("default")), "{s}");
            assert_valid(&s, &root, &v);
        }
        assert_eq!(sat(&json!({"type": "integer", "minimum": 10, "example": 12})).unwrap(), json!(12));
    }

    #[test]
    fn read_only_and_write_only_properties_leave_examples_by_direction() {
        let s = json!({"type": "object", "properties": {"id": {"type": "integer", "readOnly": true}, "pw": {"type": "string", "writeOnly": true}},
            "example": {"id": 1, "pw": "secret"}});
        assert_eq!(det(&s), json!({"id": 1}));
        assert_eq!(with(&s, &json!({}), Mode::Deterministic, Direction::Request), json!({"pw": "secret"}));
    }

    #[test]
    fn discriminator_tags_match_the_branch_even_with_an_enum() {
        let root = json!({"components": {"schemas": {
            "Pet": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string", "enum": ["cat", "dog"]}},
                "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/Cat", "dog": "#/components/schemas/Dog"}}},
            "Cat": {"allOf": [{"$ref": "#/components/schemas/Pet"}, {"type": "object", "properties": {"meows": {"type": "boolean"}}}]},
            "Dog": {"allOf": [{"$ref": "#/components/schemas/Pet"}, {"type": "object", "properties": {"barks": {"type": "boolean"}}}]},
            "AnyPet": {"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
                "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/Cat", "dog": "#/components/schemas/Dog"}}}
        }}});
        let dog = generate(&json!({"$ref": "#/components/schemas/Dog"}), &root, &GenOptions::default());
        assert_eq!(dog["kind"], json!("dog"), "{dog}");
        for seed in 0..20 {
            let v = random(&json!({"$ref": "#/components/schemas/AnyPet"}), &root, seed);
            let expected = if v.get("barks").is_some() {
                "dog"
            } else if v.get("meows").is_some() {
                "cat"
            } else {
                continue;
            };
            assert_eq!(v["kind"], json!(expected), "{v}");
        }
    }

    #[test]
    fn contradictions_name_the_schema_pointer() {
        let root = json!({"components": {"schemas": {"Age": {"type": "integer", "minimum": 5, "maximum": 1}}}});
        let s = json!({"type": "object", "required": ["age"], "properties": {"age": {"$ref": "#/components/schemas/Age"}}});
        let e = try_generate(&s, &root, "/paths/~1x/get", &GenOptions::default()).unwrap_err();
        assert_eq!(e.pointer, "/components/schemas/Age/minimum");
        assert!(e.to_string().contains("/components/schemas/Age"), "{e}");
        for (s, ptr) in [
            (json!({"type": "number", "minimum": 5, "exclusiveMaximum": 5}), "/s/minimum"),
            (json!({"type": "string", "minLength": 5, "maxLength": 2}), "/s/minLength"),
            (json!({"type": "string", "pattern": "^a$", "minLength": 3}), "/s/pattern"),
            (json!({"type": "string", "pattern": "[^\\x00-\\x{10FFFF}]"}), "/s/pattern"),
            (json!({"allOf": [{"type": "string"}, {"type": "integer"}]}), "/s/allOf/0/type"),
            (json!({"type": "object", "required": ["a"], "properties": {"a": false}}), "/s/properties/a"),
            (json!({"$ref": "#/nowhere"}), "/s/$ref"),
        ] {
            assert_eq!(sat(&s).map_err(|e| e.pointer), Err(ptr.to_string()), "{s}");
        }
        let loops = json!({"components": {"schemas": {"Loop": {"type": "object", "required": ["next"], "properties": {"next": {"$ref": "#/components/schemas/Loop"}}}}}});
        assert!(try_generate(&json!({"$ref": "#/components/schemas/Loop"}), &loops, "", &GenOptions::default()).is_err());
    }

    #[test]
    fn all_of_members_merge_into_one_valid_value() {
        let root = json!({"components": {"schemas": {
            "A": {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer", "minimum": 3}}},
            "B": {"type": "object", "required": ["b"], "properties": {"a": {"maximum": 4}, "b": {"type": "string", "pattern": "^b[0-9]$"}}}
        }}});
        always_valid(
            &json!({"allOf": [{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}, {"minProperties": 2}]}),
            &root,
        );
    }

    fn realistic(schema: &Value, mode: Mode, seed: u64) -> Value {
        let opts = GenOptions { mode, realistic: Some(Realistic::new(seed, 1_800_000_000)), ..GenOptions::default() };
        try_generate(schema, &json!({}), "", &opts).unwrap_or_else(|e| panic!("{schema}: {e}"))
    }

    #[test]
    fn realistic_values_follow_the_property_names() {
        let schema = json!({"type": "object", "required": ["firstName", "email", "createdAt", "price", "status"], "properties": {
            "firstName": {"type": "string"},
            "email": {"type": "string", "format": "email"},
            "createdAt": {"type": "string", "format": "date-time"},
            "price": {"type": "number"},
            "status": {"type": "string", "enum": ["on", "off"]},
        }});
        let v = realistic(&schema, Mode::Deterministic, 1);
        let first = v["firstName"].as_str().unwrap();
        assert!(first.chars().next().unwrap().is_uppercase() && first != "string", "{v}");
        assert!(v["email"].as_str().unwrap().contains("@example."), "{v}");
        assert!(v["createdAt"].as_str().unwrap() < "2027-01-15", "created in the past: {v}");
        assert!(v["price"].as_f64().unwrap() >= 1.0, "{v}");
        assert!(["on", "off"].contains(&v["status"].as_str().unwrap()), "{v}");
        assert_eq!(v, realistic(&schema, Mode::Deterministic, 1), "one seed, one value");
        assert_ne!(v, realistic(&schema, Mode::Deterministic, 2), "another seed, other values");
    }

    #[test]
    fn realistic_values_never_break_a_constraint() {
        let schemas = [
            json!({"type": "object", "properties": {"name": {"type": "string", "maxLength": 3}}, "required": ["name"]}),
            json!({"type": "object", "properties": {"email": {"type": "string", "pattern": "^[a-z]+@corp[.]test$"}}, "required": ["email"]}),
            json!({"type": "object", "properties": {"age": {"type": "integer", "minimum": 200}}, "required": ["age"]}),
            json!({"type": "object", "properties": {"price": {"type": "number", "maximum": 0.5, "exclusiveMinimum": 0}}, "required": ["price"]}),
            json!({"type": "object", "properties": {"expiresAt": {"type": "string", "maxLength": 10}}, "required": ["expiresAt"]}),
            json!({"type": "object", "properties": {"description": {"type": "string", "minLength": 500}}, "required": ["description"]}),
            json!({"type": "object", "properties": {"tags": {"type": "array", "uniqueItems": true, "minItems": 5, "items": {"type": "string", "maxLength": 4}}}, "required": ["tags"]}),
            json!({"type": "object", "properties": {"country": {"type": "string", "enum": ["NL"]}, "phone": {"type": "integer"}}, "required": ["country", "phone"]}),
        ];
        for schema in &schemas {
            for seed in 0..20 {
                for mode in [Mode::Deterministic, Mode::Random { seed }] {
                    let v = realistic(schema, mode, seed);
                    assert_valid(schema, &json!({}), &v);
                }
            }
        }
    }
}
