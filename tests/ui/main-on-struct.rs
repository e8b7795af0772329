#[green::main]
struct Main;

fn main() {}
