//! The accept loop and graceful shutdown (HTTP/1 and HTTP/2 on one port), and the adapter from
//! hyper's streaming bodies to the pipeline's whole-body requests. No business rules live here.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::plan::Api;
use crate::problem::{ErrorReply, render};
use crate::runtime::Runtime;
use crate::traffic::{ConnectionFault, FaultBody, ResetSwitch, ResettableStream, trace};

/// Answers are whole bytes, except when traffic control breaks the body on purpose.
type Body = Either<Full<Bytes>, FaultBody>;

/// How long in-flight requests get to finish once shutdown starts.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// A running server. Dropping it stops the server; `shutdown` stops it and waits for the drain.
pub struct Running {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish (bounded), then returns.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Binds the listening socket, with an error that says which address failed and why.
pub async fn bind(host: &str, port: u16) -> Result<TcpListener, std::io::Error> {
    let addr = format!("{}:{port}", if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_string() });
    TcpListener::bind(&addr).await.map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::AddrInUse => "the port is already in use (pick another with --port, or 0 for any free port)".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied (ports below 1024 need privileges)".to_string(),
            _ => e.to_string(),
        };
        std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {why}"))
    })
}

/// What the server answers from: the compiled API and the runtime.
pub struct Served {
    pub api: Api,
    pub runtime: Runtime,
}

/// Serves `app` on `listener` in a background task.
pub fn spawn(listener: TcpListener, app: Arc<Served>) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        builder.http1().timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(app.api.config.header_timeout);
        let graceful = GracefulShutdown::new();
        loop {
            tokio::select! {
                conn = listener.accept() => {
                    let (stream, peer) = match conn {
                        Ok(c) => c,
                        Err(e) => {
                            // Running out of file descriptors is temporary: keep serving.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let (stream, reset) = ResettableStream::new(stream);
                    let app = Arc::clone(&app);
                    let stop = stopped.clone();
                    let service = hyper::service::service_fn(move |req| {
                        let (app, reset, stop) = (Arc::clone(&app), reset.clone(), stop.clone());
                        async move { serve_one(&app, req, peer, &reset, stop).await }
                    });
                    let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(error = %e, %peer, "connection ended with an error");
                        }
                    });
                }
                _ = stopped.changed() => break,
            }
        }
        drop(listener);
        tokio::select! {
            _ = graceful.shutdown() => {}
            _ = tokio::time::sleep(DRAIN_DEADLINE) => tracing::warn!("connections still open after the drain deadline; closing them"),
        }
    });
    Ok(Running { addr, stop, task: Some(task) })
}

async fn serve_one(
    app: &Served,
    req: Request<Incoming>,
    peer: SocketAddr,
    reset: &ResetSwitch,
    mut stop: watch::Receiver<bool>,
) -> Result<Response<Body>, std::io::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let uri = req.uri().clone();
    let version = req.version();
    let (parts, body) = req.into_parts();
    let trace = trace::Carrier::capture(&parts.headers);
    let limit = app.api.config.max_body;
    let declared_too_large = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64);
    let mut response = if declared_too_large {
        too_large(limit)
    } else {
        match Limited::new(body, limit).collect().await {
            Ok(collected) => {
                crate::engine::handle(&app.api, &app.runtime, Request::from_parts(parts, collected.to_bytes()), Some(peer)).await
            }
            Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => too_large(limit),
            Err(e) => render(&ErrorReply::new(StatusCode::BAD_REQUEST, format!("the request body could not be read: {e}")), None),
        }
    };
    trace.ensure(response.headers_mut());
    if tracing::enabled!(target: "specstub::access", tracing::Level::INFO) {
        let h = response.headers();
        let request_id = h.get(crate::headers::REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
        let trace_id = trace::trace_id_of(h).unwrap_or("");
        tracing::info!(target: "specstub::access", %peer, %method, uri = %uri, status = response.status().as_u16(), micros = started.elapsed().as_micros() as u64, request_id, trace_id);
    }
    match response.extensions_mut().remove::<ConnectionFault>() {
        None => Ok(response.map(|b| Either::Left(Full::new(b)))),
        Some(ConnectionFault::Reset) => {
            // HTTP/1: close the socket with RST and answer nothing; HTTP/2: reset the stream.
            if version < http::Version::HTTP_2 {
                reset.reset_on_close();
            }
            Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected fault: reset"))
        }
        Some(fault) => {
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            Ok(response.map(|b| Either::Right(FaultBody::new(fault, b, stopped))))
        }
    }
}

fn too_large(limit: usize) -> Response<Bytes> {
    render(
        &ErrorReply::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than the limit of {limit} bytes (see --max-body)"),
        ),
        None,
    )
}
