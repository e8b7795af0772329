mod codec;

pub fn spawn_greeter(name: &'static str) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || codec::greet(name))
}
