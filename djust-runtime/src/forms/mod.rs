//! Typed forms that validate as you type.
//!
//! A form is a struct deriving `serde::Deserialize` and `garde::Validate`.
//! A handler takes it as one parameter, `form: Form<ContactForm>`: the
//! macro reads it from the whole event (not from a key named `form`), and
//! only the struct's own fields are read. Every other key is dropped and
//! counted ([`dropped_keys_total`]); `_target` (the field the user
//! changed, sent by the client) is the framework's and is not counted.
//!
//! [`FormState`] keeps what the user typed, the errors of the last check
//! and which fields were touched; [`FormState::errors_for`] shows errors
//! only for touched fields. [`FormState::change`] is for `dj-change`;
//! [`FormState::submit`] is for `dj-submit` and validates again from the
//! submitted values alone, whatever an earlier `dj-change` saw.

mod decode;

pub use decode::{fields_of, FieldError};

use decode::FieldValue;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::view::Params;

pub use garde;

/// The key naming the field a `dj-change` was for.
const TARGET: &str = "_target";

static DROPPED_KEYS: AtomicU64 = AtomicU64::new(0);

/// Unknown keys dropped from form events since the process started.
pub fn dropped_keys_total() -> u64 {
    DROPPED_KEYS.load(Ordering::Relaxed)
}

/// What a form struct needs: serde both ways (the initial values are
/// shown in the inputs) and garde's `Validate` with a default context.
pub trait FormData: DeserializeOwned + Serialize + garde::Validate {}

impl<T> FormData for T
where
    T: DeserializeOwned + Serialize + garde::Validate,
    T::Context: Default,
{
}

/// A form as one event sent it: the text of each of the struct's fields,
/// the struct if every field had the right type, and the per-field type
/// errors otherwise. Decoding never fails the event: a wrong type is an
/// error shown next to its field, like a validation error.
#[derive(Debug, Clone)]
pub struct Form<T> {
    raw: BTreeMap<&'static str, String>,
    parsed: Result<T, Vec<FieldError>>,
    target: Option<&'static str>,
    dropped: usize,
}

impl<T> Form<T> {
    /// The field the user changed (the client's `_target`), if it is one of the struct's.
    pub fn target(&self) -> Option<&'static str> {
        self.target
    }

    /// Unknown keys dropped from this event.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// The text sent for `field` ("" if absent).
    pub fn raw(&self, field: &str) -> &str {
        self.raw.get(field).map(String::as_str).unwrap_or_default()
    }

    /// The struct, if every field had the right type (not yet validated).
    pub fn parsed(&self) -> Option<&T> {
        self.parsed.as_ref().ok()
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(items) => items.iter().map(text_of).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

/// Reads `T` from an event's params (what the macro calls for `Form<T>`).
pub fn decode_form<T: DeserializeOwned>(params: &Params) -> Form<T> {
    let fields = fields_of::<T>();
    let mut dropped = 0;
    for key in params.keys() {
        if key != TARGET && !fields.contains(&key.as_str()) {
            dropped += 1;
        }
    }
    if dropped > 0 {
        DROPPED_KEYS.fetch_add(dropped as u64, Ordering::Relaxed);
        tracing::debug!(dropped, "form event: unknown keys dropped");
    }
    let mut raw = BTreeMap::new();
    let mut present = Vec::new();
    for field in fields {
        if let Some(value) = params.get(*field) {
            raw.insert(*field, text_of(value));
            present.push((*field, FieldValue { field, value }));
        }
    }
    let target = params
        .get(TARGET)
        .and_then(Value::as_str)
        .and_then(|name| fields.iter().copied().find(|f| *f == name));
    let parsed = parse::<T>(fields, &present);
    Form {
        raw,
        parsed,
        target,
        dropped: dropped as usize,
    }
}

/// Deserializes the whole struct; on failure, tries each field alone to
/// report every field with a wrong type, not only the first.
fn parse<T: DeserializeOwned>(
    fields: &'static [&'static str],
    present: &[(&'static str, FieldValue<'_>)],
) -> Result<T, Vec<FieldError>> {
    let map = |only: Option<&str>| {
        let entries: Vec<(&'static str, FieldValue<'_>)> = present
            .iter()
            .filter(|(name, _)| only.is_none_or(|o| o == *name))
            .map(|(name, value)| (*name, value.clone()))
            .collect();
        serde::de::value::MapDeserializer::<_, FieldError>::new(entries.into_iter())
    };
    match T::deserialize(map(None)) {
        Ok(value) => Ok(value),
        Err(first) => {
            let mut errors = vec![first];
            for field in fields {
                if errors.iter().any(|e| e.field == Some(*field)) {
                    continue;
                }
                // Alone, every other field is missing: only this field's own type error counts.
                if let Err(error) = T::deserialize(map(Some(field))) {
                    if error.field == Some(*field) {
                        errors.push(error);
                    }
                }
            }
            Err(errors)
        }
    }
}

/// A form's state in a view: what the user typed, the errors of the last
/// check, and which fields were touched.
#[derive(Debug, Clone)]
pub struct FormState<T> {
    raw: BTreeMap<&'static str, String>,
    errors: BTreeMap<&'static str, Vec<String>>,
    form_errors: Vec<String>,
    touched: BTreeSet<&'static str>,
    valid: Option<T>,
}

impl<T: FormData> FormState<T>
where
    T::Context: Default,
{
    /// A form showing `initial` (validated, nothing touched yet).
    pub fn new(initial: T) -> Self {
        let mut raw = BTreeMap::new();
        if let Ok(Value::Object(map)) = serde_json::to_value(&initial) {
            for field in fields_of::<T>() {
                if let Some(value) = map.get(*field) {
                    raw.insert(*field, text_of(value));
                }
            }
        }
        let mut state = FormState {
            raw,
            errors: BTreeMap::new(),
            form_errors: Vec::new(),
            touched: BTreeSet::new(),
            valid: None,
        };
        state.check(Ok(initial));
        state
    }

    /// `dj-change`: takes the values sent, touches the changed field (the
    /// client's `_target`, else every field whose text changed) and validates.
    pub fn change(&mut self, form: Form<T>) {
        match form.target {
            Some(field) => {
                self.touched.insert(field);
            }
            None => {
                for (field, text) in &form.raw {
                    if self.raw.get(field) != Some(text) {
                        self.touched.insert(field);
                    }
                }
            }
        }
        self.raw = form.raw;
        self.check(form.parsed);
    }

    /// `dj-submit`: touches every field and validates the submitted values
    /// (never the state an earlier `dj-change` left). The struct if valid.
    pub fn submit(&mut self, form: Form<T>) -> Option<T> {
        self.touched.extend(fields_of::<T>().iter().copied());
        self.raw = form.raw;
        self.check(form.parsed);
        self.valid.take()
    }

    fn check(&mut self, parsed: Result<T, Vec<FieldError>>) {
        self.errors.clear();
        self.form_errors.clear();
        self.valid = None;
        let fields = fields_of::<T>();
        match parsed {
            Err(errors) => {
                for error in errors {
                    match error.field {
                        Some(field) => self.errors.entry(field).or_default().push(error.message),
                        None => self.form_errors.push(error.message),
                    }
                }
            }
            Ok(value) => match value.validate() {
                Ok(()) => self.valid = Some(value),
                Err(report) => {
                    for (path, error) in report.iter() {
                        let path = path.to_string();
                        let head = path.split(['.', '[']).next().unwrap_or_default();
                        match fields.iter().find(|f| **f == head) {
                            Some(field) => self
                                .errors
                                .entry(field)
                                .or_default()
                                .push(error.message().to_owned()),
                            None => self.form_errors.push(error.message().to_owned()),
                        }
                    }
                }
            },
        }
    }

    /// The text to show in `field`'s input.
    pub fn value(&self, field: &str) -> &str {
        self.raw.get(field).map(String::as_str).unwrap_or_default()
    }

    /// `field`'s errors if the user touched it; none otherwise.
    pub fn errors_for(&self, field: &str) -> &[String] {
        if !self.touched.contains(field) {
            return &[];
        }
        self.errors
            .get(field)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// `field`'s first error if touched (convenient in templates).
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.errors_for(field).first().map(String::as_str)
    }

    /// Errors not tied to one field, shown once anything is touched.
    pub fn form_errors(&self) -> &[String] {
        if self.touched.is_empty() {
            return &[];
        }
        &self.form_errors
    }

    /// Whether the user touched `field` (every field after a submit).
    pub fn is_touched(&self, field: &str) -> bool {
        self.touched.contains(field)
    }

    /// Whether the last check found no error, touched or not.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty() && self.form_errors.is_empty()
    }

    /// Forgets what was touched (e.g. after a successful save).
    pub fn reset_touched(&mut self) {
        self.touched.clear();
    }
}
