//! `#[green::main]` and `#[green::test]`: options, `Result` returns, test
//! attributes, a renamed crate.

extern crate green as g;

/// `#[green::main]` on a fn not named `main`: each call runs a runtime.
#[green::main(workers = 2, stack_size = 65536)]
fn run(n: usize) -> Result<usize, std::sync::mpsc::RecvError> {
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..n {
        let tx = tx.clone();
        std::thread::spawn(move || tx.send(i).unwrap());
    }
    drop(tx);
    let mut sum = 0;
    for _ in 0..n {
        sum += rx.recv()?;
    }
    rx.recv()?; // every sender is gone: `?` returns the error
    Ok(sum)
}

#[test]
fn main_returns_the_body_result() {
    let err: green::sync::mpsc::RecvError = run(100).unwrap_err();
    let _ = err;
}

#[green::test(workers = 1)]
fn test_with_options() {
    let h: green::thread::JoinHandle<u32> = std::thread::spawn(|| 40 + 2);
    assert_eq!(h.join().unwrap(), 42);
}

#[green::test]
fn test_returning_result() -> Result<(), std::sync::mpsc::RecvError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(()).unwrap());
    rx.recv()
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
