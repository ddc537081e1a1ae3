//! Where the servers are: `--server` as a comma-separated list of URLs, each
//! host name expanded to every address it resolves to, so that one name for
//! many replicas (a Kubernetes headless Service) becomes one endpoint per
//! replica that the client can balance over and fail over between.

use std::net::{IpAddr, SocketAddr};

use tonic::transport::Uri;

use crate::ConnectError;

/// One entry of the server list, as the user wrote it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// The URL as given (`http://host:port` or `https://host:port`).
    pub url: String,
    /// Whether it is `https://`.
    pub https: bool,
    /// The host name or address literal.
    host: String,
    /// The port (the scheme's, 80 or 443, when none is given, as in any URL).
    port: u16,
}

impl Entry {
    /// Whether the host is a name that DNS may resolve to several
    /// addresses (and to other addresses later).
    pub fn is_name(&self) -> bool {
        self.host
            .trim_matches(['[', ']'])
            .parse::<IpAddr>()
            .is_err()
    }
}

/// One address to connect to: a URL, and when it was resolved from a name,
/// that name (TLS verifies it; the `:authority` header carries it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `scheme://address:port`, or the URL as given when it was not expanded.
    pub url: String,
    /// The URL as given, when `url` is one of its resolved addresses.
    pub origin: Option<String>,
    /// The host name `url` was resolved from.
    pub domain: Option<String>,
}

/// Splits a server list (`a,b,c`) into its URLs. A bare `host:port` means
/// `http://host:port`.
pub(crate) fn parse(spec: &str) -> Result<Vec<Entry>, ConnectError> {
    let mut entries = Vec::new();
    for raw in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let url = if raw.contains("://") {
            raw.to_owned()
        } else {
            format!("http://{raw}")
        };
        let invalid = |why: &str| ConnectError::InvalidServer {
            url: url.clone(),
            why: why.to_owned(),
        };
        let uri: Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        let https = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => true,
            Some(s) if s.eq_ignore_ascii_case("http") => false,
            _ => return Err(invalid("the scheme must be http:// or https://")),
        };
        let host = uri.host().ok_or_else(|| invalid("no host"))?.to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        entries.push(Entry {
            url,
            https,
            host,
            port,
        });
    }
    if entries.is_empty() {
        return Err(ConnectError::NoServer);
    }
    Ok(entries)
}

/// The addresses behind `entries`: a name that resolves to several
/// addresses becomes one target per address; an address literal, a name
/// with one address, or one that does not resolve (the connection will
/// report it) stays as given.
pub(crate) async fn resolve(entries: &[Entry]) -> Vec<Target> {
    resolve_all(entries).await.0
}

/// [`resolve`], and whether every host name resolved.
pub(crate) async fn resolve_all(entries: &[Entry]) -> (Vec<Target>, bool) {
    let mut complete = true;
    let mut targets: Vec<Target> = Vec::new();
    for entry in entries {
        let as_given = Target {
            url: entry.url.clone(),
            origin: None,
            domain: None,
        };
        let mut addresses: Vec<SocketAddr> = if entry.is_name() {
            match tokio::net::lookup_host((entry.host.as_str(), entry.port)).await {
                Ok(found) => found.collect(),
                Err(_) => {
                    complete = false;
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        addresses.sort_unstable();
        addresses.dedup();
        if addresses.len() <= 1 {
            targets.push(as_given);
            continue;
        }
        let scheme = if entry.https { "https" } else { "http" };
        for address in addresses {
            targets.push(Target {
                url: format!("{scheme}://{address}"),
                origin: Some(entry.url.clone()),
                domain: Some(entry.host.clone()),
            });
        }
    }
    // The same server listed twice would get twice the calls.
    let mut seen = std::collections::HashSet::new();
    targets.retain(|t| seen.insert(t.url.clone()));
    (targets, complete)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_splits_on_commas_and_bare_addresses_are_http() {
        let entries = parse("http://a:1, b:2 ,https://c:3").expect("parses");
        let urls: Vec<&str> = entries.iter().map(|e| e.url.as_str()).collect();
        assert_eq!(urls, ["http://a:1", "http://b:2", "https://c:3"]);
        assert!(entries[2].https && !entries[0].https);
    }

    #[test]
    fn an_empty_list_and_a_bad_scheme_name_the_problem() {
        assert!(matches!(parse(" , "), Err(ConnectError::NoServer)));
        let error = parse("ftp://a:1").expect_err("refused").to_string();
        assert!(
            error.contains("ftp://a:1") && error.contains("http://"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn literals_stay_as_given_and_a_name_expands_to_its_addresses() {
        let entries =
            parse("http://127.0.0.1:7,http://[::1]:7,http://127.0.0.1:7").expect("parses");
        let targets = resolve(&entries).await;
        let urls: Vec<&str> = targets.iter().map(|t| t.url.as_str()).collect();
        assert_eq!(urls, ["http://127.0.0.1:7", "http://[::1]:7"]);
        assert!(!entries[0].is_name() && !entries[1].is_name());

        // `localhost` resolves to one or two loopback addresses, depending
        // on the machine: each becomes a target carrying the name.
        let targets = resolve(&parse("https://localhost:9").expect("parses")).await;
        for target in &targets {
            if target.domain.is_some() {
                assert_eq!(target.domain.as_deref(), Some("localhost"));
                assert_eq!(target.origin.as_deref(), Some("https://localhost:9"));
                assert!(target.url.starts_with("https://") && target.url.ends_with(":9"));
            } else {
                assert_eq!(target.url, "https://localhost:9");
            }
        }
    }
}
