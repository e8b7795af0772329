//! The `std::sync` corpus, run once on std and once patched onto green.

#[path = "corpus/sync_basics.rs"]
mod std_sync_basics;

#[green::patch]
#[path = "corpus/sync_basics.rs"]
mod green_sync_basics {}

#[test]
fn sync_basics_on_std() {
    std_sync_basics::main();
}

#[green::test]
fn sync_basics_on_green() {
    green_sync_basics::main();
}
