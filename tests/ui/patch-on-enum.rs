#[green::patch]
enum Event {
    Accepted(std::net::TcpStream),
    Closed,
}

fn main() {}
