pub fn shout(s: &str) -> String {
    std::thread::yield_now();
    s.to_uppercase()
}
