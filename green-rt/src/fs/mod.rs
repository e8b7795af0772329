//! Filesystem manipulation: a mirror of [`std::fs`] whose calls run on the
//! blocking-call pool ([`crate::tpool`]) while the calling greenlet waits.
//!
//! Files cannot be waited on with readiness (epoll reports a regular file
//! as always ready, and a read that misses the page cache still sleeps in
//! the kernel), so every operation that touches the filesystem is a job on
//! the pool, as gevent's `FileObjectThread` and eventlet's `tpool` do it.
//! The greenlet that calls it suspends; its hub runs the others meanwhile.
//! A call is one job: [`read`] opens, reads and closes in one pool hop,
//! [`File::read_to_end`](std::io::Read::read_to_end), `write_all` and
//! `read_exact` are one hop each, [`read_dir`] fetches entries in batches.
//!
//! **Implements** green, with std's signatures and semantics: the free
//! functions [`canonicalize`], [`copy`], [`create_dir`],
//! [`create_dir_all`], [`exists`], [`hard_link`], [`metadata`], [`read`],
//! [`read_dir`], [`read_link`], [`read_to_string`], [`remove_dir`],
//! [`remove_dir_all`], [`remove_file`], [`rename`], [`set_permissions`],
//! [`soft_link`] (deprecated, as in std), [`symlink_metadata`], [`write()`];
//! [`File`] (`open`, `create`, `create_new`, `options`, `sync_all`,
//! `sync_data`, `lock`, `lock_shared`, `try_lock`, `try_lock_shared`,
//! `unlock`, `set_len`, `metadata`, `try_clone`, `set_permissions`,
//! `set_times`, `set_modified`; `Read`, `Write` and `Seek` for `File` and
//! `&File`; std's `FileExt` (`read_at`, `write_at`), `AsFd`, `AsRawFd`,
//! `FromRawFd`, `IntoRawFd`, `From<OwnedFd>`, `Into<OwnedFd>`,
//! `Into<Stdio>` and `Debug`); [`OpenOptions`] (with std's
//! `OpenOptionsExt`: `mode`, `custom_flags`); [`DirBuilder`] (with std's
//! `DirBuilderExt`: `mode`); [`ReadDir`] and [`DirEntry`] (`metadata` on
//! the pool; `file_type` is read with the batch, as std reads it from the
//! directory entry; std's `DirEntryExt::ino`).
//!
//! **Adds**: `File::from_std`/`File::into_std` (and `From` both ways),
//! `File::is_terminal` (std's `IsTerminal` is sealed, so the green file
//! answers with an inherent method of the same name).
//!
//! **Re-exports** from std unchanged, as they are plain data that never
//! block: [`Metadata`], [`Permissions`], [`FileType`], [`FileTimes`],
//! [`TryLockError`].
//!
//! ```
//! use std::io::{Read, Seek, SeekFrom, Write};
//! use green_rt::fs::{self, File};
//!
//! let path = std::env::temp_dir().join(format!("green-fs-doc-{}", std::process::id()));
//! fs::write(&path, b"hello")?; // a pool job; this greenlet waits greenly
//! let mut f = fs::OpenOptions::new().read(true).append(true).open(&path)?;
//! f.write_all(b", world")?;
//! f.seek(SeekFrom::Start(0))?;
//! let mut s = String::new();
//! f.read_to_string(&mut s)?;
//! assert_eq!(s, "hello, world");
//! assert_eq!(fs::metadata(&path)?.len(), 12);
//! fs::remove_file(&path)?;
//! assert!(!fs::exists(&path)?);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Differences that std's types force:
//!
//! - std implements `Read`, `Write` and `Seek` for `Arc<std::fs::File>`;
//!   the orphan rule forbids that impl for the green `File`. Use
//!   `&*arc` (`&File` has them all).
//! - The `std::os::unix::fs` free functions (`symlink`, `chown`, ...) are
//!   std's and block; run them through [`crate::tpool::execute`].
//! - Dropping the last handle of a file closes it on the calling thread,
//!   as std does; `close` of a local file does not wait for the disk.
//! - Buffers cross to the pool by value: a read fills an owned buffer on
//!   the pool thread and copies it into the caller's, a write copies the
//!   caller's bytes first (a greenlet killed while it waits unwinds at
//!   once, so the pool must never hold a borrow). A single `read` moves at
//!   most 4 MiB, which `Read::read` allows (it may read fewer bytes).

mod dir;
mod file;

use std::io;
use std::path::{Path, PathBuf};

use crate::tpool;

pub use std::fs::{FileTimes, FileType, Metadata, Permissions, TryLockError};

pub use dir::{DirBuilder, DirEntry, ReadDir};
pub use file::{File, OpenOptions};

/// Runs `f` on the blocking-call pool.
fn pool<T, F>(f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tpool::execute(f)
}

fn owned<P: AsRef<Path>>(path: P) -> PathBuf {
    path.as_ref().to_path_buf()
}

/// Returns the canonical, absolute form of a path with all intermediate
/// components normalized and symbolic links resolved; mirrors
/// [`std::fs::canonicalize`].
///
/// # Errors
///
/// As std: the path does not exist (`NotFound`), a component is not a
/// directory, ...
pub fn canonicalize<P: AsRef<Path>>(path: P) -> io::Result<PathBuf> {
    let path = owned(path);
    pool(move || std::fs::canonicalize(path))
}

/// Copies the contents and permission bits of one file to another and
/// returns the number of bytes copied; mirrors [`std::fs::copy`]. The copy
/// is one job (the kernel's `copy_file_range` where std uses it).
///
/// # Errors
///
/// As std: `from` is not a regular file or does not exist, `to` cannot be
/// created, ...
pub fn copy<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<u64> {
    let (from, to) = (owned(from), owned(to));
    pool(move || std::fs::copy(from, to))
}

/// Creates a new, empty directory; mirrors [`std::fs::create_dir`].
///
/// # Errors
///
/// As std: the parent is missing (`NotFound`), the path exists
/// (`AlreadyExists`), ...
pub fn create_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = owned(path);
    pool(move || std::fs::create_dir(path))
}

/// Creates a directory and all of its missing parents; mirrors
/// [`std::fs::create_dir_all`].
///
/// # Errors
///
/// As std: a component exists and is not a directory, permission denied,
/// ...
pub fn create_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = owned(path);
    pool(move || std::fs::create_dir_all(path))
}

/// Returns `Ok(true)` if the path points at an existing entity (following
/// symbolic links); mirrors [`std::fs::exists`].
///
/// # Errors
///
/// As std: when existence can be neither confirmed nor denied (permission
/// denied on a parent, ...).
pub fn exists<P: AsRef<Path>>(path: P) -> io::Result<bool> {
    let path = owned(path);
    pool(move || std::fs::exists(path))
}

/// Creates a new hard link; mirrors [`std::fs::hard_link`].
///
/// # Errors
///
/// As std: `original` does not exist, `link` exists (`AlreadyExists`), ...
pub fn hard_link<P: AsRef<Path>, Q: AsRef<Path>>(original: P, link: Q) -> io::Result<()> {
    let (original, link) = (owned(original), owned(link));
    pool(move || std::fs::hard_link(original, link))
}

/// Queries the metadata of a path, following symbolic links; mirrors
/// [`std::fs::metadata`].
///
/// # Errors
///
/// As std: the path does not exist (`NotFound`), permission denied, ...
pub fn metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = owned(path);
    pool(move || std::fs::metadata(path))
}

/// Reads the entire contents of a file into a bytes vector; mirrors
/// [`std::fs::read`]. Opening, reading and closing are one job.
///
/// # Errors
///
/// As std: the file does not exist (`NotFound`), is a directory, ...
pub fn read<P: AsRef<Path>>(path: P) -> io::Result<Vec<u8>> {
    let path = owned(path);
    pool(move || std::fs::read(path))
}

/// Returns an iterator over the entries of a directory; mirrors
/// [`std::fs::read_dir`]. The directory is opened and its first batch of
/// entries read in one job; further batches are fetched as the iterator
/// reaches them.
///
/// # Errors
///
/// As std: the path does not exist (`NotFound`), is not a directory,
/// permission denied, ...
pub fn read_dir<P: AsRef<Path>>(path: P) -> io::Result<ReadDir> {
    let path = owned(path);
    pool(move || std::fs::read_dir(path).map(ReadDir::first_batch))
}

/// Reads a symbolic link and returns the path it points to; mirrors
/// [`std::fs::read_link`].
///
/// # Errors
///
/// As std: the path does not exist or is not a symbolic link
/// (`InvalidInput`), ...
pub fn read_link<P: AsRef<Path>>(path: P) -> io::Result<PathBuf> {
    let path = owned(path);
    pool(move || std::fs::read_link(path))
}

/// Reads the entire contents of a file into a string; mirrors
/// [`std::fs::read_to_string`].
///
/// # Errors
///
/// As std: the file does not exist (`NotFound`), its contents are not
/// UTF-8 (`InvalidData`), ...
pub fn read_to_string<P: AsRef<Path>>(path: P) -> io::Result<String> {
    let path = owned(path);
    pool(move || std::fs::read_to_string(path))
}

/// Removes an empty directory; mirrors [`std::fs::remove_dir`].
///
/// # Errors
///
/// As std: the path does not exist (`NotFound`), is not a directory, is
/// not empty, ...
pub fn remove_dir<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = owned(path);
    pool(move || std::fs::remove_dir(path))
}

/// Removes a directory after removing all its contents; mirrors
/// [`std::fs::remove_dir_all`]. The whole removal is one job.
///
/// # Errors
///
/// As std: the path does not exist (`NotFound`), is not a directory, ...
pub fn remove_dir_all<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = owned(path);
    pool(move || std::fs::remove_dir_all(path))
}

/// Removes a file; mirrors [`std::fs::remove_file`].
///
/// # Errors
///
/// As std: the path does not exist (`NotFound`), is a directory, ...
pub fn remove_file<P: AsRef<Path>>(path: P) -> io::Result<()> {
    let path = owned(path);
    pool(move || std::fs::remove_file(path))
}

/// Renames a file or directory, replacing `to` if it exists; mirrors
/// [`std::fs::rename`].
///
/// # Errors
///
/// As std: `from` does not exist (`NotFound`), the two are on different
/// filesystems, ...
pub fn rename<P: AsRef<Path>, Q: AsRef<Path>>(from: P, to: Q) -> io::Result<()> {
    let (from, to) = (owned(from), owned(to));
    pool(move || std::fs::rename(from, to))
}

/// Changes the permissions of a file or directory; mirrors
/// [`std::fs::set_permissions`].
///
/// # Errors
///
/// As std: the path does not exist (`NotFound`), the caller may not change
/// them, ...
pub fn set_permissions<P: AsRef<Path>>(path: P, perm: Permissions) -> io::Result<()> {
    let path = owned(path);
    pool(move || std::fs::set_permissions(path, perm))
}

/// Creates a new symbolic link; mirrors the deprecated
/// [`std::fs::soft_link`], kept for signature compatibility.
///
/// # Errors
///
/// As std: `link` exists (`AlreadyExists`), ...
#[deprecated(
    since = "1.1.0",
    note = "replaced with std::os::unix::fs::symlink and \
            std::os::windows::fs::{symlink_file, symlink_dir}"
)]
pub fn soft_link<P: AsRef<Path>, Q: AsRef<Path>>(original: P, link: Q) -> io::Result<()> {
    let (original, link) = (owned(original), owned(link));
    pool(move || std::os::unix::fs::symlink(original, link))
}

/// Queries the metadata of a path without following symbolic links;
/// mirrors [`std::fs::symlink_metadata`].
///
/// # Errors
///
/// As std: the path does not exist (`NotFound`), permission denied, ...
pub fn symlink_metadata<P: AsRef<Path>>(path: P) -> io::Result<Metadata> {
    let path = owned(path);
    pool(move || std::fs::symlink_metadata(path))
}

/// Writes a slice as the entire contents of a file, creating or truncating
/// it; mirrors [`std::fs::write`]. The bytes are copied once to move them
/// to the pool; opening, writing and closing are one job.
///
/// # Errors
///
/// As std: the parent does not exist (`NotFound`), permission denied, ...
pub fn write<P: AsRef<Path>, C: AsRef<[u8]>>(path: P, contents: C) -> io::Result<()> {
    let path = owned(path);
    let contents = contents.as_ref().to_vec();
    pool(move || std::fs::write(path, contents))
}
