#[green::test]
async fn works() {}

fn main() {}
