//! The HTTP/1.1 client: [`get`] (`urlopen`'s analogue) and a [`Client`]
//! with a keep-alive connection pool, timeouts and redirects.
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! use std::io::Read;
//!
//! // urllib's urlopen(url).read(), green.
//! let mut body = String::new();
//! green_rt::http::client::get("http://127.0.0.1:8000/")?.read_to_string(&mut body)?;
//!
//! // A client of your own: pool, timeouts, redirect limit.
//! use std::time::Duration;
//! use green_rt::http::client::Client;
//! let client = Client::builder()
//!     .connect_timeout(Duration::from_secs(2))
//!     .read_timeout(Duration::from_secs(5))
//!     .timeout(Duration::from_secs(30))
//!     .max_redirects(5)
//!     .build();
//! let resp = client.post("http://127.0.0.1:8000/form")
//!     .header("content-type", "application/x-www-form-urlencoded")
//!     .send_bytes(b"name=green")?;
//! assert!(resp.status().is_success());
//! # Ok(()) }
//! ```
//!
//! Every wait is green: name lookups run on the blocking-call pool
//! ([`crate::tpool`]), connects, writes and reads park the greenlet, so a
//! [`Pool`](crate::pool::Pool) of 200 greenlets fetches 200 URLs at once on
//! one OS thread (eventlet's `GreenPool.imap(fetch, urls)`).
//!
//! | Python | green |
//! | --- | --- |
//! | `urlopen(url)` | [`get(url)`](get) |
//! | `urlopen(url, timeout=t)` | [`Client::builder().read_timeout(t)`](ClientBuilder::read_timeout) |
//! | `resp.read()`, `resp.read(n)` | [`Response`] is `io::Read`; [`Response::bytes`], [`Response::text`] |
//! | `resp.status`, `resp.headers`, `resp.url` | [`status`](Response::status), [`headers`](Response::headers), [`url`](Response::url) |
//! | `HTTPError` for 4xx/5xx | [`Response::error_for_status`] (a status is not an error by itself, as in `requests`) |
//! | `requests.Session()` | [`Client`] (cheap to clone; clones share the pool) |
//!
//! **Connections.** A [`Client`] keeps idle keep-alive connections per
//! host (256 per host, 1024 in all, for 90 s by default;
//! [`ClientBuilder::max_idle_connections_per_host`]) and reuses one when it
//! is still open: the hub's poll saw nothing arrive on it, or a
//! non-blocking peek finds nothing. If the server closed it in between, a
//! request with an idempotent method (`GET`, `HEAD`, `PUT`, `DELETE`,
//! `OPTIONS`, `TRACE`) that got no byte of answer is sent again, once, on a
//! new connection; any other is never sent twice: its connection is peeked
//! at just before it goes. A response's connection goes back to the pool
//! once its body has been read to the end; a response dropped earlier
//! closes its connection. [`get`] and the other free functions use one
//! default client per OS thread (per hub), so their pool stays on the hub
//! that opened its sockets.
//!
//! **Bodies** are streamed both ways: a [`Response`] reads from the socket
//! as you read it (Content-Length, chunked, or until close), and
//! [`RequestBuilder::send_reader`] sends a `Read` as a chunked body.
//!
//! **TLS**: `https://` needs the `tls` cargo feature (rustls and `ring`,
//! Mozilla's roots by default; [`ClientBuilder::tls_connector`] for a
//! private CA). Without it an `https://` request fails with
//! [`ErrorKind::Tls`].
//!
//! **Not supported**: HTTP/2, proxies (`HTTP_PROXY` is ignored), cookies,
//! compression (no `Accept-Encoding` is sent).
//!
//! # Why the types are green's own
//!
//! The client runs [ureq](https://docs.rs/ureq) 3 on green parts (a
//! resolver, a connector and a transport over green sockets; see
//! `transport.rs`). Those parts live in ureq's `unversioned` module, which
//! may change in any minor release, so green pins ureq's minor version and
//! keeps ureq out of its public API: [`Client`], [`RequestBuilder`],
//! [`Response`] and [`Error`] wrap ureq's types, and only the `http`
//! crate's vocabulary types ([`Method`], [`StatusCode`], [`HeaderMap`],
//! [`Version`]), which the server uses too and which are stable at 1.x,
//! appear in signatures. green can then move to a new ureq (or another
//! engine) without a breaking release.

mod error;
mod transport;

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;
use std::time::Duration;

pub use ureq::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};

pub use error::{Error, ErrorKind, TimeoutKind};

use ureq::ResponseExt;
use ureq::http;

use transport::{GreenConnector, GreenResolver};

/// A `Result` with the client's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

thread_local! {
    static DEFAULT: RefCell<Option<Client>> = const { RefCell::new(None) };
}

/// This OS thread's default client (created on first use).
fn default_client() -> Client {
    DEFAULT.with(|c| c.borrow_mut().get_or_insert_with(Client::new).clone())
}

/// Sends a GET request to `url` with the default client and returns the
/// response, its body not read yet: Python's `urlopen(url)`.
///
/// The default client (one per OS thread) has no timeouts, follows up to
/// 10 redirects and keeps connections alive. Any status is a response;
/// see [`Response::error_for_status`].
///
/// # Errors
///
/// A bad URL, a failed lookup or connection, an I/O or protocol error.
pub fn get(url: &str) -> Result<Response> {
    default_client().get(url).send()
}

/// Sends a HEAD request with the default client (see [`get`]).
///
/// # Errors
///
/// As [`get`].
pub fn head(url: &str) -> Result<Response> {
    default_client().head(url).send()
}

/// Sends a POST request with `body` and the default client (see [`get`]).
///
/// # Errors
///
/// As [`get`].
pub fn post(url: &str, body: &[u8]) -> Result<Response> {
    default_client().post(url).send_bytes(body)
}

/// Builds a [`Client`]: timeouts, redirects, the pool, TLS.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    timeout: Option<Duration>,
    max_redirects: u32,
    max_idle: usize,
    max_idle_per_host: usize,
    idle_timeout: Duration,
    user_agent: String,
    nodelay: bool,
    #[cfg(feature = "tls")]
    tls: Option<super::tls::TlsConnector>,
}

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder {
            connect_timeout: None,
            read_timeout: None,
            write_timeout: None,
            timeout: None,
            max_redirects: 10,
            max_idle: 1024,
            max_idle_per_host: 256,
            idle_timeout: Duration::from_secs(90),
            user_agent: concat!("green/", env!("CARGO_PKG_VERSION")).to_owned(),
            nodelay: true,
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

impl ClientBuilder {
    /// The default settings: no timeouts, 10 redirects, 256 idle
    /// connections per host and 1024 in all, kept 90 s, `TCP_NODELAY`.
    pub fn new() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Limits opening a connection (each address in turn, and the TLS
    /// handshake) to `timeout` in all.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Limits each read from the socket to `timeout` (the socket timeout of
    /// `urlopen(url, timeout=...)`): a server that sends nothing for that
    /// long fails the request, or the body's next `read`, with
    /// [`ErrorKind::Timeout`].
    #[must_use]
    pub fn read_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.read_timeout = Some(timeout);
        self
    }

    /// Limits each write to the socket to `timeout`.
    #[must_use]
    pub fn write_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.write_timeout = Some(timeout);
        self
    }

    /// Limits a whole request to `timeout`: lookup, connect, redirects,
    /// sending, and reading the response body to its end.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = Some(timeout);
        self
    }

    /// Follows at most `n` redirects (301, 302, 303, 307, 308); one more
    /// fails with [`ErrorKind::TooManyRedirects`]. `0` returns redirect
    /// responses as they are. Default: 10.
    #[must_use]
    pub fn max_redirects(mut self, n: u32) -> ClientBuilder {
        self.max_redirects = n;
        self
    }

    /// Keeps at most `n` idle connections in all. Default: 1024.
    #[must_use]
    pub fn max_idle_connections(mut self, n: usize) -> ClientBuilder {
        self.max_idle = n;
        self
    }

    /// Keeps at most `n` idle connections per host (scheme, host, port).
    /// `0` turns keep-alive off. Default: 256.
    #[must_use]
    pub fn max_idle_connections_per_host(mut self, n: usize) -> ClientBuilder {
        self.max_idle_per_host = n;
        self
    }

    /// Closes idle connections older than `timeout`. Default: 90 s.
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.idle_timeout = timeout;
        self
    }

    /// The `User-Agent` header. Default: `green/VERSION`.
    #[must_use]
    pub fn user_agent(mut self, user_agent: &str) -> ClientBuilder {
        user_agent.clone_into(&mut self.user_agent);
        self
    }

    /// Sets `TCP_NODELAY` on new connections. Default: on.
    #[must_use]
    pub fn nodelay(mut self, on: bool) -> ClientBuilder {
        self.nodelay = on;
        self
    }

    /// The TLS client configuration for `https://` (feature `tls`):
    /// [`TlsConnector::with_root_certificates_pem`] for a private CA.
    /// Default: [`TlsConnector::new`] (Mozilla's roots).
    ///
    /// [`TlsConnector::with_root_certificates_pem`]: super::tls::TlsConnector::with_root_certificates_pem
    /// [`TlsConnector::new`]: super::tls::TlsConnector::new
    #[cfg(feature = "tls")]
    #[must_use]
    pub fn tls_connector(mut self, connector: super::tls::TlsConnector) -> ClientBuilder {
        self.tls = Some(connector);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .no_delay(self.nodelay)
            .max_redirects(self.max_redirects)
            .max_redirects_will_error(true)
            // Keep-alive is green's IdlePool (see transport.rs).
            .max_idle_connections(0)
            .user_agent(self.user_agent.as_str())
            .timeout_connect(self.connect_timeout)
            .timeout_per_read(self.read_timeout)
            .timeout_per_write(self.write_timeout)
            .timeout_global(self.timeout)
            .build();
        let pool = Arc::new(transport::IdlePool::new(
            self.max_idle,
            self.max_idle_per_host,
            self.idle_timeout,
        ));
        let resolver = GreenResolver { pool: pool.clone() };
        let connector = GreenConnector {
            pool,
            #[cfg(feature = "tls")]
            tls: self.tls,
        };
        Client {
            agent: Arc::new(ureq::Agent::with_parts(config, connector, resolver)),
        }
    }
}

/// An HTTP/1.1 client with a keep-alive connection pool per host (Python
/// `requests.Session`). Cheap to clone: clones share the pool and the
/// settings, and may be used from any greenlet or thread.
#[derive(Clone)]
pub struct Client {
    agent: Arc<ureq::Agent>,
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// A client with the default settings ([`ClientBuilder::new`]).
    pub fn new() -> Client {
        ClientBuilder::new().build()
    }

    /// A builder for a client with settings of its own.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A request with `method` to `url`.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        RequestBuilder {
            client: self.clone(),
            method,
            url: url.to_owned(),
            headers: Vec::new(),
            timeout: None,
        }
    }

    /// A GET request.
    pub fn get(&self, url: &str) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A HEAD request.
    pub fn head(&self, url: &str) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// A POST request.
    pub fn post(&self, url: &str) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A PUT request.
    pub fn put(&self, url: &str) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// A DELETE request.
    pub fn delete(&self, url: &str) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }
}

/// A request being built: headers, a deadline of its own, then one of the
/// `send` methods.
#[derive(Debug)]
#[must_use = "a request is sent by one of its send methods"]
pub struct RequestBuilder {
    client: Client,
    method: Method,
    url: String,
    headers: Vec<(String, Vec<u8>)>,
    timeout: Option<Duration>,
}

impl RequestBuilder {
    /// Adds a header (`name: value`); a bad name or value fails the send
    /// with [`ErrorKind::InvalidUrl`].
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> RequestBuilder {
        self.headers
            .push((name.to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Limits this request to `timeout` in all (as
    /// [`ClientBuilder::timeout`], for this request only).
    pub fn timeout(mut self, timeout: Duration) -> RequestBuilder {
        self.timeout = Some(timeout);
        self
    }

    fn build<B>(self, body: B) -> Result<(Client, http::Request<B>, String)> {
        let mut request = http::Request::builder()
            .method(self.method)
            .uri(self.url.as_str());
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_slice());
        }
        let request = request
            .body(body)
            .map_err(|e| Error::new(ErrorKind::InvalidUrl, e).with_url(&self.url))?;
        transport::host_and_port(request.uri()).map_err(|e| Error::from(e).with_url(&self.url))?;
        Ok((self.client, request, self.url))
    }

    fn run<B: ureq::AsSendBody>(
        client: &Client,
        request: http::Request<B>,
        timeout: Option<Duration>,
        url: &str,
    ) -> Result<Response> {
        let request = match timeout {
            Some(t) => client
                .agent
                .configure_request(request)
                .timeout_global(Some(t))
                .build(),
            None => request,
        };
        let uri = request.uri().clone();
        let response = client
            .agent
            .run(request)
            .map_err(|e| Error::from(e).with_url(url))?;
        // The final URL, formatted only when a redirect changed it.
        let url = if *response.get_uri() == uri {
            url.to_owned()
        } else {
            response.get_uri().to_string()
        };
        Ok(Response::new(response, url))
    }

    /// Sends the request without a body.
    ///
    /// # Errors
    ///
    /// A bad URL, a failed lookup or connection, a timeout, too many
    /// redirects, an I/O, TLS or protocol error.
    pub fn send(self) -> Result<Response> {
        let timeout = self.timeout;
        let (client, request, url) = self.build(())?;
        RequestBuilder::run(&client, request, timeout, &url)
    }

    /// Sends the request with `body` (and its `Content-Length`).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn send_bytes(self, body: &[u8]) -> Result<Response> {
        let timeout = self.timeout;
        let (client, request, url) = self.build(body)?;
        RequestBuilder::run(&client, request, timeout, &url)
    }

    /// Sends the request with a body streamed from `reader`
    /// (`Transfer-Encoding: chunked`, unless a `Content-Length` header was
    /// set).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), or `reader`'s error.
    pub fn send_reader(self, reader: &mut dyn Read) -> Result<Response> {
        let timeout = self.timeout;
        let (client, request, url) = self.build(ureq::SendBody::from_reader(reader))?;
        RequestBuilder::run(&client, request, timeout, &url)
    }
}

/// A response: status, headers, and the body as a stream ([`io::Read`]),
/// read from the socket as you read it.
///
/// The connection goes back to the client's pool once the body has been
/// read to its end; dropping the response earlier closes it. Read errors
/// are [`io::Error`]s wrapping the client's [`Error`] (a timeout has kind
/// [`io::ErrorKind::TimedOut`]).
pub struct Response {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    url: String,
    body: ureq::BodyReader<'static>,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("url", &self.url)
            .field("status", &self.status)
            .field("version", &self.version)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl Response {
    fn new(response: http::Response<ureq::Body>, url: String) -> Response {
        let (parts, body) = response.into_parts();
        Response {
            status: parts.status,
            version: parts.version,
            headers: parts.headers,
            url,
            body: body.into_reader(),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The HTTP version of the response.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The value of header `name` if it is present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Content-Length`, if the server sent one.
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length")?.trim().parse().ok()
    }

    /// The URL this response is for: the request's, or the last redirect's
    /// target (Python's `resp.url`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `Err` with [`ErrorKind::Status`] for a 4xx or 5xx status (urllib's
    /// `HTTPError`, requests' `raise_for_status`), the response otherwise.
    ///
    /// # Errors
    ///
    /// For a 4xx or 5xx status.
    pub fn error_for_status(self) -> Result<Response> {
        if self.status.is_client_error() || self.status.is_server_error() {
            Err(Error::status(self.status.as_u16(), self.url))
        } else {
            Ok(self)
        }
    }

    /// Reads the whole body.
    ///
    /// # Errors
    ///
    /// An I/O error, a timeout, or a malformed body.
    pub fn bytes(mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::with_capacity(self.content_length().unwrap_or(0).min(1 << 20) as usize);
        self.read_to_end(&mut body)?;
        Ok(body)
    }

    /// Reads the whole body as UTF-8 text.
    ///
    /// # Errors
    ///
    /// As [`bytes`](Self::bytes), or `InvalidData` for a body that is not
    /// UTF-8.
    pub fn text(mut self) -> io::Result<String> {
        let mut body = String::new();
        self.read_to_string(&mut body)?;
        Ok(body)
    }
}

impl Read for Response {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.body.read(buf).map_err(|e| {
            // ureq wraps its own errors as `Other`; give them their kind.
            if e.get_ref().is_some_and(|inner| inner.is::<ureq::Error>()) {
                let inner = e
                    .into_inner()
                    .and_then(|b| b.downcast::<ureq::Error>().ok())
                    .map(|b| *b);
                match inner {
                    Some(u) => Error::from(u).with_url(&self.url).into(),
                    None => io::Error::other("response body error"),
                }
            } else {
                e
            }
        })
    }
}
