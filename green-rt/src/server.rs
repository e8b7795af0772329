//! `StreamServer` (gevent's `gevent.server.StreamServer`): an accept loop
//! that serves each connection in a greenlet.
