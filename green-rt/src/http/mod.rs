//! HTTP/1.1 for greenlets: a server whose handlers are ordinary blocking
//! functions (WSGI's analogue), and a client (`urlopen`'s analogue).
//!
//! - [`server`]: serves an `http::Request` → `http::Response` handler,
//!   one greenlet per connection, on top of [`crate::server::StreamServer`].
//! - [`client`]: `get(url)` and a keep-alive [`client::Client`].

pub mod client;
pub mod server;
