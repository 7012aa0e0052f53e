//! Live views: the [`LiveView`] trait the `#[live_view]` macro implements,
//! typed parameter decoding, the contexts handlers see, and the registry.
//!
//! Users never implement [`LiveView`] by hand. They write an `impl` block
//! with `mount`, `render` and `#[event_handler]` methods and the macro
//! generates the trait impl: one `match` from event name to handler (the
//! allowlist), parameter decoding, permission and rate-limit checks, and the
//! [`ViewMeta`] the server, the audit and the smoke tests read.

pub mod coalesce;
pub mod component;
pub mod component_check;
pub mod context;
pub mod error;
pub mod flash;
pub mod meta;
pub mod params;
pub mod registry;
pub mod stream;

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub use coalesce::Coalescer;
pub use component::{
    live_component, registered_components, ComponentId, ComponentMeta, ComponentRegistration,
    Components, DynComponent, LiveComponent,
};
pub use component_check::check_component_event;
pub(crate) use context::KvSlot;
pub use context::{
    AppState, Ctx, Effects, EventCtx, HistoryKind, InfoStream, MountCtx, Navigation, OfflineStamp,
};
pub use error::{Error, ErrorKind, Result};
pub use flash::{Flash, FlashKind};
pub use meta::{
    AssignedField, AuthPosture, FormFields, HandlerMeta, ParamKind, ParamMeta, RateKey,
    RateLimitMeta, UploadSlotMeta, ViewMeta,
};
pub use params::{url_params, ParamError, Params};
pub use registry::{find_view, registered_views, ViewFactory, ViewRegistration};

use crate::security::SafeError;
use crate::template::Html;

/// A boxed, `Send` future (what the generated methods return).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why an event did not run or failed. Converted to a safe client message
/// with [`EventError::to_safe`]; never carries the event's params.
#[derive(Debug)]
pub enum EventError {
    /// No `#[event_handler]` has this name (the allowlist refused it).
    UnknownEvent,
    /// A parameter was missing or malformed; the handler did not run.
    InvalidParam(ParamError),
    /// The user is not logged in.
    LoginRequired,
    /// The user lacks the handler's permission.
    PermissionDenied,
    /// The handler's `#[rate_limit]` bucket is empty.
    RateLimited,
    /// The handler ran and returned an error.
    Handler(Error),
}

impl EventError {
    /// The client-facing error for this failure.
    pub fn to_safe(&self) -> SafeError {
        match self {
            EventError::UnknownEvent => SafeError::UnknownEvent,
            EventError::InvalidParam(error) => SafeError::InvalidParam {
                param: error.param,
                expected: error.expected,
            },
            EventError::LoginRequired => SafeError::LoginRequired,
            EventError::PermissionDenied => SafeError::PermissionDenied,
            EventError::RateLimited => SafeError::RateLimited,
            EventError::Handler(error) => match error.kind() {
                ErrorKind::Forbidden => SafeError::PermissionDenied,
                ErrorKind::Conflict => SafeError::Conflict,
                _ => SafeError::HandlerFailed,
            },
        }
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::UnknownEvent => f.write_str("unknown event"),
            EventError::InvalidParam(error) => error.fmt(f),
            EventError::LoginRequired => f.write_str("login required"),
            EventError::PermissionDenied => f.write_str("permission denied"),
            EventError::RateLimited => f.write_str("rate limited"),
            EventError::Handler(error) => write!(f, "handler failed: {error}"),
        }
    }
}

impl From<ParamError> for EventError {
    fn from(error: ParamError) -> Self {
        EventError::InvalidParam(error)
    }
}

/// What an `#[event_handler]` may return: `()`, `Result<()>` or
/// `Result<(), E: Display>`.
#[diagnostic::on_unimplemented(
    message = "an `#[event_handler]` must return `()`, `djust::Result<()>` or `Result<(), E>` with `E: Display`",
    note = "return the new state by mutating `self`; the view re-renders after the handler"
)]
pub trait HandlerOutput {
    /// Converts into the framework's result.
    fn into_handler_result(self) -> Result<()>;
}

impl HandlerOutput for () {
    fn into_handler_result(self) -> Result<()> {
        Ok(())
    }
}

impl<E: fmt::Display + 'static> HandlerOutput for std::result::Result<(), E> {
    fn into_handler_result(self) -> Result<()> {
        self.map_err(|error| {
            let text = error.to_string();
            let boxed: Box<dyn Any> = Box::new(error);
            match boxed.downcast::<Error>() {
                Ok(error) => *error,
                Err(_) => Error::msg(text),
            }
        })
    }
}

/// What `#[live_view(persist)]` needs of the view's struct: serde's
/// traits, so its state can be saved and restored.
#[diagnostic::on_unimplemented(
    message = "`#[live_view(persist)]` needs `{Self}` to implement `serde::Serialize` and `serde::Deserialize`",
    note = "add `#[derive(serde::Serialize, serde::Deserialize)]` to the view's struct; a field that must not be saved (a database handle) gets `#[serde(skip)]` and a `Default`, and `restored` can set it again"
)]
pub trait PersistState: serde::Serialize + serde::de::DeserializeOwned {}

impl<T: serde::Serialize + serde::de::DeserializeOwned> PersistState for T {}

/// The state of a `persist` view to and from JSON, as function pointers
/// the macro keeps in one constant (one place to check `PersistState`, so
/// a struct without serde's traits gets one error, on `persist`).
#[doc(hidden)]
pub struct PersistFns<T> {
    /// The state as JSON.
    pub snapshot: fn(&T) -> Result<Vec<u8>>,
    /// The view back from its JSON (an error when the struct changed).
    pub restore: fn(&[u8]) -> Result<T>,
}

/// [`PersistFns`] for `T`.
#[doc(hidden)]
pub const fn persist_fns<T: PersistState>() -> PersistFns<T> {
    PersistFns {
        snapshot: snapshot_json::<T>,
        restore: restore_json::<T>,
    }
}

fn snapshot_json<T: PersistState>(view: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(view)
        .map_err(|error| Error::msg(format!("cannot save the view's state: {error}")))
}

fn restore_json<T: PersistState>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|error| Error::msg(format!("the saved state no longer fits the view: {error}")))
}

/// A live view. Implemented by `#[live_view]`; not meant to be implemented by hand.
pub trait LiveView: Send + Sized + 'static {
    /// Everything the macro knew about the view.
    fn meta() -> &'static ViewMeta;

    /// Calls the view's `mount`.
    fn mount_view(ctx: &mut MountCtx) -> BoxFuture<'_, Result<Self>>;

    /// Calls the view's `render`.
    fn render_view(&self) -> Html;

    /// The allowlist: runs the `#[event_handler]` named `event`, after its
    /// permission and rate-limit checks and parameter decoding.
    fn dispatch_event<'a>(
        &'a mut self,
        ctx: &'a mut EventCtx,
        event: &'a str,
        params: &'a Params,
    ) -> BoxFuture<'a, std::result::Result<(), EventError>>;

    /// Calls the view's `handle_params` with the URL's parameters (the
    /// path's, then the query's), decoded like handler parameters.
    fn handle_params_view<'a>(
        &'a mut self,
        _ctx: &'a mut EventCtx,
        _params: &'a Params,
    ) -> BoxFuture<'a, std::result::Result<(), EventError>> {
        Box::pin(async { Ok(()) })
    }

    /// Calls the view's `check_permissions` (object-level authorisation).
    fn check_view_permissions(&self, _ctx: &Ctx) -> Result<()> {
        Ok(())
    }

    /// Calls the view's `handle_tick` (every `tick` milliseconds).
    fn tick<'a>(&'a mut self, _ctx: &'a mut EventCtx) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// Calls the view's `handle_info` with a message from a subscription.
    fn info<'a>(
        &'a mut self,
        _ctx: &'a mut EventCtx,
        _message: Box<dyn Any + Send>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// `#[live_view(persist)]`: the view's state as bytes (serde JSON of
    /// the struct); `None` for views that do not persist.
    fn snapshot_state(&self) -> Option<Result<Vec<u8>>> {
        None
    }

    /// `#[live_view(persist)]`: the view back from [`LiveView::snapshot_state`]'s
    /// bytes, then its `restored` hook with `ctx` (subscriptions, effects);
    /// `None` for views that do not persist.
    fn restore_state<'a>(
        _bytes: &'a [u8],
        _ctx: &'a mut MountCtx,
    ) -> BoxFuture<'a, Option<Result<Self>>> {
        Box::pin(async { None })
    }
}

/// A mounted view behind a trait object (what the server holds per socket).
pub trait DynView: Send {
    /// The view's metadata.
    fn meta(&self) -> &'static ViewMeta;
    /// Renders (markup or VDOM, depending on the mode).
    fn render(&self) -> Html;
    /// Runs an event through the allowlist.
    fn dispatch<'a>(
        &'a mut self,
        ctx: &'a mut EventCtx,
        event: &'a str,
        params: &'a Params,
    ) -> BoxFuture<'a, std::result::Result<(), EventError>>;
    /// `handle_params` with the URL's parameters.
    fn handle_params<'a>(
        &'a mut self,
        ctx: &'a mut EventCtx,
        params: &'a Params,
    ) -> BoxFuture<'a, std::result::Result<(), EventError>>;
    /// Object-level permission check.
    fn check_permissions(&self, ctx: &Ctx) -> Result<()>;
    /// Periodic tick.
    fn tick<'a>(&'a mut self, ctx: &'a mut EventCtx) -> BoxFuture<'a, Result<()>>;
    /// A subscription message.
    fn info<'a>(
        &'a mut self,
        ctx: &'a mut EventCtx,
        message: Box<dyn Any + Send>,
    ) -> BoxFuture<'a, Result<()>>;
    /// The state as bytes, for views that persist.
    fn snapshot(&self) -> Option<Result<Vec<u8>>>;
}

impl<V: LiveView> DynView for V {
    fn meta(&self) -> &'static ViewMeta {
        V::meta()
    }
    fn render(&self) -> Html {
        self.render_view()
    }
    fn dispatch<'a>(
        &'a mut self,
        ctx: &'a mut EventCtx,
        event: &'a str,
        params: &'a Params,
    ) -> BoxFuture<'a, std::result::Result<(), EventError>> {
        self.dispatch_event(ctx, event, params)
    }
    fn handle_params<'a>(
        &'a mut self,
        ctx: &'a mut EventCtx,
        params: &'a Params,
    ) -> BoxFuture<'a, std::result::Result<(), EventError>> {
        self.handle_params_view(ctx, params)
    }
    fn check_permissions(&self, ctx: &Ctx) -> Result<()> {
        self.check_view_permissions(ctx)
    }
    fn tick<'a>(&'a mut self, ctx: &'a mut EventCtx) -> BoxFuture<'a, Result<()>> {
        LiveView::tick(self, ctx)
    }
    fn info<'a>(
        &'a mut self,
        ctx: &'a mut EventCtx,
        message: Box<dyn Any + Send>,
    ) -> BoxFuture<'a, Result<()>> {
        LiveView::info(self, ctx, message)
    }
    fn snapshot(&self) -> Option<Result<Vec<u8>>> {
        self.snapshot_state()
    }
}
