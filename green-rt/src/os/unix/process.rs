//! Unix process extensions: a mirror of [`std::os::unix::process`].
//!
//! **Implements** for green's [`Command`]: [`CommandExt`] (`uid`, `gid`,
//! `pre_exec`, `before_exec` (deprecated, as std's), `exec`, `arg0`,
//! `process_group`), with std's signatures and semantics. The unstable
//! parts of std's trait (`groups`, `setsid`, `chroot`) are left out.
//!
//! **Re-exports** from std unchanged: [`ExitStatusExt`] (for the
//! [`ExitStatus`](crate::process::ExitStatus) green re-exports) and
//! [`parent_id`].

use std::ffi::OsStr;
use std::io;

pub use std::os::unix::process::{ExitStatusExt, parent_id};

use crate::process::Command;

mod private {
    /// Seals [`CommandExt`](super::CommandExt), as std's is sealed.
    pub trait Sealed {}
}

impl private::Sealed for Command {}

/// Unix-specific extensions to green's [`Command`]; mirrors
/// [`std::os::unix::process::CommandExt`].
pub trait CommandExt: private::Sealed {
    /// Sets the child's user id (`setuid` after the fork).
    fn uid(&mut self, id: u32) -> &mut Command;

    /// Sets the child's group id (`setgid` after the fork).
    fn gid(&mut self, id: u32) -> &mut Command;

    /// Schedules a closure to run in the child after the fork, just before
    /// the exec; mirrors [`std::os::unix::process::CommandExt::pre_exec`].
    /// Green forks on its spawn thread, so the closure runs in a copy of
    /// that thread, which holds no greenlet and no hub: it must not use
    /// green (or any) blocking calls.
    ///
    /// # Safety
    ///
    /// As std's: the closure runs in the child between `fork` and `exec`,
    /// where only async-signal-safe operations are allowed (no allocation,
    /// no locks another thread may have held at the fork), and it must not
    /// leave the process in a state the exec cannot recover from.
    unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static;

    /// As [`pre_exec`](Self::pre_exec); deprecated in std since 1.37.
    ///
    /// # Safety
    ///
    /// As [`pre_exec`](Self::pre_exec).
    #[deprecated(since = "0.1.0", note = "should be unsafe, use `pre_exec` instead")]
    unsafe fn before_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        // SAFETY: the caller upholds `pre_exec`'s contract (this method's
        // `# Safety`).
        unsafe { self.pre_exec(f) }
    }

    /// Replaces this process with the command (`execvp`); returns only on
    /// failure; mirrors [`std::os::unix::process::CommandExt::exec`]. Every
    /// greenlet of the process ends with it, as every thread does with std.
    fn exec(&mut self) -> io::Error;

    /// Sets the child's `argv[0]`.
    fn arg0<S>(&mut self, arg: S) -> &mut Command
    where
        S: AsRef<OsStr>;

    /// Puts the child in process group `pgroup` (0: a new group whose id
    /// is the child's pid).
    fn process_group(&mut self, pgroup: i32) -> &mut Command;
}

impl CommandExt for Command {
    fn uid(&mut self, id: u32) -> &mut Command {
        std::os::unix::process::CommandExt::uid(self.as_inner_mut(), id);
        self
    }

    fn gid(&mut self, id: u32) -> &mut Command {
        std::os::unix::process::CommandExt::gid(self.as_inner_mut(), id);
        self
    }

    unsafe fn pre_exec<F>(&mut self, f: F) -> &mut Command
    where
        F: FnMut() -> io::Result<()> + Send + Sync + 'static,
    {
        // SAFETY: the caller upholds std's `pre_exec` contract, which is
        // this method's `# Safety`.
        unsafe { std::os::unix::process::CommandExt::pre_exec(self.as_inner_mut(), f) };
        self
    }

    fn exec(&mut self) -> io::Error {
        std::os::unix::process::CommandExt::exec(self.as_inner_mut())
    }

    fn arg0<S>(&mut self, arg: S) -> &mut Command
    where
        S: AsRef<OsStr>,
    {
        std::os::unix::process::CommandExt::arg0(self.as_inner_mut(), arg);
        self
    }

    fn process_group(&mut self, pgroup: i32) -> &mut Command {
        std::os::unix::process::CommandExt::process_group(self.as_inner_mut(), pgroup);
        self
    }
}
