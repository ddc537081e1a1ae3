//! Who may call admin RPCs (`ReloadModels`): a caller presenting the admin
//! token as `authorization: Bearer <token>`, or a caller on this machine
//! (loopback, and not a browser page) when the operator explicitly allowed
//! unauthenticated admin calls. With neither configured, admin RPCs are refused. Refusals are
//! logged with the caller's address (at most one line per 10 s, with a
//! count), so probing is visible without flooding the log.
//!
//! The token never crosses a network in clear text: the server refuses to
//! start with a token on a non-loopback address without TLS.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tonic::metadata::MetadataMap;

use crate::error::ApiError;
use crate::telemetry::Throttle;

/// The admin policy, fixed at start.
#[derive(Clone)]
pub struct AdminPolicy {
    token: Option<String>,
    allow_unauthenticated: bool,
    refusals: Arc<Throttle>,
}

impl Default for AdminPolicy {
    fn default() -> Self {
        Self {
            token: None,
            allow_unauthenticated: false,
            refusals: Arc::new(Throttle::new(std::time::Duration::from_secs(10))),
        }
    }
}

impl std::fmt::Debug for AdminPolicy {
    // Never print the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminPolicy")
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("allow_unauthenticated", &self.allow_unauthenticated)
            .finish()
    }
}

impl AdminPolicy {
    /// A policy from the configuration. `token` comes from `--admin-token`
    /// (or its environment variable) or `token_file`. Refuses a token that
    /// would travel in clear text: on a non-loopback `listen` without `tls`.
    pub fn new(
        token: Option<String>,
        token_file: Option<&Path>,
        allow_unauthenticated: bool,
        listen: SocketAddr,
        tls: bool,
    ) -> Result<Self, String> {
        let token = match token_file {
            Some(file) => Some(
                std::fs::read_to_string(file)
                    .map_err(|e| format!("cannot read --admin-token-file {}: {e}", file.display()))?
                    .trim()
                    .to_owned(),
            ),
            None => token,
        }
        .filter(|t| !t.is_empty());
        if token.is_some() && !tls && !listen.ip().is_loopback() {
            return Err(format!(
                "refusing to start: the admin token would cross the network in clear text on {listen}; \
                 serve TLS (--tls-cert and --tls-key) or listen on a loopback address"
            ));
        }
        Ok(Self {
            token,
            allow_unauthenticated,
            ..Self::default()
        })
    }

    /// Checks an admin call's credentials; `caller` is the peer's address.
    pub fn authorize(
        &self,
        metadata: &MetadataMap,
        caller: Option<SocketAddr>,
    ) -> Result<(), ApiError> {
        let result = self.decide(metadata, caller);
        if let Err(error) = &result
            && let Some(refused) = self.refusals.tick()
        {
            tracing::warn!(
                caller = ?caller,
                refused,
                %error,
                "admin call refused (logged at most once per 10 s; `refused` counts since the last line)"
            );
        }
        result
    }

    fn decide(&self, metadata: &MetadataMap, caller: Option<SocketAddr>) -> Result<(), ApiError> {
        let presented = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // A browser page (the console, or any site the browser has open)
        // reaches a loopback server from loopback too; browsers mark their
        // calls with `origin`, and such a call is never a local operator's.
        let from_browser = metadata.get("origin").is_some();
        let local = caller.is_some_and(|addr| addr.ip().is_loopback()) && !from_browser;
        match (&self.token, presented) {
            // A token the server knows is checked whoever presents it.
            (Some(token), Some(presented)) => {
                if constant_time_eq(token.as_bytes(), presented.as_bytes()) {
                    Ok(())
                } else {
                    Err(ApiError::PermissionDenied(
                        "the admin token presented is not this server's".into(),
                    ))
                }
            }
            // Opted in, and the caller is on this machine: no token needed
            // (one sent anyway to a server without a token is ignored).
            _ if self.allow_unauthenticated && local => Ok(()),
            (Some(_), None) => Err(ApiError::Unauthenticated(
                "admin call: send the admin token as `authorization: Bearer <token>` (stratus reload --admin-token)".into(),
            )),
            (None, _) if self.allow_unauthenticated => Err(ApiError::PermissionDenied(
                "unauthenticated admin calls are accepted from this machine (loopback) only, and never from a browser page".into(),
            )),
            (None, _) => Err(ApiError::PermissionDenied(
                "admin calls are disabled: start the server with --admin-token-file, or --allow-unauthenticated-admin for callers on loopback"
                    .into(),
            )),
        }
    }
}

/// Compares without stopping at the first difference, so response time does
/// not reveal how much of a guess was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(auth: Option<&str>) -> MetadataMap {
        let mut m = MetadataMap::new();
        if let Some(a) = auth {
            m.insert("authorization", a.parse().unwrap());
        }
        m
    }

    const LOCAL: Option<SocketAddr> = Some(SocketAddr::new(
        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        40000,
    ));
    const REMOTE: Option<SocketAddr> = Some(SocketAddr::new(
        std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7)),
        40000,
    ));

    fn policy(
        token: Option<&str>,
        open: bool,
        listen: &str,
        tls: bool,
    ) -> Result<AdminPolicy, String> {
        AdminPolicy::new(
            token.map(str::to_owned),
            None,
            open,
            listen.parse().unwrap(),
            tls,
        )
    }

    #[test]
    fn the_token_is_required_and_checked() {
        let policy = policy(Some("s3cret"), false, "127.0.0.1:1", false).unwrap();
        assert!(
            policy
                .authorize(&metadata(Some("Bearer s3cret")), REMOTE)
                .is_ok()
        );
        assert!(matches!(
            policy.authorize(&metadata(None), LOCAL),
            Err(ApiError::Unauthenticated(_))
        ));
        assert!(matches!(
            policy.authorize(&metadata(Some("Bearer nope")), LOCAL),
            Err(ApiError::PermissionDenied(_))
        ));
        let closed = super::tests::policy(None, false, "127.0.0.1:1", false).unwrap();
        assert!(matches!(
            closed.authorize(&metadata(None), LOCAL),
            Err(ApiError::PermissionDenied(_))
        ));
    }

    #[test]
    fn unauthenticated_admin_is_for_callers_on_loopback_only() {
        let open = policy(None, true, "0.0.0.0:1", false).unwrap();
        assert!(open.authorize(&metadata(None), LOCAL).is_ok());
        // A token sent to a server that has none is ignored.
        assert!(open.authorize(&metadata(Some("Bearer x")), LOCAL).is_ok());
        assert!(open.authorize(&metadata(None), REMOTE).is_err());
        assert!(open.authorize(&metadata(None), None).is_err());
        // A browser page on this machine is not the operator.
        let mut from_page = metadata(None);
        from_page.insert("origin", "http://127.0.0.1:8080".parse().unwrap());
        assert!(open.authorize(&from_page, LOCAL).is_err());
    }

    #[test]
    fn a_token_never_travels_in_clear_text() {
        let error = policy(Some("t"), false, "0.0.0.0:1", false).unwrap_err();
        assert!(error.contains("clear text"), "{error}");
        assert!(policy(Some("t"), false, "0.0.0.0:1", true).is_ok());
        assert!(policy(Some("t"), false, "[::1]:1", false).is_ok());
    }

    #[test]
    fn the_token_file_is_read_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "s3cret\n").unwrap();
        let policy = AdminPolicy::new(
            None,
            Some(&file),
            false,
            "127.0.0.1:1".parse().unwrap(),
            false,
        )
        .unwrap();
        assert!(
            policy
                .authorize(&metadata(Some("Bearer s3cret")), LOCAL)
                .is_ok()
        );
    }
}
