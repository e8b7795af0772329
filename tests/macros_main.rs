//! `#[green::main]` and `#[green::test]`: options, `Result` returns, test
//! attributes, a renamed crate.

extern crate green as g;

/// `#[green::main]` on a fn not named `main`: each call runs a runtime,
/// and the body's result (and `?`) come out as from any fn.
#[green::main(workers = 2, stack_size = 65536)]
fn run(n: u64) -> Result<u64, String> {
    let handles: Vec<_> = (0..n).map(|i| std::thread::spawn(move || i)).collect();
    let mut sum = 0;
    for h in handles {
        sum += h.join().map_err(|_| "a greenlet panicked".to_string())?;
    }
    std::thread::spawn(|| panic!("on purpose"))
        .join()
        .map_err(|_| format!("sum {sum}"))?;
    Ok(sum)
}

#[test]
fn main_returns_the_body_result() {
    assert_eq!(run(100), Err(format!("sum {}", 99 * 100 / 2)));
}

#[green::test(workers = 1)]
fn test_with_options() {
    let h: green::thread::JoinHandle<u32> = std::thread::spawn(|| 40 + 2);
    assert_eq!(h.join().unwrap(), 42);
}

#[green::test]
fn test_returning_result() -> std::thread::Result<()> {
    std::thread::spawn(|| ()).join()
}

#[green::test]
#[should_panic(expected = "boom")]
fn test_should_panic() {
    std::thread::sleep(std::time::Duration::from_millis(1));
    panic!("boom");
}

#[green::test]
#[ignore = "shows that #[ignore] is kept"]
fn test_ignored() {
    panic!("ignored tests do not run");
}

#[green::test]
#[test]
fn test_attribute_given_once() {}

#[g::test(crate = "g")]
fn renamed_crate() {
    let h: g::thread::JoinHandle<()> = std::thread::spawn(|| ());
    h.join().unwrap();
}
