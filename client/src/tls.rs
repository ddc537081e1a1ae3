//! TLS settings for `https://` servers, read from PEM files.

use tonic::transport::{Certificate, ClientTlsConfig, Identity};

use crate::ConnectError;

/// TLS settings for `https://` servers: the CA to trust (default: the public
/// web PKI roots) and, for servers that demand one (mutual TLS), a client
/// certificate and key. All PEM.
#[derive(Clone, Default)]
pub struct TlsOptions {
    /// PEM CA certificate(s) to trust instead of the public roots.
    pub ca: Option<Vec<u8>>,
    /// PEM client certificate and its key.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for TlsOptions {
    // Never print the private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca", &self.ca.as_ref().map(|_| "<pem>"))
            .field("identity", &self.identity.as_ref().map(|_| "<pem, key>"))
            .finish()
    }
}

impl TlsOptions {
    /// Whether any TLS file was given.
    pub fn is_set(&self) -> bool {
        self.ca.is_some() || self.identity.is_some()
    }

    /// Reads the PEM files named (any may be absent).
    pub fn from_files(
        ca: Option<&std::path::Path>,
        cert: Option<&std::path::Path>,
        key: Option<&std::path::Path>,
    ) -> Result<Self, ConnectError> {
        let read = |what: &'static str, path: &std::path::Path| {
            std::fs::read(path).map_err(|source| ConnectError::TlsFile {
                what,
                path: path.display().to_string(),
                source,
            })
        };
        let ca = ca.map(|p| read("--ca", p)).transpose()?;
        let identity = match (cert, key) {
            (Some(cert), Some(key)) => Some((read("--cert", cert)?, read("--key", key)?)),
            _ => None,
        };
        Ok(Self { ca, identity })
    }

    /// The rustls settings; `domain` is the name to verify when the
    /// connection goes to an address resolved from it.
    pub(crate) fn config(&self, domain: Option<&str>) -> ClientTlsConfig {
        let mut config = ClientTlsConfig::new();
        config = match &self.ca {
            Some(ca) => config.ca_certificate(Certificate::from_pem(ca)),
            None => config.with_webpki_roots(),
        };
        if let Some((cert, key)) = &self.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        if let Some(domain) = domain {
            config = config.domain_name(domain);
        }
        config
    }
}
