#[green::patch]
#[path = "no-such-file.rs"]
mod server {}

fn main() {}
