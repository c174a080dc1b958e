//! Reads raw parameter text (path segments, query pairs, headers, cookies) into JSON values by the
//! parameter's style and explode rules, converting strings to the numbers and booleans its schema
//! asks for, so the schema validator sees what the client meant.

use serde_json::{Map, Value};

use crate::spec::{Parameter, Shape, Style};

pub use crate::query::{decode as form_decode, parse as parse_query};

/// Cookie pairs from a `Cookie` header.
pub fn parse_cookies(header: &str) -> Vec<(String, String)> {
    header
        .split(';')
        .filter_map(|c| {
            let (k, v) = c.trim().split_once('=')?;
            Some((k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        })
        .collect()
}

/// Converts one scalar string to the first JSON type it satisfies among `types`.
pub fn coerce(raw: &str, types: &[String]) -> Value {
    if types.is_empty() {
        return Value::String(raw.to_string());
    }
    for t in types {
        match t.as_str() {
            "integer" => {
                if let Ok(n) = raw.parse::<i64>() {
                    return Value::Number(n.into());
                }
                if let Ok(n) = raw.parse::<u64>() {
                    return Value::Number(n.into());
                }
                if raw.bytes().all(|b| b.is_ascii_digit() || b == b'-') && !raw.is_empty() {
                    // Beyond 64 bits: keep the exact digits as a number.
                    if let Ok(Value::Number(n)) = serde_json::from_str::<Value>(raw) {
                        return Value::Number(n);
                    }
                }
            }
            "number" => {
                if let Ok(Value::Number(n)) = serde_json::from_str::<Value>(raw) {
                    return Value::Number(n);
                }
            }
            "boolean" => match raw {
                "true" => return Value::Bool(true),
                "false" => return Value::Bool(false),
                _ => {}
            },
            "null" if raw.is_empty() || raw == "null" => return Value::Null,
            "string" => return Value::String(raw.to_string()),
            // Form style cannot write a value nested in an object or an array (an AWS query
            // parameter's `Options` inside its object, a list of tag objects): it comes as JSON text.
            "object" if raw.starts_with('{') => {
                if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(raw) {
                    return v;
                }
            }
            "array" if raw.starts_with('[') => {
                if let Ok(v @ Value::Array(_)) = serde_json::from_str::<Value>(raw) {
                    return v;
                }
            }
            _ => {}
        }
    }
    // Nothing fits: hand the string to the validator, whose message names the expected type.
    Value::String(raw.to_string())
}

fn coerce_items(items: impl IntoIterator<Item = String>, p: &Parameter) -> Value {
    Value::Array(items.into_iter().map(|s| coerce(&s, &p.item_types.items)).collect())
}

fn coerce_object(pairs: impl IntoIterator<Item = (String, String)>, p: &Parameter) -> Value {
    let mut obj = Map::new();
    for (k, v) in pairs {
        let types: Vec<String> = p
            .item_types
            .properties
            .get(&k)
            .and_then(Value::as_array)
            .map(|ts| ts.iter().filter_map(|t| t.as_str().map(String::from)).collect())
            .unwrap_or_default();
        obj.insert(k, coerce(&v, &types));
    }
    Value::Object(obj)
}

fn pairs_from_list(parts: &[&str]) -> Vec<(String, String)> {
    parts.chunks(2).map(|c| (c[0].to_string(), c.get(1).unwrap_or(&"").to_string())).collect()
}

/// Reads a `simple`-style value (path and header parameters; also the body of label/matrix).
pub fn read_simple(raw: &str, p: &Parameter) -> Value {
    match p.shape {
        Shape::Scalar => coerce(raw, &p.item_types.scalar),
        Shape::Array => {
            if raw.is_empty() {
                return Value::Array(vec![]);
            }
            coerce_items(raw.split(',').map(|s| s.trim().to_string()), p)
        }
        Shape::Object => {
            if p.explode {
                coerce_object(raw.split(',').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())), p)
            } else {
                let parts: Vec<&str> = raw.split(',').collect();
                coerce_object(pairs_from_list(&parts), p)
            }
        }
    }
}

/// Reads a path parameter, whose raw text may carry a `label` (`.`) or `matrix` (`;name=`) prefix.
pub fn read_path(raw: &str, p: &Parameter) -> Value {
    match p.style {
        Style::Label => {
            let body = raw.strip_prefix('.').unwrap_or(raw);
            let sep = if p.explode { '.' } else { ',' };
            read_simple(&body.replace(sep, ","), p)
        }
        Style::Matrix => {
            let prefix = format!(";{}=", p.name);
            let body = raw.strip_prefix(&prefix).unwrap_or(raw);
            let body = body.replace(&prefix, ",");
            read_simple(&body, p)
        }
        _ => read_simple(raw, p),
    }
}

/// Reads a query (or cookie) parameter from all pairs. None when it is absent.
pub fn read_query(pairs: &[(String, String)], p: &Parameter) -> Option<Value> {
    let name = p.name.as_str();
    let values = || pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone());
    match (p.style, p.shape) {
        (Style::DeepObject, Shape::Array) => {
            // An array has no deepObject form of its own: clients send `expand[0]=a&expand[1]=b`
            // (Stripe's), `expand[]=a` or a repeated `expand=a`. Indexed items keep their order.
            let prefix = format!("{name}[");
            let mut items: Vec<(usize, usize, String)> = Vec::new();
            for (seen, (k, v)) in pairs.iter().enumerate() {
                let index = if k == name {
                    Some(usize::MAX)
                } else {
                    k.strip_prefix(&prefix)
                        .and_then(|r| r.strip_suffix(']'))
                        .and_then(|i| if i.is_empty() { Some(usize::MAX) } else { i.parse::<usize>().ok() })
                };
                if let Some(i) = index {
                    items.push((i, seen, v.clone()));
                }
            }
            items.sort_by_key(|(i, seen, _)| (*i, *seen));
            (!items.is_empty()).then(|| coerce_items(items.into_iter().map(|(_, _, v)| v), p))
        }
        (Style::DeepObject, _) => {
            let prefix = format!("{name}[");
            let props: Vec<(String, String)> =
                pairs.iter().filter_map(|(k, v)| Some((k.strip_prefix(&prefix)?.strip_suffix(']')?.to_string(), v.clone()))).collect();
            (!props.is_empty()).then(|| coerce_object(props, p))
        }
        (_, Shape::Scalar) => values().next().map(|v| coerce(&v, &p.item_types.scalar)),
        (Style::Form, Shape::Array) if p.explode => {
            let all: Vec<String> = values().collect();
            (!all.is_empty()).then(|| coerce_items(all, p))
        }
        (style, Shape::Array) => {
            let sep = match style {
                Style::SpaceDelimited => ' ',
                Style::PipeDelimited => '|',
                _ => ',',
            };
            let first = values().next()?;
            if first.is_empty() {
                return Some(Value::Array(vec![]));
            }
            Some(coerce_items(first.split(sep).map(String::from), p))
        }
        (Style::Form, Shape::Object) if p.explode => {
            // Exploded form objects spread their properties over the query: take the declared ones.
            let props: Vec<(String, String)> = pairs.iter().filter(|(k, _)| p.item_types.properties.contains_key(k)).cloned().collect();
            (!props.is_empty()).then(|| coerce_object(props, p))
        }
        (_, Shape::Object) => {
            let first = values().next()?;
            let parts: Vec<&str> = first.split(',').collect();
            Some(coerce_object(pairs_from_list(&parts), p))
        }
    }
}

/// An exploded form object that declares no properties (a map, `additionalProperties` only, as
/// AWS's `Tags`) spreads arbitrary keys over the query: it takes those no other parameter claims.
pub fn takes_any_key(p: &Parameter) -> bool {
    p.style == Style::Form && p.explode && p.shape == Shape::Object && p.item_types.properties.is_empty()
}

/// The map parameter `p` ([`takes_any_key`]) read from the query pairs `free` (those no other
/// parameter claims). None when there are none.
pub fn read_map(free: Vec<(String, String)>, p: &Parameter) -> Option<Value> {
    (!free.is_empty()).then(|| coerce_object(free, p))
}

/// Whether a query key is claimed by parameter `p` (for the unknown-parameter check).
pub fn claims(p: &Parameter, key: &str) -> bool {
    if key == p.name {
        return true;
    }
    match (p.style, p.shape) {
        (Style::DeepObject, _) => key.strip_prefix(p.name.as_str()).is_some_and(|r| r.starts_with('[')),
        (Style::Form, Shape::Object) if p.explode => p.item_types.properties.contains_key(key),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ParamIn;
    use crate::spec::model::ItemTypes;
    use serde_json::json;

    fn param(style: Style, explode: bool, shape: Shape, scalar: &[&str], items: &[&str], props: Value) -> Parameter {
        Parameter {
            name: "p".into(),
            location: ParamIn::Query,
            required: false,
            style,
            explode,
            shape,
            item_types: ItemTypes {
                scalar: scalar.iter().map(|s| s.to_string()).collect(),
                items: items.iter().map(|s| s.to_string()).collect(),
                properties: props.as_object().cloned().unwrap_or_default(),
            },
            schema: None,
            example: None,
        }
    }

    fn q(s: &str) -> Vec<(String, String)> {
        parse_query(s)
    }

    #[test]
    fn scalars_are_coerced_by_schema_type() {
        let p = param(Style::Form, true, Shape::Scalar, &["integer"], &[], json!({}));
        assert_eq!(read_query(&q("p=42"), &p), Some(json!(42)));
        assert_eq!(read_query(&q("p=4x"), &p), Some(json!("4x")));
        assert_eq!(read_query(&q("other=1"), &p), None);
        let big = read_query(&q("p=123456789012345678901"), &p).unwrap();
        assert_eq!(big.to_string(), "123456789012345678901");
        let b = param(Style::Form, true, Shape::Scalar, &["boolean"], &[], json!({}));
        assert_eq!(read_query(&q("p=true"), &b), Some(json!(true)));
    }

    #[test]
    fn form_arrays_explode_or_split() {
        let exploded = param(Style::Form, true, Shape::Array, &[], &["integer"], json!({}));
        assert_eq!(read_query(&q("p=1&p=2&x=3"), &exploded), Some(json!([1, 2])));
        let joined = param(Style::Form, false, Shape::Array, &[], &["string"], json!({}));
        assert_eq!(read_query(&q("p=a,b"), &joined), Some(json!(["a", "b"])));
        let piped = param(Style::PipeDelimited, false, Shape::Array, &[], &["string"], json!({}));
        assert_eq!(read_query(&q("p=a|b"), &piped), Some(json!(["a", "b"])));
        let spaced = param(Style::SpaceDelimited, false, Shape::Array, &[], &["string"], json!({}));
        assert_eq!(read_query(&q("p=a%20b"), &spaced), Some(json!(["a", "b"])));
    }

    #[test]
    fn form_objects_and_deep_objects() {
        let props = json!({"min": ["integer"], "name": ["string"]});
        let exploded = param(Style::Form, true, Shape::Object, &[], &[], props.clone());
        assert_eq!(read_query(&q("min=3&name=x&z=1"), &exploded), Some(json!({"min": 3, "name": "x"})));
        assert!(claims(&exploded, "min") && !claims(&exploded, "z"));
        let joined = param(Style::Form, false, Shape::Object, &[], &[], props.clone());
        assert_eq!(read_query(&q("p=min,3,name,x"), &joined), Some(json!({"min": 3, "name": "x"})));
        let deep = param(Style::DeepObject, true, Shape::Object, &[], &[], props);
        assert_eq!(read_query(&q("p%5Bmin%5D=3&p[name]=x"), &deep), Some(json!({"min": 3, "name": "x"})));
        assert!(claims(&deep, "p[min]"));
    }

    #[test]
    fn deep_object_arrays_take_indexed_and_bare_items() {
        let arr = param(Style::DeepObject, true, Shape::Array, &[], &["string"], json!({}));
        assert_eq!(read_query(&q("p[1]=b&p%5B0%5D=a"), &arr), Some(json!(["a", "b"])));
        assert_eq!(read_query(&q("p[]=a&p[]=b"), &arr), Some(json!(["a", "b"])));
        assert_eq!(read_query(&q("p=a"), &arr), Some(json!(["a"])));
        assert_eq!(read_query(&q("other=a"), &arr), None);
        assert!(claims(&arr, "p[0]"));
    }

    #[test]
    fn values_nested_in_form_objects_and_lists_are_read_as_json_text() {
        let props = json!({"name": ["string"], "options": ["object"]});
        let exploded = param(Style::Form, true, Shape::Object, &[], &[], props);
        let got = read_query(&q("name=x&options=%7B%22a%22%3A1%7D"), &exploded);
        assert_eq!(got, Some(json!({"name": "x", "options": {"a": 1}})));
        let tags = param(Style::Form, true, Shape::Array, &[], &["object"], json!({}));
        assert_eq!(read_query(&q("p=%7B%22Key%22%3A%22k%22%7D&p=%7Bbad"), &tags), Some(json!([{"Key": "k"}, "{bad"])));
        assert_eq!(coerce("[1]", &["string".into(), "array".into()]), json!("[1]"));
    }

    #[test]
    fn simple_style_for_path_and_headers() {
        let arr = param(Style::Simple, false, Shape::Array, &[], &["integer"], json!({}));
        assert_eq!(read_simple("1,2,3", &arr), json!([1, 2, 3]));
        let obj = param(Style::Simple, true, Shape::Object, &[], &[], json!({"a": ["integer"]}));
        assert_eq!(read_simple("a=1,b=x", &obj), json!({"a": 1, "b": "x"}));
        let obj = param(Style::Simple, false, Shape::Object, &[], &[], json!({"a": ["integer"]}));
        assert_eq!(read_simple("a,1,b,x", &obj), json!({"a": 1, "b": "x"}));
        let label = param(Style::Label, false, Shape::Array, &[], &["string"], json!({}));
        assert_eq!(read_path(".a,b", &label), json!(["a", "b"]));
        let matrix = param(Style::Matrix, true, Shape::Array, &[], &["string"], json!({}));
        assert_eq!(read_path(";p=a;p=b", &matrix), json!(["a", "b"]));
    }

    #[test]
    fn plus_is_a_space_in_queries_and_cookies_parse() {
        assert_eq!(parse_query("a=b+c&d=%26"), vec![("a".into(), "b c".into()), ("d".into(), "&".into())]);
        assert_eq!(parse_cookies("a=1; b=\"2\""), vec![("a".into(), "1".into()), ("b".into(), "2".into())]);
    }
}
