//! The runtime's internal imports go one way.
//!
//! Reads every file of `green-rt/src`, finds the modules each one names
//! (`crate::a::b` and `super::x` paths, `use` groups included) and checks
//! that:
//!
//! - the import graph has no circle (a newcomer can draw it in layers);
//! - the private core `rt/` imports nothing outside `rt/` (no internal
//!   module leans on a public mirror);
//! - the layering drawn in `rt/mod.rs` holds: every `rt` import goes to a
//!   strictly lower layer of [`RT_LAYERS`].
//!
//! `scripts/layers.py` prints the same graph (and `--dot` for graphviz).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers of `green-rt/src/rt`, lowest first, as `rt/mod.rs` draws
/// them. A file may import only files of lower layers.
const RT_LAYERS: &[&[&str]] = &[
    &["loom", "stack"],
    &["spin", "park", "wake"],
    &["handle"],
    &["task"],
    &["timer", "scheduled", "unwind", "overflow"],
    &["locals"],
    &["greenlet"],
    &["hub"],
    &["hook"],
    &["context"],
    &["wait"],
    &["io", "waiter", "workers", "sample"],
    &["monitor"],
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("green-rt/src")
}

/// `a::b` for `a/b.rs` and `a/b/mod.rs`; `None` for lib.rs.
fn module_of(rel: &Path) -> Option<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    (parts != ["lib"]).then(|| parts.join("::"))
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text without comments (line, block and doc comments).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    let mut in_str = false;
    while i < b.len() {
        if in_str {
            if b[i] == b'\\' {
                i += 2;
                continue;
            }
            if b[i] == b'"' {
                in_str = false;
            }
            out.push(b[i] as char);
            i += 1;
        } else if b[i] == b'"' {
            in_str = true;
            out.push('"');
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The paths named in `text` by a file of `module`, each as the list of
/// its segments from the crate root (`crate::` and `super::` resolved);
/// a `use` group gives one path per item.
fn paths(text: &str, module: &str) -> Vec<Vec<String>> {
    let parent: Vec<String> = module
        .split("::")
        .map(String::from)
        .collect::<Vec<_>>()
        .split_last()
        .map(|(_, p)| p.to_vec())
        .unwrap_or_default();
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let boundary = i == 0 || !is_ident(b[i - 1]) && b[i - 1] != b':';
        let base = if boundary && b[i..].starts_with(b"crate::") {
            i += "crate::".len();
            Some(Vec::new())
        } else if boundary && b[i..].starts_with(b"super::") {
            let mut base = parent.clone();
            i += "super::".len();
            while b[i..].starts_with(b"super::") {
                base.pop();
                i += "super::".len();
            }
            Some(base)
        } else {
            None
        };
        let Some(mut base) = base else {
            i += 1;
            continue;
        };
        // Segments up to a group or the end of the path.
        loop {
            let start = i;
            while i < b.len() && is_ident(b[i]) {
                i += 1;
            }
            if i > start {
                base.push(text[start..i].to_string());
            }
            if b[i..].starts_with(b"::") && i > start {
                i += 2;
                continue;
            }
            break;
        }
        if i < b.len() && b[i] == b'{' {
            let end = text[i..].find('}').map_or(b.len(), |e| i + e);
            for item in text[i + 1..end].split(',') {
                let mut p = base.clone();
                p.extend(
                    item.trim()
                        .split("::")
                        .map(|s| s.trim_matches(|c: char| !c.is_alphanumeric() && c != '_'))
                        .filter(|s| !s.is_empty() && *s != "self")
                        .map(String::from),
                );
                out.push(p);
            }
            i = end;
        } else {
            out.push(base);
        }
    }
    out
}

/// The import graph: module -> the modules it names (not its own
/// ancestors or descendants).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = src();
    let mut all = Vec::new();
    files(&root, &mut all);
    let mut texts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &all {
        if let Some(m) = module_of(f.strip_prefix(&root).unwrap()) {
            let text = strip_comments(&std::fs::read_to_string(f).unwrap());
            texts.entry(m).or_default().push(text);
        }
    }
    let names: BTreeSet<String> = texts.keys().cloned().collect();
    let mut edges = BTreeMap::new();
    for (m, texts) in &texts {
        let mut deps = BTreeSet::new();
        for text in texts {
            for path in paths(text, m) {
                for n in (1..=path.len()).rev() {
                    let cand = path[..n].join("::");
                    if names.contains(&cand) {
                        let related = cand == *m
                            || cand.starts_with(&format!("{m}::"))
                            || m.starts_with(&format!("{cand}::"));
                        if !related {
                            deps.insert(cand);
                        }
                        break;
                    }
                }
            }
        }
        edges.insert(m.clone(), deps);
    }
    edges
}

fn show(edges: &BTreeMap<String, BTreeSet<String>>) -> String {
    edges
        .iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(m, d)| {
            format!(
                "{m} -> {}",
                d.iter().cloned().collect::<Vec<_>>().join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A circle through `from`, if any (depth-first search).
fn circle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(pos) = path.iter().position(|p| p == m) {
            let mut c = path[pos..].to_vec();
            c.push(m.to_string());
            return Some(c);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for d in edges.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for m in edges.keys() {
        if let Some(c) = visit(m, edges, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn the_scanner_finds_crate_super_and_group_paths() {
    let text = strip_comments(
        "use crate::rt::{context, wait::park};\n// crate::nope\nuse super::spin::X;\n\
         let s = \"crate::in_string // not a comment\"; crate::net::tcp::f();",
    );
    let found = paths(&text, "rt::waiter");
    let joined: Vec<String> = found.iter().map(|p| p.join("::")).collect();
    assert!(joined.contains(&"rt::context".to_string()), "{joined:?}");
    assert!(joined.contains(&"rt::wait::park".to_string()), "{joined:?}");
    assert!(joined.contains(&"rt::spin::X".to_string()), "{joined:?}");
    assert!(joined.contains(&"net::tcp::f".to_string()), "{joined:?}");
    assert!(!joined.iter().any(|p| p.contains("nope")), "{joined:?}");
}

#[test]
fn no_import_circle() {
    let edges = graph();
    assert!(
        edges.contains_key("rt::hub"),
        "the scanner found no runtime"
    );
    if let Some(c) = circle(&edges) {
        panic!(
            "import circle in green-rt: {}\n\nthe graph:\n{}",
            c.join(" -> "),
            show(&edges)
        );
    }
}

#[test]
fn the_core_imports_only_the_core() {
    let edges = graph();
    let bad: Vec<String> = edges
        .iter()
        .filter(|(m, _)| m.starts_with("rt::"))
        .flat_map(|(m, d)| {
            d.iter()
                .filter(|d| !d.starts_with("rt::"))
                .map(move |d| format!("{m} -> {d}"))
        })
        .collect();
    assert!(bad.is_empty(), "rt/ imports a public module: {bad:?}");
}

#[test]
fn core_imports_go_down_the_layers() {
    let edges = graph();
    let layer = |m: &str| {
        let name = m.strip_prefix("rt::")?;
        RT_LAYERS.iter().position(|l| l.contains(&name))
    };
    let mut bad = Vec::new();
    for (m, deps) in edges.iter().filter(|(m, _)| m.starts_with("rt::")) {
        let Some(lm) = layer(m) else {
            bad.push(format!("{m} is in no layer of RT_LAYERS"));
            continue;
        };
        for d in deps {
            match layer(d) {
                Some(ld) if ld < lm => {}
                Some(ld) => bad.push(format!("{m} (layer {lm}) -> {d} (layer {ld})")),
                None => bad.push(format!("{m} -> {d} (in no layer)")),
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
