//! The web console (`--console-listen`): a static page, embedded in the
//! binary, that calls the API from the browser through gRPC-Web.
//!
//! The page is served on its own listener (under the side-listener bounds);
//! the API port additionally accepts gRPC-Web (tonic-web, HTTP/1.1 too) with
//! CORS that lets only the console's own page call it (its port, and the
//! host the call is addressed to), so another site open in an operator's
//! browser cannot read the API. (A site that rebinds its own DNS name to
//! the server's address is the same origin to a browser: keep the console
//! on networks you trust, as README says.) `/config.json`
//! tells the page where the API is: the host the browser used for the page,
//! at the API's port.

use std::net::SocketAddr;

use axum::http::{HeaderMap, HeaderValue, header};

/// The page's files: (path, content type, content).
const FILES: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../../console/static/index.html"),
    ),
    (
        "/console.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/static/console.js"),
    ),
    (
        "/proto.js",
        "text/javascript; charset=utf-8",
        include_str!("../../console/static/proto.js"),
    ),
    (
        "/console.css",
        "text/css; charset=utf-8",
        include_str!("../../console/static/console.css"),
    ),
];

/// Serves the console on `listener` until the server stops; `api` is the
/// API's bound address, `tls` whether it speaks TLS.
pub async fn serve(
    listener: tokio::net::TcpListener,
    limits: crate::side_listener::SideLimits,
    api: SocketAddr,
    tls: bool,
) {
    let mut app = axum::Router::new();
    for &(path, content_type, body) in FILES {
        app = app.route(
            path,
            axum::routing::get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, content_type),
                        // The page loads nothing from elsewhere and runs no
                        // inline script; it talks only to the API.
                        (
                            header::CONTENT_SECURITY_POLICY,
                            "default-src 'self'; connect-src *; img-src 'self' data:; style-src 'self'; base-uri 'none'; frame-ancestors 'none'",
                        ),
                        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                    ],
                    body,
                )
            }),
        );
    }
    let app = app.route(
        "/config.json",
        axum::routing::get(move |headers: HeaderMap| async move { config(&headers, api, tls) }),
    );
    let listener = crate::side_listener::CappedListener::new(listener, limits);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!("the console stopped: {e}");
    }
}

/// `{"api": "http://HOST:PORT"}`: the host the browser reached the console
/// by (the API usually listens on the same interfaces), at the API's port.
fn config(
    headers: &HeaderMap,
    api: SocketAddr,
    tls: bool,
) -> ([(header::HeaderName, HeaderValue); 1], String) {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(host_of)
        .unwrap_or_else(|| api.ip().to_string());
    let scheme = if tls { "https" } else { "http" };
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host
    };
    // `host_of` admits no quote or backslash, so the JSON needs no escaping.
    let body = format!("{{\"api\":\"{scheme}://{host}:{}\"}}", api.port());
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
}

/// The host part of a `Host` header (`name:port`, `[v6]:port`, or bare),
/// if it is a plausible host name or address.
fn host_of(value: &str) -> Option<String> {
    let host = if let Some(rest) = value.strip_prefix('[') {
        format!("[{}]", rest.split(']').next()?)
    } else {
        value.split(':').next()?.to_owned()
    };
    let plausible = !host.is_empty()
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    plausible.then_some(host)
}

/// The CORS rules of the API port: the console's page may call it, that is
/// a page from the console's port on the very host the call is addressed
/// to (as the page's `/config.json` directs), with the headers gRPC-Web
/// needs; the answer's gRPC status headers are readable by the page. A page
/// from any other host or port is refused.
pub fn cors(console_port: u16) -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origin = AllowOrigin::predicate(move |origin: &HeaderValue, request| {
        let called = request
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(host_of)
            .or_else(|| request.uri.host().map(str::to_owned));
        is_console_origin(origin, called.as_deref(), console_port)
    });
    CorsLayer::new()
        .allow_origin(origin)
        .allow_methods([http::Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            http::HeaderName::from_static("x-grpc-web"),
            http::HeaderName::from_static("x-user-agent"),
            http::HeaderName::from_static("grpc-timeout"),
        ])
        .expose_headers([
            http::HeaderName::from_static("grpc-status"),
            http::HeaderName::from_static("grpc-message"),
            http::HeaderName::from_static("grpc-status-details-bin"),
        ])
        .max_age(std::time::Duration::from_secs(600))
}

/// Whether `origin` is the console's page: its port is the console's (a
/// browser leaves 80 and 443 out), its host the one the call went to.
fn is_console_origin(origin: &HeaderValue, called_host: Option<&str>, console_port: u16) -> bool {
    let Some(uri) = origin
        .to_str()
        .ok()
        .and_then(|o| o.parse::<http::Uri>().ok())
    else {
        return false;
    };
    let port = uri.port_u16().or(match uri.scheme_str() {
        Some("http") => Some(80),
        Some("https") => Some(443),
        _ => None,
    });
    let host = uri.host().map(str::to_ascii_lowercase);
    port == Some(console_port) && host.is_some() && host == called_host.map(str::to_ascii_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_url_uses_the_host_the_browser_used() {
        assert_eq!(
            host_of("console.example:8080").as_deref(),
            Some("console.example")
        );
        assert_eq!(host_of("[::1]:8080").as_deref(), Some("[::1]"));
        assert_eq!(host_of("10.0.0.5").as_deref(), Some("10.0.0.5"));
        assert_eq!(host_of("evil\"host"), None);
        assert_eq!(host_of(""), None);
    }

    #[test]
    fn only_the_consoles_own_page_may_call_the_api() {
        let origin = |o: &'static str| HeaderValue::from_static(o);
        let ok = |o, host| is_console_origin(&origin(o), host, 8080);
        assert!(ok("http://10.0.0.5:8080", Some("10.0.0.5")));
        assert!(ok("http://Console.Example:8080", Some("console.example")));
        // Another site on the same port, another port, no host to compare.
        assert!(!ok("http://evil.example:8080", Some("10.0.0.5")));
        assert!(!ok("http://10.0.0.5:9999", Some("10.0.0.5")));
        assert!(!ok("http://10.0.0.5:8080", None));
        assert!(!ok("null", Some("10.0.0.5")));
        // Default ports are left out of an origin.
        assert!(is_console_origin(
            &origin("http://10.0.0.5"),
            Some("10.0.0.5"),
            80
        ));
    }
}
