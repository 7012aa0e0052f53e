//! Client-safe errors: the fixed set of failures a client may be told about,
//! each with a stable code and a generic message that reveals nothing about
//! parameters, paths or internals.

use std::fmt;

use super::log::sanitize_for_log;

/// A failure as the client may learn of it.
///
/// The server logs the real cause (sanitised); the client gets
/// [`SafeError::public_message`] and [`SafeError::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SafeError {
    /// The frame was not a valid protocol message.
    MalformedMessage,
    /// The frame exceeded the message size limit.
    MessageTooLarge,
    /// A binary (or otherwise unsupported) frame was received.
    UnsupportedFrame,
    /// The requested view does not exist.
    UnknownView,
    /// The mount token was missing, forged, expired or for another view/user.
    InvalidMountToken,
    /// An event arrived before a successful mount.
    NotMounted,
    /// The event name failed the name check or names no event handler.
    UnknownEvent,
    /// An event's `target` names no component on the page (`dj-target`).
    UnknownComponent,
    /// A handler parameter was missing or did not parse.
    InvalidParam {
        /// The parameter's name, from the handler's signature.
        param: &'static str,
        /// The expected type, from the handler's signature (e.g. `"integer"`).
        expected: &'static str,
    },
    /// The connection exceeded its rate limit.
    RateLimited,
    /// The view or handler requires a logged-in user.
    LoginRequired,
    /// The user lacks a required permission.
    PermissionDenied,
    /// The event handler returned an error or panicked.
    HandlerFailed,
    /// Rendering the view failed.
    RenderFailed,
    /// The request was invalid (`Error::bad_request` from `mount` or
    /// `handle_params`).
    BadRequest,
    /// What the page names does not exist (`Error::not_found`).
    NotFound,
    /// A navigation named something other than a same-origin path.
    OffOriginNavigation,
    /// A navigation named a path no live view is served at.
    NoLiveRoute,
    /// A patch named a URL of another view (a navigation changes views).
    PatchToOtherView,
    /// Navigation kept redirecting (more than a few hops in a row).
    TooManyRedirects,
    /// The handler refused a change that conflicts with a newer state
    /// (`Error::conflict`); its message for the user goes with it.
    Conflict,
    /// Any other server-side failure.
    Internal,
}

impl SafeError {
    /// Stable `snake_case` identifier for the failure, e.g. `"invalid_param"`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedMessage => "malformed_message",
            Self::MessageTooLarge => "message_too_large",
            Self::UnsupportedFrame => "unsupported_frame",
            Self::UnknownView => "unknown_view",
            Self::InvalidMountToken => "invalid_mount_token",
            Self::NotMounted => "not_mounted",
            Self::UnknownEvent => "unknown_event",
            Self::UnknownComponent => "unknown_component",
            Self::InvalidParam { .. } => "invalid_param",
            Self::RateLimited => "rate_limited",
            Self::LoginRequired => "login_required",
            Self::PermissionDenied => "permission_denied",
            Self::HandlerFailed => "handler_failed",
            Self::RenderFailed => "render_failed",
            Self::BadRequest => "bad_request",
            Self::NotFound => "not_found",
            Self::OffOriginNavigation => "off_origin_navigation",
            Self::NoLiveRoute => "no_live_route",
            Self::PatchToOtherView => "patch_to_other_view",
            Self::TooManyRedirects => "too_many_redirects",
            Self::Conflict => "conflict",
            Self::Internal => "internal",
        }
    }

    /// The generic production message for this failure.
    fn generic_message(&self) -> &'static str {
        match self {
            Self::MalformedMessage => "Malformed message",
            Self::MessageTooLarge => "Message too large",
            Self::UnsupportedFrame => "Unsupported frame type",
            Self::UnknownView => "Unknown view",
            Self::InvalidMountToken => "Invalid or expired page; please reload",
            Self::NotMounted => "View not mounted",
            Self::UnknownEvent => "Unknown event",
            Self::UnknownComponent => "Unknown component",
            Self::InvalidParam { .. } => "Invalid parameter",
            Self::RateLimited => "Rate limit exceeded",
            Self::LoginRequired => "Login required",
            Self::PermissionDenied => "Permission denied",
            Self::HandlerFailed => "An error occurred while processing the event",
            Self::RenderFailed => "An error occurred while rendering the view",
            Self::BadRequest => "Bad request",
            Self::NotFound => "Not found",
            Self::OffOriginNavigation => "Navigation only goes to same-origin paths",
            Self::NoLiveRoute => "No live view is served at this path",
            Self::PatchToOtherView => "A patch stays on the same view; navigate to change views",
            Self::TooManyRedirects => "Too many redirects",
            Self::Conflict => "The change conflicts with a newer one",
            Self::Internal => "Internal error",
        }
    }

    /// Text safe to send to a client.
    ///
    /// In production (`debug == false`) this is a generic message per variant;
    /// [`SafeError::InvalidParam`] names the parameter and the expected type,
    /// which come from the handler's signature, never the received value.
    /// `detail` is ignored. With `debug == true`, `detail` (for example the
    /// underlying error's `Display`) is appended after `": "`; it is passed
    /// through [`sanitize_for_log`](super::sanitize_for_log) once more, so it
    /// is one line, bounded and has secrets redacted. Parameters and stack
    /// traces are never included by this type.
    pub fn public_message(&self, debug: bool, detail: Option<&str>) -> String {
        let mut message = self.to_string();
        if let (true, Some(detail)) = (debug, detail) {
            message.push_str(": ");
            message.push_str(&sanitize_for_log(detail));
        }
        message
    }
}

/// The production message, as [`SafeError::public_message`]`(false, None)`.
impl fmt::Display for SafeError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidParam { param, expected } => write!(
                formatter,
                "Invalid value for parameter '{param}': expected {expected}"
            ),
            _ => formatter.write_str(self.generic_message()),
        }
    }
}

impl std::error::Error for SafeError {}
