//! What the smoke checks send: benign values per parameter kind, the string
//! payloads, hostile event names, malformed raw frames, and the seeded
//! shuffle that orders them.

use djust_runtime::view::{HandlerMeta, ParamKind, ParamMeta, ViewMeta};
use serde_json::{Map, Value};
use std::collections::HashSet;

use crate::payloads;

/// Benign strings for string-ish parameters; the XSS baseline is the union of
/// what the view renders for each of them.
pub(crate) const BENIGN_STRINGS: [&str; 6] = [
    "smoke",
    "",
    "Hello, world!",
    "42",
    "smoke@example.com",
    "https://example.com/smoke",
];

/// `true` for parameters the XSS check puts payloads into: `String`, `Vec<_>`
/// and other (serde) types, optional or not.
pub(crate) fn is_stringish(param: &ParamMeta) -> bool {
    matches!(
        param.kind,
        ParamKind::String | ParamKind::List | ParamKind::Other
    )
}

/// A value valid for `param`'s kind.
pub(crate) fn benign_value(param: &ParamMeta) -> Value {
    match param.kind {
        ParamKind::String | ParamKind::Other => Value::from(BENIGN_STRINGS[0]),
        ParamKind::Integer => Value::from(1),
        ParamKind::Float => Value::from(1.5),
        ParamKind::Bool => Value::Bool(true),
        ParamKind::List => Value::Array(Vec::new()),
    }
}

/// `value` placed where `param` expects it: a string payload in a list
/// parameter is sent as a one-element list, as a browser form would.
pub(crate) fn wrap_for(param: &ParamMeta, value: Value) -> Value {
    match (param.kind, &value) {
        (ParamKind::List, Value::String(_)) => Value::Array(vec![value]),
        _ => value,
    }
}

/// The params of an event to `handler` where every parameter is benign.
/// With `include_optional == false`, `Option` and `#[default]` parameters
/// are left out (they take their "absent" value).
pub(crate) fn benign_params(handler: &HandlerMeta, include_optional: bool) -> Map<String, Value> {
    let mut params = Map::new();
    for param in handler.params {
        if include_optional || !(param.optional || param.has_default) {
            params.insert(param.name.to_owned(), benign_value(param));
        }
    }
    params
}

/// Benign params for `handler` with `param` replaced by `value`.
pub(crate) fn params_with(
    handler: &HandlerMeta,
    param: &ParamMeta,
    value: Value,
) -> Map<String, Value> {
    let mut params = benign_params(handler, false);
    params.insert(param.name.to_owned(), value);
    params
}

/// The XSS check's corpus: XSS, template injection and unicode payloads,
/// deduplicated, in corpus order.
pub(crate) fn xss_payloads() -> Vec<&'static str> {
    dedup(
        payloads::xss()
            .iter()
            .chain(payloads::template_injection())
            .chain(payloads::unicode()),
    )
}

/// Every string payload of every corpus (adds SQL and path traversal).
pub(crate) fn all_string_payloads() -> Vec<&'static str> {
    dedup(payloads::all_strings().iter())
}

fn dedup<'a>(items: impl Iterator<Item = &'a String>) -> Vec<&'a str> {
    let mut seen = HashSet::new();
    items
        .map(String::as_str)
        .filter(|item| seen.insert(*item))
        .collect()
}

/// The corpus kind matching a parameter's kind.
pub(crate) fn corpus_kind(kind: ParamKind) -> payloads::ParamKind {
    match kind {
        ParamKind::String => payloads::ParamKind::String,
        ParamKind::Integer => payloads::ParamKind::Integer,
        ParamKind::Float => payloads::ParamKind::Float,
        ParamKind::Bool => payloads::ParamKind::Bool,
        ParamKind::List => payloads::ParamKind::List,
        ParamKind::Other => payloads::ParamKind::Object,
    }
}

/// Wrong-type and boundary values for `kind`, plus every `Any` value,
/// deduplicated.
pub(crate) fn type_confusion_values(kind: ParamKind) -> Vec<Value> {
    let mut seen = HashSet::new();
    payloads::type_confusion(corpus_kind(kind))
        .into_iter()
        .chain(payloads::type_confusion(payloads::ParamKind::Any))
        .filter(|value| seen.insert(value.to_string()))
        .collect()
}

/// Latin letters and the Cyrillic letters that look like them.
const HOMOGLYPHS: [(char, char); 10] = [
    ('a', '\u{430}'),
    ('c', '\u{441}'),
    ('e', '\u{435}'),
    ('o', '\u{43e}'),
    ('p', '\u{440}'),
    ('x', '\u{445}'),
    ('y', '\u{443}'),
    ('i', '\u{456}'),
    ('s', '\u{455}'),
    ('j', '\u{458}'),
];

/// `name` with its first letter that has a Cyrillic look-alike replaced.
fn homoglyph(name: &str) -> Option<String> {
    let (index, latin) = name
        .char_indices()
        .find(|(_, c)| HOMOGLYPHS.iter().any(|(l, _)| l == c))?;
    let cyrillic = HOMOGLYPHS
        .iter()
        .find(|(l, _)| *l == latin)
        .map(|(_, c)| *c)?;
    let mut out = String::with_capacity(name.len() + 2);
    out.push_str(&name[..index]);
    out.push(cyrillic);
    out.push_str(&name[index + latin.len_utf8()..]);
    Some(out)
}

/// An event name the allowlist must refuse, and the handler it imitates.
pub(crate) struct HostileName {
    /// The name sent.
    pub name: String,
    /// The handler it is derived from, whose benign params are sent along.
    pub imitates: Option<&'static HandlerMeta>,
}

/// Lifecycle methods and private names: never callable as events, even if
/// the view's metadata lists them (that is the bug the check reports).
const LIFECYCLE_NAMES: [&str; 8] = [
    "mount",
    "render",
    "check_permissions",
    "handle_tick",
    "handle_info",
    "__init__",
    "_private",
    "",
];

/// Names that are not handlers unless a view happens to call one that.
const OTHER_NAMES: [&str; 7] = [
    "view",
    "meta",
    "dispatch",
    "handle_event",
    "__class__",
    "__proto__",
    "constructor",
];

/// Names that must not reach a handler: lifecycle methods and private names
/// (always), framework-ish names, near-misses of every handler name (case,
/// whitespace, NUL, zero-width space, Cyrillic homoglyph, prefixes), and a
/// 10 KB name. Framework-ish names and near-misses that really are handlers
/// of `meta` are left out.
pub(crate) fn hostile_names(meta: &ViewMeta) -> Vec<HostileName> {
    let mut names: Vec<HostileName> = LIFECYCLE_NAMES
        .iter()
        .map(|name| HostileName {
            name: (*name).to_owned(),
            imitates: None,
        })
        .collect();
    let mut optional: Vec<HostileName> = OTHER_NAMES
        .iter()
        .map(|name| HostileName {
            name: (*name).to_owned(),
            imitates: None,
        })
        .collect();
    optional.push(HostileName {
        name: "a".repeat(10 * 1024),
        imitates: None,
    });
    for handler in meta.handlers {
        let base = handler.name;
        let mut variants = vec![
            base.to_uppercase(),
            format!("{base} "),
            format!(" {base}"),
            format!("{base}\0"),
            format!("_{base}"),
            format!("{base}\u{200b}"),
            format!("../{base}"),
            format!("{base};{base}"),
        ];
        variants.extend(homoglyph(base));
        optional.extend(variants.into_iter().map(|name| HostileName {
            name,
            imitates: Some(handler),
        }));
    }
    optional.retain(|hostile| meta.handler(&hostile.name).is_none());
    names.extend(optional);
    let mut seen = HashSet::new();
    names.retain(|hostile| seen.insert(hostile.name.clone()));
    names
}

/// One malformed or hostile raw text frame.
pub(crate) struct RawFrame {
    /// What the frame is, for failure messages.
    pub label: String,
    /// The text sent.
    pub text: String,
}

/// Nesting depth of the deeply nested raw frames.
pub(crate) const RAW_NESTING_DEPTH: usize = 10_000;

/// Length in bytes of the oversized strings in raw frames.
pub(crate) const RAW_LONG_LEN: usize = 100 * 1024;

fn raw(label: impl Into<String>, text: impl Into<String>) -> RawFrame {
    RawFrame {
        label: label.into(),
        text: text.into(),
    }
}

fn json_str(text: &str) -> String {
    Value::from(text).to_string()
}

/// Malformed frames: bad JSON, wrong types for `event`/`params`/`ref`,
/// params as array or string, 10,000-deep nesting and 100 KB strings, for
/// the view and for every handler and parameter in `handlers`.
pub(crate) fn raw_frames(handlers: &[&'static HandlerMeta]) -> Vec<RawFrame> {
    let deep_arrays = format!(
        "{}{}",
        "[".repeat(RAW_NESTING_DEPTH),
        "]".repeat(RAW_NESTING_DEPTH)
    );
    let deep_objects = format!(
        "{}{{}}{}",
        "{\"a\":".repeat(RAW_NESTING_DEPTH),
        "}".repeat(RAW_NESTING_DEPTH)
    );
    let long = json_str(&"x".repeat(RAW_LONG_LEN));
    let mut frames = vec![
        raw("empty frame", ""),
        raw("whitespace", " \n\t"),
        raw("not JSON", "not json"),
        raw("unterminated object", "{"),
        raw("stray brace", "}"),
        raw("JSON array", "[]"),
        raw("JSON null", "null"),
        raw("JSON number", "42"),
        raw("JSON string", "\"event\""),
        raw("empty object", "{}"),
        raw("unknown type", r#"{"type":"nope"}"#),
        raw("numeric type", r#"{"type":42}"#),
        raw("null type", r#"{"type":null}"#),
        raw("event without name", r#"{"type":"event"}"#),
        raw(
            "event name null",
            r#"{"type":"event","event":null,"params":{}}"#,
        ),
        raw(
            "event name number",
            r#"{"type":"event","event":42,"params":{}}"#,
        ),
        raw(
            "event name bool",
            r#"{"type":"event","event":true,"params":{}}"#,
        ),
        raw(
            "event name object",
            r#"{"type":"event","event":{"name":"x"},"params":{}}"#,
        ),
        raw(
            "event name lone surrogate",
            r#"{"type":"event","event":"\ud800","params":{}}"#,
        ),
        raw("request_html", r#"{"type":"request_html"}"#),
        raw(
            "mount frame after mount",
            r#"{"type":"mount","view":"x","params":{}}"#,
        ),
        raw("ping with junk", r#"{"type":"ping","junk":[1,2,3]}"#),
        raw("10,000-deep arrays as the frame", deep_arrays.clone()),
        raw("10,000-deep objects as the frame", deep_objects.clone()),
        raw(
            "100 KB event name",
            format!(r#"{{"type":"event","event":{long},"params":{{}}}}"#),
        ),
        raw("100 KB of garbage", "x".repeat(RAW_LONG_LEN)),
    ];
    for handler in handlers {
        let name = json_str(handler.name);
        let event = |label: &str, rest: &str| {
            raw(
                format!("`{}`: {label}", handler.name),
                format!(r#"{{"type":"event","event":{name}{rest}}}"#),
            )
        };
        frames.extend([
            event("missing params", ""),
            event("params null", r#","params":null"#),
            event("params array", r#","params":[]"#),
            event("params array of pairs", r#","params":[["a",1]]"#),
            event("params string", r#","params":"x""#),
            event("params number", r#","params":1"#),
            event("params bool", r#","params":true"#),
            event("ref string", r#","params":{},"ref":"x""#),
            event("ref negative", r#","params":{},"ref":-1"#),
            event("ref huge", r#","params":{},"ref":1e400"#),
            event("duplicate event key", r#","event":"mount","params":{}"#),
            event("duplicate params key", r#","params":{},"params":[]"#),
            event(
                "10,000-deep params",
                &format!(r#","params":{deep_objects}"#),
            ),
            event(
                "100 KB junk param",
                &format!(r#","params":{{"junk":{long}}}"#),
            ),
        ]);
        frames.push(raw(
            format!("`{}`: trailing garbage", handler.name),
            format!(r#"{{"type":"event","event":{name},"params":{{}}}} trailing"#),
        ));
        for param in handler.params {
            let key = json_str(param.name);
            let with = |label: &str, value: &str| {
                raw(
                    format!("`{}`({}): {label}", handler.name, param.name),
                    format!(r#"{{"type":"event","event":{name},"params":{{{key}:{value}}}}}"#),
                )
            };
            frames.push(with("10,000-deep arrays", &deep_arrays));
            frames.push(with("10,000-deep objects", &deep_objects));
            frames.push(with("100 KB string", &long));
            frames.push(with("lone surrogate", r#""\udc00x\ud800""#));
            for number in payloads::raw_json_numbers() {
                frames.push(with(&format!("number {number}"), number));
            }
        }
    }
    frames
}

/// A small deterministic generator (SplitMix64) driving the payload order.
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator for `seed`, mixed with `salt` (e.g. the handler and
    /// parameter names) so each stream differs.
    pub(crate) fn new(seed: u64, salt: &str) -> Self {
        let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
        for byte in salt.bytes() {
            state = (state ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3);
        }
        Rng(state)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Fisher-Yates shuffle.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let bound = u64::try_from(i + 1).unwrap_or(u64::MAX);
            let j = usize::try_from(self.next() % bound).unwrap_or(0);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homoglyph_replaces_the_first_lookalike() {
        assert_eq!(homoglyph("add").as_deref(), Some("\u{430}dd"));
        assert_eq!(homoglyph("buy").as_deref(), Some("bu\u{443}"));
        assert_eq!(homoglyph("hmm"), None);
    }

    #[test]
    fn shuffle_is_deterministic_per_seed() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        let mut c = a.clone();
        Rng::new(7, "x").shuffle(&mut a);
        Rng::new(7, "x").shuffle(&mut b);
        Rng::new(8, "x").shuffle(&mut c);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn raw_frames_cover_depth_and_size() {
        let frames = raw_frames(&[]);
        assert!(frames.iter().any(|f| f.text.len() > RAW_LONG_LEN));
        assert!(frames
            .iter()
            .any(|f| f.text.starts_with(&"[".repeat(RAW_NESTING_DEPTH))));
    }
}
