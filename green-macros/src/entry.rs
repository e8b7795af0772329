//! `#[green::main]` and `#[green::test]`: patch the function, then run its
//! body as the root greenlet of a runtime.
//!
//! ```ignore
//! #[green::main(workers = 2, stack_size = 65536)]
//! fn main() -> Result<(), E> { body }
//! ```
//!
//! expands to
//!
//! ```ignore
//! fn main() -> Result<(), E> {
//!     ::green::__private::Builder::new()
//!         .workers(2)
//!         .stack_size(65536)
//!         .run(move || -> Result<(), E> { patched body })
//! }
//! ```

use std::path::PathBuf;

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{ItemFn, ReturnType, Type};

use crate::attr::{self, Kind};
use crate::program;
use crate::rewrite::Patcher;

/// Expands `#[green::main]` (`kind` is [`Kind::Main`]) or `#[green::test]`.
///
/// `caller` returns the file that holds the attribute; when it is the
/// crate root and `f` its `main`, the whole crate is patched
/// ([`crate::program`]).
pub(crate) fn expand(
    kind: Kind,
    args: TokenStream,
    item: TokenStream,
    caller: impl FnOnce() -> Option<PathBuf>,
) -> TokenStream {
    let mut f: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let what = if kind == Kind::Main {
                "a `fn` (usually `fn main`)"
            } else {
                "a test `fn`"
            };
            let msg = format!("`{}` can only be used on {what}", kind.attr());
            return with_error(item, syn::Error::new(e.span(), msg));
        }
    };
    let mut errors: Option<syn::Error> = None;
    let mut push = |e: syn::Error| match &mut errors {
        Some(all) => all.combine(e),
        None => errors = Some(e),
    };
    let options = match attr::parse(kind, args) {
        Ok(o) => o,
        Err((e, o)) => {
            push(e);
            o
        }
    };
    if let Some(token) = f.sig.asyncness.take() {
        push(syn::Error::new(
            token.span,
            format!(
                "`{}` cannot be used on an `async fn`; green runs blocking code: remove `async`",
                kind.attr()
            ),
        ));
    }
    // `main` and tests are called without arguments; another fn under
    // `#[green::main]` may take some (the body's closure moves them in).
    let no_args = kind == Kind::Test || f.sig.ident == "main";
    if no_args && !f.sig.inputs.is_empty() {
        let msg = if kind == Kind::Main {
            "`main` cannot take arguments under `#[green::main]`; remove them \
             (read arguments with `std::env::args()`)"
        } else {
            "a test cannot take arguments under `#[green::test]`; remove them"
        };
        push(syn::Error::new(f.sig.inputs.span(), msg));
    }
    if let Some(errors) = errors {
        // Emit the fn (without `async`, so rustc adds no second error for
        // it) beside the error, so the rest of the crate still checks.
        if kind == Kind::Test && !has_test_attr(&f) {
            f.attrs
                .push(syn::parse_quote!(#[::core::prelude::v1::test]));
        }
        return with_error(f.into_token_stream(), errors);
    }

    let root = &options.krate;
    let mut caller = Some(caller);
    let mut caller = move || caller.take().and_then(|c| c());
    let program = match kind {
        Kind::Main => program::load(caller(), &f),
        _ => None,
    };
    let original = program.is_some().then(|| f.clone());
    Patcher::new(&root.to_string()).visit_item_fn_mut(&mut f);
    let shadowing = match kind {
        Kind::Test => program::shadowing_uses(&root.to_string(), caller(), &f.sig.ident),
        _ => Vec::new(),
    };
    if !shadowing.is_empty() {
        f.block.stmts.splice(0..0, shadowing);
    }

    let workers = options.workers.map(|w| quote!(.workers(#w)));
    let stack_size = options.stack_size.map(|s| quote!(.stack_size(#s)));
    let ret = match &f.sig.output {
        ReturnType::Type(arrow, ty) if !matches!(**ty, Type::ImplTrait(_)) => quote!(#arrow #ty),
        _ => quote!(),
    };
    let stmts = &f.block.stmts;
    let span = Span::call_site();
    let body = quote_spanned! {span=>
        {
            ::#root::__private::Builder::new()
                #workers
                #stack_size
                .run(move || #ret { #(#stmts)* })
        }
    };
    let mut block: syn::Block = syn::parse2(body).expect("the generated body parses");
    block.brace_token = f.block.brace_token;
    *f.block = block;
    if kind == Kind::Test && !has_test_attr(&f) {
        f.attrs
            .insert(0, syn::parse_quote!(#[::core::prelude::v1::test]));
    }
    match (program, original) {
        (Some(Ok((file, parsed))), Some(original)) => {
            match program::expand(&root.to_string(), &file, parsed, &original, f.clone()) {
                Ok(tokens) => tokens,
                Err(e) => with_error(f.into_token_stream(), e),
            }
        }
        (Some(Err(e)), _) => with_error(f.into_token_stream(), e),
        _ => f.into_token_stream(),
    }
}

/// Whether the user already wrote `#[test]` (or `#[core::prelude::v1::test]`).
fn has_test_attr(f: &ItemFn) -> bool {
    f.attrs.iter().any(|a| {
        let p = a.path();
        p.segments.last().is_some_and(|s| s.ident == "test")
            && (p.segments.len() == 1
                || p.segments
                    .first()
                    .is_some_and(|s| s.ident == "core" || s.ident == "std"))
    })
}

/// The item followed by the `compile_error!`s of `error`, as tokio-macros'
/// `token_stream_with_error` does.
pub(crate) fn with_error(mut tokens: TokenStream, error: syn::Error) -> TokenStream {
    tokens.extend(error.into_compile_error());
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(kind: Kind, args: TokenStream, item: TokenStream) -> String {
        expand(kind, args, item, || None).to_string()
    }

    /// Prints tokens as syn does, so that `>>` and `> >` compare equal.
    fn norm(t: TokenStream) -> String {
        syn::parse2::<ItemFn>(t)
            .unwrap()
            .into_token_stream()
            .to_string()
    }

    #[test]
    fn main_expands_to_builder_run() {
        let out = expand_str(
            Kind::Main,
            quote!(workers = 2, stack_size = 65536),
            quote! {
                /// Docs.
                pub fn main() -> Result<(), std::sync::mpsc::RecvError> {
                    use std::thread;
                    thread::spawn(|| ()).join().unwrap();
                    Ok(())
                }
            },
        );
        let want = norm(quote! {
            #[doc = r" Docs."]
            pub fn main() -> Result<(), ::green::sync::mpsc::RecvError> {
                ::green::__private::Builder::new()
                    .workers(2)
                    .stack_size(65536)
                    .run(move || -> Result<(), ::green::sync::mpsc::RecvError> {
                        use ::green::thread;
                        thread::spawn(|| ()).join().unwrap();
                        Ok(())
                    })
            }
        });
        assert_eq!(out, want);
    }

    #[test]
    fn main_without_options_and_renamed_crate() {
        let out = expand_str(
            Kind::Main,
            quote!(crate = "g"),
            quote!(
                fn main() {
                    std::thread::yield_now();
                }
            ),
        );
        let want = norm(quote! {
            fn main() {
                ::g::__private::Builder::new().run(move || { ::g::thread::yield_now(); })
            }
        });
        assert_eq!(out, want);
    }

    #[test]
    fn test_adds_test_attr_once() {
        let out = expand_str(
            Kind::Test,
            quote!(),
            quote!(
                #[should_panic]
                fn t() {
                    panic!()
                }
            ),
        );
        assert!(
            out.starts_with("# [:: core :: prelude :: v1 :: test] # [should_panic] fn t ()"),
            "{out}"
        );
        let out = expand_str(
            Kind::Test,
            quote!(),
            quote!(
                #[test]
                #[ignore]
                fn t() {}
            ),
        );
        assert_eq!(out.matches("test]").count(), 1, "{out}");
        assert!(out.contains("# [ignore]"), "{out}");
    }

    #[test]
    fn errors_keep_the_item() {
        let out = expand_str(
            Kind::Main,
            quote!(),
            quote!(
                async fn main() {}
            ),
        );
        assert!(out.starts_with("fn main () { }"), "{out}");
        assert!(
            out.contains(
                "cannot be used on an `async fn`; green runs blocking code: remove `async`"
            ),
            "{out}"
        );

        let out = expand_str(
            Kind::Main,
            quote!(),
            quote!(
                fn main(x: u8) {}
            ),
        );
        assert!(out.contains("`main` cannot take arguments"), "{out}");
        assert!(out.starts_with("fn main (x : u8) { }"), "{out}");

        let out = expand_str(
            Kind::Main,
            quote!(workers = 0),
            quote!(
                fn main() {}
            ),
        );
        assert!(out.contains("`workers` must be at least 1"), "{out}");

        let out = expand_str(
            Kind::Test,
            quote!(threads = 1),
            quote!(
                fn t() {}
            ),
        );
        assert!(
            out.contains("unknown option `threads` in `#[green::test]`"),
            "{out}"
        );
        assert!(out.contains("test]"), "a test fn is still emitted: {out}");

        let out = expand_str(
            Kind::Main,
            quote!(),
            quote!(
                struct S;
            ),
        );
        assert!(out.starts_with("struct S ;"), "{out}");
        assert!(
            out.contains("can only be used on a `fn` (usually `fn main`)"),
            "{out}"
        );
    }

    #[test]
    fn other_names_are_allowed() {
        let out = expand_str(
            Kind::Main,
            quote!(),
            quote!(
                fn serve() -> u8 {
                    1
                }
            ),
        );
        assert!(out.contains("run (move | | -> u8 { 1 })"), "{out}");
        let out = expand_str(
            Kind::Main,
            quote!(),
            quote!(
                fn serve(n: u8) -> u8 {
                    n
                }
            ),
        );
        assert!(out.contains("run (move | | -> u8 { n })"), "{out}");
        let out = expand_str(
            Kind::Main,
            quote!(),
            quote!(
                fn serve<T: Send>(t: T) -> T {
                    t
                }
            ),
        );
        assert!(out.contains("fn serve < T : Send > (t : T) -> T"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
        let out = expand_str(
            Kind::Test,
            quote!(),
            quote!(
                fn t(n: u8) {}
            ),
        );
        assert!(out.contains("a test cannot take arguments"), "{out}");
    }
}
