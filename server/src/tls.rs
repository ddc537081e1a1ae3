//! TLS and mutual TLS for the listener, from PEM files (tonic's rustls
//! support). With `--tls-cert`/`--tls-key` the server speaks TLS only; with
//! `--tls-client-ca` it also demands a client certificate signed by that CA.

use std::path::Path;
use std::time::Duration;

use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use crate::config::Config;

/// Why the TLS settings cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {flag} {path}: {source}")]
pub struct TlsError {
    flag: &'static str,
    path: String,
    source: std::io::Error,
}

/// The listener's TLS settings, or `None` for plaintext. The handshake must
/// finish within `handshake_timeout`.
pub fn server_config(
    config: &Config,
    handshake_timeout: Duration,
) -> Result<Option<ServerTlsConfig>, TlsError> {
    let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
        return Ok(None);
    };
    let identity = Identity::from_pem(read("--tls-cert", cert)?, read("--tls-key", key)?);
    let mut tls = ServerTlsConfig::new()
        .identity(identity)
        .timeout(handshake_timeout);
    if let Some(ca) = &config.tls_client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(read("--tls-client-ca", ca)?));
    }
    Ok(Some(tls))
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError {
        flag,
        path: path.display().to_string(),
        source,
    })
}
