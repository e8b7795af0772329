//! HTTP/1.1 for greenlets: a server whose handlers are ordinary blocking
//! functions (WSGI's analogue), and a client (`urlopen`'s analogue).
//!
//! - [`server`]: serves an `http::Request` → `http::Response` handler,
//!   one greenlet per connection, on top of [`crate::server::StreamServer`].
//!   For hot endpoints, a raw handler
//!   ([`server::RawHandler`]) reads the request in place and writes the
//!   response straight into the output buffer.
//! - [`client`]: `get(url)` and a keep-alive [`client::Client`].
//! - `tls` (cargo feature `tls`): rustls over green sockets, a
//!   `TlsAcceptor` for servers and a `TlsConnector` for clients.

pub mod client;
pub mod server;
#[cfg(feature = "tls")]
pub mod tls;

pub use client::{Client, get};
