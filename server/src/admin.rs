//! Who may call admin RPCs (`ReloadModels`): a caller presenting the admin
//! token as `authorization: Bearer <token>`, or anyone when the operator
//! explicitly allowed unauthenticated admin calls on a loopback-only server.
//! With neither configured, admin RPCs are refused.

use tonic::metadata::MetadataMap;

use crate::error::ApiError;

/// The admin policy, fixed at start.
#[derive(Clone, Default)]
pub struct AdminPolicy {
    token: Option<String>,
    allow_unauthenticated: bool,
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
    /// A policy from the configuration; unauthenticated admin is only
    /// accepted on a loopback listener.
    pub fn new(
        token: Option<String>,
        allow_unauthenticated: bool,
        listen: std::net::SocketAddr,
    ) -> Result<Self, String> {
        if allow_unauthenticated && !listen.ip().is_loopback() {
            return Err(format!(
                "--allow-unauthenticated-admin is only accepted on a loopback address, not {listen}; set --admin-token instead"
            ));
        }
        Ok(Self {
            token: token.filter(|t| !t.is_empty()),
            allow_unauthenticated,
        })
    }

    /// Checks an admin call's credentials.
    pub fn authorize(&self, metadata: &MetadataMap) -> Result<(), ApiError> {
        let presented = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match (&self.token, presented) {
            (Some(token), Some(presented)) if constant_time_eq(token.as_bytes(), presented.as_bytes()) => Ok(()),
            (Some(_), Some(_)) => Err(ApiError::PermissionDenied("the admin token presented is not this server's".into())),
            (Some(_), None) if self.allow_unauthenticated => Ok(()),
            (Some(_), None) => Err(ApiError::Unauthenticated(
                "admin call: send the admin token as `authorization: Bearer <token>` (stratus reload --admin-token)".into(),
            )),
            (None, _) if self.allow_unauthenticated => Ok(()),
            (None, _) => Err(ApiError::PermissionDenied(
                "admin calls are disabled: start the server with --admin-token, or --allow-unauthenticated-admin on loopback"
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

    #[test]
    fn the_token_is_required_and_checked() {
        let loopback = "127.0.0.1:1".parse().unwrap();
        let policy = AdminPolicy::new(Some("s3cret".into()), false, loopback).unwrap();
        assert!(policy.authorize(&metadata(Some("Bearer s3cret"))).is_ok());
        assert!(matches!(
            policy.authorize(&metadata(None)),
            Err(ApiError::Unauthenticated(_))
        ));
        assert!(matches!(
            policy.authorize(&metadata(Some("Bearer nope"))),
            Err(ApiError::PermissionDenied(_))
        ));
        let closed = AdminPolicy::new(None, false, loopback).unwrap();
        assert!(matches!(
            closed.authorize(&metadata(None)),
            Err(ApiError::PermissionDenied(_))
        ));
        let open = AdminPolicy::new(None, true, loopback).unwrap();
        assert!(open.authorize(&metadata(None)).is_ok());
        assert!(AdminPolicy::new(None, true, "0.0.0.0:1".parse().unwrap()).is_err());
    }
}
