#[green::main(stack_size = 4096)]
fn main() {}
