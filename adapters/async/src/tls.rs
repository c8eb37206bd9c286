//! TLS for listen and dial, with rustls (ring provider) over any transport.
//!
//! One implementation for every runtime: it works on the runtime-neutral
//! `futures-io` traits the session driver already uses.

use std::io;
use std::path::Path;
use std::sync::Arc;

pub use futures_rustls::rustls;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
pub use rustls::{ClientConfig, ServerConfig};

use crate::rt::BoxIo;

/// What a TLS dial needs: the client config and the name to verify.
#[derive(Clone, Debug)]
pub struct ClientTls {
    /// rustls client config.
    pub config: Arc<ClientConfig>,
    /// The server's name (DNS name or IP address) in its certificate.
    pub server_name: ServerName<'static>,
}

impl ClientTls {
    /// Trust the CA certificates in `ca_pem` and verify `server_name`.
    pub fn from_ca_pem(ca_pem: &[u8], server_name: &str) -> io::Result<Self> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem) {
            roots.add(cert.map_err(invalid)?).map_err(invalid)?;
        }
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(invalid)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
            server_name: ServerName::try_from(server_name.to_owned()).map_err(invalid)?,
        })
    }

    /// [`from_ca_pem`](Self::from_ca_pem) reading a file.
    pub fn from_ca_file(path: impl AsRef<Path>, server_name: &str) -> io::Result<Self> {
        Self::from_ca_pem(&std::fs::read(path)?, server_name)
    }
}

/// A server config from a PEM certificate chain and private key.
pub fn server_config_from_pem(cert_pem: &[u8], key_pem: &[u8]) -> io::Result<Arc<ServerConfig>> {
    let certs = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(invalid)?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(invalid)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(invalid)?;
    Ok(Arc::new(config))
}

/// [`server_config_from_pem`] reading two files.
pub fn server_config_from_files(
    cert: impl AsRef<Path>,
    key: impl AsRef<Path>,
) -> io::Result<Arc<ServerConfig>> {
    server_config_from_pem(&std::fs::read(cert)?, &std::fs::read(key)?)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, e.to_string())
}

pub(crate) async fn accept(config: Arc<ServerConfig>, io: BoxIo) -> io::Result<BoxIo> {
    let stream = futures_rustls::TlsAcceptor::from(config).accept(io).await?;
    Ok(Box::new(stream))
}

pub(crate) async fn connect(tls: &ClientTls, io: BoxIo) -> io::Result<BoxIo> {
    let stream = futures_rustls::TlsConnector::from(tls.config.clone())
        .connect(tls.server_name.clone(), io)
        .await?;
    Ok(Box::new(stream))
}
