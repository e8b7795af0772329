//! The green [`ReadDir`], [`DirEntry`] and [`DirBuilder`].

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::os::unix::fs::{DirBuilderExt, DirEntryExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{FileType, Metadata, owned, pool};

/// Entries read from the directory per pool job.
const BATCH: usize = 256;

/// An iterator over the entries of a directory; mirrors
/// [`std::fs::ReadDir`].
///
/// Entries are read from std's iterator on the pool in batches of up to
/// 256 (the first batch by [`read_dir`](super::read_dir) itself), so a
/// `next` that finds the batch empty is one pool job and the others
/// return at once. The order, the errors and the end are std's.
pub struct ReadDir {
    inner: Option<std::fs::ReadDir>,
    batch: VecDeque<io::Result<DirEntry>>,
    done: bool,
}

impl ReadDir {
    /// Reads the first batch (on the pool thread that opened the
    /// directory).
    pub(super) fn first_batch(inner: std::fs::ReadDir) -> ReadDir {
        let (inner, batch, done) = fill(inner);
        ReadDir {
            inner: Some(inner),
            batch,
            done,
        }
    }
}

/// Takes up to `BATCH` entries from `inner`; `true` when it is exhausted.
fn fill(mut inner: std::fs::ReadDir) -> (std::fs::ReadDir, VecDeque<io::Result<DirEntry>>, bool) {
    let mut batch = VecDeque::new();
    let mut done = false;
    while batch.len() < BATCH {
        match inner.next() {
            Some(entry) => batch.push_back(entry.map(DirEntry::new)),
            None => {
                done = true;
                break;
            }
        }
    }
    (inner, batch, done)
}

impl Iterator for ReadDir {
    type Item = io::Result<DirEntry>;

    fn next(&mut self) -> Option<io::Result<DirEntry>> {
        if let Some(entry) = self.batch.pop_front() {
            return Some(entry);
        }
        if self.done {
            return None;
        }
        // Taken out while the job runs: a greenlet killed meanwhile leaves
        // the iterator finished rather than torn.
        let inner = self.inner.take()?;
        let (inner, batch, done) = pool(move || fill(inner));
        self.inner = Some(inner);
        self.batch = batch;
        self.done = done;
        self.batch.pop_front()
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Some(inner) => fmt::Debug::fmt(inner, f),
            None => f.write_str("ReadDir { .. }"),
        }
    }
}

/// An entry returned by [`ReadDir`]; mirrors [`std::fs::DirEntry`].
///
/// [`metadata`](DirEntry::metadata) runs on the pool. The file type is
/// read in the batch job (std takes it from the directory entry, or asks
/// the filesystem when the entry does not say), so
/// [`file_type`](DirEntry::file_type) usually returns at once.
pub struct DirEntry {
    inner: Arc<std::fs::DirEntry>,
    file_type: Option<FileType>,
}

impl DirEntry {
    fn new(inner: std::fs::DirEntry) -> DirEntry {
        let file_type = inner.file_type().ok();
        DirEntry {
            inner: Arc::new(inner),
            file_type,
        }
    }

    /// The full path of the entry (the directory's path joined with the
    /// file name); mirrors [`std::fs::DirEntry::path`].
    #[must_use]
    pub fn path(&self) -> PathBuf {
        self.inner.path()
    }

    /// The metadata of the entry, not following a symbolic link; mirrors
    /// [`std::fs::DirEntry::metadata`].
    ///
    /// # Errors
    ///
    /// As std: the entry was removed since it was read (`NotFound`), ...
    pub fn metadata(&self) -> io::Result<Metadata> {
        let inner = self.inner.clone();
        pool(move || inner.metadata())
    }

    /// The file type of the entry, not following a symbolic link; mirrors
    /// [`std::fs::DirEntry::file_type`].
    ///
    /// # Errors
    ///
    /// As std: the filesystem had to be asked and failed.
    pub fn file_type(&self) -> io::Result<FileType> {
        match self.file_type {
            Some(t) => Ok(t),
            None => {
                let inner = self.inner.clone();
                pool(move || inner.file_type())
            }
        }
    }

    /// The bare file name of the entry; mirrors
    /// [`std::fs::DirEntry::file_name`].
    #[must_use]
    pub fn file_name(&self) -> OsString {
        self.inner.file_name()
    }
}

impl DirEntryExt for DirEntry {
    fn ino(&self) -> u64 {
        self.inner.ino()
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}

/// A builder for creating directories; mirrors [`std::fs::DirBuilder`],
/// and [`create`](DirBuilder::create) runs on the pool. std's
/// `DirBuilderExt::mode` is implemented.
///
/// ```
/// use green_rt::fs::DirBuilder;
///
/// let path = std::env::temp_dir().join(format!("green-db-doc-{}/a/b", std::process::id()));
/// DirBuilder::new().recursive(true).create(&path)?;
/// assert!(path.is_dir());
/// # std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap())?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct DirBuilder {
    recursive: bool,
    mode: Option<u32>,
}

impl DirBuilder {
    /// A builder with default settings (not recursive, mode `0o777`
    /// before the umask); mirrors [`std::fs::DirBuilder::new`].
    #[must_use]
    pub fn new() -> DirBuilder {
        DirBuilder::default()
    }

    /// Whether to create missing parents too; mirrors
    /// [`std::fs::DirBuilder::recursive`].
    pub fn recursive(&mut self, recursive: bool) -> &mut DirBuilder {
        self.recursive = recursive;
        self
    }

    /// Creates the directory at `path` on the pool; mirrors
    /// [`std::fs::DirBuilder::create`].
    ///
    /// # Errors
    ///
    /// As std: the path exists (`AlreadyExists`, unless recursive and a
    /// directory), the parent is missing (`NotFound`, when not
    /// recursive), ...
    pub fn create<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        let path = owned(path);
        let (recursive, mode) = (self.recursive, self.mode);
        pool(move || {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(recursive);
            if let Some(mode) = mode {
                b.mode(mode);
            }
            b.create(path)
        })
    }
}

impl DirBuilderExt for DirBuilder {
    fn mode(&mut self, mode: u32) -> &mut DirBuilder {
        self.mode = Some(mode);
        self
    }
}
