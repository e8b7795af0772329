#[green::main(crate = "my green")]
fn main() {}
