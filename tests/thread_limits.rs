//! Running out of memory maps: 30 000 greenlets fit at Linux's default
//! `vm.max_map_count`, and the one that does not fit gets an error that
//! names the limit and the fix. One test in this binary: it exhausts the
//! process's maps on purpose.

use green::thread;

#[test]
fn exhausting_memory_maps_is_a_clear_error() {
    let limit: usize = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    if limit > 200_000 {
        eprintln!("vm.max_map_count is {limit}: too high to exhaust in a test; skipped");
        return;
    }
    let mut handles = Vec::new();
    let err = loop {
        match thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(thread::park)
        {
            Ok(h) => handles.push(h),
            Err(e) => break e,
        }
        // Let it start (and take its stack) before the next spawn, as a
        // server's accept loop does.
        thread::yield_now();
        assert!(handles.len() < limit, "no error before {limit} greenlets");
    };
    let spawned = handles.len();
    assert!(
        spawned >= 30_000,
        "only {spawned} greenlets fit under vm.max_map_count={limit}"
    );
    assert_eq!(err.kind(), std::io::ErrorKind::OutOfMemory);
    let msg = err.to_string();
    assert!(msg.contains("vm.max_map_count"), "{msg}");
    assert!(msg.contains("sysctl -w vm.max_map_count="), "{msg}");

    // `thread::spawn` panics with that message, as std's does.
    let panic = std::panic::catch_unwind(|| thread::spawn(|| ())).unwrap_err();
    let text = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        text.contains("failed to spawn thread") && text.contains("vm.max_map_count"),
        "{text}"
    );

    // Greenlets spawned in a burst get their stacks when they start; one
    // that cannot get one fails: its join says why.
    for h in &handles[..10] {
        h.thread().unpark();
    }
    thread::yield_now(); // the ten finish: ten stacks back in the pool
    let burst: Vec<_> = (0..100)
        .map(|_| {
            thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(thread::park)
        })
        .collect();
    let burst: Vec<_> = burst.into_iter().filter_map(Result::ok).collect();
    thread::yield_now();
    let mut failed = 0;
    for h in burst {
        if h.is_finished() {
            let err = h.join().unwrap_err();
            let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
            assert!(msg.contains("vm.max_map_count"), "{msg}");
            failed += 1;
        } else {
            handles.push(h);
        }
    }
    assert!(failed > 0, "the burst should have run out of maps");

    // Everything still works once greenlets end: the parked ones finish and
    // their stacks serve new greenlets.
    for h in &handles {
        h.thread().unpark();
    }
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(thread::spawn(|| 1).join().unwrap(), 1);
    assert_eq!(green::runtime::stats().greenlets, 0);
}
