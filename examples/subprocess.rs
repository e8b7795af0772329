//! Subprocesses from greenlets: three commands run at once, each from its
//! own greenlet, and a child's output is read line by line while it runs.
//! Every wait suspends only its greenlet, so the whole run takes about as
//! long as the slowest command, not the sum.

use std::io::{self, BufRead, BufReader};
use std::time::Instant;

use green::process::{Command, Stdio};
use green::thread;

fn main() -> io::Result<()> {
    // ANCHOR: main
    let t0 = Instant::now();
    let scripts = [
        "sleep 0.3; echo slow",
        "sleep 0.2; echo medium; echo 'and a warning' >&2",
        "sleep 0.1; echo fast",
    ];
    let handles: Vec<_> = scripts
        .into_iter()
        .map(|script| thread::spawn(move || Command::new("sh").args(["-c", script]).output()))
        .collect();
    for handle in handles {
        let out = handle.join().unwrap()?;
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success());
    }
    println!("three commands in {:?}", t0.elapsed()); // about 0.3 s

    // Read a child's stdout as it comes; wait for it afterwards.
    let mut child = Command::new("sh")
        .args(["-c", "for i in 1 2 3; do echo line $i; sleep 0.05; done"])
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        println!("child said: {}", line?);
    }
    let status = child.wait()?;
    println!("child exited: {status}");
    // ANCHOR_END: main
    Ok(())
}
