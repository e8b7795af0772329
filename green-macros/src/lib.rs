//! Compile-time monkey patching for [`green`](https://docs.rs/green):
//! `#[green::main]`, `#[green::test]` and `#[green::patch]`.
//!
//! Use these through the `green` crate, never directly: the expansions refer
//! to the runtime as `::green::...` (or the `crate = "..."` option).
//!
//! One step per file: `attr.rs` parses options, `table.rs` is the one
//! std → green mapping, `rewrite.rs` is the rewriter, `entry.rs` expands
//! `main` and tests, `patch.rs` checks and expands `#[green::patch]`, and
//! `file.rs` loads file modules for it.

#![cfg_attr(test, deny(warnings))]

use proc_macro::TokenStream;

mod attr;
mod entry;
mod file;
mod library;
mod patch;
mod program;
mod rewrite;
mod table;

/// Runs `main` on the green runtime, with its body patched as by
/// [`macro@patch`].
///
/// ```ignore
/// #[green::main(workers = 4)]
/// fn main() -> std::io::Result<()> {
///     let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
///     for stream in listener.incoming() {
///         let stream = stream?;
///         std::thread::spawn(move || handle(stream)); // a greenlet
///     }
///     Ok(())
/// }
/// ```
///
/// expands to
///
/// ```ignore
/// fn main() -> std::io::Result<()> {
///     ::green::__private::Builder::new()
///         .workers(4)
///         .run(move || -> std::io::Result<()> { /* the patched body */ })
/// }
/// ```
///
/// The body runs on the calling thread as the root context of its hub, and
/// its value is `main`'s, so `main` may return a `Result` as with std.
///
/// Options:
/// - `workers = N`: hubs, one OS thread each; at least 1 (default 1);
/// - `stack_size = BYTES`: greenlet stack size; at least 16384;
/// - `crate = "name"`: the name under which you depend on `green`.
///
/// It may be put on a function not named `main`; that function may take
/// arguments (they are moved into the body). It may not be `async`.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(attr::Kind::Main, args.into(), item.into(), || {
        proc_macro::Span::call_site().local_file()
    })
    .into()
}

/// A `#[test]` whose body runs, patched, on the green runtime. Takes the
/// options of [`macro@main`]; works with `#[should_panic]` and `#[ignore]`.
///
/// It adds `#[test]` itself. If you also write `#[test]`, put it below
/// `#[green::test]`: one above it is expanded first and the macro cannot
/// see it, so the test would be registered twice.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(attr::Kind::Test, args.into(), item.into(), || {
        proc_macro::Span::call_site().local_file()
    })
    .into()
}

/// Rewrites paths into `std::net`, `std::thread`, `std::time`, `std::sync`
/// and `std::os::unix::net` (and `thread_local!`) to green's mirrors, in an
/// inline module or a `fn`, `impl`, `trait`, `const`, `static`, `use` or
/// `type` item. Option: `crate = "name"`.
///
/// On stable a file module is written as an empty inline module with a
/// `#[path]` relative to the current file:
///
/// ```ignore
/// #[green::patch]
/// #[path = "server.rs"]
/// mod server {}
/// ```
#[proc_macro_attribute]
pub fn patch(args: TokenStream, item: TokenStream) -> TokenStream {
    patch::expand(args.into(), item.into(), || {
        proc_macro::Span::call_site().local_file()
    })
    .into()
}

/// Keeps an item on std: `#[green::patch]` and `#[green::main]` copy it as
/// written, without rewriting its paths. For code that must run on a real
/// OS thread (CPU-bound work beside the hubs) or hand std types to another
/// crate:
///
/// ```ignore
/// #[green::unpatched]
/// fn crunch(data: Vec<u64>) -> std::thread::JoinHandle<u64> {
///     std::thread::spawn(move || data.iter().sum()) // an OS thread
/// }
/// ```
///
/// It goes on items (`fn`, `impl`, `mod`, `use`, `static`, ...); on its own
/// it changes nothing.
#[proc_macro_attribute]
pub fn unpatched(args: TokenStream, item: TokenStream) -> TokenStream {
    if !args.is_empty() {
        let e = syn::Error::new(
            proc_macro2::TokenStream::from(args)
                .into_iter()
                .next()
                .map_or_else(proc_macro2::Span::call_site, |t| t.span()),
            "`#[green::unpatched]` takes no options",
        );
        let mut out: proc_macro2::TokenStream = item.into();
        out.extend(e.into_compile_error());
        return out.into();
    }
    item
}
