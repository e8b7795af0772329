use std::time::Duration;

pub const DELAY: Duration = Duration::from_millis(2);

pub fn encode(i: usize) -> String {
    format!("{i}!")
}
