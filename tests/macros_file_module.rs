//! The stable form of `#[green::patch]` for a module in its own file: an
//! empty inline module with a `#[path]` (relative to this file's directory).
//! `server.rs` declares `mod pool;` and `mod codec;`, which are inlined and
//! patched too.

use std::cell::Cell;

#[green::patch]
#[path = "macros_file_module/server.rs"]
mod server {}

#[green::test]
fn file_module_is_patched() {
    let handles: Vec<green::thread::JoinHandle<String>> = server::start(100);
    let replies: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(replies.len(), 100);
    // Every greenlet counted in its own greenlet-local cell.
    assert_eq!(replies[7], "7!/1");
    assert!(replies.iter().all(|r| r.ends_with("!/1")), "{replies:?}");
}

#[green::test]
fn nested_file_modules_are_patched() {
    let key: &'static green::thread::LocalKey<Cell<u32>> = server::pool::key();
    key.with(|c| assert_eq!(c.get(), 0));
    let d: std::time::Duration = server::codec::DELAY;
    assert_eq!(d.as_millis(), 2);
    assert_eq!(server::module_name(), "server");
}
