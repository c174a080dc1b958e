//! Injected faults: an error status the operation declares, or a broken connection (reset,
//! empty answer, body cut off, body stalled), and the plumbing the server uses to break a
//! connection on purpose: a body that stops part-way and a socket that closes with a reset.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::ConnectionFault;
use super::latency::{Unit, parse_duration};

/// How long a broken body waits (so what was sent reaches the client) before the connection closes.
const PAUSE: Duration = Duration::from_millis(20);
/// A stalled body gives up after this long even if the client never does.
pub const MAX_STALL: Duration = Duration::from_secs(300);

impl ConnectionFault {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionFault::Reset => "reset",
            ConnectionFault::Empty => "empty",
            ConnectionFault::CutBody => "cut",
            ConnectionFault::Stall => "stall",
        }
    }
}

impl fmt::Display for ConnectionFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What can be injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this error status (one the operation declares) instead of running it.
    Status(u16),
    /// Run the operation, then break the connection this way.
    Connection(ConnectionFault),
}

pub const CONNECTION_FAULTS: [ConnectionFault; 4] =
    [ConnectionFault::Reset, ConnectionFault::Empty, ConnectionFault::CutBody, ConnectionFault::Stall];

impl FromStr for Fault {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some(c) = CONNECTION_FAULTS.iter().find(|c| c.as_str().eq_ignore_ascii_case(s)) {
            return Ok(Fault::Connection(*c));
        }
        match s.parse::<u16>() {
            Ok(code) if (400..=599).contains(&code) => Ok(Fault::Status(code)),
            Ok(code) => Err(format!("{code} is not an error status: a fault is a 4xx/5xx status, reset, empty, cut or stall")),
            Err(_) => Err(format!("unknown fault {s:?}: use reset, empty, cut, stall or an error status such as 503")),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Status(s) => write!(f, "{s}"),
            Fault::Connection(c) => f.write_str(c.as_str()),
        }
    }
}

/// A fault declared in the spec: injected into a share `rate` (0..=1) of the requests.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultRule {
    pub fault: Fault,
    pub rate: f64,
    /// `Retry-After` of an injected status (default: 1s for 429 and 503, none otherwise).
    pub retry_after: Option<Duration>,
}

impl FaultRule {
    /// `{fault: 503, rate: 0.1, retryAfter: 2s}`; errors carry the sub-pointer that is wrong.
    pub fn from_json(v: &Value) -> Result<Self, (String, String)> {
        let Some(o) = v.as_object() else {
            return Err((String::new(), "a fault is an object such as {fault: 503, rate: 0.1}".into()));
        };
        for k in o.keys() {
            if !["fault", "rate", "retryAfter"].contains(&k.as_str()) {
                return Err((format!("/{k}"), format!("unknown key {k:?}: use fault, rate, retryAfter")));
            }
        }
        let fault = match o.get("fault") {
            Some(Value::String(s)) => s.parse(),
            Some(Value::Number(n)) => n.to_string().parse(),
            _ => Err("`fault` is required: reset, empty, cut, stall or an error status such as 503".to_string()),
        }
        .map_err(|e| ("/fault".to_string(), e))?;
        let rate = match o.get("rate") {
            None => 1.0,
            Some(r) => r
                .as_f64()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or(("/rate".to_string(), "`rate` is the share of requests, from 0 to 1".to_string()))?,
        };
        let retry_after = match o.get("retryAfter") {
            None => None,
            Some(_) if !matches!(fault, Fault::Status(_)) => {
                return Err(("/retryAfter".into(), "only an injected status carries Retry-After".into()));
            }
            Some(Value::Number(n)) => {
                Some(Duration::from_secs(n.as_u64().ok_or(("/retryAfter".to_string(), "whole seconds".to_string()))?))
            }
            Some(Value::String(s)) => Some(parse_duration(s, Unit::Seconds).map_err(|e| ("/retryAfter".to_string(), e))?),
            Some(_) => return Err(("/retryAfter".into(), "a duration such as 2s".into())),
        };
        Ok(Self { fault, rate, retry_after })
    }
}

/// The body of an answer whose connection breaks: nothing (`empty`), the first half (`cut`), or
/// the first half and then nothing more until the server stops or [`MAX_STALL`] (`stall`); then
/// an error, on which hyper closes the connection (HTTP/1) or resets the stream (HTTP/2).
/// `Content-Length` announces the whole body, so the client knows it was cut.
pub struct FaultBody {
    fault: ConnectionFault,
    len: u64,
    first: Option<Bytes>,
    hold: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl FaultBody {
    /// `stop` completes when the server shuts down; it ends a stall.
    pub fn new(fault: ConnectionFault, body: Bytes, stop: impl Future<Output = ()> + Send + 'static) -> Self {
        let len = body.len() as u64;
        let half = body.slice(..body.len() / 2);
        let (first, hold): (Bytes, Pin<Box<dyn Future<Output = ()> + Send>>) = match fault {
            ConnectionFault::Reset | ConnectionFault::Empty => (Bytes::new(), Box::pin(tokio::time::sleep(PAUSE))),
            ConnectionFault::CutBody => (half, Box::pin(tokio::time::sleep(PAUSE))),
            ConnectionFault::Stall => (
                half,
                Box::pin(async move {
                    tokio::select! {
                        _ = stop => {}
                        _ = tokio::time::sleep(MAX_STALL) => {}
                    }
                }),
            ),
        };
        Self { fault, len, first: Some(first), hold: Some(hold) }
    }
}

impl Body for FaultBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if let Some(data) = this.first.take().filter(|d| !d.is_empty()) {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if let Some(hold) = this.hold.as_mut() {
            // Pending here lets hyper flush the headers and the data sent so far.
            ready!(hold.as_mut().poll(cx));
            this.hold = None;
            let kind = if this.fault == ConnectionFault::Stall { io::ErrorKind::TimedOut } else { io::ErrorKind::ConnectionAborted };
            return Poll::Ready(Some(Err(io::Error::new(kind, format!("injected fault: {}", this.fault)))));
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        false
    }

    fn size_hint(&self) -> SizeHint {
        if self.len == 0 { SizeHint::default() } else { SizeHint::with_exact(self.len) }
    }
}

/// Asks the connection it belongs to to close with a TCP reset.
#[derive(Debug, Clone, Default)]
pub struct ResetSwitch(Arc<AtomicBool>);

impl ResetSwitch {
    pub fn reset_on_close(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// A TCP stream that closes with a reset (RST, `SO_LINGER` 0) instead of a normal close when its
/// [`ResetSwitch`] was flipped: how a real server's crash or a middlebox looks to a client.
pub struct ResettableStream {
    stream: TcpStream,
    switch: ResetSwitch,
}

impl ResettableStream {
    pub fn new(stream: TcpStream) -> (Self, ResetSwitch) {
        let switch = ResetSwitch::default();
        (Self { stream, switch: switch.clone() }, switch)
    }
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.switch.0.load(Ordering::Relaxed) {
            // A zero linger does not block: the close sends RST and discards unsent data.
            #[allow(deprecated)]
            let _ = self.stream.set_linger(Some(Duration::ZERO));
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use serde_json::json;

    #[test]
    fn faults_parse_by_name_or_error_status() {
        assert_eq!("reset".parse::<Fault>(), Ok(Fault::Connection(ConnectionFault::Reset)));
        assert_eq!("CUT".parse::<Fault>(), Ok(Fault::Connection(ConnectionFault::CutBody)));
        assert_eq!("503".parse::<Fault>(), Ok(Fault::Status(503)));
        assert!("200".parse::<Fault>().unwrap_err().contains("not an error status"));
        assert!("explode".parse::<Fault>().unwrap_err().contains("reset, empty, cut, stall"));
        assert_eq!(Fault::Connection(ConnectionFault::Stall).to_string(), "stall");
    }

    #[test]
    fn spec_rules_read_with_defaults_and_pointers_to_mistakes() {
        let r = FaultRule::from_json(&json!({"fault": 503, "rate": 0.25, "retryAfter": "3s"})).unwrap();
        assert_eq!(r, FaultRule { fault: Fault::Status(503), rate: 0.25, retry_after: Some(Duration::from_secs(3)) });
        assert_eq!(FaultRule::from_json(&json!({"fault": "stall"})).unwrap().rate, 1.0);
        assert_eq!(FaultRule::from_json(&json!({"fault": "reset", "rate": 2})).unwrap_err().0, "/rate");
        assert_eq!(FaultRule::from_json(&json!({"fault": "reset", "retryAfter": 1})).unwrap_err().0, "/retryAfter");
        assert_eq!(FaultRule::from_json(&json!({"fault": "boom"})).unwrap_err().0, "/fault");
        assert_eq!(FaultRule::from_json(&json!({"fault": 500, "weight": 1})).unwrap_err().0, "/weight");
    }

    #[tokio::test]
    async fn a_cut_body_sends_half_then_fails_and_announces_the_whole_length() {
        let body = FaultBody::new(ConnectionFault::CutBody, Bytes::from_static(b"0123456789"), std::future::pending());
        assert_eq!(body.size_hint().exact(), Some(10));
        let mut body = std::pin::pin!(body);
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first, Bytes::from_static(b"01234"));
        assert!(body.frame().await.unwrap().is_err());
    }

    #[tokio::test]
    async fn a_stall_ends_when_the_server_stops() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let body = FaultBody::new(ConnectionFault::Stall, Bytes::from_static(b"abcd"), async move {
            let _ = rx.await;
        });
        let mut body = std::pin::pin!(body);
        assert_eq!(body.frame().await.unwrap().unwrap().into_data().unwrap(), Bytes::from_static(b"ab"));
        let next = tokio::time::timeout(Duration::from_millis(50), body.frame()).await;
        assert!(next.is_err(), "the stall must hold the body");
        tx.send(()).unwrap();
        assert!(body.frame().await.unwrap().is_err());
    }
}
