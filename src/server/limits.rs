//! Connection limits: how long a connection may take to send its headers, its body, or nothing
//! at all, and how many may be open at once. Each connection gets a `Conn` that its socket
//! (`Metered`) and its requests (`Busy`) keep current with a few atomic stores, and one
//! supervising task that closes it when a deadline passes or when room is needed at the cap.
//! What each limit means to a client is in the README's "Limits"; no request is read here.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

use crate::config::Config;
use crate::runtime::ConnectionTally;
use crate::traffic::fmt_duration;

/// The default `--max-connections` never exceeds this: past it, memory (about 20 KB per idle
/// connection) matters more than the file limit.
pub const MAX_DEFAULT_CONNECTIONS: usize = 10_000;
/// Connections answered 503 at once when every connection has a request in flight; more are
/// closed at once. They live in the file-limit headroom the default leaves.
const OVERFLOW: usize = 32;
/// The largest header block an HTTP/2 client may send (hyper's default is 16 KiB; a few large
/// tokens and cookies fit in this, a header flood does not).
pub const H2_MAX_HEADER_LIST: u32 = 64 * 1024;
/// HTTP/2 streams a client may open and reset before answering, per connection ("rapid reset").
pub const H2_MAX_PENDING_RESETS: usize = 20;

/// The settings of every limit, resolved once when the server starts.
#[derive(Debug, Clone)]
pub struct Limits {
    pub header: Duration,
    pub idle: Duration,
    pub body: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            header: config.header_timeout,
            idle: config.idle_timeout,
            body: config.body_timeout,
            max_connections: match config.max_connections {
                Some(max) => max.max(1),
                // Each proxied request in flight holds an upstream connection too.
                None if config.proxy.is_some() => (default_max_connections() / 2).max(1),
                None => default_max_connections(),
            },
        }
    }
}

/// Three quarters of the process's open-file limit (`ulimit -n`), keeping at least 64 files for
/// everything else it opens (the listener, Redis, the state file, proxied upstreams, logs), and
/// at most [`MAX_DEFAULT_CONNECTIONS`]: with this cap the server never runs out of descriptors.
pub fn default_max_connections() -> usize {
    #[cfg(unix)]
    let files = rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft).unwrap_or(1024);
    #[cfg(not(unix))]
    let files = 1024u64;
    from_file_limit(usize::try_from(files).unwrap_or(usize::MAX))
}

fn from_file_limit(files: usize) -> usize {
    let headroom = (files / 4).max(64);
    files.saturating_sub(headroom).clamp(8, MAX_DEFAULT_CONNECTIONS)
}

/// Which limit closed a connection (or answered for it), for the log and the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Header,
    Idle,
    Body,
    Shed,
    Refused,
    Accept,
}

impl Limit {
    const ALL: usize = 6;

    fn index(self) -> usize {
        self as usize
    }
}

/// Microseconds since the registry started, plus one, so that 0 can mean "never".
#[derive(Debug, Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn now(&self) -> u64 {
        self.0.elapsed().as_micros() as u64 + 1
    }

    fn instant(&self, micros: u64) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.0 + Duration::from_micros(micros.saturating_sub(1)))
    }
}

/// What one connection is doing, kept current by its socket and its requests.
#[derive(Debug)]
pub struct Conn {
    clock: Clock,
    opened: u64,
    in_flight: AtomicU32,
    served: AtomicU64,
    /// When the last request in flight ended (or the connection opened).
    idle_since: AtomicU64,
    /// The first byte read since then (HTTP/1: the start of the next request's headers).
    pending_since: AtomicU64,
    last_write: AtomicU64,
    h2: AtomicBool,
    shed: AtomicBool,
    wake: Notify,
}

/// The moments the deadlines are computed from, read at once.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Moments {
    opened: u64,
    in_flight: u32,
    served: u64,
    idle_since: u64,
    pending_since: u64,
    last_write: u64,
    h2: bool,
}

/// When the connection must be closed if nothing changes, and by which limit; None while a
/// request is in flight (its body has its own deadline; answering has none).
fn deadline(m: &Moments, header: u64, idle: u64) -> Option<(u64, Limit)> {
    if m.in_flight > 0 {
        return None;
    }
    if m.served == 0 {
        // Covers a silent client and one trickling its first headers, even before hyper sees
        // enough bytes to tell HTTP/1 from HTTP/2.
        return Some((m.opened + header, Limit::Header));
    }
    if m.h2 {
        // Pings and their answers flow while idle: only streams count as activity.
        return Some((m.idle_since + idle, Limit::Idle));
    }
    // A client still reading a long answer is not idle.
    let since = m.idle_since.max(m.last_write);
    if m.pending_since != 0 {
        return Some((m.pending_since.max(since) + header, Limit::Header));
    }
    Some((since + idle, Limit::Idle))
}

impl Conn {
    fn new(clock: Clock) -> Self {
        let now = clock.now();
        Self {
            clock,
            opened: now,
            in_flight: AtomicU32::new(0),
            served: AtomicU64::new(0),
            idle_since: AtomicU64::new(now),
            pending_since: AtomicU64::new(0),
            last_write: AtomicU64::new(0),
            h2: AtomicBool::new(false),
            shed: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }

    fn moments(&self) -> Moments {
        Moments {
            opened: self.opened,
            in_flight: self.in_flight.load(Ordering::SeqCst),
            served: self.served.load(Ordering::SeqCst),
            idle_since: self.idle_since.load(Ordering::SeqCst),
            pending_since: self.pending_since.load(Ordering::SeqCst),
            last_write: self.last_write.load(Ordering::Relaxed),
            h2: self.h2.load(Ordering::Relaxed),
        }
    }

    /// A request's headers are in; the returned guard ends it when the answer's body is done.
    pub fn begin(self: &Arc<Self>, version: http::Version) -> Busy {
        if version == http::Version::HTTP_2 {
            self.h2.store(true, Ordering::Relaxed);
        }
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.served.fetch_add(1, Ordering::SeqCst);
        Busy(Arc::clone(self))
    }

    /// Idle (no request in flight), and not already chosen to make room: since when.
    fn waiting_since(&self) -> Option<u64> {
        let m = self.moments();
        (m.in_flight == 0 && !self.shed.load(Ordering::SeqCst)).then_some(m.idle_since)
    }

    fn shed(&self) {
        self.shed.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }
}

/// One request in flight on a connection, from its headers to the end of its answer's body.
#[derive(Debug)]
pub struct Busy(Arc<Conn>);

impl Drop for Busy {
    fn drop(&mut self) {
        let conn = &self.0;
        conn.idle_since.store(conn.clock.now(), Ordering::SeqCst);
        conn.pending_since.store(0, Ordering::SeqCst);
        conn.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An answer's body that keeps its request in flight until hyper is done with it (a stalled
/// fault body is an answer in progress, not an idle connection).
pub struct Tracked<B> {
    body: B,
    _busy: Busy,
}

impl<B> Tracked<B> {
    pub fn new(body: B, busy: Busy) -> Self {
        Self { body, _busy: busy }
    }
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// A socket that notes when bytes move, for the deadlines.
pub struct Metered<S> {
    inner: S,
    conn: Arc<Conn>,
}

impl<S> Metered<S> {
    pub fn new(inner: S, conn: Arc<Conn>) -> Self {
        Self { inner, conn }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before && this.conn.pending_since.load(Ordering::Relaxed) == 0 {
            let _ = this.conn.pending_since.compare_exchange(0, this.conn.clock.now(), Ordering::SeqCst, Ordering::Relaxed);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.wrote(&polled);
        polled
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.wrote(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

impl<S> Metered<S> {
    fn wrote(&self, polled: &Poll<io::Result<usize>>) {
        if matches!(polled, Poll::Ready(Ok(n)) if *n > 0) {
            self.conn.last_write.store(self.conn.clock.now(), Ordering::Relaxed);
        }
    }
}

/// What the accept loop does with a new connection.
pub enum Admission {
    /// Served normally, under the deadlines.
    Tracked(Arc<Conn>, Registration),
    /// The cap is reached and every connection has a request in flight: answer 503 (the health
    /// route excepted) and close. The ticket frees its place when dropped.
    Overflow(OverflowTicket),
    /// Too many overflow answers already: close at once.
    Refused,
}

/// Every open connection, for the cap, and what the limits did, for the log and the counts.
pub struct Registry {
    pub limits: Limits,
    clock: Clock,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
    overflow: AtomicUsize,
    tally: Arc<ConnectionTally>,
    warned: [AtomicBool; Limit::ALL],
}

/// A tracked connection's place in the registry, given back when its task ends.
pub struct Registration {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let open = {
            let mut open = self.registry.open.lock().unwrap_or_else(|e| e.into_inner());
            open.remove(&self.id);
            open.len()
        };
        self.registry.tally.open.store(open as u64, Ordering::Relaxed);
    }
}

/// An overflow connection's place, given back when it closes.
pub struct OverflowTicket(Arc<Registry>);

impl Drop for OverflowTicket {
    fn drop(&mut self) {
        self.0.overflow.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Registry {
    pub fn new(limits: Limits, tally: Arc<ConnectionTally>) -> Arc<Self> {
        tally.max.store(limits.max_connections as u64, Ordering::Relaxed);
        Arc::new(Self {
            limits,
            clock: Clock(Instant::now()),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            overflow: AtomicUsize::new(0),
            tally,
            warned: Default::default(),
        })
    }

    /// Takes in a new connection; at the cap, makes room by closing the connection that has
    /// waited longest without a request in flight (idle keep-alive, or still sending its first
    /// request), or answers it 503 when every connection is busy.
    pub fn admit(self: &Arc<Self>) -> Admission {
        let max = self.limits.max_connections;
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.len() >= max {
            match open.values().filter_map(|c| c.waiting_since().map(|at| (at, c))).min_by_key(|(at, _)| *at) {
                Some((_, victim)) => {
                    victim.shed();
                    self.triggered(Limit::Shed, || {
                        format!(
                            "{max} connections are open (--max-connections {max}): closing the one that has waited longest \
                             without a request to make room for each new one"
                        )
                    });
                }
                None => {
                    drop(open);
                    if self.overflow.fetch_add(1, Ordering::SeqCst) >= OVERFLOW {
                        self.overflow.fetch_sub(1, Ordering::SeqCst);
                        self.tally.refused.fetch_add(1, Ordering::Relaxed);
                        return Admission::Refused;
                    }
                    self.triggered(Limit::Refused, || {
                        format!(
                            "{max} connections are open (--max-connections {max}), each with a request in flight: \
                             answering new connections 503 with Retry-After"
                        )
                    });
                    return Admission::Overflow(OverflowTicket(Arc::clone(self)));
                }
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::new(self.clock));
        open.insert(id, Arc::clone(&conn));
        self.tally.open.store(open.len() as u64, Ordering::Relaxed);
        Admission::Tracked(conn, Registration { registry: Arc::clone(self), id })
    }

    /// An accept error: counted and logged once; when the process is out of descriptors, an
    /// idle connection is closed so that the next accept can succeed.
    pub fn accept_failed(&self, e: &io::Error) {
        let out_of_files = matches!(e.raw_os_error(), Some(code) if code == 24 || code == 23); // EMFILE, ENFILE
        self.triggered(Limit::Accept, || {
            format!("accept failed: {e}; new connections wait until a descriptor frees (lower --max-connections or raise ulimit -n)")
        });
        if out_of_files {
            let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, victim)) = open.values().filter_map(|c| c.waiting_since().map(|at| (at, c))).min_by_key(|(at, _)| *at) {
                victim.shed();
                self.tally.shed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Counts a limit's action and logs it the first time, so that a flood does not flood the log.
    pub fn triggered(&self, limit: Limit, message: impl FnOnce() -> String) {
        let counter = match limit {
            Limit::Header => &self.tally.header_timeouts,
            Limit::Idle => &self.tally.idle_timeouts,
            Limit::Body => &self.tally.body_timeouts,
            Limit::Shed => &self.tally.shed,
            Limit::Refused => &self.tally.refused,
            Limit::Accept => &self.tally.accept_errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if !self.warned[limit.index()].swap(true, Ordering::Relaxed) {
            tracing::warn!("{} (logged once; GET /__specstub/health counts them)", message());
        }
    }

    /// Runs a tracked connection until it ends, a deadline passes or it is chosen to make room;
    /// in the last two cases it is dropped, which closes the socket.
    pub async fn supervise<F, E>(&self, conn: &Conn, connection: F)
    where
        F: Future<Output = Result<(), E>>,
        E: std::fmt::Display,
    {
        let (header, idle) = (micros(self.limits.header), micros(self.limits.idle));
        // Waking at least this often means no deadline is missed: each is at least this far
        // from the change (a request ending, a first byte) that sets it.
        let cadence = header.min(idle);
        tokio::pin!(connection);
        loop {
            let now = self.clock.now();
            let wake = match deadline(&conn.moments(), header, idle) {
                Some((at, limit)) if at <= now => {
                    self.closed_by(limit);
                    return;
                }
                Some((at, _)) => at.min(now + cadence),
                None => now + cadence,
            };
            tokio::select! {
                ended = &mut connection => {
                    if let Err(e) = ended {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = tokio::time::sleep_until(self.clock.instant(wake)) => {}
                _ = conn.wake.notified() => {
                    if conn.shed.load(Ordering::SeqCst) {
                        return;
                    }
                }
            }
        }
    }

    fn closed_by(&self, limit: Limit) {
        let (header, idle) = (fmt_duration(self.limits.header), fmt_duration(self.limits.idle));
        self.triggered(limit, || match limit {
            Limit::Header => format!("closed a connection that did not send a request's headers within {header} (--header-timeout)"),
            _ => format!("closed a keep-alive connection idle for {idle} (--idle-timeout)"),
        });
    }

    /// A body that did not arrive in time (answered 408 by the caller).
    pub fn body_timed_out(&self) {
        let body = fmt_duration(self.limits.body);
        self.triggered(Limit::Body, || format!("answered 408 to a request whose body did not arrive within {body} (--body-timeout)"));
    }
}

fn micros(d: Duration) -> u64 {
    // Far beyond any deadline, and far from overflowing when added to a moment.
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX / 4).clamp(1, u64::MAX / 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u64 = 100;
    const I: u64 = 1000;

    fn fresh() -> Moments {
        Moments { opened: 1, idle_since: 1, ..Moments::default() }
    }

    #[test]
    fn a_new_connection_must_send_its_first_headers_within_the_header_timeout() {
        assert_eq!(deadline(&fresh(), H, I), Some((101, Limit::Header)));
        // Bytes arriving do not extend it.
        assert_eq!(deadline(&Moments { pending_since: 50, ..fresh() }, H, I), Some((101, Limit::Header)));
    }

    #[test]
    fn a_request_in_flight_has_no_connection_deadline() {
        assert_eq!(deadline(&Moments { in_flight: 1, served: 1, ..fresh() }, H, I), None);
    }

    #[test]
    fn an_idle_http1_connection_closes_at_the_idle_timeout_unless_a_request_has_started() {
        let idle = Moments { served: 1, idle_since: 500, last_write: 490, ..fresh() };
        assert_eq!(deadline(&idle, H, I), Some((1500, Limit::Idle)));
        // A long answer still being written counts from its last write.
        assert_eq!(deadline(&Moments { last_write: 700, ..idle }, H, I), Some((1700, Limit::Idle)));
        // The next request's first byte starts its header deadline.
        assert_eq!(deadline(&Moments { pending_since: 900, ..idle }, H, I), Some((1000, Limit::Header)));
    }

    #[test]
    fn an_idle_http2_connection_counts_only_streams() {
        let idle = Moments { served: 3, idle_since: 500, last_write: 900, pending_since: 950, h2: true, ..fresh() };
        assert_eq!(deadline(&idle, H, I), Some((1500, Limit::Idle)));
    }

    #[test]
    fn the_default_cap_leaves_room_within_the_file_limit() {
        assert_eq!(from_file_limit(1024), 768);
        assert_eq!(from_file_limit(256), 192);
        assert_eq!(from_file_limit(100), 36);
        assert_eq!(from_file_limit(10), 8);
        assert_eq!(from_file_limit(1 << 20), MAX_DEFAULT_CONNECTIONS);
        assert!(default_max_connections() >= 8);
    }
}
