//! [`Private<T>`]: server-only state that no template can render.
//!
//! A view's fields whose name starts with `_` hold what must never reach
//! the client (a database handle, a token, a password hash). The `html!`
//! macro refuses `self._field` in a template, but that check is syntactic:
//! `let key = &self._key;` before the template, or a getter returning the
//! field, would render it. `Private<T>` makes it a property of the type: it
//! implements none of the traits a value needs to reach a page or a wire
//! (`Render`, `AttrValue`, `UrlValue`, `MarkupValue`, `Display`,
//! `Serialize`) and has no `Deref`, `AsRef` or `Borrow`, so every use goes
//! through the explicit [`Private::expose`]. Its `Debug` prints
//! `Private(..)`, so a logged or debug-printed view shows no secret.
//!
//! `#[live_view]` requires it: every `_` field the view's `impl` block uses
//! (`self._db`, `Self { _db: .. }`) must be a `Private<_>`, or the build
//! fails on that field.

use std::fmt;

/// A value that never renders: see the module docs.
///
/// ```
/// use djust_runtime::template::Private;
///
/// let token = Private::new(String::from("s3cr3t"));
/// assert_eq!(format!("{token:?}"), "Private(..)");
/// assert_eq!(token.expose().len(), 6);
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Private<T>(T);

impl<T> Private<T> {
    /// Wraps `value`.
    pub const fn new(value: T) -> Self {
        Private(value)
    }

    /// The value, for server-side code. Rendering what this returns (or
    /// anything derived from it) is an explicit decision, visible in review.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// The value, mutably.
    pub fn expose_mut(&mut self) -> &mut T {
        &mut self.0
    }

    /// Unwraps the value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> From<T> for Private<T> {
    fn from(value: T) -> Self {
        Private(value)
    }
}

impl<T> fmt::Debug for Private<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Private(..)")
    }
}

/// Implemented only by [`Private`]: what `#[live_view]` asserts about every
/// `_` field the view's `impl` block uses.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not `djust::Private<_>`: view fields whose name starts with `_` must be wrapped in `Private`",
    label = "this `_` field is a `{Self}`",
    note = "`_` fields are server-only; `Private<T>` has no Render, Display, Serialize or Deref, so no template, getter or `let` can render it",
    note = "declare the field as `_name: djust::Private<T>`, build it with `Private::new(value)` and read it with `.expose()`"
)]
pub trait PrivateField: sealed::Sealed {}

impl<T> PrivateField for Private<T> {}

mod sealed {
    pub trait Sealed {}
    impl<T> Sealed for super::Private<T> {}
}

/// The check `#[live_view]` generates for each `_` field it sees used.
#[inline]
pub(crate) fn assert_private<T: PrivateField + ?Sized>(_field: &T) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_value_and_expose_reaches_it() {
        let mut secret = Private::new(vec![1, 2, 3]);
        assert_eq!(format!("{secret:?} {secret:#?}"), "Private(..) Private(..)");
        secret.expose_mut().push(4);
        assert_eq!(secret.expose(), &[1, 2, 3, 4]);
        assert_eq!(Private::from(7).into_inner(), 7);
        assert_private(&secret);
    }
}
