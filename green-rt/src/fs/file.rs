//! The green [`File`] and [`OpenOptions`].

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use super::{FileTimes, Metadata, Permissions, TryLockError, owned, pool};

/// The most bytes one `read` moves through the pool.
const MAX_CHUNK: usize = 4 << 20;

/// An open file whose operations run on the blocking-call pool; mirrors
/// [`std::fs::File`].
///
/// Each method is one pool job; the calling greenlet waits greenly. The
/// handle is std's file, shared with the jobs in flight, so the file
/// position, locks and descriptor are exactly std's.
///
/// ```
/// use std::io::{Read, Write};
/// use green_rt::fs::File;
///
/// let path = std::env::temp_dir().join(format!("green-file-doc-{}", std::process::id()));
/// let mut f = File::create(&path)?;
/// f.write_all(b"abc")?;
/// let mut s = String::new();
/// File::open(&path)?.read_to_string(&mut s)?;
/// assert_eq!(s, "abc");
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct File {
    inner: Arc<std::fs::File>,
}

impl File {
    /// Opens a file in read-only mode; mirrors [`std::fs::File::open`].
    ///
    /// # Errors
    ///
    /// As std: the file does not exist (`NotFound`), permission denied, ...
    pub fn open<P: AsRef<Path>>(path: P) -> io::Result<File> {
        let path = owned(path);
        pool(move || std::fs::File::open(path)).map(File::from_std)
    }

    /// Opens a file in write-only mode, creating or truncating it; mirrors
    /// [`std::fs::File::create`].
    ///
    /// # Errors
    ///
    /// As std: the parent does not exist (`NotFound`), permission denied,
    /// ...
    pub fn create<P: AsRef<Path>>(path: P) -> io::Result<File> {
        let path = owned(path);
        pool(move || std::fs::File::create(path)).map(File::from_std)
    }

    /// Creates a new file in read-write mode; fails if it exists. Mirrors
    /// [`std::fs::File::create_new`].
    ///
    /// # Errors
    ///
    /// As std: the file exists (`AlreadyExists`), ...
    pub fn create_new<P: AsRef<Path>>(path: P) -> io::Result<File> {
        let path = owned(path);
        pool(move || std::fs::File::create_new(path)).map(File::from_std)
    }

    /// A new [`OpenOptions`] with every option off; mirrors
    /// [`std::fs::File::options`].
    #[must_use]
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Wraps a std file. The green file shares it: operations on either
    /// act on the same descriptor.
    pub fn from_std(file: std::fs::File) -> File {
        File {
            inner: Arc::new(file),
        }
    }

    /// The std file underneath, for code that wants std's type.
    pub fn into_std(self) -> std::fs::File {
        match Arc::try_unwrap(self.inner) {
            Ok(file) => file,
            // A job of a greenlet that was killed while it waited still
            // holds the file; a duplicate descriptor shares its offset,
            // flags and locks, and the original closes when the job ends.
            Err(shared) => shared
                .try_clone()
                .expect("green::fs::File::into_std: cannot duplicate the descriptor"),
        }
    }

    /// Runs `f` on the pool with a handle to the std file.
    fn job<T, F>(&self, f: F) -> T
    where
        F: FnOnce(&std::fs::File) -> T + Send + 'static,
        T: Send + 'static,
    {
        let file = self.inner.clone();
        pool(move || f(&file))
    }

    /// Flushes data and metadata to the device; mirrors
    /// [`std::fs::File::sync_all`].
    ///
    /// # Errors
    ///
    /// As std.
    pub fn sync_all(&self) -> io::Result<()> {
        self.job(|f| f.sync_all())
    }

    /// Flushes data (not necessarily metadata) to the device; mirrors
    /// [`std::fs::File::sync_data`].
    ///
    /// # Errors
    ///
    /// As std.
    pub fn sync_data(&self) -> io::Result<()> {
        self.job(|f| f.sync_data())
    }

    /// Takes an exclusive advisory lock, waiting greenly until it is free;
    /// mirrors [`std::fs::File::lock`].
    ///
    /// # Errors
    ///
    /// As std.
    pub fn lock(&self) -> io::Result<()> {
        self.job(|f| f.lock())
    }

    /// Takes a shared advisory lock, waiting greenly until it is free;
    /// mirrors [`std::fs::File::lock_shared`].
    ///
    /// # Errors
    ///
    /// As std.
    pub fn lock_shared(&self) -> io::Result<()> {
        self.job(|f| f.lock_shared())
    }

    /// Tries to take an exclusive advisory lock; mirrors
    /// [`std::fs::File::try_lock`].
    ///
    /// # Errors
    ///
    /// [`TryLockError::WouldBlock`] if another handle holds a lock,
    /// [`TryLockError::Error`] otherwise.
    pub fn try_lock(&self) -> Result<(), TryLockError> {
        self.job(|f| f.try_lock())
    }

    /// Tries to take a shared advisory lock; mirrors
    /// [`std::fs::File::try_lock_shared`].
    ///
    /// # Errors
    ///
    /// [`TryLockError::WouldBlock`] if another handle holds an exclusive
    /// lock, [`TryLockError::Error`] otherwise.
    pub fn try_lock_shared(&self) -> Result<(), TryLockError> {
        self.job(|f| f.try_lock_shared())
    }

    /// Releases the advisory lock; mirrors [`std::fs::File::unlock`].
    ///
    /// # Errors
    ///
    /// As std.
    pub fn unlock(&self) -> io::Result<()> {
        self.job(|f| f.unlock())
    }

    /// Truncates or extends the file to `size` bytes; mirrors
    /// [`std::fs::File::set_len`].
    ///
    /// # Errors
    ///
    /// As std: the file is not open for writing (`InvalidInput`), ...
    pub fn set_len(&self, size: u64) -> io::Result<()> {
        self.job(move |f| f.set_len(size))
    }

    /// The file's metadata; mirrors [`std::fs::File::metadata`].
    ///
    /// # Errors
    ///
    /// As std.
    pub fn metadata(&self) -> io::Result<Metadata> {
        self.job(|f| f.metadata())
    }

    /// A new handle to the same open file (`dup`, which never waits);
    /// mirrors [`std::fs::File::try_clone`].
    ///
    /// # Errors
    ///
    /// As std: out of descriptors, ...
    pub fn try_clone(&self) -> io::Result<File> {
        self.inner.try_clone().map(File::from_std)
    }

    /// Changes the file's permissions; mirrors
    /// [`std::fs::File::set_permissions`].
    ///
    /// # Errors
    ///
    /// As std.
    pub fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        self.job(move |f| f.set_permissions(perm))
    }

    /// Changes the file's timestamps; mirrors
    /// [`std::fs::File::set_times`].
    ///
    /// # Errors
    ///
    /// As std.
    pub fn set_times(&self, times: FileTimes) -> io::Result<()> {
        self.job(move |f| f.set_times(times))
    }

    /// Changes the file's modification time; mirrors
    /// [`std::fs::File::set_modified`].
    ///
    /// # Errors
    ///
    /// As std.
    pub fn set_modified(&self, time: SystemTime) -> io::Result<()> {
        self.job(move |f| f.set_modified(time))
    }

    /// Whether the file is a terminal, as std's
    /// [`IsTerminal`](std::io::IsTerminal) answers (that trait is sealed,
    /// so `file.is_terminal()` resolves to this method).
    pub fn is_terminal(&self) -> bool {
        std::io::IsTerminal::is_terminal(&*self.inner)
    }
}

/// Reads into the caller's buffer through an owned one on the pool.
fn read_chunk(file: &File, buf: &mut [u8]) -> io::Result<usize> {
    let len = buf.len().min(MAX_CHUNK);
    let (r, data) = file.job(move |mut f| {
        let mut data = vec![0; len];
        let r = f.read(&mut data);
        (r, data)
    });
    let n = r?;
    buf[..n].copy_from_slice(&data[..n]);
    Ok(n)
}

fn scatter(bufs: &mut [IoSliceMut<'_>], mut data: &[u8]) {
    for buf in bufs {
        if data.is_empty() {
            break;
        }
        let n = buf.len().min(data.len());
        buf[..n].copy_from_slice(&data[..n]);
        data = &data[n..];
    }
}

impl Read for &File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        read_chunk(self, buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        let len = bufs.iter().map(|b| b.len()).sum::<usize>().min(MAX_CHUNK);
        let (r, data) = self.job(move |mut f| {
            let mut data = vec![0; len];
            let r = f.read(&mut data);
            (r, data)
        });
        let n = r?;
        scatter(bufs, &data[..n]);
        Ok(n)
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let (r, data) = self.job(|mut f| {
            let mut data = Vec::new();
            let r = f.read_to_end(&mut data);
            (r, data)
        });
        if buf.is_empty() {
            *buf = data;
        } else {
            buf.extend_from_slice(&data);
        }
        r
    }

    fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        let (r, data) = self.job(|mut f| {
            let mut data = String::new();
            let r = f.read_to_string(&mut data);
            (r, data)
        });
        if buf.is_empty() {
            *buf = data;
        } else {
            buf.push_str(&data);
        }
        r
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        let len = buf.len();
        let (r, data) = self.job(move |mut f| {
            let mut data = vec![0; len];
            let r = f.read_exact(&mut data);
            (r, data)
        });
        r?;
        buf.copy_from_slice(&data);
        Ok(())
    }
}

impl Read for File {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&*self).read_vectored(bufs)
    }

    fn read_to_end(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        (&*self).read_to_end(buf)
    }

    fn read_to_string(&mut self, buf: &mut String) -> io::Result<usize> {
        (&*self).read_to_string(buf)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        (&*self).read_exact(buf)
    }
}

impl Write for &File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let data = buf.to_vec();
        self.job(move |mut f| f.write(&data))
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut data = Vec::with_capacity(bufs.iter().map(|b| b.len()).sum());
        for buf in bufs {
            data.extend_from_slice(buf);
        }
        self.job(move |mut f| f.write(&data))
    }

    fn flush(&mut self) -> io::Result<()> {
        // std's file has no buffer: flushing is a no-op there too.
        Ok(())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let data = buf.to_vec();
        self.job(move |mut f| f.write_all(&data))
    }

    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        // One job for the whole formatted text, not one per piece.
        let mut text = String::new();
        if fmt::Write::write_fmt(&mut text, args).is_err() {
            return Err(io::Error::other("formatter error"));
        }
        self.write_all(text.as_bytes())
    }
}

impl Write for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&*self).write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        (&*self).write_all(buf)
    }

    fn write_fmt(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        (&*self).write_fmt(args)
    }
}

impl Seek for &File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.job(move |mut f| f.seek(pos))
    }
}

impl Seek for File {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        (&*self).seek(pos)
    }
}

impl FileExt for File {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let len = buf.len().min(MAX_CHUNK);
        let (r, data) = self.job(move |f| {
            let mut data = vec![0; len];
            let r = f.read_at(&mut data, offset);
            (r, data)
        });
        let n = r?;
        buf[..n].copy_from_slice(&data[..n]);
        Ok(n)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        let data = buf.to_vec();
        self.job(move |f| f.write_at(&data, offset))
    }

    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let len = buf.len();
        let (r, data) = self.job(move |f| {
            let mut data = vec![0; len];
            let r = f.read_exact_at(&mut data, offset);
            (r, data)
        });
        r?;
        buf.copy_from_slice(&data);
        Ok(())
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let data = buf.to_vec();
        self.job(move |f| f.write_all_at(&data, offset))
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}

impl AsFd for File {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for File {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl FromRawFd for File {
    unsafe fn from_raw_fd(fd: RawFd) -> File {
        // SAFETY: the caller hands over an open descriptor it owns, which is
        // what std's `from_raw_fd` requires.
        File::from_std(unsafe { std::fs::File::from_raw_fd(fd) })
    }
}

impl IntoRawFd for File {
    fn into_raw_fd(self) -> RawFd {
        self.into_std().into_raw_fd()
    }
}

impl From<OwnedFd> for File {
    fn from(fd: OwnedFd) -> File {
        File::from_std(fd.into())
    }
}

impl From<File> for OwnedFd {
    fn from(file: File) -> OwnedFd {
        file.into_std().into()
    }
}

impl From<std::fs::File> for File {
    fn from(file: std::fs::File) -> File {
        File::from_std(file)
    }
}

impl From<File> for std::fs::File {
    fn from(file: File) -> std::fs::File {
        file.into_std()
    }
}

impl From<File> for std::process::Stdio {
    fn from(file: File) -> std::process::Stdio {
        file.into_std().into()
    }
}

/// Options and flags for opening a file; mirrors
/// [`std::fs::OpenOptions`], and `open` returns a green [`File`].
///
/// std's `OpenOptionsExt` (`mode`, `custom_flags`) is implemented, so
/// `use std::os::unix::fs::OpenOptionsExt;` keeps working:
///
/// ```
/// use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
/// use green_rt::fs::OpenOptions;
///
/// let path = std::env::temp_dir().join(format!("green-oo-doc-{}", std::process::id()));
/// let f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
/// assert_eq!(f.metadata()?.permissions().mode() & 0o777, 0o600);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl OpenOptions {
    /// Every option off; mirrors [`std::fs::OpenOptions::new`].
    #[must_use]
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Sets read access; mirrors [`std::fs::OpenOptions::read`].
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.0.read(read);
        self
    }

    /// Sets write access; mirrors [`std::fs::OpenOptions::write`].
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.0.write(write);
        self
    }

    /// Sets append mode; mirrors [`std::fs::OpenOptions::append`].
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.0.append(append);
        self
    }

    /// Sets truncation; mirrors [`std::fs::OpenOptions::truncate`].
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.0.truncate(truncate);
        self
    }

    /// Creates the file if missing; mirrors
    /// [`std::fs::OpenOptions::create`].
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.0.create(create);
        self
    }

    /// Creates the file, failing if it exists; mirrors
    /// [`std::fs::OpenOptions::create_new`].
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.0.create_new(create_new);
        self
    }

    /// Opens `path` with these options on the pool; mirrors
    /// [`std::fs::OpenOptions::open`].
    ///
    /// # Errors
    ///
    /// As std: `NotFound`, `AlreadyExists` (with `create_new`),
    /// `InvalidInput` (no access mode), permission denied, ...
    pub fn open<P: AsRef<Path>>(&self, path: P) -> io::Result<File> {
        let path = owned(path);
        let options = self.0.clone();
        pool(move || options.open(path)).map(File::from_std)
    }
}

impl Default for OpenOptions {
    /// Same as [`OpenOptions::new`] (std's type has no `Default`).
    fn default() -> OpenOptions {
        OpenOptions::new()
    }
}

impl OpenOptionsExt for OpenOptions {
    fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        self.0.mode(mode);
        self
    }

    fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        self.0.custom_flags(flags);
        self
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    fn from(options: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions(options)
    }
}
