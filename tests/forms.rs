//! Form and multipart request bodies over real HTTP: read as clients send them (bracketed keys,
//! encoding styles, typed values), checked against the schema with pointers into the nested
//! result, and stored like a JSON body.

mod common;

use common::{client, json, start, stateful};
use reqwest::StatusCode;
use serde_json::{Value, json};

const FORM: &str = "application/x-www-form-urlencoded";
const BOUNDARY: &str = "specstub-test-boundary";

/// A Stripe-like create: deepObject metadata, a nested address, `expand[]`, a joined list.
const CUSTOMER: &str = "email=jenny%40example.com&name=Jenny+Rosen&balance=-250&tax_exempt=false\
&metadata%5Border%5D=6735&metadata[vip]=true\
&address[line1]=1+Main+St&address[city]=Berlin&address[postal_code]=10115&address[floor]=3\
&expand[]=sources&expand[]=tax_ids&preferred_locales=de,en";

fn pointers(body: &Value) -> Vec<String> {
    common::pointers(body).into_iter().map(|(_, pointer)| pointer).collect()
}

/// One part of a hand-built multipart body: its Content-Disposition parameters, extra header
/// lines, and bytes.
struct Part<'a> {
    disposition: &'a str,
    headers: &'a str,
    body: &'a [u8],
}

fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Disposition: form-data; {}\r\n{}\r\n", p.disposition, p.headers).as_bytes());
        out.extend_from_slice(p.body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

fn upload(file_type: &str, meta: &str, purpose: &str) -> Vec<u8> {
    let file_headers = format!("Content-Type: {file_type}\r\n");
    multipart(&[
        Part { disposition: "name=\"purpose\"", headers: "", body: purpose.as_bytes() },
        Part { disposition: "name=\"file\"; filename=\"avatar.png\"", headers: &file_headers, body: b"\x89PNG\r\n\x1a\n\0\0" },
        Part { disposition: "name=\"meta\"", headers: "Content-Type: application/json\r\n", body: meta.as_bytes() },
        Part { disposition: "name=\"copies\"", headers: "", body: b"2" },
    ])
}

async fn post_multipart(url: &str, body: Vec<u8>) -> reqwest::Response {
    client()
        .post(format!("{url}/v1/files"))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_stripe_like_form_create_with_deep_objects_and_expand_is_accepted() {
    let server = start("forms.yaml").await;

    let r = client().post(format!("{}/v1/customers", server.url())).header("content-type", FORM).body(CUSTOMER).send().await.unwrap();

    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn form_values_that_break_the_schema_are_reported_with_pointers_into_the_nested_body() {
    let server = start("forms.yaml").await;
    let body = "balance=ten&tax_exempt=maybe&address[floor]=third&address[zip]=1&metadata[order]=6735";

    let r = client().post(format!("{}/v1/customers", server.url())).header("content-type", FORM).body(body).send().await.unwrap();

    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let got = pointers(&json(r).await);
    for want in ["/balance", "/tax_exempt", "/address/floor", "/address", ""] {
        assert!(got.iter().any(|p| p == want), "missing {want:?} in {got:?}");
    }
    assert!(!got.iter().any(|p| p.starts_with("/metadata")), "metadata values are strings: {got:?}");
}

#[tokio::test]
async fn a_customer_created_from_a_form_is_stored_and_read_back_as_nested_json() {
    let server = stateful("forms.yaml").start().await.unwrap();
    let (c, base) = (client(), format!("{}/v1/customers", server.url()));

    let created = c.post(&base).header("content-type", FORM).body(CUSTOMER).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = json(created).await;
    let id = created["id"].as_str().unwrap_or_else(|| panic!("an id: {created}")).to_string();
    let fetched = c.get(format!("{base}/{id}")).send().await.unwrap();

    assert_eq!(fetched.status(), StatusCode::OK);
    let record = json(fetched).await;
    assert_eq!(record["email"], "jenny@example.com");
    assert_eq!(record["name"], "Jenny Rosen");
    assert_eq!(record["balance"], -250);
    assert_eq!(record["tax_exempt"], false);
    assert_eq!(record["metadata"], json!({"order": "6735", "vip": "true"}));
    assert_eq!(record["address"], json!({"line1": "1 Main St", "city": "Berlin", "postal_code": "10115", "floor": 3}));
    assert_eq!(record["preferred_locales"], json!(["de", "en"]));
    assert_eq!(record, created);
}

#[tokio::test]
async fn a_multipart_upload_with_a_file_and_a_json_part_is_accepted() {
    let server = start("forms.yaml").await;

    let r = post_multipart(&server.url(), upload("image/png", r#"{"title": "me", "pages": 1}"#, "avatar")).await;

    assert_eq!(r.status(), StatusCode::CREATED, "{}", r.text().await.unwrap());
}

#[tokio::test]
async fn a_stored_upload_keeps_the_file_as_metadata_beside_the_typed_parts() {
    let server = stateful("forms.yaml").start().await.unwrap();

    let created = post_multipart(&server.url(), upload("image/png", r#"{"title": "me"}"#, "avatar")).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created = json(created).await;
    let id = created["id"].as_str().unwrap_or_else(|| panic!("an id: {created}"));
    let fetched = json(client().get(format!("{}/v1/files/{id}", server.url())).send().await.unwrap()).await;

    assert_eq!(fetched["file"], json!({"filename": "avatar.png", "contentType": "image/png", "size": 10}));
    assert_eq!(fetched["meta"], json!({"title": "me"}));
    assert_eq!((fetched["purpose"].clone(), fetched["copies"].clone()), (json!("avatar"), json!(2)));
    assert_eq!(fetched, created);
}

#[tokio::test]
async fn multipart_parts_that_break_the_schema_are_reported_with_pointers() {
    let server = start("forms.yaml").await;

    let r = post_multipart(&server.url(), upload("text/plain", r#"{"pages": "many"}"#, "selfie")).await;

    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let got = pointers(&json(r).await);
    for want in ["/file", "/meta", "/meta/pages", "/purpose"] {
        assert!(got.iter().any(|p| p == want), "missing {want:?} in {got:?}");
    }
}

#[tokio::test]
async fn a_multipart_body_missing_its_file_part_is_reported() {
    let server = start("forms.yaml").await;
    let body = multipart(&[
        Part { disposition: "name=\"purpose\"", headers: "", body: b"avatar" },
        Part { disposition: "name=\"meta\"", headers: "", body: br#"{"title": "t"}"# },
    ]);

    let r = post_multipart(&server.url(), body).await;

    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pointers(&json(r).await), vec![String::new()]);
}

#[tokio::test]
async fn unreadable_multipart_bodies_are_bad_requests() {
    let server = start("forms.yaml").await;
    let url = format!("{}/v1/files", server.url());
    let good = upload("image/png", r#"{"title": "me"}"#, "avatar");
    let cases: Vec<(String, Vec<u8>)> = vec![
        ("multipart/form-data".into(), good.clone()),
        ("multipart/form-data; boundary=other".into(), good.clone()),
        (format!("multipart/form-data; boundary={BOUNDARY}"), good[..good.len() / 2].to_vec()),
        (format!("multipart/form-data; boundary={BOUNDARY}"), upload("image/png", "{not json", "avatar")),
    ];

    for (content_type, body) in cases {
        let r = client().post(&url).header("content-type", &content_type).body(body).send().await.unwrap();

        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{content_type}");
        let problem = json(r).await;
        assert!(problem["errors"][0]["in"] == "body", "{problem}");
    }
}
