//! `Command` and `fs` from threads, while another thread keeps ticking.
use std::fs;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

fn ticker(stop: Arc<AtomicBool>, ticks: Arc<AtomicU32>) {
    while !stop.load(Ordering::SeqCst) {
        thread::sleep(Duration::from_millis(10));
        ticks.fetch_add(1, Ordering::SeqCst);
    }
}

fn run_shell(script: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[green::main]
fn main() {
    let stop = Arc::new(AtomicBool::new(false));
    let ticks = Arc::new(AtomicU32::new(0));
    let t = {
        let (stop, ticks) = (stop.clone(), ticks.clone());
        thread::spawn(move || ticker(stop, ticks))
    };

    let outputs: Vec<_> = (0..5)
        .map(|i| thread::spawn(move || run_shell(&format!("sleep 0.5; echo job {i}"))))
        .collect();
    for o in outputs {
        print!("{}", o.join().unwrap());
    }
    let status = Command::new("sh").args(["-c", "exit 3"]).status().unwrap();
    println!("exit code: {:?}", status.code());
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"through cat\n")
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    print!("{}", String::from_utf8_lossy(&out.stdout));

    let dir = std::env::temp_dir().join(format!("green-ordinary-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    for i in 0..20 {
        fs::write(dir.join(format!("f{i:02}.txt")), format!("file {i}\n")).unwrap();
    }
    let mut names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    println!(
        "files: {} first {} last {}",
        names.len(),
        names[0],
        names[names.len() - 1]
    );
    println!(
        "f07: {}",
        fs::read_to_string(dir.join("f07.txt")).unwrap().trim()
    );
    println!(
        "missing: {:?}",
        fs::read(dir.join("nope")).unwrap_err().kind()
    );
    fs::remove_dir_all(&dir).unwrap();

    let seen = ticks.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    t.join().unwrap();
    println!("ticker kept running: {}", seen >= 15);
}
