//! The HTML page around a view's first render, the built-in login page,
//! error pages, and the security headers every response carries.

use warp::http::header::{HeaderMap, HeaderName, HeaderValue};

use super::layout::{flash_area, live_root_offline, LayoutCtx, LayoutFn, OfflineRoot};
use crate::live::page_title;
use crate::template::escape::escape_into;
use crate::template::mode::render_markup;
use crate::view::{Ctx, Flash};

/// The Content-Security-Policy: scripts only from this origin (so no inline
/// script and no eval), no plugins, no framing, forms and sockets to self.
/// Images may also be `blob:` URLs: the client previews a chosen upload
/// without sending it anywhere.
/// Inline `style` attributes stay allowed: `html!` filters dynamic styles.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Headers added to every response.
pub fn security_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    let pairs: [(&str, &str); 5] = [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
    ];
    for (name, value) in pairs {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    headers
}

/// Page chrome shared by every page.
#[derive(Clone)]
pub struct Layout {
    /// The `<title>` suffix (the app's name).
    pub title: String,
    /// Stylesheet URLs (same-origin paths).
    pub stylesheets: Vec<String>,
    /// Extra script URLs (same-origin paths), loaded after the client with `defer`.
    pub scripts: Vec<String>,
    /// The root layout around live views (`App::layout`).
    pub root: Option<LayoutFn>,
    /// Link the web app manifest (`App::pwa`).
    pub manifest: bool,
}

impl std::fmt::Debug for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Layout")
            .field("title", &self.title)
            .field("stylesheets", &self.stylesheets)
            .field("scripts", &self.scripts)
            .field("root", &self.root.is_some())
            .finish()
    }
}

/// One live view's first paint, for [`Layout::live_page`].
pub struct LivePage<'a> {
    /// The view's part of the title.
    pub view_title: &'a str,
    /// The view's wire name.
    pub view: &'a str,
    /// The signed mount token.
    pub token: &'a str,
    /// The view's first render.
    pub view_html: &'a str,
    /// Flash messages to show.
    pub flash: &'a [Flash],
    /// The request's context (for the root layout).
    pub ctx: &'a Ctx,
    /// The offline attributes of a view with offline handlers.
    pub offline: Option<OfflineRoot<'a>>,
}

impl Layout {
    /// A complete page around `body_html` (already-escaped markup), titled
    /// `title` then the app's name.
    pub fn page(&self, title: &str, body_html: &str) -> String {
        self.document(&page_title(title, &self.title), body_html)
    }

    /// The document around `body_html`, with the full `title`. Under a
    /// path-prefix tenant (`/t/acme`) every URL it writes carries the
    /// prefix, and `<meta name="djust-base">` tells djust.js the prefix.
    fn document(&self, title: &str, body_html: &str) -> String {
        let tenant = crate::tenant::current();
        let base = tenant.as_ref().and_then(crate::tenant::Tenant::base_path);
        let url = |path: &str| crate::tenant::prefixed(base, path);
        let mut out = String::with_capacity(body_html.len() + 512);
        out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        if let Some(base) = base {
            out.push_str("<meta name=\"djust-base\" content=\"");
            escape_into(base, &mut out);
            out.push_str("\">");
        }
        out.push_str("<title>");
        escape_into(title, &mut out);
        out.push_str("</title>");
        for href in &self.stylesheets {
            out.push_str("<link rel=\"stylesheet\" href=\"");
            escape_into(&url(href), &mut out);
            out.push_str("\">");
        }
        if self.manifest {
            out.push_str("<link rel=\"manifest\" href=\"");
            escape_into(&url("/djust/manifest.webmanifest"), &mut out);
            out.push_str("\">");
        }
        out.push_str("<script src=\"");
        escape_into(&url("/djust/djust.js"), &mut out);
        out.push_str("\" defer></script>");
        for src in &self.scripts {
            out.push_str("<script src=\"");
            escape_into(&url(src), &mut out);
            out.push_str("\" defer></script>");
        }
        out.push_str("</head><body>");
        out.push_str(body_html);
        out.push_str("</body></html>\n");
        out
    }

    /// The page for a live view: the root layout (or, without one, the
    /// flash area) around the view's root element, which carries the view
    /// name and the signed mount token. `Err` when the layout panicked.
    pub fn live_page(&self, page: LivePage<'_>) -> Result<String, String> {
        let content = live_root_offline(page.view, page.token, page.view_html, page.offline);
        let title = page_title(page.view_title, &self.title);
        let body = match &self.root {
            Some(layout) => {
                let ctx = LayoutCtx {
                    title: &title,
                    content: &content,
                    flash: page.flash,
                    ctx: page.ctx,
                };
                let _scope = crate::live::ViewCodeScope::enter();
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    render_markup(|| layout(&ctx))
                }))
                .map_err(|payload| crate::live::panic_text(payload.as_ref()))?
            }
            None => {
                let mut body = flash_area(page.flash);
                body.push_str(&content);
                body
            }
        };
        Ok(self.document(&title, &body))
    }

    /// A plain message page (errors: 403, 404, 500).
    pub fn message_page(&self, title: &str, message: &str) -> String {
        let mut body = String::from("<main class=\"djust-message\"><h1>");
        escape_into(title, &mut body);
        body.push_str("</h1><p>");
        escape_into(message, &mut body);
        body.push_str("</p><p><a href=\"");
        escape_into(&current_path("/"), &mut body);
        body.push_str("\">Home</a></p></main>");
        self.page(title, &body)
    }
}

/// `path` as the browser addresses it for the request's tenant (see
/// [`crate::tenant::Tenant::path`]).
fn current_path(path: &str) -> String {
    match crate::tenant::current() {
        Some(tenant) => tenant.path(path),
        None => path.to_owned(),
    }
}

/// What the login page shows.
#[derive(Debug, Clone, Default)]
pub struct LoginForm {
    /// The session's CSRF token (hidden field).
    pub csrf_token: String,
    /// Where to go after logging in (validated same-origin path).
    pub next: String,
    /// The username typed before, on error.
    pub username: String,
    /// An error to show ("Invalid username or password.").
    pub error: Option<String>,
    /// Extra HTML under the form (e.g. demo accounts), already escaped.
    pub note_html: String,
}

/// The built-in login form (posts to `/login` with the CSRF token).
pub fn login_form_html(form: &LoginForm) -> String {
    let mut out = String::from("<main class=\"djust-login\"><h1>Log in</h1>");
    if let Some(error) = &form.error {
        out.push_str("<p class=\"error\" role=\"alert\">");
        escape_into(error, &mut out);
        out.push_str("</p>");
    }
    out.push_str("<form method=\"post\" action=\"");
    escape_into(&current_path("/login"), &mut out);
    out.push_str("\">");
    out.push_str(&csrf_field(&form.csrf_token).into_string());
    out.push_str("<input type=\"hidden\" name=\"next\" value=\"");
    escape_into(&form.next, &mut out);
    out.push_str(
        "\"><label>Username <input name=\"username\" autocomplete=\"username\" required value=\"",
    );
    escape_into(&form.username, &mut out);
    out.push_str("\"></label><label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label><button type=\"submit\">Log in</button></form>");
    out.push_str(&form.note_html);
    out.push_str("</main>");
    out
}

/// A hidden `csrf_token` input for a form posting to this app: a component
/// (`{csrf_field(token)}` in `html!`), escaped like any template output.
pub fn csrf_field(token: &str) -> crate::template::Html {
    let mut out = String::from("<input type=\"hidden\" name=\"csrf_token\" value=\"");
    escape_into(token, &mut out);
    out.push_str("\">");
    crate::template::Html::from_generated_markup(out)
}
