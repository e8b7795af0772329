//! Parsing of the attribute options:
//! `#[green::main(workers = 4, stack_size = 65536, crate = "green")]`,
//! the same for `#[green::test]`, and `#[green::patch(crate = "green")]`.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::{Ident, LitInt, LitStr};

/// The smallest greenlet stack `stack_size` accepts, in bytes.
pub(crate) const MIN_STACK_SIZE: usize = 16 * 1024;

/// Which attribute the options belong to; decides the valid options and
/// names the attribute in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `#[green::main]`
    Main,
    /// `#[green::test]`
    Test,
    /// `#[green::patch]`
    Patch,
}

impl Kind {
    /// The attribute as a user writes it, for messages.
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[green::main]",
            Kind::Test => "#[green::test]",
            Kind::Patch => "#[green::patch]",
        }
    }

    fn options(self) -> &'static [&'static str] {
        match self {
            Kind::Main | Kind::Test => &["workers", "stack_size", "crate"],
            Kind::Patch => &["crate"],
        }
    }
}

/// The parsed options.
#[derive(Debug)]
pub(crate) struct Options {
    /// `workers = N`: the number of hubs (OS threads), at least 1.
    pub(crate) workers: Option<LitInt>,
    /// `stack_size = N`: the greenlet stack size in bytes.
    pub(crate) stack_size: Option<LitInt>,
    /// `crate = "name"`: the name under which the user depends on green.
    pub(crate) krate: Ident,
}

impl Options {
    fn new() -> Self {
        Options {
            workers: None,
            stack_size: None,
            krate: Ident::new("green", Span::call_site()),
        }
    }
}

/// Parses the options of `kind`. On error, returns the error and the
/// options parsed before it, so that the item can still be emitted.
pub(crate) fn parse(kind: Kind, args: TokenStream) -> Result<Options, (syn::Error, Options)> {
    let mut options = Options::new();
    let mut krate_seen = false;
    let parser = syn::meta::parser(|meta| {
        let valid = kind.options();
        let name = meta.path.get_ident().map(Ident::to_string);
        match name.as_deref() {
            Some("workers") if valid.contains(&"workers") => {
                let lit = int(kind, &meta, "workers", options.workers.is_some())?;
                let n: usize = lit.base10_parse()?;
                if n == 0 {
                    return Err(syn::Error::new(
                        lit.span(),
                        format!(
                            "`workers` must be at least 1 in `{}`; use `workers = 1` for one hub",
                            kind.attr()
                        ),
                    ));
                }
                options.workers = Some(lit);
                Ok(())
            }
            Some("stack_size") if valid.contains(&"stack_size") => {
                let lit = int(kind, &meta, "stack_size", options.stack_size.is_some())?;
                let n: usize = lit.base10_parse()?;
                if n < MIN_STACK_SIZE {
                    return Err(syn::Error::new(
                        lit.span(),
                        format!(
                            "`stack_size` must be at least {MIN_STACK_SIZE} bytes (16 KiB) in `{}`; \
                             use `stack_size = {MIN_STACK_SIZE}` or more",
                            kind.attr()
                        ),
                    ));
                }
                options.stack_size = Some(lit);
                Ok(())
            }
            Some("crate") => {
                if krate_seen {
                    return Err(meta.error(format!(
                        "duplicate option `crate` in `{}`; give it once",
                        kind.attr()
                    )));
                }
                krate_seen = true;
                let lit: LitStr = meta.value()?.parse().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        format!(
                            "`crate` expects a string literal in `{}`, e.g. `crate = \"green\"`",
                            kind.attr()
                        ),
                    )
                })?;
                options.krate = lit.parse::<Ident>().map_err(|_| {
                    syn::Error::new(
                        lit.span(),
                        format!(
                            "`crate` must name the green crate as your Cargo.toml does, \
                             e.g. `crate = \"green\"`; `{}` is not a crate name",
                            lit.value()
                        ),
                    )
                })?;
                Ok(())
            }
            _ => {
                let shown = name.unwrap_or_else(|| {
                    let p = &meta.path;
                    quote::quote!(#p).to_string().replace(' ', "")
                });
                let expected = valid
                    .iter()
                    .map(|o| format!("`{o}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                Err(meta.error(format!(
                    "unknown option `{shown}` in `{}`; expected one of: {expected}",
                    kind.attr()
                )))
            }
        }
    });
    match syn::parse::Parser::parse2(parser, args) {
        Ok(()) => Ok(options),
        Err(e) => Err((e, options)),
    }
}

fn int(kind: Kind, meta: &ParseNestedMeta<'_>, name: &str, seen: bool) -> syn::Result<LitInt> {
    if seen {
        return Err(meta.error(format!(
            "duplicate option `{name}` in `{}`; give it once",
            kind.attr()
        )));
    }
    let value = meta.value()?;
    let span = value.span();
    value.parse::<LitInt>().map_err(|_| {
        syn::Error::new(
            span,
            format!(
                "`{name}` expects an integer literal in `{}`, e.g. `{name} = {}`",
                kind.attr(),
                if name == "workers" { "4" } else { "65536" }
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn err(kind: Kind, args: TokenStream) -> String {
        parse(kind, args).expect_err("an error").0.to_string()
    }

    #[test]
    fn all_options() {
        let o = parse(
            Kind::Main,
            quote!(workers = 2, stack_size = 65536, crate = "g"),
        )
        .unwrap();
        assert_eq!(o.workers.unwrap().base10_digits(), "2");
        assert_eq!(o.stack_size.unwrap().base10_digits(), "65536");
        assert_eq!(o.krate, "g");
        let o = parse(Kind::Test, quote!()).unwrap();
        assert!(o.workers.is_none() && o.stack_size.is_none());
        assert_eq!(o.krate, "green");
        assert_eq!(parse(Kind::Patch, quote!(crate = "g")).unwrap().krate, "g");
    }

    #[test]
    fn errors_name_the_fix() {
        assert_eq!(
            err(Kind::Main, quote!(threads = 2)),
            "unknown option `threads` in `#[green::main]`; expected one of: `workers`, `stack_size`, `crate`"
        );
        assert_eq!(
            err(Kind::Patch, quote!(workers = 2)),
            "unknown option `workers` in `#[green::patch]`; expected one of: `crate`"
        );
        assert!(err(Kind::Main, quote!(workers = 0)).contains("at least 1"));
        assert!(err(Kind::Main, quote!(workers = "2")).contains("integer literal"));
        assert!(err(Kind::Test, quote!(stack_size = 4096)).contains("at least 16384"));
        assert!(err(Kind::Main, quote!(workers = 1, workers = 2)).contains("duplicate"));
        assert!(err(Kind::Main, quote!(crate = 1)).contains("string literal"));
        assert!(err(Kind::Main, quote!(crate = "a b")).contains("not a crate name"));
    }
}
