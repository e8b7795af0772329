//! A package with `src/lib.rs` beside `src/main.rs` is two crates, and
//! `#[green::main]` can only patch the program's. When the program uses the
//! library and the library calls std's blocking items unpatched, the build
//! must fail with an error naming each item, its file and line, and the
//! fix; once the library carries `#[green::patch]`, it builds.
//!
//! The fixture (`fixtures/lib_app/`) is written out as a package in a
//! temporary directory and checked with cargo against this repository's
//! green (offline, with the workspace's lock file).

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(variant: &str) -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = here.join("../..").canonicalize().unwrap();
    let src = here.join("fixtures/lib_app");
    let dir = std::env::temp_dir().join(format!("green-lib-app-{variant}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"lib-app\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [dependencies]\ngreen = {{ path = {:?} }}\n\n[workspace]\n",
            repo.display().to_string()
        ),
    )
    .unwrap();
    std::fs::copy(repo.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    for (from, to) in [
        ("main.rs", "src/main.rs"),
        ("server.rs", "src/server.rs"),
        (&format!("{variant}/lib.rs") as &str, "src/lib.rs"),
    ] {
        std::fs::copy(src.join(from), dir.join(to)).unwrap();
    }
    dir
}

fn cargo_check(dir: &Path) -> (bool, String) {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/green-fixtures");
    let out = Command::new(env!("CARGO"))
        .args(["check", "--offline", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), stderr)
}

/// One test, the two variants one after the other: two cargo runs on one
/// target directory at once confused each other's freshness.
#[test]
fn unpatched_library_is_an_error_and_patched_library_builds() {
    unpatched_library_is_a_compile_error_that_names_each_item();
    patched_library_builds();
}

fn unpatched_library_is_a_compile_error_that_names_each_item() {
    let dir = fixture("broken");
    let (ok, stderr) = cargo_check(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!ok, "the broken fixture must not build:\n{stderr}");
    for line in [
        "`#[green::main]` patches this program, but not the library crate `lib_app`",
        "src/lib.rs:2: `std::sync::Mutex` in `use`",
        "src/lib.rs:8: `std::thread::sleep` in `fn shared`",
        "src/server.rs:4: `std::net::TcpListener::bind` in `fn serve`",
        "fix: put `#[green::patch]` above each of these items",
    ] {
        assert!(stderr.contains(line), "missing `{line}` in:\n{stderr}");
    }
    assert!(
        !stderr.contains("src/lib.rs:3"),
        "`use std::time::Duration` is plain data, not reported:\n{stderr}"
    );
}

fn patched_library_builds() {
    let dir = fixture("fixed");
    let (ok, stderr) = cargo_check(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ok, "the fixed fixture must build:\n{stderr}");
}
