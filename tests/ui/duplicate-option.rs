#[green::main(workers = 2, workers = 4)]
fn main() {}
