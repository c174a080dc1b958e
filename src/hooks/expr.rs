//! OpenAPI runtime expressions (`$url`, `$method`, `$statusCode`, `$request.body#/callbackUrl`,
//! `$response.header.Location`...), resolved against one exchange, and callback keys that embed
//! them in braces (`{$request.query.target}/events`).

use serde_json::Value;

/// What an expression can read: the request received and the answer sent.
pub struct Context<'a> {
    /// The request's absolute URL, query included.
    pub url: &'a str,
    pub method: &'a str,
    pub status: u16,
    pub request: Side<'a>,
    pub response: Side<'a>,
}

/// One side of the exchange.
#[derive(Default)]
pub struct Side<'a> {
    pub headers: Option<&'a http::HeaderMap>,
    pub query: &'a [(String, String)],
    pub path: &'a [(String, String)],
    pub body: Option<&'a Value>,
}

/// `template` with every `{expression}` replaced; a template that is one bare expression
/// (`$request.body#/url`) is resolved whole. An expression that reads nothing is an error
/// naming it: a callback to a half-filled URL would go somewhere nobody named.
pub fn fill(template: &str, ctx: &Context) -> Result<String, String> {
    if template.starts_with('$') {
        return resolve(template, ctx);
    }
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("unclosed {{ in {template:?}"));
        };
        out.push_str(&resolve(&rest[open + 1..open + close], ctx)?);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// One expression's value as text.
pub fn resolve(expression: &str, ctx: &Context) -> Result<String, String> {
    let missing = || format!("{expression} has no value in this exchange");
    match expression.trim() {
        "$url" => return Ok(ctx.url.to_string()),
        "$method" => return Ok(ctx.method.to_string()),
        "$statusCode" => return Ok(ctx.status.to_string()),
        _ => {}
    }
    let e = expression.trim();
    let (side, source) = if let Some(s) = e.strip_prefix("$request.") {
        (&ctx.request, s)
    } else if let Some(s) = e.strip_prefix("$response.") {
        (&ctx.response, s)
    } else {
        return Err(format!("{expression:?} is not a runtime expression ($url, $method, $statusCode, $request.…, $response.…)"));
    };
    if let Some(name) = source.strip_prefix("header.") {
        let value = side.headers.and_then(|h| h.get(name)).and_then(|v| v.to_str().ok());
        return value.map(String::from).ok_or_else(missing);
    }
    if let Some(name) = source.strip_prefix("query.") {
        return side.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).ok_or_else(missing);
    }
    if let Some(name) = source.strip_prefix("path.") {
        return side.path.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).ok_or_else(missing);
    }
    if let Some(pointer) = source.strip_prefix("body") {
        let pointer = match pointer.strip_prefix('#') {
            Some(p) => p,
            None if pointer.is_empty() => "",
            None => return Err(format!("{expression:?}: a body reference is `body` or `body#/json/pointer`")),
        };
        let pointer = percent_encoding::percent_decode_str(pointer).decode_utf8_lossy();
        return match side.body.and_then(|b| b.pointer(&pointer)) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Null) | None => Err(missing()),
            Some(v) => Ok(v.to_string()),
        };
    }
    Err(format!("{expression:?}: the source is header.NAME, query.NAME, path.NAME or body#/pointer"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_every_kind_of_expression() {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-hook", "http://h.test".parse().unwrap());
        let body = json!({"callbackUrl": "http://cb.test/in", "n": 3});
        let answer = json!({"id": "o-1"});
        let query = [("target".to_string(), "http://q.test".to_string())];
        let path = [("id".to_string(), "42".to_string())];
        let ctx = Context {
            url: "http://mock.test/orders?x=1",
            method: "POST",
            status: 201,
            request: Side { headers: Some(&headers), query: &query, path: &path, body: Some(&body) },
            response: Side { body: Some(&answer), ..Side::default() },
        };
        assert_eq!(fill("{$request.body#/callbackUrl}", &ctx).unwrap(), "http://cb.test/in");
        assert_eq!(fill("$request.body#/callbackUrl", &ctx).unwrap(), "http://cb.test/in");
        assert_eq!(fill("{$request.query.target}/orders/{$response.body#/id}", &ctx).unwrap(), "http://q.test/orders/o-1");
        assert_eq!(fill("{$request.header.x-hook}/{$request.path.id}/{$method}/{$statusCode}", &ctx).unwrap(), "http://h.test/42/POST/201");
        assert_eq!(fill("{$url}", &ctx).unwrap(), "http://mock.test/orders?x=1");
        assert_eq!(resolve("$request.body#/n", &ctx).unwrap(), "3");
        assert!(fill("{$request.body#/nothing}", &ctx).unwrap_err().contains("no value"));
        assert!(fill("{$request.cookie.a}", &ctx).is_err());
        assert!(fill("{$request.body#/callbackUrl", &ctx).unwrap_err().contains("unclosed"));
    }
}
