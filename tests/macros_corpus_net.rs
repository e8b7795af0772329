//! The `std::net` corpus, run once on std and once patched onto green.
//!
//! Each corpus program is built twice, as written (on std) and under
//! `#[green::patch]` (on green); both builds run and must print the same
//! transcript.

mod util;
use util::assert_same_transcript;

#[path = "corpus/net_echo.rs"]
mod std_net_echo;

#[green::patch]
#[path = "corpus/net_echo.rs"]
mod green_net_echo {}

#[test]
fn net_echo_prints_the_same_on_std_and_green() {
    let on_std = std_net_echo::main();
    let on_green = green::runtime::Builder::new().run(green_net_echo::main);
    assert_same_transcript(&on_std, &on_green);
}
