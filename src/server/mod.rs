//! The accept loop and graceful shutdown (HTTP/1 and HTTP/2 on one port), and the adapter from
//! hyper's streaming bodies to the pipeline's whole-body requests. The connection limits (the
//! deadlines, the cap) are in `limits`. No business rules live here.

mod limits;

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

use crate::problem::{ErrorReply, render};
use crate::runtime::Runtime;
use crate::traffic::{ConnectionFault, FaultBody, ResetSwitch, ResettableStream, fmt_duration, trace};

use limits::{Admission, H2_MAX_HEADER_LIST, H2_MAX_PENDING_RESETS, Limits, Metered, Registry, Tracked};

/// Answers are whole bytes, except when traffic control breaks the body on purpose.
type Body = Either<Full<Bytes>, FaultBody>;

/// Errors an accept may give in a row are retried after this, doubling up to `ACCEPT_PAUSE_MAX`:
/// never a busy loop, and never long enough to miss many clients once a descriptor frees.
const ACCEPT_PAUSE: Duration = Duration::from_millis(1);
const ACCEPT_PAUSE_MAX: Duration = Duration::from_millis(100);

/// How long in-flight requests get to finish once shutdown starts.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// A running server. Dropping it stops the server; `shutdown` stops it and waits for the drain.
pub struct Running {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// Background work that must finish before shutdown returns (the idle-session sweep).
    companions: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://HOST:PORT`, for clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Notified when the server begins to stop (for tasks that must finish with it).
    pub fn stopped(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Ties a background task to the server: shutdown waits for it.
    pub fn attach(&mut self, task: tokio::task::JoinHandle<()>) {
        self.companions.push(task);
    }

    /// Stops accepting, lets in-flight requests finish (bounded), then returns.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        for task in std::mem::take(&mut self.companions) {
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

/// What the server answers from: the runtime, which holds the compiled plan in force (a request
/// takes one snapshot of it, `Runtime::plan`, and answers wholly from that).
pub struct Served {
    pub runtime: Runtime,
}

/// Serves `app` on `listener` in a background task.
pub fn spawn(listener: TcpListener, app: Arc<Served>) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(false);
    // A reload compiles from the same configuration: what the accept loop reads never changes.
    let plan = app.runtime.plan();
    let config = &plan.api.config;
    let registry = Registry::new(Limits::from_config(config), Arc::clone(&app.runtime.connections));
    let (builder, overflow) = (connection_builder(config, true), connection_builder(config, false));
    let (health, header_timeout) = (format!("{}/health", config.admin_prefix), config.header_timeout);
    drop(plan);
    let task = tokio::spawn(async move {
        let acceptor = Acceptor {
            builder,
            // When every connection is busy: one answer per connection, then close.
            overflow,
            health,
            header_timeout,
            graceful: GracefulShutdown::new(),
            stopped: stopped.clone(),
            app,
            registry,
        };
        let mut pause = ACCEPT_PAUSE;
        loop {
            tokio::select! {
                conn = listener.accept() => match conn {
                    Ok((stream, peer)) => {
                        pause = ACCEPT_PAUSE;
                        acceptor.take(stream, peer);
                    }
                    Err(e) => {
                        // Out of descriptors, the pending connection stays queued and the next
                        // accept fails at once: pause instead of spinning.
                        acceptor.registry.accept_failed(&e);
                        tokio::select! {
                            _ = tokio::time::sleep(pause) => {}
                            _ = stopped.changed() => break,
                        }
                        pause = (pause * 2).min(ACCEPT_PAUSE_MAX);
                    }
                },
                _ = stopped.changed() => break,
            }
        }
        drop(listener);
        tokio::select! {
            _ = acceptor.graceful.shutdown() => {}
            _ = tokio::time::sleep(DRAIN_DEADLINE) => tracing::warn!("connections still open after the drain deadline; closing them"),
        }
    });
    Ok(Running { addr, stop, task: Some(task), companions: Vec::new() })
}

/// What the accept loop hands each new connection.
struct Acceptor {
    builder: hyper_util::server::conn::auto::Builder<TokioExecutor>,
    overflow: hyper_util::server::conn::auto::Builder<TokioExecutor>,
    graceful: GracefulShutdown,
    stopped: watch::Receiver<bool>,
    app: Arc<Served>,
    registry: Arc<Registry>,
    /// The health route, answered even at the connection cap, and the header deadline.
    health: String,
    header_timeout: Duration,
}

impl Acceptor {
    /// Starts serving a new connection on its own task, as the registry admits it.
    fn take(&self, stream: tokio::net::TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let (stream, reset) = ResettableStream::new(stream);
        let (app, stop, registry) = (Arc::clone(&self.app), self.stopped.clone(), Arc::clone(&self.registry));
        match self.registry.admit() {
            Admission::Tracked(conn, registration) => {
                let service = {
                    let (conn, registry) = (Arc::clone(&conn), Arc::clone(&registry));
                    hyper::service::service_fn(move |req: Request<Incoming>| {
                        let busy = conn.begin(req.version());
                        let (app, reset, stop, registry) = (Arc::clone(&app), reset.clone(), stop.clone(), Arc::clone(&registry));
                        async move {
                            let response = serve_one(&app, req, peer, &reset, stop, &registry).await?;
                            Ok::<_, std::io::Error>(response.map(|b| Tracked::new(b, busy)))
                        }
                    })
                };
                let io = TokioIo::new(Metered::new(stream, Arc::clone(&conn)));
                let connection = self.graceful.watch(self.builder.serve_connection_with_upgrades(io, service).into_owned());
                tokio::spawn(async move {
                    let _registration = registration;
                    registry.supervise(&conn, connection).await;
                });
            }
            Admission::Overflow(ticket) => {
                let health = self.health.clone();
                let header = self.header_timeout;
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let (app, reset, stop, registry) = (Arc::clone(&app), reset.clone(), stop.clone(), Arc::clone(&registry));
                    let health = req.uri().path() == health;
                    async move {
                        // A saturated server is still alive: its health route says so.
                        if health {
                            serve_one(&app, req, peer, &reset, stop, &registry).await
                        } else {
                            Ok(busy(req.version(), registry.limits.max_connections).map(|b| Either::Left(Full::new(b))))
                        }
                    }
                });
                let connection =
                    self.graceful.watch(self.overflow.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned());
                tokio::spawn(async move {
                    let _ticket = ticket;
                    // One answer, bounded like any first request.
                    let _ = tokio::time::timeout(header, connection).await;
                });
            }
            Admission::Refused => drop(stream),
        }
    }
}

/// HTTP/1 and HTTP/2 on one port. HTTP/1's own header timeout is off: the limits supervise
/// every connection the same way whatever hyper's version does (its timer starts only once it
/// has told HTTP/1 from HTTP/2, and also runs between keep-alive requests).
fn connection_builder(config: &crate::config::Config, keep_alive: bool) -> hyper_util::server::conn::auto::Builder<TokioExecutor> {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().header_read_timeout(None).keep_alive(keep_alive);
    builder
        .http2()
        .timer(hyper_util::rt::TokioTimer::new())
        .keep_alive_interval(Some(config.http2_keepalive_interval))
        .keep_alive_timeout(config.http2_keepalive_timeout)
        .max_concurrent_streams(config.http2_max_streams)
        .max_header_list_size(H2_MAX_HEADER_LIST)
        .max_pending_accept_reset_streams(Some(H2_MAX_PENDING_RESETS));
    builder
}

async fn serve_one(
    app: &Served,
    req: Request<Incoming>,
    peer: SocketAddr,
    reset: &ResetSwitch,
    mut stop: watch::Receiver<bool>,
    registry: &Registry,
) -> Result<Response<Body>, std::io::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let uri = req.uri().clone();
    let version = req.version();
    let (parts, body) = req.into_parts();
    let trace = trace::Carrier::capture(&parts.headers);
    // One plan for the whole request: a reload meanwhile serves the next one.
    let plan = app.runtime.plan();
    let limit = plan.api.config.max_body;
    let declared_too_large = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > limit as u64);
    let mut response = if declared_too_large {
        too_large(limit)
    } else {
        let deadline = tokio::time::Instant::from_std(started) + registry.limits.body;
        match tokio::time::timeout_at(deadline, Limited::new(body, limit).collect()).await {
            Err(_) => {
                registry.body_timed_out();
                body_timed_out(registry.limits.body, version)
            }
            Ok(Ok(collected)) => {
                crate::engine::handle(&plan, &app.runtime, Request::from_parts(parts, collected.to_bytes()), Some(peer)).await
            }
            Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => too_large(limit),
            Ok(Err(e)) => render(&ErrorReply::new(StatusCode::BAD_REQUEST, format!("the request body could not be read: {e}")), None),
        }
    };
    trace.ensure(response.headers_mut());
    if tracing::enabled!(target: "specstub::access", tracing::Level::INFO) {
        let h = response.headers();
        let request_id = h.get(crate::headers::REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
        let trace_id = trace::trace_id_of(h).unwrap_or("");
        tracing::info!(target: "specstub::access", %peer, %method, uri = %plan.api.redact.uri(&uri), status = response.status().as_u16(), micros = started.elapsed().as_micros() as u64, request_id, trace_id);
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

/// 408, and (HTTP/1) the connection closes: the rest of the body may still be on its way.
fn body_timed_out(timeout: Duration, version: http::Version) -> Response<Bytes> {
    let e = ErrorReply::new(
        StatusCode::REQUEST_TIMEOUT,
        format!("the request body did not arrive within {} of its headers (see --body-timeout)", fmt_duration(timeout)),
    );
    render(&close_http1(e, version), None)
}

/// 503 for a connection beyond `--max-connections` when none can be closed to make room.
fn busy(version: http::Version, max: usize) -> Response<Bytes> {
    let e = ErrorReply::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the server has {max} connections open, each with a request in flight (see --max-connections); retry shortly"),
    )
    .with_header(http::header::RETRY_AFTER, "1");
    render(&close_http1(e, version), None)
}

/// `Connection: close` is HTTP/1's; HTTP/2 forbids the header.
fn close_http1(e: ErrorReply, version: http::Version) -> ErrorReply {
    if version < http::Version::HTTP_2 { e.with_header(http::header::CONNECTION, "close") } else { e }
}
