//! The web dashboard in a real browser: headless Chromium driven through chromedriver
//! (WebDriver), against a real server. The page lists the operations, shows a request that
//! breaks the spec in its live log with the violation's pointer, and resets the store with a
//! click; with an admin token it takes the token from the URL fragment. It prints the page's
//! weight and its load time (Navigation Timing); with `SPECSTUB_SCREENSHOT=1` it writes
//! docs/img/dashboard.png.
//!
//! Without chromium and chromedriver the tests say they were skipped and pass, except when the
//! CI variable is set, where their absence is a failure (`.ci/run` installs them).

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{client, data, json};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Every wait in the browser is a poll with this bound.
const WAIT: Duration = Duration::from_secs(10);

/// A chromedriver of this test's own on a free port, shut down (with its browsers) on drop,
/// then the browsers' profiles removed.
struct Driver {
    child: Child,
    url: String,
    port: u16,
    chromium: PathBuf,
    profiles: std::sync::Mutex<Vec<TempDir>>,
}

fn find(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).flat_map(|dir| names.iter().map(move |n| dir.join(n))).find(|p| p.is_file())
}

impl Driver {
    /// A running chromedriver, or None (after saying so) when chromium or chromedriver is missing.
    fn start() -> Option<Self> {
        let (Some(driver), Some(chromium)) = (find("CHROMEDRIVER", &["chromedriver"]), find("CHROMIUM", &["chromium", "chromium-browser"]))
        else {
            // CI must run these tests, so a missing browser there is a failure, not a skip.
            assert!(
                std::env::var_os("CI").is_none(),
                "chromium or chromedriver is not installed and CI is set: apt-get install -y chromium chromium-driver"
            );
            eprintln!("skipped: chromium or chromedriver not installed (apt-get install -y chromium chromium-driver)");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
        let child = Command::new(&driver)
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", driver.display()));
        let d = Driver { child, url: format!("http://127.0.0.1:{port}"), port, chromium, profiles: Default::default() };
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on port {port} within {WAIT:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(d)
    }

    /// A headless Chromium session with a fresh profile.
    async fn browser(&self) -> Client {
        let dir = TempDir::new();
        let profile = dir.0.clone();
        self.profiles.lock().unwrap().push(dir);
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1440,1000",
            &format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({"goog:chromeOptions": {"binary": self.chromium, "args": args}});
        let caps = caps.as_object().cloned().unwrap();
        let connect =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new()).capabilities(caps).connect(&self.url).await;
        connect.unwrap_or_else(|e| panic!("no WebDriver session from {}: {e}", self.url))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver's /shutdown quits the browsers it started (a kill would orphan them).
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            use std::io::{Read, Write};
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = s.write_all(b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            let _ = s.read_to_end(&mut Vec::new());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh, empty directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("specstub-chromium-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn element(b: &Client, css: &str) -> fantoccini::elements::Element {
    b.wait().at_most(WAIT).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("no {css:?} within {WAIT:?}: {e}"))
}

/// Waits until `css` holds an element whose text contains `text`.
async fn text_in(b: &Client, css: &str, text: &str) -> fantoccini::elements::Element {
    let xpath = css_text_xpath(css, text);
    match b.wait().at_most(WAIT).for_element(Locator::XPath(&xpath)).await {
        Ok(e) => e,
        Err(e) => {
            let page = b.source().await.unwrap_or_default();
            panic!("no {css:?} with text {text:?} within {WAIT:?}: {e}\n{page}")
        }
    }
}

/// `#id` or `#id tag` with the given text, as XPath.
fn css_text_xpath(css: &str, text: &str) -> String {
    let mut parts = css.split_whitespace();
    let id = parts.next().and_then(|p| p.strip_prefix('#')).expect("an #id selector");
    let tail: String = parts.map(|t| format!("//{t}")).collect();
    format!("//*[@id='{id}']{tail}[contains(normalize-space(.), '{text}')]")
}

/// The current page's load time in ms (Navigation Timing: start to the end of the load event).
async fn load_time(b: &Client) -> f64 {
    let script =
        "const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd > 0 ? n.loadEventEnd - n.startTime : null;";
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(ms) = b.execute(script, vec![]).await.unwrap().as_f64() {
            return ms;
        }
        assert!(Instant::now() < deadline, "the page's load event did not end within {WAIT:?}");
        tokio::task::yield_now().await;
    }
}

/// The page's weight (HTML + CSS + JS bytes, as served) over HTTP.
async fn page_weight(admin: &str) -> usize {
    let mut total = 0;
    for path in ["/", "/dashboard.css", "/dashboard.js"] {
        let r = client().get(format!("{admin}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        total += r.bytes().await.unwrap().len();
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_lists_operations_shows_violations_live_and_resets_the_store() {
    let Some(driver) = Driver::start() else { return };
    let server = common::stateful("orders.yaml").fixtures(data("fixtures")).start().await.expect("server starts");
    let (c, url) = (client(), server.url());
    let admin = format!("{url}/__specstub");
    let b = driver.browser().await;

    // The page loads and lists the operations, each with how it is answered and a curl line.
    b.goto(&format!("{admin}/")).await.unwrap();
    let row = element(&b, "#ops tr[data-op='createOrder']").await;
    let text = row.text().await.unwrap();
    assert!(text.contains("POST") && text.contains("/orders") && text.contains("stateful: orders create"), "{text}");
    assert!(row.attr("title").await.unwrap().unwrap_or_default().starts_with(&format!("curl -X POST '{url}/orders'")));
    let first = load_time(&b).await;
    // Again in the same browser: the figure without the browser's own start-up.
    b.refresh().await.unwrap();
    element(&b, "#ops tr[data-op='createOrder']").await;
    let again = load_time(&b).await;
    let weight = page_weight(&admin).await;
    println!(
        "dashboard: page weight {weight} bytes (HTML+CSS+JS); load (Navigation Timing loadEventEnd) {first:.1} ms first, {again:.1} ms reloaded"
    );

    // A valid request and one that breaks the spec (quantity below its minimum) appear in the
    // live log, the second with its violation's pointer.
    let ok = c.post(format!("{url}/orders")).json(&json!({"order": {"item": "pen", "quantity": 3}})).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    let bad = c.post(format!("{url}/orders")).json(&json!({"order": {"item": "cup", "quantity": 0}})).send().await.unwrap();
    assert!(bad.status().is_client_error(), "{}", bad.status());
    let violation = text_in(&b, "#entries td div", "/order/quantity").await;
    assert!(violation.text().await.unwrap().contains("body"), "the pointer's location is shown");
    let entry = text_in(&b, "#entries tr", "/order/quantity").await;
    let row_text = entry.text().await.unwrap();
    assert!(row_text.contains("invalid") && row_text.contains("createOrder"), "{row_text}");

    // Clicking the row shows the request in full: the body sent and every violation's message.
    entry.click().await.unwrap();
    let detail = text_in(&b, "#detail", "Violations").await.text().await.unwrap();
    assert!(detail.contains("\"cup\"") && detail.contains("/order/quantity"), "{detail}");

    // The filters keep only what they name.
    b.find(Locator::Id("f-status")).await.unwrap().send_keys("2xx").await.unwrap();
    b.wait()
        .at_most(WAIT)
        .for_element(Locator::XPath("//*[@id='log-count'][contains(., '1 shown of 2')]"))
        .await
        .expect("one 2xx request of two");
    b.find(Locator::Id("f-status")).await.unwrap().clear().await.unwrap();

    // The store shows the new record with its version and ETag.
    element(&b, "#collections li[data-collection='orders']").await.click().await.unwrap();
    text_in(&b, "#records tr", "W/\"1\"").await;
    let ids =
        |list: Value| list["orders"].as_array().unwrap().iter().map(|o| o["orderId"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(ids(json(c.get(format!("{url}/orders")).send().await.unwrap()).await).len(), 3);

    if std::env::var_os("SPECSTUB_SCREENSHOT").is_some() {
        // The whole page in one picture: a window as tall as the page, scrolled to the top.
        let height: Value = b.execute("window.scrollTo(0, 0); return document.documentElement.scrollHeight;", vec![]).await.unwrap();
        b.set_window_size(1440, height.as_u64().unwrap_or(1000).clamp(600, 2400) as u32 + 140).await.unwrap();
        let png = b.screenshot().await.unwrap();
        let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/img/dashboard.png");
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        std::fs::write(&out, png).unwrap();
        println!("dashboard: screenshot written to {}", out.display());
    }

    let asked: Value = b
        .execute(
            "const bar = document.getElementById('token-bar'); return getComputedStyle(bar).display === 'none' ? null : bar.textContent;",
            vec![],
        )
        .await
        .unwrap();
    assert!(asked.is_null(), "without an admin token the page never asks for one: {asked}");

    // Reset from the page: the store is back to its fixtures.
    b.find(Locator::Id("reset-all")).await.unwrap().click().await.unwrap();
    text_in(&b, "#toast", "Reset everything").await;
    assert_eq!(ids(json(c.get(format!("{url}/orders")).send().await.unwrap()).await), ["seed-1", "seed-2"]);
    b.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_admin_token_the_page_opens_and_its_calls_carry_the_token() {
    let Some(driver) = Driver::start() else { return };
    let server = common::stateful("orders.yaml").fixtures(data("fixtures")).admin_token("s3cret").start().await.expect("server starts");
    let admin = format!("{}/__specstub", server.url());
    // The page itself opens without the token (it holds no data); the data does not.
    assert_eq!(client().get(&admin).send().await.unwrap().status(), 200);
    assert_eq!(client().get(format!("{admin}/operations")).send().await.unwrap().status(), 401);
    let b = driver.browser().await;

    // Without the token the page asks for it; once typed in, the data loads.
    b.goto(&admin).await.unwrap();
    let field =
        b.wait().at_most(WAIT).for_element(Locator::Css("#token-bar:not([hidden]) #token")).await.expect("the page asks for the token");
    field.send_keys("s3cret").await.unwrap();
    b.find(Locator::Css("#token-bar button")).await.unwrap().click().await.unwrap();
    element(&b, "#ops tr[data-op='listOrders']").await;

    // In a new tab's storage, the token comes from the fragment, which then leaves the address bar.
    let b2 = driver.browser().await;
    b2.goto(&format!("{admin}/#token=s3cret")).await.unwrap();
    element(&b2, "#ops tr[data-op='listOrders']").await;
    assert!(!b2.current_url().await.unwrap().as_str().contains("s3cret"), "the token stays out of the address bar");
    b2.close().await.unwrap();
    b.close().await.unwrap();
}

#[tokio::test]
async fn the_operations_route_says_how_each_operation_is_answered_and_what_traffic_rules_apply() {
    // No browser needed: the JSON the dashboard's first table is built from.
    let server = common::start("traffic.yaml").await;
    let ops = json(client().get(format!("{}/__specstub/operations", server.url())).send().await.unwrap()).await;
    let by_id =
        |id: &str| ops.as_array().unwrap().iter().find(|o| o["operationId"] == id).cloned().unwrap_or_else(|| panic!("no {id} in {ops}"));
    let quota = by_id("getQuota");
    assert_eq!((quota["method"].as_str(), quota["path"].as_str()), (Some("GET"), Some("/api/quota")));
    assert_eq!(quota["answer"], json!({"kind": "example", "example": "default"}));
    assert_eq!(quota["rateLimit"], "2/1s,name=quota");
    assert_eq!(by_id("getSlow")["latency"], json!({"value": "200ms..250ms", "from": "spec"}));
    assert_eq!(by_id("getFlaky")["faults"], json!([{"fault": "503", "rate": 1.0}]));
    assert_eq!(by_id("listItems")["rateLimit"], "1000/1s,name=global", "the document-wide limit applies where none is declared");
    assert_eq!(by_id("getOpen")["rateLimit"], Value::Null, "rateLimit: false lifts it");

    let stateful = common::stateful("orders.yaml").start().await.unwrap();
    let ops = json(client().get(format!("{}/__specstub/operations", stateful.url())).send().await.unwrap()).await;
    let create = ops.as_array().unwrap().iter().find(|o| o["operationId"] == "createOrder").unwrap();
    assert_eq!(create["answer"], json!({"kind": "stateful", "resource": "orders", "action": "create"}));
    assert_eq!(create["requestBody"]["mediaType"], "application/json");
}
