//! The one table of what `#[green::patch]` rewrites.
//!
//! Every other part of the crate (the `use` tree splitter, the path rewriter,
//! the token walker for macro bodies, and the book's mapping table) reads
//! [`MODULES`] and [`MACROS`]; nothing else names a std module.
//!
//! The green mirrors keep std's module layout (`green::sync::mpsc` mirrors
//! `std::sync::mpsc`), so a mapped path keeps all its segments and only its
//! root changes from `std` to `green`. The rewriter relies on that: it lets a
//! grouped `use` tree be split without reshaping it. A unit test checks the
//! invariant for every row.

/// One std module that is replaced by a green mirror.
#[derive(Debug)]
pub(crate) struct Module {
    /// The std module, without the `std` root: `["sync", "mpsc"]`.
    pub(crate) std: &'static [&'static str],
    /// The green mirror, without the `green` root.
    pub(crate) green: &'static [&'static str],
    /// What the mirror provides, for the book's table.
    #[cfg_attr(not(test), allow(dead_code, reason = "read by the book's test"))]
    pub(crate) note: &'static str,
}

/// One std macro that is replaced by a green macro.
#[derive(Debug)]
pub(crate) struct Macro {
    /// The macro's name, as exported at std's root.
    pub(crate) std: &'static str,
    /// The macro's name, as exported at green's root.
    pub(crate) green: &'static str,
    /// What the green macro does differently, for the book's table.
    #[cfg_attr(not(test), allow(dead_code, reason = "read by the book's test"))]
    pub(crate) note: &'static str,
}

/// The std modules with a green mirror. A path whose segments after `std`
/// begin with one of these is rewritten; sub-modules (`std::sync::atomic`)
/// follow their parent.
pub(crate) const MODULES: &[Module] = &[
    Module {
        std: &["net"],
        green: &["net"],
        note: "green TCP and UDP sockets; name resolution runs on the blocking pool",
    },
    Module {
        std: &["thread"],
        green: &["thread"],
        note: "`spawn`, `sleep`, `yield_now`, `current`, `park` act on greenlets",
    },
    Module {
        std: &["time"],
        green: &["time"],
        note: "std's `Instant`, `Duration`, `SystemTime`, plus green `sleep` and `sleep_until`",
    },
    Module {
        std: &["sync"],
        green: &["sync"],
        note: "`Mutex`, `RwLock`, `Condvar`, `Barrier`, `Once` block the greenlet, not the thread",
    },
    Module {
        std: &["sync", "mpsc"],
        green: &["sync", "mpsc"],
        note: "channels whose `recv` and bounded `send` wait greenly",
    },
    Module {
        std: &["fs"],
        green: &["fs"],
        note: "`File`, `OpenOptions` and every function run on the blocking pool",
    },
    Module {
        std: &["io"],
        green: &["io"],
        note: "`stdin()` reads (`read_line`, `lines`, `read_to_string`) wait greenly; the rest is std's",
    },
    Module {
        std: &["process"],
        green: &["process"],
        note: "`Command`, `Child` and its pipes: waiting for a child and pipe I/O wait greenly",
    },
    Module {
        std: &["os", "unix", "process"],
        green: &["os", "unix", "process"],
        note: "`CommandExt` (`uid`, `gid`, `pre_exec`, `exec`, `process_group`) for green's `Command`",
    },
    Module {
        std: &["os", "unix", "net"],
        green: &["os", "unix", "net"],
        note: "green Unix domain sockets",
    },
];

/// The std macros with a green replacement. A bare `thread_local!` is
/// rewritten as well as `std::thread_local!`.
pub(crate) const MACROS: &[Macro] = &[Macro {
    std: "thread_local",
    green: "thread_local",
    note: "greenlet-local storage, as gevent patches `threading.local`",
}];

/// If the segments after a `std` root name a patched module or an item in
/// one, returns how many leading segments the matching module row covers.
pub(crate) fn module_match<S: AsRef<str>>(segments: &[S]) -> Option<usize> {
    module_row(segments).map(|m| m.std.len())
}

/// The longest row whose std module the segments after a `std` root begin
/// with.
pub(crate) fn module_row<S: AsRef<str>>(segments: &[S]) -> Option<&'static Module> {
    MODULES
        .iter()
        .filter(|m| {
            m.std.len() <= segments.len()
                && m.std.iter().zip(segments).all(|(a, b)| *a == b.as_ref())
        })
        .max_by_key(|m| m.std.len())
}

/// Whether the macro `name` at std's root has a green replacement.
pub(crate) fn macro_match(name: &str) -> Option<&'static Macro> {
    MACROS.iter().find(|m| m.std == name)
}

/// The mapping table as markdown, one row per module and macro. The book's
/// chapter on patching must contain every row (checked by a test).
#[cfg_attr(not(test), allow(dead_code, reason = "read by the book's test"))]
pub(crate) fn markdown() -> String {
    let mut out = String::from("| std | green | notes |\n|---|---|---|\n");
    for row in markdown_rows() {
        out.push_str(&row);
        out.push('\n');
    }
    out
}

/// The rows of [`markdown`], without the header.
#[cfg_attr(not(test), allow(dead_code, reason = "read by the book's test"))]
pub(crate) fn markdown_rows() -> Vec<String> {
    let modules = MODULES.iter().map(|m| {
        format!(
            "| `std::{}` | `green::{}` | {} |",
            m.std.join("::"),
            m.green.join("::"),
            m.note
        )
    });
    let macros = MACROS.iter().map(|m| {
        format!(
            "| `thread_local!`, `std::{}!` | `green::{}!` | {} |",
            m.std, m.green, m.note
        )
    });
    modules.chain(macros).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_keep_std_layout() {
        for m in MODULES {
            assert_eq!(m.std, m.green, "the rewriter only swaps the root");
        }
        for m in MACROS {
            assert_eq!(m.std, m.green);
        }
    }

    #[test]
    fn longest_row_wins() {
        assert_eq!(module_match(&["sync", "Mutex"]), Some(1));
        assert_eq!(module_match(&["sync", "mpsc", "channel"]), Some(2));
        assert_eq!(module_match(&["os", "unix", "net", "UnixStream"]), Some(3));
        assert_eq!(module_match(&["os", "unix", "fs"]), None);
        assert_eq!(module_match(&["io", "Read"]), Some(1));
        assert_eq!(module_match(&["process", "Command"]), Some(1));
        assert_eq!(module_match(&["collections", "HashMap"]), None);
        assert_eq!(module_match(&["netx"]), None);
        assert_eq!(module_match::<&str>(&[]), None);
    }

    #[test]
    fn book_has_every_row() {
        let book = concat!(env!("CARGO_MANIFEST_DIR"), "/../book/src/patching.md");
        let text = std::fs::read_to_string(book).expect("book/src/patching.md exists");
        for row in markdown_rows() {
            assert!(
                text.contains(&row),
                "book/src/patching.md lacks the row\n{row}\nfull table:\n{}",
                markdown()
            );
        }
    }
}
