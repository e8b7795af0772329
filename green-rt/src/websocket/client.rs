//! The client: `ws://` and (feature `tls`) `wss://`, the opening handshake
//! (RFC 6455, 4.1) written and checked here, then a [`WebSocket`].

use std::io::{Read, Write};
use std::time::Duration;

use ::http::Uri;
use tungstenite::error::{ProtocolError, UrlError};
use tungstenite::handshake::client::generate_key;
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::Role;

use super::socket::WebSocket;
use super::{Config, Error, Result};
use crate::http::server::transport::Transport;
use crate::net::TcpStream;

/// Largest handshake response head read.
const MAX_HEAD: usize = 64 * 1024;
/// How long the opening handshake (and a TLS handshake) may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens a WebSocket to `url` (`ws://host[:port]/path`, or `wss://` with
/// the `tls` feature) with the default [`Config`]; the host name is
/// resolved greenly. websocket-client's `create_connection(url)`.
///
/// ```no_run
/// let mut ws = green_rt::websocket::connect("ws://127.0.0.1:8001/")?;
/// ws.send("hello")?;
/// let echo = ws.read()?;
/// # Ok::<(), green_rt::websocket::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Url`] for a URL it cannot use, [`Error::Io`] when connecting
/// fails, [`Error::Http`] when the server answers other than 101 (with its
/// status and headers), [`Error::Protocol`] for a bad 101 (a wrong
/// `Sec-WebSocket-Accept`), [`Error::Tls`]-like I/O errors for TLS.
pub fn connect(url: &str) -> Result<WebSocket> {
    connect_with(url, Config::default())
}

/// [`connect`] with limits (and, for `wss://`, a TLS connector) of your
/// own.
///
/// # Errors
///
/// As [`connect`].
pub fn connect_with(url: &str, config: Config) -> Result<WebSocket> {
    let uri: Uri = url
        .parse()
        .map_err(|_| Error::Url(UrlError::UnableToConnect(url.to_owned())))?;
    let tls = match uri.scheme_str() {
        Some("ws") => false,
        Some("wss") => true,
        _ => return Err(Error::Url(UrlError::UnsupportedUrlScheme)),
    };
    let host = uri
        .host()
        .filter(|h| !h.is_empty())
        .ok_or(Error::Url(UrlError::EmptyHostName))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let tcp = TcpStream::connect((bare, port))?;
    let _ = tcp.set_nodelay(true);
    let peer = tcp.peer_addr().ok();
    let stream = if tls {
        tls_stream(tcp, bare, &config)?
    } else {
        Transport::Tcp(tcp)
    };
    let authority = match uri.port_u16() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let key = generate_key();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    (&stream).write_all(request.as_bytes())?;
    let rest = read_response(&stream, &key)?;
    stream.set_read_timeout(None)?;
    Ok(WebSocket::new(stream, rest, Role::Client, &config, peer))
}

#[cfg(feature = "tls")]
fn tls_stream(tcp: TcpStream, host: &str, config: &Config) -> Result<Transport> {
    use std::sync::Arc;

    use crate::http::server::transport::tls::Split;
    use rustls::pki_types::ServerName;

    let connector = config.tls.clone().unwrap_or_default();
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| Error::Url(UrlError::UnableToConnect(host.to_owned())))?;
    let conn = rustls::ClientConnection::new(connector.config().clone(), name)
        .map_err(|e| Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
    let split = Split::handshake(conn.into(), tcp, HANDSHAKE_TIMEOUT)?;
    Ok(Transport::Tls(Arc::new(split)))
}

#[cfg(not(feature = "tls"))]
fn tls_stream(_: TcpStream, _: &str, _: &Config) -> Result<Transport> {
    Err(Error::Url(UrlError::TlsFeatureNotEnabled))
}

/// Reads and checks the handshake response; returns the bytes read past
/// it.
fn read_response(stream: &Transport, key: &str) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; 4096];
    let mut end = 0;
    loop {
        if end == buf.len() {
            if buf.len() >= MAX_HEAD {
                return Err(Error::Protocol(ProtocolError::HandshakeIncomplete));
            }
            buf.resize(buf.len() * 2, 0);
        }
        let mut r = stream;
        let n = r.read(&mut buf[end..])?;
        if n == 0 {
            return Err(Error::Protocol(ProtocolError::HandshakeIncomplete));
        }
        end += n;
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut headers);
        let len = match resp.parse(&buf[..end]) {
            Ok(httparse::Status::Partial) => continue,
            Ok(httparse::Status::Complete(len)) => len,
            Err(e) => return Err(Error::Protocol(ProtocolError::HttparseError(e))),
        };
        let status = resp.code.unwrap_or(0);
        let header = |name: &str| {
            resp.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value)
        };
        if status != 101 {
            let mut b = ::http::Response::builder().status(status);
            for h in resp.headers.iter() {
                b = b.header(h.name, h.value);
            }
            let body = buf[len..end].to_vec();
            let resp = b
                .body(Some(body))
                .map_err(|_| Error::Protocol(ProtocolError::HandshakeIncomplete))?;
            return Err(Error::Http(resp));
        }
        if !header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case(b"websocket")) {
            return Err(Error::Protocol(
                ProtocolError::MissingUpgradeWebSocketHeader,
            ));
        }
        let accept = derive_accept_key(key.as_bytes());
        if header("sec-websocket-accept") != Some(accept.as_bytes()) {
            return Err(Error::Protocol(
                ProtocolError::SecWebSocketAcceptKeyMismatch,
            ));
        }
        return Ok(buf[len..end].to_vec());
    }
}
