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
        Err(e) => return with_error(item, e),
    };
    if let Err(e) = check(&mut item, caller) {
        return with_error(item.into_token_stream(), e);
    }
    let mut items = vec![item];
    Patcher::new(&options.krate.to_string()).patch_items(&mut items);
    items.iter().map(ToTokens::to_token_stream).collect()
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
                // Stable rustc rejects `#[attr] mod m;` before we run; this
                // is for compilers that let it through.
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
            let calling = std::env::current_dir()
                .map(|d| d.join(&calling))
                .unwrap_or(calling);
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
                pub use std::{net::TcpStream, io};
            ),
        );
        assert_eq!(
            out,
            quote!(
                pub use std::{io};
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
