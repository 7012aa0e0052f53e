//! Parses and checks one `upload(..)` slot of `#[live_view(...)]`:
//! `upload(photo, accept = "image/png .jpg", max_size = "2MB",
//! max_entries = 3, permission = "contacts.edit", active_content)`.
//!
//! Every accepted type is checked against the one table of known file
//! types the server uses too (shared source), with a suggestion for a
//! near miss; active content (SVG, HTML, XML, JS) needs `active_content`.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{LitInt, LitStr};

use super::attrs::{did_you_mean, is_snake_name, is_valid_permission};
use crate::ctxt::Ctxt;

/// The file-type table of `djust_runtime::upload::types`, compiled here
/// from the same source file so the macro and the server cannot disagree.
#[allow(dead_code)]
#[path = "../../../djust-runtime/src/upload/types.rs"]
mod types;

const ACCEPT: &str = "accept";
const MAX_SIZE: &str = "max_size";
const MAX_ENTRIES: &str = "max_entries";
const PERMISSION: &str = "permission";
const ACTIVE_CONTENT: &str = "active_content";
const KEYS: &[&str] = &[ACCEPT, MAX_SIZE, MAX_ENTRIES, PERMISSION, ACTIVE_CONTENT];

/// Most files one slot may take at once.
const MAX_ENTRIES_LIMIT: u32 = 100;

/// A validated upload slot.
pub struct UploadSlot {
    /// `photo`.
    pub name: String,
    /// Where the name was written.
    pub span: Span,
    /// `accept` entries, as written (each known).
    pub accept: Vec<String>,
    /// Bytes.
    pub max_size: u64,
    /// Files at once.
    pub max_entries: u32,
    /// `permission = "app.codename"`.
    pub permission: Option<String>,
    /// `active_content`.
    pub active_content: bool,
}

/// Parses `upload(...)`'s contents (the `meta` of the `upload` key).
pub fn parse(meta: &ParseNestedMeta, cx: &Ctxt) -> syn::Result<Option<UploadSlot>> {
    let mut name: Option<(String, Span)> = None;
    let mut accept: Option<(Vec<String>, LitStr)> = None;
    let mut max_size: Option<u64> = None;
    let mut max_size_written = false;
    let mut max_entries = 1u32;
    let mut permission = None;
    let mut active_content = false;
    let mut seen: Vec<String> = Vec::new();
    meta.parse_nested_meta(|inner| {
        let Some(ident) = inner.path.get_ident().map(ToString::to_string) else {
            cx.error_spanned_by(&inner.path, "expected the slot's name, then `accept = \"..\"`, `max_size = \"..\"`, `max_entries = N`, `permission = \"..\"` or `active_content`");
            return Ok(());
        };
        let span = inner.path.segments[0].ident.span();
        let is_key = KEYS.contains(&ident.as_str());
        if is_key && seen.contains(&ident) {
            cx.error_at(span, format!("`{ident}` specified more than once"));
        }
        seen.push(ident.clone());
        match ident.as_str() {
            ACCEPT => {
                let lit: LitStr = inner.value()?.parse()?;
                let entries: Vec<String> = lit
                    .value()
                    .split([' ', ','])
                    .filter(|entry| !entry.is_empty())
                    .map(str::to_owned)
                    .collect();
                accept = Some((entries, lit));
            }
            MAX_SIZE => {
                let lit: LitStr = inner.value()?.parse()?;
                max_size_written = true;
                match types::parse_size(&lit.value()) {
                    Some(bytes) => max_size = Some(bytes),
                    None => cx.error_spanned_by(&lit, format!("`{}` is not a size: write a number and a unit, e.g. `max_size = \"2MB\"` (B, KB, MB, GB; at most 1 TB)", lit.value())),
                }
            }
            MAX_ENTRIES => {
                let lit: LitInt = inner.value()?.parse()?;
                match lit.base10_parse::<u32>() {
                    Ok(n) if (1..=MAX_ENTRIES_LIMIT).contains(&n) => max_entries = n,
                    _ => cx.error_spanned_by(&lit, format!("`max_entries` is how many files the slot takes at once: 1 to {MAX_ENTRIES_LIMIT}")),
                }
            }
            PERMISSION => {
                let lit: LitStr = inner.value()?.parse()?;
                if !is_valid_permission(&lit.value()) {
                    cx.error_spanned_by(&lit, format!("`{}` is not a permission: use `app.codename`, e.g. `permission = \"contacts.edit\"`", lit.value()));
                }
                permission = Some(lit.value());
            }
            ACTIVE_CONTENT => active_content = true,
            other if name.is_none() && !inner.input.peek(syn::Token![=]) => {
                if !is_snake_name(other) {
                    cx.error_at(span, format!("upload slot `{other}` must match `^[a-z][a-z0-9_]*$`"));
                }
                name = Some((other.to_owned(), span));
            }
            other => {
                let hint = did_you_mean(other, KEYS.iter().copied())
                    .map(|k| format!("did you mean `{k}`? "))
                    .unwrap_or_default();
                cx.error_at(span, format!("unknown `upload(..)` option `{other}`\n\nhelp: {hint}options are: {}", KEYS.join(", ")));
                if inner.input.peek(syn::Token![=]) {
                    let _: syn::Expr = inner.value()?.parse()?;
                }
            }
        }
        Ok(())
    })?;
    let Some((name, span)) = name else {
        cx.error_spanned_by(&meta.path, "an upload slot needs a name first: `upload(photo, accept = \"image/png .jpg\", max_size = \"2MB\")`");
        return Ok(None);
    };
    let Some((accept, accept_lit)) = accept else {
        cx.error_at(span, format!("upload slot `{name}` needs `accept = \"..\"`: the file types it takes, e.g. `accept = \"image/png .jpg\"`"));
        return Ok(None);
    };
    if accept.is_empty() {
        cx.error_spanned_by(
            &accept_lit,
            "`accept` lists no type: e.g. `accept = \"image/png .jpg\"`",
        );
    }
    for entry in &accept {
        check_accept_entry(entry, active_content, &accept_lit, cx);
    }
    let Some(max_size) = max_size else {
        if !max_size_written {
            cx.error_at(span, format!("upload slot `{name}` needs `max_size`: the largest file it takes, e.g. `max_size = \"2MB\"`"));
        }
        return Ok(None);
    };
    Ok(Some(UploadSlot {
        name,
        span,
        accept,
        max_size,
        max_entries,
        permission,
        active_content,
    }))
}

/// One `accept` entry must name known types; active ones need `active_content`.
fn check_accept_entry(entry: &str, active_content: bool, lit: &LitStr, cx: &Ctxt) {
    let resolved = types::resolve(entry);
    if resolved.is_empty() {
        let known = types::FILE_TYPES.iter().flat_map(|file_type| {
            std::iter::once(file_type.mime).chain(file_type.extensions.iter().copied())
        });
        let hint = match did_you_mean(&entry.to_ascii_lowercase(), known) {
            Some(close) => format!("did you mean `{close}`?"),
            None => "name an extension (`.png`), a MIME type (`image/png`) or a family (`image/*`) of the known types: images, PDF, ZIP, audio, video, text, CSV, JSON".to_owned(),
        };
        cx.error_spanned_by(
            lit,
            format!("`{entry}` is not a file type djust knows\n\nhelp: {hint}"),
        );
        return;
    }
    if !active_content {
        if let Some(active) = resolved.iter().find(|file_type| file_type.active) {
            let what = if active.mime == entry.to_ascii_lowercase() {
                String::new()
            } else {
                format!(" ({})", active.mime)
            };
            cx.error_spanned_by(lit, format!("`{entry}` is active content{what}: a browser runs it, so an uploaded one can attack your users\n\nhelp: remove it, or add `active_content` to the slot if you really accept it and serve it only as a download"));
        }
    }
}
