//! The `std::net` corpus, run once on std and once patched onto green.

#[path = "corpus/net_echo.rs"]
mod std_net_echo;

#[green::patch]
#[path = "corpus/net_echo.rs"]
mod green_net_echo {}

#[test]
fn net_echo_on_std() {
    std_net_echo::main();
}

#[green::test]
fn net_echo_on_green() {
    green_net_echo::main();
}
