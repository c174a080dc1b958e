//! Checks the credentials an operation's security requirements ask for. Any well-formed
//! credential passes unless the server was given an allow-list of tokens: a mock knows no
//! passwords, so what it can hold a client to is the shape the real API expects — the right
//! scheme by its own name, in the right place, answering the challenges a 401 carries.

use std::collections::HashMap;

use base64::Engine;
use http::HeaderMap;

use super::{Incoming, Rejection};
use crate::spec::model::SecurityAlternative;
use crate::spec::{Operation, ParamIn, SecurityScheme, Spec};

/// The realm every challenge names: one protection space for everything a server mocks.
const REALM: &str = "specstub";

/// The credential a request presented, as the behaviour step sees the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The security scheme's name in the document.
    pub scheme: String,
    /// The token, API key, `user:password`, or the Digest username.
    pub secret: String,
    /// The user the credential names, for the schemes that name one (Basic, Digest).
    pub user: Option<String>,
}

impl Credential {
    /// A stable identity for the caller: the user, or the token itself.
    pub fn subject(&self) -> &str {
        self.user.as_deref().unwrap_or(&self.secret)
    }
}

enum Presented {
    Missing,
    Malformed(String),
    Found { secret: String, user: Option<String> },
}

impl Presented {
    fn token(secret: impl Into<String>) -> Self {
        Presented::Found { secret: secret.into(), user: None }
    }
}

pub fn check(spec: &Spec, op: &Operation, inc: &Incoming, tokens: &[String]) -> Result<Option<Credential>, Rejection> {
    requirements(&spec.security_schemes, &op.security, inc, tokens)
}

fn requirements(
    schemes: &HashMap<String, SecurityScheme>,
    alternatives: &[SecurityAlternative],
    inc: &Incoming,
    tokens: &[String],
) -> Result<Option<Credential>, Rejection> {
    if alternatives.is_empty() {
        return Ok(None);
    }
    let mut problems = Vec::new();
    let mut wanted: Vec<&SecurityScheme> = Vec::new();
    for alternative in alternatives {
        if alternative.is_empty() {
            // `{}` in the requirement list: anonymous access is allowed.
            return Ok(None);
        }
        let mut found = None;
        let mut all = true;
        for name in alternative {
            let scheme = schemes.get(name).unwrap_or(&SecurityScheme::Unchecked);
            if !wanted.contains(&scheme) {
                wanted.push(scheme);
            }
            match presented(scheme, inc) {
                Presented::Found { secret, user } => {
                    found.get_or_insert(Credential { scheme: name.clone(), secret, user });
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
                if !tokens.is_empty() && !tokens.iter().any(|t| allowed(t, c)) {
                    return Err(Rejection::Forbidden { message: "the credential is not one this server accepts (see --token)".into() });
                }
            }
            return Ok(found);
        }
    }
    // One nonce per answer: every Digest challenge in it offers the same one (RFC 7616 §3.7).
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let mut challenges: Vec<String> = Vec::new();
    for c in wanted.into_iter().flat_map(|s| challenges_for(s, &nonce)) {
        if !challenges.contains(&c) {
            challenges.push(c);
        }
    }
    Err(Rejection::Unauthorized { challenges, message: problems.join("; ") })
}

/// Whether an allow-listed `token` admits the credential: the token itself, or the user it
/// names. A Digest response cannot be checked without the password, so `user:password` admits
/// that user whatever the password was.
fn allowed(token: &str, c: &Credential) -> bool {
    if token == c.secret || token == c.subject() {
        return true;
    }
    let digest_user = c.user.as_deref().filter(|u| *u == c.secret);
    matches!((digest_user, token.split_once(':')), (Some(u), Some((t, _))) if t == u)
}

/// The `WWW-Authenticate` challenges (RFC 9110 §11.6.1) a 401 carries for a scheme, each sent as
/// its own header line so that clients which read only one line still see a whole challenge.
fn challenges_for(scheme: &SecurityScheme, nonce: &str) -> Vec<String> {
    match scheme {
        SecurityScheme::Bearer => vec![format!("Bearer realm=\"{REALM}\"")],
        SecurityScheme::Basic => vec![format!("Basic realm=\"{REALM}\", charset=\"UTF-8\"")],
        // The stronger algorithm first, as RFC 7616 §3.7 asks; MD5 for the clients that know
        // nothing else (curl before 7.57, many embedded stacks).
        SecurityScheme::Digest => ["SHA-256", "MD5"]
            .iter()
            .map(|alg| format!("Digest realm=\"{REALM}\", qop=\"auth\", algorithm={alg}, nonce=\"{nonce}\""))
            .collect(),
        SecurityScheme::Http { scheme } => {
            let name = registered_name(scheme);
            match name.to_ascii_lowercase().as_str() {
                // SPNEGO challenges carry no parameters (RFC 4559 §4); a realm would break them.
                "negotiate" | "ntlm" => vec![name.to_string()],
                // HOBA requires its own challenge and lifetime (RFC 7486 §3).
                "hoba" => vec![format!("HOBA challenge=\"{nonce}\", max-age=600, realm=\"{REALM}\"")],
                _ => vec![format!("{name} realm=\"{REALM}\"")],
            }
        }
        // An API key is not an HTTP authentication scheme: there is no registered challenge for
        // it, and inventing one (`ApiKey realm=...`) makes HTTP clients try, and fail, to answer
        // it. The 401 body says which key is missing and where it goes instead.
        SecurityScheme::ApiKey { .. } => Vec::new(),
        SecurityScheme::Unchecked => Vec::new(),
    }
}

/// The IANA registry's spelling of a scheme name, for challenges that read like the real
/// server's; names are case-insensitive, so any other spelling is sent as the document wrote it.
fn registered_name(scheme: &str) -> &str {
    const REGISTERED: &[&str] = &[
        "Concealed",
        "DPoP",
        "GNAP",
        "HOBA",
        "Mutual",
        "Negotiate",
        "NTLM",
        "OAuth",
        "PrivateToken",
        "SCRAM-SHA-1",
        "SCRAM-SHA-256",
        "vapid",
    ];
    REGISTERED.iter().find(|r| r.eq_ignore_ascii_case(scheme)).copied().unwrap_or(scheme)
}

fn missing_text(scheme: &SecurityScheme) -> String {
    match scheme {
        SecurityScheme::Bearer => "missing `Authorization: Bearer <token>`".into(),
        SecurityScheme::Basic => "missing `Authorization: Basic <base64 user:password>`".into(),
        SecurityScheme::Digest => "missing `Authorization: Digest username=..., response=...` (answer the challenge)".into(),
        SecurityScheme::Http { scheme } => format!("missing `Authorization: {} <credentials>`", registered_name(scheme)),
        SecurityScheme::ApiKey { location, name } => {
            format!("missing API key {name:?} in the {}", location.as_str())
        }
        SecurityScheme::Unchecked => String::new(),
    }
}

/// The credentials after `expected` in `Authorization`, whatever their form.
fn authorization<'h>(headers: &'h HeaderMap, expected: &str) -> Result<Option<&'h str>, String> {
    let Some(raw) = headers.get(http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let raw = raw.to_str().map_err(|_| "the Authorization header is not text".to_string())?.trim();
    let (scheme, rest) = raw.split_once([' ', '\t']).unwrap_or((raw, ""));
    if !scheme.eq_ignore_ascii_case(expected) {
        return Err(format!("expected the {expected} scheme in Authorization, got {scheme:?}"));
    }
    let rest = rest.trim();
    if rest.is_empty() {
        return Err(format!("the {expected} credential is empty"));
    }
    Ok(Some(rest))
}

/// A credential that must be a single token68 (RFC 9110 §11.2), as Bearer and Basic are.
fn token68<'h>(headers: &'h HeaderMap, expected: &str) -> Result<Option<&'h str>, String> {
    match authorization(headers, expected)? {
        Some(rest) if rest.contains(char::is_whitespace) => Err(format!("the {expected} credential has spaces")),
        other => Ok(other),
    }
}

fn presented(scheme: &SecurityScheme, inc: &Incoming) -> Presented {
    let read = match scheme {
        SecurityScheme::Bearer => token68(inc.headers, "Bearer").map(|t| t.map(Presented::token)),
        SecurityScheme::Basic => token68(inc.headers, "Basic").and_then(|b64| b64.map(basic).transpose()),
        SecurityScheme::Digest => authorization(inc.headers, "Digest").and_then(|params| {
            params.map(|p| digest(p).map(|user| Presented::Found { secret: user.clone(), user: Some(user) })).transpose()
        }),
        SecurityScheme::Http { scheme } => authorization(inc.headers, scheme).map(|c| c.map(Presented::token)),
        SecurityScheme::ApiKey { location, name } => return api_key(*location, name, inc),
        SecurityScheme::Unchecked => Ok(None),
    };
    match read {
        Ok(Some(p)) => p,
        Ok(None) => Presented::Missing,
        Err(why) => Presented::Malformed(why),
    }
}

fn basic(b64: &str) -> Result<Presented, String> {
    match base64::engine::general_purpose::STANDARD.decode(b64).ok().and_then(|b| String::from_utf8(b).ok()) {
        Some(pair) => match pair.split_once(':') {
            Some((user, _)) => Ok(Presented::Found { user: Some(user.to_string()), secret: pair }),
            None => Err("the Basic credential is not base64 of user:password".into()),
        },
        None => Err("the Basic credential is not base64 of user:password".into()),
    }
}

fn api_key(location: ParamIn, name: &str, inc: &Incoming) -> Presented {
    let value = match location {
        ParamIn::Header => inc.headers.get(name).and_then(|v| v.to_str().ok()).map(String::from),
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
        Some(v) if !v.trim().is_empty() => Presented::token(v),
        Some(_) => Presented::Malformed(format!("the API key {name:?} is empty")),
        None => Presented::Missing,
    }
}

/// Checks a Digest credential (RFC 7616 §3.4) and returns its username.
///
/// Any nonce is accepted, not only those this server issued: a mock cannot check the response
/// without the password, so a replayed or stale nonce would defend nothing, and remembering
/// nonces would tie a client to one instance and one run (several instances behind a load
/// balancer, a restart between tests). What is held to the RFC is everything a client must get
/// right to talk to the real server: every required parameter, the qop offered, a response of
/// the length the algorithm gives.
fn digest(params: &str) -> Result<String, String> {
    let params = auth_params(params).map_err(|e| format!("the Digest credential cannot be read: {e}"))?;
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let username = match (get("username"), get("username*")) {
        (Some(u), None) => u.to_string(),
        (None, Some(ext)) => ext_value(ext).ok_or("the Digest username* is not UTF-8''<percent-encoded name> (RFC 8187)")?,
        (Some(_), Some(_)) => return Err("the Digest credential has both username and username*".into()),
        (None, None) => return Err("the Digest credential has no username".into()),
    };
    for required in ["realm", "nonce", "uri", "response", "qop", "nc", "cnonce"] {
        if get(required).is_none_or(str::is_empty) {
            return Err(format!("the Digest credential has no {required}"));
        }
    }
    let algorithm = get("algorithm").unwrap_or("MD5");
    let hex_len = match algorithm.to_ascii_uppercase().trim_end_matches("-SESS") {
        "MD5" => 32,
        "SHA-256" | "SHA-512-256" => 64,
        _ => return Err(format!("the Digest algorithm {algorithm:?} is not one of MD5, SHA-256, SHA-512-256")),
    };
    let response = get("response").unwrap_or_default();
    if response.len() != hex_len || !response.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("the Digest response is not {hex_len} hex digits, as {algorithm} gives"));
    }
    if get("qop") != Some("auth") {
        return Err("the Digest qop must be \"auth\", the one offered".into());
    }
    let nc = get("nc").unwrap_or_default();
    if nc.len() != 8 || !nc.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("the Digest nc is not 8 hex digits".into());
    }
    if username.is_empty() {
        return Err("the Digest username is empty".into());
    }
    Ok(username)
}

/// The username a Digest credential names, for keying callers (rate limits) by who they are
/// rather than by a credential that changes with every nonce.
pub fn digest_user(params: &str) -> Option<String> {
    let params = auth_params(params).ok()?;
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    get("username").map(String::from).or_else(|| get("username*").and_then(ext_value))
}

/// An RFC 8187 extended value, `UTF-8'[lang]'percent-encoded`.
fn ext_value(v: &str) -> Option<String> {
    let mut parts = v.splitn(3, '\'');
    let (charset, _lang, encoded) = (parts.next()?, parts.next()?, parts.next()?);
    if !charset.eq_ignore_ascii_case("UTF-8") {
        return None;
    }
    percent_encoding::percent_decode_str(encoded).decode_utf8().ok().map(|s| s.into_owned())
}

/// The comma-separated `name=token` / `name="quoted string"` list of a credential
/// (RFC 9110 §11.2), names lowercased; a name given twice is an error (RFC 7616 §3.4 lets no
/// parameter repeat).
fn auth_params(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut name = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && *c != ',' && !c.is_whitespace()) {
            name.push(c.to_ascii_lowercase());
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!("{name:?} has no value"));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                    None => return Err(format!("the quoted value of {name:?} is not closed")),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',' && !c.is_whitespace()) {
                value.push(c);
            }
            if value.is_empty() {
                return Err(format!("{name:?} has no value"));
            }
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if !matches!(chars.peek(), None | Some(',')) {
            return Err(format!("a comma is missing after {name:?}"));
        }
        if out.iter().any(|(k, _)| *k == name) {
            return Err(format!("{name:?} is given twice"));
        }
        out.push((name, value));
    }
}

/// Query parameter names used by the operation's API keys (they are not unknown parameters).
pub fn query_key_names<'a>(spec: &'a Spec, op: &'a Operation) -> impl Iterator<Item = &'a str> {
    op.security.iter().flatten().filter_map(|name| match spec.security_schemes.get(name) {
        Some(SecurityScheme::ApiKey { location: ParamIn::Query, name }) => Some(name.as_str()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESPONSE_256: &str = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1";

    fn schemes() -> HashMap<String, SecurityScheme> {
        HashMap::from([
            ("bearer".to_string(), SecurityScheme::Bearer),
            ("basic".to_string(), SecurityScheme::Basic),
            ("digest".to_string(), SecurityScheme::Digest),
            ("vapid".to_string(), SecurityScheme::Http { scheme: "vapid".into() }),
            ("negotiate".to_string(), SecurityScheme::Http { scheme: "negotiate".into() }),
            ("login".to_string(), SecurityScheme::Basic),
            ("key".to_string(), SecurityScheme::ApiKey { location: ParamIn::Cookie, name: "sid".into() }),
        ])
    }

    fn alternatives(names: &[&[&str]]) -> Vec<SecurityAlternative> {
        names.iter().map(|a| a.iter().map(|n| n.to_string()).collect()).collect()
    }

    fn run(required: &[&[&str]], headers: &[(&str, &str)], tokens: &[&str]) -> Result<Option<Credential>, Rejection> {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        let inc = Incoming { path_params: &[], query: &[], headers: &map, body: b"" };
        let tokens: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
        requirements(&schemes(), &alternatives(required), &inc, &tokens)
    }

    fn digest_header(user: &str) -> String {
        format!(
            "Digest username=\"{user}\", realm=\"specstub\", uri=\"/v1/x?a=1\", algorithm=SHA-256, \
             nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", \
             qop=auth, response=\"{RESPONSE_256}\", opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        )
    }

    fn challenges(r: Result<Option<Credential>, Rejection>) -> Vec<String> {
        match r {
            Err(Rejection::Unauthorized { challenges, .. }) => challenges,
            other => panic!("expected 401, got {other:?}"),
        }
    }

    #[test]
    fn a_digest_credential_from_rfc_7616_names_its_user() {
        // Act
        let c = run(&[&["digest"]], &[("authorization", &digest_header("Mufasa"))], &[]);
        // Assert
        let c = c.unwrap().unwrap();
        assert_eq!((c.scheme.as_str(), c.subject()), ("digest", "Mufasa"));
    }

    #[test]
    fn a_digest_username_in_rfc_8187_form_is_decoded() {
        let header = digest_header("x").replace("username=\"x\"", "username*=UTF-8''J%C3%A4s%C3%B8n%20Doe");
        let c = run(&[&["digest"]], &[("authorization", &header)], &[]).unwrap().unwrap();
        assert_eq!(c.subject(), "Jäsøn Doe");
    }

    #[test]
    fn a_digest_credential_missing_a_part_or_with_a_short_response_is_refused_with_the_reason() {
        let cases = [
            (digest_header("u").replace("nc=00000001, ", ""), "no nc"),
            (digest_header("u").replace(RESPONSE_256, "abc"), "64 hex digits"),
            (digest_header("u").replace("qop=auth", "qop=auth-int"), "qop"),
            (digest_header("u").replace("algorithm=SHA-256", "algorithm=SHA-1"), "algorithm"),
            (digest_header("u").replace("algorithm=SHA-256", "algorithm=MD5"), "32 hex digits"),
            ("Digest username=\"u\", realm=\"unclosed".to_string(), "not closed"),
            (format!("{}, nc=00000002", digest_header("u")), "twice"),
        ];
        for (header, why) in cases {
            let Err(Rejection::Unauthorized { message, .. }) = run(&[&["digest"]], &[("authorization", &header)], &[]) else {
                panic!("{header} passed");
            };
            assert!(message.contains(why), "{why}: {message}");
        }
    }

    #[test]
    fn with_an_allow_list_the_digest_username_must_be_on_it() {
        let header = digest_header("ann");
        assert!(run(&[&["digest"]], &[("authorization", &header)], &["ann"]).is_ok());
        assert!(run(&[&["digest"]], &[("authorization", &header)], &["ann:secret"]).is_ok());
        let other = run(&[&["digest"]], &[("authorization", &header)], &["bob"]);
        assert!(matches!(other, Err(Rejection::Forbidden { .. })), "{other:?}");
    }

    #[test]
    fn a_digest_challenge_offers_sha_256_then_md5_with_one_nonce() {
        let offered = challenges(run(&[&["digest"]], &[], &[]));
        assert_eq!(offered.len(), 2, "{offered:?}");
        assert!(offered[0].starts_with("Digest realm=\"specstub\", qop=\"auth\", algorithm=SHA-256, nonce=\""), "{}", offered[0]);
        assert!(offered[1].contains("algorithm=MD5"), "{}", offered[1]);
        let nonce = |c: &str| c.split("nonce=").nth(1).unwrap().to_string();
        assert_eq!(nonce(&offered[0]), nonce(&offered[1]));
    }

    #[test]
    fn an_http_scheme_is_checked_by_its_own_name() {
        assert!(run(&[&["vapid"]], &[("authorization", "vapid t=eyJ0eXAi.e30.sig, k=BA1Hxz")], &[]).unwrap().is_some());
        let bearer = run(&[&["vapid"]], &[("authorization", "Bearer abc")], &[]);
        assert!(matches!(bearer, Err(Rejection::Unauthorized { .. })), "a bearer token is not a vapid credential: {bearer:?}");
        let lower = run(&[&["bearer"]], &[("authorization", "bearer abc")], &[]).unwrap().unwrap();
        assert_eq!(lower.secret, "abc", "scheme names are case-insensitive");
    }

    #[test]
    fn challenges_come_one_per_line_in_the_order_of_the_alternatives_without_repeats() {
        let offered = challenges(run(&[&["bearer"], &["basic"], &["bearer", "key"], &["negotiate"], &["vapid"]], &[], &[]));
        assert_eq!(
            offered,
            ["Bearer realm=\"specstub\"", "Basic realm=\"specstub\", charset=\"UTF-8\"", "Negotiate", "vapid realm=\"specstub\""]
        );
    }

    #[test]
    fn an_api_key_gets_no_challenge_but_a_message_saying_where_it_goes() {
        let Err(Rejection::Unauthorized { challenges, message }) = run(&[&["key"]], &[], &[]) else { panic!() };
        assert!(challenges.is_empty(), "{challenges:?}");
        assert!(message.contains("\"sid\" in the cookie"), "{message}");
        assert!(run(&[&["key"]], &[("cookie", "theme=dark; sid=k1")], &[]).unwrap().is_some());
    }

    #[test]
    fn a_basic_credential_names_its_user_whatever_the_scheme_is_called() {
        let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("ann:pw"));
        let c = run(&[&["login"]], &[("authorization", &header)], &["ann"]).unwrap().unwrap();
        assert_eq!((c.secret.as_str(), c.subject()), ("ann:pw", "ann"));
    }

    #[test]
    fn digest_user_reads_the_username_for_rate_limit_keys() {
        assert_eq!(digest_user(&digest_header("ann")["Digest ".len()..]).as_deref(), Some("ann"));
        assert_eq!(digest_user("garbage"), None);
    }
}
