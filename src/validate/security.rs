//! Checks the credentials an operation's security requirements ask for. Any well-formed
//! credential passes unless the server was given an allow-list of tokens.

use base64::Engine;
use http::HeaderMap;

use super::{Incoming, Rejection};
use crate::spec::{Operation, ParamIn, SecurityScheme, Spec};

/// The credential a request presented, as the behaviour step sees the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub scheme: String,
    /// The token, API key or `user:password`.
    pub secret: String,
}

impl Credential {
    /// A stable identity for the caller: the basic user, or the token itself.
    pub fn subject(&self) -> &str {
        match self.secret.split_once(':') {
            Some((user, _)) if self.scheme.eq_ignore_ascii_case("basic") => user,
            _ => &self.secret,
        }
    }
}

enum Presented {
    Missing,
    Malformed(String),
    Found(String),
}

pub fn check(spec: &Spec, op: &Operation, inc: &Incoming, tokens: &[String]) -> Result<Option<Credential>, Rejection> {
    if op.security.is_empty() {
        return Ok(None);
    }
    let mut problems = Vec::new();
    let mut challenges = Vec::new();
    for alternative in &op.security {
        if alternative.is_empty() {
            // `{}` in the requirement list: anonymous access is allowed.
            return Ok(None);
        }
        let mut found = None;
        let mut all = true;
        for name in alternative {
            let scheme = spec.security_schemes.get(name).unwrap_or(&SecurityScheme::Unchecked);
            challenges.push(challenge(scheme));
            match presented(scheme, inc) {
                Presented::Found(secret) => {
                    found.get_or_insert(Credential { scheme: name.clone(), secret });
                }
                Presented::Missing if *scheme == SecurityScheme::Unchecked => {}
                Presented::Missing => {
                    all = false;
                    problems.push(format!("{name}: {}", missing_text(scheme)));
                }
                Presented::Malformed(why) => {
                    all = false;
                    problems.push(format!("{name}: {why}"));
                }
            }
        }
        if all {
            if let Some(c) = &found {
                if !tokens.is_empty() && !tokens.iter().any(|t| *t == c.secret || *t == c.subject()) {
                    return Err(Rejection::Forbidden { message: "the credential is not one this server accepts (see --token)".into() });
                }
            }
            return Ok(found);
        }
    }
    challenges.dedup();
    Err(Rejection::Unauthorized { challenges: challenges.into_iter().flatten().collect(), message: problems.join("; ") })
}

fn challenge(scheme: &SecurityScheme) -> Option<String> {
    match scheme {
        SecurityScheme::Bearer => Some("Bearer realm=\"specstub\"".into()),
        SecurityScheme::Basic => Some("Basic realm=\"specstub\", charset=\"UTF-8\"".into()),
        SecurityScheme::ApiKey { location, name } => {
            Some(format!("ApiKey realm=\"specstub\", in=\"{}\", name=\"{name}\"", location.as_str()))
        }
        SecurityScheme::Unchecked => None,
    }
}

fn missing_text(scheme: &SecurityScheme) -> String {
    match scheme {
        SecurityScheme::Bearer => "missing `Authorization: Bearer <token>`".into(),
        SecurityScheme::Basic => "missing `Authorization: Basic <base64 user:password>`".into(),
        SecurityScheme::ApiKey { location, name } => {
            format!("missing API key {name:?} in the {}", location.as_str())
        }
        SecurityScheme::Unchecked => String::new(),
    }
}

fn authorization(headers: &HeaderMap, expected: &str) -> Presented {
    let Some(raw) = headers.get(http::header::AUTHORIZATION) else {
        return Presented::Missing;
    };
    let Ok(raw) = raw.to_str() else {
        return Presented::Malformed("the Authorization header is not text".into());
    };
    let (scheme, rest) = raw.trim().split_once(' ').unwrap_or((raw.trim(), ""));
    if !scheme.eq_ignore_ascii_case(expected) {
        return Presented::Malformed(format!("expected the {expected} scheme in Authorization, got {scheme:?}"));
    }
    let rest = rest.trim();
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Presented::Malformed(format!("the {expected} credential is empty or has spaces"));
    }
    Presented::Found(rest.to_string())
}

fn presented(scheme: &SecurityScheme, inc: &Incoming) -> Presented {
    match scheme {
        SecurityScheme::Bearer => authorization(inc.headers, "Bearer"),
        SecurityScheme::Basic => match authorization(inc.headers, "Basic") {
            Presented::Found(b64) => {
                match base64::engine::general_purpose::STANDARD.decode(&b64).ok().and_then(|b| String::from_utf8(b).ok()) {
                    Some(pair) if pair.contains(':') => Presented::Found(pair),
                    _ => Presented::Malformed("the Basic credential is not base64 of user:password".into()),
                }
            }
            other => other,
        },
        SecurityScheme::ApiKey { location, name } => {
            let value = match location {
                ParamIn::Header => inc.headers.get(name.as_str()).and_then(|v| v.to_str().ok()).map(String::from),
                ParamIn::Query => inc.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
                ParamIn::Cookie | ParamIn::Path => inc
                    .headers
                    .get_all(http::header::COOKIE)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .flat_map(super::params::parse_cookies)
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v),
            };
            match value {
                Some(v) if !v.trim().is_empty() => Presented::Found(v),
                Some(_) => Presented::Malformed(format!("the API key {name:?} is empty")),
                None => Presented::Missing,
            }
        }
        SecurityScheme::Unchecked => Presented::Missing,
    }
}

/// Query parameter names used by the operation's API keys (they are not unknown parameters).
pub fn query_key_names<'a>(spec: &'a Spec, op: &'a Operation) -> impl Iterator<Item = &'a str> {
    op.security.iter().flatten().filter_map(|name| match spec.security_schemes.get(name) {
        Some(SecurityScheme::ApiKey { location: ParamIn::Query, name }) => Some(name.as_str()),
        _ => None,
    })
}
