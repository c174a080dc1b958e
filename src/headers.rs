//! The header names specstub itself reads and writes, and the reading of the session header:
//! a leaf that the engine, the proxy and the admin API share without importing each other.

use http::{HeaderMap, HeaderName};

/// The header that carries violations in warn mode.
pub const VIOLATIONS_HEADER: &str = "specstub-violations";
/// The request id: taken from the request when the client sends one, else made up.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
/// Gives the caller its own store namespace.
pub const SESSION_HEADER: &str = "x-specstub-session";
/// Carries the admin token (`--admin-token`); `Authorization: Bearer` works too.
pub const ADMIN_TOKEN_HEADER: &str = "x-specstub-admin-token";
/// The same names, parsed once: a lookup by `&str` parses and hashes the name on every request.
pub const REQUEST_ID: HeaderName = HeaderName::from_static(REQUEST_ID_HEADER);
pub const SESSION: HeaderName = HeaderName::from_static(SESSION_HEADER);
pub const VIOLATIONS: HeaderName = HeaderName::from_static(VIOLATIONS_HEADER);

/// The store namespace a request asks for, if any.
pub fn session_of(headers: &HeaderMap) -> Option<String> {
    headers.get(SESSION).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty()).map(String::from)
}
