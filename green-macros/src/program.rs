//! Whole-program patching: `#[green::main]` on the crate root's `fn main`
//! makes the whole crate green, not only `main`'s body.
//!
//! An attribute macro only sees the item it is put on, and the crate root
//! cannot take an attribute on stable. So `#[green::main]` reads the file
//! that holds it (`proc_macro::Span::local_file`), and when `main` stands at
//! the top level of that file (the crate root) it emits, beside `main`, a
//! patched **copy of the crate**:
//!
//! ```ignore
//! use std::thread;                      // the user's crate, unchanged
//! fn handle(..) { thread::spawn(..) }
//! mod pool;                             // src/pool.rs
//!
//! fn main() -> impl Termination {       // what `#[green::main]` emits
//!     let _ = || -> R { /* main's body as written */ };
//!     __green_crate::main()
//! }
//! #[allow(warnings)]
//! mod __green_crate {
//!     use ::green::thread;              // every item of the file, patched
//!     fn handle(..) { thread::spawn(..) }
//!     mod pool { /* src/pool.rs, patched */ }
//!     pub(crate) fn main() -> R { Builder::new().run(move || -> R { .. }) }
//! }
//! ```
//!
//! The program that runs is the copy: every item of the crate root and of
//! every module file it declares, patched, with `crate::` paths pointing
//! into the copy. The items as written are still compiled (they type-check
//! as before and keep the user's own warnings meaningful: the closure that
//! is never called keeps them used) but no code path reaches them at run
//! time, so a `static` exists twice but only the copy's is ever touched.
//!
//! Left out of the copy: `extern crate` items (the crate root's make their
//! names visible everywhere), tests (`#[test]`, `#[cfg(test)]`, so that the
//! harness does not register a test twice), the crate's inner attributes,
//! and symbol names (`#[no_mangle]`, `#[export_name]`, `#[macro_export]`),
//! which must stay unique. Items marked `#[green::unpatched]` are copied
//! as written.

use std::path::{Path, PathBuf};

use proc_macro2::{Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::{Attribute, Item, ItemFn, ReturnType, Type};

use crate::file;
use crate::rewrite::{Patcher, is_unpatched, item_attrs, item_attrs_mut};

/// The module that holds the patched copy of the crate.
pub(crate) const COPY: &str = "__green_crate";

/// The crate root file that holds `f` at its top level, parsed, if `f` is
/// the crate root's `main`. `None` means "not a whole program": `main` is
/// in a module, or the file cannot be found (a doctest, an IDE).
pub(crate) fn load(file: Option<PathBuf>, f: &ItemFn) -> Option<syn::Result<(PathBuf, syn::File)>> {
    if f.sig.ident != "main" {
        return None;
    }
    let file = absolute(file?);
    let tokens = match lex(&file)? {
        Ok(t) => t,
        Err(e) => return Some(Err(syn::Error::new(Span::call_site(), e))),
    };
    let parsed: syn::File = match syn::parse2(tokens) {
        Ok(p) => p,
        Err(e) => {
            return Some(Err(syn::Error::new(
                Span::call_site(),
                format!("`#[green::main]` cannot parse `{}`: {e}", file.display()),
            )));
        }
    };
    has_green_main(&parsed).then_some(Ok((file, parsed)))
}

/// `file` as `Span::local_file` gives it (relative to rustc's working
/// directory), made absolute.
pub(crate) fn absolute(file: PathBuf) -> PathBuf {
    std::env::current_dir()
        .map(|d| d.join(&file))
        .unwrap_or(file)
}

/// The tokens of `file` (a leading shebang skipped): `None` if it cannot
/// be read, `Err` with the lexer's message if it cannot be lexed.
fn lex(file: &Path) -> Option<Result<TokenStream, String>> {
    let text = std::fs::read_to_string(file).ok()?;
    Some(
        strip_shebang(&text)
            .parse::<TokenStream>()
            .map_err(|e| e.to_string()),
    )
}

/// Whether the file's top level has `fn main` under `#[green::main]`.
fn has_green_main(parsed: &syn::File) -> bool {
    parsed.items.iter().any(|i| match i {
        Item::Fn(g) => g.sig.ident == "main" && g.attrs.iter().any(is_main_attr),
        _ => false,
    })
}

/// Whether `file` (as `Span::local_file` gives it) is a crate root whose
/// `fn main` carries `#[green::main]`. Then `#[green::patch]` in that file
/// leaves its item as written: the copy `#[green::main]` emits patches it,
/// and the crate as written stays all std, so its types agree (a patched
/// module's `TcpStream` would not be the `TcpStream` of an unpatched
/// helper beside `main`).
pub(crate) fn file_has_green_main(file: Option<&Path>) -> bool {
    let Some(Ok(tokens)) = file.and_then(|f| lex(&absolute(f.to_owned()))) else {
        return false;
    };
    if names_green_outside_attributes(&tokens) {
        // A program written against green's own types (say a
        // `green::thread::JoinHandle` in `main`) expects its patched items
        // patched as written too.
        return false;
    }
    syn::parse2::<syn::File>(tokens).is_ok_and(|parsed| has_green_main(&parsed))
}

/// Whether a path `green :: ...` appears outside attributes (`#[...]`).
fn names_green_outside_attributes(tokens: &TokenStream) -> bool {
    let tts: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let mut i = 0;
    while i < tts.len() {
        match &tts[i] {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                // `#[...]` or `#![...]`: skip the attribute.
                let mut j = i + 1;
                if matches!(tts.get(j), Some(TokenTree::Punct(p)) if p.as_char() == '!') {
                    j += 1;
                }
                if matches!(tts.get(j), Some(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Bracket)
                {
                    i = j + 1;
                    continue;
                }
            }
            TokenTree::Group(g) if names_green_outside_attributes(&g.stream()) => return true,
            TokenTree::Ident(id) if id == "green" && colon2_at(&tts, i + 1) => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

fn strip_shebang(text: &str) -> &str {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.starts_with("#!") && !text.starts_with("#![") {
        // Keep the line count: rustc's spans are not used, but a parse
        // error should still mention the right item.
        return text.find('\n').map_or("", |n| &text[n..]);
    }
    text
}

/// For `#[green::test]`: the crate root's `use` items that move to green
/// (`use std::thread;` → `use ::green::thread;`), to be declared at the
/// top of the test's body, where they shadow the crate root's imports. A
/// test file's helpers are not copied (a test file is many roots, one per
/// test); its imports are.
pub(crate) fn shadowing_uses(krate: &str, file: Option<PathBuf>, test: &Ident) -> Vec<syn::Stmt> {
    let Some(Ok(tokens)) = file.and_then(|f| lex(&absolute(f))) else {
        return Vec::new();
    };
    let Ok(parsed) = syn::parse2::<syn::File>(tokens) else {
        return Vec::new();
    };
    // Only a test at the top level of its file sees the file's imports.
    let at_top = parsed
        .items
        .iter()
        .any(|i| matches!(i, Item::Fn(g) if g.sig.ident == *test));
    if !at_top {
        return Vec::new();
    }
    let patcher = Patcher::new(krate);
    let mut stmts = Vec::new();
    for item in &parsed.items {
        let Item::Use(u) = item else { continue };
        let moved = patcher.moved_uses(u);
        if moved.is_empty() {
            continue;
        }
        // The file's own import is shadowed in the test: name it once, so
        // that it does not turn into an "unused import" warning.
        let mut names = Vec::new();
        if !u.attrs.iter().any(|a| a.path().is_ident("cfg")) {
            bound_names(&u.tree, None, &mut names);
        }
        for name in names {
            stmts.push(syn::parse_quote!(
                #[allow(unused_imports)]
                use self::#name as _;
            ));
        }
        for mut m in moved {
            m.vis = syn::Visibility::Inherited;
            m.attrs.retain(|a| a.path().is_ident("cfg"));
            m.attrs.push(syn::parse_quote!(#[allow(unused_imports)]));
            stmts.push(syn::Stmt::Item(Item::Use(m)));
        }
    }
    stmts
}

/// The names a `use` tree binds (not globs, not `_`).
fn bound_names(tree: &syn::UseTree, parent: Option<&Ident>, out: &mut Vec<Ident>) {
    match tree {
        syn::UseTree::Path(p) => bound_names(&p.tree, Some(&p.ident), out),
        syn::UseTree::Name(n) if n.ident == "self" => out.extend(parent.cloned()),
        syn::UseTree::Name(n) => out.push(n.ident.clone()),
        syn::UseTree::Rename(r) if r.rename != "_" => out.push(r.rename.clone()),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                bound_names(t, parent, out);
            }
        }
        _ => {}
    }
}

/// `#[green::main]`, `#[main]` (after `use green::main`), or the attribute
/// under a renamed crate: any path ending in `main`.
fn is_main_attr(a: &Attribute) -> bool {
    a.path().segments.last().is_some_and(|s| s.ident == "main")
}

/// `#[test]`, `#[green::test]`, `#[tokio::test]`, ...
fn is_test_attr(a: &Attribute) -> bool {
    a.path().segments.last().is_some_and(|s| s.ident == "test")
}

/// `#[green::patch]` or `#[patch]`.
fn is_patch_attr(a: &Attribute) -> bool {
    let segs = &a.path().segments;
    segs.last().is_some_and(|s| s.ident == "patch") && (segs.len() == 1 || segs.len() == 2)
}

/// `#[cfg(test)]`: the item only exists in test builds.
fn is_cfg_test(a: &Attribute) -> bool {
    a.path().is_ident("cfg") && a.parse_args::<Ident>().is_ok_and(|i| i == "test")
}

/// Builds the copy of the crate and `main`'s new body.
///
/// `original` is `main` as written; `patched_main` is the copy's `main`,
/// already patched and wrapped in the runtime.
pub(crate) fn expand(
    krate: &str,
    file: &Path,
    parsed: syn::File,
    original: &ItemFn,
    mut patched_main: ItemFn,
) -> syn::Result<TokenStream> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let mut items = parsed.items;
    items.retain(|i| !matches!(i, Item::ExternCrate(_)));
    prune(&mut items);
    inline_patch_file_forms(&mut items, dir)?;
    file::inline_file_modules(&mut items, dir)?;
    prune(&mut items);

    let mut patcher = Patcher::new(krate);
    let main_at = items
        .iter()
        .position(|i| matches!(i, Item::Fn(g) if g.sig.ident == "main"))
        .expect("load found `main` at the top level");
    items.remove(main_at);
    patcher.patch_items(&mut items);
    for item in &mut items {
        crate_visible(item);
    }

    patched_main.vis = syn::parse_quote!(pub(crate));
    patched_main.attrs.retain(|a| !is_main_attr(a));
    let copy_ident = Ident::new(COPY, Span::call_site());
    let mut copy = TokenStream::new();
    for item in &items {
        item.to_tokens(&mut copy);
    }
    patched_main.to_tokens(&mut copy);
    let library = crate::library::check(&copy, file);
    let copy = reroot_crate_paths(copy, &copy_ident);

    // `main` as the crate sees it: the body as written in a closure that
    // is never called (it keeps the items as written in use and
    // type-checks them as before), then the copy's `main`.
    let ret = match &original.sig.output {
        ReturnType::Type(arrow, ty) if !matches!(**ty, Type::ImplTrait(_)) => {
            Some(quote!(#arrow #ty))
        }
        _ => None,
    };
    let outer_ret = match (&original.sig.output, &ret) {
        (ReturnType::Default, _) => quote!(),
        (_, Some(_)) => quote!(-> impl ::std::process::Termination),
        (ReturnType::Type(arrow, ty), None) => quote!(#arrow #ty),
    };
    let closure_ret = ret.unwrap_or_default();
    let stmts = &original.block.stmts;
    let attrs = original.attrs.iter().filter(|a| !is_main_attr(a));
    let vis = &original.vis;
    let library = library.map(|e| e.into_compile_error());
    Ok(quote! {
        #library
        #(#attrs)*
        #vis fn main() #outer_ret {
            #[allow(unused_variables, unreachable_code, clippy::all)]
            let _ = || #closure_ret { #(#stmts)* };
            #copy_ident::main()
        }

        #[doc(hidden)]
        #[allow(warnings, clippy::all, clippy::pedantic, clippy::nursery)]
        mod #copy_ident {
            #copy
        }
    })
}

/// Removes what must not exist twice or run twice, recursively: tests,
/// `#[cfg(test)]` items, `extern crate`; strips `#[green::patch]` (the copy
/// is patched as a whole), `#[macro_export]` and symbol names.
fn prune(items: &mut Vec<Item>) {
    items.retain(|item| {
        let Some(attrs) = item_attrs(item) else {
            return true;
        };
        let test_fn = matches!(item, Item::Fn(_)) && attrs.iter().any(is_test_attr);
        !test_fn && !attrs.iter().any(is_cfg_test)
    });
    for item in items.iter_mut() {
        let unpatched = item_attrs(item).is_some_and(|a| is_unpatched(a));
        if let Some(attrs) = item_attrs_mut(item) {
            attrs.retain(|a| {
                let p = a.path();
                let symbol = ["no_mangle", "export_name", "macro_export", "used"]
                    .iter()
                    .any(|n| p.is_ident(n));
                let unsafe_symbol = p.is_ident("unsafe")
                    && a.parse_args::<syn::Meta>().is_ok_and(|m| {
                        m.path().is_ident("no_mangle") || m.path().is_ident("export_name")
                    });
                !symbol && !unsafe_symbol && (unpatched || !is_patch_attr(a))
            });
        }
        if let Item::Mod(m) = item
            && let Some((_, inner)) = &mut m.content
        {
            inner.retain(|i| !matches!(i, Item::ExternCrate(_)));
            prune(inner);
        }
    }
}

/// A private item at the crate root is visible to the whole crate; in the
/// copy the same item is `pub(crate)`, so that `main`'s value (whose type
/// may be the copy's own error type) can leave the copy.
fn crate_visible(item: &mut Item) {
    let vis = match item {
        Item::Const(i) => &mut i.vis,
        Item::Enum(i) => &mut i.vis,
        Item::Fn(i) => &mut i.vis,
        Item::Mod(i) => &mut i.vis,
        Item::Static(i) => &mut i.vis,
        Item::Struct(i) => &mut i.vis,
        Item::Trait(i) => &mut i.vis,
        Item::Type(i) => &mut i.vis,
        Item::Union(i) => &mut i.vis,
        _ => return,
    };
    if matches!(vis, syn::Visibility::Inherited) {
        *vis = syn::parse_quote!(pub(crate));
    }
}

/// `#[green::patch] #[path = "x.rs"] mod x {}` (the file-module form) in
/// the copy: the attribute was stripped by [`prune`], so load the file
/// here. Only at the crate root's top level, where the form is relative to
/// the root file's directory.
fn inline_patch_file_forms(items: &mut [Item], dir: &Path) -> syn::Result<()> {
    for item in items {
        if let Item::Mod(m) = item
            && let Some(path) = file::take_path_attr(m)?
        {
            file::inline(m, &path, dir)?;
        }
    }
    Ok(())
}

/// `crate :: x` → `crate :: __green_crate :: x` everywhere in the copy,
/// macro bodies included (`$crate :: x` too, for the copy's own
/// `macro_rules!`). `pub(crate)` is left alone.
fn reroot_crate_paths(tokens: TokenStream, copy: &Ident) -> TokenStream {
    let tts: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(tts.len());
    let mut i = 0;
    while i < tts.len() {
        match &tts[i] {
            TokenTree::Group(g) => {
                let mut ng = Group::new(g.delimiter(), reroot_crate_paths(g.stream(), copy));
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
            }
            TokenTree::Ident(id) if id == "crate" && colon2_at(&tts, i + 1) => {
                out.push(tts[i].clone());
                out.push(tts[i + 1].clone());
                out.push(tts[i + 2].clone());
                let mut name = copy.clone();
                name.set_span(id.span());
                out.push(TokenTree::Ident(name));
                let mut a = Punct::new(':', Spacing::Joint);
                a.set_span(id.span());
                let mut b = Punct::new(':', Spacing::Alone);
                b.set_span(id.span());
                out.push(TokenTree::Punct(a));
                out.push(TokenTree::Punct(b));
                i += 3;
                continue;
            }
            other => out.push(other.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}

/// Whether `::` starts at `tts[i]`.
pub(crate) fn colon2_at(tts: &[TokenTree], i: usize) -> bool {
    matches!((tts.get(i), tts.get(i + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_paths_move_into_the_copy() {
        let copy = Ident::new(COPY, Span::call_site());
        let out = reroot_crate_paths(
            quote! {
                use crate::pool::{ThreadPool};
                pub(crate) fn f() -> crate::X { crate::g(); m!(crate::h, $crate::k) }
                pub(in crate::a) struct S;
            },
            &copy,
        )
        .to_string();
        assert!(out.contains("use crate :: __green_crate :: pool"), "{out}");
        assert!(
            out.contains("pub (crate) fn f () -> crate :: __green_crate :: X"),
            "{out}"
        );
        assert!(out.contains("crate :: __green_crate :: g ()"), "{out}");
        assert!(
            out.contains("m ! (crate :: __green_crate :: h , $ crate :: __green_crate :: k)"),
            "{out}"
        );
        assert!(
            out.contains("pub (in crate :: __green_crate :: a) struct S"),
            "{out}"
        );
    }

    #[test]
    fn prune_drops_tests_and_symbols() {
        let mut file: syn::File = syn::parse_quote! {
            #[no_mangle] pub extern "C" fn c() {}
            #[test] fn t() {}
            #[cfg(test)] mod tests { fn x() {} }
            #[green::patch] mod m { #[green::test] fn t2() {} fn keep() {} extern crate alloc; }
            #[macro_export] macro_rules! mm { () => {} }
            #[green::unpatched] #[green::patch] fn u() {}
        };
        prune(&mut file.items);
        let out = file.into_token_stream().to_string();
        assert!(!out.contains("no_mangle"), "{out}");
        assert!(!out.contains("fn t ()"), "{out}");
        assert!(!out.contains("mod tests"), "{out}");
        assert!(!out.contains("t2"), "{out}");
        assert!(!out.contains("extern crate"), "{out}");
        assert!(out.contains("mod m { fn keep () { } }"), "{out}");
        assert!(!out.contains("macro_export"), "{out}");
        assert!(
            out.contains("# [green :: unpatched] # [green :: patch] fn u"),
            "{out}"
        );
    }
}

#[cfg(test)]
mod green_names {
    use super::*;

    #[test]
    fn green_paths_outside_attributes() {
        let yes: TokenStream = quote! {
            #[green::main]
            fn main() { let h: green::thread::JoinHandle<()> = todo!(); }
        };
        assert!(names_green_outside_attributes(&yes));
        let no: TokenStream = quote! {
            #![allow(dead_code)]
            #[green::patch]
            mod m { use std::thread; }
            #[green::main]
            fn main() { let green = 1; let _ = green; }
        };
        assert!(!names_green_outside_attributes(&no));
    }
}
