//! # djust
//!
//! Server-rendered reactive views for Rust, in the style of Phoenix LiveView
//! and Django's djust, where the compiler enforces the security model.
//!
//! ```
//! use djust::prelude::*;
//!
//! let name = "<script>alert(1)</script>";
//! let items = vec![(1, "one"), (2, "two")];
//! let page = html! {
//!     <h1 class="title">"Hello, " {name} "!"</h1>
//!     <ul>
//!         for (id, label) in &items key = id {
//!             <li><a href={format!("/items/{id}")}>{label}</a></li>
//!         }
//!     </ul>
//!     if items.is_empty() { <p>"Nothing yet."</p> }
//! };
//! assert_eq!(
//!     page.into_string(),
//!     "<h1 class=\"title\">Hello, &lt;script&gt;alert(1)&lt;/script&gt;!</h1>\
//!      <ul><li><a href=\"/items/1\">one</a></li><li><a href=\"/items/2\">two</a></li></ul>"
//! );
//! ```
//!
//! * [`html!`]: templates with context-aware escaping decided at compile time.
//!   See `docs/templates.md` in the repository for the full syntax and the
//!   list of compile errors.
//! * [`SafeHtml`]: the only markup written raw, and only where a template
//!   says so (`{x|safe}`, `srcdoc={x}`); no `From<String>`.
//! * [`Render`]: your own types render by writing text to a [`TextWriter`],
//!   which escapes it; markup only comes from `html!`:
//!
//! ```
//! use djust::prelude::*;
//!
//! struct Money { cents: i64 }
//!
//! impl Render for Money {
//!     fn render(&self, out: &mut TextWriter<'_>) {
//!         out.push_str("<$>");
//!         out.push_display(&format_args!("{}.{:02}", self.cents / 100, self.cents % 100));
//!     }
//! }
//!
//! struct Badge(&'static str);
//!
//! impl Render for Badge {
//!     fn render(&self, out: &mut TextWriter<'_>) {
//!         html! { <span class="badge">{self.0}</span> }.render(out);
//!     }
//! }
//!
//! let page = html! { <p>{Money { cents: 1999 }} {Badge("<new>")}</p> };
//! assert_eq!(
//!     page.into_string(),
//!     "<p>&lt;$&gt;19.99<span class=\"badge\">&lt;new&gt;</span></p>"
//! );
//! ```
//! * [`format_html!`]: `format!` for markup, escaping every argument.
//! * [`JS`]: client-side commands (`dj-click={JS::toggle("#menu")}`) the
//!   browser runs without a round trip; see `docs/client_commands.md`.
#![forbid(unsafe_code)]

/// Writes HTML with compile-time, context-aware escaping.
///
/// ```
/// # use djust::prelude::*;
/// let url = "javascript:alert(1)";
/// let busy = true;
/// let html = html! { <a href={url}>"x"</a><button disabled={busy}>"Go"</button> };
/// assert_eq!(html.into_string(), "<a href=\"#blocked\">x</a><button disabled=\"\">Go</button>");
/// ```
///
/// Syntax: elements (`<div class="x">..</div>`, `<br>`, `<div/>`), text as
/// string literals (`"Delete"`), values in braces (`{self.count}`),
/// attributes `name="literal"`, `name={expr}` or bare `disabled`,
/// `if`/`else if`/`else`, `if let`, `match x { Pat => { .. } }`,
/// `for pat in iter key = expr { .. }`, components (`{header}` where
/// `header: Html`) and trusted markup `{x|safe}` (`x: SafeHtml`).
///
/// Compile errors: `on*` attributes, dynamic content or attributes in
/// `<script>`/`<style>`, dynamic attribute names, unbalanced tags, bad
/// `dj-*` event names, `dj-*` event values that are neither a literal
/// handler name nor a [`JS`] client command, duplicate attributes, literal
/// `javascript:` URLs, reads of `_private` fields, `|safe` on anything but
/// `SafeHtml`, and non-string values in URL attributes.
pub use djust_macros::html;

/// Builds [`SafeHtml`] from a format string, escaping every argument.
///
/// ```
/// # use djust::prelude::*;
/// let link = format_html!("<a href=\"/u/{}\">{}</a>", 7, "<b>Ann</b>");
/// assert_eq!(link.as_str(), "<a href=\"/u/7\">&lt;b&gt;Ann&lt;/b&gt;</a>");
/// ```
///
/// Only `{}` and `{0}` placeholders are accepted: inline captures such as
/// `{name}` would skip the escaping and are a compile error.
pub use djust_macros::format_html;

/// Turns a view's `impl` block into a live view.
///
/// ```
/// use djust::prelude::*;
///
/// pub struct Counter { count: i64 }
///
/// #[live_view(public)]
/// impl Counter {
///     fn mount(_ctx: &mut MountCtx) -> Result<Self> {
///         Ok(Counter { count: 0 })
///     }
///
///     fn render(&self) -> Html {
///         html! {
///             <p>"Count: " {self.count}</p>
///             <button dj-click="increment" dj-value-by="1">"+1"</button>
///         }
///     }
///
///     #[event_handler]
///     #[rate_limit(rate = 10, burst = 5)]
///     fn increment(&mut self, #[default(1)] by: i64) {
///         self.count += by;
///     }
/// }
///
/// let meta = <Counter as djust::LiveView>::meta();
/// assert_eq!(meta.name, "counter");
/// assert_eq!(meta.handlers[0].name, "increment");
/// assert_eq!(meta.exposed, ["count"]);
/// ```
///
/// Options: exactly one of `public` / `login_required` (a `permission =
/// "app.codename"` implies `login_required`), `login_url = "/login"`,
/// `name = "wire_name"`, `tick = <ms>` (calls `handle_tick`),
/// `reauth_each_event` (reloads the user and runs the mount's checks,
/// `check_permissions` included, before every event).
///
/// Items: `mount(ctx: &mut MountCtx) -> Result<Self>` (sync or async) and
/// `render(&self) -> Html` are required; `check_permissions(&self, &Ctx)`,
/// `handle_tick(&mut self)` and `handle_info(&mut self, message: T)` are
/// optional. Only `#[event_handler]` methods can be called from the client;
/// their arguments (after an optional `&EventCtx`/`&mut EventCtx`) are
/// decoded by name from the event's params. See `docs/live_views.md`.
pub use djust_macros::live_view;

/// Marks a method of a `#[live_view]` as callable from the client.
/// `#[event_handler(offline)]` also lets the client queue the event while
/// offline and replay it later (see `docs/offline.md`).
pub use djust_macros::event_handler;

/// Turns an `impl` block into a stateful component: its own state,
/// `mount(props)`, optional `update(&mut self, props)`, `render` and
/// allowlisted `#[event_handler]`s, embedded in a view's template with
/// `{live_component::<Cart>("cart", props)}`. See `docs/components.md`.
pub use djust_macros::live_component;

/// Embeds a `#[live_component]` in a template under a stable id.
pub use djust_runtime::view::live_component;

/// `#[rate_limit(rate = R, burst = B, key = "user"|"session"|"ip")]` on an
/// `#[event_handler]`: a token bucket shared by all connections of the key.
pub use djust_macros::rate_limit;

/// `#[permission_required("app.codename")]` on an `#[event_handler]`.
pub use djust_macros::permission_required;

/// The runtime's modules, for what the prelude does not cover (the audit,
/// configuration, the test hooks, the VDOM). Everything but the hidden
/// entry points of generated code, which only [`__private`] re-exports.
pub mod runtime {
    pub use djust_runtime::{
        audit, auth, config, limits, live, offline, protocol, security, server, session, template,
        upload, vdom, view,
    };

    #[cfg(feature = "redis")]
    pub use djust_runtime::redis;
}

pub use djust_runtime::cli;
pub use djust_runtime::live::LiveGroup;
pub use djust_runtime::offline;
pub use djust_runtime::queries;
pub use djust_runtime::server::files::StoredFile;
pub use djust_runtime::server::{App, Config, Pwa, Server};
pub use djust_runtime::template::{
    AttrValue, Html, JsChain, Private, Render, SafeHtml, TextWriter, UrlValue, JS,
};
pub use djust_runtime::tenant;

/// Typed forms that validate as you type (docs/forms.md).
pub mod forms {
    pub use djust_runtime::forms::{
        dropped_keys_total, fields_of, FieldError, Form, FormData, FormState,
    };
}

pub use djust_runtime::view::{
    Coalescer, ComponentMeta, Ctx, DynView, Error, ErrorKind, EventCtx, FlashKind, LiveComponent,
    LiveView, MountCtx, Result, ViewFactory, ViewMeta,
};

/// Display-safe text: user input made safe to show to other users.
///
/// [`display_text`](text::display_text) strips bidi controls, invisible
/// format characters and control characters from free text;
/// [`identifier`](text::identifier) normalises a name (NFKC), refuses
/// hidden characters and gives a key under which look-alikes collide.
///
/// ```
/// use djust::text::{display_text, identifier};
///
/// assert_eq!(display_text("\u{202E}gnp.exe\u{7}"), "gnp.exe");
/// let ann = identifier("Ann").unwrap();
/// assert!(identifier("ＡＮＮ").unwrap().looks_like(&ann));
/// assert!(identifier("Ann\u{200B}").is_err());
/// ```
///
/// See `docs/security.md`, "Display-safe text".
pub mod text {
    pub use djust_runtime::security::display::*;
}

/// The names most views need: `use djust::prelude::*;`.
pub mod prelude {
    pub use crate::{
        event_handler, format_html, html, live_component, live_view, permission_required,
        rate_limit, App, Ctx, Error, EventCtx, FlashKind, Html, JsChain, LiveGroup, LiveView,
        MountCtx, Private, Render, Result, SafeHtml, TextWriter, JS,
    };
}

/// Items used by macro-generated code. Not public API: no stability
/// guarantees. The entry points that turn strings into `Html`/`SafeHtml`
/// without escaping live here and nowhere else; calling them by hand opts
/// out of every check the macros make.
#[doc(hidden)]
pub mod __private {
    pub use djust_runtime::__private::*;
    pub use djust_runtime::forms;
    pub use djust_runtime::template::filters::{filter_srcset, filter_url, filter_url_list};
    pub use djust_runtime::template::html::SizeHint;
    pub use djust_runtime::template::mode::vdom_mode;
    pub use djust_runtime::template::render::UrlValue;
    pub use djust_runtime::template::safe::MarkupValue;
    pub use djust_runtime::vdom::{ElementTemplate, StaticNode, TAttr, TreeSizeHint, VBuilder};
    pub use djust_runtime::view::{
        check_component_event, params, persist_fns, AssignedField, AuthPosture, BoxFuture,
        ComponentMeta, ComponentRegistration, Ctx, EventCtx, EventError, FormFields, HandlerMeta,
        HandlerOutput, LiveComponent, LiveView, MountCtx, ParamKind, ParamMeta, Params, PersistFns,
        RateKey, RateLimitMeta, UploadSlotMeta, ViewFactory, ViewMeta, ViewRegistration,
    };
    pub use inventory;
    pub use tracing;
}

/// The examples of `docs/components.md` compile (checked by `cargo test --doc`).
#[doc = include_str!("../docs/components.md")]
#[cfg(doctest)]
pub struct ComponentsDoctests;

/// The README's example compiles (checked by `cargo test --doc`).
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The navigation chapter's example compiles (checked by `cargo test --doc`).
#[doc = include_str!("../docs/navigation.md")]
#[cfg(doctest)]
pub struct NavigationDoctests;

/// docs/offline.md's example compiles (checked by `cargo test --doc`).
#[doc = include_str!("../docs/offline.md")]
#[cfg(doctest)]
pub struct OfflineDoctests;

/// docs/tenancy.md's examples compile (checked by `cargo test --doc`).
#[doc = include_str!("../docs/tenancy.md")]
#[cfg(doctest)]
pub struct TenancyDoctests;

/// The forms chapter's example compiles (checked by `cargo test --doc`).
#[doc = include_str!("../docs/forms.md")]
#[cfg(doctest)]
pub struct FormsDoctests;
