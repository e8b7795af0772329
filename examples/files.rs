//! Files and standard input, green: a std-shaped program (a line counter)
//! whose file and stdin calls run on the blocking-call pool while a
//! greenlet keeps ticking on the hub.
//!
//! ```text
//! printf 'a\nb\n' | cargo run --example files
//! ```

use std::time::Duration;

use green::fs::{self, File};
use green::io::{self, BufRead, BufReader, Write};
use green::thread;

fn main() -> io::Result<()> {
    // ANCHOR: main
    let ticker = thread::spawn(|| {
        for _ in 0..3 {
            thread::sleep(Duration::from_millis(10));
        }
        println!("the hub kept running");
    });

    // Files: each call is one job on the pool; this greenlet waits greenly.
    let dir = std::env::temp_dir().join(format!("green-files-example-{}", std::process::id()));
    fs::create_dir_all(&dir)?;
    let path = dir.join("notes.txt");
    let mut f = File::create(&path)?;
    writeln!(f, "first line")?;
    writeln!(f, "second line")?;
    drop(f);
    let lines = BufReader::new(File::open(&path)?).lines().count();
    println!(
        "{} has {lines} lines, {} bytes",
        path.display(),
        fs::metadata(&path)?.len()
    );
    for entry in fs::read_dir(&dir)? {
        println!("entry: {:?}", entry?.file_name());
    }
    fs::remove_dir_all(&dir)?;

    // Standard input: reads run on the pool against std's own stdin.
    let mut count = 0;
    for line in io::stdin().lines() {
        let line = line?;
        count += 1;
        println!("stdin {count}: {line}");
    }
    println!("{count} lines on stdin");
    ticker.join().unwrap();
    // ANCHOR_END: main
    Ok(())
}
