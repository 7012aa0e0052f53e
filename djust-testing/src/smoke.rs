//! Generated smoke tests: security checks any `#[live_view]` gets from one
//! line, `djust_testing::smoke_tests!(MyView);`.
//!
//! Each check drives the view in-process through [`TestClient`](crate::TestClient)
//! (the same session code the server runs) and returns a [`SmokeReport`] or
//! a [`SmokeFailure`] naming the view, handler, parameter, payload and what
//! was found:
//!
//! | check                     | what it asserts                                                                 |
//! |---------------------------|---------------------------------------------------------------------------------|
//! | [`check_renders`]         | an authorised user can mount; anonymous users (and users lacking the view's permission) cannot |
//! | [`check_xss`]             | no XSS / template-injection / unicode payload in any string-ish parameter yields an element, attribute, script, `on*` handler or non-allowlisted URL the benign baseline lacks (HTML parsed with html5ever) |
//! | [`check_type_confusion`]  | every wrong-type value gets a clean error or a coercion; no panic; no echo of the value; an event answered with an error leaves the HTML byte-for-byte unchanged |
//! | [`check_no_crash`]        | every string payload, wrong-type value and malformed raw frame: no panic, no closed connection (but the size limit's close of a frame above it); refused frames change nothing |
//! | [`check_uploads`]         | every declared upload slot against the hostile-file corpus: hostile files refused with a reason, real files taken exactly when the slot accepts them, the connection never closed |
//! | [`check_allowlist`]       | lifecycle names, private names and near-misses of handler names are refused as unknown events and change nothing |
//!
//! The XSS and type-confusion checks also fuzz every handler of every
//! `#[live_component]` the view mounts (events sent to its id, as the
//! browser sends them), with the view's authorised user.
//!
//! Every client is mounted as a user holding every permission the view's
//! metadata names, with [`SmokeOptions::fixture`] applied. A client is reused
//! only after events that were refused before any handler ran (state
//! provably untouched); after any event that ran, the next one gets a fresh
//! mount, so one payload's state cannot mask another's.

mod dom;
mod harness;
mod inputs;
mod uploads;

use std::collections::HashSet;
use std::fmt;

use djust_runtime::auth::User;
use djust_runtime::live::MountRefusal;
use djust_runtime::protocol::ServerMessage;
use djust_runtime::queries::{QueryCounter, ThreadQueries};
use djust_runtime::security::SafeError;
use djust_runtime::view::ViewFactory;
use serde_json::Value;

use crate::client::TestClientBuilder;
use dom::{shorten, shorten_json, Fingerprint};
use harness::{all_permissions, echo_of, is_clean_error, Harness};
use inputs::{
    benign_params, hostile_names, is_stringish, params_with, raw_frames, type_confusion_values,
    wrap_for, xss_payloads, Rng, BENIGN_STRINGS,
};
pub use uploads::check_uploads;

/// Per-view options of the smoke checks.
#[derive(Clone, Default)]
pub struct SmokeOptions {
    /// Handlers not to fuzz, each with the reason (logged with `tracing` by
    /// each fuzzing check and listed in [`SmokeReport::skipped`]). A name
    /// that is not a handler of the view is a failure.
    pub skip: Vec<(&'static str, &'static str)>,
    /// Configures every client before it mounts (app state, URL, mount
    /// params, debug). It must not set the user: the checks choose it.
    pub fixture: Option<fn(TestClientBuilder) -> TestClientBuilder>,
    /// Seeds the order in which payloads are sent (0 by default, so runs
    /// are reproducible); failures print it.
    pub seed: u64,
    /// Most database queries one mount (with its first render) or one
    /// event (handler and re-render) may run; every check fails a call
    /// that runs more. `None` (the default): not counted.
    pub max_queries: Option<u64>,
    /// Where queries are counted: [`ThreadQueries`] (what
    /// `djust::queries::record_query` records on the test's thread) unless
    /// set.
    pub queries: Option<&'static dyn QueryCounter>,
}

impl fmt::Debug for SmokeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmokeOptions")
            .field("skip", &self.skip)
            .field("fixture", &self.fixture.is_some())
            .field("seed", &self.seed)
            .field("max_queries", &self.max_queries)
            .field("queries", &self.queries.map(|_| "custom"))
            .finish()
    }
}

impl SmokeOptions {
    /// The counter the query budget reads.
    pub(crate) fn query_counter(&self) -> &'static dyn QueryCounter {
        match self.queries {
            Some(counter) => counter,
            None => &ThreadQueries,
        }
    }
}

/// What a passing check did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmokeReport {
    /// The view's Rust type name.
    pub view: &'static str,
    /// The check (`renders`, `xss`, `type_confusion`, `no_crash`, `allowlist`).
    pub check: &'static str,
    /// Events and raw frames sent.
    pub events: usize,
    /// Handlers that were not fuzzed, with the reason.
    pub skipped: Vec<(&'static str, &'static str)>,
}

/// A failed check: everything it found, in a readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmokeFailure {
    /// The view's Rust type name.
    pub view: &'static str,
    /// The check that failed.
    pub check: &'static str,
    /// The seed the payload order came from.
    pub seed: u64,
    /// One line per problem: handler, parameter, payload, what was found.
    pub findings: Vec<String>,
    /// The check stopped early after this many findings.
    pub truncated: bool,
}

impl fmt::Display for SmokeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "smoke check `{}` failed for view `{}` (seed {}): {} finding(s){}",
            self.check,
            self.view,
            self.seed,
            self.findings.len(),
            if self.truncated {
                ", stopped early"
            } else {
                ""
            }
        )?;
        for finding in &self.findings {
            write!(f, "\n  - view `{}`: {finding}", self.view)?;
        }
        Ok(())
    }
}

impl std::error::Error for SmokeFailure {}

/// Mounts and renders as an authorised user (holding the view's permission
/// and every handler's `#[permission_required]`). For `login_required`
/// views, also asserts that an anonymous mount is refused with
/// [`MountRefusal::LoginRequired`]; for views with a `permission`, that a
/// logged-in user without it is refused with [`MountRefusal::PermissionDenied`].
pub fn check_renders(
    factory: ViewFactory,
    options: &SmokeOptions,
) -> Result<SmokeReport, SmokeFailure> {
    let mut h = Harness::new(factory, options, "renders");
    let meta = h.meta;
    match h.mount() {
        Ok(mut client) => {
            let html = client.html();
            let reply = client.send_raw(r#"{"type":"request_html"}"#);
            let resent = reply.frames.iter().any(
                |frame| matches!(frame, ServerMessage::HtmlUpdate { html: again, .. } if *again == html),
            );
            if !resent {
                h.fail(format!(
                    "`request_html` did not return the rendered HTML: {:?}",
                    reply.frames
                ));
            }
        }
        Err(refusal) => h.fail(format!(
            "mount as a user holding {:?} was refused: {refusal:?} \
             (if the view needs app state, pass `with fixture = ...`)",
            all_permissions(meta)
        )),
    }
    if meta.login_required() {
        match h.builder().mount() {
            Err(MountRefusal::LoginRequired { .. }) => {}
            Ok(_) => h.fail("an anonymous user mounted a login_required view".to_owned()),
            Err(other) => h.fail(format!(
                "an anonymous mount was refused with {other:?}, expected LoginRequired"
            )),
        }
    }
    if let Some(permission) = meta.permission {
        let nobody = User::new("smoke-nobody", "nobody");
        let builder = crate::TestClient::build_factory(h.factory).user(nobody);
        let builder = match options.fixture {
            Some(fixture) => fixture(builder),
            None => builder,
        };
        match builder.mount() {
            Err(MountRefusal::PermissionDenied) => {}
            Ok(_) => h.fail(format!(
                "a user without `{permission}` mounted a view that requires it"
            )),
            Err(other) => h.fail(format!(
                "a user without `{permission}` was refused with {other:?}, expected PermissionDenied"
            )),
        }
    }
    h.finish()
}

/// Calls every handler with every XSS, template-injection and unicode
/// payload in every string-ish parameter (`String`, `Vec<_>`, serde types,
/// and `Option`s of those; other parameters get a benign value or are left
/// out when optional), parses the resulting HTML with html5ever and fails
/// on any element tag, attribute name, `<script>`, `on*` handler,
/// non-allowlisted URL ([`is_safe_url`](djust_runtime::template::filters::is_safe_url))
/// or script-capable CSS that the baseline lacks. The baseline is the union
/// of the mounted page and the pages after each handler ran with benign
/// values.
pub fn check_xss(
    factory: ViewFactory,
    options: &SmokeOptions,
) -> Result<SmokeReport, SmokeFailure> {
    let mut h = Harness::new(factory, options, "xss");
    h.check_skips();
    let mut baseline = match h.mount() {
        Ok(client) => Fingerprint::of(&client.html()),
        Err(refusal) => {
            h.fail(format!(
                "could not mount as an authorised user: {refusal:?}"
            ));
            return h.finish();
        }
    };
    let targets = h.targets();
    for (target, handlers) in &targets {
        h.target = target.clone();
        for handler in handlers.iter().copied() {
            let mut benign = vec![benign_params(handler, false), benign_params(handler, true)];
            for param in handler.params.iter().filter(|p| is_stringish(p)) {
                for text in BENIGN_STRINGS {
                    benign.push(params_with(
                        handler,
                        param,
                        wrap_for(param, Value::from(text)),
                    ));
                }
            }
            for params in benign {
                if let Some(reply) = h.event("benign baseline", handler.name, params) {
                    baseline.extend(Fingerprint::of(&reply.after));
                }
            }
        }
    }
    let payloads = xss_payloads();
    let mut clean_pages: HashSet<String> = HashSet::new();
    for (target, handlers) in &targets {
        h.target = target.clone();
        for handler in handlers.iter().copied() {
            for param in handler.params.iter().filter(|p| is_stringish(p)) {
                let mut order = payloads.clone();
                Rng::new(
                    options.seed,
                    &format!("xss {}.{}", handler.name, param.name),
                )
                .shuffle(&mut order);
                for payload in order {
                    if h.stopped() {
                        return h.finish();
                    }
                    let what = format!(
                        "{}handler `{}`, parameter `{}`, payload {}",
                        h.where_to(),
                        handler.name,
                        param.name,
                        shorten(payload)
                    );
                    let params = params_with(handler, param, wrap_for(param, Value::from(payload)));
                    let Some(reply) = h.event(&what, handler.name, params) else {
                        continue;
                    };
                    if reply.result.closed || clean_pages.contains(&reply.after) {
                        continue;
                    }
                    let page = Fingerprint::of(&reply.after);
                    let new = page.new_since(&baseline);
                    if new.is_empty() {
                        clean_pages.insert(reply.after);
                    } else {
                        let found: Vec<String> = new.iter().map(ToString::to_string).collect();
                        h.fail(format!(
                            "{what}: the HTML gained {} (not produced by benign input)",
                            found.join("; ")
                        ));
                    }
                }
            }
        }
    }
    h.finish()
}

/// Sends every parameter every value of [`payloads::type_confusion`](crate::payloads::type_confusion)
/// for its kind and for `Any`. Each reply must be a successful coercion or a
/// clean error frame (a framework message; an invalid-parameter error names
/// one of the handler's parameters); never a closed connection (a panic),
/// never an error that echoes the value; and an event answered with an
/// error must leave the HTML byte-for-byte unchanged.
pub fn check_type_confusion(
    factory: ViewFactory,
    options: &SmokeOptions,
) -> Result<SmokeReport, SmokeFailure> {
    let mut h = Harness::new(factory, options, "type_confusion");
    h.check_skips();
    for (target, handlers) in h.targets() {
        h.target = target;
        for handler in handlers {
            let mut context: Vec<String> = harness::clean_messages();
            context.push(handler.name.to_owned());
            for param in handler.params {
                context.push(param.name.to_owned());
                context.push(param.ty.to_owned());
            }
            let context: Vec<&str> = context.iter().map(String::as_str).collect();
            for param in handler.params {
                let mut values = type_confusion_values(param.kind);
                Rng::new(
                    options.seed,
                    &format!("types {}.{}", handler.name, param.name),
                )
                .shuffle(&mut values);
                for value in values {
                    if h.stopped() {
                        return h.finish();
                    }
                    let what = format!(
                        "{}handler `{}`, parameter `{}: {}`, value {}",
                        h.where_to(),
                        handler.name,
                        param.name,
                        param.ty,
                        shorten_json(&value)
                    );
                    let params = params_with(handler, param, value.clone());
                    let Some(reply) = h.event(&what, handler.name, params) else {
                        continue;
                    };
                    if reply.result.closed {
                        h.fail(format!(
                            "{what}: the connection was closed (the handler or render panicked)"
                        ));
                        continue;
                    }
                    let Some(error) = reply.result.error() else {
                        continue;
                    };
                    if !is_clean_error(error, Some(handler)) {
                        h.fail(format!("{what}: unclean error frame {}", shorten(error)));
                    }
                    if let Some(echo) = echo_of(error, &value, &context) {
                        h.fail(format!(
                            "{what}: the error frame {} echoes the value ({})",
                            shorten(error),
                            shorten(&echo)
                        ));
                    }
                    if reply.after != reply.before {
                        h.fail(format!(
                        "{what}: answered with error {} yet the HTML changed: a rejected event must leave the state unchanged",
                        shorten(error)
                    ));
                    }
                }
            }
        }
    }
    h.finish()
}

/// Sends every string payload of every corpus and every wrong-type value to
/// every parameter, then the malformed raw frames (bad JSON, wrong types
/// for `event`/`params`/`ref`, params as array or string, 10,000-deep
/// nesting, 100 KB strings). Nothing may panic or close the connection, and
/// a frame refused with only an error must leave the HTML unchanged.
pub fn check_no_crash(
    factory: ViewFactory,
    options: &SmokeOptions,
) -> Result<SmokeReport, SmokeFailure> {
    let mut h = Harness::new(factory, options, "no_crash");
    h.check_skips();
    let strings = inputs::all_string_payloads();
    let handlers = h.fuzzed_handlers();
    for handler in &handlers {
        let mut cases: Vec<(String, serde_json::Map<String, Value>)> = vec![
            ("benign params".to_owned(), benign_params(handler, true)),
            ("no params".to_owned(), serde_json::Map::new()),
        ];
        for param in handler.params {
            for payload in &strings {
                cases.push((
                    format!("parameter `{}`, payload {}", param.name, shorten(payload)),
                    params_with(handler, param, wrap_for(param, Value::from(*payload))),
                ));
            }
            for value in type_confusion_values(param.kind) {
                cases.push((
                    format!(
                        "parameter `{}: {}`, value {}",
                        param.name,
                        param.ty,
                        shorten_json(&value)
                    ),
                    params_with(handler, param, value),
                ));
            }
        }
        Rng::new(options.seed, &format!("crash {}", handler.name)).shuffle(&mut cases);
        for (case, params) in cases {
            if h.stopped() {
                return h.finish();
            }
            let what = format!("handler `{}`, {case}", handler.name);
            if let Some(reply) = h.event(&what, handler.name, params) {
                if reply.result.closed {
                    h.fail(format!(
                        "{what}: the connection was closed (the handler or render panicked)"
                    ));
                }
            }
        }
    }
    let too_large = SafeError::MessageTooLarge.public_message(false, None);
    for frame in raw_frames(&handlers) {
        if h.stopped() {
            return h.finish();
        }
        let what = format!("raw frame ({})", frame.label);
        let text = frame.text;
        let Some(reply) = h.send(&what, &|client| client.send_raw(&text)) else {
            continue;
        };
        // The size gate closes on frames above the message limit (1009 with
        // "message too large"): that is the layer working, not a crash. No
        // valid limit is below 1 KiB.
        let size_gate = text.len() > 1024 && reply.result.error() == Some(too_large.as_str());
        if reply.result.closed && !size_gate {
            h.fail(format!("{what}: the connection was closed"));
        } else if reply.refused() && reply.after != reply.before {
            h.fail(format!("{what}: refused, yet the HTML changed"));
        }
    }
    h.finish()
}

/// Sends names that are not handlers: the lifecycle and private names
/// `mount`, `render`, `check_permissions`, `handle_tick`, `handle_info`,
/// `__init__`, `_private` and the empty name (always, even if the view's
/// metadata lists them: that is the bug to report); `view`, `meta`,
/// `dispatch`, `__proto__` and similar and a 10 KB name; and every handler
/// name uppercased, with surrounding whitespace, a NUL, a zero-width space,
/// a Cyrillic homoglyph and other near-misses (unless the view really has a
/// handler of that name). Each must be refused as an unknown event, with no
/// other frame, and leave the HTML unchanged.
pub fn check_allowlist(
    factory: ViewFactory,
    options: &SmokeOptions,
) -> Result<SmokeReport, SmokeFailure> {
    let mut h = Harness::new(factory, options, "allowlist");
    let unknown = SafeError::UnknownEvent.public_message(false, None);
    for hostile in hostile_names(h.meta) {
        if h.stopped() {
            return h.finish();
        }
        let what = format!("event name {}", shorten(&hostile.name));
        let params = hostile
            .imitates
            .map(|handler| benign_params(handler, true))
            .unwrap_or_default();
        let Some(reply) = h.event(&what, &hostile.name, params) else {
            continue;
        };
        if reply.result.closed {
            h.fail(format!("{what}: the connection was closed"));
        } else if reply.result.error() != Some(unknown.as_str()) || !reply.refused() {
            h.fail(format!(
                "{what}: was not refused as an unknown event; frames: {}",
                shorten(&format!("{:?}", reply.result.frames))
            ));
        } else if reply.after != reply.before {
            h.fail(format!("{what}: refused, yet the HTML changed"));
        }
    }
    h.finish()
}

/// Generates `#[test]` functions running every smoke check on each view.
///
/// ```
/// use djust::prelude::*;
/// use djust_testing::TestClientBuilder;
///
/// pub struct Counter { count: i64 }
///
/// #[live_view(public)]
/// impl Counter {
///     fn mount(_ctx: &mut MountCtx) -> Result<Self> { Ok(Counter { count: 0 }) }
///     fn render(&self) -> Html { html! { <p>{self.count}</p> } }
///     #[event_handler]
///     fn add(&mut self, by: i64) { self.count = self.count.saturating_add(by); }
///     #[event_handler]
///     fn reset(&mut self, reason: String) { let _ = reason; self.count = 0; }
/// }
///
/// pub struct Db;
/// fn make_db(builder: TestClientBuilder) -> TestClientBuilder { builder.state(Db) }
///
/// djust_testing::smoke_tests!(
///     Counter with fixture = make_db, skip = [("reset", "covered elsewhere")], seed = 7,
/// );
/// # fn main() {}
/// ```
///
/// `smoke_tests!(A, B with fixture = f, C with skip = [..], seed = 7)` expands to
///
/// ```text
/// mod smoke {
///     mod A {
///         #[test] fn renders() { .. }        // check_renders
///         #[test] fn xss() { .. }            // check_xss
///         #[test] fn type_confusion() { .. } // check_type_confusion
///         #[test] fn no_crash() { .. }       // check_no_crash
///         #[test] fn allowlist() { .. }      // check_allowlist
///     }
///     mod B { .. }
///     mod C { .. }
/// }
/// ```
///
/// so a failure reads `smoke::B::xss` and panics with the
/// [`SmokeFailure`](crate::SmokeFailure) message; the fuzzing tests first
/// print each skipped handler's reason to stderr. The per-view modules are
/// named after the view type (`macro_rules!` cannot build a snake_case
/// name) inside one `mod smoke`, which keeps them apart from the view types
/// themselves; so invoke the macro once per module. Each view is an
/// identifier in scope where the macro is invoked (define or `use` it).
/// Options after `with`, comma-separated, in any order: `fixture = <fn or
/// non-capturing closure of type fn(TestClientBuilder) -> TestClientBuilder>`,
/// `skip = [("handler", "reason"), ..]`, `seed = <u64>`, `max_queries =
/// <u64>` (the most database queries one mount or one event may run; see
/// `djust::queries`), `queries = <&'static dyn QueryCounter>` (where they
/// are counted; the test thread's `record_query` count by default).
#[macro_export]
macro_rules! smoke_tests {
    (@parse [$($done:tt)*]) => {
        $crate::smoke_tests!(@emit $($done)*);
    };
    (@parse [$($done:tt)*] $view:ident with $($rest:tt)*) => {
        $crate::smoke_tests!(@opts [$($done)*] $view [] $($rest)*);
    };
    (@parse [$($done:tt)*] $view:ident $(, $($rest:tt)*)?) => {
        $crate::smoke_tests!(@parse [$($done)* ($view [])] $($($rest)*)?);
    };
    (@opts [$($done:tt)*] $view:ident [$($o:tt)*] fixture = $fixture:expr $(, $($rest:tt)*)?) => {
        $crate::smoke_tests!(@opts [$($done)*] $view [$($o)* (fixture $fixture)] $($($rest)*)?);
    };
    (@opts [$($done:tt)*] $view:ident [$($o:tt)*] skip = [$($skip:tt)*] $(, $($rest:tt)*)?) => {
        $crate::smoke_tests!(@opts [$($done)*] $view [$($o)* (skip [$($skip)*])] $($($rest)*)?);
    };
    (@opts [$($done:tt)*] $view:ident [$($o:tt)*] seed = $seed:expr $(, $($rest:tt)*)?) => {
        $crate::smoke_tests!(@opts [$($done)*] $view [$($o)* (seed $seed)] $($($rest)*)?);
    };
    (@opts [$($done:tt)*] $view:ident [$($o:tt)*] max_queries = $max:expr $(, $($rest:tt)*)?) => {
        $crate::smoke_tests!(@opts [$($done)*] $view [$($o)* (max_queries $max)] $($($rest)*)?);
    };
    (@opts [$($done:tt)*] $view:ident [$($o:tt)*] queries = $counter:expr $(, $($rest:tt)*)?) => {
        $crate::smoke_tests!(@opts [$($done)*] $view [$($o)* (queries $counter)] $($($rest)*)?);
    };
    (@opts [$($done:tt)*] $view:ident [$($o:tt)*] $($rest:tt)*) => {
        $crate::smoke_tests!(@parse [$($done)* ($view [$($o)*])] $($rest)*);
    };
    (@set $options:ident (fixture $fixture:expr)) => {
        $options.fixture = ::std::option::Option::Some($fixture);
    };
    (@set $options:ident (skip [$($skip:tt)*])) => {
        $options.skip = ::std::vec![$($skip)*];
    };
    (@set $options:ident (seed $seed:expr)) => {
        $options.seed = $seed;
    };
    (@set $options:ident (max_queries $max:expr)) => {
        $options.max_queries = ::std::option::Option::Some($max);
    };
    (@set $options:ident (queries $counter:expr)) => {
        $options.queries = ::std::option::Option::Some($counter);
    };
    (@test $view:ident $test:ident $check:ident) => {
        #[test]
        pub(crate) fn $test() {
            let options = __smoke_options();
            if let ::std::result::Result::Err(failure) =
                $crate::smoke::$check($crate::ViewFactory::of::<$view>(), &options)
            {
                ::std::panic!("{}", failure);
            }
        }
    };
    (@emit $(($view:ident [$($o:tt)*]))*) => {
        /// Smoke tests generated by `djust_testing::smoke_tests!`.
        mod smoke {
            $(
                #[allow(non_snake_case)]
                pub(crate) mod $view {
                    #[allow(unused_imports)]
                    use super::super::*;

                    fn __smoke_options() -> $crate::SmokeOptions {
                        #[allow(unused_mut)]
                        let mut options = $crate::SmokeOptions::default();
                        $($crate::smoke_tests!(@set options $o);)*
                        options
                    }

                    $crate::smoke_tests!(@test $view renders check_renders);
                    $crate::smoke_tests!(@test $view xss check_xss);
                    $crate::smoke_tests!(@test $view type_confusion check_type_confusion);
                    $crate::smoke_tests!(@test $view uploads check_uploads);
                    $crate::smoke_tests!(@test $view no_crash check_no_crash);
                    $crate::smoke_tests!(@test $view allowlist check_allowlist);
                }
            )*
        }
    };
    ($($input:tt)*) => {
        $crate::smoke_tests!(@parse [] $($input)*);
    };
}
