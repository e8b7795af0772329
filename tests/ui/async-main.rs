#[green::main]
async fn main() {}
