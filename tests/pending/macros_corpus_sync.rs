//! The `std::sync` and `thread_local!` corpus, run once on std and once
//! patched onto green.

#[path = "../corpus/sync_basics.rs"]
mod std_sync_basics;

#[green::patch]
#[path = "../corpus/sync_basics.rs"]
mod green_sync_basics {}

#[path = "../corpus/thread_local.rs"]
mod std_thread_local;

#[green::patch]
#[path = "../corpus/thread_local.rs"]
mod green_thread_local {}

#[test]
fn sync_basics_on_std() {
    std_sync_basics::main();
}

#[green::test]
fn sync_basics_on_green() {
    green_sync_basics::main();
}

#[test]
fn thread_local_on_std() {
    std_thread_local::main();
}

#[green::test]
fn thread_local_on_green() {
    green_thread_local::main();
}
