#[green::patch(workers = 2)]
mod server {}

fn main() {}
