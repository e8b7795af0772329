//! green::fs against std::fs: the same results and the same error kinds,
//! for every free function, File (owned and `&File`), OpenOptions,
//! DirBuilder and ReadDir.

use std::collections::BTreeSet;
use std::io::{ErrorKind, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, DirEntryExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use green::fs;

mod util;

/// A fresh directory under the temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("green-fs-ops-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn kind<T: std::fmt::Debug>(r: std::io::Result<T>) -> ErrorKind {
    r.unwrap_err().kind()
}

/// Both calls fail with the same kind.
fn same_err<A: std::fmt::Debug, B: std::fmt::Debug>(
    green: std::io::Result<A>,
    std: std::io::Result<B>,
) -> ErrorKind {
    let (g, s) = (kind(green), kind(std));
    assert_eq!(g, s, "green and std fail differently");
    g
}

#[test]
fn free_functions_match_std() {
    let d = TempDir::new("free");
    let a = d.join("a.txt");
    let missing = d.join("missing");

    fs::write(&a, b"hello").unwrap();
    assert_eq!(std::fs::read(&a).unwrap(), b"hello");
    assert_eq!(fs::read(&a).unwrap(), b"hello");
    assert_eq!(fs::read_to_string(&a).unwrap(), "hello");
    fs::write(d.join("bad"), [0xff, 0xfe]).unwrap();
    assert_eq!(
        same_err(
            fs::read_to_string(d.join("bad")),
            std::fs::read_to_string(d.join("bad"))
        ),
        ErrorKind::InvalidData
    );
    assert_eq!(
        same_err(fs::read(&missing), std::fs::read(&missing)),
        ErrorKind::NotFound
    );
    assert_eq!(
        same_err(
            fs::write(missing.join("x"), "x"),
            std::fs::write(missing.join("x"), "x")
        ),
        ErrorKind::NotFound
    );

    // metadata / symlink_metadata / exists
    let m = fs::metadata(&a).unwrap();
    assert!(m.is_file());
    assert_eq!(m.len(), 5);
    assert_eq!(m.len(), std::fs::metadata(&a).unwrap().len());
    assert_eq!(
        same_err(fs::metadata(&missing), std::fs::metadata(&missing)),
        ErrorKind::NotFound
    );
    assert!(fs::exists(&a).unwrap());
    assert!(!fs::exists(&missing).unwrap());
    assert_eq!(fs::exists(&a).unwrap(), std::fs::exists(&a).unwrap());

    // copy
    let b = d.join("b.txt");
    assert_eq!(fs::copy(&a, &b).unwrap(), 5);
    assert_eq!(std::fs::read(&b).unwrap(), b"hello");
    assert_eq!(
        same_err(fs::copy(&missing, &b), std::fs::copy(&missing, &b)),
        ErrorKind::NotFound
    );

    // rename
    let c = d.join("c.txt");
    fs::rename(&b, &c).unwrap();
    assert!(!b.exists() && c.exists());
    assert_eq!(
        same_err(fs::rename(&b, &c), std::fs::rename(&b, &c)),
        ErrorKind::NotFound
    );

    // hard_link
    let h = d.join("h.txt");
    fs::hard_link(&a, &h).unwrap();
    assert_eq!(std::fs::read(&h).unwrap(), b"hello");
    assert_eq!(
        same_err(fs::hard_link(&a, &h), std::fs::hard_link(&a, &h)),
        ErrorKind::AlreadyExists
    );

    // soft_link (deprecated, as std's), read_link, symlink_metadata, canonicalize
    let l = d.join("l.txt");
    #[allow(deprecated)]
    fs::soft_link(&a, &l).unwrap();
    assert_eq!(fs::read_link(&l).unwrap(), a);
    assert!(fs::symlink_metadata(&l).unwrap().file_type().is_symlink());
    assert!(fs::metadata(&l).unwrap().is_file());
    assert_eq!(
        fs::canonicalize(&l).unwrap(),
        std::fs::canonicalize(&a).unwrap()
    );
    assert_eq!(
        same_err(fs::read_link(&a), std::fs::read_link(&a)),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        same_err(fs::canonicalize(&missing), std::fs::canonicalize(&missing)),
        ErrorKind::NotFound
    );
    assert_eq!(
        same_err(
            fs::symlink_metadata(&missing),
            std::fs::symlink_metadata(&missing)
        ),
        ErrorKind::NotFound
    );

    // set_permissions
    let mut p = fs::metadata(&a).unwrap().permissions();
    p.set_mode(0o640);
    fs::set_permissions(&a, p.clone()).unwrap();
    assert_eq!(
        std::fs::metadata(&a).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert_eq!(
        same_err(
            fs::set_permissions(&missing, p.clone()),
            std::fs::set_permissions(&missing, p)
        ),
        ErrorKind::NotFound
    );

    // create_dir / create_dir_all / remove_dir / remove_dir_all / remove_file
    let sub = d.join("sub");
    fs::create_dir(&sub).unwrap();
    assert!(sub.is_dir());
    assert_eq!(
        same_err(fs::create_dir(&sub), std::fs::create_dir(&sub)),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        same_err(
            fs::create_dir(d.join("x/y")),
            std::fs::create_dir(d.join("x/y"))
        ),
        ErrorKind::NotFound
    );
    fs::create_dir_all(sub.join("p/q/r")).unwrap();
    fs::create_dir_all(sub.join("p/q/r")).unwrap();
    assert!(sub.join("p/q/r").is_dir());
    assert_eq!(
        same_err(fs::remove_dir(&sub), std::fs::remove_dir(&sub)),
        ErrorKind::DirectoryNotEmpty
    );
    fs::remove_dir(sub.join("p/q/r")).unwrap();
    std::fs::write(sub.join("p/q/f"), "x").unwrap();
    fs::remove_dir_all(&sub).unwrap();
    assert!(!sub.exists());
    assert_eq!(
        same_err(fs::remove_dir_all(&sub), std::fs::remove_dir_all(&sub)),
        ErrorKind::NotFound
    );
    fs::remove_file(&h).unwrap();
    assert!(!h.exists());
    assert_eq!(
        same_err(fs::remove_file(&h), std::fs::remove_file(&h)),
        ErrorKind::NotFound
    );
    assert_eq!(
        same_err(fs::remove_file(&d.0), std::fs::remove_file(&d.0)),
        ErrorKind::IsADirectory
    );
    util::assert_clean();
}

#[test]
fn file_read_write_seek() {
    let d = TempDir::new("file");
    let p = d.join("f");

    let mut f = fs::File::create(&p).unwrap();
    f.write_all(b"0123456789").unwrap();
    assert_eq!(f.write(b"ab").unwrap(), 2);
    let n = f
        .write_vectored(&[IoSlice::new(b"cd"), IoSlice::new(b"ef")])
        .unwrap();
    assert_eq!(n, 4);
    let z = "z";
    write!(f, "-{}-{z}", 1).unwrap();
    f.flush().unwrap();
    f.sync_all().unwrap();
    f.sync_data().unwrap();
    drop(f);
    assert_eq!(std::fs::read(&p).unwrap(), b"0123456789abcdef-1-z");

    // A read-only file refuses writes as std's does.
    let mut r = fs::File::open(&p).unwrap();
    let mut sr = std::fs::File::open(&p).unwrap();
    same_err(r.write(b"x"), sr.write(b"x"));

    let mut buf = [0; 4];
    r.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"0123");
    assert_eq!(r.read(&mut buf).unwrap(), 4);
    assert_eq!(&buf, b"4567");
    let (mut x, mut y) = ([0; 1], [0; 3]);
    let n = r
        .read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)])
        .unwrap();
    assert_eq!((n, &x, &y), (4, b"8", b"9ab"));
    assert_eq!(r.stream_position().unwrap(), 12);
    assert_eq!(r.seek(SeekFrom::End(-2)).unwrap(), 18);
    let mut rest = String::new();
    assert_eq!(r.read_to_string(&mut rest).unwrap(), 2);
    assert_eq!(rest, "-z");
    assert_eq!(r.read(&mut buf).unwrap(), 0);
    r.seek(SeekFrom::Start(10)).unwrap();
    let mut v = b"pre".to_vec();
    assert_eq!(r.read_to_end(&mut v).unwrap(), 10);
    assert_eq!(v, b"preabcdef-1-z");
    r.rewind().unwrap();
    let mut big = [0; 100];
    assert_eq!(
        same_err(r.read_exact(&mut big), sr.read_exact(&mut big)),
        ErrorKind::UnexpectedEof
    );
    assert_eq!(
        same_err(
            r.seek(SeekFrom::Current(-1000)),
            sr.seek(SeekFrom::Current(-1000))
        ),
        ErrorKind::InvalidInput
    );

    // metadata, set_len, set_permissions, set_times, set_modified
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&p)
        .unwrap();
    assert_eq!(f.metadata().unwrap().len(), 20);
    f.set_len(5).unwrap();
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 5);
    assert_eq!(
        same_err(r.set_len(1), sr.set_len(1)),
        ErrorKind::InvalidInput
    );
    let mut perm = f.metadata().unwrap().permissions();
    perm.set_mode(0o600);
    f.set_permissions(perm).unwrap();
    assert_eq!(
        std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    f.set_modified(t).unwrap();
    assert_eq!(std::fs::metadata(&p).unwrap().modified().unwrap(), t);
    let t2 = t + Duration::from_secs(60);
    f.set_times(fs::FileTimes::new().set_accessed(t2).set_modified(t2))
        .unwrap();
    let m = std::fs::metadata(&p).unwrap();
    assert_eq!((m.accessed().unwrap(), m.modified().unwrap()), (t2, t2));

    // `&File`: Read, Write and Seek through a shared reference, and
    // try_clone shares the offset as std's does.
    let mut shared = &f;
    shared.rewind().unwrap();
    shared.write_all(b"XY").unwrap();
    let clone = f.try_clone().unwrap();
    assert_eq!((&clone).stream_position().unwrap(), 2);
    let mut s = String::new();
    (&clone).read_to_string(&mut s).unwrap();
    assert_eq!(s, "234");

    // FileExt
    assert_eq!(f.write_at(b"Q", 4).unwrap(), 1);
    let mut b2 = [0; 3];
    assert_eq!(f.read_at(&mut b2, 2).unwrap(), 3);
    assert_eq!(&b2, b"23Q");
    f.write_all_at(b"zz", 0).unwrap();
    f.read_exact_at(&mut b2, 0).unwrap();
    assert_eq!(&b2, b"zz2");

    // locks
    f.lock().unwrap();
    let other = fs::File::open(&p).unwrap();
    assert!(matches!(
        other.try_lock(),
        Err(fs::TryLockError::WouldBlock)
    ));
    assert!(matches!(
        other.try_lock_shared(),
        Err(fs::TryLockError::WouldBlock)
    ));
    f.unlock().unwrap();
    other.try_lock_shared().unwrap();
    f.lock_shared().unwrap();
    other.unlock().unwrap();
    f.unlock().unwrap();
    other.try_lock().unwrap();
    other.unlock().unwrap();

    // descriptors and conversions
    assert_eq!(f.as_raw_fd(), f.as_fd().as_raw_fd());
    let dbg = format!("{f:?}");
    assert!(dbg.starts_with("File {"), "{dbg}");
    assert!(!f.is_terminal());
    let std_file: std::fs::File = clone.into();
    let back = fs::File::from(std_file);
    let fd = back.into_raw_fd();
    // SAFETY: `fd` was just released by `into_raw_fd` and is owned here.
    let from_raw = unsafe { fs::File::from_raw_fd(fd) };
    let owned: OwnedFd = from_raw.into();
    let mut again = fs::File::from(owned);
    again.rewind().unwrap();
    let mut all = String::new();
    again.read_to_string(&mut all).unwrap();
    assert_eq!(all, "zz23Q");
    let _stdio: std::process::Stdio = again.into();
    util::assert_clean();
}

#[test]
fn open_options_and_create_new() {
    let d = TempDir::new("opts");
    let p = d.join("n");
    let f = fs::File::create_new(&p).unwrap();
    drop(f);
    assert_eq!(
        same_err(fs::File::create_new(&p), std::fs::File::create_new(&p)),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        same_err(
            fs::OpenOptions::new().write(true).create_new(true).open(&p),
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&p)
        ),
        ErrorKind::AlreadyExists
    );
    assert_eq!(
        same_err(
            fs::File::open(d.join("none")),
            std::fs::File::open(d.join("none"))
        ),
        ErrorKind::NotFound
    );
    // No access mode: std says InvalidInput.
    assert_eq!(
        same_err(
            fs::OpenOptions::new().open(&p),
            std::fs::OpenOptions::new().open(&p)
        ),
        ErrorKind::InvalidInput
    );

    // append, truncate, mode (std's OpenOptionsExt on the green type)
    let m = d.join("m");
    let mut f = fs::File::options()
        .write(true)
        .create(true)
        .mode(0o600)
        .open(&m)
        .unwrap();
    f.write_all(b"abc").unwrap();
    assert_eq!(
        std::fs::metadata(&m).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let mut f = fs::OpenOptions::new().append(true).open(&m).unwrap();
    f.write_all(b"def").unwrap();
    assert_eq!(std::fs::read(&m).unwrap(), b"abcdef");
    let opts = fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .clone();
    opts.open(&m).unwrap();
    assert_eq!(std::fs::read(&m).unwrap(), b"");
    assert!(format!("{opts:?}").contains("OpenOptions"));
    util::assert_clean();
}

#[test]
fn read_dir_lists_like_std() {
    let d = TempDir::new("dir");
    // More entries than one batch.
    for i in 0..600 {
        std::fs::write(d.join(&format!("f{i:03}")), "x").unwrap();
    }
    std::fs::create_dir(d.join("sub")).unwrap();
    std::os::unix::fs::symlink(d.join("f000"), d.join("link")).unwrap();

    let green: Vec<_> = fs::read_dir(&d.0).unwrap().map(|e| e.unwrap()).collect();
    let std_names: Vec<_> = std::fs::read_dir(&d.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let green_names: Vec<_> = green.iter().map(|e| e.file_name()).collect();
    assert_eq!(green_names, std_names, "same entries in the same order");
    assert_eq!(green.len(), 602);
    let set: BTreeSet<_> = green_names.iter().collect();
    assert_eq!(set.len(), 602);

    for e in &green {
        let name = e.file_name().into_string().unwrap();
        assert_eq!(e.path(), d.0.join(&name));
        let t = e.file_type().unwrap();
        let m = e.metadata().unwrap();
        assert_eq!(m.file_type(), t);
        match name.as_str() {
            "sub" => assert!(t.is_dir()),
            "link" => assert!(t.is_symlink()),
            _ => assert!(t.is_file() && m.len() == 1),
        }
        assert_eq!(
            e.ino(),
            std::fs::symlink_metadata(e.path())
                .map(|m| { std::os::unix::fs::MetadataExt::ino(&m) })
                .unwrap()
        );
    }
    assert!(format!("{:?}", green[0]).contains("DirEntry"));
    assert!(format!("{:?}", fs::read_dir(&d.0).unwrap()).contains("ReadDir"));

    let missing = d.join("missing");
    assert_eq!(
        same_err(fs::read_dir(&missing), std::fs::read_dir(&missing)),
        ErrorKind::NotFound
    );
    assert_eq!(
        same_err(
            fs::read_dir(d.join("f000")),
            std::fs::read_dir(d.join("f000"))
        ),
        ErrorKind::NotADirectory
    );
    // An entry removed after listing: metadata fails as std's would.
    let e = fs::read_dir(&d.0)
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.file_name() == "f001")
        .unwrap();
    std::fs::remove_file(e.path()).unwrap();
    assert_eq!(kind(e.metadata()), ErrorKind::NotFound);
    util::assert_clean();
}

#[test]
fn dir_builder() {
    let d = TempDir::new("builder");
    let deep = d.join("a/b/c");
    assert_eq!(
        same_err(
            fs::DirBuilder::new().create(&deep),
            std::fs::DirBuilder::new().create(&deep)
        ),
        ErrorKind::NotFound
    );
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&deep)
        .unwrap();
    assert!(deep.is_dir());
    assert_eq!(
        std::fs::metadata(&deep).unwrap().permissions().mode() & 0o777,
        0o700
    );
    fs::DirBuilder::new().recursive(true).create(&deep).unwrap();
    assert_eq!(
        same_err(
            fs::DirBuilder::new().create(&deep),
            std::fs::DirBuilder::new().create(&deep)
        ),
        ErrorKind::AlreadyExists
    );
    util::assert_clean();
}

/// Many greenlets doing file I/O at once all finish with the right data.
#[test]
fn concurrent_greenlets() {
    let d = TempDir::new("many");
    let dir: &'static Path = Box::leak(d.0.clone().into_boxed_path());
    let hs: Vec<_> = (0..50)
        .map(|i| {
            green::thread::spawn(move || {
                let p = dir.join(format!("g{i}"));
                let body = format!("greenlet {i}\n").repeat(100);
                fs::write(&p, &body).unwrap();
                assert_eq!(fs::read_to_string(&p).unwrap(), body);
                let mut f = fs::OpenOptions::new().append(true).open(&p).unwrap();
                writeln!(f, "end").unwrap();
                fs::read(&p).unwrap().len()
            })
        })
        .collect();
    for (i, h) in hs.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), format!("greenlet {i}\n").len() * 100 + 4);
    }
    util::assert_clean();
}

/// Ordinary std code under `#[green::patch]`: `std::fs` and `std::io`
/// paths become green, and std's unix extension traits still apply.
#[green::patch]
mod patched {
    use std::fs::{self, File, OpenOptions};
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    use std::path::Path;

    pub(crate) fn run(dir: &Path) -> std::io::Result<(usize, u32)> {
        let p = dir.join("patched.txt");
        let mut f: File = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .open(&p)?;
        writeln!(f, "a\nb\nc")?;
        let n = BufReader::new(File::open(&p)?).lines().count();
        let mode = fs::metadata(&p)?.permissions().mode() & 0o777;
        Ok((n, mode))
    }

    pub(crate) fn open(p: &Path) -> std::io::Result<std::fs::File> {
        std::fs::File::open(p)
    }
}

#[test]
fn patched_std_code() {
    let d = TempDir::new("patched");
    assert_eq!(patched::run(&d.0).unwrap(), (3, 0o640));
    // The patched `std::fs::File` is the green type.
    let f: fs::File = patched::open(&d.join("patched.txt")).unwrap();
    assert_eq!(f.metadata().unwrap().len(), 6);
    util::assert_clean();
}
