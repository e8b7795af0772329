// The file-module form from a binary crate: the `#[path]` is relative to
// this file's directory, and `helpers/server.rs` declares `mod codec;`.

#[green::patch]
#[path = "helpers/server.rs"]
mod server {}

#[green::main]
fn main() {
    let h: green::thread::JoinHandle<String> = server::spawn_greeter("ui-pass");
    assert_eq!(h.join().unwrap(), "hello, ui-pass");
}
