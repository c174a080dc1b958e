//! XML bodies, both ways, guided by the schema's `xml` object (`name`, `attribute`, `wrapped`,
//! `prefix`, `namespace`): [`to_xml`] writes a JSON value as an XML document for a response, and
//! [`from_xml`] reads a request's XML into the JSON value its schema describes, so that it is
//! validated like a JSON body. The module knows no document model: the caller passes how a
//! `$ref` resolves, since bundled documents keep their references.

use quick_xml::Reader;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde_json::{Map, Value};

/// Follows `$ref`s of a schema node to its target.
pub type Resolve<'a> = dyn Fn(&'a Value) -> &'a Value + 'a;

/// `application/xml`, `text/xml` and any `+xml` type.
pub fn is_xml(media_type: &str) -> bool {
    let m = media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    m == "application/xml" || m == "text/xml" || m.ends_with("+xml")
}

static EMPTY: Value = Value::Null;

/// How deep elements may nest in a request, and `allOf` chains are followed: far beyond any
/// real document, and a bound on the stack a hostile body or a self-referring schema can use.
const MAX_DEPTH: usize = 64;

/// A schema node resolved, with the component name its `$ref` gave (the default element name
/// of a root, as OpenAPI has it).
fn resolve<'a>(schema: &'a Value, resolve: &Resolve<'a>) -> (&'a Value, Option<String>) {
    let name = schema.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()).map(String::from);
    (resolve(schema), name)
}

/// The schema and its `allOf` parts, resolved, each schema's inline parts before the ones it
/// refers to: AWS's documents wrap every property as `allOf: [{$ref}, {description or xml}]`, so
/// its type, items and `xml` hints sit in the parts, and the hint written beside a reference wins.
fn parts<'a>(schema: &'a Value, r: &Resolve<'a>) -> Vec<&'a Value> {
    fn walk<'a>(schema: &'a Value, r: &Resolve<'a>, out: &mut Vec<&'a Value>) {
        if out.iter().any(|s| std::ptr::eq(*s, schema)) || out.len() >= MAX_DEPTH {
            return;
        }
        out.push(schema);
        let all: Vec<&'a Value> = schema.get("allOf").and_then(Value::as_array).into_iter().flatten().collect();
        for part in all.iter().filter(|p| p.get("$ref").is_none()).chain(all.iter().filter(|p| p.get("$ref").is_some())) {
            walk(r(part), r, out);
        }
    }
    let mut out = Vec::new();
    walk(schema, r, &mut out);
    out
}

fn xml_field<'a>(schema: &'a Value, key: &str, r: &Resolve<'a>) -> Option<&'a Value> {
    parts(schema, r).into_iter().find_map(|p| p.get("xml").and_then(|x| x.get(key)))
}

fn xml_str<'a>(schema: &'a Value, key: &str, r: &Resolve<'a>) -> Option<&'a str> {
    xml_field(schema, key, r).and_then(Value::as_str)
}

fn xml_flag<'a>(schema: &'a Value, key: &str, r: &Resolve<'a>) -> bool {
    xml_field(schema, key, r).and_then(Value::as_bool).unwrap_or(false)
}

/// The schema of property `key`, looked up through `allOf` too.
fn property<'a>(schema: &'a Value, key: &str, r: &Resolve<'a>) -> &'a Value {
    property_within(schema, key, r, &mut Vec::new())
}

/// Each schema is visited once (`seen`), so an `allOf` that refers back to itself, however it
/// branches, ends.
fn property_within<'a>(schema: &'a Value, key: &str, r: &Resolve<'a>, seen: &mut Vec<*const Value>) -> &'a Value {
    if seen.contains(&(schema as *const Value)) || seen.len() >= MAX_DEPTH {
        return &EMPTY;
    }
    seen.push(schema);
    if let Some(p) = schema.get("properties").and_then(|p| p.get(key)) {
        return r(p);
    }
    for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        let found = property_within(r(part), key, r, seen);
        if !found.is_null() {
            return found;
        }
    }
    match schema.get("additionalProperties") {
        Some(a @ Value::Object(_)) => r(a),
        _ => &EMPTY,
    }
}

/// Every declared property, `allOf` parts included, in declaration order.
fn properties<'a>(schema: &'a Value, r: &Resolve<'a>, out: &mut Vec<(&'a str, &'a Value)>) {
    properties_within(schema, r, out, &mut Vec::new());
}

fn properties_within<'a>(schema: &'a Value, r: &Resolve<'a>, out: &mut Vec<(&'a str, &'a Value)>, seen: &mut Vec<*const Value>) {
    if seen.contains(&(schema as *const Value)) || seen.len() >= MAX_DEPTH {
        return;
    }
    seen.push(schema);
    for (k, v) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
        out.push((k.as_str(), r(v)));
    }
    for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        properties_within(r(part), r, out, seen);
    }
}

fn items<'a>(schema: &'a Value, r: &Resolve<'a>) -> &'a Value {
    parts(schema, r).into_iter().find_map(|p| p.get("items")).map(r).unwrap_or(&EMPTY)
}

fn qualified<'a>(schema: &'a Value, name: &str, r: &Resolve<'a>) -> String {
    match xml_str(schema, "prefix", r) {
        Some(p) if !p.is_empty() => format!("{p}:{name}"),
        _ => name.to_string(),
    }
}

/// `value` as an XML document. The root element is named by the schema's `xml.name`, else its
/// component name, else `root`.
pub fn to_xml<'a>(value: &Value, schema: Option<&'a Value>, r: &Resolve<'a>) -> Vec<u8> {
    let (schema, component) = match schema {
        Some(s) => resolve(s, r),
        None => (&EMPTY, None),
    };
    let name = xml_str(schema, "name", r).map(String::from).or(component).unwrap_or_else(|| "root".into());
    let mut w = Writer::new(Vec::new());
    let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    if let Value::Array(list) = value {
        // A root array is its own wrapper.
        let item_schema = items(schema, r);
        let item_name = xml_str(item_schema, "name", r).unwrap_or(&name).to_string();
        let mut start = BytesStart::new(qualified(schema, &name, r));
        namespace(schema, &mut start, r);
        let _ = w.write_event(Event::Start(start.borrow()));
        for item in list {
            element(&mut w, &item_name, item, item_schema, r);
        }
        let _ = w.write_event(Event::End(BytesEnd::new(qualified(schema, &name, r))));
    } else {
        element(&mut w, &name, value, schema, r);
    }
    w.into_inner()
}

fn namespace<'a>(schema: &'a Value, start: &mut BytesStart, r: &Resolve<'a>) {
    if let Some(ns) = xml_str(schema, "namespace", r) {
        match xml_str(schema, "prefix", r).filter(|p| !p.is_empty()) {
            Some(p) => start.push_attribute((format!("xmlns:{p}").as_str(), ns)),
            None => start.push_attribute(("xmlns", ns)),
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn element<'a>(w: &mut Writer<Vec<u8>>, name: &str, value: &Value, schema: &'a Value, r: &Resolve<'a>) {
    let tag = qualified(schema, name, r);
    let mut start = BytesStart::new(tag.as_str());
    namespace(schema, &mut start, r);
    match value {
        Value::Object(map) => {
            let mut children = Vec::new();
            for (key, v) in map {
                let prop = property(schema, key, r);
                let prop_name = xml_str(prop, "name", r).unwrap_or(key);
                if xml_flag(prop, "attribute", r) && !v.is_object() && !v.is_array() {
                    start.push_attribute((qualified(prop, prop_name, r).as_str(), scalar_text(v).as_str()));
                } else {
                    children.push((prop_name.to_string(), v, prop));
                }
            }
            let _ = w.write_event(Event::Start(start.borrow()));
            for (child, v, prop) in children {
                match v {
                    Value::Array(list) => array(w, &child, list, prop, r),
                    v => element(w, &child, v, prop, r),
                }
            }
        }
        Value::Array(list) => {
            let _ = w.write_event(Event::Start(start.borrow()));
            let item_schema = items(schema, r);
            let item_name = xml_str(item_schema, "name", r).unwrap_or(name).to_string();
            for item in list {
                element(w, &item_name, item, item_schema, r);
            }
        }
        scalar => {
            let _ = w.write_event(Event::Start(start.borrow()));
            let _ = w.write_event(Event::Text(BytesText::new(&scalar_text(scalar))));
        }
    }
    let _ = w.write_event(Event::End(BytesEnd::new(tag.as_str())));
}

/// A property's array: inside a wrapper element when `xml.wrapped`, else one element per item.
fn array<'a>(w: &mut Writer<Vec<u8>>, name: &str, list: &[Value], schema: &'a Value, r: &Resolve<'a>) {
    let item_schema = items(schema, r);
    if xml_flag(schema, "wrapped", r) {
        element(w, name, &Value::Array(list.to_vec()), schema, r);
    } else {
        let item_name = xml_str(item_schema, "name", r).unwrap_or(name).to_string();
        for item in list {
            element(w, &item_name, item, item_schema, r);
        }
    }
}

/// One element as read, names without their prefix (namespaces are not checked).
#[derive(Debug, Default)]
struct Node {
    name: String,
    attributes: Vec<(String, String)>,
    children: Vec<Node>,
    text: String,
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    s.rsplit(':').next().unwrap_or("").to_string()
}

fn parse_tree(body: &[u8]) -> Result<Node, String> {
    let mut reader = Reader::from_reader(body);
    let mut stack: Vec<Node> = Vec::new();
    let mut buf = Vec::new();
    let open = |e: &BytesStart| -> Result<Node, String> {
        let mut node = Node { name: local(e.name().as_ref()), ..Node::default() };
        for a in e.attributes() {
            let a = a.map_err(|e| format!("bad attribute: {e}"))?;
            let key = String::from_utf8_lossy(a.key.as_ref()).to_string();
            if key == "xmlns" || key.starts_with("xmlns:") {
                continue;
            }
            let value = a.unescape_value().map_err(|e| format!("bad attribute value: {e}"))?.into_owned();
            node.attributes.push((local(key.as_bytes()), value));
        }
        Ok(node)
    };
    loop {
        let at = reader.buffer_position();
        let event = reader.read_event_into(&mut buf).map_err(|e| format!("malformed XML at byte {at}: {e}"))?;
        match event {
            Event::Start(e) if stack.len() >= MAX_DEPTH => {
                return Err(format!("elements nest deeper than {MAX_DEPTH} levels at byte {at}: {}", local(e.name().as_ref())));
            }
            Event::Start(e) => stack.push(open(&e)?),
            Event::Empty(e) => {
                let node = open(&e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| format!("bad text: {e}"))?;
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&text);
                }
            }
            Event::GeneralRef(e) => {
                let name = e.decode().map_err(|e| format!("bad reference: {e}"))?;
                let text = match e.resolve_char_ref().map_err(|e| format!("bad character reference: {e}"))? {
                    Some(c) => c.to_string(),
                    None => match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(t) => t.to_string(),
                        None => return Err(format!("unknown entity &{name};")),
                    },
                };
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&text);
                }
            }
            Event::CData(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::End(_) => {
                let node = stack.pop().ok_or("an end tag without its start")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
            }
            Event::Eof => return Err("the document ends before its root element closes".into()),
            _ => {}
        }
        buf.clear();
    }
}

/// Whether `text` is already an XML document (an example written as XML), rather than a value to
/// write as one.
pub fn is_document(text: &str) -> bool {
    text.trim_start().starts_with('<') && parse_tree(text.as_bytes()).is_ok()
}

/// A request's XML as the JSON value its schema describes: child elements and attributes
/// (`xml.attribute`) become properties, wrapped and repeated elements arrays, text typed by the
/// schema. What the schema does not declare is kept (as text or an object) for validation to
/// judge. An `Err` is malformed XML.
pub fn from_xml<'a>(body: &[u8], schema: Option<&'a Value>, r: &Resolve<'a>) -> Result<Value, String> {
    let root = parse_tree(body)?;
    let schema = schema.map(|s| resolve(s, r).0).unwrap_or(&EMPTY);
    Ok(convert(&root, schema, r))
}

/// The schema's type, looked up through its `allOf` parts; empty when nothing says.
fn type_of<'a>(schema: &'a Value, r: &Resolve<'a>) -> &'a str {
    for p in parts(schema, r) {
        match p.get("type") {
            Some(Value::String(t)) => return t,
            Some(Value::Array(ts)) => {
                if let Some(t) = ts.iter().filter_map(Value::as_str).find(|t| *t != "null") {
                    return t;
                }
            }
            _ if p.get("properties").is_some() => return "object",
            _ if p.get("items").is_some() => return "array",
            _ => {}
        }
    }
    ""
}

fn typed<'a>(text: &str, schema: &'a Value, r: &Resolve<'a>) -> Value {
    let t = text.trim();
    match type_of(schema, r) {
        "integer" => t.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(text.into())),
        "number" => serde_json::from_str::<serde_json::Number>(t).map(Value::Number).unwrap_or_else(|_| Value::String(text.into())),
        "boolean" => match t {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.into()),
        },
        _ => Value::String(text.into()),
    }
}

fn convert<'a>(node: &Node, schema: &'a Value, r: &Resolve<'a>) -> Value {
    match type_of(schema, r) {
        "object" => object(node, schema, r),
        "array" => {
            let item_schema = items(schema, r);
            Value::Array(node.children.iter().map(|c| convert(c, item_schema, r)).collect())
        }
        "" if !node.children.is_empty() || !node.attributes.is_empty() => object(node, schema, r),
        _ => typed(&node.text, schema, r),
    }
}

fn object<'a>(node: &Node, schema: &'a Value, r: &Resolve<'a>) -> Value {
    let mut declared = Vec::new();
    properties(schema, r, &mut declared);
    let extra = parts(schema, r).into_iter().find_map(|p| p.get("additionalProperties").filter(|a| a.is_object())).map(r);
    let mut out = Map::new();
    // Names compare without their prefix, as `parse_tree` reads them: S3's `Grantee` names its
    // `Type` `xsi:type`.
    let own = |k: &'a str, p: &'a Value| -> String { local(xml_str(p, "name", r).unwrap_or(k).as_bytes()) };
    for (name, value) in &node.attributes {
        let found = declared.iter().find(|(k, p)| xml_flag(p, "attribute", r) && own(k, p) == *name);
        match found {
            Some((k, p)) => out.insert(k.to_string(), typed(value, p, r)),
            None => out.insert(name.clone(), Value::String(value.clone())),
        };
    }
    for child in &node.children {
        let found = declared.iter().find(|(k, p)| {
            // An object or a list flagged as an attribute is written as an element (S3's
            // `Grantee`), so it is read as one.
            if xml_flag(p, "attribute", r) && !matches!(type_of(p, r), "object" | "array") {
                return false;
            }
            let own = own(k, p);
            if type_of(p, r) == "array" && !xml_flag(p, "wrapped", r) {
                xml_str(items(p, r), "name", r).map(|n| local(n.as_bytes())).unwrap_or(own) == child.name
            } else {
                own == child.name
            }
        });
        match found {
            Some((k, p)) if type_of(p, r) == "array" && !xml_flag(p, "wrapped", r) => {
                let item = convert(child, items(p, r), r);
                if let Value::Array(list) = out.entry(k.to_string()).or_insert_with(|| Value::Array(Vec::new())) {
                    list.push(item);
                }
            }
            Some((k, p)) => {
                out.insert(k.to_string(), convert(child, p, r));
            }
            None => {
                // A map's entries (`additionalProperties` a schema: AWS's `SummaryMap` of
                // integers) are typed by it; anything else is kept as it reads.
                let value = convert(child, extra.unwrap_or(&EMPTY), r);
                // An undeclared element that repeats is a list.
                match out.get_mut(&child.name) {
                    Some(Value::Array(list)) => list.push(value),
                    Some(prev) => *prev = Value::Array(vec![prev.take(), value]),
                    None => {
                        out.insert(child.name.clone(), value);
                    }
                }
            }
        }
    }
    // An unwrapped list without items writes no element at all: a required one reads back empty.
    let required: Vec<&str> = parts(schema, r)
        .into_iter()
        .flat_map(|p| p.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str))
        .collect();
    for (k, p) in &declared {
        if required.contains(k) && !out.contains_key(*k) && type_of(p, r) == "array" && !xml_flag(p, "wrapped", r) {
            out.insert(k.to_string(), Value::Array(Vec::new()));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn local_refs(doc: &'static Value) -> impl Fn(&'static Value) -> &'static Value {
        move |v| match v.get("$ref").and_then(Value::as_str) {
            Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap_or(v),
            None => v,
        }
    }

    fn doc() -> &'static Value {
        Box::leak(Box::new(json!({"components": {"schemas": {
            "Pet": {
                "type": "object",
                "xml": {"name": "pet", "prefix": "p", "namespace": "https://example.com/pets"},
                "properties": {
                    "id": {"type": "integer", "xml": {"attribute": true}},
                    "name": {"type": "string"},
                    "owner": {"$ref": "#/components/schemas/Owner"},
                    "tags": {"type": "array", "xml": {"wrapped": true}, "items": {"type": "string", "xml": {"name": "tag"}}},
                    "photos": {"type": "array", "items": {"type": "string", "xml": {"name": "photo"}}}
                }
            },
            "Owner": {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}
        }}})))
    }

    /// AWS's documents wrap every property in `allOf: [{$ref}, {description | xml}]`: the type,
    /// the items and the item names come through the parts, both ways.
    #[test]
    fn types_and_item_names_under_all_of_round_trip() {
        let doc: &'static Value = Box::leak(Box::new(json!({"components": {"schemas": {
            "Boolean": {"type": "boolean"},
            "String": {"type": "string"},
            "UrlList": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/String"}, {"xml": {"name": "QueueUrl"}}]}},
            "Result": {"type": "object", "required": ["Urls", "Empty"], "properties": {
                "Fifo": {"allOf": [{"$ref": "#/components/schemas/Boolean"}, {"description": "FIFO."}]},
                "Urls": {"allOf": [{"$ref": "#/components/schemas/UrlList"}, {"description": "The queues."}]},
                "Empty": {"allOf": [{"$ref": "#/components/schemas/UrlList"}, {"description": "None."}]}
            }}
        }}})));
        let r = local_refs(doc);
        let schema: &'static Value = Box::leak(Box::new(json!({"$ref": "#/components/schemas/Result"})));
        let value = json!({"Fifo": true, "Urls": ["a", "b"], "Empty": []});
        let xml = String::from_utf8(to_xml(&value, Some(schema), &r)).unwrap();
        assert!(xml.ends_with("<Result><Fifo>true</Fifo><QueueUrl>a</QueueUrl><QueueUrl>b</QueueUrl></Result>"), "{xml}");
        assert_eq!(from_xml(xml.as_bytes(), Some(schema), &r).unwrap(), value);
    }

    #[test]
    fn attributes_wrapped_arrays_prefixes_and_nested_objects_are_written() {
        // Arrange
        let doc = doc();
        let r = local_refs(doc);
        let schema = Box::leak(Box::new(json!({"$ref": "#/components/schemas/Pet"})));
        let value =
            json!({"id": 7, "name": "Rex & co", "owner": {"name": "Ann", "age": 40}, "tags": ["a", "b"], "photos": ["x.png", "y.png"]});
        // Act
        let xml = String::from_utf8(to_xml(&value, Some(schema), &r)).unwrap();
        // Assert
        assert_eq!(
            xml,
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<p:pet xmlns:p="https://example.com/pets" id="7"><name>Rex &amp; co</name>"#,
                "<owner><name>Ann</name><age>40</age></owner>",
                "<tags><tag>a</tag><tag>b</tag></tags><photo>x.png</photo><photo>y.png</photo></p:pet>"
            )
        );
    }

    #[test]
    fn a_root_takes_its_component_name_and_a_root_array_wraps_its_items() {
        let doc = doc();
        let r = local_refs(doc);
        let owner = Box::leak(Box::new(json!({"$ref": "#/components/schemas/Owner"})));
        let xml = String::from_utf8(to_xml(&json!({"name": "Ann"}), Some(owner), &r)).unwrap();
        assert!(xml.ends_with("<Owner><name>Ann</name></Owner>"), "{xml}");
        let list =
            Box::leak(Box::new(json!({"type": "array", "xml": {"name": "owners"}, "items": {"$ref": "#/components/schemas/Owner"}})));
        let xml = String::from_utf8(to_xml(&json!([{"name": "A"}, {"name": "B"}]), Some(list), &r)).unwrap();
        assert!(xml.ends_with("<owners><owners><name>A</name></owners><owners><name>B</name></owners></owners>"), "{xml}");
    }

    #[test]
    fn xml_is_read_back_into_the_json_the_schema_describes() {
        // Arrange
        let doc = doc();
        let r = local_refs(doc);
        let schema = Box::leak(Box::new(json!({"$ref": "#/components/schemas/Pet"})));
        let body = br#"<?xml version="1.0"?>
            <p:pet xmlns:p="https://example.com/pets" id="7">
              <name>Rex &amp; co</name>
              <owner><name>Ann</name><age>40</age></owner>
              <tags><tag>a</tag><tag>b</tag></tags>
              <photo>x.png</photo><photo>y.png</photo>
              <extra>kept</extra>
            </p:pet>"#;
        // Act
        let value = from_xml(body, Some(schema), &r).unwrap();
        // Assert
        assert_eq!(
            value,
            json!({"id": 7, "name": "Rex & co", "owner": {"name": "Ann", "age": 40}, "tags": ["a", "b"], "photos": ["x.png", "y.png"], "extra": "kept"})
        );
    }

    #[test]
    fn prefixed_names_and_map_entries_read_back_as_written() {
        // S3's `Grantee` names its required `Type` `xsi:type`; IAM's `SummaryMap` is a map of
        // integers, SES's `DkimAttributes` one of objects with a boolean.
        let doc: &'static Value = Box::leak(Box::new(json!({"components": {"schemas": {
            "Grant": {"type": "object", "properties": {"Grantee": {"allOf": [{"$ref": "#/components/schemas/Grantee"}, {"description": "Who."}]}}},
            "Grantee": {"type": "object", "required": ["Type"], "xml": {"namespace": "http://www.w3.org/2001/XMLSchema-instance", "attribute": true}, "properties": {
                "ID": {"type": "string"},
                "Type": {"allOf": [{"$ref": "#/components/schemas/Type"}, {"xml": {"name": "xsi:type"}}]}
            }},
            "Type": {"type": "string", "enum": ["CanonicalUser", "Group"]},
            "Summary": {"type": "object", "properties": {
                "SummaryMap": {"type": "object", "additionalProperties": {"type": "integer"}},
                "Dkim": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Dkim"}}
            }},
            "Dkim": {"type": "object", "properties": {"DkimEnabled": {"type": "boolean"}}}
        }}})));
        let r = local_refs(doc);
        for (name, value) in [
            ("Grant", json!({"Grantee": {"ID": "a", "Type": "Group"}})),
            ("Summary", json!({"SummaryMap": {"Users": 2, "Groups": 0}, "Dkim": {"example.com": {"DkimEnabled": true}}})),
        ] {
            let schema: &'static Value = Box::leak(Box::new(json!({"$ref": format!("#/components/schemas/{name}")})));
            let xml = to_xml(&value, Some(schema), &r);
            assert_eq!(from_xml(&xml, Some(schema), &r).unwrap(), value, "{}", String::from_utf8_lossy(&xml));
        }
    }

    #[test]
    fn only_well_formed_xml_text_is_a_document() {
        assert!(is_document("<?xml version=\"1.0\"?><a><b/></a>") && is_document(" <a>x</a>"));
        assert!(!is_document("string") && !is_document("<a>") && !is_document("a <b/>"));
    }

    #[test]
    fn written_xml_reads_back_the_same_and_malformed_xml_is_an_error() {
        let doc = doc();
        let r = local_refs(doc);
        let schema = Box::leak(Box::new(json!({"$ref": "#/components/schemas/Pet"})));
        let value = json!({"id": 1, "name": "n", "owner": {"name": "o", "age": 2}, "tags": ["t"], "photos": ["p"]});
        let back = from_xml(&to_xml(&value, Some(schema), &r), Some(schema), &r).unwrap();
        assert_eq!(back, value);
        assert!(from_xml(b"<pet><name>x</pet>", Some(schema), &r).is_err());
        assert!(from_xml(b"<pet>", Some(schema), &r).is_err());
        assert!(is_xml("application/vnd.pets+xml; charset=utf-8") && is_xml("text/xml") && !is_xml("application/json"));
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::fuzz::{config, json, mutate, mutation, within};
    use proptest::prelude::*;
    use serde_json::json;

    /// Schemas with every `xml` hint, a `$ref`, an `allOf` and one that refers to itself.
    fn doc() -> &'static Value {
        static DOC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
        DOC.get_or_init(|| {
            json!({"components": {"schemas": {
                "Pet": {"type": "object", "xml": {"name": "pet", "prefix": "p", "namespace": "urn:x"}, "properties": {
                    "id": {"type": "integer", "xml": {"attribute": true}},
                    "weight": {"type": "number", "format": "double"},
                    "ok": {"type": "boolean"},
                    "tags": {"type": "array", "xml": {"wrapped": true}, "items": {"type": "string", "xml": {"name": "tag"}}},
                    "photos": {"type": "array", "items": {"type": "string", "xml": {"name": "photo"}}},
                    "owner": {"$ref": "#/components/schemas/Owner"},
                    "loop": {"$ref": "#/components/schemas/Loop"}
                }},
                "Owner": {"allOf": [{"$ref": "#/components/schemas/Named"}, {"properties": {"age": {"type": "integer"}}}]},
                "Named": {"type": "object", "properties": {"name": {"type": "string"}}, "additionalProperties": {"type": "string"}},
                "Loop": {"allOf": [{"$ref": "#/components/schemas/Loop"}], "properties": {"next": {"$ref": "#/components/schemas/Loop"}}}
            }}})
        })
    }

    fn local_refs(v: &'static Value) -> &'static Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => doc().pointer(r.trim_start_matches('#')).unwrap_or(v),
            None => v,
        }
    }

    const VALID: &str = r#"<?xml version="1.0"?><p:pet xmlns:p="urn:x" id="7"><weight>1.5</weight><ok>true</ok><tags><tag>a</tag><tag>b</tag></tags><photo>x</photo><photo>y</photo><owner><name>n</name><age>3</age><extra>e</extra></owner><loop><next><next/></next></loop></p:pet>"#;

    /// Reads `body` against the schema (`None`: the document's Pet), within the deadline.
    fn read(body: Vec<u8>, schema: Option<Value>) -> Result<Value, String> {
        within("xml::from_xml", move || {
            let schema: &'static Value = match schema {
                Some(s) => Box::leak(Box::new(s)),
                None => &doc()["components"]["schemas"]["Pet"],
            };
            from_xml(&body, Some(schema), &local_refs)
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn mutated_xml_is_read_or_refused_never_a_panic(mutations in prop::collection::vec(mutation(), 1..6)) {
            let _ = read(mutate(VALID.as_bytes().to_vec(), &mutations), None);
        }

        #[test]
        fn any_schema_reads_any_xml_without_a_panic(schema in json(), mutations in prop::collection::vec(mutation(), 0..3)) {
            let _ = read(mutate(VALID.as_bytes().to_vec(), &mutations), Some(schema));
        }

        #[test]
        fn random_bytes_are_an_answer(raw in prop::collection::vec(any::<u8>(), 0..128)) {
            let _ = read(raw, None);
        }
    }

    #[test]
    fn an_all_of_that_refers_back_to_itself_ends() {
        // Found by the property above: `Loop` recursed until the stack overflowed (an abort).
        let branching: &'static Value = Box::leak(Box::new(json!({"allOf": [{"$ref": "#/x"}, {"$ref": "#/x"}], "properties": {"a": {}}})));
        let own = move |v: &'static Value| if v.get("$ref").is_some() { branching } else { v };
        let body = b"<r><a>1</a><b><a/></b></r>".to_vec();
        let read = within("branching allOf", move || from_xml(&body, Some(branching), &own).map(|v| v.to_string()));
        assert_eq!(read.as_deref(), Ok(r#"{"a":"1","b":{"a":""}}"#));
        assert!(read_loop().is_ok());
    }

    fn read_loop() -> Result<Value, String> {
        read(b"<loop><next><next><next/></next></next></loop>".to_vec(), Some(doc()["components"]["schemas"]["Loop"].clone()))
    }

    #[test]
    fn elements_nested_deeper_than_the_bound_are_refused_not_a_stack_overflow() {
        let deep = format!("{}{}", "<a>".repeat(200_000), "</a>".repeat(200_000));
        let e = read(deep.into_bytes(), None).expect_err("refused");
        assert!(e.contains("nest deeper than 64"), "{e}");
        let fine = format!("{}{}", "<a>".repeat(64), "</a>".repeat(64));
        assert!(read(fine.into_bytes(), None).is_ok());
    }

    #[test]
    fn the_unmutated_document_reads_as_its_schema_says() {
        let v = read(VALID.as_bytes().to_vec(), None).expect("reads");
        assert_eq!((&v["id"], &v["tags"], &v["owner"]["age"]), (&json!(7), &json!(["a", "b"]), &json!(3)));
    }
}
