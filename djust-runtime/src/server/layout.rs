//! The root layout: the chrome around every live view of an app (a
//! navigation bar, the flash area, a footer), written with `html!` and set
//! with `App::layout`. It is rendered on the first paint and stays in place
//! during live navigation: only the view inside it changes.
//!
//! ```
//! # use djust_runtime as djust;
//! use djust::server::LayoutCtx;
//! use djust::template::Html;
//! fn layout(page: &LayoutCtx<'_>) -> Html {
//!     // with `html!`: <nav>..</nav> {page.flash()} <main>{page.content()}</main>
//!     # let _ = page;
//!     # Html::default()
//! }
//! ```

use std::ops::Deref;
use std::sync::Arc;

use crate::live::digest::html_digest;
use crate::template::escape::escape_into;
use crate::template::Html;
use crate::view::{Ctx, Flash};

/// A root layout (see [`LayoutCtx`]).
pub type LayoutFn = Arc<dyn Fn(&LayoutCtx<'_>) -> Html + Send + Sync>;

/// What a root layout sees: the page title, the view's content, the flash
/// area, and the request's [`Ctx`] (user, URL, CSRF token) by `Deref`.
pub struct LayoutCtx<'a> {
    pub(crate) title: &'a str,
    pub(crate) content: &'a str,
    pub(crate) flash: &'a [Flash],
    pub(crate) ctx: &'a Ctx,
}

impl LayoutCtx<'_> {
    /// The page title (the view's, then the app's name).
    pub fn title(&self) -> &str {
        self.title
    }

    /// The live view: its root element with the first render inside. Put
    /// it exactly once in the layout.
    pub fn content(&self) -> Html {
        Html::from_generated_markup(self.content.to_owned())
    }

    /// The flash area with this page's messages; live updates and later
    /// messages appear in it. Without it, the client adds one before the
    /// view.
    pub fn flash(&self) -> Html {
        Html::from_generated_markup(flash_area(self.flash))
    }

    /// The path of the page (without the query).
    pub fn path(&self) -> &str {
        self.ctx.url().split('?').next().unwrap_or_default()
    }
}

impl Deref for LayoutCtx<'_> {
    type Target = Ctx;
    fn deref(&self) -> &Ctx {
        self.ctx
    }
}

/// The flash area's markup: one dismissible message per flash, as the
/// client builds them (`djust.js`, section 7).
pub fn flash_area(flash: &[Flash]) -> String {
    let mut out = String::from(
        "<div class=\"djust-flash\" data-djust-flash role=\"status\" aria-live=\"polite\">",
    );
    for message in flash {
        let kind = message.kind.as_str();
        out.push_str("<div class=\"flash flash-");
        out.push_str(kind);
        out.push_str("\" data-kind=\"");
        out.push_str(kind);
        out.push('"');
        if kind == "error" {
            out.push_str(" role=\"alert\"");
        }
        out.push_str("><span class=\"flash-message\">");
        escape_into(&message.message, &mut out);
        out.push_str("</span><button type=\"button\" class=\"flash-close\" dj-flash-dismiss aria-label=\"Dismiss\">\u{00d7}</button></div>");
    }
    out.push_str("</div>");
    out
}

/// The live view's root element: the view name, the signed mount token
/// and the digest of the first render (so the socket's `mount` can leave
/// an unchanged render out), with the first render inside.
pub fn live_root(view: &str, token: &str, view_html: &str) -> String {
    live_root_offline(view, token, view_html, None)
}

/// What the root of a view with `#[event_handler(offline)]` handlers
/// tells the client: which events it may queue offline, the owner tag
/// every queued action repeats, and the session's CSRF token for the
/// service worker's sync request.
#[derive(Debug, Clone, Copy)]
pub struct OfflineRoot<'a> {
    /// The offline-capable handlers, space-separated.
    pub handlers: &'a str,
    /// [`crate::offline::owner_tag`] of the session and user.
    pub owner: &'a str,
    /// The session's CSRF token.
    pub csrf_token: &'a str,
}

/// [`live_root`] with, for a view with offline handlers, the
/// `data-djust-offline`, `data-djust-offline-owner` and `data-djust-csrf`
/// attributes (escaped).
pub fn live_root_offline(
    view: &str,
    token: &str,
    view_html: &str,
    offline: Option<OfflineRoot<'_>>,
) -> String {
    let mut out = String::with_capacity(view_html.len() + token.len() + 256);
    out.push_str("<div data-djust-view=\"");
    escape_into(view, &mut out);
    out.push_str("\" data-djust-token=\"");
    escape_into(token, &mut out);
    if let Some(offline) = offline {
        out.push_str("\" data-djust-offline=\"");
        escape_into(offline.handlers, &mut out);
        out.push_str("\" data-djust-offline-owner=\"");
        escape_into(offline.owner, &mut out);
        out.push_str("\" data-djust-csrf=\"");
        escape_into(offline.csrf_token, &mut out);
    }
    out.push_str("\" data-djust-digest=\"");
    out.push_str(&html_digest(view_html));
    out.push_str("\">");
    out.push_str(view_html);
    out.push_str("</div>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::FlashKind;

    #[test]
    fn flash_text_is_escaped() {
        let html = flash_area(&[Flash::new(FlashKind::Error, "<img src=x onerror=alert(1)>")]);
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        assert!(html.contains("role=\"alert\""));
        assert!(!html.contains("<img"));
    }
}
