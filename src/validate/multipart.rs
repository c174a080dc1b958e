//! Reads `multipart/form-data` bodies into the same typed JSON tree as form bodies: text parts
//! are typed like form fields, JSON parts are parsed, and file parts become
//! `{"filename", "contentType", "size"}` records for the store and the journal. Files are
//! checked on their own (a file where the schema wants one, of a declared media type) and stand
//! in as strings for the schema validator, whose string keywords say nothing useful about bytes.

use std::collections::HashSet;
use std::convert::Infallible;

use bytes::Bytes;
use futures_util::FutureExt;
use serde_json::Value;

use super::form::{Entries, Node, Typer, insert, split_name};
use super::{Found, Location, Rejection, Violation, malformed};
use crate::negotiate;
use crate::spec::{Spec, model::Media, walk::Flow};

/// Parses and (when `validate`) checks a multipart body; what is wrong with readable input goes
/// to `out`, unreadable input is a 400.
pub fn body(raw: &[u8], content_type: &str, media: &Media, spec: &Spec, out: &mut Found, validate: bool) -> Result<Value, Rejection> {
    let doc = spec.schemas.doc(Flow::Request);
    let schema = media.schema.as_ref().and_then(|s| s.schema(&spec.schemas));
    let entries = read_parts(raw, content_type, schema, doc)?;
    let mut typer = Typer::new(doc, false);
    let stored = typer.root(entries, schema, &media.encoding);
    if !typer.unreadable.is_empty() {
        let found = typer.unreadable.into_iter().map(|(pointer, message)| Violation { location: Location::Body, pointer, message });
        return Err(Rejection::Malformed(found.collect()));
    }
    if !validate {
        return Ok(stored);
    }
    for f in &typer.files {
        if !f.types.is_empty() && !f.types.iter().any(|t| t == "string") {
            out.push(violation(&f.pointer, format!("a file was sent where {} is expected", f.types.join(" or "))));
        }
        if let (Some(accepts), Some(actual)) = (&f.accepts, &f.content_type)
            && !accepts.split(',').any(|range| negotiate::covers(range.trim(), actual))
        {
            out.push(violation(&f.pointer, format!("a file of type {actual:?} is not accepted here; send {accepts}")));
        }
    }
    if let Some(schema) = &media.schema {
        // Each file stands in as an empty string; what the validator says at its place is
        // replaced by the file checks above.
        let mut probe = stored.clone();
        let at_files: HashSet<&str> = typer.files.iter().map(|f| f.pointer.as_str()).collect();
        for f in &typer.files {
            if let Some(slot) = probe.pointer_mut(&f.pointer) {
                *slot = Value::String(String::new());
            }
        }
        out.schema(spec, schema, &probe, Location::Body, "", &|at| at_files.contains(at));
    }
    Ok(stored)
}

fn violation(pointer: &str, message: String) -> Violation {
    Violation { location: Location::Body, pointer: pointer.to_string(), message }
}

/// The parts, by name (bracketed names nest as in form bodies).
fn read_parts(raw: &[u8], content_type: &str, schema: Option<&Value>, doc: &Value) -> Result<Entries, Rejection> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| malformed(format!("Content-Type {content_type:?} has no usable boundary parameter for a multipart body")))?;
    let data = Bytes::copy_from_slice(raw);
    let stream = futures_util::stream::once(async move { Ok::<Bytes, Infallible>(data) });
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut root = Entries::default();
    // The whole body is already in memory, so every step is ready at once: polled once, a
    // pending step could only mean a parser waiting for bytes that will never come.
    let unfinished = || malformed("the multipart body ends before its closing boundary".into());
    loop {
        let field = match parts.next_field().now_or_never().ok_or_else(unfinished)? {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(malformed(format!("malformed multipart body: {e}"))),
        };
        let Some(name) = field.name().map(String::from) else {
            return Err(malformed("a multipart part has no name in its Content-Disposition".into()));
        };
        let filename = field.file_name().map(String::from);
        let part_type = field.content_type().map(ToString::to_string);
        let data = match field.bytes().now_or_never().ok_or_else(unfinished)? {
            Ok(d) => d,
            Err(e) => return Err(malformed(format!("malformed multipart body in part {name:?}: {e}"))),
        };
        let (top, segs) = split_name(&name, schema, doc);
        insert(&mut root, &top, &segs, Node::Part { data, filename, content_type: part_type });
    }
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::Encoding;
    use serde_json::json;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    fn multipart(parts: &[(&str, &str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (disposition, headers, body) in parts {
            out.extend_from_slice(format!("--XyZ\r\nContent-Disposition: form-data; {disposition}\r\n{headers}\r\n{body}\r\n").as_bytes());
        }
        out.extend_from_slice(b"--XyZ--\r\n");
        out
    }

    fn typed(raw: &[u8], schema: &Value, encoding: &[(String, Encoding)]) -> Result<(Value, Typer<'static>), Rejection> {
        let doc: &'static Value = Box::leak(Box::new(json!({})));
        let schema: &'static Value = Box::leak(Box::new(schema.clone()));
        let entries = read_parts(raw, CT, Some(schema), doc)?;
        let mut typer = Typer::new(doc, false);
        let v = typer.root(entries, Some(schema), encoding);
        Ok((v, typer))
    }

    #[test]
    fn text_parts_are_typed_json_parts_parsed_and_files_kept_as_metadata() {
        let schema = json!({"properties": {
            "count": {"type": "integer"}, "meta": {"type": "object"}, "note": {"type": "string"},
            "file": {"type": "string", "format": "binary"}
        }});
        let body = multipart(&[
            ("name=\"count\"", "", "3"),
            ("name=\"meta\"", "Content-Type: application/json\r\n", "{\"a\": [1]}"),
            ("name=\"note\"", "", "12"),
            ("name=\"file\"; filename=\"a.png\"", "Content-Type: image/png\r\n", "\u{1}PNG"),
        ]);
        let (v, typer) = typed(&body, &schema, &[]).unwrap();
        assert_eq!(
            v,
            json!({"count": 3, "meta": {"a": [1]}, "note": "12", "file": {"filename": "a.png", "contentType": "image/png", "size": 4}})
        );
        assert_eq!(typer.files.len(), 1);
        assert_eq!(typer.files[0].pointer, "/file");
    }

    #[test]
    fn an_object_part_without_content_type_defaults_to_json() {
        let schema = json!({"properties": {"meta": {"type": "object"}}});
        let (v, _) = typed(&multipart(&[("name=\"meta\"", "", "{\"k\": true}")]), &schema, &[]).unwrap();
        assert_eq!(v, json!({"meta": {"k": true}}));
    }

    #[test]
    fn repeated_and_bracketed_parts_nest_like_form_fields() {
        let schema = json!({"properties": {"tags": {"type": "array", "items": {"type": "integer"}}, "files": {"type": "array", "items": {"type": "string", "format": "binary"}}}});
        let body = multipart(&[
            ("name=\"tags[]\"", "", "1"),
            ("name=\"tags[]\"", "", "2"),
            ("name=\"files\"; filename=\"a\"", "", "x"),
            ("name=\"files\"; filename=\"b\"", "", "yy"),
        ]);
        let encoding = [("files".to_string(), Encoding { content_type: Some("text/plain".into()), ..Encoding::default() })];
        let (v, typer) = typed(&body, &schema, &encoding).unwrap();
        assert!(typer.files.iter().all(|f| f.accepts.as_deref() == Some("text/plain")), "{:?}", typer.files);
        assert_eq!(v["tags"], json!([1, 2]));
        assert_eq!(v["files"][1], json!({"filename": "b", "contentType": "application/octet-stream", "size": 2}));
        assert_eq!(typer.files.iter().map(|f| f.pointer.as_str()).collect::<Vec<_>>(), vec!["/files/0", "/files/1"]);
    }

    #[test]
    fn a_declared_json_encoding_wins_and_bad_json_is_unreadable() {
        let schema = json!({"properties": {"meta": {}}});
        let encoding = [("meta".to_string(), Encoding { content_type: Some("application/json".into()), ..Encoding::default() })];
        let (v, _) = typed(&multipart(&[("name=\"meta\"; filename=\"m.json\"", "", "[1,2]")]), &schema, &encoding).unwrap();
        assert_eq!(v, json!({"meta": [1, 2]}));
        let (_, typer) = typed(&multipart(&[("name=\"meta\"", "", "{nope")]), &schema, &encoding).unwrap();
        assert_eq!(typer.unreadable[0].0, "/meta");
    }

    #[test]
    fn a_missing_boundary_or_broken_body_is_malformed_not_a_panic() {
        let doc = json!({});
        assert!(matches!(read_parts(b"x", "multipart/form-data", None, &doc), Err(Rejection::Malformed(_))));
        for broken in [&b"garbage"[..], b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated", b""] {
            assert!(matches!(read_parts(broken, CT, None, &doc), Err(Rejection::Malformed(_))), "{:?}", String::from_utf8_lossy(broken));
        }
        let nameless = b"--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--\r\n";
        assert!(matches!(read_parts(nameless, CT, None, &doc), Err(Rejection::Malformed(_))));
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::fuzz::{config, json, mutate, mutation, nasty_string, within};
    use crate::spec::model::{Encoding, Style};
    use proptest::prelude::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"properties": {
            "count": {"type": "integer"}, "ratio": {"type": "number", "format": "float"}, "meta": {"type": "object"},
            "tags": {"type": "array", "items": {"type": "integer"}}, "file": {"type": "string", "format": "binary"},
            "files": {"type": "array", "items": {"type": "string", "contentMediaType": "image/png"}}
        }})
    }

    fn part() -> impl Strategy<Value = (String, String, String)> {
        let name = prop_oneof![
            prop::sample::select(vec!["count", "ratio", "meta", "tags[]", "tags[0]", "file", "files", "meta[a][b]"]).prop_map(String::from),
            nasty_string(),
        ];
        let disposition = (name, prop::option::of(nasty_string())).prop_map(|(n, f)| match f {
            Some(f) => format!("name=\"{n}\"; filename=\"{f}\""),
            None => format!("name=\"{n}\""),
        });
        let headers =
            prop::sample::select(vec!["", "Content-Type: application/json\r\n", "Content-Type: image/png\r\n", "Content-Type: ;;\r\n"]);
        let body = prop_oneof![nasty_string(), json().prop_map(|v| v.to_string())];
        (disposition, headers.prop_map(String::from), body)
    }

    fn body(parts: &[(String, String, String)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (disposition, headers, body) in parts {
            out.extend_from_slice(format!("--XyZ\r\nContent-Disposition: form-data; {disposition}\r\n{headers}\r\n{body}\r\n").as_bytes());
        }
        out.extend_from_slice(b"--XyZ--\r\n");
        out
    }

    /// Reads and types `raw` as `body` does, within the deadline.
    fn read(raw: Vec<u8>, content_type: String, encoding: Vec<(String, Encoding)>) -> Result<Value, Rejection> {
        within("multipart", move || {
            let (doc, schema) = (json!({}), schema());
            let entries = read_parts(&raw, &content_type, Some(&schema), &doc)?;
            let mut typer = Typer::new(&doc, false);
            Ok(typer.root(entries, Some(&schema), &encoding))
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_multipart_body_is_read_or_refused_never_a_panic(
            parts in prop::collection::vec(part(), 0..8),
            mutations in prop::collection::vec(mutation(), 0..4),
            json_meta in any::<bool>(),
        ) {
            let encoding = if json_meta {
                vec![("meta".to_string(), Encoding { content_type: Some("application/json".into()), style: Style::Form, explode: true, allow_reserved: false })]
            } else {
                Vec::new()
            };
            let _ = read(mutate(body(&parts), &mutations), "multipart/form-data; boundary=XyZ".into(), encoding);
        }

        #[test]
        fn any_content_type_or_bytes_are_an_answer(content_type in ".{0,40}", raw in prop::collection::vec(any::<u8>(), 0..96)) {
            let _ = read(raw.clone(), content_type, Vec::new());
            let _ = read(raw, "multipart/form-data; boundary=XyZ".into(), Vec::new());
        }
    }
}
