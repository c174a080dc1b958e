//! Who may use the admin API. With `--admin-token` every route but health needs the token;
//! without one, the admin API is served only when the server listens on a loopback address.
//! Either way a browser page of another site cannot use it: a foreign `Host` (DNS rebinding), a
//! foreign `Origin` or a cross-site `Sec-Fetch-Site` is refused, and a state change needs a
//! JSON `Content-Type`, which a cross-site "simple" request cannot send without a preflight
//! that the admin API never grants (its answers carry no CORS headers). A same-origin page
//! calling `fetch` with that header (and the token header) passes every check.

use std::net::IpAddr;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, header};
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::problem::ErrorReply;

/// How the admin API is reachable with these settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Every route but health needs `--admin-token`.
    Token,
    /// No token: served because the server listens on a loopback address only.
    Loopback,
    /// No token and a non-loopback address: only health answers.
    Off,
}

impl Access {
    pub fn of(config: &Config) -> Self {
        if config.admin_token.as_deref().is_some_and(|t| !t.is_empty()) {
            Access::Token
        } else if is_loopback(&config.host) {
            Access::Loopback
        } else {
            Access::Off
        }
    }
}

/// `localhost` or a loopback IP address (`127.0.0.1`, `::1`, `[::1]`).
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// What an admin route needs to be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Health: always open (load balancers probe it, and it tells nothing but counts).
    Open,
    /// The dashboard's page, script and style sheet: every check but the token, since a browser
    /// cannot send a header when it opens a page; they hold no data, and the page's own calls
    /// send the token.
    Page,
    /// Everything else: every check.
    Full,
}

/// Ok when `req` may use the admin route it asks for.
pub fn admit(config: &Config, req: &Request<Bytes>, gate: Gate) -> Result<(), ErrorReply> {
    if gate == Gate::Open {
        return Ok(());
    }
    let access = Access::of(config);
    if access == Access::Off {
        return Err(ErrorReply::new(
            StatusCode::FORBIDDEN,
            format!(
                "the admin API is off: the server listens on {}, which is not a loopback address, and no admin token is set; \
                 start it with --admin-token T (or SPECSTUB_ADMIN_TOKEN) and send X-Specstub-Admin-Token: T",
                config.host
            ),
        ));
    }
    let headers = req.headers();
    let host = host_of(req);
    if let Some(host) = host.filter(|h| !own_host(config, h)) {
        return Err(ErrorReply::new(
            StatusCode::FORBIDDEN,
            format!(
                "the admin API does not answer for Host {host:?} (a page of another site may be reaching it through DNS); \
                 if this server is known by that name, start it with --admin-host {}",
                split_port(host).0
            ),
        ));
    }
    cross_site(config, headers, host)?;
    if access == Access::Token && gate == Gate::Full {
        token(config, headers)?;
    }
    if matches!(*req.method(), Method::POST | Method::PUT | Method::PATCH) && !is_json(headers) {
        return Err(ErrorReply::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "{} on the admin API needs Content-Type: application/json (even without a body), so that a form or a \
                 text/plain request from another site can never change state",
                req.method()
            ),
        ));
    }
    Ok(())
}

/// The authority the client addressed: `Host` (HTTP/1) or the URI's (HTTP/2 `:authority`).
fn host_of(req: &Request<Bytes>) -> Option<&str> {
    req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).or_else(|| req.uri().authority().map(|a| a.as_str()))
}

/// (host, port) of an authority, `[v6]` kept in brackets.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.find(']') {
            Some(end) => (&authority[..=end], authority[end + 1..].strip_prefix(':')),
            None => (authority, None),
        };
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        _ => (authority, None),
    }
}

/// A name DNS cannot point elsewhere (an IP address, `localhost`), the `--host` name, or one of
/// `--admin-host` (`name` for any port, `name:port` for that one). Ports of IP addresses and
/// loopback names are not compared: rebinding needs a name, and a container's published port
/// often differs from the one bound inside.
fn own_host(config: &Config, authority: &str) -> bool {
    let (host, port) = split_port(authority);
    let host = host.trim_end_matches('.');
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok() {
        return true;
    }
    let lower = host.to_ascii_lowercase();
    if lower == "localhost" || lower.ends_with(".localhost") || lower == config.host.to_ascii_lowercase() {
        return true;
    }
    config.admin_hosts.iter().any(|allowed| {
        let (name, want_port) = split_port(allowed.trim());
        name.trim_end_matches('.').eq_ignore_ascii_case(&lower) && want_port.is_none_or(|p| Some(p) == port)
    })
}

/// Refuses what a browser marks as coming from another site: an `Origin` other than this
/// server's own (`http(s)://` + the Host it was addressed by, or an `--admin-host` name), and
/// `Sec-Fetch-Site: cross-site` or `same-site` (sent even on GETs, which carry no Origin).
fn cross_site(config: &Config, headers: &HeaderMap, host: Option<&str>) -> Result<(), ErrorReply> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        if site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site") {
            return Err(ErrorReply::new(
                StatusCode::FORBIDDEN,
                format!(
                    "the admin API refuses requests from other sites (Sec-Fetch-Site: {site}); call it from a test, a script or its own pages"
                ),
            ));
        }
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return Ok(()) };
    let text = origin.to_str().unwrap_or("");
    let authority = text.strip_prefix("http://").or_else(|| text.strip_prefix("https://")).filter(|a| !a.is_empty() && !a.contains('/'));
    let own = authority.is_some_and(|a| {
        host.is_some_and(|h| a.eq_ignore_ascii_case(h)) || {
            let name = split_port(a).0;
            config.admin_hosts.iter().any(|allowed| split_port(allowed.trim()).0.eq_ignore_ascii_case(name))
        }
    });
    if own {
        return Ok(());
    }
    Err(ErrorReply::new(
        StatusCode::FORBIDDEN,
        format!(
            "the admin API refuses cross-site requests: Origin {text:?} is not this server's own ({}); a page of another site must not reset or read it",
            host.map(|h| format!("http://{h}")).unwrap_or_else(|| "unknown".into())
        ),
    ))
}

fn token(config: &Config, headers: &HeaderMap) -> Result<(), ErrorReply> {
    let want = config.admin_token.as_deref().unwrap_or_default().as_bytes();
    let dedicated = headers.get(crate::headers::ADMIN_TOKEN_HEADER).map(|v| v.as_bytes());
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| {
        let v = v.as_bytes();
        (v.len() > 7 && v[..7].eq_ignore_ascii_case(b"bearer ")).then(|| v[7..].trim_ascii())
    });
    let presented: Vec<&[u8]> = dedicated.into_iter().chain(bearer).collect();
    if presented.is_empty() {
        return Err(ErrorReply::new(
            StatusCode::UNAUTHORIZED,
            "the admin API needs its token: send X-Specstub-Admin-Token: T (or Authorization: Bearer T) with the --admin-token value",
        )
        .with_header(header::WWW_AUTHENTICATE, "Bearer realm=\"specstub-admin\""));
    }
    // Either header may hold it (the other may carry an API credential through a proxy).
    let ok = presented.iter().fold(0u8, |ok, p| ok | p.ct_eq(want).unwrap_u8());
    if ok == 1 {
        return Ok(());
    }
    Err(ErrorReply::new(StatusCode::FORBIDDEN, "the admin token presented is not this server's --admin-token"))
}

/// `application/json` or any `+json` type, parameters ignored.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(host: &str, token: Option<&str>) -> Config {
        Config {
            host: host.into(),
            admin_token: token.map(String::from),
            admin_hosts: vec!["stub.internal".into(), "proxy:8443".into()],
            ..Config::default()
        }
    }

    fn req(method: &str, headers: &[(&str, &str)]) -> Request<Bytes> {
        let mut b = Request::builder().method(method).uri("/__specstub/reset");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Bytes::new()).unwrap()
    }

    fn status(c: &Config, r: &Request<Bytes>) -> u16 {
        admit(c, r, Gate::Full).map_or_else(|e| e.status.as_u16(), |()| 200)
    }

    #[test]
    fn access_follows_the_token_and_the_bound_address() {
        assert_eq!(Access::of(&config("127.0.0.1", None)), Access::Loopback);
        assert_eq!(Access::of(&config("[::1]", None)), Access::Loopback);
        assert_eq!(Access::of(&config("localhost", None)), Access::Loopback);
        assert_eq!(Access::of(&config("0.0.0.0", None)), Access::Off);
        assert_eq!(Access::of(&config("0.0.0.0", Some(""))), Access::Off, "an empty token is no token");
        assert_eq!(Access::of(&config("0.0.0.0", Some("t"))), Access::Token);
    }

    #[test]
    fn hosts_are_addresses_loopback_names_the_bound_name_or_allowed_ones() {
        let c = config("stub.example", None);
        for ok in [
            "127.0.0.1:4010",
            "10.0.0.5",
            "[::1]:4010",
            "localhost:1",
            "app.localhost",
            "stub.example:4010",
            "STUB.internal:80",
            "proxy:8443",
        ] {
            assert!(own_host(&c, ok), "{ok}");
        }
        for refused in ["evil.example:4010", "proxy:80", "localhost.evil.example", "127.0.0.1.nip.io"] {
            assert!(!own_host(&c, refused), "{refused}");
        }
    }

    #[test]
    fn browsers_of_other_sites_are_refused_and_same_origin_pages_pass() {
        let c = config("127.0.0.1", None);
        let json = ("content-type", "application/json");
        assert_eq!(status(&c, &req("POST", &[("host", "127.0.0.1:4010"), json, ("origin", "http://127.0.0.1:4010")])), 200);
        assert_eq!(status(&c, &req("POST", &[("host", "127.0.0.1:4010"), json, ("origin", "https://evil.example")])), 403);
        assert_eq!(status(&c, &req("POST", &[("host", "127.0.0.1:4010"), json, ("origin", "null")])), 403);
        assert_eq!(status(&c, &req("GET", &[("host", "127.0.0.1:4010"), ("sec-fetch-site", "cross-site")])), 403);
        assert_eq!(status(&c, &req("GET", &[("host", "127.0.0.1:4010"), ("sec-fetch-site", "same-origin")])), 200);
        assert_eq!(status(&c, &req("POST", &[("host", "127.0.0.1:4010"), ("content-type", "text/plain")])), 415);
        assert_eq!(status(&c, &req("POST", &[("host", "127.0.0.1:4010")])), 415);
        assert_eq!(status(&c, &req("DELETE", &[("host", "127.0.0.1:4010")])), 200, "DELETE is never a simple request");
    }

    #[test]
    fn the_token_is_needed_in_either_header() {
        let c = config("0.0.0.0", Some("s3cret"));
        let h = ("host", "10.0.0.5:4010");
        assert_eq!(status(&c, &req("GET", &[h])), 401);
        assert_eq!(status(&c, &req("GET", &[h, ("x-specstub-admin-token", "wrong")])), 403);
        assert_eq!(status(&c, &req("GET", &[h, ("x-specstub-admin-token", "s3cret")])), 200);
        assert_eq!(status(&c, &req("GET", &[h, ("authorization", "Bearer s3cret")])), 200);
        assert_eq!(status(&c, &req("GET", &[h, ("authorization", "Bearer dev"), ("x-specstub-admin-token", "s3cret")])), 200);
        assert!(admit(&config("0.0.0.0", None), &req("GET", &[h]), Gate::Open).is_ok(), "health stays open");
        assert_eq!(status(&config("0.0.0.0", None), &req("GET", &[h])), 403);
        assert!(admit(&c, &req("GET", &[h]), Gate::Page).is_ok(), "the dashboard's page opens without it");
        assert!(admit(&config("0.0.0.0", None), &req("GET", &[h]), Gate::Page).is_err(), "but not when admin is off");
    }
}
