//! `#[green::patch]`: check what it is put on, then hand the item to the
//! rewriter (or first to [`crate::file`] for the file-module form).

use std::path::PathBuf;

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::Item;

use crate::attr::{self, Kind};
use crate::entry::with_error;
use crate::file;
use crate::rewrite::Patcher;

/// Expands `#[green::patch]`. `caller` returns the file that holds the
/// attribute (`proc_macro::Span::local_file`), for the file-module form.
pub(crate) fn expand(
    args: TokenStream,
    item: TokenStream,
    caller: impl FnOnce() -> Option<PathBuf>,
) -> TokenStream {
    let options = match attr::parse(Kind::Patch, args) {
        Ok(o) => o,
        Err((e, _)) => return with_error(item, e),
    };
    let mut item: Item = match syn::parse2(item.clone()) {
        Ok(i) => i,
        Err(e) => {
            if let Some(out) = crate_root(&item) {
                return out;
            }
            return with_error(item, e);
        }
    };
    let calling = caller();
    if let Err(e) = check(&mut item, || calling.clone()) {
        return with_error(item.into_token_stream(), e);
    }
    if crate::program::file_has_green_main(calling.as_deref()) {
        // `#[green::main]` patches this item in its copy of the crate; as
        // written it stays std, as the rest of the crate as written is.
        return item.into_token_stream();
    }
    let mut items = vec![item];
    Patcher::new(&options.krate.to_string()).patch_items(&mut items);
    items.iter().map(ToTokens::to_token_stream).collect()
}

/// `#![green::patch]` at the top of `main.rs` or `lib.rs`: rustc (stable)
/// rejects the inner attribute (E0658) but still hands the macro the whole
/// crate, `#[prelude_import]` included, and re-emitting that attribute
/// would add errors about rustc internals. Say what to write instead, and
/// give the crate back without the internal attribute.
fn crate_root(tokens: &TokenStream) -> Option<TokenStream> {
    let file: syn::File = syn::parse2(tokens.clone()).ok()?;
    let is_prelude = |i: &Item| matches!(i, Item::Use(u) if u.attrs.iter().any(|a| a.path().is_ident("prelude_import")));
    if !file.items.iter().any(is_prelude) {
        return None;
    }
    let mut out = TokenStream::new();
    for mut item in file.items {
        if let Item::Use(u) = &mut item
            && u.attrs.iter().any(|a| a.path().is_ident("prelude_import"))
        {
            u.attrs.retain(|a| !a.path().is_ident("prelude_import"));
            u.attrs.push(syn::parse_quote!(#[allow(unused_imports)]));
        }
        item.to_tokens(&mut out);
    }
    let msg = "`#![green::patch]` cannot patch a whole crate on stable Rust (rustc: \
               inner macro attributes are unstable, E0658); remove it and put \
               `#[green::main]` on `fn main` instead: it patches every item of the \
               crate root and of its module files. In a library, put `#[green::patch]` \
               on each module or item that uses std";
    Some(with_error(out, syn::Error::new(Span::call_site(), msg)))
}

/// Rejects items that cannot be patched and loads a file module.
fn check(item: &mut Item, caller: impl FnOnce() -> Option<PathBuf>) -> syn::Result<()> {
    let (span, what) = match item {
        Item::Fn(_)
        | Item::Impl(_)
        | Item::Trait(_)
        | Item::Const(_)
        | Item::Static(_)
        | Item::Use(_)
        | Item::Type(_)
        | Item::Macro(_) => return Ok(()),
        Item::Mod(m) => {
            if m.content.is_none() {
                // Stable rustc reports E0658 for `#[attr] mod m;` and still
                // runs the macro, without the file's items: say what to
                // write instead.
                let (token, ident, semi) = (&m.mod_token, &m.ident, &m.semi);
                return Err(syn::Error::new_spanned(
                    quote::quote!(#token #ident #semi),
                    format!(
                        "`#[green::patch]` cannot see the contents of `mod {0};`; on stable \
                         write `#[green::patch] #[path = \"{0}.rs\"] mod {0} {{}}` instead",
                        m.ident
                    ),
                ));
            }
            let Some(path) = file::take_path_attr(m)? else {
                return Ok(());
            };
            let Some(calling) = caller() else {
                return Err(syn::Error::new(
                    path.span(),
                    "`#[green::patch]` cannot find the file that holds this module, so it \
                     cannot resolve `#[path]`; write the module inline: `mod m { ... }`",
                ));
            };
            let calling = crate::program::absolute(calling);
            let dir = calling.parent().map(PathBuf::from).unwrap_or_default();
            return file::inline(m, &path, &dir);
        }
        Item::Struct(s) => (s.struct_token.span, "a struct"),
        Item::Enum(e) => (e.enum_token.span, "an enum"),
        Item::Union(u) => (u.union_token.span, "a union"),
        Item::ExternCrate(e) => (e.extern_token.span, "an `extern crate`"),
        Item::ForeignMod(f) => (f.abi.extern_token.span, "an `extern` block"),
        Item::TraitAlias(t) => (t.trait_token.span, "a trait alias"),
        _ => (Span::call_site(), "this item"),
    };
    Err(syn::Error::new(
        span,
        format!(
            "`#[green::patch]` cannot be used on {what}; put it on the enclosing `mod`, \
             or on the `fn`, `impl`, `trait`, `const` or `static` that uses std"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn run(args: TokenStream, item: TokenStream) -> String {
        expand(args, item, || None).to_string()
    }

    #[test]
    fn patches_an_inline_module() {
        let out = run(
            quote!(),
            quote! {
                mod m {
                    use std::{thread, collections::HashMap};
                    pub fn f() { thread::sleep(std::time::Duration::ZERO); }
                }
            },
        );
        let want = quote! {
            mod m {
                use std::{collections::HashMap};
                use ::green::{thread};
                pub fn f() { thread::sleep(::green::time::Duration::ZERO); }
            }
        };
        assert_eq!(out, want.to_string());
    }

    #[test]
    fn use_item_may_split() {
        let out = run(
            quote!(crate = "g"),
            quote!(
                pub use std::{net::TcpStream, env};
            ),
        );
        assert_eq!(
            out,
            quote!(
                pub use std::{env};
                pub use ::g::{net::TcpStream};
            )
            .to_string()
        );
    }

    #[test]
    fn rejects_struct_and_names_the_fix() {
        let out = run(
            quote!(),
            quote!(
                struct S {
                    m: std::sync::Mutex<u8>,
                }
            ),
        );
        assert!(out.starts_with("struct S"), "{out}");
        assert!(
            out.contains(
                "`#[green::patch]` cannot be used on a struct; put it on the enclosing `mod`"
            ),
            "{out}"
        );
        let out = run(
            quote!(workers = 1),
            quote!(
                fn f() {}
            ),
        );
        assert!(out.contains("expected one of: `crate`"), "{out}");
    }

    #[test]
    fn file_form_without_a_calling_file() {
        let out = run(
            quote!(),
            quote!(
                #[path = "m.rs"]
                mod m {}
            ),
        );
        assert!(out.contains("cannot find the file"), "{out}");
    }
}
