//! TLS trust: the system's roots plus a workspace's own `ca_file`, loaded into
//! a rustls client config. Shared by the instance check and, later, the
//! GitLab client, so both trust exactly the same certificates.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;

/// Most a `ca_file` may hold; a full system bundle is about 200 KiB.
const MAX_CA_FILE: u64 = 16 * 1024 * 1024;

/// Reads a PEM file that must hold at least one certificate. The error is a
/// sentence for the config report.
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = crate::files::read_capped(path, MAX_CA_FILE).map_err(|e| {
        format!(
            "cannot read ca_file `{}`: {e}; point it at your CA's PEM file",
            path.display()
        )
    })?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut bytes.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("ca_file `{}` is not valid PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "ca_file `{}` holds no certificate; it must contain \"-----BEGIN CERTIFICATE-----\" blocks",
            path.display()
        ));
    }
    Ok(certs)
}

/// The roots a workspace trusts: the platform's store plus its `ca_file`.
pub fn root_store(ca_file: Option<&Path>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    // Unreadable individual system certificates are skipped: one broken file
    // in /etc/ssl/certs must not stop every TLS check.
    let mut native = rustls_native_certs::load_native_certs().certs;
    // Debian-like systems have every certificate twice: in the bundle file
    // and in the directory, and both are read. One copy of each is enough.
    native.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
    native.dedup_by(|a, b| a.as_ref() == b.as_ref());
    roots.add_parsable_certificates(native);
    if let Some(path) = ca_file {
        for cert in load_ca_file(path)? {
            roots
                .add(cert)
                .map_err(|e| format!("ca_file `{}` holds a certificate rustls rejects: {e}", path.display()))?;
        }
    }
    Ok(roots)
}

/// A rustls client config for one workspace (HTTP/1.1 only).
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(root_store(ca_file)?)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
