//! Flash messages: a short notice shown once ("Contact saved."), put by a
//! view with `ctx.put_flash(kind, message)`. The client shows it in the
//! page's flash area as text (escaped like any text), the user can dismiss
//! it without a round trip, and it survives a live navigation and a full
//! page load (carried there in a signed, HttpOnly cookie that the next page
//! clears when it reads it).

use serde::{Deserialize, Serialize};

/// Longest flash message kept, in characters (longer ones are cut).
pub const MAX_FLASH_CHARS: usize = 300;

/// Flash messages kept at once (the oldest are dropped).
pub const MAX_FLASH_MESSAGES: usize = 4;

/// What a flash message is about; the client gives it the class
/// `flash-<kind>` and errors the `alert` role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashKind {
    /// Neutral information ("Logged out.").
    Info,
    /// Something done ("Contact saved.").
    Success,
    /// Done, but check this.
    Warning,
    /// Not done ("The contact no longer exists.").
    Error,
}

impl FlashKind {
    /// The kind's name, as sent and used in the class.
    pub fn as_str(self) -> &'static str {
        match self {
            FlashKind::Info => "info",
            FlashKind::Success => "success",
            FlashKind::Warning => "warning",
            FlashKind::Error => "error",
        }
    }
}

/// One flash message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flash {
    /// What it is about.
    pub kind: FlashKind,
    /// The text (plain text, never markup).
    pub message: String,
}

impl Flash {
    /// A message of `kind`, cut to [`MAX_FLASH_CHARS`] and stripped of
    /// control and invisible formatting characters.
    pub fn new(kind: FlashKind, message: &str) -> Self {
        let message = message
            .chars()
            .filter(|c| !c.is_control() && !crate::security::is_format_char(*c))
            .take(MAX_FLASH_CHARS)
            .collect();
        Flash { kind, message }
    }
}

impl From<&Flash> for crate::protocol::FlashFrame {
    fn from(flash: &Flash) -> Self {
        crate::protocol::FlashFrame {
            kind: flash.kind.as_str().to_owned(),
            message: flash.message.clone(),
        }
    }
}

/// The frames' form of `messages`.
pub fn flash_frames(messages: &[Flash]) -> Vec<crate::protocol::FlashFrame> {
    messages.iter().map(Into::into).collect()
}

/// Adds `flash` to `messages`, keeping the newest [`MAX_FLASH_MESSAGES`]
/// and no exact duplicate.
pub fn push_flash(messages: &mut Vec<Flash>, flash: Flash) {
    messages.retain(|kept| *kept != flash);
    messages.push(flash);
    if messages.len() > MAX_FLASH_MESSAGES {
        let extra = messages.len() - MAX_FLASH_MESSAGES;
        messages.drain(..extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_cut_cleaned_and_bounded() {
        let flash = Flash::new(
            FlashKind::Info,
            &format!("a\u{202e}b\nc{}", "x".repeat(1000)),
        );
        assert!(flash.message.starts_with("abc"));
        assert_eq!(flash.message.chars().count(), MAX_FLASH_CHARS);
        let mut all = Vec::new();
        for n in 0..10 {
            push_flash(&mut all, Flash::new(FlashKind::Success, &n.to_string()));
        }
        push_flash(&mut all, Flash::new(FlashKind::Success, "9"));
        assert_eq!(all.len(), MAX_FLASH_MESSAGES);
        assert_eq!(all.last().map(|f| f.message.as_str()), Some("9"));
    }
}
