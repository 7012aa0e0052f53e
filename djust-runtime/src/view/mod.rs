//! Live views: the [`LiveView`] trait the `#[live_view]` macro implements,
//! typed parameter decoding, the contexts handlers see, and the registry.
//!
//! Users never implement [`LiveView`] by hand. They write an `impl` block
//! with `mount`, `render` and `#[event_handler]` methods and the macro
//! generates the trait impl: one `match` from event name to handler (the
//! allowlist), parameter decoding, permission and rate-limit checks, and the
//! [`ViewMeta`] the server, the audit and the smoke tests read.

pub mod coalesce;
pub mod context;
pub mod error;
pub mod meta;
pub mod params;
pub mod registry;

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub use coalesce::Coalescer;
pub use context::{AppState, Ctx, Effects, EventCtx, InfoStream, MountCtx};
pub use error::{Error, ErrorKind, Result};
pub use meta::{
    AssignedField, AuthPosture, HandlerMeta, ParamKind, ParamMeta, RateKey, RateLimitMeta, ViewMeta,
};
pub use params::{ParamError, Params};
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
}
