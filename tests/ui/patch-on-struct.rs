#[green::patch]
struct Server {
    listener: std::net::TcpListener,
}

fn main() {}
