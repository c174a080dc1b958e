//! The outgoing HTTP client of `verify`, the validating proxy and the document loader:
//! hyper-util's pooled client over plain TCP (`http://`) or rustls (`https://`, HTTP/1.1 and
//! HTTP/2 by ALPN). Trusted roots are the Mozilla set, plus the PEM certificates of
//! `SSL_CERT_FILE` when it is set (a private CA of a staging environment). [`Fetcher`] is the
//! synchronous side: loading documents is not async, and may run inside a runtime.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Largest answer read from a provider (bigger ones are an error, not a hang).
pub const MAX_RESPONSE: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// No answer within the timeout.
    Timeout(Duration),
    /// The connection or the exchange failed; the text has the whole cause chain.
    Failed(String),
    /// The answer was larger than [`MAX_RESPONSE`].
    TooLarge,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Timeout(d) => write!(f, "no answer within {}", seconds(*d)),
            SendError::Failed(e) => f.write_str(e),
            SendError::TooLarge => write!(f, "the answer is larger than {} MiB", MAX_RESPONSE / (1024 * 1024)),
        }
    }
}

/// A pooled client; cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A new client. A certificate file named by `SSL_CERT_FILE` that cannot be read is logged and
    /// skipped: the Mozilla roots still apply.
    pub fn new() -> Self {
        let mut roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = std::env::var_os("SSL_CERT_FILE") {
            add_pem_roots(&mut roots, std::path::Path::new(&path));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|_| rustls::ClientConfig::builder_with_protocol_versions(rustls::DEFAULT_VERSIONS));
        let tls = builder.with_root_certificates(roots).with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(Duration::from_secs(10)));
        let https =
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_all_versions().wrap_connector(tcp);
        let inner = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(https);
        Self { inner }
    }

    /// Sends `req` (its URI absolute) and reads the whole answer, within `timeout`.
    pub async fn send(&self, req: Request<Bytes>, timeout: Duration) -> Result<Response<Bytes>, SendError> {
        let exchange = async {
            let response = self.inner.request(req.map(Full::new)).await.map_err(|e| SendError::Failed(chain(&e)))?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_RESPONSE).collect().await.map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                    SendError::TooLarge
                } else {
                    SendError::Failed(format!("reading the answer failed: {}", chain(e.as_ref())))
                }
            })?;
            Ok(Response::from_parts(parts, body.to_bytes()))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(SendError::Timeout(timeout)),
        }
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

/// One client for the whole process (the proxy's connection pool).
pub fn shared() -> &'static HttpClient {
    static CLIENT: OnceLock<HttpClient> = OnceLock::new();
    CLIENT.get_or_init(HttpClient::new)
}

fn add_pem_roots(roots: &mut rustls::RootCertStore, path: &std::path::Path) {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    match CertificateDer::pem_file_iter(path) {
        Ok(certs) => {
            let (mut added, mut bad) = (0, 0);
            for cert in certs {
                match cert.map(|c| roots.add(c)) {
                    Ok(Ok(())) => added += 1,
                    _ => bad += 1,
                }
            }
            tracing::debug!(file = %path.display(), added, bad, "extra trusted roots from SSL_CERT_FILE");
        }
        Err(e) => tracing::warn!(file = %path.display(), error = %e, "SSL_CERT_FILE cannot be read; using the built-in roots only"),
    }
}

fn seconds(d: Duration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 { format!("{}s", ms / 1000) } else { format!("{ms}ms") }
}

/// Whether a document name is a URL rather than a path (`Config.specs` holds both).
pub fn is_url(name: &str) -> bool {
    let lower = name.get(..8).unwrap_or(name).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Bounds on fetching documents.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// For one document, redirects included.
    pub per_fetch: Duration,
    /// For every document one load fetches: a slow host cannot hold start-up for long.
    pub total: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { per_fetch: Duration::from_secs(10), total: Duration::from_secs(30) }
    }
}

/// Why a document could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// Not an absolute `http(s)` URL.
    BadUrl(String),
    /// An answer other than 2xx (after following redirects).
    Status(u16),
    /// More redirects than a document host plausibly needs.
    TooManyRedirects,
    /// The whole load's time is used up.
    Budget(Duration),
    Send(SendError),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::BadUrl(e) => write!(f, "not a usable URL: {e}"),
            FetchError::Status(s) => {
                let reason = http::StatusCode::from_u16(*s).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
                write!(f, "the server answered {s} {reason}")
            }
            FetchError::TooManyRedirects => f.write_str("too many redirects"),
            FetchError::Budget(d) => write!(f, "fetching documents took longer than {} in all", seconds(*d)),
            FetchError::Send(e) => e.fmt(f),
        }
    }
}

type Job = (String, Duration, std::sync::mpsc::Sender<Result<Bytes, FetchError>>);

/// Fetches documents synchronously. The exchanges run on a thread of its own with its own
/// current-thread runtime and client, started at the first fetch: the caller may itself be inside
/// a runtime (`ServerBuilder::start`), where blocking on another future would panic or stall.
/// The thread ends when the fetcher is dropped.
pub struct Fetcher {
    limits: Limits,
    deadline: Option<std::time::Instant>,
    worker: Option<std::sync::mpsc::Sender<Job>>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl Fetcher {
    pub fn new(limits: Limits) -> Self {
        Self { limits, deadline: None, worker: None }
    }

    /// GETs `url` and returns its body (at most [`MAX_RESPONSE`] bytes), following redirects.
    pub fn get(&mut self, url: &str) -> Result<Bytes, FetchError> {
        let now = std::time::Instant::now();
        let deadline = *self.deadline.get_or_insert(now + self.limits.total);
        let left = deadline.saturating_duration_since(now);
        if left.is_zero() {
            return Err(FetchError::Budget(self.limits.total));
        }
        let timeout = left.min(self.limits.per_fetch);
        let worker = match &self.worker {
            Some(w) => w.clone(),
            None => {
                let w =
                    spawn_worker().map_err(|e| FetchError::Send(SendError::Failed(format!("cannot start the fetching thread: {e}"))))?;
                self.worker = Some(w.clone());
                w
            }
        };
        let (reply, answer) = std::sync::mpsc::channel();
        let gone = || FetchError::Send(SendError::Failed("the fetching thread stopped".into()));
        worker.send((url.to_string(), timeout, reply)).map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }
}

fn spawn_worker() -> std::io::Result<std::sync::mpsc::Sender<Job>> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    std::thread::Builder::new().name("specstub-fetch".into()).spawn(move || {
        let client = HttpClient::new();
        while let Ok((url, timeout, reply)) = rx.recv() {
            let result = runtime.block_on(async {
                match tokio::time::timeout(timeout, get_following(&client, &url, timeout)).await {
                    Ok(r) => r,
                    Err(_) => Err(FetchError::Send(SendError::Timeout(timeout))),
                }
            });
            let _ = reply.send(result);
        }
    })?;
    Ok(tx)
}

async fn get_following(client: &HttpClient, url: &str, timeout: Duration) -> Result<Bytes, FetchError> {
    let mut current = url::Url::parse(url).map_err(|e| FetchError::BadUrl(e.to_string()))?;
    for _ in 0..8 {
        if !matches!(current.scheme(), "http" | "https") {
            return Err(FetchError::BadUrl(format!("{current} is not http or https")));
        }
        let mut target = current.clone();
        target.set_fragment(None);
        let req = Request::get(target.as_str())
            .header(http::header::ACCEPT, "application/yaml, application/json;q=0.9, */*;q=0.1")
            .header(http::header::USER_AGENT, concat!("specstub/", env!("CARGO_PKG_VERSION")))
            .body(Bytes::new())
            .map_err(|e| FetchError::BadUrl(e.to_string()))?;
        let answer = client.send(req, timeout).await.map_err(FetchError::Send)?;
        let status = answer.status();
        if status.is_success() {
            return Ok(answer.into_body());
        }
        if status.is_redirection() {
            if let Some(next) = answer.headers().get(http::header::LOCATION).and_then(|l| l.to_str().ok()) {
                current = current.join(next).map_err(|e| FetchError::BadUrl(e.to_string()))?;
                continue;
            }
        }
        return Err(FetchError::Status(status.as_u16()));
    }
    Err(FetchError::TooManyRedirects)
}

/// An error with its causes: "client error (Connect): tcp connect error: Connection refused".
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}
