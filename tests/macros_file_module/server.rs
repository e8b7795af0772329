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
                pool::add(1);
                codec::encode(i)
            })
        })
        .collect()
}

pub fn doc_attr_kept() -> &'static str {
    module_path!().rsplit("::").next().unwrap()
}
