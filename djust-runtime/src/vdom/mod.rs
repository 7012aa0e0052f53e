//! The virtual DOM: tree model, builder, HTML serializer, diff and a reference DOM.
//!
//! The `html!` macro builds a [`VTree`] (a flat arena of nodes) through
//! [`VBuilder`]; the runtime keeps the last tree per view and turns the next
//! render into [`Patch`](crate::protocol::Patch)es with [`diff`](mod@diff).
//! [`reference`](mod@reference) applies patches to a plain DOM with the browser client's
//! semantics, for tests.

pub mod builder;
pub mod diff;
pub mod html;
pub mod keyed;
pub mod node;
mod parse;
pub mod reference;

pub use builder::{TreeSizeHint, VBuilder};
pub use diff::{diff, DiffError};
pub use html::{to_html, write_html};
pub use node::{
    Children, ElementHead, ElementTemplate, OwnedHead, StaticNode, TAttr, VElement, VNode, VTree,
};
