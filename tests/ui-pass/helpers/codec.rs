pub fn greet(name: &str) -> String {
    std::thread::yield_now();
    format!("hello, {name}")
}
