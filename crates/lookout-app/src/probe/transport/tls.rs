//! TLS for probes: client configurations (public roots plus a private CA) and the handshake,
//! with certificate failures told from other TLS failures.

use super::*;

/// The public roots (webpki-roots, as reqwest's `rustls-tls`), built once per process on the
/// first TLS check and shared by every configuration: no file is read, and a function that
/// never probes over TLS never builds them.
static PUBLIC_ROOTS: std::sync::LazyLock<rustls::RootCertStore> = std::sync::LazyLock::new(|| {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    roots
});

/// TLS client settings: the public roots ([`PUBLIC_ROOTS`]) plus an optional private CA, ALPN
/// `http/1.1`. Built once per distinct `ca_pem` and cached.
#[derive(Clone, Default)]
pub(crate) struct TlsConfigs {
    cache: Arc<Mutex<std::collections::HashMap<String, Arc<rustls::ClientConfig>>>>,
}

/// Most TLS configurations kept (one per distinct `ca_pem`) before the cache is emptied.
const MAX_TLS_CONFIGS: usize = 256;

impl TlsConfigs {
    /// The configuration that trusts the public roots and `ca_pem`.
    pub fn get(&self, ca_pem: Option<&str>) -> Result<Arc<rustls::ClientConfig>, Failure> {
        let key = ca_pem.unwrap_or("").to_string();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(&key) {
            return Ok(c.clone());
        }
        let mut roots = PUBLIC_ROOTS.clone();
        if let Some(pem) = ca_pem {
            use rustls::pki_types::{pem::PemObject, CertificateDer};
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| {
                    Failure::new(ErrorKind::Cert, format!("cert: ca_pem does not parse: {e}"))
                })?;
                roots.add(cert).map_err(|e| {
                    Failure::new(ErrorKind::Cert, format!("cert: ca_pem is not usable: {e}"))
                })?;
                added += 1;
            }
            if added == 0 {
                return Err(Failure::new(
                    ErrorKind::Cert,
                    "cert: ca_pem holds no certificate",
                ));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Failure::new(ErrorKind::Tls, format!("tls: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        if cache.len() >= MAX_TLS_CONFIGS {
            cache.clear();
        }
        cache.insert(key, config.clone());
        Ok(config)
    }
}

/// TLS over `io` to `host`; returns the stream and the leaf certificate's DER.
pub(crate) async fn tls_handshake(
    io: Box<dyn Io>,
    host: &str,
    config: Arc<rustls::ClientConfig>,
) -> Result<(Box<dyn Io>, Option<Vec<u8>>), Failure> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = rustls::pki_types::ServerName::try_from(bare.to_string())
        .map_err(|e| Failure::new(ErrorKind::Tls, format!("tls: bad server name: {e}")))?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, io)
        .await
        .map_err(|e| tls_failure(&e))?;
    let leaf = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.as_ref().to_vec());
    Ok((Box::new(tls), leaf))
}

/// Maps a TLS handshake error: an invalid certificate is `cert`, the rest `tls`; the peer
/// closing is `connect`.
pub(super) fn tls_failure(e: &std::io::Error) -> Failure {
    let inner = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<rustls::Error>())
        .cloned();
    let mut f = match inner {
        Some(rustls::Error::InvalidCertificate(c)) => {
            Failure::new(ErrorKind::Cert, format!("certificate: {c:?}"))
        }
        Some(other) => Failure::new(ErrorKind::Tls, format!("tls: {other}")),
        None if matches!(
            e.kind(),
            std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::BrokenPipe
        ) =>
        {
            Failure::new(
                ErrorKind::Tls,
                format!("tls: the peer closed the connection during the handshake ({e})"),
            )
        }
        None => Failure::new(ErrorKind::Tls, format!("tls: {e}")),
    };
    f.message = clip(&redact_text(&f.message), 200);
    f.connecting = true;
    f
}
