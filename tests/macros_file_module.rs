//! The stable form of `#[green::patch]` for a module in its own file: an
//! empty inline module with a `#[path]` (relative to this file's directory).
//! `server.rs` declares `mod pool;` and `mod codec;`, which are inlined and
//! patched too.

#[green::patch]
#[path = "macros_file_module/server.rs"]
mod server {}

#[green::test]
fn file_module_is_patched() {
    let handles: Vec<green::thread::JoinHandle<String>> = server::start(100);
    let replies: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(replies.len(), 100);
    assert_eq!(replies[7], "7!");
}

#[green::test]
fn nested_file_modules_are_patched() {
    let m: &green::sync::Mutex<u32> = &server::pool::TOTAL;
    assert!(*m.lock().unwrap() <= 100);
    let d: std::time::Duration = server::codec::DELAY;
    assert_eq!(d.as_millis(), 2);
    assert_eq!(server::doc_attr_kept(), "server");
}
