//! Client-side commands: [`JS`], a list of DOM operations the browser runs
//! without a round trip (`dj-click={JS::toggle("#menu").push("opened")}`).
//!
//! A [`JS`] value is built from Rust values, checked as it is built and
//! written into the event attribute as JSON (`[{"op":"toggle","to":"#menu"}]`);
//! `djust.js` runs it with DOM APIs only (no `eval`, no markup). What could
//! run script is refused when the command is built: `on*`, `style`,
//! `srcdoc` and `dj-*` attributes, URL attributes whose value fails the URL
//! filter, native DOM event names for `dispatch`, malformed selectors, class
//! names and event names, and oversize values. A refused command is left
//! out of the JSON, logged with `tracing` and listed by [`JS::refusals`].
//!
//! `html!` accepts only a `JS` in a dynamic `dj-<event>={..}` value: it
//! rewrites the value into [`js_command`]`(&value)`, whose bound names the
//! type in the compile error.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use super::filters::{filter_srcset, filter_url, filter_url_list, is_url_attribute};

/// Longest selector accepted, in bytes.
pub const MAX_SELECTOR_LEN: usize = 256;
/// Longest class name accepted, in bytes.
pub const MAX_CLASS_LEN: usize = 128;
/// Most class names one command may name.
pub const MAX_CLASSES: usize = 32;
/// Longest attribute name accepted, in bytes.
pub const MAX_ATTR_NAME_LEN: usize = 64;
/// Longest attribute value accepted, in bytes.
pub const MAX_ATTR_VALUE_LEN: usize = 2048;
/// Longest `dispatch` event name accepted, in bytes.
pub const MAX_DISPATCH_NAME_LEN: usize = 64;
/// Most parameters one `push` may carry.
pub const MAX_PUSH_PARAMS: usize = 32;
/// Longest `push` parameter value accepted, in bytes.
pub const MAX_PUSH_VALUE_LEN: usize = 1024;
/// Longest transition accepted, in milliseconds.
pub const MAX_TRANSITION_MS: u32 = 10_000;
/// Most commands one `JS` value may hold.
pub const MAX_COMMANDS: usize = 32;

/// Attributes a command may never set or remove (compared after ASCII
/// lowercasing): `style` (CSS can exfiltrate and strict CSP refuses it),
/// `srcdoc` (markup), `dj-*` and `data-djust*` (would rebind events or the
/// view), `is` (custom element upgrades), SVG animation attributes that can
/// write a `javascript:` URL, and `http-equiv`/`content` (meta refresh).
const REFUSED_ATTRS: &[&str] = &[
    "style",
    "srcdoc",
    "is",
    "attributename",
    "values",
    "from",
    "to",
    "by",
    "http-equiv",
    "content",
    "xmlns",
];

/// One client-side command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum Command {
    Show {
        to: String,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        keep: bool,
    },
    Hide {
        to: String,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        keep: bool,
    },
    Toggle {
        to: String,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        keep: bool,
    },
    AddClass {
        to: String,
        names: Vec<String>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        keep: bool,
    },
    RemoveClass {
        to: String,
        names: Vec<String>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        keep: bool,
    },
    Transition {
        to: String,
        names: Vec<String>,
        ms: u32,
    },
    SetAttr {
        to: String,
        name: String,
        value: String,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        keep: bool,
    },
    RemoveAttr {
        to: String,
        name: String,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        keep: bool,
    },
    Focus {
        to: String,
    },
    Dispatch {
        to: String,
        event: String,
    },
    Push {
        event: String,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        params: BTreeMap<String, String>,
    },
}

impl Command {
    fn keep_flag(&mut self) -> Option<&mut bool> {
        match self {
            Command::Show { keep, .. }
            | Command::Hide { keep, .. }
            | Command::Toggle { keep, .. }
            | Command::AddClass { keep, .. }
            | Command::RemoveClass { keep, .. }
            | Command::SetAttr { keep, .. }
            | Command::RemoveAttr { keep, .. } => Some(keep),
            Command::Transition { .. }
            | Command::Focus { .. }
            | Command::Dispatch { .. }
            | Command::Push { .. } => None,
        }
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsRefusal {
    /// The selector is empty, too long or holds control characters.
    Selector,
    /// A class name is empty, too long, holds whitespace or control
    /// characters, or there are none or too many.
    ClassNames,
    /// The attribute name is malformed or may run script or rebind events.
    AttrName(String),
    /// The attribute value is too long, holds control characters, or is a
    /// URL the URL filter blocks.
    AttrValue(String),
    /// The `dispatch` event name is not a custom `a:b`/`a-b` name, or is
    /// reserved (`djust:*`).
    DispatchName,
    /// The `push` event name is not a valid handler name, or its
    /// parameters are too many or too long.
    Push,
    /// The transition is longer than [`MAX_TRANSITION_MS`].
    Duration,
    /// The value holds more than [`MAX_COMMANDS`] commands.
    TooMany,
    /// `keep()` follows a command that keeps nothing (or no command).
    Keep,
}

impl fmt::Display for JsRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsRefusal::Selector => write!(f, "selectors are 1..={MAX_SELECTOR_LEN} bytes without control characters"),
            JsRefusal::ClassNames => write!(f, "1..={MAX_CLASSES} class names of 1..={MAX_CLASS_LEN} bytes, without whitespace or control characters"),
            JsRefusal::AttrName(name) => write!(f, "attribute `{}` cannot be set by a command", name.escape_debug()),
            JsRefusal::AttrValue(name) => write!(f, "the value for attribute `{}` is refused", name.escape_debug()),
            JsRefusal::DispatchName => f.write_str("dispatched events are custom names like `menu:open` or `menu-open` (not `djust:*`)"),
            JsRefusal::Push => write!(f, "push needs a valid event name and at most {MAX_PUSH_PARAMS} parameters of {MAX_PUSH_VALUE_LEN} bytes"),
            JsRefusal::Duration => write!(f, "transitions last at most {MAX_TRANSITION_MS} ms"),
            JsRefusal::TooMany => write!(f, "at most {MAX_COMMANDS} commands"),
            JsRefusal::Keep => f.write_str("keep() follows a command that changes classes or attributes"),
        }
    }
}

/// Client-side commands, run by the browser on a `dj-*` event without a
/// round trip to the server.
///
/// ```
/// use djust_runtime::template::{JsChain, JS};
///
/// let open = JS::toggle("#menu").add_class("#menu", "open").keep().push("opened");
/// assert_eq!(
///     open.to_json(),
///     r##"[{"op":"toggle","to":"#menu"},{"op":"add_class","to":"#menu","names":["open"],"keep":true},{"op":"push","event":"opened"}]"##
/// );
/// // What could run script is refused and left out:
/// let bad = JS::set_attr("#a", "onclick", "alert(1)").set_attr("#a", "href", "javascript:alert(1)");
/// assert_eq!(bad.to_json(), "[]");
/// assert_eq!(bad.refusals().len(), 2);
/// ```
///
/// Selectors are looked up inside the view's root element. Every
/// constructor has a chaining method of the same name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JS {
    commands: Vec<Command>,
    refusals: Vec<JsRefusal>,
}

/// Generates, for every command, the constructor `JS::name(..)` and the
/// chaining method `.name(..)` of [`JsChain`] (Rust cannot have both on
/// one inherent impl).
macro_rules! commands {
    ($( $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) => $build:expr; )*) => {
        impl JS {
            $(
                $(#[$doc])*
                pub fn $name($($arg: $ty),*) -> JS {
                    JS::default().with($build)
                }
            )*
        }

        /// The chaining form of [`JS`]'s constructors:
        /// `JS::toggle("#menu").push("opened")` (in the prelude).
        pub trait JsChain: Sized {
            $(
                $(#[$doc])*
                fn $name(self, $($arg: $ty),*) -> JS;
            )*
        }

        impl JsChain for JS {
            $(
                fn $name(self, $($arg: $ty),*) -> JS {
                    self.with($build)
                }
            )*
        }
    };
}

commands! {
    /// Removes the `hidden` attribute of the elements `selector` matches.
    fn show(selector: &str) => selector_of(selector).map(|to| Command::Show { to, keep: false });
    /// Sets the `hidden` attribute of the elements `selector` matches.
    fn hide(selector: &str) => selector_of(selector).map(|to| Command::Hide { to, keep: false });
    /// Flips the `hidden` attribute of the elements `selector` matches.
    fn toggle(selector: &str) => selector_of(selector).map(|to| Command::Toggle { to, keep: false });
    /// Adds the space-separated `classes`.
    fn add_class(selector: &str, classes: &str) => selector_of(selector).and_then(|to| {
        class_names(classes).map(|names| Command::AddClass { to, names, keep: false })
    });
    /// Removes the space-separated `classes`.
    fn remove_class(selector: &str, classes: &str) => selector_of(selector).and_then(|to| {
        class_names(classes).map(|names| Command::RemoveClass { to, names, keep: false })
    });
    /// Adds `classes` for `ms` milliseconds (a CSS transition or animation).
    fn transition(selector: &str, classes: &str, ms: u32) => selector_of(selector).and_then(|to| {
        let names = class_names(classes)?;
        if ms > MAX_TRANSITION_MS {
            return Err(JsRefusal::Duration);
        }
        Ok(Command::Transition { to, names, ms })
    });
    /// Sets attribute `name` to `value` (see the module docs for what is refused).
    fn set_attr(selector: &str, name: &str, value: &str) => selector_of(selector).and_then(|to| {
        let name = attr_name(name)?;
        let value = attr_value(&name, value)?;
        Ok(Command::SetAttr { to, name, value, keep: false })
    });
    /// Removes attribute `name`.
    fn remove_attr(selector: &str, name: &str) => selector_of(selector).and_then(|to| {
        attr_name(name).map(|name| Command::RemoveAttr { to, name, keep: false })
    });
    /// Focuses the first element `selector` matches.
    fn focus(selector: &str) => selector_of(selector).map(|to| Command::Focus { to });
    /// Dispatches a bubbling `CustomEvent` named `event` (a custom name
    /// such as `menu:opened`; native events like `click` are refused).
    fn dispatch(selector: &str, event: &str) => selector_of(selector).and_then(|to| {
        dispatch_name(event).map(|event| Command::Dispatch { to, event: event.to_owned() })
    });
    /// Sends event `event` to the view's `#[event_handler]` of that name,
    /// like `dj-click="event"` (with the element's `dj-value-*`).
    fn push(event: &str) => push_command(event, &[]);
    /// [`JS::push`] with parameters (text values, like `dj-value-*`):
    /// `JS::push_with("select", &[("id", "3")])`.
    fn push_with(event: &str, params: &[(&str, &str)]) => push_command(event, params);
}

impl JS {
    fn with(mut self, command: Result<Command, JsRefusal>) -> JS {
        match command {
            Ok(_) if self.commands.len() >= MAX_COMMANDS => self.refuse(JsRefusal::TooMany),
            Ok(command) => self.commands.push(command),
            Err(refusal) => self.refuse(refusal),
        }
        self
    }

    fn refuse(&mut self, refusal: JsRefusal) {
        tracing::warn!(%refusal, "client command refused");
        self.refusals.push(refusal);
    }

    /// Keeps what the previous command set (classes, attributes,
    /// visibility) across server patches of the same element.
    pub fn keep(mut self) -> JS {
        match self.commands.last_mut().and_then(Command::keep_flag) {
            Some(keep) => *keep = true,
            None => self.refuse(JsRefusal::Keep),
        }
        self
    }

    /// The commands as the JSON the client runs.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.commands).unwrap_or_else(|_| "[]".to_owned())
    }

    /// `true` when the value holds no command.
    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// The commands refused while building this value.
    pub fn refusals(&self) -> &[JsRefusal] {
        &self.refusals
    }
}

fn selector_of(selector: &str) -> Result<String, JsRefusal> {
    let trimmed = selector.trim();
    if trimmed.is_empty()
        || selector.len() > MAX_SELECTOR_LEN
        || selector.chars().any(|c| c.is_control())
    {
        return Err(JsRefusal::Selector);
    }
    Ok(trimmed.to_owned())
}

fn class_names(classes: &str) -> Result<Vec<String>, JsRefusal> {
    let names: Vec<String> = classes
        .split_ascii_whitespace()
        .map(str::to_owned)
        .collect();
    let bad = |name: &String| {
        name.len() > MAX_CLASS_LEN || name.chars().any(|c| c.is_control() || c.is_whitespace())
    };
    if names.is_empty() || names.len() > MAX_CLASSES || names.iter().any(bad) {
        return Err(JsRefusal::ClassNames);
    }
    Ok(names)
}

fn attr_name(name: &str) -> Result<String, JsRefusal> {
    let refused = || JsRefusal::AttrName(name.chars().take(MAX_ATTR_NAME_LEN).collect());
    let bytes = name.as_bytes();
    let well_formed = !bytes.is_empty()
        && bytes.len() <= MAX_ATTR_NAME_LEN
        && bytes[0].is_ascii_alphabetic()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'));
    if !well_formed {
        return Err(refused());
    }
    let lower = name.to_ascii_lowercase();
    let script = lower.starts_with("on")
        || lower.starts_with("dj-")
        || lower.starts_with("data-djust")
        || lower.starts_with("xmlns")
        || REFUSED_ATTRS.contains(&lower.as_str());
    if script {
        return Err(refused());
    }
    Ok(lower)
}

fn attr_value(name: &str, value: &str) -> Result<String, JsRefusal> {
    let refused = || JsRefusal::AttrValue(name.to_owned());
    if value.len() > MAX_ATTR_VALUE_LEN || value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(refused());
    }
    let filtered = match name {
        "srcset" | "imagesrcset" => filter_srcset(value),
        "ping" => filter_url_list(value),
        _ if is_url_attribute(name) => filter_url(value),
        _ => return Ok(value.to_owned()),
    };
    if filtered != value {
        return Err(refused());
    }
    Ok(value.to_owned())
}

/// Custom event names only: `a:b` or `a-b` in lowercase ASCII (no native
/// DOM event has `:` or `-`, so a command cannot fake a `click` or
/// `submit`), and not the client's own `djust:*` events.
fn dispatch_name(event: &str) -> Result<&str, JsRefusal> {
    let lower_ok = event
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b':' | b'-'));
    let custom = event.contains([':', '-'])
        && event.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && !event.ends_with([':', '-']);
    if event.len() > MAX_DISPATCH_NAME_LEN || !lower_ok || !custom || event.starts_with("djust") {
        return Err(JsRefusal::DispatchName);
    }
    Ok(event)
}

fn push_command(event: &str, params: &[(&str, &str)]) -> Result<Command, JsRefusal> {
    if !djust_rules::events::is_safe_event_name(event) || params.len() > MAX_PUSH_PARAMS {
        return Err(JsRefusal::Push);
    }
    let mut list = BTreeMap::new();
    for (key, value) in params {
        let key_ok = djust_rules::events::is_safe_event_name(key);
        if !key_ok || value.len() > MAX_PUSH_VALUE_LEN {
            return Err(JsRefusal::Push);
        }
        list.insert((*key).to_owned(), (*value).to_owned());
    }
    Ok(Command::Push {
        event: event.to_owned(),
        params: list,
    })
}

/// What a `dj-<event>={..}` value must be: a [`JS`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a client command: a dynamic `dj-*` event value must be a `djust::JS`",
    label = "expected `JS`, found `{Self}`",
    note = "name a handler with a string literal (`dj-click=\"save\"`), or build commands with `JS::toggle(\"#menu\").push(\"opened\")`"
)]
pub trait ClientCommand {
    /// The commands.
    fn commands(&self) -> &JS;
}

impl ClientCommand for JS {
    fn commands(&self) -> &JS {
        self
    }
}

impl<T: ClientCommand + ?Sized> ClientCommand for &T {
    fn commands(&self) -> &JS {
        (**self).commands()
    }
}

/// `html!`'s rewrite of `dj-<event>={value}`: only a [`JS`] is accepted,
/// and the attribute's value is its JSON (escaped like any attribute).
pub fn js_command<T: ClientCommand + ?Sized>(value: &T) -> String {
    value.commands().to_json()
}

#[cfg(test)]
mod tests;
