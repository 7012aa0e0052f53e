//! Templates: the `Html` value, escaping by context, and the URL/style filters.

pub mod escape;
pub mod filters;
