//! Static metadata the `#[live_view]` macro records for each view: its auth
//! posture, handlers with typed parameters and decorators, and what its
//! template exposes. The server enforces from it; the audit and the smoke
//! tests read it.

pub use crate::upload::UploadSlotMeta;

/// Whether a view needs a logged-in user. Every view states one explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthPosture {
    /// Anyone may mount it (`#[live_view(public)]`).
    Public,
    /// Only logged-in users (`#[live_view(login_required)]` or a `permission`).
    LoginRequired,
}

/// Which identity a `#[rate_limit]` bucket is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateKey {
    /// Per logged-in user (falls back to the session, then the IP, for anonymous users).
    User,
    /// Per session.
    Session,
    /// Per client IP.
    Ip,
}

impl RateKey {
    /// The key's name as written in `#[rate_limit(key = "...")]`.
    pub fn as_str(self) -> &'static str {
        match self {
            RateKey::User => "user",
            RateKey::Session => "session",
            RateKey::Ip => "ip",
        }
    }
}

/// `#[rate_limit(rate = R, burst = B, key = K)]` on a handler.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitMeta {
    /// Sustained events per second.
    pub rate: f64,
    /// Bucket size.
    pub burst: u32,
    /// What the bucket is keyed by.
    pub key: RateKey,
}

/// The broad type of a handler parameter (drives the type-confusion fuzzing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `String`.
    String,
    /// Integer types.
    Integer,
    /// `f32`/`f64`.
    Float,
    /// `bool`.
    Bool,
    /// `Vec<T>`.
    List,
    /// Any other `DeserializeOwned` type.
    Other,
}

/// One typed handler parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamMeta {
    /// Name (the JSON key it is read from).
    pub name: &'static str,
    /// The type as written, e.g. `Option<i64>`.
    pub ty: &'static str,
    /// Broad kind of the innermost type.
    pub kind: ParamKind,
    /// `Option<T>`: may be absent.
    pub optional: bool,
    /// Has `#[default(...)]`.
    pub has_default: bool,
    /// `Form<T>`: read from the whole event, only `T`'s fields.
    pub form: Option<FormFields>,
}

/// The fields of a `Form<T>` parameter (serde's list, read when asked).
#[derive(Clone, Copy)]
pub struct FormFields(pub fn() -> &'static [&'static str]);

impl FormFields {
    /// The struct's field names.
    pub fn names(&self) -> &'static [&'static str] {
        (self.0)()
    }
}

impl PartialEq for FormFields {
    fn eq(&self, other: &Self) -> bool {
        self.names() == other.names()
    }
}

impl Eq for FormFields {}

impl std::fmt::Debug for FormFields {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

/// One `#[event_handler]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HandlerMeta {
    /// Event name (the method name).
    pub name: &'static str,
    /// Typed parameters in order.
    pub params: &'static [ParamMeta],
    /// `#[rate_limit]`, if any.
    pub rate_limit: Option<RateLimitMeta>,
    /// `#[permission_required]`, if any.
    pub permission: Option<&'static str>,
    /// `async fn`.
    pub is_async: bool,
    /// `#[event_handler(offline)]`: the client may queue this event while
    /// offline and replay it later (see `docs/offline.md`).
    pub offline: bool,
}

/// A field a method assigns, for the audit's "exposed state" list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssignedField {
    /// Field name.
    pub field: &'static str,
    /// The method that assigns it (`mount` or a handler).
    pub by: &'static str,
}

/// Everything known about a view at compile time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewMeta {
    /// Wire name (`name = "..."` or the type name in snake_case).
    pub name: &'static str,
    /// Rust type name.
    pub type_name: &'static str,
    /// `module_path!()` of the view.
    pub module: &'static str,
    /// Auth posture.
    pub auth: AuthPosture,
    /// View-level permission (`permission = "app.codename"`).
    pub permission: Option<&'static str>,
    /// Where anonymous users are sent (`login_url = "/login"`); `None` = the app's default.
    pub login_url: Option<&'static str>,
    /// `tick = <ms>`: `handle_tick` interval.
    pub tick_ms: Option<u64>,
    /// `reauth_each_event`: before every event, reload the user and run the
    /// mount's checks again (login, `permission`, `check_permissions`).
    pub reauth_each_event: bool,
    /// The `#[event_handler]` methods: the complete allowlist.
    pub handlers: &'static [HandlerMeta],
    /// Paths the template reads, e.g. `query`, `contacts[].name`.
    pub exposed: &'static [&'static str],
    /// Fields assigned by `mount` and the handlers.
    pub assigned: &'static [AssignedField],
    /// Number of trusted values (`{x|safe}` splices and `srcdoc={x}`
    /// attributes: `SafeHtml` trust hatches) in the templates of the
    /// view's `impl` block.
    pub safe_splices: u32,
    /// `persist`: the state is saved (sealed) when the socket drops and at
    /// shutdown, so a reconnect on any process can resume it.
    pub persist: bool,
    /// `upload(..)` slots: the only uploads the view takes.
    pub uploads: &'static [UploadSlotMeta],
    /// `handle_params`'s typed parameters (read from the URL's path and
    /// query); `None` when the view has no `handle_params`.
    pub url_params: Option<&'static [ParamMeta]>,
    /// `title = "..."`: the page title (else the type name).
    pub title: Option<&'static str>,
}

impl ViewMeta {
    /// The upload slot named `name`, if the view declares it.
    pub fn upload_slot(&self, name: &str) -> Option<&'static UploadSlotMeta> {
        self.uploads.iter().find(|slot| slot.name == name)
    }

    /// The handler named `name`, if it is an `#[event_handler]`.
    pub fn handler(&self, name: &str) -> Option<&'static HandlerMeta> {
        self.handlers.iter().find(|handler| handler.name == name)
    }

    /// The handlers declared `#[event_handler(offline)]`, in source order:
    /// the only events a client may queue offline and replay.
    pub fn offline_handlers(&self) -> impl Iterator<Item = &'static HandlerMeta> {
        self.handlers.iter().filter(|handler| handler.offline)
    }

    /// The page title: `title = "..."` or the type name.
    pub fn page_title(&self) -> &'static str {
        self.title.unwrap_or(self.type_name)
    }

    /// `true` when mounting needs a logged-in user.
    pub fn login_required(&self) -> bool {
        self.auth == AuthPosture::LoginRequired || self.permission.is_some()
    }
}
