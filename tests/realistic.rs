//! `--data realistic` over real HTTP: generated answers read like real data (names, emails,
//! phone numbers, addresses, URLs, uuids, dates around now), the same seed gives the same answers
//! and another seed other ones, stored records are completed the same way, and no answer ever
//! breaks its schema, constrained fields included.

mod common;

use common::{assert_no_violations, builder, client, json, stateful};
use serde_json::Value;
use specstub::{DataMode, Server};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

async fn realistic(seed: u64) -> Server {
    builder("realistic.yaml").data(DataMode::Realistic).seed(seed).start().await.expect("server starts")
}

async fn get(server: &Server, path: &str, dynamic: bool) -> Value {
    let mut request = client().get(format!("{}{path}", server.url()));
    if dynamic {
        request = request.header("prefer", "dynamic=true");
    }
    let r = request.send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    json(r).await
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("no string at {pointer} in {v}"))
}

/// Capitalised words of letters (and the odd apostrophe or hyphen), as names are written.
#[track_caller]
fn assert_name_like(s: &str, words: std::ops::RangeInclusive<usize>) {
    let parts: Vec<&str> = s.split(' ').collect();
    assert!(words.contains(&parts.len()), "{s:?} should have {words:?} words");
    for p in parts {
        let mut chars = p.chars();
        assert!(chars.next().is_some_and(char::is_uppercase), "{s:?} is not capitalised");
        assert!(chars.all(|c| c.is_alphabetic() || c == '\'' || c == '-'), "{s:?} is not a name");
    }
    assert_ne!(s.to_lowercase(), "string");
}

/// An RFC 3339 moment within `years` of now; returns its distance from now in seconds.
#[track_caller]
fn seconds_from_now(s: &str, years: i64) -> i64 {
    let at = OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("{s:?} is no date-time: {e}"));
    let delta = (at - OffsetDateTime::now_utc()).whole_seconds();
    assert!(delta.abs() <= years * 366 * 86_400, "{s} is more than {years} years from now");
    delta
}

#[tokio::test]
async fn generated_answers_read_like_real_people_and_places() {
    // Arrange
    let server = realistic(7).await;
    // Act
    let contact = get(&server, "/contacts/c-1", false).await;
    // Assert
    let email = text(&contact, "/email");
    let (user, domain) = email.split_once('@').unwrap_or_else(|| panic!("{email} has no @"));
    assert!(!user.is_empty() && domain.contains('.') && !domain.starts_with('.'), "{email}");
    assert_ne!(email, "user@example.com");
    assert_name_like(text(&contact, "/name"), 2..=3);
    assert_name_like(text(&contact, "/firstName"), 1..=1);
    assert_name_like(text(&contact, "/last_name"), 1..=2);
    let phone = text(&contact, "/phone");
    assert!(phone.chars().filter(char::is_ascii_digit).count() >= 7, "{phone} is no phone number");
    let website = url::Url::parse(text(&contact, "/website")).expect("the website is a URL");
    assert_eq!(website.scheme(), "https");
    assert!(website.host_str().is_some_and(|h| h.contains('.')), "{website}");
    uuid::Uuid::parse_str(text(&contact, "/id")).expect("the id is a uuid");
    for field in ["street", "city", "postcode", "country"] {
        let v = text(&contact, &format!("/address/{field}"));
        assert!(!v.is_empty() && v != "string", "address {field}: {v:?}");
    }
    assert!(text(&contact, "/address/street").starts_with(|c: char| c.is_ascii_digit()), "a street has a number: {contact}");
    assert!(seconds_from_now(text(&contact, "/createdAt"), 3) < 0, "created in the past: {contact}");
    assert!(seconds_from_now(text(&contact, "/expiresAt"), 3) > 0, "expires in the future: {contact}");
    assert_no_violations(&server).await;
}

#[tokio::test]
async fn the_same_seed_gives_the_same_answers_and_another_seed_other_ones() {
    // Arrange
    let (a, b, other) = (realistic(42).await, realistic(42).await, realistic(43).await);
    let requests = [("/contacts/c-1", false), ("/contacts/c-1/invoices", false), ("/contacts", true), ("/contacts", true)];
    // Act
    let mut answers: Vec<Vec<Value>> = Vec::new();
    for server in [&a, &b, &other] {
        let mut seen = Vec::new();
        for (path, dynamic) in requests {
            seen.push(get(server, path, dynamic).await);
        }
        answers.push(seen);
    }
    // Assert
    assert_eq!(answers[0], answers[1], "one seed, one sequence of answers");
    for (i, (path, _)) in requests.iter().enumerate() {
        assert_ne!(answers[0][i], answers[2][i], "{path}: another seed, other values");
    }
    assert_ne!(answers[0][2], answers[0][3], "each dynamic answer is new");
    assert_eq!(get(&a, "/contacts/c-1", false).await, answers[0][0], "without dynamic the answer stays the same");
}

#[tokio::test]
async fn every_generated_answer_stays_within_its_schema() {
    // Arrange: self-check is on; invoices carry a pattern, an enum, maxLength 3, minimum 100...
    let server = realistic(3).await;
    let pattern = regex_like_invoice_number;
    // Act
    for round in 0..15 {
        let dynamic = round % 3 != 0;
        get(&server, "/contacts/c-1", dynamic).await;
        get(&server, "/contacts", dynamic).await;
        let invoices = get(&server, "/contacts/c-1/invoices", dynamic).await;
        // Assert
        for invoice in invoices.as_array().expect("an array") {
            assert!(pattern(text(invoice, "/number")), "{invoice}");
            assert!(text(invoice, "/code").chars().count() <= 3, "{invoice}");
            assert!(["draft", "sent", "paid"].contains(&text(invoice, "/status")), "{invoice}");
            assert_eq!(text(invoice, "/currency").chars().count(), 3, "{invoice}");
            assert!(invoice["quantity"].as_i64().is_some_and(|q| q >= 100), "{invoice}");
            assert!(invoice["amount"].as_f64().is_some_and(|a| (10.0..=20.0).contains(&a)), "{invoice}");
            assert!(text(invoice, "/title").chars().count() <= 12, "{invoice}");
            if let Some(notes) = invoice["notes"].as_str() {
                assert!(notes.chars().count() >= 300, "{invoice}");
            }
        }
    }
    let (answers, _) = common::self_check(&server).await;
    assert_eq!(answers, 45, "every answer was checked");
    assert_no_violations(&server).await;
}

/// `^INV-[0-9]{6}$`, without a regex engine in the tests.
fn regex_like_invoice_number(s: &str) -> bool {
    s.strip_prefix("INV-").is_some_and(|d| d.len() == 6 && d.chars().all(|c| c.is_ascii_digit()))
}

#[tokio::test]
async fn created_records_are_completed_with_realistic_values_each_their_own() {
    // Arrange
    let server = stateful("realistic.yaml").data(DataMode::Realistic).seed(5).start().await.unwrap();
    let url = format!("{}/contacts", server.url());
    // Act
    let mut created = Vec::new();
    for email in ["ada@example.net", "alan@example.net"] {
        let r = client().post(&url).json(&serde_json::json!({"email": email})).send().await.unwrap();
        assert_eq!(r.status(), 201);
        created.push(json(r).await);
    }
    // Assert
    for record in &created {
        assert_name_like(text(record, "/name"), 2..=3);
        assert!(!text(record, "/company").is_empty() && text(record, "/company") != "string", "{record}");
        assert!(seconds_from_now(text(record, "/expiresAt"), 3) > 0, "{record}");
    }
    assert_ne!(created[0]["name"], created[1]["name"], "two records, two people");
    let id = text(&created[0], "/id");
    let read = get(&server, &format!("/contacts/{id}"), false).await;
    assert_eq!(read["name"], created[0]["name"], "what was stored is what is read");
    assert_no_violations(&server).await;
}

#[tokio::test]
async fn without_the_flag_generated_answers_keep_their_placeholders() {
    let server = builder("realistic.yaml").seed(7).start().await.unwrap();
    let contact = get(&server, "/contacts/c-1", false).await;
    assert_eq!(contact["name"], "string");
    assert_no_violations(&server).await;
}
