//! The rewriter behind `#[green::patch]`: a [`VisitMut`] that moves paths into
//! the std modules listed in [`crate::table`] onto their green mirrors.
//!
//! It rewrites three shapes of code:
//!
//! - `use` items. A tree is split into the part that stays on std and the
//!   part that moves, so `use std::{thread, collections::HashMap};` becomes
//!   `use std::{collections::HashMap}; use ::green::{thread};`. Groups,
//!   nesting, `self`, renames and globs keep their shape.
//! - Paths rooted at `std` or `::std` anywhere syn has a [`syn::Path`]:
//!   expressions, types, patterns, generic arguments, bounds, trait and impl
//!   headers, macro paths (`std::thread_local!`).
//! - The raw tokens of every macro invocation (`println!`, `vec!`, `assert!`,
//!   user macros, `macro_rules!` bodies): a token sequence
//!   `[::] std :: m :: ...` whose segments name a patched module is re-rooted,
//!   and a bare `thread_local!` becomes `::green::thread_local!`. Groups are
//!   walked recursively, as async-trait's `receiver.rs` does. A `use ... ;`
//!   among the tokens that parses as a `use` item is split as above.
//!
//! Paths that only look alike are left alone: `core::time`, `crate::thread`,
//! `self::net`, `super::sync`, a local module named `net`. Paths through an
//! alias of std made outside the patched code (`use std as s; s::thread`)
//! are not seen either.

use proc_macro2::{Delimiter, Group, Ident, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::visit_mut::{self, VisitMut};
use syn::{
    Block, File, Item, ItemMod, ItemUse, Macro, Path, PathSegment, Stmt, Token, UseGroup, UsePath,
    UseTree,
};

use crate::table;

/// Rewrites std paths into the green mirrors, rooted at `::<root>`.
#[derive(Debug)]
pub(crate) struct Patcher {
    /// The name of the green crate: `green`, or the `crate = "..."` option.
    root: String,
}

impl Patcher {
    /// A patcher whose output refers to the runtime as `::<root>`.
    pub(crate) fn new(root: &str) -> Self {
        Patcher {
            root: root.to_owned(),
        }
    }

    fn root_ident(&self, span: Span) -> Ident {
        Ident::new(&self.root, span)
    }

    /// Patches a list of items in place; a `use` item may become several.
    pub(crate) fn patch_items(&mut self, items: &mut Vec<Item>) {
        self.split_uses_in_items(items);
        for item in items {
            self.visit_item_mut(item);
        }
    }

    fn split_uses_in_items(&self, items: &mut Vec<Item>) {
        if !items.iter().any(|i| matches!(i, Item::Use(_))) {
            return;
        }
        let old = std::mem::take(items);
        for item in old {
            match item {
                Item::Use(u) => items.extend(self.split_use(&u).into_iter().map(Item::Use)),
                other => items.push(other),
            }
        }
    }

    /// Splits one `use` item into the item that stays on std (if any) and
    /// the items that move to green.
    pub(crate) fn split_use(&self, item: &ItemUse) -> Vec<ItemUse> {
        if is_unpatched(&item.attrs) {
            return vec![item.clone()];
        }
        let (keep, green) = self.split_root(&item.tree);
        if green.is_empty() {
            return vec![item.clone()];
        }
        let mut out = Vec::new();
        if let Some(tree) = keep {
            out.push(ItemUse {
                tree,
                ..item.clone()
            });
        }
        for tree in green {
            let span = first_span(&tree).unwrap_or_else(Span::call_site);
            out.push(ItemUse {
                leading_colon: Some(Token![::](span)),
                tree,
                ..item.clone()
            });
        }
        out
    }

    /// The parts of a `use` item that move to green, as `use` items of
    /// their own (none if nothing in it moves, or if it is unpatched).
    pub(crate) fn moved_uses(&self, item: &ItemUse) -> Vec<ItemUse> {
        if is_unpatched(&item.attrs) {
            return Vec::new();
        }
        let (_, green) = self.split_root(&item.tree);
        green
            .into_iter()
            .map(|tree| {
                let span = first_span(&tree).unwrap_or_else(Span::call_site);
                ItemUse {
                    leading_colon: Some(Token![::](span)),
                    tree,
                    ..item.clone()
                }
            })
            .collect()
    }

    /// Splits a tree at the root of a `use` item. A `std::` path is split
    /// below its root; a top-level group (`use {std::net, core::mem};`) is
    /// split item by item; anything else stays.
    fn split_root(&self, tree: &UseTree) -> (Option<UseTree>, Vec<UseTree>) {
        match tree {
            UseTree::Path(p) if p.ident == "std" => {
                let (keep, green) = split(&p.tree, &mut Vec::new());
                let keep = keep.map(|t| {
                    UseTree::Path(UsePath {
                        tree: Box::new(t),
                        ..p.clone()
                    })
                });
                let green = green.map(|t| {
                    UseTree::Path(UsePath {
                        ident: self.root_ident(p.ident.span()),
                        colon2_token: p.colon2_token,
                        tree: Box::new(t),
                    })
                });
                (keep, green.into_iter().collect())
            }
            UseTree::Group(g) => {
                let mut keep = Punctuated::new();
                let mut green = Vec::new();
                for item in &g.items {
                    let (k, gr) = self.split_root(item);
                    keep.extend(k);
                    green.extend(gr);
                }
                let keep = if keep.is_empty() {
                    None
                } else {
                    Some(UseTree::Group(UseGroup {
                        brace_token: g.brace_token,
                        items: keep,
                    }))
                };
                (keep, green)
            }
            other => (Some(other.clone()), Vec::new()),
        }
    }

    /// Rewrites a path rooted at `std` whose next segments name a patched
    /// module. The segment count never changes (see [`crate::table`]), so
    /// a `QSelf` position stays valid.
    fn rewrite_path(&self, path: &mut Path) {
        let Some(first) = path.segments.first() else {
            return;
        };
        if first.ident != "std" || !first.arguments.is_none() {
            return;
        }
        let rest: Vec<String> = path
            .segments
            .iter()
            .skip(1)
            .map(|s| s.ident.to_string())
            .collect();
        let Some(module) = table::module_row(&rest) else {
            return;
        };
        let n = module.std.len();
        if path
            .segments
            .iter()
            .skip(1)
            .take(n)
            .any(|s| !s.arguments.is_none())
        {
            return;
        }
        let span = first.ident.span();
        path.segments[0].ident = self.root_ident(span);
        path.leading_colon = Some(Token![::](span));
        for (seg, green) in path.segments.iter_mut().skip(1).zip(module.green) {
            seg.ident = Ident::new(green, seg.ident.span());
        }
    }

    /// Rewrites a macro path: `thread_local!` and `std::thread_local!`.
    fn rewrite_macro_path(&self, path: &mut Path) {
        let segs: Vec<&PathSegment> = path.segments.iter().collect();
        let name = match segs.as_slice() {
            [only] if path.leading_colon.is_none() => &only.ident,
            [std, name] if std.ident == "std" => &name.ident,
            _ => return,
        };
        let Some(mac) = table::macro_match(&name.to_string()) else {
            return;
        };
        let span = name.span();
        let mut segments = Punctuated::new();
        segments.push(PathSegment::from(self.root_ident(span)));
        segments.push(PathSegment::from(Ident::new(mac.green, span)));
        *path = Path {
            leading_colon: Some(Token![::](span)),
            segments,
        };
    }

    /// Rewrites the raw tokens of a macro invocation.
    pub(crate) fn rewrite_tokens(&self, tokens: TokenStream) -> TokenStream {
        let tts: Vec<TokenTree> = tokens.into_iter().collect();
        let mut out: Vec<TokenTree> = Vec::with_capacity(tts.len());
        let mut i = 0;
        while i < tts.len() {
            let tt = &tts[i];
            // `stringify!(...)` turns its tokens into text: keep them.
            if let (TokenTree::Ident(id), Some(bang), Some(TokenTree::Group(_))) =
                (tt, tts.get(i + 1), tts.get(i + 2))
                && is_verbatim_macro(id)
                && is_punct(Some(bang), '!')
            {
                out.extend(tts[i..i + 3].iter().cloned());
                i += 3;
                continue;
            }
            if let TokenTree::Ident(id) = tt
                && id == "use"
                && is_bare(&out)
                && let Some((tokens, len)) = self.rewrite_token_use(&tts[i..])
            {
                out.extend(tokens);
                i += len;
                continue;
            }
            match tt {
                TokenTree::Group(g) => {
                    let mut new = Group::new(g.delimiter(), self.rewrite_tokens(g.stream()));
                    new.set_span(g.span());
                    out.push(new.into());
                }
                TokenTree::Ident(id) if id == "std" && is_token_path_root(&out) => {
                    let segs = token_segments(&tts[i + 1..]);
                    let after = tts.get(i + 1 + 3 * segs.len());
                    let is_macro = segs.len() == 1
                        && table::macro_match(&segs[0]).is_some()
                        && is_punct(after, '!');
                    if table::module_match(&segs).is_some() || is_macro {
                        if !ends_with_colon2(&out) {
                            push_colon2(&mut out, id.span());
                        }
                        out.push(self.root_ident(id.span()).into());
                    } else {
                        out.push(tt.clone());
                    }
                }
                TokenTree::Ident(id)
                    if table::macro_match(&id.to_string()).is_some()
                        && is_punct(tts.get(i + 1), '!')
                        && is_bare(&out) =>
                {
                    push_colon2(&mut out, id.span());
                    out.push(self.root_ident(id.span()).into());
                    push_colon2(&mut out, id.span());
                    out.push(tt.clone());
                }
                _ => out.push(tt.clone()),
            }
            i += 1;
        }
        out.into_iter().collect()
    }

    /// A `use ... ;` in macro tokens (`tts` starts at `use`) that moves
    /// something: returns the rewritten tokens and how many tokens it
    /// replaces. A split item becomes one `use` with a top-level group, so
    /// a visibility already emitted before `use` applies to all of it.
    fn rewrite_token_use(&self, tts: &[TokenTree]) -> Option<(Vec<TokenTree>, usize)> {
        let end = tts.iter().position(|t| is_punct(Some(t), ';'))?;
        let tokens: TokenStream = tts[..=end].iter().cloned().collect();
        let item: ItemUse = syn::parse2(tokens).ok()?;
        let mut split = self.split_use(&item);
        let out = match split.len() {
            1 if split[0] == item => return None,
            1 => split.remove(0),
            _ => {
                let items = split.into_iter().map(|u| u.tree).collect();
                ItemUse {
                    leading_colon: None,
                    tree: UseTree::Group(UseGroup {
                        brace_token: Default::default(),
                        items,
                    }),
                    ..item
                }
            }
        };
        Some((out.into_token_stream().into_iter().collect(), end + 1))
    }
}

impl VisitMut for Patcher {
    fn visit_item_mut(&mut self, item: &mut Item) {
        if item_attrs(item).is_some_and(|a| is_unpatched(a)) {
            return;
        }
        visit_mut::visit_item_mut(self, item);
    }

    fn visit_file_mut(&mut self, file: &mut File) {
        self.split_uses_in_items(&mut file.items);
        visit_mut::visit_file_mut(self, file);
    }

    fn visit_item_mod_mut(&mut self, m: &mut ItemMod) {
        if let Some((_, items)) = &mut m.content {
            self.split_uses_in_items(items);
        }
        visit_mut::visit_item_mod_mut(self, m);
    }

    fn visit_block_mut(&mut self, block: &mut Block) {
        if block
            .stmts
            .iter()
            .any(|s| matches!(s, Stmt::Item(Item::Use(_))))
        {
            let old = std::mem::take(&mut block.stmts);
            for stmt in old {
                match stmt {
                    Stmt::Item(Item::Use(u)) => block.stmts.extend(
                        self.split_use(&u)
                            .into_iter()
                            .map(|u| Stmt::Item(Item::Use(u))),
                    ),
                    other => block.stmts.push(other),
                }
            }
        }
        visit_mut::visit_block_mut(self, block);
    }

    fn visit_path_mut(&mut self, path: &mut Path) {
        visit_mut::visit_path_mut(self, path);
        self.rewrite_path(path);
    }

    fn visit_macro_mut(&mut self, mac: &mut Macro) {
        self.rewrite_macro_path(&mut mac.path);
        visit_mut::visit_macro_mut(self, mac);
        if !mac
            .path
            .segments
            .last()
            .is_some_and(|s| is_verbatim_macro(&s.ident))
        {
            mac.tokens = self.rewrite_tokens(std::mem::take(&mut mac.tokens));
        }
    }
}

/// Whether `attrs` hold the opt-out `#[green::unpatched]` (or
/// `#[unpatched]` after `use green::unpatched`): the item stays on std.
pub(crate) fn is_unpatched(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        let p = a.path();
        p.segments.last().is_some_and(|s| s.ident == "unpatched")
    })
}

/// The outer attributes of an item, where it has them.
pub(crate) fn item_attrs(item: &Item) -> Option<&Vec<syn::Attribute>> {
    Some(match item {
        Item::Const(i) => &i.attrs,
        Item::Enum(i) => &i.attrs,
        Item::ExternCrate(i) => &i.attrs,
        Item::Fn(i) => &i.attrs,
        Item::ForeignMod(i) => &i.attrs,
        Item::Impl(i) => &i.attrs,
        Item::Macro(i) => &i.attrs,
        Item::Mod(i) => &i.attrs,
        Item::Static(i) => &i.attrs,
        Item::Struct(i) => &i.attrs,
        Item::Trait(i) => &i.attrs,
        Item::TraitAlias(i) => &i.attrs,
        Item::Type(i) => &i.attrs,
        Item::Union(i) => &i.attrs,
        Item::Use(i) => &i.attrs,
        _ => return None,
    })
}

/// The outer attributes of an item, mutably, where it has them.
pub(crate) fn item_attrs_mut(item: &mut Item) -> Option<&mut Vec<syn::Attribute>> {
    Some(match item {
        Item::Const(i) => &mut i.attrs,
        Item::Enum(i) => &mut i.attrs,
        Item::ExternCrate(i) => &mut i.attrs,
        Item::Fn(i) => &mut i.attrs,
        Item::ForeignMod(i) => &mut i.attrs,
        Item::Impl(i) => &mut i.attrs,
        Item::Macro(i) => &mut i.attrs,
        Item::Mod(i) => &mut i.attrs,
        Item::Static(i) => &mut i.attrs,
        Item::Struct(i) => &mut i.attrs,
        Item::Trait(i) => &mut i.attrs,
        Item::TraitAlias(i) => &mut i.attrs,
        Item::Type(i) => &mut i.attrs,
        Item::Union(i) => &mut i.attrs,
        Item::Use(i) => &mut i.attrs,
        _ => return None,
    })
}

/// Splits a `use` subtree below `std::<path>` into (stays on std, moves).
fn split(tree: &UseTree, path: &mut Vec<String>) -> (Option<UseTree>, Option<UseTree>) {
    let moves = |path: &[String]| table::module_match(path).is_some();
    let by = |moved: bool| {
        if moved {
            (None, Some(tree.clone()))
        } else {
            (Some(tree.clone()), None)
        }
    };
    match tree {
        UseTree::Path(p) => {
            path.push(p.ident.to_string());
            let result = if moves(path) {
                (None, Some(tree.clone()))
            } else {
                let (keep, green) = split(&p.tree, path);
                let wrap = |t: UseTree| {
                    UseTree::Path(UsePath {
                        tree: Box::new(t),
                        ..p.clone()
                    })
                };
                (keep.map(wrap), green.map(wrap))
            };
            path.pop();
            result
        }
        UseTree::Name(n) if n.ident == "self" => by(moves(path)),
        UseTree::Rename(r) if r.ident == "self" => by(moves(path)),
        UseTree::Name(n) => by(moves_name(path, &n.ident)),
        UseTree::Rename(r) => by(moves_name(path, &r.ident)),
        UseTree::Glob(_) => by(moves(path)),
        UseTree::Group(g) => {
            let mut keep = Punctuated::new();
            let mut green = Punctuated::new();
            for item in &g.items {
                let (k, gr) = split(item, path);
                keep.extend(k);
                green.extend(gr);
            }
            let group = |mut items: Punctuated<UseTree, Token![,]>| {
                if g.items.trailing_punct() && !items.is_empty() {
                    items.push_punct(Token![,](g.brace_token.span.close()));
                }
                if items.is_empty() {
                    None
                } else {
                    Some(UseTree::Group(UseGroup {
                        brace_token: g.brace_token,
                        items,
                    }))
                }
            };
            (group(keep), group(green))
        }
    }
}

/// Whether `std::<path>::<ident>` moves: an item of a patched module, or
/// (right under `std`) a replaced macro such as `thread_local`.
fn moves_name(path: &[String], ident: &Ident) -> bool {
    let name = ident.to_string();
    table::module_match(&with(path, ident)).is_some()
        || (path.is_empty() && table::macro_match(&name).is_some())
}

fn with(path: &[String], ident: &Ident) -> Vec<String> {
    let mut v = path.to_vec();
    v.push(ident.to_string());
    v
}

fn first_span(tree: &UseTree) -> Option<Span> {
    match tree {
        UseTree::Path(p) => Some(p.ident.span()),
        UseTree::Name(n) => Some(n.ident.span()),
        UseTree::Rename(r) => Some(r.ident.span()),
        UseTree::Glob(g) => Some(g.star_token.span),
        UseTree::Group(g) => Some(g.brace_token.span.join()),
    }
}

/// Macros whose tokens are text, not code (`stringify!`): never rewritten.
fn is_verbatim_macro(name: &Ident) -> bool {
    name == "stringify"
}

fn is_punct(tt: Option<&TokenTree>, ch: char) -> bool {
    matches!(tt, Some(TokenTree::Punct(p)) if p.as_char() == ch)
}

/// Whether the output so far ends in `::` (a joint `:` then `:`).
fn ends_with_colon2(out: &[TokenTree]) -> bool {
    match out {
        [.., TokenTree::Punct(a), TokenTree::Punct(b)] => {
            a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
        }
        _ => false,
    }
}

fn push_colon2(out: &mut Vec<TokenTree>, span: Span) {
    let mut a = Punct::new(':', Spacing::Joint);
    a.set_span(span);
    let mut b = Punct::new(':', Spacing::Alone);
    b.set_span(span);
    out.push(a.into());
    out.push(b.into());
}

/// Whether an identifier after `out` starts a path (rather than continuing
/// one, as in `a::std`, or being a `$std` fragment or a `'std` lifetime).
fn is_token_path_root(out: &[TokenTree]) -> bool {
    if ends_with_colon2(out) {
        let before = &out[..out.len() - 2];
        return match before.last() {
            None => true,
            Some(TokenTree::Ident(_)) => false,
            Some(TokenTree::Punct(p)) => !matches!(p.as_char(), '>' | '$'),
            Some(TokenTree::Group(g)) => g.delimiter() == Delimiter::None,
            Some(TokenTree::Literal(_)) => true,
        };
    }
    is_bare(out)
}

/// Whether an identifier after `out` stands alone: not after `::`, `.`,
/// `$` or `'`.
fn is_bare(out: &[TokenTree]) -> bool {
    if ends_with_colon2(out) {
        return false;
    }
    !matches!(out.last(), Some(TokenTree::Punct(p)) if matches!(p.as_char(), '.' | '$' | '\''))
}

/// The identifiers of `:: a :: b ...` at the start of `tts`.
fn token_segments(tts: &[TokenTree]) -> Vec<String> {
    let mut segs = Vec::new();
    let mut rest = tts;
    while let [
        TokenTree::Punct(a),
        TokenTree::Punct(b),
        TokenTree::Ident(id),
        tail @ ..,
    ] = rest
    {
        if a.as_char() != ':' || a.spacing() != Spacing::Joint || b.as_char() != ':' {
            break;
        }
        segs.push(id.to_string());
        rest = tail;
    }
    segs
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{ToTokens, quote};

    /// Patches `input` (a list of items) with the root `green` and compares
    /// the printed tokens with `want`.
    fn check(input: TokenStream, want: TokenStream) {
        let mut file: File = syn::parse2(input).expect("input parses");
        Patcher::new("green").visit_file_mut(&mut file);
        assert_eq!(
            file.into_token_stream().to_string(),
            norm(want),
            "\n(left: patched, right: expected)"
        );
    }

    /// Prints tokens as syn does, so that `>>` and `> >` compare equal.
    fn norm(tokens: TokenStream) -> String {
        let file: File = syn::parse2(tokens).expect("expected output parses");
        file.into_token_stream().to_string()
    }

    fn unchanged(input: TokenStream) {
        check(input.clone(), input);
    }

    #[test]
    fn use_simple_and_absolute() {
        check(
            quote!(
                use std::thread;
            ),
            quote!(
                use ::green::thread;
            ),
        );
        check(
            quote!(
                use ::std::net::TcpStream;
            ),
            quote!(
                use ::green::net::TcpStream;
            ),
        );
        check(
            quote!(
                pub(crate) use std::sync::mpsc::{channel, Sender};
            ),
            quote!(
                pub(crate) use ::green::sync::mpsc::{channel, Sender};
            ),
        );
        check(
            quote!(
                use std::os::unix::net::UnixStream;
            ),
            quote!(
                use ::green::os::unix::net::UnixStream;
            ),
        );
    }

    #[test]
    fn use_groups_split() {
        check(
            quote!(
                use std::{
                    net,
                    thread::{self, spawn},
                };
            ),
            quote!(
                use ::green::{
                    net,
                    thread::{self, spawn},
                };
            ),
        );
        check(
            quote!(
                use std::{
                    collections::HashMap,
                    sync::{Arc, Mutex},
                    env::{self, Args},
                };
            ),
            quote!(
                use std::{
                    collections::HashMap,
                    env::{self, Args},
                };
                use ::green::{
                    sync::{Arc, Mutex},
                };
            ),
        );
        check(
            quote!(
                use std::os::unix::{net::UnixListener, fs::PermissionsExt};
            ),
            quote!(
                use std::os::unix::{fs::PermissionsExt};
                use ::green::os::unix::{net::UnixListener};
            ),
        );
        check(
            quote!(
                #[cfg(unix)]
                use {std::time::Instant, core::mem};
            ),
            quote!(
                #[cfg(unix)]
                use {core::mem};
                #[cfg(unix)]
                use ::green::time::Instant;
            ),
        );
    }

    #[test]
    #[rustfmt::skip]
    fn use_rename_glob_self() {
        check(
            quote!(
                use std::thread as t;
            ),
            quote!(
                use ::green::thread as t;
            ),
        );
        check(
            quote!(
                use std::sync::{mpsc::Receiver as Rx, *};
            ),
            quote!(
                use ::green::sync::{mpsc::Receiver as Rx, *};
            ),
        );
        check(
            quote!(
                use std::net::*;
            ),
            quote!(
                use ::green::net::*;
            ),
        );
        check(
            quote!(use std::{self, thread::{self as th}};),
            quote!(use std::{self}; use ::green::{thread::{self as th}};),
        );
        unchanged(quote!(
            use std::*;
        ));
        unchanged(quote!(
            use std::collections::{HashMap, HashSet};
        ));
        unchanged(quote!(
            use std::os::unix::fs::PermissionsExt;
        ));
    }

    #[test]
    #[rustfmt::skip]
    fn use_of_the_macro() {
        check(
            quote!(use std::{thread_local, thread_local as tl, vec};),
            quote!(use std::{vec}; use ::green::{thread_local, thread_local as tl};),
        );
        check(quote!(use std::thread_local;), quote!(use ::green::thread_local;));
        unchanged(quote!(use std::{vec, env::thread_local};));
    }

    #[test]
    fn use_in_blocks_and_nested_modules() {
        check(
            quote! {
                fn f() { use std::{thread, fmt}; thread::yield_now(); }
                mod a { mod b { use std::time::Duration; } }
            },
            quote! {
                fn f() { use std::{fmt}; use ::green::{thread}; thread::yield_now(); }
                mod a { mod b { use ::green::time::Duration; } }
            },
        );
    }

    #[test]
    fn paths_in_expressions_and_types() {
        check(
            quote! {
                fn f(d: std::time::Duration) -> ::std::thread::JoinHandle<()> {
                    let m: std::sync::Arc<std::sync::Mutex<Vec<std::net::SocketAddr>>> = Default::default();
                    let (tx, rx) = std::sync::mpsc::channel::<u8>();
                    std::thread::spawn(move || std::thread::sleep(d))
                }
            },
            quote! {
                fn f(d: ::green::time::Duration) -> ::green::thread::JoinHandle<()> {
                    let m: ::green::sync::Arc<::green::sync::Mutex<Vec<::green::net::SocketAddr>>> = Default::default();
                    let (tx, rx) = ::green::sync::mpsc::channel::<u8>();
                    ::green::thread::spawn(move || ::green::thread::sleep(d))
                }
            },
        );
    }

    #[test]
    fn paths_in_patterns_generics_bounds_impls() {
        check(
            quote! {
                struct S<T: AsRef<std::sync::Mutex<u8>> = std::sync::Mutex<u8>>(T);
                impl<T> From<std::sync::mpsc::RecvError> for S<T> where T: Into<std::time::Instant> {
                    fn from(e: std::sync::mpsc::RecvError) -> Self { todo!() }
                }
                impl std::net::ToSocketAddrs for S<()> {}
                trait Tr: std::os::unix::net::UnixStreamExt {}
                fn g(e: ::std::sync::mpsc::RecvTimeoutError) -> impl Fn(std::time::Duration) {
                    match e {
                        std::sync::mpsc::RecvTimeoutError::Timeout => {}
                        std::sync::mpsc::RecvTimeoutError::Disconnected => {}
                    }
                    let std::sync::mpsc::SendError(x) = todo!();
                    <std::time::Instant as Clone>::clone;
                    |_| ()
                }
            },
            quote! {
                struct S<T: AsRef<::green::sync::Mutex<u8>> = ::green::sync::Mutex<u8>>(T);
                impl<T> From<::green::sync::mpsc::RecvError> for S<T> where T: Into<::green::time::Instant> {
                    fn from(e: ::green::sync::mpsc::RecvError) -> Self { todo!() }
                }
                impl ::green::net::ToSocketAddrs for S<()> {}
                trait Tr: ::green::os::unix::net::UnixStreamExt {}
                fn g(e: ::green::sync::mpsc::RecvTimeoutError) -> impl Fn(::green::time::Duration) {
                    match e {
                        ::green::sync::mpsc::RecvTimeoutError::Timeout => {}
                        ::green::sync::mpsc::RecvTimeoutError::Disconnected => {}
                    }
                    let ::green::sync::mpsc::SendError(x) = todo!();
                    <::green::time::Instant as Clone>::clone;
                    |_| ()
                }
            },
        );
    }

    #[test]
    fn paths_in_consts_statics_traits() {
        check(
            quote! {
                const D: std::time::Duration = std::time::Duration::from_millis(5);
                static M: std::sync::Mutex<u8> = std::sync::Mutex::new(0);
                trait T { fn f(&self) -> std::thread::Thread { std::thread::current() } }
            },
            quote! {
                const D: ::green::time::Duration = ::green::time::Duration::from_millis(5);
                static M: ::green::sync::Mutex<u8> = ::green::sync::Mutex::new(0);
                trait T { fn f(&self) -> ::green::thread::Thread { ::green::thread::current() } }
            },
        );
    }

    #[test]
    fn tokens_in_macros() {
        check(
            quote! {
                fn f() {
                    println!("{:?}", std::thread::current().id());
                    let v = vec![std::time::Instant::now(), ::std::time::Instant::now()];
                    assert!(matches!(x, std::sync::mpsc::TryRecvError::Empty));
                    assert_eq!(std::mem::size_of::<u8>(), 1, "{}", std::net::Ipv4Addr::LOCALHOST);
                    my_macro!(a => { std::thread::yield_now() } [std::sync::Arc::new(1)]);
                }
                macro_rules! spawn_it { ($e:expr) => { std::thread::spawn(move || $e) }; }
            },
            quote! {
                fn f() {
                    println!("{:?}", ::green::thread::current().id());
                    let v = vec![::green::time::Instant::now(), ::green::time::Instant::now()];
                    assert!(matches!(x, ::green::sync::mpsc::TryRecvError::Empty));
                    assert_eq!(std::mem::size_of::<u8>(), 1, "{}", ::green::net::Ipv4Addr::LOCALHOST);
                    my_macro!(a => { ::green::thread::yield_now() } [::green::sync::Arc::new(1)]);
                }
                macro_rules! spawn_it { ($e:expr) => { ::green::thread::spawn(move || $e) }; }
            },
        );
    }

    #[test]
    #[rustfmt::skip]
    fn use_items_in_macros() {
        check(
            quote! {
                macro_rules! imports {
                    () => {
                        use std::{thread, collections::HashMap};
                        pub use std::sync::{mpsc, Arc};
                        use std::fmt;
                        use $crate::x::{a, b};
                    };
                }
            },
            quote! {
                macro_rules! imports {
                    () => {
                        use {std::{collections::HashMap}, green::{thread}};
                        pub use ::green::sync::{mpsc, Arc};
                        use std::fmt;
                        use $crate::x::{a, b};
                    };
                }
            },
        );
    }

    #[test]
    fn stringify_keeps_its_text() {
        unchanged(quote! {
            fn f() {
                let a = stringify!(std::thread::spawn);
                let b = core::stringify!(std::thread::spawn);
                m!(stringify!(std::net::TcpStream));
            }
        });
    }

    #[test]
    fn token_look_alikes_untouched() {
        unchanged(quote! {
            fn f() {
                m!(a::std::thread::x, $std::thread, x.std, 'std, "std::thread", core::time::Duration);
                m!(crate::thread::spawn, self::time::x, super::sync::Mutex, std::collections::HashMap);
                m!(std::thread_local, foo::thread_local!(), x.thread_local!());
            }
        });
    }

    #[test]
    fn thread_local_macro() {
        check(
            quote! {
                thread_local!(static A: u8 = 0);
                fn f() {
                    std::thread_local! { static B: std::cell::Cell<u8> = const { std::cell::Cell::new(0) }; }
                    ::std::thread_local!(static C: u8 = 0);
                    m!(thread_local! { static D: u8 = 0 });
                    m!(std::thread_local!(static E: u8 = 0));
                }
            },
            quote! {
                ::green::thread_local!(static A: u8 = 0);
                fn f() {
                    ::green::thread_local! { static B: std::cell::Cell<u8> = const { std::cell::Cell::new(0) }; }
                    ::green::thread_local!(static C: u8 = 0);
                    m!(::green::thread_local! { static D: u8 = 0 });
                    m!(::green::thread_local!(static E: u8 = 0));
                }
            },
        );
        check(
            quote!(
                fn f() -> &'static std::thread::LocalKey<u8> {
                    todo!()
                }
            ),
            quote!(
                fn f() -> &'static ::green::thread::LocalKey<u8> {
                    todo!()
                }
            ),
        );
    }

    #[test]
    fn look_alikes_untouched() {
        unchanged(quote! {
            mod net { pub fn connect() {} }
            mod thread { pub fn spawn() {} }
            use core::time::Duration;
            use crate::thread::spawn;
            use self::net::connect;
            fn f() {
                let d = core::time::Duration::ZERO;
                crate::thread::spawn();
                self::net::connect();
                super::sync::Mutex::new(0);
                net::connect();
                thread::spawn();
                let m: std::collections::HashMap<u8, u8> = std::collections::HashMap::new();
                std::env::args();
                a::std::thread::spawn();
            }
        });
    }

    #[test]
    fn renamed_root() {
        let mut file: File = syn::parse2(quote! {
            use std::{thread, fmt};
            fn f() { std::thread::sleep(std::time::Duration::ZERO); thread_local!(static A: u8 = 0); }
        })
        .unwrap();
        Patcher::new("g").visit_file_mut(&mut file);
        assert_eq!(
            file.into_token_stream().to_string(),
            norm(quote! {
                use std::{fmt};
                use ::g::{thread};
                fn f() { ::g::thread::sleep(::g::time::Duration::ZERO); ::g::thread_local!(static A: u8 = 0); }
            })
        );
    }

    #[test]
    fn spans_stay_on_user_tokens() {
        let std_ident = Ident::new("std", Span::call_site());
        let mut path: Path = syn::parse2(quote!(#std_ident::thread::spawn)).unwrap();
        Patcher::new("green").rewrite_path(&mut path);
        assert_eq!(path.segments[0].ident, "green");
        assert_eq!(path.segments[1].ident, "thread");
    }
}

/// A robustness check over real code: `GREEN_MACROS_CORPUS=<dir> cargo test
/// -p green-macros -- --ignored` patches every `.rs` file under `<dir>` (say
/// `~/.cargo/registry/src`) and checks that the rewriter does not panic,
/// that its output parses, and that patching twice changes nothing more.
#[cfg(test)]
mod corpus {
    use super::*;
    use quote::ToTokens;

    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    #[ignore = "needs GREEN_MACROS_CORPUS=<dir of Rust sources>"]
    fn patch_real_code() {
        // Some real files (typenum's generated constants) nest types
        // hundreds deep; syn recurses on them as rustc's own parser does.
        std::thread::Builder::new()
            .stack_size(512 << 20)
            .spawn(patch_all)
            .unwrap()
            .join()
            .unwrap();
    }

    fn patch_all() {
        let dir = std::env::var_os("GREEN_MACROS_CORPUS").expect("set GREEN_MACROS_CORPUS");
        let mut all = Vec::new();
        files(dir.as_ref(), &mut all);
        let (mut parsed, mut changed) = (0, 0);
        for path in &all {
            if std::env::var_os("GREEN_MACROS_CORPUS_VERBOSE").is_some() {
                eprintln!("{}", path.display());
            }
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            let Ok(mut file) = syn::parse_file(&text) else {
                continue;
            };
            parsed += 1;
            let before = file.to_token_stream().to_string();
            Patcher::new("green").visit_file_mut(&mut file);
            let once = file.to_token_stream().to_string();
            let mut again: File = syn::parse_str(&once).unwrap_or_else(|e| {
                panic!("{}: patched output does not parse: {e}", path.display())
            });
            Patcher::new("green").visit_file_mut(&mut again);
            assert_eq!(
                again.to_token_stream().to_string(),
                once,
                "{}: patching is not idempotent",
                path.display()
            );
            changed += usize::from(before != once);
        }
        eprintln!("{parsed} files parsed, {changed} changed by patching");
        assert!(parsed > 0);
    }
}
