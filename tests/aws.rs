//! AWS-shaped documents (the shapes of the public corpus's `amazonaws.com/*.json`): specstub
//! serves each, statefully and from the spec alone, and `verify` finds 0 failures against it, with
//! the same verdicts at any concurrency and on a second run; the query protocol routes by
//! `?Action=`, reads maps and nested objects from the query, and answers XML written from the
//! schema.

mod common;

use specstub::{Config, VerifyOptions as Options, verify_provider};

const DOCS: [&str; 3] = ["aws-query.yaml", "aws-json.yaml", "aws-rest-xml.yaml"];

async fn verify(server: &specstub::Server, doc: &str, concurrency: usize) -> specstub::Report {
    let set = Config { specs: vec![common::data(doc)], ..Default::default() };
    let mut options = Options::new(server.url());
    options.concurrency = concurrency;
    verify_provider(&set, &options).await.expect("verify runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_passes_served_statefully_at_any_concurrency_and_twice() {
    for doc in DOCS {
        let mut runs = Vec::new();
        for concurrency in [1, 4] {
            let server = common::stateful(doc).start().await.expect("serves");
            let first = verify(&server, doc, concurrency).await;
            let again = verify(&server, doc, concurrency).await;
            let text = first.to_text();
            assert_eq!(first.summary.passed, first.summary.operations, "{doc} at --concurrency {concurrency}:\n{text}");
            assert_eq!(common::verdict_sources(&first), common::verdict_sources(&again), "{doc}, second run:\n{text}\n{}", again.to_text());
            common::assert_no_violations(&server).await;
            runs.push(common::verdict_sources(&first));
        }
        assert_eq!(runs[0], runs[1], "{doc}: --concurrency 1 and 4 differ");
    }
}

#[tokio::test]
async fn every_operation_passes_answered_from_the_spec() {
    for doc in DOCS {
        let server = common::start(doc).await;
        let result = verify(&server, doc, 2).await;
        assert_eq!(result.summary.passed, result.summary.operations, "{doc}:\n{}", result.to_text());
        common::assert_no_violations(&server).await;
    }
}

/// The operation is the `Action` parameter; a map takes the keys no other parameter claims, and
/// a nested object comes as JSON text; the answer is XML with the schema's element names.
#[tokio::test]
async fn the_query_protocol_routes_by_action_and_answers_xml() {
    let server = common::start("aws-query.yaml").await;
    let get = |query: &str| common::client().get(format!("{}/?{query}", server.url())).send();
    let created = get("Action=CreateQueue&Version=2012-11-05&QueueName=jobs&color=red&Options=%7B%22MaxReceives%22%3A3%7D&Target=dlq")
        .await
        .expect("answers");
    assert_eq!(created.status(), 200);
    assert_eq!(created.headers()["content-type"], "text/xml");
    let text = created.text().await.unwrap();
    assert!(text.contains("<CreateQueueResult>") && text.contains("<Fifo>"), "{text}");

    let listed = get("Action=ListQueues&Version=2012-11-05").await.expect("answers").text().await.unwrap();
    assert!(listed.contains("<QueueUrl>") && !listed.contains("<QueueUrls>"), "an unwrapped list repeats its items: {listed}");

    let nested_wrong = get("Action=CreateQueue&Version=2012-11-05&QueueName=jobs&a=b&Target=dlq&Options=%7B%22MaxReceives%22%3A%22x%22%7D")
        .await
        .expect("answers");
    // CreateQueue declares one client error, 480: a refusal is sent with it (never an undeclared
    // 422), and the violation still names the field.
    assert_eq!(nested_wrong.status(), 480);
    let why = nested_wrong.headers().get("specstub-violations").map(|v| v.to_str().unwrap().to_string());
    let text = nested_wrong.text().await.unwrap();
    assert!(text.contains("/Redrive/Options/MaxReceives") || why.as_deref().is_some_and(|w| w.contains("MaxReceives")), "{text} {why:?}");

    let no_map = get("Action=CreateQueue&Version=2012-11-05&QueueName=jobs").await.expect("answers");
    assert_eq!(no_map.status(), 480, "the required map has no key");
    let other = get("Action=ListQueues&Version=2012-11-05&Bogus=1").await.expect("answers");
    assert!(other.status().is_client_error(), "an operation without a map still refuses unknown keys: {}", other.status());
}
