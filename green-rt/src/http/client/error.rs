//! [`Error`]: what a request can fail with, and its [`ErrorKind`].

use std::error::Error as StdError;
use std::fmt;
use std::io;

/// The sort of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The URL cannot be used: unparsable, no host, a scheme other than
    /// `http` and `https`, a bad header name or value.
    InvalidUrl,
    /// The host name did not resolve to any address.
    HostNotFound,
    /// The TCP connection could not be opened (refused, unreachable).
    Connect,
    /// A timeout expired: connect, read, write or the overall one
    /// ([`Error::timeout`] says which).
    Timeout,
    /// More redirects than the client's limit.
    TooManyRedirects,
    /// A redirect without a usable `Location`.
    RedirectFailed,
    /// The server broke HTTP/1.1 (a malformed status line or header,
    /// headers too large).
    Protocol,
    /// A TLS failure (untrusted certificate, wrong name), or `https://`
    /// without the `tls` feature.
    Tls,
    /// The response's status is 4xx or 5xx
    /// ([`Response::error_for_status`](super::Response::error_for_status)).
    Status,
    /// Another I/O error on the connection (reset, EOF in the middle of a
    /// response).
    Io,
    /// Anything else.
    Other,
}

/// Which timeout expired, for [`ErrorKind::Timeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Opening the connection (TCP, and the TLS handshake).
    Connect,
    /// Resolving the host name.
    Resolve,
    /// One read from the socket
    /// ([`ClientBuilder::read_timeout`](super::ClientBuilder::read_timeout)).
    Read,
    /// One write to the socket.
    Write,
    /// The overall deadline
    /// ([`ClientBuilder::timeout`](super::ClientBuilder::timeout)).
    Overall,
}

/// An HTTP client error. Converts into [`io::Error`] (with the matching
/// [`io::ErrorKind`]: `TimedOut`, `ConnectionRefused`, `InvalidInput`...),
/// so `?` works in a function returning `io::Result`.
pub struct Error {
    kind: ErrorKind,
    timeout: Option<TimeoutKind>,
    status: Option<u16>,
    url: Option<String>,
    source: Box<dyn StdError + Send + Sync>,
}

impl Error {
    pub(super) fn new(
        kind: ErrorKind,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Error {
        Error {
            kind,
            timeout: None,
            status: None,
            url: None,
            source: source.into(),
        }
    }

    pub(super) fn status(status: u16, url: String) -> Error {
        let mut e = Error::new(ErrorKind::Status, format!("HTTP status {status}"));
        e.status = Some(status);
        e.url = Some(url);
        e
    }

    pub(super) fn with_url(mut self, url: &str) -> Error {
        self.url = Some(url.to_owned());
        self
    }

    /// What sort of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether a timeout expired.
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::Timeout
    }

    /// For a timeout, which one.
    pub fn timeout(&self) -> Option<TimeoutKind> {
        self.timeout
    }

    /// For [`ErrorKind::Status`], the status code.
    pub fn status_code(&self) -> Option<u16> {
        self.status
    }

    /// The URL of the request that failed, when known.
    pub fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }
}

impl From<ureq::Error> for Error {
    fn from(e: ureq::Error) -> Error {
        use ureq::Error as U;
        let kind = match &e {
            U::BadUri(_) | U::Http(_) | U::RequireHttpsOnly(_) => ErrorKind::InvalidUrl,
            U::HostNotFound => ErrorKind::HostNotFound,
            U::Timeout(_) => ErrorKind::Timeout,
            U::TooManyRedirects => ErrorKind::TooManyRedirects,
            U::RedirectFailed => ErrorKind::RedirectFailed,
            U::Protocol(_) | U::LargeResponseHeader(..) => ErrorKind::Protocol,
            U::StatusCode(_) => ErrorKind::Status,
            U::ConnectionFailed => ErrorKind::Connect,
            U::Io(io) => io_kind(io),
            _ => ErrorKind::Other,
        };
        let timeout = match &e {
            U::Timeout(t) => Some(match t {
                ureq::Timeout::Connect => TimeoutKind::Connect,
                ureq::Timeout::Resolve => TimeoutKind::Resolve,
                ureq::Timeout::PerRead | ureq::Timeout::RecvResponse | ureq::Timeout::RecvBody => {
                    TimeoutKind::Read
                }
                ureq::Timeout::PerWrite | ureq::Timeout::SendRequest | ureq::Timeout::SendBody => {
                    TimeoutKind::Write
                }
                _ => TimeoutKind::Overall,
            }),
            _ => None,
        };
        let status = match &e {
            U::StatusCode(s) => Some(*s),
            _ => None,
        };
        let source: Box<dyn StdError + Send + Sync> = match e {
            U::Io(io) => Box::new(io),
            other => Box::new(other),
        };
        Error {
            kind,
            timeout,
            status,
            url: None,
            source,
        }
    }
}

fn io_kind(e: &io::Error) -> ErrorKind {
    match e.kind() {
        io::ErrorKind::ConnectionRefused
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::NetworkDown
        | io::ErrorKind::AddrNotAvailable => ErrorKind::Connect,
        io::ErrorKind::TimedOut => ErrorKind::Timeout,
        io::ErrorKind::InvalidData if e.get_ref().is_some_and(is_tls_error) => ErrorKind::Tls,
        io::ErrorKind::Unsupported => ErrorKind::Tls,
        _ => ErrorKind::Io,
    }
}

#[cfg(feature = "tls")]
fn is_tls_error(e: &(dyn StdError + Send + Sync + 'static)) -> bool {
    e.is::<rustls::Error>()
}

#[cfg(not(feature = "tls"))]
fn is_tls_error(_: &(dyn StdError + Send + Sync + 'static)) -> bool {
    false
}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        let kind = match e.kind {
            ErrorKind::InvalidUrl => io::ErrorKind::InvalidInput,
            ErrorKind::HostNotFound => io::ErrorKind::NotFound,
            ErrorKind::Connect => match e.source.downcast_ref::<io::Error>() {
                Some(io) => io.kind(),
                None => io::ErrorKind::ConnectionRefused,
            },
            ErrorKind::Timeout => io::ErrorKind::TimedOut,
            ErrorKind::Io => match e.source.downcast_ref::<io::Error>() {
                Some(io) => io.kind(),
                None => io::ErrorKind::Other,
            },
            ErrorKind::Protocol | ErrorKind::Tls => io::ErrorKind::InvalidData,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(url) = &self.url {
            write!(f, "{url}: ")?;
        }
        match (self.kind, self.timeout) {
            (ErrorKind::Timeout, Some(t)) => write!(f, "{t:?} timeout: {}", self.source),
            (ErrorKind::TooManyRedirects, _) => write!(f, "too many redirects"),
            _ => write!(f, "{}", self.source),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("timeout", &self.timeout)
            .field("url", &self.url)
            .field("source", &self.source)
            .finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}
