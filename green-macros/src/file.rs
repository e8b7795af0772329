//! The file-module form of `#[green::patch]`, which works on stable:
//!
//! ```ignore
//! #[green::patch]
//! #[path = "net_code.rs"]
//! mod net_code {}
//! ```
//!
//! `#[green::patch] mod m;` and an inner `#![green::patch]` are rejected by
//! stable rustc (E0658: the macro cannot be given the file's contents).
//! Instead the macro is given an
//! empty inline module with a `#[path]`, relative to the directory of the
//! file that holds the attribute (found with the stable
//! `proc_macro::Span::local_file`). It reads and parses that file, inlines
//! every `mod x;` it declares (with rustc's rules for where `x` lives), and
//! emits one inline module that the rewriter then patches. Each file read
//! is also named in an `include_bytes!`, so cargo rebuilds when it changes.
//!
//! Tokens read from a file carry the attribute's span, so a compiler error
//! inside the file points at the attribute.

use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;
use syn::{Attribute, Expr, ExprLit, Item, ItemMod, Lit, LitStr, Meta, token};

/// If `m` is the file-module form (an empty inline module with a `#[path]`),
/// returns the `#[path]` literal and removes the attribute.
pub(crate) fn take_path_attr(m: &mut ItemMod) -> syn::Result<Option<LitStr>> {
    let empty = matches!(&m.content, Some((_, items)) if items.is_empty());
    let Some(pos) = m.attrs.iter().position(|a| a.path().is_ident("path")) else {
        return Ok(None);
    };
    if !empty {
        return Ok(None);
    }
    let attr = m.attrs.remove(pos);
    path_value(&attr).map(Some)
}

fn path_value(attr: &Attribute) -> syn::Result<LitStr> {
    match &attr.meta {
        Meta::NameValue(nv) => match &nv.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok(s.clone()),
            other => Err(syn::Error::new_spanned(
                other,
                "`#[path]` expects a string literal, e.g. `#[path = \"net_code.rs\"]`",
            )),
        },
        _ => Err(syn::Error::new_spanned(
            attr,
            "`#[path]` expects a string literal, e.g. `#[path = \"net_code.rs\"]`",
        )),
    }
}

/// Fills the empty module `m` with the items of `caller_dir/<path>`,
/// inlining its file modules, plus one `include_bytes!` per file read.
pub(crate) fn inline(m: &mut ItemMod, path: &LitStr, caller_dir: &Path) -> syn::Result<()> {
    let file = caller_dir.join(path.value());
    let mut loader = Loader {
        caller_dir,
        tracked: Vec::new(),
    };
    let (attrs, mut items) = loader.read(&file, path.span()).map_err(|e| {
        syn::Error::new(
            path.span(),
            format!(
                "{e}; the `#[path]` of `#[green::patch]` is relative to the directory of \
                 the file that holds the attribute"
            ),
        )
    })?;
    let dir = file.parent().unwrap_or(Path::new("."));
    loader.resolve(&mut items, dir, dir)?;
    let mut content = Vec::with_capacity(items.len() + loader.tracked.len());
    for path in &loader.tracked {
        content.push(track(path));
    }
    content.extend(items);
    m.attrs.extend(attrs);
    let brace = match &m.content {
        Some((brace, _)) => *brace,
        None => token::Brace::default(),
    };
    m.content = Some((brace, content));
    Ok(())
}

/// Inlines every `mod x;` in `items`, the items of a crate root file in
/// `dir` (whose children live beside it), as rustc would find them. A
/// module whose file cannot be read but that carries a `#[cfg]` is left as
/// it is: rustc does not load the file of a module that is configured out.
pub(crate) fn inline_file_modules(items: &mut [Item], dir: &Path) -> syn::Result<()> {
    let mut loader = Loader {
        caller_dir: dir,
        tracked: Vec::new(),
    };
    loader.resolve(items, dir, dir)
}

/// Reads module files and remembers them for `include_bytes!`.
struct Loader<'a> {
    /// Paths in messages are shown relative to this directory.
    caller_dir: &'a Path,
    /// Every file read, absolute.
    tracked: Vec<PathBuf>,
}

impl Loader<'_> {
    /// Reads and parses one module file.
    fn read(&mut self, file: &Path, span: Span) -> syn::Result<(Vec<Attribute>, Vec<Item>)> {
        let shown = file.strip_prefix(self.caller_dir).unwrap_or(file).display();
        let text = std::fs::read_to_string(file)
            .map_err(|e| syn::Error::new(span, format!("cannot read `{shown}`: {e}")))?;
        let tokens: TokenStream = text
            .parse()
            .map_err(|e| syn::Error::new(span, format!("cannot lex `{shown}`: {e}")))?;
        let parsed: syn::File = syn::parse2(tokens).map_err(|e| {
            syn::Error::new(
                span,
                format!(
                    "cannot parse `{shown}`: {e}; to see the line, declare the module for a moment \
                     as a plain `mod` without `#[green::patch]`"
                ),
            )
        })?;
        self.tracked
            .push(std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned()));
        Ok((parsed.attrs, parsed.items))
    }

    /// Inlines every `mod x;` in `items`. `path_base` is where a `#[path]`
    /// is relative to; `children` is where a plain `mod x;` looks for
    /// `x.rs` or `x/mod.rs` (rustc's rules, a `#[path]` file counting as a
    /// `mod.rs` file).
    fn resolve(
        &mut self,
        items: &mut [Item],
        path_base: &Path,
        children: &Path,
    ) -> syn::Result<()> {
        for item in items {
            let Item::Mod(m) = item else { continue };
            let name = m.ident.to_string();
            let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
            let child_dir = children.join(&name);
            if let Some((_, inner)) = &mut m.content {
                self.resolve(inner, &child_dir, &child_dir)?;
                continue;
            }
            let span = m.ident.span();
            let (file, grandchildren) =
                if let Some(pos) = m.attrs.iter().position(|a| a.path().is_ident("path")) {
                    let lit = path_value(&m.attrs.remove(pos))?;
                    let file = path_base.join(lit.value());
                    let dir = file.parent().unwrap_or(Path::new(".")).to_owned();
                    (file, dir)
                } else {
                    let flat = children.join(format!("{name}.rs"));
                    let nested = child_dir.join("mod.rs");
                    let file = if flat.exists() || !nested.exists() {
                        flat
                    } else {
                        nested
                    };
                    (file, child_dir)
                };
            let has_cfg = m.attrs.iter().any(|a| a.path().is_ident("cfg"));
            let (attrs, mut inner) = match self.read(&file, span) {
                Ok(read) => read,
                Err(_) if has_cfg && !file.exists() => continue,
                Err(e) => return Err(e),
            };
            self.resolve(&mut inner, &grandchildren, &grandchildren)?;
            m.attrs.extend(attrs);
            m.semi = None;
            m.content = Some((token::Brace(span), inner));
        }
        Ok(())
    }
}

/// `const _: &[u8] = include_bytes!("<file>");` so that cargo rebuilds the
/// crate when a patched file changes.
fn track(file: &Path) -> Item {
    let span = Span::call_site();
    let lit = LitStr::new(&file.to_string_lossy(), span);
    syn::parse2(quote_spanned! {span=>
        const _: &[u8] = ::core::include_bytes!(#lit);
    })
    .expect("a const item parses")
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{ToTokens, quote};

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("green-macros-file-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn inlines_file_and_nested_modules() {
        let dir = scratch("nested");
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::create_dir_all(dir.join("b")).unwrap();
        std::fs::write(
            dir.join("net_code.rs"),
            "//! docs\nuse std::thread;\nmod a;\nmod b { mod c; }\n#[path = \"other.rs\"] mod d;\n",
        )
        .unwrap();
        // A `#[path]` file counts as a mod.rs file: its children live beside it.
        std::fs::write(dir.join("a.rs"), "pub fn a() {}\nmod deep;\n").unwrap();
        // `a.rs` is not a mod.rs file: its children live in `a/`.
        std::fs::write(dir.join("a").join("deep.rs"), "fn x() {}").unwrap();
        std::fs::write(dir.join("b").join("c.rs"), "fn c() {}").unwrap();
        std::fs::write(dir.join("other.rs"), "fn d() {}").unwrap();

        let mut m: ItemMod = syn::parse2(quote!(
            #[path = "net_code.rs"]
            pub mod net_code {}
        ))
        .unwrap();
        let lit = take_path_attr(&mut m).unwrap().unwrap();
        inline(&mut m, &lit, &dir).unwrap();
        let out = m.into_token_stream().to_string();
        assert!(out.contains("# ! [doc = \" docs\"]"), "{out}");
        assert!(out.contains("pub mod net_code"), "{out}");
        assert!(!out.contains("# [path"), "{out}");
        for f in ["net_code.rs", "a.rs", "deep.rs", "c.rs", "other.rs"] {
            assert!(out.contains(f), "tracks {f}: {out}");
        }
        assert!(out.contains("include_bytes"), "{out}");
        assert!(
            out.contains("mod a { pub fn a () { } mod deep { fn x () { } } }"),
            "{out}"
        );
        assert!(out.contains("mod b { mod c { fn c () { } } }"), "{out}");
        assert!(out.contains("mod d { fn d () { } }"), "{out}");
    }

    #[test]
    fn mod_rs_and_path_inside_inline_modules() {
        let dir = scratch("modrs");
        std::fs::create_dir_all(dir.join("sub/x")).unwrap();
        std::fs::create_dir_all(dir.join("sub/a")).unwrap();
        std::fs::write(
            dir.join("sub/root.rs"),
            "mod x;\nmod a { #[path = \"p.rs\"] mod q; }\n",
        )
        .unwrap();
        // `x/mod.rs` when there is no `x.rs`; a mod.rs file's children are beside it.
        std::fs::write(dir.join("sub/x/mod.rs"), "mod y;").unwrap();
        std::fs::write(dir.join("sub/x/y.rs"), "fn y() {}").unwrap();
        // A `#[path]` inside inline `mod a` is relative to `a/`.
        std::fs::write(dir.join("sub/a/p.rs"), "fn p() {}").unwrap();

        let mut m: ItemMod = syn::parse2(quote!(
            #[path = "sub/root.rs"]
            mod root {}
        ))
        .unwrap();
        let lit = take_path_attr(&mut m).unwrap().unwrap();
        inline(&mut m, &lit, &dir).unwrap();
        let out = m.into_token_stream().to_string();
        assert!(out.contains("mod x { mod y { fn y () { } } }"), "{out}");
        assert!(out.contains("mod a { mod q { fn p () { } } }"), "{out}");
    }

    #[test]
    fn parse_errors_name_the_file() {
        let dir = scratch("syntax");
        std::fs::write(dir.join("bad.rs"), "fn f( {").unwrap();
        let mut m: ItemMod = syn::parse2(quote!(
            #[path = "bad.rs"]
            mod m {}
        ))
        .unwrap();
        let lit = take_path_attr(&mut m).unwrap().unwrap();
        let err = inline(&mut m, &lit, &dir).unwrap_err().to_string();
        assert!(err.contains("`bad.rs`"), "{err}");
    }

    #[test]
    fn not_the_file_form() {
        let mut m: ItemMod = syn::parse2(quote!(
            mod m {
                fn f() {}
            }
        ))
        .unwrap();
        assert!(take_path_attr(&mut m).unwrap().is_none());
        let mut m: ItemMod = syn::parse2(quote!(
            #[path = "x"]
            mod m {
                fn f() {}
            }
        ))
        .unwrap();
        assert!(take_path_attr(&mut m).unwrap().is_none());
    }

    #[test]
    fn missing_file_names_the_directory() {
        let dir = scratch("missing");
        let mut m: ItemMod = syn::parse2(quote!(
            #[path = "nope.rs"]
            mod m {}
        ))
        .unwrap();
        let lit = take_path_attr(&mut m).unwrap().unwrap();
        let err = inline(&mut m, &lit, &dir).unwrap_err().to_string();
        assert!(err.contains("cannot read"), "{err}");
        assert!(err.contains("relative to the directory"), "{err}");
    }
}
