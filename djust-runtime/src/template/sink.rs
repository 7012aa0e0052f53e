//! The output of one `html!` expansion: markup or VDOM nodes, chosen once
//! when the expansion starts (`mode`), written by one body.
//!
//! `html!` walks its template once and emits one body that calls a
//! [`Sink`]; every user expression appears once in the expansion, so a
//! splice holding another `html!` costs the inner template once, not once
//! per backend (nested templates compile in time linear in their size).
//! Static parts come as [`Segment`]s: the markup server-side rendering
//! writes (adjacent static text merged into one string) together with the
//! operations that build the same part of the VDOM, so serialising the
//! VDOM gives byte-identical HTML.

use std::borrow::Cow;

use super::filters::{filter_srcset, filter_url, filter_url_list};
use super::html::{Html, SizeHint};
use super::render::{self, AttrValue, Render, UrlValue};
use super::safe::{self, MarkupValue, SafeHtml};
use crate::template::escape::escape_into;
use crate::vdom::{ElementTemplate, StaticNode, TreeSizeHint, VBuilder};

/// One step building static VDOM.
pub enum Op {
    /// Opens an element (its dynamic attributes are set next).
    Open(&'static ElementTemplate),
    /// Closes the innermost open element.
    Close,
    /// A subtree with only literal content.
    Static(&'static StaticNode),
    /// Literal text (unescaped; the serialiser escapes it).
    Text(&'static str),
}

/// A run of static template content.
pub struct Segment {
    /// The markup server-side rendering writes for it (escaped).
    pub html: &'static str,
    /// The same content for the VDOM.
    pub ops: &'static [Op],
}

/// Where an `html!` expansion writes.
pub struct Sink(Output);

// One sink lives on the stack per expansion; boxing the builder would add
// an allocation to every VDOM render.
#[allow(clippy::large_enum_variant)]
enum Output {
    Markup(String),
    Nodes(VBuilder),
}

impl Sink {
    /// Starts an expansion in the current mode, sized by the call site's
    /// hints.
    #[inline]
    pub fn new(markup_hint: &'static SizeHint, tree_hint: &'static TreeSizeHint) -> Self {
        if super::mode::vdom_mode() {
            Sink(Output::Nodes(VBuilder::with_hint(tree_hint)))
        } else {
            Sink(Output::Markup(String::with_capacity(markup_hint.get())))
        }
    }

    /// The finished template.
    #[inline]
    pub fn finish(self, markup_hint: &'static SizeHint) -> Html {
        match self.0 {
            Output::Markup(markup) => {
                markup_hint.record(markup.len());
                Html::from_generated_markup(markup)
            }
            Output::Nodes(builder) => Html::from_generated_nodes(builder.finish()),
        }
    }

    /// Static content.
    #[inline(always)]
    pub fn fixed(&mut self, segment: &'static Segment) {
        match &mut self.0 {
            Output::Markup(out) => out.push_str(segment.html),
            Output::Nodes(builder) => fixed_nodes(builder, segment),
        }
    }

    /// Static markup with no VDOM counterpart (literal attributes after a
    /// dynamic one: the element's template holds them).
    #[inline(always)]
    pub fn markup(&mut self, html: &'static str) {
        if let Output::Markup(out) = &mut self.0 {
            out.push_str(html);
        }
    }

    /// `{value}` in element content.
    #[inline(always)]
    pub fn render<T: Render + ?Sized>(&mut self, value: &T) {
        match &mut self.0 {
            Output::Markup(out) => render::render_text(value, out),
            Output::Nodes(builder) => render::render_vdom(value, builder),
        }
    }

    /// `{value|safe}`: trusted markup, written raw (only `SafeHtml`).
    #[inline]
    pub fn render_safe(&mut self, value: &SafeHtml) {
        match &mut self.0 {
            Output::Markup(out) => safe::render_safe(value, out),
            Output::Nodes(builder) => safe::render_safe(value, builder),
        }
    }

    /// An ordinary dynamic attribute; `open` is ` name="`.
    #[inline(always)]
    pub fn attr_text<T: AttrValue + ?Sized>(&mut self, slot: usize, open: &str, value: &T) {
        match &mut self.0 {
            Output::Markup(out) => {
                if render::attr_is_present(value) {
                    out.push_str(open);
                    render::write_attr_escaped(value, out);
                    out.push('"');
                }
            }
            Output::Nodes(builder) => builder.set_attr_with(slot, value),
        }
    }

    /// Static content ending in an ordinary attribute whose value the
    /// template chose among string literals (`<li class={if on { "a" }
    /// else { "b" }}`): `segment.html` ends with the whole attribute,
    /// ` name="value"`, escaped when the macro expanded; `text` is the
    /// literal's text for the attribute's VDOM slot.
    #[inline(always)]
    pub fn attr_literal(&mut self, segment: &'static Segment, slot: usize, text: &'static str) {
        match &mut self.0 {
            Output::Markup(out) => out.push_str(segment.html),
            Output::Nodes(builder) => {
                fixed_nodes(builder, segment);
                builder.set_attr_with(slot, text);
            }
        }
    }

    /// A dynamic URL attribute (`href`, `src`, …), filtered.
    #[inline]
    pub fn attr_url<T: UrlValue + ?Sized>(&mut self, slot: usize, open: &str, value: &T) {
        self.filtered(slot, open, value.url_text().map(filter_url));
    }

    /// A dynamic `srcset` attribute, filtered.
    #[inline]
    pub fn attr_srcset<T: UrlValue + ?Sized>(&mut self, slot: usize, open: &str, value: &T) {
        self.filtered(slot, open, value.url_text().map(filter_srcset));
    }

    /// A dynamic `ping` attribute (a URL list), filtered.
    #[inline]
    pub fn attr_url_list<T: UrlValue + ?Sized>(&mut self, slot: usize, open: &str, value: &T) {
        self.filtered(slot, open, value.url_text().map(filter_url_list));
    }

    /// A dynamic `style` attribute, filtered.
    #[inline]
    pub fn attr_style<T: AttrValue + ?Sized>(&mut self, slot: usize, open: &str, value: &T) {
        self.filtered(slot, open, render::style_attr(value).map(Cow::Owned));
    }

    /// A dynamic `srcdoc` attribute: trusted markup (only `SafeHtml`),
    /// escaped into the attribute.
    #[inline]
    pub fn attr_markup<T: MarkupValue + ?Sized>(&mut self, slot: usize, open: &str, value: &T) {
        self.filtered(slot, open, value.markup_text().map(Cow::Borrowed));
    }

    fn filtered(&mut self, slot: usize, open: &str, value: Option<Cow<'_, str>>) {
        match &mut self.0 {
            Output::Markup(out) => {
                if let Some(text) = value {
                    out.push_str(open);
                    escape_into(&text, out);
                    out.push('"');
                }
            }
            Output::Nodes(builder) => builder.set_attr(slot, value.map(Cow::into_owned)),
        }
    }

    /// The position a keyed loop item starts at.
    #[inline]
    pub fn mark(&self) -> usize {
        match &self.0 {
            Output::Markup(_) => 0,
            Output::Nodes(builder) => builder.mark(),
        }
    }

    /// Keys the nodes written since `mark` (the VDOM's keyed diff; markup
    /// has no keys).
    #[inline]
    pub fn key_since<K: Render + ?Sized>(&mut self, mark: usize, key: &K) {
        if let Output::Nodes(builder) = &mut self.0 {
            builder.key_since_with(mark, key);
        }
    }
}

/// The VDOM side of [`Sink::fixed`], out of line so that the markup side
/// inlines into every template as one `push_str`: the inliner judges the
/// caller by its whole body, and this loop made it give up on the markup
/// path of small templates (SSR of the rosetta `teams` page went from 79 ns
/// to 180 ns when both sides were inline).
#[inline(never)]
fn fixed_nodes(builder: &mut VBuilder, segment: &'static Segment) {
    for op in segment.ops {
        match op {
            Op::Open(template) => builder.open(template),
            Op::Close => builder.close(),
            Op::Static(node) => builder.push_static(node),
            Op::Text(text) => builder.push_text(text),
        }
    }
}
