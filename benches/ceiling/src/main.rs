//! The ceiling: the fastest a hyper server on this machine answers, with the same runtime and
//! connection handling as specstub and none of its work (no routing, validation, journal or log).
//! It reads the whole request body (as specstub does) and answers a fixed JSON body.
//!
//! Usage: `specstub-ceiling [PORT]` (default 0: any free port). Prints
//! `listening on http://127.0.0.1:PORT` as its first stdout line, like `specstub serve`.

use std::convert::Infallible;
use std::io::Write;

use bytes::Bytes;
use http::{Request, Response, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

const BODY: &[u8] = br#"{"runId":"3fa85f64-5717-4562-b3fc-2c963f66afa6","name":"nightly-regression","status":"RUN_STATUS_RUNNING","createdDate":"2024-05-01T12:00:00Z","tags":["bench","ceiling"]}"#;

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the body like specstub does, so a POST costs the same I/O on both sides.
    let _ = req.into_body().collect().await;
    let mut res = Response::new(Full::new(Bytes::from_static(BODY)));
    res.headers_mut().insert(header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    Ok(res)
}

fn main() {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        println!("listening on http://{addr}");
        let _ = std::io::stdout().flush();
        let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let builder = builder.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(answer);
                let _ = builder.serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
}
