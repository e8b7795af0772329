//! green::process: the same results as std::process for the same commands
//! (echo, exit codes, `false`, stdin piped to `cat`, 1 MiB on both stdout
//! and stderr, kill then wait, try_wait, wait_with_output, a missing
//! program, env and current_dir, pipes handed on as Stdio), and the hub
//! keeps running while greenlets spawn, wait for and read from children
//! (a ticking greenlet's worst gap stays under 50 ms). Every child is
//! waited for.

mod util;

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use green::process::{Command, Stdio};
use green::thread;

/// Runs `f` as the root context of this thread's hub.
fn run<R>(f: impl FnOnce() -> R) -> R {
    green::runtime::Builder::new().run(f)
}

/// Runs `f` while a greenlet on this hub ticks every 10 ms; returns `f`'s
/// value and the worst gap between two ticks.
fn with_ticker<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let ticker = thread::spawn(move || {
        let mut last = Instant::now();
        let mut worst = Duration::ZERO;
        while !s.load(Ordering::Relaxed) {
            thread::sleep(Duration::from_millis(10));
            let now = Instant::now();
            worst = worst.max(now - last);
            last = now;
        }
        worst
    });
    // Let the ticker start before the work does.
    thread::sleep(Duration::from_millis(1));
    let r = f();
    stop.store(true, Ordering::Relaxed);
    let worst = ticker.join().unwrap();
    (r, worst)
}

fn sh(script: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(script);
    c
}

fn std_sh(script: &str) -> std::process::Command {
    let mut c = std::process::Command::new("sh");
    c.arg("-c").arg(script);
    c
}

#[test]
fn echo_output_matches_std() {
    run(|| {
        let green = Command::new("echo")
            .args(["hello", "world"])
            .output()
            .unwrap();
        let std = std::process::Command::new("echo")
            .args(["hello", "world"])
            .output()
            .unwrap();
        assert_eq!(green, std);
        assert_eq!(green.stdout, b"hello world\n");
        assert!(green.stderr.is_empty());
        assert!(green.status.success());
        util::assert_clean();
    });
}

#[test]
fn exit_codes_match_std() {
    run(|| {
        for script in ["exit 0", "exit 1", "exit 3", "exit 255", "kill -TERM $$"] {
            let green = sh(script).status().unwrap();
            let std = std_sh(script).status().unwrap();
            assert_eq!(green, std, "{script}");
            assert_eq!(green.code(), std.code());
            assert_eq!(green.signal(), std.signal());
        }
        let f = Command::new("false").status().unwrap();
        assert_eq!(f, std::process::Command::new("false").status().unwrap());
        assert!(!f.success());
        assert_eq!(f.code(), Some(1));
        assert!(Command::new("true").status().unwrap().success());
        assert_eq!(sh("exit 3").status().unwrap().code(), Some(3));
        let out = Command::new("false").output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        util::assert_clean();
    });
}

#[test]
fn stdin_piped_to_cat() {
    run(|| {
        // More than a pipe holds both ways: the writer and the reader must
        // run at the same time (a greenlet writes, the root reads).
        let data: Vec<u8> = (0..512 * 1024u32).map(|i| (i % 251) as u8).collect();
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let to_write = data.clone();
        let writer = thread::spawn(move || {
            stdin.write_all(&to_write).unwrap();
            // Dropping stdin closes it: cat sees EOF.
        });
        let mut back = Vec::new();
        child.stdout.take().unwrap().read_to_end(&mut back).unwrap();
        writer.join().unwrap();
        assert!(child.wait().unwrap().success());
        assert_eq!(back.len(), data.len());
        assert!(back == data);

        // The same with std, for the record: same bytes, same status.
        let mut std_child = std::process::Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut std_stdin = std_child.stdin.take().unwrap();
        let to_write = data.clone();
        let std_writer = std::thread::spawn(move || std_stdin.write_all(&to_write).unwrap());
        let std_out = std_child.wait_with_output().unwrap();
        std_writer.join().unwrap();
        assert!(std_out.stdout == back);

        // wait closes stdin before waiting, as std's does.
        let mut cat = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        cat.stdin.as_ref().unwrap().write_all(b"x").unwrap();
        assert!(cat.wait().unwrap().success());
        assert!(cat.stdin.is_none());
        util::assert_clean();
    });
}

#[test]
fn large_stdout_and_stderr_no_deadlock() {
    run(|| {
        // 1 MiB to stderr first, then 1 MiB to stdout: reading one pipe to
        // its end before the other would deadlock.
        let script = "head -c 1048576 /dev/zero | tr '\\0' e >&2; \
                      head -c 1048576 /dev/zero | tr '\\0' o";
        let green = sh(script).output().unwrap();
        assert!(green.status.success());
        assert_eq!(green.stdout.len(), 1 << 20);
        assert_eq!(green.stderr.len(), 1 << 20);
        assert!(green.stdout.iter().all(|&b| b == b'o'));
        assert!(green.stderr.iter().all(|&b| b == b'e'));
        let std = std_sh(script).output().unwrap();
        assert!(green == std);

        // The same through spawn + wait_with_output.
        let child = sh(script)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out == std);
        util::assert_clean();
    });
}

#[test]
fn kill_then_wait_gives_signal_status() {
    run(|| {
        let mut child = Command::new("sleep").arg("10").spawn().unwrap();
        assert!(child.id() > 0);
        assert!(child.try_wait().unwrap().is_none());
        child.kill().unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert_eq!(status.code(), None);
        assert!(!status.success());
        // Killing a reaped child is Ok, as with std; wait returns the same.
        child.kill().unwrap();
        assert_eq!(child.wait().unwrap(), status);

        let mut std_child = std::process::Command::new("sleep")
            .arg("10")
            .spawn()
            .unwrap();
        std_child.kill().unwrap();
        assert_eq!(std_child.wait().unwrap(), status);
        util::assert_clean();
    });
}

#[test]
fn try_wait_before_and_after_exit() {
    run(|| {
        let mut child = sh("sleep 0.2; exit 7").spawn().unwrap();
        assert_eq!(child.try_wait().unwrap(), None);
        thread::sleep(Duration::from_millis(400));
        let status = child.try_wait().unwrap().expect("exited");
        assert_eq!(status.code(), Some(7));
        // Reaped: try_wait and wait keep returning it.
        assert_eq!(child.try_wait().unwrap(), Some(status));
        assert_eq!(child.wait().unwrap(), status);

        let mut std_child = std_sh("sleep 0.2; exit 7").spawn().unwrap();
        assert_eq!(std_child.try_wait().unwrap(), None);
        assert_eq!(std_child.wait().unwrap(), status);
        assert_eq!(std_child.try_wait().unwrap(), Some(status));
        util::assert_clean();
    });
}

#[test]
fn wait_with_output_matches_std() {
    run(|| {
        let script = "echo out; echo err >&2; exit 2";
        let green = sh(script)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
            .wait_with_output()
            .unwrap();
        let std = std_sh(script)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
            .wait_with_output()
            .unwrap();
        assert_eq!(green, std);
        assert_eq!(green.stdout, b"out\n");
        assert_eq!(green.stderr, b"err\n");
        assert_eq!(green.status.code(), Some(2));

        // Only stdout captured: stderr comes back empty, as with std.
        let green = sh("echo only")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap()
            .wait_with_output()
            .unwrap();
        assert_eq!(green.stdout, b"only\n");
        assert!(green.stderr.is_empty());
        util::assert_clean();
    });
}

#[test]
fn missing_program_is_not_found() {
    run(|| {
        for prog in [
            "/nonexistent/green-no-such-program",
            "green-no-such-program",
        ] {
            let green = Command::new(prog).spawn().unwrap_err();
            let std = std::process::Command::new(prog).spawn().unwrap_err();
            assert_eq!(green.kind(), io::ErrorKind::NotFound);
            assert_eq!(green.kind(), std.kind());
            assert_eq!(green.raw_os_error(), std.raw_os_error());
            assert_eq!(
                Command::new(prog).output().unwrap_err().kind(),
                io::ErrorKind::NotFound
            );
            assert_eq!(
                Command::new(prog).status().unwrap_err().kind(),
                io::ErrorKind::NotFound
            );
        }
        // The command survives a failed spawn and can be fixed and reused.
        let mut c = Command::new("green-no-such-program");
        assert!(c.output().is_err());
        assert_eq!(c.get_program(), "green-no-such-program");
        util::assert_clean();
    });
}

#[test]
fn env_and_current_dir_match_std() {
    run(|| {
        let dir = std::env::temp_dir();
        let mut green = sh("echo \"$GREEN_A|$GREEN_B|${HOME:-unset}\"; pwd");
        green
            .env("GREEN_A", "a")
            .envs([("GREEN_B", "b")])
            .env_remove("HOME")
            .current_dir(&dir);
        let mut std = std_sh("echo \"$GREEN_A|$GREEN_B|${HOME:-unset}\"; pwd");
        std.env("GREEN_A", "a")
            .envs([("GREEN_B", "b")])
            .env_remove("HOME")
            .current_dir(&dir);
        let (g, s) = (green.output().unwrap(), std.output().unwrap());
        assert_eq!(g, s);
        let text = String::from_utf8(g.stdout).unwrap();
        assert!(text.starts_with("a|b|unset\n"), "{text}");

        // The getters and Debug are std's.
        assert_eq!(green.get_program(), std.get_program());
        assert!(green.get_args().eq(std.get_args()));
        assert!(green.get_envs().eq(std.get_envs()));
        assert_eq!(green.get_current_dir(), Some(dir.as_path()));
        assert_eq!(format!("{green:?}"), format!("{std:?}"));

        // env_clear: nothing but what is set afterwards.
        let out = Command::new("/usr/bin/env")
            .env_clear()
            .env("ONLY", "1")
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"ONLY=1\n");
        util::assert_clean();
    });
}

#[test]
fn output_defaults_and_reuse() {
    run(|| {
        // output: stdin is null by default, so cat ends at once.
        let out = Command::new("cat").output().unwrap();
        assert!(out.status.success());
        assert!(out.stdout.is_empty());
        // The command runs again, and an explicit stdio is kept.
        let mut c = sh("echo again; echo e >&2");
        assert_eq!(c.output().unwrap().stdout, b"again\n");
        c.stderr(Stdio::null());
        let out = c.output().unwrap();
        assert_eq!(out.stdout, b"again\n");
        assert!(out.stderr.is_empty());
        // spawn after output: stdio inherited again (no pipes).
        let mut child = c.stdout(Stdio::null()).spawn().unwrap();
        assert!(child.stdin.is_none() && child.stdout.is_none() && child.stderr.is_none());
        assert!(child.wait().unwrap().success());
        util::assert_clean();
    });
}

#[test]
fn pipes_convert_as_std() {
    run(|| {
        // A child's stdout becomes the next child's stdin (`echo | tr`).
        let mut first = Command::new("echo")
            .arg("piped along")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = first.stdout.take().unwrap();
        let second = Command::new("tr")
            .args(["a-z", "A-Z"])
            .stdin(Stdio::from(out))
            .output()
            .unwrap();
        assert_eq!(second.stdout, b"PIPED ALONG\n");
        assert!(first.wait().unwrap().success());

        // Into OwnedFd: back in blocking mode; From<OwnedFd>: non-blocking.
        let mut child = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let raw = stdout.as_raw_fd();
        assert!(nonblocking(raw));
        let fd = OwnedFd::from(stdout);
        assert!(!nonblocking(fd.as_raw_fd()));
        let mut stdout = green::process::ChildStdout::from(fd);
        assert!(nonblocking(stdout.as_raw_fd()));
        assert_eq!(format!("{stdout:?}"), "ChildStdout { .. }");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"round trip").unwrap();
        drop(stdin);
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        assert_eq!(s, "round trip");
        assert!(child.wait().unwrap().success());
        util::assert_clean();
    });
}

fn nonblocking(fd: i32) -> bool {
    // SAFETY: F_GETFL on an open descriptor this test owns.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    flags & libc::O_NONBLOCK != 0
}

/// The bound on a ticking greenlet's worst gap while children are spawned,
/// waited for and read from on its hub.
const MAX_GAP: Duration = Duration::from_millis(50);

/// Runs `measure` (which returns a worst tick gap) until the gap is under
/// [`MAX_GAP`], at most three times, printing each figure; panics if no
/// run made it. A hub that blocks misses every run; a machine busy with
/// other work (a build on two cores) only some.
fn assert_ticks<R>(what: &str, mut measure: impl FnMut() -> (R, Duration)) -> R {
    let mut gaps = Vec::new();
    for _ in 0..3 {
        let (r, worst) = measure();
        eprintln!("{what}: worst tick gap {worst:?}");
        if worst < MAX_GAP {
            return r;
        }
        gaps.push(worst);
    }
    panic!("{what}: the ticker's worst gap was {gaps:?}, over {MAX_GAP:?} in every run");
}

#[test]
fn ticker_runs_while_output_waits() {
    run(|| {
        let out = assert_ticks("output(sleep 1)", || {
            with_ticker(|| Command::new("sleep").arg("1").output().unwrap())
        });
        assert!(out.status.success());
        util::assert_clean();
    });
}

#[test]
fn ticker_runs_while_status_waits() {
    run(|| {
        let status = assert_ticks("status(sleep 1)", || {
            with_ticker(|| Command::new("sleep").arg("1").status().unwrap())
        });
        assert!(status.success());
        util::assert_clean();
    });
}

#[test]
fn ticker_runs_while_child_waits() {
    run(|| {
        let (status, elapsed) = assert_ticks("wait(sleep 1)", || {
            with_ticker(|| {
                let t0 = Instant::now();
                let mut child = Command::new("sleep").arg("1").spawn().unwrap();
                (child.wait().unwrap(), t0.elapsed())
            })
        });
        assert!(status.success());
        assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
        util::assert_clean();
    });
}

#[test]
fn ticker_runs_while_reading_a_late_writer() {
    run(|| {
        let (text, status) = assert_ticks("read(late writer)", || {
            with_ticker(|| {
                let mut child = sh("sleep 0.5; echo late; sleep 0.3; echo later")
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap();
                let mut s = String::new();
                child.stdout.take().unwrap().read_to_string(&mut s).unwrap();
                (s, child.wait().unwrap())
            })
        });
        assert_eq!(text, "late\nlater\n");
        assert!(status.success());
        util::assert_clean();
    });
}

/// The figure in the book: 200 children at once from greenlets on one hub.
#[test]
fn two_hundred_children_on_one_hub() {
    run(|| {
        // Start the spawn thread before counting.
        assert!(Command::new("true").status().unwrap().success());
        let threads_at_start = util::os_threads();
        let (elapsed, ok, max_threads) = assert_ticks("200 x status(true)", || {
            let max_threads = Arc::new(std::sync::atomic::AtomicUsize::new(util::os_threads()));
            let ((elapsed, ok), worst) = with_ticker(|| {
                let t0 = Instant::now();
                let handles: Vec<_> = (0..200)
                    .map(|_| {
                        let max_threads = max_threads.clone();
                        thread::spawn(move || {
                            let status = Command::new("true").status();
                            max_threads.fetch_max(util::os_threads(), Ordering::Relaxed);
                            status
                        })
                    })
                    .collect();
                let ok = handles
                    .into_iter()
                    .map(|h| h.join().unwrap().unwrap())
                    .filter(|s| s.success())
                    .count();
                (t0.elapsed(), ok)
            });
            let max_threads = max_threads.load(Ordering::Relaxed);
            eprintln!(
                "200 x `true`.status() on one hub: {elapsed:?}, worst tick gap {worst:?}, \
                 OS threads {threads_at_start} at start, at most {max_threads}"
            );
            ((elapsed, ok, max_threads), worst)
        });
        assert_eq!(ok, 200, "in {elapsed:?}");
        // (Tests running beside this one start threads too: a little slack.)
        assert!(
            max_threads <= threads_at_start + 3,
            "threads {threads_at_start} -> {max_threads}"
        );
        util::assert_clean();
    });
}

#[test]
fn killed_greenlet_unwinds_from_wait() {
    run(|| {
        let (tx, rx) = green::sync::mpsc::channel();
        let waiter = thread::spawn(move || {
            let mut child = Command::new("sleep").arg("10").spawn().unwrap();
            tx.send(child.id()).unwrap();
            child.wait()
        });
        let pid = rx.recv().unwrap() as libc::pid_t;
        thread::sleep(Duration::from_millis(20));
        let t0 = Instant::now();
        waiter.kill();
        assert!(waiter.join().is_err(), "the wait unwound");
        assert!(t0.elapsed() < Duration::from_secs(1));
        // The child outlived its handle, as with a dropped std Child: end
        // and reap it here.
        // SAFETY: kill and waitpid on our own child's pid; `status` is a
        // valid out-pointer.
        unsafe {
            assert_eq!(libc::kill(pid, libc::SIGKILL), 0);
            let mut status = 0;
            assert_eq!(libc::waitpid(pid, &mut status, 0), pid);
        }
        util::assert_clean();
    });
}

#[test]
fn children_on_several_hubs_and_plain_threads() {
    // Greenlets on two worker hubs each run and wait for children.
    let outs = green::runtime::Builder::new().workers(2).run(|| {
        let hs: Vec<_> = (0..8)
            .map(|i| thread::spawn(move || sh(&format!("sleep 0.05; echo {i}")).output()))
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap().unwrap())
            .collect::<Vec<_>>()
    });
    for (i, out) in outs.iter().enumerate() {
        assert_eq!(out.stdout, format!("{i}\n").as_bytes());
    }
    // A plain OS thread, no runtime started: green types still work there.
    let out = std::thread::spawn(|| sh("echo plain; exit 4").output().unwrap())
        .join()
        .unwrap();
    assert_eq!(out.stdout, b"plain\n");
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn unix_command_ext_as_std() {
    use green::os::unix::process::CommandExt;
    run(|| {
        // arg0: what the child sees as its name ($0 of `sh -c` without
        // further arguments).
        let out = Command::new("sh")
            .arg0("green-sh")
            .args(["-c", "echo $0"])
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"green-sh\n");

        // process_group(0): the child leads a new group.
        let mut child = sh("cut -d' ' -f5 /proc/$$/stat")
            .process_group(0)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut pgid = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut pgid)
            .unwrap();
        assert_eq!(pgid.trim(), child.id().to_string());
        assert!(child.wait().unwrap().success());

        // uid and gid (our own, which needs no privilege).
        // SAFETY: getuid and getgid cannot fail and touch no memory.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let out = sh("id -u; id -g").uid(uid).gid(gid).output().unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!("{uid}\n{gid}\n")
        );

        // pre_exec: an error from the closure is spawn's error, as std's.
        // SAFETY: the closure only builds an io::Error from a number, which
        // neither allocates nor takes a lock.
        let err = unsafe {
            Command::new("true")
                .pre_exec(|| Err(io::Error::from_raw_os_error(libc::EDOM)))
                .spawn()
                .unwrap_err()
        };
        assert_eq!(err.raw_os_error(), Some(libc::EDOM));
        util::assert_clean();
    });
}

/// Green's types are `Send` and `Sync` where std's are.
#[test]
fn auto_traits_as_std() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Command>();
    send_sync::<green::process::Child>();
    send_sync::<green::process::ChildStdin>();
    send_sync::<green::process::ChildStdout>();
    send_sync::<green::process::ChildStderr>();
}
