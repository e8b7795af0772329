#[green::test]
fn takes_a_port(port: u16) {
    let _ = port;
}

fn main() {}
