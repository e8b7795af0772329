//! Every stable public item of the patched std modules, imported through
//! `#[green::patch]`: this file compiles only if each green mirror has all
//! of them (the design's rule: a program that compiles against `std::X`
//! compiles against `green::X`).

#![allow(unused_imports, deprecated)]

#[green::patch]
mod surface {
    use std::net::{
        AddrParseError, Incoming, IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, SocketAddrV4,
        SocketAddrV6, TcpListener, TcpStream, ToSocketAddrs, UdpSocket,
    };
    use std::os::unix::net::{
        Incoming as UnixIncoming, SocketAddr as UnixSocketAddr, UnixDatagram, UnixListener,
        UnixStream,
    };
    use std::sync::ONCE_INIT;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, compiler_fence, fence};
    use std::sync::mpsc::{
        IntoIter, Iter, Receiver, RecvError, RecvTimeoutError, SendError, Sender, SyncSender,
        TryIter, TryRecvError, TrySendError, channel, sync_channel,
    };
    use std::sync::{
        Arc, Barrier, BarrierWaitResult, Condvar, LazyLock, LockResult, Mutex, MutexGuard, Once,
        OnceLock, OnceState, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError,
        TryLockResult, WaitTimeoutResult, Weak,
    };
    use std::thread::{
        AccessError, Builder, JoinHandle, LocalKey, Result, Scope, ScopedJoinHandle, Thread,
        ThreadId, available_parallelism, current, panicking, park, park_timeout, park_timeout_ms,
        scope, sleep, sleep_ms, spawn, yield_now,
    };
    use std::time::{
        Duration, Instant, SystemTime, SystemTimeError, TryFromFloatSecsError, UNIX_EPOCH,
    };
}

#[test]
fn every_item_resolves() {}
