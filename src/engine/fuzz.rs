//! A property test of the whole request path: random requests (methods, paths near the served
//! ones, queries, headers, `Prefer`, sessions, bodies of every kind) through every stage, over
//! every compiled test document with its memory store. Each gets an answer within the deadline,
//! and an answer that says it is JSON is JSON.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{HeaderValue, Request};
use proptest::prelude::*;
use proptest::sample::Index;

use super::handle;
use crate::config::Config;
use crate::fuzz::{config, mutation, nasty_string, within};
use crate::plan::build;
use crate::plan::fuzz::{METHODS, any_body, content_type, header_name, near_path, seed_paths};
use crate::runtime::{Generation, Runtime};

fn served() -> &'static [(Arc<Generation>, Runtime)] {
    static SERVED: OnceLock<Vec<(Arc<Generation>, Runtime)>> = OnceLock::new();
    SERVED.get_or_init(|| {
        seed_paths()
            .into_iter()
            .filter_map(|path| build(Config { specs: vec![path], ..Config::default() }).ok())
            .filter_map(|(api, _)| Runtime::open(api).ok().map(|rt| (rt.plan(), rt)))
            .collect()
    })
}

fn prefer() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "code=200",
            "code=404",
            "code=999",
            "code=x",
            "example=nope",
            "dynamic=true",
            "dynamic=false",
            "latency=1ms",
            "latency=-1",
            "fault=reset",
            "fault=500",
            "fault=stall",
            "return=minimal",
            "",
        ])
        .prop_map(String::from),
        nasty_string(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_request_gets_an_answer_and_json_answers_are_json(
        which in any::<Index>(),
        op in any::<Index>(),
        method in prop::sample::select(METHODS),
        fill in prop::collection::vec(nasty_string(), 1..4),
        mutations in prop::collection::vec(mutation(), 0..2),
        query in prop::option::of(".{0,40}"),
        headers in prop::collection::vec((header_name(), nasty_string()), 0..4),
        prefer in prop::option::of(prefer()),
        session in prop::option::of("[a-z0-9-]{0,8}"),
        content_type in prop::option::of(content_type()),
        body in any_body(),
    ) {
        within("engine::handle", move || {
            let (plan, rt) = which.get(served());
            let api = &plan.api;
            let path = near_path(api, op, &fill, &mutations);
            let uri = match &query {
                Some(q) => format!("{path}?{}", percent_encoding::utf8_percent_encode(q, percent_encoding::CONTROLS)),
                None => path,
            };
            let mut req = Request::builder().method(method).uri(uri.as_str()).header("host", "mock.test");
            for (k, v) in headers.iter().chain(prefer.iter().map(|p| ("prefer".to_string(), p.clone())).collect::<Vec<_>>().iter()) {
                if let (Ok(k), Ok(v)) = (http::HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
                    req = req.header(k, v);
                }
            }
            if let Some(s) = &session {
                req = req.header(crate::headers::SESSION, s.as_str());
            }
            if let Some(ct) = content_type.as_deref().and_then(|ct| HeaderValue::from_str(ct).ok()) {
                req = req.header(http::header::CONTENT_TYPE, ct);
            }
            // A URI that `http` refuses never reaches the engine: hyper answers it 400 first.
            let Ok(req) = req.body(Bytes::from(body)) else { return };
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let response = runtime.block_on(handle(plan, rt, req, None));
            let is_json = response.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.contains("json"));
            if is_json && !response.body().is_empty() {
                let parsed = serde_json::from_slice::<serde_json::Value>(response.body());
                assert!(parsed.is_ok(), "{} {uri}: {} answered as JSON: {:?}", method, response.status(), String::from_utf8_lossy(response.body()));
            }
        });
    }
}
