//! The Rust book's thread-pool web server, run once on std and once patched
//! onto green.
//!
//! Each corpus program is built twice, as written (on std) and under
//! `#[green::patch]` (on green); both builds run and must print the same
//! transcript.

mod util;
use util::assert_same_transcript;

#[path = "corpus/book_thread_pool.rs"]
mod std_book_thread_pool;

#[green::patch]
#[path = "corpus/book_thread_pool.rs"]
mod green_book_thread_pool {}

#[test]
fn book_thread_pool_prints_the_same_on_std_and_green() {
    let on_std = std_book_thread_pool::main();
    let on_green = green::runtime::Builder::new().run(green_book_thread_pool::main);
    assert_same_transcript(&on_std, &on_green);
}
