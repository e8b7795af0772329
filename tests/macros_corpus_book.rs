//! The Rust book's thread-pool web server, run once on std and once patched
//! onto green.

#[path = "corpus/book_thread_pool.rs"]
mod std_book_thread_pool;

#[green::patch]
#[path = "corpus/book_thread_pool.rs"]
mod green_book_thread_pool {}

#[test]
fn book_thread_pool_on_std() {
    std_book_thread_pool::main();
}

#[green::test]
fn book_thread_pool_on_green() {
    green_book_thread_pool::main();
}
