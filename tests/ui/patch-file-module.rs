#[green::patch]
mod server;

fn main() {}
