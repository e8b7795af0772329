//! The server handshake (RFC 6455, 4.2) on the HTTP server's upgrade hook.

use ::http::header::{self, HeaderMap, HeaderValue};
use ::http::{Method, Request, Response, StatusCode, Version};
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::protocol::{CloseFrame, Role};

use super::Config;
use super::socket::{WebSocket, is_open};
use crate::http::server::{Body, Upgrade};

/// Answers a WebSocket handshake with the default [`Config`]: `101` and
/// then `f` with the [`WebSocket`], in the connection's greenlet, or a
/// 4xx when `req` is not a valid handshake (see the [module](super)).
pub fn accept<B, F>(req: &Request<B>, f: F) -> Response<Body>
where
    F: FnOnce(WebSocket) + Send + 'static,
{
    accept_with(req, Config::default(), f)
}

/// [`accept`] with limits of your own.
pub fn accept_with<B, F>(req: &Request<B>, config: Config, f: F) -> Response<Body>
where
    F: FnOnce(WebSocket) + Send + 'static,
{
    let key = match check(req) {
        Ok(key) => key,
        Err(resp) => return resp,
    };
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "Upgrade")
        .header(
            header::SEC_WEBSOCKET_ACCEPT,
            derive_accept_key(key.as_bytes()),
        )
        .extension(Upgrade::new(move |up| {
            let peer = up.peer_addr();
            let (stream, rest) = up.into_parts();
            let ws = WebSocket::new(stream, rest, Role::Server, &config, Some(peer));
            let sender = ws.sender();
            f(ws);
            if is_open(&sender) {
                let _ = sender.close(Some(CloseFrame {
                    code: CloseCode::Normal,
                    reason: "".into(),
                }));
            }
        }))
        .body(Body::empty())
        .expect("a valid response")
}

/// The client's key, or the answer to a request that is not a handshake.
fn check<B>(req: &Request<B>) -> Result<String, Response<Body>> {
    if req.method() != Method::GET {
        return Err(reject(
            StatusCode::METHOD_NOT_ALLOWED,
            &[(header::ALLOW, "GET")],
            "a WebSocket handshake is a GET",
        ));
    }
    let h = req.headers();
    if !has_token(h, header::UPGRADE, "websocket") || !has_token(h, header::CONNECTION, "upgrade") {
        return Err(reject(
            StatusCode::UPGRADE_REQUIRED,
            &[
                (header::UPGRADE, "websocket"),
                (header::CONNECTION, "Upgrade"),
            ],
            "this resource speaks WebSocket only",
        ));
    }
    if req.version() != Version::HTTP_11 {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            &[],
            "a WebSocket handshake needs HTTP/1.1",
        ));
    }
    let version = h
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes);
    if version != Some(b"13") {
        return Err(reject(
            StatusCode::UPGRADE_REQUIRED,
            &[(header::SEC_WEBSOCKET_VERSION, "13")],
            "unsupported Sec-WebSocket-Version (13 is)",
        ));
    }
    let mut keys = h.get_all(header::SEC_WEBSOCKET_KEY).iter();
    match (keys.next(), keys.next()) {
        (Some(key), None) if valid_key(key.as_bytes()) => {
            Ok(String::from_utf8_lossy(key.as_bytes()).into_owned())
        }
        _ => Err(reject(
            StatusCode::BAD_REQUEST,
            &[],
            "missing or malformed Sec-WebSocket-Key",
        )),
    }
}

/// Whether a comma-separated header has `token` (any case).
fn has_token(h: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    h.get_all(name).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

/// A key is 16 bytes in base64: 22 symbols and `==`, the last symbol
/// carrying no bits past the 16th byte.
fn valid_key(k: &[u8]) -> bool {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    k.len() == 24
        && k.ends_with(b"==")
        && k[..22].iter().all(|c| B64.contains(c))
        && B64
            .iter()
            .position(|&c| c == k[21])
            .is_some_and(|i| i & 0xf == 0)
}

fn reject(
    status: StatusCode,
    headers: &[(header::HeaderName, &'static str)],
    why: &str,
) -> Response<Body> {
    let mut b = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8");
    for (name, value) in headers {
        b = b.header(name, *value);
    }
    b.body(format!("{why}\n").into()).expect("a valid response")
}

#[cfg(test)]
mod tests {
    use super::valid_key;

    #[test]
    fn keys() {
        assert!(valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!valid_key(b"dGhlIHNhbXBsZSBub25jZQ="));
        assert!(!valid_key(b"dGhlIHNhbXBsZSBub25jZR=="));
        assert!(!valid_key(b"dGhlIHNhbXBsZSBub25j!Q=="));
        assert!(!valid_key(b""));
    }
}
