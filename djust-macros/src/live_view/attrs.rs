//! Parses and validates the arguments of `#[live_view(...)]`.
//!
//! Keys are compared with constants and walked with `parse_nested_meta`;
//! duplicates, unknown keys and bad values are reported on the offending
//! token and parsing goes on (serde_derive's policy), so every mistake in
//! the attribute shows up in one compile.

use proc_macro2::{Span, TokenStream};
use syn::meta::ParseNestedMeta;
use syn::{LitInt, LitStr};

use crate::ctxt::Ctxt;

const PUBLIC: &str = "public";
const LOGIN_REQUIRED: &str = "login_required";
const PERMISSION: &str = "permission";
const LOGIN_URL: &str = "login_url";
const NAME: &str = "name";
const TICK: &str = "tick";
const REAUTH_EACH_EVENT: &str = "reauth_each_event";
const PERSIST: &str = "persist";
const UPLOAD: &str = "upload";
const TITLE: &str = "title";
const KEYS: &[&str] = &[
    PUBLIC,
    LOGIN_REQUIRED,
    PERMISSION,
    LOGIN_URL,
    NAME,
    TICK,
    REAUTH_EACH_EVENT,
    PERSIST,
    UPLOAD,
    TITLE,
];

/// The auth posture written in the attribute.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Posture {
    /// `public`
    Public,
    /// `login_required` (also implied by `permission`)
    LoginRequired,
}

/// Validated `#[live_view(...)]` arguments.
pub struct ViewAttrs {
    /// Auth posture (after applying "permission implies login_required").
    pub posture: Posture,
    /// `permission = "app.codename"`.
    pub permission: Option<String>,
    /// `login_url = "/login"`.
    pub login_url: Option<String>,
    /// `name = "contacts"`.
    pub name: Option<(String, Span)>,
    /// `tick = 1000` (ms) with its span.
    pub tick_ms: Option<(u64, Span)>,
    /// `reauth_each_event`.
    pub reauth_each_event: bool,
    /// `persist`, with its span (where a missing serde impl is reported).
    pub persist: Option<Span>,
    /// `upload(..)` slots, in order.
    pub uploads: Vec<super::upload::UploadSlot>,
    /// `title = "Contacts"`: the page title.
    pub title: Option<String>,
}

/// `^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$`
pub fn is_valid_permission(text: &str) -> bool {
    match text.split_once('.') {
        Some((app, codename)) => is_snake_name(app) && is_snake_name(codename),
        None => false,
    }
}

/// `^[a-z][a-z0-9_]*$`
pub fn is_snake_name(text: &str) -> bool {
    let mut bytes = text.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

/// A closest match for `word` among `candidates` (edit distance ≤ 2).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = if ca == *cb {
                previous
            } else {
                1 + previous.min(row[j]).min(row[j + 1])
            };
            previous = current;
        }
    }
    row[b.len()]
}

/// Parses the attribute's tokens, reporting problems to `cx`.
pub fn parse(args: TokenStream, cx: &Ctxt) -> ViewAttrs {
    let mut public: Option<Span> = None;
    let mut login_required: Option<Span> = None;
    let mut permission: Option<(String, Span)> = None;
    let mut login_url: Option<String> = None;
    let mut name: Option<(String, Span)> = None;
    let mut tick_ms: Option<(u64, Span)> = None;
    let mut reauth_each_event = false;
    let mut persist: Option<Span> = None;
    let mut uploads: Vec<super::upload::UploadSlot> = Vec::new();
    let mut title: Option<String> = None;
    let mut seen: Vec<String> = Vec::new();

    let parser = syn::meta::parser(|meta: ParseNestedMeta| {
        let Some(ident) = meta.path.get_ident().map(ToString::to_string) else {
            cx.error_spanned_by(
                &meta.path,
                "expected a `#[live_view]` option such as `public` or `login_required`",
            );
            return Ok(());
        };
        if seen.contains(&ident) && ident != UPLOAD {
            cx.error_spanned_by(&meta.path, format!("`{ident}` specified more than once"));
        }
        seen.push(ident.clone());
        let span = meta.path.segments[0].ident.span();
        match ident.as_str() {
            PUBLIC => public = Some(span),
            LOGIN_REQUIRED => login_required = Some(span),
            REAUTH_EACH_EVENT => reauth_each_event = true,
            PERSIST => persist = Some(span),
            UPLOAD => {
                if let Some(slot) = super::upload::parse(&meta, cx)? {
                    if uploads.iter().any(|other| other.name == slot.name) {
                        cx.error_at(
                            slot.span,
                            format!("upload slot `{}` is declared twice", slot.name),
                        );
                    }
                    uploads.push(slot);
                }
            }
            PERMISSION => {
                let lit: LitStr = meta.value()?.parse()?;
                let value = lit.value();
                if !is_valid_permission(&value) {
                    cx.error_spanned_by(&lit, format!("`{value}` is not a permission: use `app.codename`, e.g. `permission = \"contacts.view\"`"));
                }
                permission = Some((value, lit.span()));
            }
            LOGIN_URL => {
                let lit: LitStr = meta.value()?.parse()?;
                let value = lit.value();
                if !value.starts_with('/')
                    || value.starts_with("//")
                    || value.contains(['\\', '\r', '\n'])
                {
                    cx.error_spanned_by(&lit, format!("`login_url` must be a same-origin path starting with a single `/`, not `{value}`\n\nhelp: e.g. `login_url = \"/login\"`"));
                }
                login_url = Some(value);
            }
            NAME => {
                let lit: LitStr = meta.value()?.parse()?;
                let value = lit.value();
                if !is_snake_name(&value) {
                    cx.error_spanned_by(
                        &lit,
                        format!("view name `{value}` must match `^[a-z][a-z0-9_]*$`"),
                    );
                }
                name = Some((value, lit.span()));
            }
            TITLE => {
                let lit: LitStr = meta.value()?.parse()?;
                let value = lit.value();
                if value.trim().is_empty()
                    || value.chars().count() > 200
                    || value.chars().any(char::is_control)
                {
                    cx.error_spanned_by(&lit, "`title` is the page title: 1 to 200 characters of plain text, e.g. `title = \"Contacts\"`");
                }
                title = Some(value);
            }
            TICK => {
                let lit: LitInt = meta.value()?.parse()?;
                match lit.base10_parse::<u64>() {
                    Ok(ms) if ms > 0 => tick_ms = Some((ms, lit.span())),
                    _ => cx.error_spanned_by(&lit, "`tick` is an interval in milliseconds and must be a positive integer, e.g. `tick = 1000`"),
                }
            }
            other => {
                let hint = did_you_mean(other, KEYS.iter().copied())
                    .map(|k| format!("did you mean `{k}`? "))
                    .unwrap_or_default();
                cx.error_spanned_by(
                    &meta.path,
                    format!(
                        "unknown `#[live_view]` option `{other}`\n\nhelp: {hint}options are: {}",
                        KEYS.join(", ")
                    ),
                );
                if meta.input.peek(syn::Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                }
            }
        }
        Ok(())
    });
    if let Err(error) = syn::parse::Parser::parse2(parser, args) {
        cx.syn_error(error);
    }

    let posture = match (public, login_required) {
        (Some(_), Some(second)) => {
            cx.error_at(
                second,
                "a view is either `public` or `login_required`, not both",
            );
            Posture::LoginRequired
        }
        (Some(span), None) => {
            if permission.is_some() {
                cx.error_at(span, "`public` conflicts with `permission`: a permission needs a logged-in user\n\nhelp: remove `public` (a `permission` implies `login_required`)");
            }
            Posture::Public
        }
        (None, Some(_)) => Posture::LoginRequired,
        (None, None) if permission.is_some() => Posture::LoginRequired,
        (None, None) => {
            cx.error_at(
                Span::call_site(),
                "a live view must state its auth posture\n\nhelp: add `#[live_view(login_required)]` for signed-in users only, or `#[live_view(public)]` to serve everyone (public must be explicit)",
            );
            Posture::Public
        }
    };
    ViewAttrs {
        posture,
        permission: permission.map(|(value, _)| value),
        login_url,
        name,
        tick_ms,
        reauth_each_event,
        persist,
        uploads,
        title,
    }
}
