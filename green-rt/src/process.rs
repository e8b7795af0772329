//! Processes: a mirror of [`std::process`] whose spawns, waits and pipe I/O
//! suspend only the calling greenlet.
//!
//! **Implements** green, with std's signatures and semantics: [`Command`]
//! (`new`, `arg`, `args`, `env`, `envs`, `env_remove`, `env_clear`,
//! `current_dir`, `stdin`, `stdout`, `stderr`, `spawn`, `output`, `status`,
//! `get_program`, `get_args`, `get_envs`, `get_current_dir`, `Debug`, and
//! [`CommandExt`](crate::os::unix::process::CommandExt) in
//! [`os::unix::process`](crate::os::unix::process)), [`Child`] (the pub
//! fields `stdin`, `stdout`, `stderr`, `id`, `kill`, `wait`, `try_wait`,
//! `wait_with_output`, `Debug`), [`ChildStdin`] (`Write` for it and for
//! `&ChildStdin`), [`ChildStdout`] and [`ChildStderr`] (`Read`), each pipe
//! with std's `AsFd`, `AsRawFd`, `IntoRawFd`, `From<OwnedFd>`,
//! `Into<OwnedFd>`, `Into<Stdio>` and `Debug`.
//!
//! **Adds**: [`Child::from_std`] (adopt a child spawned by std).
//!
//! **Re-exports** from std unchanged: [`Stdio`], [`ExitStatus`],
//! [`ExitCode`], [`Output`], [`Termination`], [`CommandArgs`],
//! [`CommandEnvs`], [`exit`], [`abort`], [`id`].
//!
//! ```
//! use green_rt::process::Command;
//! use green_rt::thread;
//!
//! let handles: Vec<_> = (0..3)
//!     .map(|i| thread::spawn(move || Command::new("echo").arg(i.to_string()).output()))
//!     .collect();
//! for (i, h) in handles.into_iter().enumerate() {
//!     let out = h.join().unwrap()?;
//!     assert!(out.status.success());
//!     assert_eq!(out.stdout, format!("{i}\n").as_bytes());
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ## How it waits
//!
//! - **Spawning.** `fork`/`exec` blocks the calling thread until the child
//!   has exec'd (about half a millisecond). Green hands the std `Command` to
//!   one dedicated OS thread (`green-spawn`, started at the first spawn and
//!   kept for the life of the process) and the greenlet waits greenly for
//!   the `Child`, so the hub keeps running its other greenlets. Spawns from
//!   every hub share that one thread: there is no thread per child. Because
//!   that thread never ends, a child that sets `PR_SET_PDEATHSIG` (which
//!   fires when the *thread* that forked it ends) is not signalled early.
//! - **Waiting.** [`Child::wait`] opens a pidfd for the child
//!   (`pidfd_open`, Linux 5.3), registers it with the hub for readability
//!   (it becomes readable when the child exits), suspends the greenlet until
//!   then, and reaps the child with std's `try_wait`. Where `pidfd_open` is
//!   not available (`ENOSYS`, or `EPERM` under a seccomp filter) it polls
//!   `try_wait` with a green sleep between tries, 1 ms doubling to 50 ms.
//! - **Pipes.** The parent's ends of the pipes are put in non-blocking
//!   mode and wait on the hub exactly as sockets do (see [`crate::net`]). A
//!   pipe handed on as a [`Stdio`] or an [`OwnedFd`] is switched back to
//!   blocking mode first, as std would hand it over.
//!   [`Command::output`] and [`Child::wait_with_output`] read stdout and
//!   stderr at the same time (stderr in a helper greenlet), so a child
//!   that fills both pipes cannot deadlock.
//!
//! Differences from std: [`Child::wait_with_output`] returns a read error
//! where std panics on it; after [`Command::output`], std's alternate
//! `Debug` of the command (`{:#?}`) shows the stdio it defaulted to
//! `Inherit`. A greenlet killed while it waits in `wait` or `output`
//! unwinds at once and leaves the child unreaped, as dropping a std
//! [`Child`](std::process::Child) does.

use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

use mio::Interest;

use crate::rt::io::{Direction, Registration};
use crate::rt::task::Task;
use crate::rt::wait;

pub use std::process::{
    CommandArgs, CommandEnvs, ExitCode, ExitStatus, Output, Stdio, Termination, abort, exit, id,
};

/// A process builder; mirrors [`std::process::Command`].
///
/// Configuration is std's (this wraps a std `Command`); [`spawn`],
/// [`output`] and [`status`] wait greenly, and the [`Child`] they make has
/// green pipes.
///
/// [`spawn`]: Self::spawn
/// [`output`]: Self::output
/// [`status`]: Self::status
pub struct Command {
    inner: std::process::Command,
    /// Whether the user chose each stdio: `output` defaults the others.
    stdin_set: bool,
    stdout_set: bool,
    stderr_set: bool,
}

impl Command {
    /// A builder for running `program`; mirrors
    /// [`std::process::Command::new`]. By default the child inherits the
    /// environment, the working directory and (for `spawn` and `status`)
    /// the stdio of this process.
    pub fn new<S: AsRef<OsStr>>(program: S) -> Command {
        Command {
            inner: std::process::Command::new(program),
            stdin_set: false,
            stdout_set: false,
            stderr_set: false,
        }
    }

    /// Adds an argument.
    pub fn arg<S: AsRef<OsStr>>(&mut self, arg: S) -> &mut Command {
        self.inner.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.inner.args(args);
        self
    }

    /// Sets an environment variable of the child.
    pub fn env<K, V>(&mut self, key: K, val: V) -> &mut Command
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.inner.env(key, val);
        self
    }

    /// Sets environment variables of the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.inner.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove<K: AsRef<OsStr>>(&mut self, key: K) -> &mut Command {
        self.inner.env_remove(key);
        self
    }

    /// Clears the child's environment (including variables set before).
    pub fn env_clear(&mut self) -> &mut Command {
        self.inner.env_clear();
        self
    }

    /// Sets the child's working directory.
    pub fn current_dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Command {
        self.inner.current_dir(dir);
        self
    }

    /// Sets the child's standard input. Default: inherited for `spawn` and
    /// `status`, null for `output`.
    pub fn stdin<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stdin(cfg);
        self.stdin_set = true;
        self
    }

    /// Sets the child's standard output. Default: inherited for `spawn` and
    /// `status`, piped for `output`.
    pub fn stdout<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stdout(cfg);
        self.stdout_set = true;
        self
    }

    /// Sets the child's standard error. Default: inherited for `spawn` and
    /// `status`, piped for `output`.
    pub fn stderr<T: Into<Stdio>>(&mut self, cfg: T) -> &mut Command {
        self.inner.stderr(cfg);
        self.stderr_set = true;
        self
    }

    /// Starts the command as a child process; mirrors
    /// [`std::process::Command::spawn`]. The fork and exec run on green's
    /// spawn thread while the calling greenlet waits greenly (see the
    /// [module docs](self)).
    ///
    /// # Errors
    ///
    /// As std: `NotFound` for a program that does not exist,
    /// `PermissionDenied` for one that cannot be executed, and so on.
    pub fn spawn(&mut self) -> io::Result<Child> {
        let child = spawn_std(&mut self.inner)?;
        Child::from_std(child)
    }

    /// Runs the command, waits for it and collects its output; mirrors
    /// [`std::process::Command::output`]. Unless set, stdin is null and
    /// stdout and stderr are captured; both are read at the same time, so a
    /// child writing much to both cannot deadlock.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn), or an error reading the pipes or waiting.
    pub fn output(&mut self) -> io::Result<Output> {
        if !self.stdin_set {
            self.inner.stdin(Stdio::null());
        }
        if !self.stdout_set {
            self.inner.stdout(Stdio::piped());
        }
        if !self.stderr_set {
            self.inner.stderr(Stdio::piped());
        }
        let spawned = spawn_std(&mut self.inner);
        // Back to the defaults of `spawn` and `status`.
        if !self.stdin_set {
            self.inner.stdin(Stdio::inherit());
        }
        if !self.stdout_set {
            self.inner.stdout(Stdio::inherit());
        }
        if !self.stderr_set {
            self.inner.stderr(Stdio::inherit());
        }
        Child::from_std(spawned?)?.wait_with_output()
    }

    /// Runs the command and waits for it; mirrors
    /// [`std::process::Command::status`]. Unless set, the stdio is
    /// inherited.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn), or an error waiting.
    pub fn status(&mut self) -> io::Result<ExitStatus> {
        self.spawn()?.wait()
    }

    /// The program, as given to [`new`](Self::new).
    pub fn get_program(&self) -> &OsStr {
        self.inner.get_program()
    }

    /// The arguments (without the program).
    pub fn get_args(&self) -> CommandArgs<'_> {
        self.inner.get_args()
    }

    /// The environment changes: `Some(value)` for a set variable, `None`
    /// for a removed one.
    pub fn get_envs(&self) -> CommandEnvs<'_> {
        self.inner.get_envs()
    }

    /// The working directory, if set.
    pub fn get_current_dir(&self) -> Option<&Path> {
        self.inner.get_current_dir()
    }

    /// The std command inside, for the Unix extensions.
    pub(crate) fn as_inner_mut(&mut self) -> &mut std::process::Command {
        &mut self.inner
    }
}

impl fmt::Debug for Command {
    /// As std's: the program and arguments (with `{:#?}` every setting).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

/// A running or exited child process; mirrors [`std::process::Child`].
///
/// As with std, dropping a `Child` neither kills nor waits for the process:
/// call [`wait`](Self::wait) (or [`kill`](Self::kill) and then `wait`) so
/// that it does not stay a zombie.
pub struct Child {
    inner: std::process::Child,
    /// The child's standard input, if it was piped.
    pub stdin: Option<ChildStdin>,
    /// The child's standard output, if it was piped.
    pub stdout: Option<ChildStdout>,
    /// The child's standard error, if it was piped.
    pub stderr: Option<ChildStderr>,
}

impl Child {
    /// Adopts a child spawned by std: its pipes become green. An extension:
    /// std has no such constructor.
    ///
    /// # Errors
    ///
    /// If a pipe cannot be switched to non-blocking mode.
    pub fn from_std(mut child: std::process::Child) -> io::Result<Child> {
        let stdin = child.stdin.take().map(ChildStdin::from_std).transpose()?;
        let stdout = child.stdout.take().map(ChildStdout::from_std).transpose()?;
        let stderr = child.stderr.take().map(ChildStderr::from_std).transpose()?;
        Ok(Child {
            inner: child,
            stdin,
            stdout,
            stderr,
        })
    }

    /// Sends `SIGKILL` to the child; mirrors
    /// [`std::process::Child::kill`]. `Ok(())` if it has exited already.
    pub fn kill(&mut self) -> io::Result<()> {
        self.inner.kill()
    }

    /// The OS process id.
    pub fn id(&self) -> u32 {
        self.inner.id()
    }

    /// Waits greenly for the child to exit and reaps it; mirrors
    /// [`std::process::Child::wait`]. Closes the child's stdin first (so a
    /// child reading it sees EOF). Once the child has been reaped, returns
    /// the same status again.
    ///
    /// # Errors
    ///
    /// If the child cannot be waited for (it was reaped by other means).
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        drop(self.stdin.take());
        wait_green(&mut self.inner)
    }

    /// The exit status if the child has exited (reaping it), else `None`,
    /// without waiting; mirrors [`std::process::Child::try_wait`].
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.inner.try_wait()
    }

    /// Closes stdin, reads stdout and stderr to their ends (at the same
    /// time) and waits for the child; mirrors
    /// [`std::process::Child::wait_with_output`]. Pipes that were not
    /// captured give empty vectors.
    ///
    /// # Errors
    ///
    /// An error reading a pipe (std panics there) or waiting.
    pub fn wait_with_output(mut self) -> io::Result<Output> {
        drop(self.stdin.take());
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        match (self.stdout.take(), self.stderr.take()) {
            (None, None) => {}
            (Some(mut out), None) => {
                out.read_to_end(&mut stdout)?;
            }
            (None, Some(mut err)) => {
                err.read_to_end(&mut stderr)?;
            }
            (Some(out), Some(err)) => read2(out, &mut stdout, err, &mut stderr)?,
        }
        let status = self.wait()?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish_non_exhaustive()
    }
}

/// Reads `out` and `err` to their ends at the same time: `err` in a helper
/// greenlet on this hub, `out` here.
fn read2(
    mut out: ChildStdout,
    out_buf: &mut Vec<u8>,
    mut err: ChildStderr,
    err_buf: &mut Vec<u8>,
) -> io::Result<()> {
    let helper = crate::thread::Builder::new().spawn_local(move || {
        let mut buf = Vec::new();
        err.read_to_end(&mut buf).map(|_| buf)
    })?;
    let out_result = out.read_to_end(out_buf);
    let err_result = match helper.join() {
        Ok(r) => r,
        Err(payload) => panic::resume_unwind(payload),
    };
    out_result?;
    *err_buf = err_result?;
    Ok(())
}

// ---- spawning on the spawn thread ----

/// A spawn handed to the spawn thread.
struct SpawnJob {
    cmd: std::process::Command,
    slot: Arc<SpawnSlot>,
}

type Spawned = std::thread::Result<io::Result<std::process::Child>>;

struct SpawnSlot {
    /// The command (handed back) and the result, once spawned.
    done: Mutex<Option<(std::process::Command, Spawned)>>,
    waiter: Arc<Task>,
}

/// The spawn thread's queue; `None` if the thread could not be started.
fn spawner() -> Option<&'static mpsc::Sender<SpawnJob>> {
    static SPAWNER: OnceLock<Option<mpsc::Sender<SpawnJob>>> = OnceLock::new();
    SPAWNER
        .get_or_init(|| {
            let (tx, rx) = mpsc::channel::<SpawnJob>();
            std::thread::Builder::new()
                .name("green-spawn".into())
                .spawn(move || {
                    while let Ok(mut job) = rx.recv() {
                        let r = panic::catch_unwind(AssertUnwindSafe(|| job.cmd.spawn()));
                        let slot = job.slot;
                        *slot.done.lock().unwrap_or_else(|e| e.into_inner()) = Some((job.cmd, r));
                        slot.waiter.unpark();
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// Spawns `cmd` on the spawn thread (or here, if it could not be started)
/// while the calling greenlet waits greenly. The wait is not interruptible:
/// it lasts until the exec, and the command must come back to its owner.
fn spawn_std(cmd: &mut std::process::Command) -> io::Result<std::process::Child> {
    let Some(spawner) = spawner() else {
        return cmd.spawn();
    };
    let slot = Arc::new(SpawnSlot {
        done: Mutex::new(None),
        waiter: wait::current(),
    });
    let job = SpawnJob {
        cmd: mem::replace(cmd, std::process::Command::new("")),
        slot: slot.clone(),
    };
    if let Err(mpsc::SendError(job)) = spawner.send(job) {
        *cmd = job.cmd;
        return cmd.spawn();
    }
    loop {
        let done = slot.done.lock().unwrap_or_else(|e| e.into_inner()).take();
        match done {
            Some((back, result)) => {
                *cmd = back;
                return match result {
                    Ok(r) => r,
                    Err(payload) => panic::resume_unwind(payload),
                };
            }
            None => wait::park_uninterruptible(),
        }
    }
}

// ---- waiting for a child ----

/// Set once `pidfd_open` proved unavailable (`ENOSYS`, `EPERM`).
static NO_PIDFD: AtomicBool = AtomicBool::new(false);

/// Longest sleep between two tries of the polling fallback.
const POLL_MAX: Duration = Duration::from_millis(50);

/// How long a pidfd wait trusts its readiness before it looks again (a
/// backstop; the event comes when the child exits).
const PIDFD_RECHECK: Duration = Duration::from_secs(1);

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    let pid = libc::pid_t::try_from(pid)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "pid out of range"))?;
    // SAFETY: pidfd_open takes a pid and flags by value and returns a new
    // descriptor (close-on-exec) or -1; it touches no memory of ours.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `r` is a descriptor the kernel just made for us; nothing else
    // owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// A pidfd registered with the hub for one wait; deregistered before it is
/// closed, also when the waiting greenlet unwinds.
struct PidFd {
    reg: Registration,
    _fd: OwnedFd,
}

impl Drop for PidFd {
    fn drop(&mut self) {
        let _ = self.reg.deregister();
    }
}

fn try_reap(child: &mut std::process::Child) -> io::Result<ExitStatus> {
    match child.try_wait()? {
        Some(status) => Ok(status),
        None => Err(io::ErrorKind::WouldBlock.into()),
    }
}

/// Waits greenly for `child` to exit and reaps it.
fn wait_green(child: &mut std::process::Child) -> io::Result<ExitStatus> {
    if let Some(status) = child.try_wait()? {
        return Ok(status);
    }
    if !NO_PIDFD.load(Ordering::Relaxed) {
        match pidfd_open(child.id()) {
            Ok(fd) => {
                let pidfd = PidFd {
                    reg: Registration::with_interest(fd.as_raw_fd(), Interest::READABLE),
                    _fd: fd,
                };
                loop {
                    let deadline = Instant::now().checked_add(PIDFD_RECHECK);
                    match pidfd.reg.io(Direction::Read, deadline, || try_reap(child)) {
                        Err(e)
                            if e.kind() == io::ErrorKind::TimedOut
                                && e.raw_os_error().is_none() =>
                        {
                            continue;
                        }
                        r => return r,
                    }
                }
            }
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                NO_PIDFD.store(true, Ordering::Relaxed);
            }
            // Out of descriptors, say: poll this once.
            Err(_) => {}
        }
    }
    let mut backoff = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        crate::thread::sleep(backoff);
        backoff = (backoff * 2).min(POLL_MAX);
    }
}

// ---- pipes ----

fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    let fd = fd.as_raw_fd();
    // SAFETY: F_GETFL on a descriptor we borrow; no memory is passed.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    let new = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    if new != flags {
        // SAFETY: F_SETFL with an int argument on a descriptor we borrow.
        if unsafe { libc::fcntl(fd, libc::F_SETFL, new) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The parent's end of a pipe, non-blocking and registered with a hub at
/// its first wait.
struct Pipe {
    /// `None` only after `into_owned` took it.
    file: Option<File>,
    reg: Registration,
}

impl Pipe {
    fn new(fd: OwnedFd, interest: Interest) -> io::Result<Pipe> {
        set_nonblocking(fd.as_fd(), true)?;
        let reg = Registration::with_interest(fd.as_raw_fd(), interest);
        Ok(Pipe {
            file: Some(File::from(fd)),
            reg,
        })
    }

    /// As [`new`](Self::new), for the `From<OwnedFd>` conversions, which
    /// cannot fail: `fcntl` on an open descriptor does not fail.
    fn from_owned(fd: OwnedFd, interest: Interest) -> Pipe {
        let _ = set_nonblocking(fd.as_fd(), true);
        let reg = Registration::with_interest(fd.as_raw_fd(), interest);
        Pipe {
            file: Some(File::from(fd)),
            reg,
        }
    }

    fn file(&self) -> &File {
        self.file
            .as_ref()
            .expect("green pipe used after into_raw_fd")
    }

    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut f = self.file();
        self.reg
            .io_stream(Direction::Read, None, buf.len(), || f.read(buf))
    }

    fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let mut f = self.file();
        let len = bufs.iter().map(|b| b.len()).sum();
        self.reg
            .io_stream(Direction::Read, None, len, || f.read_vectored(bufs))
    }

    fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let mut f = self.file();
        self.reg
            .io_stream(Direction::Write, None, buf.len(), || f.write(buf))
    }

    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut f = self.file();
        let len = bufs.iter().map(|b| b.len()).sum();
        self.reg
            .io_stream(Direction::Write, None, len, || f.write_vectored(bufs))
    }

    /// Gives up the descriptor: deregistered and back in blocking mode.
    fn into_owned(mut self) -> OwnedFd {
        let _ = self.reg.deregister();
        let file = self.file.take().expect("pipe present");
        let _ = set_nonblocking(file.as_fd(), false);
        file.into()
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = self.reg.deregister();
        }
    }
}

macro_rules! pipe_impls {
    ($t:ident, $std:ty, $interest:expr) => {
        impl $t {
            fn from_std(pipe: $std) -> io::Result<$t> {
                Ok($t {
                    inner: Pipe::new(pipe.into(), $interest)?,
                })
            }
        }

        impl AsFd for $t {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.inner.file().as_fd()
            }
        }

        impl AsRawFd for $t {
            fn as_raw_fd(&self) -> RawFd {
                self.inner.file().as_raw_fd()
            }
        }

        impl IntoRawFd for $t {
            /// Gives up the descriptor, deregistered and in blocking mode.
            fn into_raw_fd(self) -> RawFd {
                self.inner.into_owned().into_raw_fd()
            }
        }

        impl From<$t> for OwnedFd {
            /// Gives up the descriptor, deregistered and in blocking mode.
            fn from(pipe: $t) -> OwnedFd {
                pipe.inner.into_owned()
            }
        }

        impl From<OwnedFd> for $t {
            /// Takes a pipe end (switched to non-blocking mode).
            fn from(fd: OwnedFd) -> $t {
                $t {
                    inner: Pipe::from_owned(fd, $interest),
                }
            }
        }

        impl From<$t> for Stdio {
            /// Hands the pipe to another child (in blocking mode), as std's
            /// `From<ChildStdout> for Stdio` does.
            fn from(pipe: $t) -> Stdio {
                Stdio::from(pipe.inner.into_owned())
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t)).finish_non_exhaustive()
            }
        }
    };
}

/// A handle to a child's standard input; mirrors
/// [`std::process::ChildStdin`]. Writes wait greenly; dropping it closes
/// the pipe.
pub struct ChildStdin {
    inner: Pipe,
}

/// A handle to a child's standard output; mirrors
/// [`std::process::ChildStdout`]. Reads wait greenly.
pub struct ChildStdout {
    inner: Pipe,
}

/// A handle to a child's standard error; mirrors
/// [`std::process::ChildStderr`]. Reads wait greenly.
pub struct ChildStderr {
    inner: Pipe,
}

pipe_impls!(ChildStdin, std::process::ChildStdin, Interest::WRITABLE);
pipe_impls!(ChildStdout, std::process::ChildStdout, Interest::READABLE);
pipe_impls!(ChildStderr, std::process::ChildStderr, Interest::READABLE);

impl Write for ChildStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &ChildStdin {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.inner.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for ChildStdout {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.inner.read_vectored(bufs)
    }
}

impl Read for ChildStderr {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        self.inner.read_vectored(bufs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without pidfds (old kernels, seccomp), `wait` polls `try_wait` with
    /// a green backoff and still returns soon after the exit.
    #[test]
    fn wait_polls_without_pidfd() {
        NO_PIDFD.store(true, Ordering::Relaxed);
        let t0 = Instant::now();
        let mut child = Command::new("sh")
            .args(["-c", "sleep 0.2; exit 5"])
            .spawn()
            .unwrap();
        let status = child.wait();
        NO_PIDFD.store(false, Ordering::Relaxed);
        assert_eq!(status.unwrap().code(), Some(5));
        let elapsed = t0.elapsed();
        assert!(
            elapsed < Duration::from_millis(200) + POLL_MAX * 3,
            "{elapsed:?}"
        );
        assert_eq!(child.try_wait().unwrap().unwrap().code(), Some(5));
    }
}
