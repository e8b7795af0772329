//! The one part of an ordinary program `#[green::main]` cannot reach: the
//! package's own library crate (`src/lib.rs` beside `src/main.rs`), which
//! is a crate of its own. If the program uses it and the library calls
//! std's blocking items outside `#[green::patch]`, the build fails with an
//! error that lists each one (file, line, what) and says what to write.
//!
//! The library's files are lexed a second time with proc-macro2's own
//! lexer, which knows lines (the compiler's tokens of a file read by a
//! macro carry no position); those tokens are only looked at, never
//! emitted.

use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::{Attribute, Item, UseTree};

use crate::program::colon2_at;
use crate::rewrite::{is_unpatched, item_attrs};

/// One blocking std item used outside green's reach.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Finding {
    /// The file, relative to the package.
    pub(crate) file: String,
    /// 1-based line.
    pub(crate) line: usize,
    /// The std path as written (`std::thread`, `std::net::TcpStream`).
    pub(crate) path: String,
    /// The item it is in (`use`, `fn serve`, `impl Server`).
    pub(crate) item: String,
}

/// Checks the package's library when the program (`copy`, the tokens of
/// the crate root and its modules) refers to it by name.
pub(crate) fn check(copy: &TokenStream, current_file: &Path) -> Option<syn::Error> {
    let pkg = std::env::var("CARGO_PKG_NAME").ok()?;
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").ok()?);
    let lib_name = pkg.replace('-', "_");
    let lib = manifest.join("src").join("lib.rs");
    if !lib.exists() || same_file(&lib, current_file) || !mentions(copy, &lib_name) {
        return None;
    }
    let mut findings = Vec::new();
    scan_file(&lib, &manifest, true, &mut findings);
    if findings.is_empty() {
        return None;
    }
    Some(syn::Error::new(
        Span::call_site(),
        message(&lib_name, &findings),
    ))
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Whether `name ::` appears anywhere in the tokens (a path into the
/// library crate).
fn mentions(tokens: &TokenStream, name: &str) -> bool {
    let tts: Vec<TokenTree> = tokens.clone().into_iter().collect();
    tts.iter().enumerate().any(|(i, t)| match t {
        TokenTree::Group(g) => mentions(&g.stream(), name),
        TokenTree::Ident(id) => {
            id == name && matches!(tts.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':')
        }
        _ => false,
    })
}

/// The error text: every finding (the first 12), then the fix.
pub(crate) fn message(lib: &str, findings: &[Finding]) -> String {
    let mut msg = format!(
        "`#[green::main]` patches this program, but not the library crate `{lib}` \
         (src/lib.rs) that it uses, and the library calls std's blocking items, which \
         would block the hub:"
    );
    for f in findings.iter().take(12) {
        msg.push_str(&format!(
            "\n  {}:{}: `{}` in {}",
            f.file, f.line, f.path, f.item
        ));
    }
    if findings.len() > 12 {
        msg.push_str(&format!("\n  ... and {} more", findings.len() - 12));
    }
    msg.push_str(
        "\nfix: put `#[green::patch]` above each of these items or above their inline \
         `mod`; for a module file write `#[green::patch] #[path = \"NAME.rs\"] mod NAME {}` \
         in place of `mod NAME;`; or put `#[green::unpatched]` on an item that must stay \
         on std",
    );
    msg
}

/// Scans one file of the library; `root_like` says whether its child
/// modules live beside it (lib.rs, mod.rs, a `#[path]` file).
fn scan_file(file: &Path, manifest: &Path, root_like: bool, out: &mut Vec<Finding>) {
    let Ok(text) = std::fs::read_to_string(file) else {
        return;
    };
    // Lex with proc-macro2's own lexer, which records lines.
    proc_macro2::fallback::force();
    let parsed = text
        .parse::<TokenStream>()
        .ok()
        .and_then(|t| syn::parse2::<syn::File>(t).ok());
    let shown = file
        .strip_prefix(manifest)
        .unwrap_or(file)
        .display()
        .to_string();
    let mut children = Vec::new();
    if let Some(parsed) = parsed {
        let dir = file.parent().unwrap_or(Path::new("."));
        let child_dir = if root_like {
            dir.to_path_buf()
        } else {
            dir.join(file.file_stem().unwrap_or_default())
        };
        scan_items(&parsed.items, &shown, &child_dir, dir, out, &mut children);
    }
    proc_macro2::fallback::unforce();
    for (child, root_like) in children {
        scan_file(&child, manifest, root_like, out);
    }
}

fn has_attr(attrs: &[Attribute], name: &str) -> bool {
    attrs
        .iter()
        .any(|a| a.path().segments.last().is_some_and(|s| s.ident == name))
}

fn is_cfg_test(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
    })
}

fn scan_items(
    items: &[Item],
    file: &str,
    child_dir: &Path,
    path_base: &Path,
    out: &mut Vec<Finding>,
    children: &mut Vec<(PathBuf, bool)>,
) {
    for item in items {
        let attrs = item_attrs(item).map(Vec::as_slice).unwrap_or(&[]);
        if has_attr(attrs, "patch") || is_unpatched(attrs) || is_cfg_test(attrs) {
            continue;
        }
        match item {
            Item::Use(u) => {
                let mut leaves = Vec::new();
                use_leaves(&u.tree, &mut Vec::new(), &mut leaves);
                for (segments, span) in leaves {
                    if segments.first().is_some_and(|s| s == "std") && blocking(&segments[1..]) {
                        out.push(Finding {
                            file: file.to_owned(),
                            line: span.start().line,
                            path: segments.join("::"),
                            item: "`use`".to_owned(),
                        });
                    }
                }
            }
            Item::Mod(m) => {
                let name = m.ident.to_string();
                match &m.content {
                    Some((_, inner)) => scan_items(
                        inner,
                        file,
                        &child_dir.join(&name),
                        &child_dir.join(&name),
                        out,
                        children,
                    ),
                    None => {
                        let path_attr = m.attrs.iter().find_map(|a| match &a.meta {
                            syn::Meta::NameValue(nv) if a.path().is_ident("path") => {
                                match &nv.value {
                                    syn::Expr::Lit(syn::ExprLit {
                                        lit: syn::Lit::Str(s),
                                        ..
                                    }) => Some(s.value()),
                                    _ => None,
                                }
                            }
                            _ => None,
                        });
                        if let Some(p) = path_attr {
                            children.push((path_base.join(p), true));
                        } else {
                            let flat = child_dir.join(format!("{name}.rs"));
                            let nested = child_dir.join(&name).join("mod.rs");
                            if flat.exists() {
                                children.push((flat, false));
                            } else if nested.exists() {
                                children.push((nested, true));
                            }
                        }
                    }
                }
            }
            other => {
                let tokens = quote::ToTokens::to_token_stream(other);
                let mut found = Vec::new();
                token_paths(tokens, &mut found);
                let what = describe(other);
                for (segments, span) in found {
                    if blocking(&segments) {
                        out.push(Finding {
                            file: file.to_owned(),
                            line: span.start().line,
                            path: format!("std::{}", segments.join("::")),
                            item: what.clone(),
                        });
                    }
                }
            }
        }
    }
}

fn describe(item: &Item) -> String {
    match item {
        Item::Fn(f) => format!("`fn {}`", f.sig.ident),
        Item::Struct(s) => format!("`struct {}`", s.ident),
        Item::Enum(e) => format!("`enum {}`", e.ident),
        Item::Static(s) => format!("`static {}`", s.ident),
        Item::Const(c) => format!("`const {}`", c.ident),
        Item::Trait(t) => format!("`trait {}`", t.ident),
        Item::Type(t) => format!("`type {}`", t.ident),
        Item::Impl(i) => {
            let ty = &i.self_ty;
            format!("`impl {}`", quote::quote!(#ty).to_string().replace(' ', ""))
        }
        _ => "an item".to_owned(),
    }
}

/// Every leaf path of a `use` tree, with the span of its first segment.
fn use_leaves(tree: &UseTree, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, Span)>) {
    match tree {
        UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            if prefix.len() == 1 {
                // Remember where the path starts.
                let mut inner = Vec::new();
                use_leaves(&p.tree, prefix, &mut inner);
                out.extend(inner.into_iter().map(|(s, _)| (s, p.ident.span())));
            } else {
                use_leaves(&p.tree, prefix, out);
            }
            prefix.pop();
        }
        UseTree::Name(n) => {
            let mut s = prefix.clone();
            s.push(n.ident.to_string());
            out.push((s, n.ident.span()));
        }
        UseTree::Rename(r) => {
            let mut s = prefix.clone();
            s.push(r.ident.to_string());
            out.push((s, r.ident.span()));
        }
        UseTree::Glob(g) => {
            let mut s = prefix.clone();
            s.push("*".to_owned());
            out.push((s, g.star_token.span));
        }
        UseTree::Group(g) => {
            for t in &g.items {
                use_leaves(t, prefix, out);
            }
        }
    }
}

/// Paths `[::] std :: a :: b ...` in tokens: the segments after `std`.
fn token_paths(tokens: TokenStream, out: &mut Vec<(Vec<String>, Span)>) {
    let tts: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tts.len() {
        match &tts[i] {
            TokenTree::Group(g) => token_paths(g.stream(), out),
            TokenTree::Ident(id) if id == "std" && !after_colon2(&tts, i) => {
                let span = id.span();
                let mut segs = Vec::new();
                let mut j = i + 1;
                while colon2_at(&tts, j) {
                    match tts.get(j + 2) {
                        Some(TokenTree::Ident(s)) => {
                            segs.push(s.to_string());
                            j += 3;
                        }
                        _ => break,
                    }
                }
                if !segs.is_empty() {
                    out.push((segs, span));
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

/// `a :: std` (a path that only ends in `std`) is not std; `:: std` is.
fn after_colon2(tts: &[TokenTree], i: usize) -> bool {
    i >= 2 && colon2_at(tts, i - 2) && i >= 3 && matches!(tts[i - 3], TokenTree::Ident(_))
}

/// Whether the std path (segments after `std`) names something that blocks
/// an OS thread, or a type green replaces (so that mixing them deadlocks
/// or fails to compile). Plain data that the mirrors re-export (`Duration`,
/// `Arc`, `io::Error`, `net::SocketAddr`) does not count.
pub(crate) fn blocking(segments: &[String]) -> bool {
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    match s.as_slice() {
        ["thread"] | ["thread", "*"] => true,
        ["thread", name, ..] => !matches!(
            *name,
            "available_parallelism"
                | "panicking"
                | "Result"
                | "ThreadId"
                | "AccessError"
                | "LocalKey"
        ),
        ["net"] | ["net", "*"] => true,
        ["net", name, ..] => matches!(
            *name,
            "TcpListener" | "TcpStream" | "UdpSocket" | "ToSocketAddrs" | "Incoming"
        ),
        ["sync"] | ["sync", "*"] | ["sync", "mpsc", ..] => true,
        ["sync", name, ..] => matches!(
            *name,
            "Mutex"
                | "RwLock"
                | "Condvar"
                | "Barrier"
                | "MutexGuard"
                | "RwLockReadGuard"
                | "RwLockWriteGuard"
        ),
        ["fs"] | ["fs", "*"] => true,
        ["fs", name, ..] => !matches!(
            *name,
            "Metadata" | "Permissions" | "FileType" | "DirEntry" | "FileTimes"
        ),
        ["io", name, ..] => matches!(*name, "stdin" | "Stdin" | "StdinLock"),
        ["process"] | ["process", "*"] => true,
        ["process", name, ..] => matches!(
            *name,
            "Command" | "Child" | "ChildStdin" | "ChildStdout" | "ChildStderr"
        ),
        ["os", "unix", "net", ..] => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(s: &str) -> Vec<String> {
        s.split("::").map(str::to_owned).collect()
    }

    #[test]
    fn what_counts_as_blocking() {
        for yes in [
            "thread",
            "thread::spawn",
            "thread::sleep",
            "net::TcpStream",
            "sync::Mutex",
            "sync::mpsc::channel",
            "fs::read",
            "fs::File",
            "io::stdin",
            "process::Command",
            "os::unix::net::UnixStream",
        ] {
            assert!(blocking(&segs(yes)), "{yes}");
        }
        for no in [
            "time::Duration",
            "sync::Arc",
            "sync::atomic::AtomicUsize",
            "io::Error",
            "io::Read",
            "net::SocketAddr",
            "collections::HashMap",
            "thread::available_parallelism",
            "process::exit",
            "fs::Metadata",
        ] {
            assert!(!blocking(&segs(no)), "{no}");
        }
    }

    #[test]
    fn finds_uses_and_paths_with_lines() {
        let dir = std::env::temp_dir().join(format!("green-macros-lib-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("src/lib.rs"),
            "use std::time::Duration;\nuse std::{thread, sync::{Arc, Mutex}};\n\
             pub mod server;\n#[green::patch]\npub mod ok { use std::thread; }\n\
             #[cfg(test)]\nmod tests { use std::thread; }\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("src/server.rs"),
            "\npub fn serve() {\n    let l = std::net::TcpListener::bind(\"x\");\n}\n\
             #[green::unpatched]\npub fn cpu() { std::thread::spawn(|| ()); }\n",
        )
        .unwrap();
        let mut out = Vec::new();
        scan_file(&dir.join("src/lib.rs"), &dir, true, &mut out);
        let got: Vec<(String, usize, String, String)> = out
            .into_iter()
            .map(|f| (f.file, f.line, f.path, f.item))
            .collect();
        assert_eq!(
            got,
            vec![
                ("src/lib.rs".into(), 2, "std::thread".into(), "`use`".into()),
                (
                    "src/lib.rs".into(),
                    2,
                    "std::sync::Mutex".into(),
                    "`use`".into()
                ),
                (
                    "src/server.rs".into(),
                    3,
                    "std::net::TcpListener::bind".into(),
                    "`fn serve`".into()
                ),
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
        let msg = message(
            "app",
            &[Finding {
                file: "src/lib.rs".into(),
                line: 2,
                path: "std::thread".into(),
                item: "`use`".into(),
            }],
        );
        assert!(
            msg.contains("src/lib.rs:2: `std::thread` in `use`"),
            "{msg}"
        );
        assert!(msg.contains("fix: put `#[green::patch]`"), "{msg}");
    }
}
