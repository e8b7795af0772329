//! The `std::sync` corpus, run once on std and once patched onto green.
//!
//! Each corpus program is built twice, as written (on std) and under
//! `#[green::patch]` (on green); both builds run and must print the same
//! transcript.

mod util;
use util::assert_same_transcript;

#[path = "corpus/sync_basics.rs"]
mod std_sync_basics;

#[green::patch]
#[path = "corpus/sync_basics.rs"]
mod green_sync_basics {}

#[test]
fn sync_basics_prints_the_same_on_std_and_green() {
    let on_std = std_sync_basics::main();
    let on_green = green::runtime::Builder::new().run(green_sync_basics::main);
    assert_same_transcript(&on_std, &on_green);
}
