// The ordinary shape with the opt-out: `use std::thread;` at the top and a
// helper beside `main` run on greenlets; an item marked
// `#[green::unpatched]` keeps its std paths and spawns a real OS thread.
use std::thread;

// Read with std's fs: a patched read would run on the blocking pool and
// count one of its threads.
#[green::unpatched]
fn os_threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn on_a_greenlet() -> usize {
    thread::spawn(os_threads).join().unwrap()
}

#[green::unpatched]
fn on_an_os_thread() -> usize {
    std::thread::spawn(os_threads).join().unwrap()
}

#[green::main]
fn main() {
    assert_eq!(on_a_greenlet(), 1, "a helper beside main spawns greenlets");
    assert!(
        on_an_os_thread() >= 2,
        "an unpatched helper spawns OS threads"
    );
}
