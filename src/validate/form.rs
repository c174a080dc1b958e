//! Reads `application/x-www-form-urlencoded` bodies the way real clients write them: bracketed
//! keys (`a[b][c]=v`, `a[]=v`, `a[0][name]=v`) build nested objects and arrays, the document's
//! per-property `encoding` (style, explode, contentType) splits delimited values, and every
//! scalar is converted to the type its schema asks for. The result is the same JSON tree a JSON
//! client would have sent, so the schema validator and the store need not know the difference.
//! The tree and the typing are shared with multipart bodies, whose parts land in it too.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::{Map, Value};

use super::params;
use crate::spec::escape_token;
use crate::spec::model::{Encoding, Style, types_of};
use crate::spec::source::deref;

/// How deep bracket nesting is followed: far beyond any real form, and a bound on what a
/// hostile key can make the parser do.
const MAX_DEPTH: usize = 32;
/// How many schemas one look-up through `$ref`/`allOf`/`oneOf`/`anyOf` visits at most.
const MAX_VISITS: usize = 256;

/// One bracketed segment of a key after its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seg {
    /// `[b]` (also `[0]`: whether an index means an array is the schema's call).
    Key(String),
    /// `[]`
    Push,
}

/// A value as read from the body, before the schema types it.
#[derive(Debug)]
pub(super) enum Node {
    /// A field's text. `encoded` while still percent-encoded (form bodies), so that a delimiter
    /// can be told from an escaped one.
    Text {
        raw: String,
        encoded: bool,
    },
    /// A multipart part whose reading (file, JSON, text) depends on the schema at its place.
    Part {
        data: Bytes,
        filename: Option<String>,
        content_type: Option<String>,
    },
    List(Vec<Node>),
    Map(Entries),
}

/// Fields by name in arrival order, found by name in constant time: a body may carry many
/// thousands of keys, and a linear search per key would make reading it quadratic.
#[derive(Debug, Default)]
pub(super) struct Entries {
    list: Vec<(String, Node)>,
    index: HashMap<String, usize>,
    /// One past the highest numeric key, where `a[]` appends after `a[0]`, `a[1]`.
    next_index: usize,
}

impl Entries {
    fn one(name: String, node: Node) -> Self {
        let mut e = Self::default();
        e.push(name, node);
        e
    }

    fn get(&self, name: &str) -> Option<&Node> {
        self.index.get(name).map(|&i| &self.list[i].1)
    }

    fn get_mut(&mut self, name: &str) -> Option<&mut Node> {
        self.index.get(name).map(|&i| &mut self.list[i].1)
    }

    /// Adds a name not yet present.
    fn push(&mut self, name: String, node: Node) {
        if let Ok(n) = name.parse::<usize>() {
            self.next_index = self.next_index.max(n.saturating_add(1));
        }
        self.index.insert(name.clone(), self.list.len());
        self.list.push((name, node));
    }
}

/// Splits `a[b][]` into `a` and its segments. A key that is not cleanly bracketed (`a[b`,
/// `a[b]c`, `[a]`) is one flat name: guessing at half a structure would misplace the value.
pub(super) fn parse_key(key: &str) -> (String, Vec<Seg>) {
    let flat = || (key.to_string(), Vec::new());
    let Some(open) = key.find('[') else {
        return flat();
    };
    if open == 0 {
        return flat();
    }
    let mut segs = Vec::new();
    let mut rest = &key[open..];
    while !rest.is_empty() {
        let Some(inner) = rest.strip_prefix('[') else {
            return flat();
        };
        let Some(close) = inner.find(']') else {
            return flat();
        };
        let seg = &inner[..close];
        if seg.contains('[') || segs.len() >= MAX_DEPTH {
            return flat();
        }
        segs.push(if seg.is_empty() { Seg::Push } else { Seg::Key(seg.to_string()) });
        rest = &inner[close + 1..];
    }
    (key[..open].to_string(), segs)
}

fn build(rest: &[Seg], leaf: Node) -> Node {
    match rest.split_first() {
        None => leaf,
        Some((Seg::Key(k), tail)) => Node::Map(Entries::one(k.clone(), build(tail, leaf))),
        Some((Seg::Push, tail)) => Node::List(vec![build(tail, leaf)]),
    }
}

/// Adds one field under `name` + `rest`, merging with what earlier fields built.
pub(super) fn insert(entries: &mut Entries, name: &str, rest: &[Seg], leaf: Node) {
    match entries.get_mut(name) {
        Some(node) => merge(node, rest, leaf),
        None => entries.push(name.to_string(), build(rest, leaf)),
    }
}

/// Whether the key path (up to its first `[]`) already holds a value in `entries`.
fn has_path(entries: &Entries, rest: &[Seg]) -> bool {
    let Some((Seg::Key(k), tail)) = rest.split_first() else {
        return true;
    };
    match entries.get(k) {
        None => false,
        Some(Node::Map(inner)) => has_path(inner, tail),
        Some(_) => true,
    }
}

fn merge(node: &mut Node, rest: &[Seg], leaf: Node) {
    match (node, rest.split_first()) {
        // `a[b]=1` into an object made by an earlier `a[c]=2`.
        (Node::Map(entries), Some((Seg::Key(k), tail))) => insert(entries, k, tail, leaf),
        // `a[][name]=x&a[][qty]=1`: fields join the last element until one would repeat there,
        // which starts the next element (how Rack and qs read arrays of objects).
        (Node::List(items), Some((Seg::Push, tail))) => {
            if let (Some(Seg::Key(k)), Some(Node::Map(last))) = (tail.first(), items.last_mut())
                && !has_path(last, tail)
            {
                return insert(last, k, &tail[1..], leaf);
            }
            items.push(build(tail, leaf));
        }
        // `a[0]=x&a[]=y`: appending to an indexed array.
        (Node::Map(entries), Some((Seg::Push, tail))) => {
            let index = entries.next_index.to_string();
            entries.push(index, build(tail, leaf));
        }
        // A repeated plain key (`a=1&a=2`, exploded form arrays) appends.
        (Node::List(items), None) => items.push(leaf),
        // Anything else (`a=1&a=2` first repeat, or a key used both flat and bracketed) keeps
        // both values as a list: nothing the client sent is dropped, and a schema that wanted
        // one value reports the list.
        (node, _) => {
            let old = std::mem::replace(node, Node::List(Vec::new()));
            let added = build(rest, leaf);
            *node = match old {
                Node::List(mut items) => {
                    items.push(added);
                    Node::List(items)
                }
                old => Node::List(vec![old, added]),
            };
        }
    }
}

/// Reads a form body into a tree of raw text, by bracket notation whatever the declared style:
/// clients send `a[b]=v` for nested objects under `form` as well as under `deepObject`.
pub(super) fn read_pairs(text: &str, schema: Option<&Value>, doc: &Value) -> Entries {
    let mut root = Entries::default();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        // Brackets in keys are structure even when percent-encoded (`metadata%5Border%5D`),
        // as every client library encodes them: the key is decoded first.
        let key = params::form_decode(k);
        let (name, segs) = split_name(&key, schema, doc);
        insert(&mut root, &name, &segs, Node::Text { raw: v.to_string(), encoded: true });
    }
    root
}

/// The name and segments of a key, unless the schema declares the whole key as one property
/// (`filter[status]` as a literal name), which then wins over structure.
pub(super) fn split_name(key: &str, schema: Option<&Value>, doc: &Value) -> (String, Vec<Seg>) {
    if schema.is_some_and(|s| declares(doc, s, key)) {
        return (key.to_string(), Vec::new());
    }
    parse_key(key)
}

fn declares(doc: &Value, s: &Value, name: &str) -> bool {
    find_in(doc, s, ALL, &mut |s| s.get("properties").and_then(|p| p.get(name)).map(|_| ())).is_some()
}

/// The schema of property `name` of object schema `s`: declared, in a composed branch, or
/// the `additionalProperties` schema.
pub(super) fn property<'a>(doc: &'a Value, s: &'a Value, name: &str) -> Option<&'a Value> {
    find_in(doc, s, ALL, &mut |s| s.get("properties").and_then(|p| p.get(name)))
        .or_else(|| find_in(doc, s, ALL, &mut |s| s.get("additionalProperties").filter(|a| a.is_object())))
}

fn items<'a>(doc: &'a Value, s: &'a Value) -> Option<&'a Value> {
    find_in(doc, s, ALL, &mut |s| s.get("items").filter(|i| i.is_object()))
}

/// A string-valued keyword of the schema (through `$ref` and `allOf`).
fn keyword<'a>(doc: &'a Value, s: &'a Value, name: &str) -> Option<&'a str> {
    find_in(doc, s, &["allOf"], &mut |s| s.get(name).and_then(Value::as_str))
}

const ALL: &[&str] = &["allOf", "oneOf", "anyOf"];

/// The first answer of `f` over `s` and the schemas it is composed of (through `$ref` and the
/// `via` keywords), depth first in declaration order. Each schema is visited once and at most
/// `MAX_VISITS` in all, so that a composition that refers back to itself, however it branches,
/// costs a bounded walk and no recursion.
fn find_in<'a, T>(doc: &'a Value, s: &'a Value, via: &[&str], f: &mut dyn FnMut(&'a Value) -> Option<T>) -> Option<T> {
    let mut stack = vec![s];
    let mut seen: Vec<*const Value> = Vec::new();
    while let Some(s) = stack.pop() {
        let s = deref(doc, s, "").0;
        if seen.contains(&(s as *const Value)) || seen.len() >= MAX_VISITS {
            continue;
        }
        seen.push(s);
        if let Some(found) = f(s) {
            return Some(found);
        }
        let branches: Vec<&Value> = via.iter().flat_map(|c| s.get(*c).and_then(Value::as_array).into_iter().flatten()).collect();
        stack.extend(branches.into_iter().rev());
    }
    None
}

/// Whether a media type names JSON (a wildcard does not: it says nothing about the bytes).
pub(super) fn is_json_type(media: &str) -> bool {
    let m = crate::negotiate::essence(media);
    m == "application/json" || m.ends_with("+json")
}

/// A file part as the store keeps it, and what its checks need.
#[derive(Debug)]
pub(super) struct FileAt {
    pub pointer: String,
    /// The JSON types the schema allows at its place; a file can only stand for a string.
    pub types: Vec<String>,
    /// The media ranges the document accepts there (`encoding.contentType`, `contentMediaType`).
    pub accepts: Option<String>,
    pub content_type: Option<String>,
}

/// Types a tree by the schema. Collects the files it meets and the parts it cannot read.
pub(super) struct Typer<'a> {
    pub doc: &'a Value,
    /// Form bodies: `style`/`explode` split values. Multipart parts are never split (the
    /// Encoding Object's style applies to form bodies only).
    pub form: bool,
    pub files: Vec<FileAt>,
    pub unreadable: Vec<(String, String)>,
}

impl<'a> Typer<'a> {
    pub fn new(doc: &'a Value, form: bool) -> Self {
        Self { doc, form, files: Vec::new(), unreadable: Vec::new() }
    }

    /// The top level: each property with its own encoding.
    pub fn root(&mut self, entries: Entries, schema: Option<&'a Value>, encoding: &[(String, Encoding)]) -> Value {
        let mut obj = Map::new();
        for (k, node) in entries.list {
            let prop = schema.and_then(|s| property(self.doc, s, &k));
            let enc = encoding.iter().find(|(n, _)| *n == k).map(|(_, e)| e);
            let at = format!("/{}", escape_token(&k));
            let value = self.node(node, prop, enc, &at);
            obj.insert(k, value);
        }
        Value::Object(obj)
    }

    fn types(&self, schema: Option<&Value>) -> Vec<String> {
        schema.map(|s| types_of(self.doc, deref(self.doc, s, "").0)).unwrap_or_default()
    }

    pub fn node(&mut self, node: Node, schema: Option<&'a Value>, enc: Option<&Encoding>, at: &str) -> Value {
        let types = self.types(schema);
        let has = |t: &str| types.iter().any(|x| x == t);
        match node {
            Node::Text { raw, encoded } => self.text(&raw, encoded, schema, &types, enc, at),
            Node::Part { data, filename, content_type } => self.part(data, filename, content_type, schema, &types, enc, at),
            Node::List(list) => {
                let item_schema = if has("array") { schema.and_then(|s| items(self.doc, s)) } else { schema };
                // A repeated property's encoding applies to each of its occurrences.
                let out = list.into_iter().enumerate().map(|(i, n)| self.node(n, item_schema, enc, &format!("{at}/{i}"))).collect();
                Value::Array(out)
            }
            Node::Map(entries) => {
                // `a[0]=x&a[1]=y`: an array when the schema says so, or says nothing.
                let mut entries = entries.list;
                let indexed = !entries.is_empty() && entries.iter().all(|(k, _)| k.parse::<usize>().is_ok());
                if indexed && (has("array") || types.is_empty()) {
                    let item_schema = schema.and_then(|s| items(self.doc, s));
                    entries.sort_by_key(|(k, _)| k.parse::<usize>().unwrap_or(usize::MAX));
                    let out =
                        entries.into_iter().enumerate().map(|(i, (_, n))| self.node(n, item_schema, None, &format!("{at}/{i}"))).collect();
                    return Value::Array(out);
                }
                let mut obj = Map::new();
                for (k, n) in entries {
                    let prop = schema.and_then(|s| property(self.doc, s, &k));
                    let value = self.node(n, prop, None, &format!("{at}/{}", escape_token(&k)));
                    obj.insert(k, value);
                }
                Value::Object(obj)
            }
        }
    }

    /// One field's text. Reserved characters arriving unencoded in a value (`:/?#[]@!$'()*,;`)
    /// are accepted whatever `allowReserved` says: after splitting on `&` and `=` they are
    /// unambiguous, and curl, browsers and most SDKs leave `:/@,` raw, so refusing them would
    /// reject real clients for the spelling rather than the content. Where the distinction
    /// carries meaning, it is kept: a non-exploded `form` value is split on raw commas before
    /// decoding, so `%2C` stays a comma inside an item.
    fn text(&mut self, raw: &str, encoded: bool, schema: Option<&'a Value>, types: &[String], enc: Option<&Encoding>, at: &str) -> Value {
        let decode = |s: &str| if encoded { params::form_decode(s) } else { s.to_string() };
        let has = |t: &str| types.iter().any(|x| x == t);
        let decoded = decode(raw);
        if enc.and_then(|e| e.content_type.as_deref()).is_some_and(is_json_type) {
            return serde_json::from_str(&decoded).unwrap_or(Value::String(decoded));
        }
        let default = Encoding::default();
        let enc = if self.form { enc.unwrap_or(&default) } else { &default };
        if has("array") && !has("string") {
            let parts: Vec<String> = match (enc.style, enc.explode) {
                _ if decoded.is_empty() && !(enc.style == Style::Form && enc.explode) => Vec::new(),
                (Style::Form, false) => raw.split(',').map(decode).collect(),
                (Style::SpaceDelimited, _) => decoded.split(' ').map(String::from).collect(),
                (Style::PipeDelimited, _) => decoded.split('|').map(String::from).collect(),
                // Exploded: this occurrence is one item (a lone `expand=x` still makes a list).
                _ => vec![decoded],
            };
            let item_schema = schema.and_then(|s| items(self.doc, s));
            let out = parts
                .into_iter()
                .enumerate()
                .map(|(i, p)| self.node(Node::Text { raw: p, encoded: false }, item_schema, None, &format!("{at}/{i}")))
                .collect();
            return Value::Array(out);
        }
        if has("object") && !has("string") {
            if !self.form {
                // A multipart part for an object defaults to JSON (OpenAPI's Encoding Object).
                return serde_json::from_str(&decoded).unwrap_or(Value::String(decoded));
            }
            if enc.style == Style::Form && !enc.explode && !decoded.is_empty() {
                // `a=k1,v1,k2,v2`
                let parts: Vec<String> = raw.split(',').map(decode).collect();
                let mut obj = Map::new();
                for pair in parts.chunks(2) {
                    let k = pair[0].clone();
                    let prop = schema.and_then(|s| property(self.doc, s, &k));
                    let v = pair.get(1).cloned().unwrap_or_default();
                    let value = self.node(Node::Text { raw: v, encoded: false }, prop, None, &format!("{at}/{}", escape_token(&k)));
                    obj.insert(k, value);
                }
                return Value::Object(obj);
            }
        }
        // An empty value stays "" for every type: a string accepts it, anything else reports it.
        if decoded.is_empty() {
            return Value::String(decoded);
        }
        params::coerce(&decoded, types)
    }

    #[allow(clippy::too_many_arguments)]
    fn part(
        &mut self,
        data: Bytes,
        filename: Option<String>,
        content_type: Option<String>,
        schema: Option<&'a Value>,
        types: &[String],
        enc: Option<&Encoding>,
        at: &str,
    ) -> Value {
        let declared = enc.and_then(|e| e.content_type.clone());
        let media_type = schema.and_then(|s| keyword(self.doc, s, "contentMediaType"));
        let binary = media_type.is_some() || schema.and_then(|s| keyword(self.doc, s, "format")) == Some("binary");
        let json = declared.as_deref().is_some_and(is_json_type) || (!binary && content_type.as_deref().is_some_and(is_json_type));
        if json {
            return match serde_json::from_slice(&data) {
                Ok(v) => v,
                Err(e) => {
                    self.unreadable.push((at.to_string(), format!("this part is not valid JSON: {e}")));
                    Value::Null
                }
            };
        }
        let text = if filename.is_some() || binary { None } else { std::str::from_utf8(&data).ok() };
        if let Some(text) = text {
            return self.text(text, false, schema, types, enc, at);
        }
        self.files.push(FileAt {
            pointer: at.to_string(),
            types: types.to_vec(),
            accepts: declared.or_else(|| media_type.map(String::from)),
            content_type: content_type.clone(),
        });
        let mut meta = Map::new();
        meta.insert("filename".into(), filename.map(Value::String).unwrap_or(Value::Null));
        meta.insert("contentType".into(), Value::String(content_type.unwrap_or_else(|| "application/octet-stream".into())));
        meta.insert("size".into(), Value::from(data.len()));
        Value::Object(meta)
    }
}

/// A form body as the JSON tree its schema describes.
pub fn urlencoded(text: &str, schema: Option<&Value>, doc: &Value, encoding: &[(String, Encoding)]) -> Value {
    let entries = read_pairs(text, schema, doc);
    Typer::new(doc, true).root(entries, schema, encoding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn enc(style: Style, explode: bool) -> Encoding {
        Encoding { content_type: None, style, explode, allow_reserved: false }
    }

    fn read(text: &str, schema: &Value, encoding: &[(String, Encoding)]) -> Value {
        let doc = json!({"components": {"schemas": {
            "Address": {"type": "object", "properties": {"line1": {"type": "string"}, "zip": {"type": "integer"}}},
            "Item": {"allOf": [{"type": "object", "properties": {"qty": {"type": "integer"}}}, {"properties": {"price": {"type": "number"}}}]},
        }}});
        urlencoded(text, Some(schema), &doc, encoding)
    }

    #[test]
    fn keys_split_into_names_and_bracket_segments() {
        assert_eq!(parse_key("a"), ("a".into(), vec![]));
        assert_eq!(parse_key("a[b][]"), ("a".into(), vec![Seg::Key("b".into()), Seg::Push]));
        assert_eq!(parse_key("a[0][name]"), ("a".into(), vec![Seg::Key("0".into()), Seg::Key("name".into())]));
        for odd in ["a[b", "a[b]c", "[a]", "a[b[c]]"] {
            assert_eq!(parse_key(odd), (odd.to_string(), vec![]), "{odd}");
        }
    }

    #[test]
    fn bracketed_keys_build_nested_objects_typed_through_refs() {
        let schema =
            json!({"type": "object", "properties": {"address": {"$ref": "#/components/schemas/Address"}, "n": {"type": "integer"}}});
        let got = read("address[line1]=1+Main+St&address[zip]=94107&n=3", &schema, &[]);
        assert_eq!(got, json!({"address": {"line1": "1 Main St", "zip": 94107}, "n": 3}));
        let deep = read("a[b][c]=v", &json!({}), &[]);
        assert_eq!(deep, json!({"a": {"b": {"c": "v"}}}));
    }

    #[test]
    fn indexed_and_pushed_keys_build_arrays_of_objects_typed_through_all_of() {
        let schema = json!({"properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}});
        let indexed = read("items[1][qty]=2&items[0][qty]=1&items[0][price]=9.5", &schema, &[]);
        assert_eq!(indexed, json!({"items": [{"qty": 1, "price": 9.5}, {"qty": 2}]}));
        let pushed = read("items[][qty]=1&items[][price]=2&items[][qty]=3", &schema, &[]);
        assert_eq!(pushed, json!({"items": [{"qty": 1, "price": 2}, {"qty": 3}]}));
    }

    #[test]
    fn expand_brackets_and_repeated_keys_make_lists() {
        let schema = json!({"properties": {"expand": {"type": "array", "items": {"type": "string"}}, "ids": {"type": "array", "items": {"type": "integer"}}}});
        assert_eq!(read("expand[]=customer&expand[]=invoice", &schema, &[]), json!({"expand": ["customer", "invoice"]}));
        assert_eq!(read("expand=customer", &schema, &[]), json!({"expand": ["customer"]}));
        assert_eq!(read("ids=1&ids=2", &schema, &[]), json!({"ids": [1, 2]}));
        assert_eq!(read("ids[0]=1&ids[1]=x", &schema, &[]), json!({"ids": [1, "x"]}));
    }

    #[test]
    fn deep_object_metadata_with_string_values_stays_strings() {
        let schema = json!({"properties": {"email": {"type": "string"}, "metadata": {"type": "object", "additionalProperties": {"type": "string"}}}});
        let encoding = [("metadata".to_string(), enc(Style::DeepObject, true))];
        let got = read("email=a%40b.c&metadata%5Border%5D=6735&metadata[vip]=true", &schema, &encoding);
        assert_eq!(got, json!({"email": "a@b.c", "metadata": {"order": "6735", "vip": "true"}}));
        // Stripe's own shape: an object of strings, or "" to clear it.
        let stripe = json!({"properties": {"metadata": {"anyOf": [{"type": "object", "additionalProperties": {"type": "string"}}, {"type": "string", "enum": [""]}]}}});
        assert_eq!(read("metadata[order]=6735", &stripe, &[]), json!({"metadata": {"order": "6735"}}));
        assert_eq!(read("metadata=", &stripe, &[]), json!({"metadata": ""}));
        let typed = json!({"properties": {"limits": {"type": "object", "additionalProperties": {"type": "integer"}}}});
        assert_eq!(read("limits[daily]=5", &typed, &[]), json!({"limits": {"daily": 5}}));
    }

    #[test]
    fn delimited_styles_split_values_and_explode_false_splits_on_raw_commas_only() {
        let schema = json!({"properties": {"a": {"type": "array", "items": {"type": "integer"}}, "s": {"type": "array", "items": {"type": "string"}}}});
        let e = |style, explode| vec![("a".to_string(), enc(style, explode)), ("s".to_string(), enc(style, explode))];
        assert_eq!(read("a=1,2,3&s=x%2Cy,z", &schema, &e(Style::Form, false)), json!({"a": [1, 2, 3], "s": ["x,y", "z"]}));
        assert_eq!(read("a=1%202+3&s=x%20y", &schema, &e(Style::SpaceDelimited, false)), json!({"a": [1, 2, 3], "s": ["x", "y"]}));
        assert_eq!(read("a=1|2&s=x%7Cy", &schema, &e(Style::PipeDelimited, false)), json!({"a": [1, 2], "s": ["x", "y"]}));
        assert_eq!(read("a=&s=", &schema, &e(Style::Form, false)), json!({"a": [], "s": []}));
        let obj = json!({"properties": {"o": {"type": "object", "properties": {"n": {"type": "integer"}}}}});
        let oe = [("o".to_string(), enc(Style::Form, false))];
        assert_eq!(read("o=n,4,m,x", &obj, &oe), json!({"o": {"n": 4, "m": "x"}}));
    }

    #[test]
    fn scalars_are_coerced_and_empty_values_stay_empty_strings() {
        let schema =
            json!({"properties": {"n": {"type": "integer"}, "x": {"type": "number"}, "b": {"type": "boolean"}, "s": {"type": "string"}}});
        assert_eq!(read("n=7&x=1.5&b=false&s=42", &schema, &[]), json!({"n": 7, "x": 1.5, "b": false, "s": "42"}));
        assert_eq!(read("n=&s=&b", &schema, &[]), json!({"n": "", "s": "", "b": ""}));
        assert_eq!(read("n=seven", &schema, &[]), json!({"n": "seven"}));
    }

    #[test]
    fn raw_reserved_characters_in_values_are_accepted_and_kept() {
        let schema = json!({"properties": {"url": {"type": "string"}}});
        let encoding = [("url".to_string(), Encoding::default())];
        assert_eq!(read("url=https://x.io/a?b=c", &schema, &encoding)["url"], json!("https://x.io/a?b=c"));
    }

    #[test]
    fn a_declared_literal_bracket_name_wins_over_structure() {
        let schema = json!({"properties": {"filter[status]": {"type": "string"}}});
        assert_eq!(read("filter[status]=open", &schema, &[]), json!({"filter[status]": "open"}));
    }

    #[test]
    fn a_json_content_type_in_the_encoding_parses_the_value() {
        let schema = json!({"properties": {"meta": {"type": "object"}}});
        let encoding = [("meta".to_string(), Encoding { content_type: Some("application/json".into()), ..Encoding::default() })];
        assert_eq!(read("meta=%7B%22a%22%3A1%7D", &schema, &encoding), json!({"meta": {"a": 1}}));
    }

    #[test]
    fn pushing_after_indexed_items_appends_past_the_highest_index() {
        let schema = json!({"properties": {"a": {"type": "array", "items": {"type": "integer"}}}});
        assert_eq!(read("a[1]=1&a[0]=0&a[]=2", &schema, &[]), json!({"a": [0, 1, 2]}));
    }

    #[test]
    fn a_body_with_many_distinct_keys_reads_every_one() {
        let text: Vec<String> = (0..20_000).map(|i| format!("k{i}=v&m[k{i}]={i}")).collect();
        let got = read(&text.join("&"), &json!({}), &[]);
        assert_eq!(got.as_object().map(|o| o.len()), Some(20_001));
        assert_eq!(got["m"]["k19999"], json!("19999"));
    }

    #[test]
    fn conflicting_flat_and_bracketed_keys_keep_both_values() {
        assert_eq!(read("a=1&a[b]=2", &json!({}), &[]), json!({"a": ["1", {"b": "2"}]}));
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::fuzz::{config, json, nasty_string, within};
    use proptest::prelude::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({"components": {"schemas": {
            "Order": {"type": "object", "properties": {
                "qty": {"type": "integer", "format": "int32"}, "price": {"type": "number", "format": "double"},
                "tags": {"type": "array", "items": {"type": "string"}}, "meta": {"$ref": "#/components/schemas/Meta"},
                "lines": {"type": "array", "items": {"$ref": "#/components/schemas/Order"}}
            }},
            "Meta": {"allOf": [{"$ref": "#/components/schemas/Meta"}, {"$ref": "#/components/schemas/Meta"}], "additionalProperties": {"type": "boolean"}}
        }}})
    }

    /// Keys and values the way clients write them, and the ways they get them wrong.
    fn pair() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            prop::sample::select(vec![
                "qty",
                "price",
                "tags",
                "tags[]",
                "meta[a]",
                "meta[a][b]",
                "lines[0][qty]",
                "lines[][price]",
                "lines[]"
            ])
            .prop_map(String::from),
            nasty_string(),
            (1usize..40).prop_map(|n| format!("lines{}", "[0]".repeat(n))),
        ];
        let value =
            prop_oneof![nasty_string(), prop::sample::select(vec!["1", "-2", "1e400", "a,b", "a|b", "%2C", "true"]).prop_map(String::from)];
        (name, value, any::<bool>()).prop_map(|(k, v, encode)| {
            let enc = |s: &str| {
                if encode {
                    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
                } else {
                    s.to_string()
                }
            };
            format!("{}={}", enc(&k), enc(&v))
        })
    }

    fn encoding() -> impl Strategy<Value = Vec<(String, Encoding)>> {
        let style = prop::sample::select(vec![Style::Form, Style::SpaceDelimited, Style::PipeDelimited, Style::DeepObject, Style::Simple]);
        let content_type = prop::option::of(prop::sample::select(vec!["application/json", "text/plain", "*/*", ""]).prop_map(String::from));
        prop::collection::vec(
            (prop::sample::select(vec!["tags", "meta", "qty"]), style, any::<bool>(), content_type).prop_map(
                |(p, style, explode, content_type)| (p.to_string(), Encoding { content_type, style, explode, allow_reserved: false }),
            ),
            0..3,
        )
    }

    fn read(text: String, schema: Option<Value>, encoding: Vec<(String, Encoding)>) -> Value {
        within("form::urlencoded", move || {
            let doc = doc();
            let schema = schema.unwrap_or_else(|| doc["components"]["schemas"]["Order"].clone());
            urlencoded(&text, Some(&schema), &doc, &encoding)
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_form_body_becomes_a_tree_without_a_panic(pairs in prop::collection::vec(pair(), 0..24), encoding in encoding()) {
            let _ = read(pairs.join("&"), None, encoding);
        }

        #[test]
        fn any_schema_types_any_form_body(schema in json(), pairs in prop::collection::vec(pair(), 0..12), raw in ".{0,64}") {
            let _ = read(pairs.join("&"), Some(schema.clone()), Vec::new());
            let _ = read(raw, Some(schema), Vec::new());
        }
    }

    #[test]
    fn a_composition_that_refers_back_to_itself_ends() {
        // Found by the properties above: `Meta` (allOf of itself, twice) overflowed the stack
        // in `types_of`, and branching made the depth-bounded look-ups exponential.
        let v = read("meta[a]=true&meta[b]=x&qty=2".into(), None, Vec::new());
        assert_eq!(v, json!({"meta": {"a": true, "b": "x"}, "qty": 2}));
    }
}
