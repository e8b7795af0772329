//! A module that lives in its own file and is patched on stable.
#![allow(dead_code)]

use std::thread;

pub mod codec;
pub mod pool;

pub fn start(n: usize) -> Vec<thread::JoinHandle<String>> {
    (0..n)
        .map(|i| {
            thread::spawn(move || {
                std::thread::sleep(codec::DELAY);
                let mine = pool::add(1);
                format!("{}/{mine}", codec::encode(i))
            })
        })
        .collect()
}

pub fn module_name() -> &'static str {
    module_path!().rsplit("::").next().unwrap()
}
