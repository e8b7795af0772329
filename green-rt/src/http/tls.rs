//! TLS over green sockets (cargo feature `tls`): rustls, with the `ring`
//! crypto provider, on a green [`TcpStream`].
//!
//! rustls is sans-I/O: its `StreamOwned` reads and writes whatever
//! `Read + Write` it is given, so over a green `TcpStream` every handshake
//! read and every record written waits greenly, and the hub keeps running
//! the other greenlets. This module adds what a server or a client needs
//! around it:
//!
//! - [`TlsAcceptor`]: the server side. Build it from a PEM certificate chain
//!   and key ([`TlsAcceptor::from_pem`], [`TlsAcceptor::from_pem_files`]) or
//!   from a rustls `ServerConfig`; [`accept`](TlsAcceptor::accept) turns an
//!   accepted `TcpStream` into a [`TlsStream`], handshake done.
//! - [`TlsConnector`]: the client side, with Mozilla's roots (the
//!   `webpki-roots` crate) or roots of your own (a private CA in PEM).
//!   [`green::http::client`](super::client) uses it for `https://`.
//! - [`TlsStream`]: `Read + Write`, like the `TcpStream` it wraps.
//!
//! The handshake runs eagerly in `accept` and `connect`, under a deadline
//! (10 s by default; [`TlsAcceptor::handshake_timeout`]), so a client that
//! opens a connection and sends nothing cannot hold a greenlet for ever.
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! use std::io::{Read, Write};
//! use green_rt::http::tls::TlsAcceptor;
//! use green_rt::net::TcpListener;
//!
//! let acceptor = TlsAcceptor::from_pem_files("cert.pem", "key.pem")?;
//! let listener = TcpListener::bind("127.0.0.1:8443")?;
//! for conn in listener.incoming() {
//!     let acceptor = acceptor.clone();
//!     green_rt::thread::spawn(move || -> std::io::Result<()> {
//!         let mut tls = acceptor.accept(conn?)?;
//!         let mut buf = [0; 1024];
//!         let n = tls.read(&mut buf)?;
//!         tls.write_all(&buf[..n])
//!     });
//! }
//! # Ok(()) }
//! ```
//!
//! The `rustls` crate is re-exported as [`rustls`] for configurations this
//! module does not build (client certificates, ALPN, session caches); it
//! follows rustls's versions, not green's.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

pub use rustls;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

use crate::net::TcpStream;

/// How long [`TlsAcceptor::accept`] and [`TlsConnector::connect`] wait for
/// the handshake unless told otherwise.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The crypto provider green's configurations use: rustls's `ring`.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    static PROVIDER: OnceLock<Arc<rustls::crypto::CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// Parses every certificate of a PEM file's contents (a chain, or a set of
/// roots).
///
/// # Errors
///
/// `InvalidData` for malformed PEM or when no certificate is present.
pub fn certificates_from_pem(pem: &[u8]) -> io::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    if certs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no CERTIFICATE section in the PEM data",
        ));
    }
    Ok(certs)
}

/// Parses the first private key (PKCS#8, PKCS#1 or SEC1) of a PEM file's
/// contents.
///
/// # Errors
///
/// `InvalidData` for malformed PEM or when no key is present.
pub fn private_key_from_pem(pem: &[u8]) -> io::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// The server side of TLS: performs the handshake on accepted green
/// [`TcpStream`]s. Cheap to clone (the configuration is shared).
#[derive(Clone)]
pub struct TlsAcceptor {
    config: Arc<ServerConfig>,
    handshake_timeout: Option<Duration>,
}

impl TlsAcceptor {
    /// An acceptor presenting `cert_chain` (PEM: the server's certificate
    /// first, then intermediates) with the private key `key` (PEM), TLS 1.2
    /// and 1.3, no client authentication, no ALPN.
    ///
    /// # Errors
    ///
    /// `InvalidData` if the PEM data is malformed or the key does not fit
    /// the certificate.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> io::Result<TlsAcceptor> {
        let certs = certificates_from_pem(cert_chain)?;
        let key = private_key_from_pem(key)?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(tls_error)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(tls_error)?;
        Ok(TlsAcceptor::from_config(Arc::new(config)))
    }

    /// [`from_pem`](Self::from_pem) with the PEM data read from two files
    /// (greenly, on the blocking-call pool).
    ///
    /// # Errors
    ///
    /// A file cannot be read, or as [`from_pem`](Self::from_pem).
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> io::Result<TlsAcceptor> {
        let certs = crate::fs::read(cert_chain)?;
        let key = crate::fs::read(key)?;
        TlsAcceptor::from_pem(&certs, &key)
    }

    /// An acceptor with a rustls configuration of your own (ALPN, client
    /// certificates, another provider).
    pub fn from_config(config: Arc<ServerConfig>) -> TlsAcceptor {
        TlsAcceptor {
            config,
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
        }
    }

    /// Sets how long [`accept`](Self::accept) waits for the handshake in
    /// all (`None`: no limit). Default: [`DEFAULT_HANDSHAKE_TIMEOUT`].
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> TlsAcceptor {
        self.handshake_timeout = timeout;
        self
    }

    /// The rustls configuration.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// Runs the server side of the handshake on `stream` and returns the
    /// encrypted stream. The stream's own timeouts are kept for later
    /// reads and writes.
    ///
    /// # Errors
    ///
    /// `TimedOut` when the handshake deadline passes, `InvalidData` for a
    /// TLS failure (a client that does not trust the certificate, a plain
    /// HTTP request), `UnexpectedEof` when the client goes away, or the
    /// socket's error.
    pub fn accept(&self, stream: TcpStream) -> io::Result<TlsStream> {
        let conn = ServerConnection::new(self.config.clone()).map_err(tls_error)?;
        let mut tls = rustls::StreamOwned::new(conn, stream);
        handshake(&mut tls.conn, &mut tls.sock, self.handshake_timeout)?;
        Ok(TlsStream {
            inner: Inner::Server(tls),
        })
    }
}

impl fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptor")
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

/// The client side of TLS: performs the handshake on connected green
/// [`TcpStream`]s, checking the server's certificate and name. Cheap to
/// clone (the configuration is shared).
#[derive(Clone)]
pub struct TlsConnector {
    config: Arc<ClientConfig>,
    handshake_timeout: Option<Duration>,
}

impl Default for TlsConnector {
    fn default() -> TlsConnector {
        TlsConnector::new()
    }
}

impl TlsConnector {
    /// A connector that trusts Mozilla's root certificates (compiled in
    /// from the `webpki-roots` crate), TLS 1.2 and 1.3, ALPN `http/1.1`.
    pub fn new() -> TlsConnector {
        static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
        let config = DEFAULT
            .get_or_init(|| {
                let roots = RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                Arc::new(client_config(roots))
            })
            .clone();
        TlsConnector::from_config(config)
    }

    /// A connector that trusts only the certificates in `pem` (a private
    /// CA, or a test's self-signed certificate), ALPN `http/1.1`.
    ///
    /// # Errors
    ///
    /// `InvalidData` for malformed PEM, no certificate, or a certificate
    /// rustls cannot use as a root.
    pub fn with_root_certificates_pem(pem: &[u8]) -> io::Result<TlsConnector> {
        let mut roots = RootCertStore::empty();
        for cert in certificates_from_pem(pem)? {
            roots.add(cert).map_err(tls_error)?;
        }
        Ok(TlsConnector::from_config(Arc::new(client_config(roots))))
    }

    /// A connector with a rustls configuration of your own.
    pub fn from_config(config: Arc<ClientConfig>) -> TlsConnector {
        TlsConnector {
            config,
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
        }
    }

    /// Sets how long [`connect`](Self::connect) waits for the handshake in
    /// all (`None`: no limit). Default: [`DEFAULT_HANDSHAKE_TIMEOUT`].
    #[must_use]
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> TlsConnector {
        self.handshake_timeout = timeout;
        self
    }

    /// The rustls configuration.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// Runs the client side of the handshake on `stream` for the server
    /// `server_name` (a DNS name or an IP address, which the certificate
    /// must name) and returns the encrypted stream.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a name that is neither a DNS name nor an IP
    /// address, otherwise as [`connect_timeout`](Self::connect_timeout).
    pub fn connect(&self, server_name: &str, stream: TcpStream) -> io::Result<TlsStream> {
        self.connect_timeout(server_name, stream, self.handshake_timeout)
    }

    /// [`connect`](Self::connect) with a handshake deadline of its own.
    ///
    /// # Errors
    ///
    /// `TimedOut` when the deadline passes, `InvalidData` for a TLS
    /// failure (an untrusted certificate, a wrong name), `UnexpectedEof`
    /// when the server goes away, or the socket's error.
    pub fn connect_timeout(
        &self,
        server_name: &str,
        stream: TcpStream,
        timeout: Option<Duration>,
    ) -> io::Result<TlsStream> {
        let name = server_name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(server_name);
        let name = ServerName::try_from(name.to_owned()).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid TLS server name {server_name:?}: {e}"),
            )
        })?;
        let conn = ClientConnection::new(self.config.clone(), name).map_err(tls_error)?;
        let mut tls = rustls::StreamOwned::new(conn, stream);
        handshake(&mut tls.conn, &mut tls.sock, timeout)?;
        Ok(TlsStream {
            inner: Inner::Client(tls),
        })
    }
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector")
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

fn client_config(roots: RootCertStore) -> ClientConfig {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// Drives the handshake to its end under an overall deadline: each socket
/// read and write gets the time that is left, and the socket's own
/// timeouts are put back afterwards.
fn handshake<D>(
    conn: &mut rustls::ConnectionCommon<D>,
    sock: &mut TcpStream,
    timeout: Option<Duration>,
) -> io::Result<()>
where
    D: rustls::SideData,
{
    let saved = (sock.read_timeout()?, sock.write_timeout()?);
    let deadline = timeout.map(|t| Instant::now() + t);
    let result = (|| {
        while conn.is_handshaking() || conn.wants_write() {
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(handshake_timed_out());
                }
                sock.set_read_timeout(Some(left))?;
                sock.set_write_timeout(Some(left))?;
            }
            match conn.complete_io(sock) {
                Ok(_) => {}
                Err(e) if deadline.is_some() && is_timeout(&e) => {
                    return Err(handshake_timed_out());
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    })();
    if deadline.is_some() {
        sock.set_read_timeout(saved.0)?;
        sock.set_write_timeout(saved.1)?;
    }
    result
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn handshake_timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out")
}

/// A TLS connection over a green [`TcpStream`], from
/// [`TlsAcceptor::accept`] or [`TlsConnector::connect`]: `Read + Write`,
/// with the socket's timeouts, and addresses. Reads return EOF after the
/// peer's `close_notify`; [`shutdown`](Self::shutdown) sends one.
pub struct TlsStream {
    inner: Inner,
}

enum Inner {
    Client(rustls::StreamOwned<ClientConnection, TcpStream>),
    Server(rustls::StreamOwned<ServerConnection, TcpStream>),
}

macro_rules! both {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            Inner::Client($s) => $e,
            Inner::Server($s) => $e,
        }
    };
}

impl TlsStream {
    /// The underlying TCP stream. Reading or writing it directly breaks
    /// the TLS session; its timeouts and addresses are what it is for.
    pub fn get_ref(&self) -> &TcpStream {
        both!(&self.inner, s => &s.sock)
    }

    /// The remote address.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.get_ref().peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// As [`TcpStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.get_ref().local_addr()
    }

    /// Sets the socket's read timeout (as [`TcpStream::set_read_timeout`]).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration.
    pub fn set_read_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.get_ref().set_read_timeout(dur)
    }

    /// Sets the socket's write timeout (as [`TcpStream::set_write_timeout`]).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a zero duration.
    pub fn set_write_timeout(&self, dur: Option<Duration>) -> io::Result<()> {
        self.get_ref().set_write_timeout(dur)
    }

    /// The ALPN protocol the two sides agreed on, if any.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        both!(&self.inner, s => s.conn.alpn_protocol())
    }

    /// The negotiated TLS version.
    pub fn protocol_version(&self) -> Option<rustls::ProtocolVersion> {
        both!(&self.inner, s => s.conn.protocol_version())
    }

    /// On the server side, the host name the client asked for (SNI).
    pub fn server_name(&self) -> Option<&str> {
        match &self.inner {
            Inner::Server(s) => s.conn.server_name(),
            Inner::Client(_) => None,
        }
    }

    /// Whether this is the client side of the connection.
    pub fn is_client(&self) -> bool {
        matches!(self.inner, Inner::Client(_))
    }

    /// Sends `close_notify` and shuts the socket down in direction `how`
    /// (`Write` for a half close that still reads the peer's answer).
    ///
    /// # Errors
    ///
    /// The socket's error.
    pub fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        both!(&mut self.inner, s => {
            s.conn.send_close_notify();
            s.flush()?;
            s.sock.shutdown(how)
        })
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let r = both!(&mut self.inner, s => s.read(buf));
        match r {
            // A peer that closes the socket without close_notify (common
            // for HTTP servers that delimit their bodies): EOF, as the
            // message framing above already knows where the data ends.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            r => r,
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        both!(&mut self.inner, s => s.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        both!(&mut self.inner, s => s.flush())
    }
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("side", &if self.is_client() { "client" } else { "server" })
            .field("peer", &self.peer_addr().ok())
            .field("version", &self.protocol_version())
            .finish()
    }
}
