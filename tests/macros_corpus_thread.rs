//! The `std::thread` corpus, run once on std and once patched onto green.

#[path = "corpus/thread_basics.rs"]
mod std_thread_basics;

#[green::patch]
#[path = "corpus/thread_basics.rs"]
mod green_thread_basics {}

#[test]
fn thread_basics_on_std() {
    std_thread_basics::main();
}

#[green::test]
fn thread_basics_on_green() {
    green_thread_basics::main();
}
