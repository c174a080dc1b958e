//! The outgoing HTTP client of `verify` and the validating proxy: hyper-util's pooled client over
//! plain TCP (`http://`) or rustls (`https://`, HTTP/1.1 and HTTP/2 by ALPN). Trusted roots are the
//! Mozilla set, plus the PEM certificates of `SSL_CERT_FILE` when it is set (a private CA of a
//! staging environment).

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
            SendError::Timeout(d) => write!(f, "no answer within {}", crate::traffic::fmt_duration(*d)),
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
