// `#![green::patch]` at the top of main.rs, which users try first: the
// error says to put `#[green::main]` on `main` instead.
#![green::patch]

use std::thread;

fn main() {
    thread::spawn(|| ()).join().unwrap();
}
