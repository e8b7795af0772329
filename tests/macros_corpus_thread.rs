//! The `std::thread` and `thread_local!` corpus, run once on std and once
//! patched onto green.
//!
//! Each corpus program is built twice, as written (on std) and under
//! `#[green::patch]` (on green); both builds run and must print the same
//! transcript.

mod util;
use util::assert_same_transcript;

#[path = "corpus/thread_basics.rs"]
mod std_thread_basics;

#[green::patch]
#[path = "corpus/thread_basics.rs"]
mod green_thread_basics {}

#[test]
fn thread_basics_prints_the_same_on_std_and_green() {
    let on_std = std_thread_basics::main();
    let on_green = green::runtime::Builder::new().run(green_thread_basics::main);
    assert_same_transcript(&on_std, &on_green);
}

#[path = "corpus/thread_local.rs"]
mod std_thread_local;

#[green::patch]
#[path = "corpus/thread_local.rs"]
mod green_thread_local {}

#[test]
fn thread_local_prints_the_same_on_std_and_green() {
    let on_std = std_thread_local::main();
    let on_green = green::runtime::Builder::new().run(green_thread_local::main);
    assert_same_transcript(&on_std, &on_green);
}
