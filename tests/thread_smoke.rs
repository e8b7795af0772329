use green::thread;
use std::time::{Duration, Instant};

#[test]
fn smoke() {
    let h = thread::spawn(|| 1 + 1);
    assert_eq!(h.join().unwrap(), 2);
    let t0 = Instant::now();
    let hs: Vec<_> = (0..1000)
        .map(|i| {
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(50));
                i
            })
        })
        .collect();
    let s: u64 = hs.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(s, 499500);
    println!("{:?}", t0.elapsed());
    let r = thread::Builder::new()
        .name("boom".into())
        .spawn(|| panic!("oops"))
        .unwrap()
        .join();
    assert!(r.is_err());
    println!("{:?}", green::runtime::stats());
}
