//! Why a client could not be set up: a bad address, unusable TLS files, or
//! no server answering. Each message says what to check.

use crate::DEFAULT_SERVER;

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The address is not a valid URL.
    #[error("'{url}' is not a valid server URL (expected e.g. {DEFAULT_SERVER}): {source}")]
    InvalidUrl {
        /// What was given.
        url: String,
        /// The parse error.
        source: tonic::transport::Error,
    },
    /// The TLS settings are unusable (a certificate or key that does not
    /// parse, or that rustls refuses).
    #[error(
        "cannot use the TLS settings for {url}: {source}; check the --ca, --cert and --key files (PEM, X.509 v3)"
    )]
    Tls {
        /// The server.
        url: String,
        /// What tonic/rustls said.
        source: tonic::transport::Error,
    },
    /// TLS files were given for a plaintext URL.
    #[error("--ca, --cert and --key apply to https:// servers; {url} is plaintext (use https://)")]
    TlsForPlaintext {
        /// The URL.
        url: String,
    },
    /// A TLS file could not be read.
    #[error("cannot read {what} {path}: {source}")]
    TlsFile {
        /// Which file (`--ca`, `--cert`, `--key`).
        what: &'static str,
        /// Its path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Nothing answered there (with several endpoints: none of them).
    #[error("cannot connect to {url}: {source}; is stratus-server running there?")]
    Unreachable {
        /// Where we tried (the first endpoint tried, or the list).
        url: String,
        /// The transport error.
        source: tonic::transport::Error,
    },
    /// An entry of the server list is not a usable URL.
    #[error("'{url}' is not a valid server URL: {why} (expected e.g. {DEFAULT_SERVER})")]
    InvalidServer {
        /// The entry.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// The server list is empty.
    #[error("no server given (expected e.g. {DEFAULT_SERVER}, or a comma-separated list)")]
    NoServer,
}
