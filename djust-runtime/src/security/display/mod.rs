//! Display-safe text: what one user typed, made safe to show to others.
//!
//! Escaping (done by `html!`) stops text from becoming markup; it does
//! not stop text from *looking* like something else. Bidi controls reorder
//! what is shown (`"\u{202E}gnp.exe"` reads as "exe.png"), zero-width and
//! other format characters make two different names look the same,
//! control characters ring bells or drive terminals where logs are read,
//! and stacked combining marks draw over the lines around them.
//!
//! - [`display_text`] / [`display_multiline`]: free text (messages,
//!   comments, titles). Strips format, bidi-control and control characters
//!   (line breaks become a space, or are kept as `\n`), caps combining
//!   marks, keeps everything else, including right-to-left scripts and emoji.
//! - [`identifier`] / [`identifier_with_max`]: names people pick (nicks,
//!   handles). NFKC-normalises, refuses what is hidden instead of silently
//!   removing it, and returns an [`Identifier`] whose
//!   [`key`](Identifier::key) is equal for look-alikes (case, full-width
//!   forms, confusable letters from other scripts).
//!
//! Character properties come from maintained Unicode crates
//! (`unicode-properties`, `unicode-normalization`, `unicode-security`,
//! `caseless`), not from tables of our own. Re-exported as `djust::text`.
//! See `docs/security.md`, "Display-safe text".

mod class;
mod identifier;
mod text;

pub use identifier::{
    identifier, identifier_with_max, Identifier, IdentifierError, DEFAULT_MAX_IDENTIFIER_CHARS,
};
pub use text::{display_multiline, display_text, MAX_COMBINING_MARKS};
