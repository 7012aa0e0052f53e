//! Error accumulator shared by every macro (serde_derive's `Ctxt` pattern).
//!
//! Parsing and checking push every problem here with its span instead of
//! stopping at the first, so one compile shows all of a template's mistakes.
//! [`Ctxt::check`] must be called before the context is dropped; forgetting
//! is a bug in the macro and panics (a drop bomb), so no error can be lost.

use std::cell::RefCell;
use std::fmt::Display;
use std::thread;

use proc_macro2::Span;
use quote::ToTokens;

/// Collects spanned errors during one macro expansion.
pub struct Ctxt {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    /// A new, empty context.
    pub fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Records an error spanning the tokens of `tokens`.
    pub fn error_spanned_by<A: ToTokens, T: Display>(&self, tokens: A, message: T) {
        self.push(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// Records an error at `span`.
    pub fn error_at<T: Display>(&self, span: Span, message: T) {
        self.push(syn::Error::new(span, message));
    }

    /// Records an error produced by syn.
    pub fn syn_error(&self, error: syn::Error) {
        self.push(error);
    }

    fn push(&self, error: syn::Error) {
        if let Some(errors) = self.errors.borrow_mut().as_mut() {
            // The same token can trip two checks; report each place once.
            let text = error.to_string();
            let start = format!("{:?}", error.span());
            let duplicate = errors
                .iter()
                .any(|seen| seen.to_string() == text && format!("{:?}", seen.span()) == start);
            if !duplicate {
                errors.push(error);
            }
        }
    }

    /// Consumes the context: all recorded errors combined into one, if any.
    pub fn check(self) -> syn::Result<()> {
        let errors = self.errors.borrow_mut().take().unwrap_or_default();
        let mut iter = errors.into_iter();
        match iter.next() {
            None => Ok(()),
            Some(mut combined) => {
                for rest in iter {
                    combined.combine(rest);
                }
                Err(combined)
            }
        }
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !thread::panicking() && self.errors.borrow().is_some() {
            panic!("djust-macros bug: Ctxt dropped without calling check()");
        }
    }
}
