//! [`Error`] and [`Result`]: what mount, handlers and the app return.
//!
//! `Error` converts from any `std::error::Error` with `?` (like `anyhow`),
//! so a handler can bubble up a database error. What reaches the client is
//! decided elsewhere: in production only a generic message, in debug the
//! error's text (sanitised). Never the handler's parameters.

use std::fmt;

/// What kind of failure an [`Error`] is; decides the client-facing message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Something failed inside the application.
    Internal,
    /// The user may not do this (sent as "permission denied").
    Forbidden,
    /// The thing asked for does not exist.
    NotFound,
    /// The request was invalid; the message is meant for the user.
    BadRequest,
    /// The server's configuration is invalid (startup errors).
    Config,
    /// The change conflicts with a newer state (e.g. a queued offline edit
    /// of a note someone changed since); the message is meant for the user.
    Conflict,
}

/// An error from application code or the framework.
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An internal error with a message (shown to the client only in debug).
    pub fn msg(message: impl fmt::Display) -> Self {
        Error {
            kind: ErrorKind::Internal,
            message: message.to_string(),
            source: None,
        }
    }

    /// The user lacks permission.
    pub fn forbidden() -> Self {
        Error {
            kind: ErrorKind::Forbidden,
            message: "permission denied".into(),
            source: None,
        }
    }

    /// The requested object does not exist.
    pub fn not_found() -> Self {
        Error {
            kind: ErrorKind::NotFound,
            message: "not found".into(),
            source: None,
        }
    }

    /// An invalid request; `message` is written for the user.
    pub fn bad_request(message: impl fmt::Display) -> Self {
        Error {
            kind: ErrorKind::BadRequest,
            message: message.to_string(),
            source: None,
        }
    }

    /// The change is refused because it conflicts with a newer state: a
    /// handler returns it for a stale offline action (compare
    /// [`EventCtx::offline`](crate::view::EventCtx::offline)'s timestamp
    /// with the record's). `message` is written for the user: it is shown
    /// in the page's flash area (escaped) and returned with the action's
    /// `conflict` result. Return it before changing any state.
    pub fn conflict(message: impl fmt::Display) -> Self {
        Error {
            kind: ErrorKind::Conflict,
            message: message.to_string(),
            source: None,
        }
    }

    /// Invalid configuration, named so the operator can fix it.
    pub fn config(message: impl fmt::Display) -> Self {
        Error {
            kind: ErrorKind::Config,
            message: message.to_string(),
            source: None,
        }
    }

    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message (may contain internal details: log it, do not send it).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Error {
    fn from(error: E) -> Self {
        Error {
            kind: ErrorKind::Internal,
            message: error.to_string(),
            source: Some(Box::new(error)),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(source) = &self.source {
            let text = source.to_string();
            if text != self.message {
                write!(f, ": {text}")?;
            }
        }
        Ok(())
    }
}

/// Written for people, like `anyhow`'s: `fn main() -> djust::Result<()>`
/// prints an error with `{:?}`, so a startup error reads
/// `Error: invalid DJUST_SECRET_KEY: …`, then the chain of causes.
/// `{:#?}` keeps the structured form for debugging.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            return f
                .debug_struct("Error")
                .field("kind", &self.kind)
                .field("message", &self.message)
                .field("source", &self.source)
                .finish();
        }
        f.write_str(&self.message)?;
        let mut causes = Vec::new();
        let mut cause = self
            .source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static));
        while let Some(error) = cause {
            causes.push(error.to_string());
            cause = error.source();
        }
        // `From` copies the source's text into the message: not twice.
        if causes.first() == Some(&self.message) {
            causes.remove(0);
        }
        if !causes.is_empty() {
            f.write_str("\n\nCaused by:")?;
            for text in causes {
                write!(f, "\n    {text}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_reads_like_a_message_for_main_and_alternate_keeps_the_fields() {
        let config = Error::config("invalid DJUST_SECRET_KEY: must be set");
        assert_eq!(
            format!("{config:?}"),
            "invalid DJUST_SECRET_KEY: must be set"
        );
        let io = std::io::Error::new(std::io::ErrorKind::AddrInUse, "address in use");
        let wrapped = Error::from(io);
        assert_eq!(format!("{wrapped:?}"), "address in use");
        assert!(format!("{config:#?}").contains("kind: Config"));
    }

    #[test]
    fn converts_from_std_errors_with_question_mark() {
        fn parse(text: &str) -> Result<i32> {
            Ok(text.parse::<i32>()?)
        }
        let error = parse("x").err().map(|e| (e.kind(), e.to_string()));
        assert_eq!(
            error,
            Some((ErrorKind::Internal, "invalid digit found in string".into()))
        );
        assert_eq!(Error::forbidden().kind(), ErrorKind::Forbidden);
    }
}
