//! One rustls crypto provider for the whole process.

/// Installs ring as the process-wide rustls provider unless one is installed already. Every TLS
/// user of the crate (the GoAlert client, the webhook server) calls this first, so library users
/// and tests need no set-up of their own.
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread installing the same provider is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
