//! Traits, helpers and types for I/O: a mirror of [`std::io`] whose
//! standard-input reads suspend only the calling greenlet.
//!
//! **Implements** green, with std's signatures and semantics: [`stdin`],
//! [`Stdin`] (`lock`, `read_line`, `lines`; `Read` for `Stdin` and
//! `&Stdin`; `AsFd`, `AsRawFd`, `Debug`) and [`StdinLock`] (`Read` and
//! `BufRead`, including `read_line`, `lines`, `read_until`, `skip_until`,
//! `split`, `fill_buf`/`consume`; `AsFd`, `AsRawFd`, `Debug`).
//!
//! **Adds**: `is_terminal` as an inherent method of [`Stdin`] and
//! [`StdinLock`]: std's [`IsTerminal`] is sealed, so the green types
//! cannot implement it, and `stdin().is_terminal()` resolves to the
//! inherent method instead (a `use std::io::IsTerminal;` kept only for it
//! is then reported unused).
//!
//! **Re-exports** from std unchanged, so they are the very same types and
//! traits as std's: everything else in [`std::io`] — [`Error`],
//! [`ErrorKind`], [`Result`], [`Read`], [`Write`], [`BufRead`], [`Seek`],
//! [`SeekFrom`], [`BufReader`], [`BufWriter`], [`LineWriter`], [`Cursor`],
//! [`Lines`], [`Split`], [`Bytes`], [`Chain`], [`Take`], [`IoSlice`],
//! [`IoSliceMut`], [`Empty`], [`Sink`], [`Repeat`], [`copy`], [`empty`],
//! [`sink`], [`repeat`], [`read_to_string`], [`stdout`], [`stderr`],
//! [`Stdout`], [`StdoutLock`], [`Stderr`], [`StderrLock`], [`IsTerminal`],
//! [`IntoInnerError`], [`WriterPanicked`], ... Writes to stdout and stderr
//! stay std's: they rarely block for long, and sharing std's buffer keeps
//! `println!` and the program's own writes in order.
//!
//! ## Standard input
//!
//! A read from standard input can wait for as long as the user takes to
//! type. The green [`Stdin`] runs each read as a job on the blocking-call
//! pool ([`crate::tpool`]) against **std's own** global stdin, so only the
//! calling greenlet waits, the bytes pass through std's one buffer (code
//! that still calls `std::io::stdin()` sees them in order), and fd 0 is
//! left blocking (it is shared with the parent shell; `O_NONBLOCK` there
//! would break it).
//!
//! ```no_run
//! use green_rt::io::{self, BufRead};
//!
//! let ticker = green_rt::thread::spawn(|| { /* keeps running meanwhile */ });
//! let mut name = String::new();
//! io::stdin().read_line(&mut name)?; // suspends this greenlet only
//! for line in io::stdin().lines() {
//!     println!("{}", line?);
//! }
//! ticker.join().unwrap();
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`StdinLock`] gives one greenlet the input until it is dropped (a green
//! mutex: other greenlets that read stdin wait greenly). Each of its reads
//! (`read_line`, `read_to_end`, ...) is one job on std's locked stdin;
//! `lines()` is one job per line. `fill_buf` copies std's buffered bytes
//! out *without consuming them* and `consume` consumes them in std's
//! buffer at once, so bytes that were looked at but not consumed are still
//! in std's buffer when the lock is dropped: nothing is lost, and the next
//! reader (green or std) gets them. The green lock excludes other green
//! readers; a plain OS thread calling `std::io::stdin()` meanwhile is only
//! excluded during each job (std's own lock), as the green lock cannot
//! hold std's lock across pool threads.

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

pub use std::io::*;

use crate::sync::{Mutex, MutexGuard, PoisonError};
use crate::tpool;

/// The green lock on standard input: one [`StdinLock`] at a time.
static LOCK: Mutex<()> = Mutex::new(());

/// The most bytes one `read` moves through the pool.
const MAX_CHUNK: usize = 4 << 20;

/// A handle to the process's standard input; mirrors [`std::io::Stdin`],
/// and its reads suspend only the calling greenlet.
///
/// Created by [`stdin`]. Every handle shares std's one buffer.
pub struct Stdin {
    _private: (),
}

/// A locked handle to standard input; mirrors [`std::io::StdinLock`].
///
/// Created by [`Stdin::lock`]. Holding it keeps other greenlets' reads of
/// standard input waiting (greenly); see the [module docs](self) for how
/// its buffer relates to std's.
pub struct StdinLock<'a> {
    _guard: MutexGuard<'a, ()>,
    /// A copy of std's buffered bytes, still unconsumed in std's buffer
    /// from `pos` on.
    peek: Vec<u8>,
    pos: usize,
}

/// A handle to standard input whose reads run on the blocking-call pool;
/// mirrors [`std::io::stdin`].
#[must_use]
pub fn stdin() -> Stdin {
    Stdin { _private: () }
}

impl Stdin {
    /// Locks standard input for this greenlet, waiting greenly while
    /// another holds it; mirrors [`std::io::Stdin::lock`].
    pub fn lock(&self) -> StdinLock<'static> {
        StdinLock {
            _guard: LOCK.lock().unwrap_or_else(PoisonError::into_inner),
            peek: Vec::new(),
            pos: 0,
        }
    }

    /// Reads a line (up to and including `\n`) and appends it to `buf`;
    /// mirrors [`std::io::Stdin::read_line`]. Returns the bytes read, 0 at
    /// end of input.
    ///
    /// # Errors
    ///
    /// As std: the bytes are not UTF-8 (`InvalidData`; `buf` is left
    /// unchanged), or reading fails.
    pub fn read_line(&self, buf: &mut String) -> Result<usize> {
        self.lock().read_line(buf)
    }

    /// Consumes this handle and returns an iterator over the lines of
    /// input; mirrors [`std::io::Stdin::lines`]. Each line is one pool job.
    pub fn lines(self) -> Lines<StdinLock<'static>> {
        self.lock().lines()
    }

    /// Whether standard input is a terminal; see the [module docs](self)
    /// for why this is an inherent method.
    pub fn is_terminal(&self) -> bool {
        std::io::stdin().is_terminal()
    }
}

impl Read for Stdin {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.lock().read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> Result<usize> {
        self.lock().read_vectored(bufs)
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> Result<usize> {
        self.lock().read_to_end(buf)
    }

    fn read_to_string(&mut self, buf: &mut String) -> Result<usize> {
        self.lock().read_to_string(buf)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        self.lock().read_exact(buf)
    }
}

impl Read for &Stdin {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.lock().read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> Result<usize> {
        self.lock().read_vectored(bufs)
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> Result<usize> {
        self.lock().read_to_end(buf)
    }

    fn read_to_string(&mut self, buf: &mut String) -> Result<usize> {
        self.lock().read_to_string(buf)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        self.lock().read_exact(buf)
    }
}

impl AsFd for Stdin {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: fd 0 stays open for the life of the process, as std's
        // own `Stdin::as_fd` assumes.
        unsafe { BorrowedFd::borrow_raw(0) }
    }
}

impl AsRawFd for Stdin {
    fn as_raw_fd(&self) -> RawFd {
        0
    }
}

impl fmt::Debug for Stdin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stdin").finish_non_exhaustive()
    }
}

impl StdinLock<'_> {
    /// Runs `f` on the pool against std's locked stdin. The peeked copy is
    /// dropped first: its unconsumed bytes are still in std's buffer.
    fn job<T, F>(&mut self, f: F) -> T
    where
        F: FnOnce(&mut std::io::StdinLock<'static>) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.peek.clear();
        self.pos = 0;
        tpool::execute(move || f(&mut std::io::stdin().lock()))
    }

    /// Whether standard input is a terminal; see the [module docs](self)
    /// for why this is an inherent method.
    pub fn is_terminal(&self) -> bool {
        std::io::stdin().is_terminal()
    }
}

impl Read for StdinLock<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.pos < self.peek.len() {
            let n = buf.len().min(self.peek.len() - self.pos);
            buf[..n].copy_from_slice(&self.peek[self.pos..self.pos + n]);
            self.consume(n);
            return Ok(n);
        }
        let len = buf.len().min(MAX_CHUNK);
        let (r, data) = self.job(move |l| {
            let mut data = vec![0; len];
            let r = l.read(&mut data);
            (r, data)
        });
        let n = r?;
        buf[..n].copy_from_slice(&data[..n]);
        Ok(n)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> Result<usize> {
        match bufs.iter_mut().find(|b| !b.is_empty()) {
            Some(buf) => self.read(buf),
            None => Ok(0),
        }
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> Result<usize> {
        let (r, data) = self.job(|l| {
            let mut data = Vec::new();
            let r = l.read_to_end(&mut data);
            (r, data)
        });
        buf.extend_from_slice(&data);
        r
    }

    fn read_to_string(&mut self, buf: &mut String) -> Result<usize> {
        let (r, data) = self.job(|l| {
            let mut data = String::new();
            let r = l.read_to_string(&mut data);
            (r, data)
        });
        buf.push_str(&data);
        r
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        let len = buf.len();
        let (r, data) = self.job(move |l| {
            let mut data = vec![0; len];
            let r = l.read_exact(&mut data);
            (r, data)
        });
        r?;
        buf.copy_from_slice(&data);
        Ok(())
    }
}

impl BufRead for StdinLock<'_> {
    fn fill_buf(&mut self) -> Result<&[u8]> {
        if self.pos >= self.peek.len() {
            // Copy std's buffered bytes without consuming them there.
            let peek = self.job(|l| l.fill_buf().map(<[u8]>::to_vec))?;
            self.peek = peek;
        }
        Ok(&self.peek[self.pos..])
    }

    fn consume(&mut self, amt: usize) {
        // Consuming moves an index in std's buffer: it never waits for
        // input, so it runs here rather than as a job.
        std::io::stdin().lock().consume(amt);
        self.pos = (self.pos + amt).min(self.peek.len());
    }

    fn read_until(&mut self, byte: u8, buf: &mut Vec<u8>) -> Result<usize> {
        let (r, data) = self.job(move |l| {
            let mut data = Vec::new();
            let r = l.read_until(byte, &mut data);
            (r, data)
        });
        buf.extend_from_slice(&data);
        r
    }

    fn skip_until(&mut self, byte: u8) -> Result<usize> {
        self.job(move |l| l.skip_until(byte))
    }

    fn read_line(&mut self, buf: &mut String) -> Result<usize> {
        let (r, data) = self.job(|l| {
            let mut data = String::new();
            let r = l.read_line(&mut data);
            (r, data)
        });
        buf.push_str(&data);
        r
    }
}

impl AsFd for StdinLock<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        // SAFETY: fd 0 stays open for the life of the process, as std's
        // own `StdinLock::as_fd` assumes.
        unsafe { BorrowedFd::borrow_raw(0) }
    }
}

impl AsRawFd for StdinLock<'_> {
    fn as_raw_fd(&self) -> RawFd {
        0
    }
}

impl fmt::Debug for StdinLock<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StdinLock").finish_non_exhaustive()
    }
}
