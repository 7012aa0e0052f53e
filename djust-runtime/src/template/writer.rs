//! [`TextWriter`]: the only way a value's [`Render`](super::Render) or
//! [`AttrValue`](super::AttrValue) implementation writes into a page.
//!
//! A user type renders by writing *text*: every `&str`, `char` or
//! formatted value it gives the writer is escaped for the place it lands
//! in (element content, a quoted attribute value), or kept raw where the
//! output is escaped later (VDOM text and attribute buffers, which the
//! serialiser escapes and live patches set as text). The writer has no
//! method that writes markup: only the crate's own implementations for
//! [`Html`](super::Html) (a component built by `html!`) can, and they
//! splice markup only into element content, never into an attribute.
//! Nothing outside the crate can construct a writer, so no code path lets
//! a user type put raw markup on the page.

use std::fmt;

use super::html::Html;
use crate::vdom::VBuilder;
use djust_rules::escape::escape_into;

/// Where the text goes.
enum Target<'a> {
    /// Server-side rendering, element content: text escaped, components
    /// written as their markup.
    Content(&'a mut String),
    /// Server-side rendering, a quoted attribute value: everything escaped,
    /// a component's markup too (it is text there).
    Attribute(&'a mut String),
    /// A buffer whose contents are escaped when serialised or are not
    /// markup at all (VDOM attribute values, loop keys, values the style
    /// filter reads): written as is.
    Raw(&'a mut String),
    /// VDOM content: text into the current text run, components as nodes.
    Nodes(&'a mut VBuilder),
}

/// Receives the text of a rendered value: everything written is escaped
/// for where it lands, and there is no way to write markup except an
/// `Html` built by `html!` (see the module docs; the `djust`
/// crate's docs show a `Render` implementation).
pub struct TextWriter<'a> {
    target: Target<'a>,
}

impl<'a> TextWriter<'a> {
    /// Writes into element content of a server-rendered page.
    #[inline(always)]
    pub(crate) fn content(out: &'a mut String) -> Self {
        TextWriter {
            target: Target::Content(out),
        }
    }

    /// Writes into a quoted attribute value of a server-rendered page.
    #[inline(always)]
    pub(crate) fn attribute(out: &'a mut String) -> Self {
        TextWriter {
            target: Target::Attribute(out),
        }
    }

    /// Writes plain text into a buffer escaped later (or never markup).
    #[inline]
    pub(crate) fn raw(out: &'a mut String) -> Self {
        TextWriter {
            target: Target::Raw(out),
        }
    }

    /// Writes into a VDOM being built.
    #[inline]
    pub(crate) fn nodes(builder: &'a mut VBuilder) -> Self {
        TextWriter {
            target: Target::Nodes(builder),
        }
    }

    /// Appends text (escaped if it lands in a page).
    #[inline(always)]
    pub fn push_str(&mut self, text: &str) {
        match &mut self.target {
            Target::Content(out) | Target::Attribute(out) => escape_into(text, out),
            Target::Raw(out) => out.push_str(text),
            Target::Nodes(builder) => builder.text_buffer().push_str(text),
        }
    }

    /// Appends one character (escaped if it lands in a page).
    #[inline]
    pub fn push(&mut self, c: char) {
        let mut buffer = [0u8; 4];
        self.push_str(c.encode_utf8(&mut buffer));
    }

    /// Appends the `Display` text of `value` (escaped if it lands in a page).
    pub fn push_display(&mut self, value: &(impl fmt::Display + ?Sized)) {
        // Writing into a writer never fails; a failing `Display` impl only
        // cuts its own text short.
        let _ = fmt::write(self, format_args!("{value}"));
    }

    /// The buffer the text goes to, for text the crate knows needs no
    /// escaping (digits, `true`): skips the escaper's scan. Only append.
    #[inline(always)]
    pub(crate) fn escape_free_buffer(&mut self) -> &mut String {
        match &mut self.target {
            Target::Content(out) | Target::Attribute(out) | Target::Raw(out) => out,
            Target::Nodes(builder) => builder.text_buffer(),
        }
    }

    /// Splices a component built by `html!`: markup in element content,
    /// escaped text in an attribute.
    pub(crate) fn push_component(&mut self, html: &Html) {
        match &mut self.target {
            Target::Content(out) => html.write_markup(out),
            Target::Attribute(out) => escape_into(&html.to_string(), out),
            Target::Raw(out) => html.write_markup(out),
            Target::Nodes(builder) => html.push_nodes(builder),
        }
    }
}

impl fmt::Write for TextWriter<'_> {
    #[inline]
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.push_str(text);
        Ok(())
    }
}

impl fmt::Debug for TextWriter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = match self.target {
            Target::Content(_) => "content",
            Target::Attribute(_) => "attribute",
            Target::Raw(_) => "raw",
            Target::Nodes(_) => "nodes",
        };
        f.debug_struct("TextWriter")
            .field("target", &target)
            .finish()
    }
}
