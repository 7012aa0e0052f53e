//! The smoke checks must be able to fail: one deliberately vulnerable view
//! per check, each check called directly, asserting it reports the view,
//! the handler, the parameter and the payload. Plus the options (skip,
//! seed, fixture) and the generated tests' panic message.

use djust::prelude::*;
use djust::runtime::view::{AuthPosture, BoxFuture, EventError, HandlerMeta, Params, ViewMeta};
use djust_testing::smoke::{
    check_allowlist, check_no_crash, check_renders, check_type_confusion, check_xss,
};
use djust_testing::{SmokeFailure, SmokeOptions, TestClientBuilder, ViewFactory};

fn options() -> SmokeOptions {
    SmokeOptions::default()
}

fn failure(result: Result<djust_testing::SmokeReport, SmokeFailure>) -> String {
    match result {
        Ok(report) => panic!("the check passed but must fail: {report:?}"),
        Err(failure) => failure.to_string(),
    }
}

fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{part:?} missing from:\n{message}");
    }
}

/// Writes user input into a `|safe` splice by misusing `SafeHtml::from_static`
/// with a leaked runtime string (the type system cannot tell a leaked
/// string from a literal; the smoke check must catch it).
pub struct XssBio {
    bio: SafeHtml,
}

#[live_view(public)]
impl XssBio {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(XssBio {
            bio: SafeHtml::escape("Nothing yet"),
        })
    }

    fn render(&self) -> Html {
        html! { <div class="bio">{self.bio|safe}</div> }
    }

    #[event_handler]
    fn set_bio(&mut self, bio: String) {
        self.bio = SafeHtml::from_static(Box::leak(bio.into_boxed_str()));
    }
}

/// Escapes the URL for HTML but never checks its scheme: only the URL is
/// dangerous, no element or attribute is injected.
pub struct XssLink {
    link: SafeHtml,
}

#[live_view(public)]
impl XssLink {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(XssLink {
            link: format_html!("<a href=\"{}\">home</a>", "/"),
        })
    }

    fn render(&self) -> Html {
        html! { <nav>{self.link|safe}</nav> }
    }

    #[event_handler]
    fn set_link(&mut self, url: String) {
        self.link = format_html!("<a href=\"{}\">home</a>", url);
    }
}

/// Divides by a client-supplied number: panics on 0.
pub struct Panicky {
    total: i64,
    pages: i64,
}

#[live_view(public)]
impl Panicky {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Panicky {
            total: 100,
            pages: 1,
        })
    }

    fn render(&self) -> Html {
        html! { <p>{self.pages} " pages"</p> }
    }

    #[event_handler]
    fn paginate(&mut self, per_page: i64) {
        self.pages = self.total / per_page;
    }
}

/// Stores the raw input, then rejects it: the error leaves changed state.
pub struct HalfDone {
    raw: String,
    age: u32,
}

#[live_view(public)]
impl HalfDone {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(HalfDone {
            raw: String::new(),
            age: 0,
        })
    }

    fn render(&self) -> Html {
        html! { <p>"Age: " {self.raw} " (" {self.age} ")"</p> }
    }

    #[event_handler]
    fn set_age(&mut self, age: String) -> Result<()> {
        self.raw = age.clone();
        self.age = age
            .trim()
            .parse()
            .map_err(|_| Error::bad_request("age must be a number"))?;
        Ok(())
    }
}

/// Puts the client's value into its error message (shown in debug mode).
pub struct Echo {
    hits: u32,
}

#[live_view(public)]
impl Echo {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Echo { hits: 0 })
    }

    fn render(&self) -> Html {
        html! { <p>{self.hits}</p> }
    }

    #[event_handler]
    fn find(&mut self, name: String) -> Result<()> {
        Err(Error::bad_request(format!("no user named {name}")))
    }
}

fn debug_mode(builder: TestClientBuilder) -> TestClientBuilder {
    builder.debug(true)
}

/// `mount` fails.
pub struct BrokenMount;

#[live_view(public)]
impl BrokenMount {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Err(Error::msg("database unavailable"))
    }

    fn render(&self) -> Html {
        html! { <p>"never"</p> }
    }

    #[event_handler]
    fn reload(&mut self, reason: String) {
        let _ = reason;
    }
}

/// A hand-written view (what a broken `#[live_view]` expansion would
/// produce) whose allowlist exposes the lifecycle method `handle_tick`.
pub struct Leaky {
    count: i64,
}

static LEAKY_HANDLERS: [HandlerMeta; 2] = [
    HandlerMeta {
        name: "increment",
        params: &[],
        rate_limit: None,
        permission: None,
        is_async: false,
        offline: false,
    },
    HandlerMeta {
        name: "handle_tick",
        params: &[],
        rate_limit: None,
        permission: None,
        is_async: false,
        offline: false,
    },
];

static LEAKY_META: ViewMeta = ViewMeta {
    name: "leaky",
    type_name: "Leaky",
    module: module_path!(),
    auth: AuthPosture::Public,
    permission: None,
    login_url: None,
    tick_ms: None,
    reauth_each_event: false,
    handlers: &LEAKY_HANDLERS,
    exposed: &["count"],
    assigned: &[],
    safe_splices: 0,
    persist: false,
    uploads: &[],
    url_params: None,
    title: None,
};

impl LiveView for Leaky {
    fn meta() -> &'static ViewMeta {
        &LEAKY_META
    }

    fn mount_view(_ctx: &mut MountCtx) -> BoxFuture<'_, Result<Self>> {
        Box::pin(async { Ok(Leaky { count: 0 }) })
    }

    fn render_view(&self) -> Html {
        html! { <p>{self.count}</p> }
    }

    fn dispatch_event<'a>(
        &'a mut self,
        _ctx: &'a mut EventCtx,
        event: &'a str,
        _params: &'a Params,
    ) -> BoxFuture<'a, std::result::Result<(), EventError>> {
        Box::pin(async move {
            match event {
                "increment" | "handle_tick" => {
                    self.count += 1;
                    Ok(())
                }
                _ => Err(EventError::UnknownEvent),
            }
        })
    }
}

#[test]
fn xss_finds_markup_injected_through_a_trust_hatch() {
    let message = failure(check_xss(ViewFactory::of::<XssBio>(), &options()));
    assert_mentions(
        &message,
        &[
            "smoke check `xss` failed for view `XssBio`",
            "handler `set_bio`, parameter `bio`, payload ",
        ],
    );
    assert!(
        message.contains("new element <script>") || message.contains("event-handler attribute"),
        "{message}"
    );
    // Everything else about the view is fine.
    check_renders(ViewFactory::of::<XssBio>(), &options()).unwrap();
    check_allowlist(ViewFactory::of::<XssBio>(), &options()).unwrap();
}

#[test]
fn xss_finds_a_dangerous_url_without_any_new_markup() {
    let message = failure(check_xss(ViewFactory::of::<XssLink>(), &options()));
    assert_mentions(
        &message,
        &[
            "view `XssLink`",
            "handler `set_link`, parameter `url`, payload \"javascript:",
            "non-allowlisted URL \"javascript:",
            "in `href` of <a>",
        ],
    );
    assert!(!message.contains("new element"), "{message}");
    assert!(!message.contains("new attribute"), "{message}");
}

#[test]
fn no_crash_and_type_confusion_find_a_panicking_handler() {
    let message = failure(check_no_crash(ViewFactory::of::<Panicky>(), &options()));
    assert_mentions(
        &message,
        &[
            "smoke check `no_crash` failed for view `Panicky`",
            "handler `paginate`, parameter `per_page: i64`, value 0",
            "the connection was closed",
        ],
    );
    let message = failure(check_type_confusion(
        ViewFactory::of::<Panicky>(),
        &options(),
    ));
    assert_mentions(
        &message,
        &[
            "view `Panicky`",
            "handler `paginate`, parameter `per_page: i64`, value 0",
            "closed",
        ],
    );
}

#[test]
fn type_confusion_finds_state_changed_by_a_rejected_event() {
    let message = failure(check_type_confusion(
        ViewFactory::of::<HalfDone>(),
        &options(),
    ));
    assert_mentions(
        &message,
        &[
            "smoke check `type_confusion` failed for view `HalfDone`",
            "handler `set_age`, parameter `age: String`, value ",
            "yet the HTML changed",
        ],
    );
}

#[test]
fn type_confusion_finds_an_error_that_echoes_the_value() {
    // In production the error frame is generic: nothing to echo.
    check_type_confusion(ViewFactory::of::<Echo>(), &options()).unwrap();
    let debug = SmokeOptions {
        fixture: Some(debug_mode),
        ..SmokeOptions::default()
    };
    let message = failure(check_type_confusion(ViewFactory::of::<Echo>(), &debug));
    assert_mentions(
        &message,
        &[
            "view `Echo`",
            "handler `find`, parameter `name: String`, value ",
            "echoes the value",
        ],
    );
}

#[test]
fn renders_finds_a_failing_mount() {
    let message = failure(check_renders(ViewFactory::of::<BrokenMount>(), &options()));
    assert_mentions(
        &message,
        &[
            "smoke check `renders` failed for view `BrokenMount`",
            "was refused: Failed(Internal)",
        ],
    );
    let message = failure(check_xss(ViewFactory::of::<BrokenMount>(), &options()));
    assert_mentions(&message, &["could not mount as an authorised user"]);
}

#[test]
fn allowlist_finds_an_exposed_lifecycle_method() {
    let message = failure(check_allowlist(ViewFactory::of::<Leaky>(), &options()));
    assert_mentions(
        &message,
        &[
            "smoke check `allowlist` failed for view `Leaky`",
            "event name \"handle_tick\": was not refused as an unknown event",
        ],
    );
}

#[test]
fn skipped_handlers_are_not_fuzzed_and_unknown_skips_fail() {
    let skip = SmokeOptions {
        skip: vec![("set_bio", "renders trusted markup by design")],
        ..SmokeOptions::default()
    };
    let report = check_xss(ViewFactory::of::<XssBio>(), &skip).unwrap();
    assert_eq!(report.skipped, skip.skip);
    let typo = SmokeOptions {
        skip: vec![("set_boi", "typo")],
        ..SmokeOptions::default()
    };
    let message = failure(check_no_crash(ViewFactory::of::<Echo>(), &typo));
    assert_mentions(&message, &["`skip` names `set_boi`"]);
}

#[test]
fn the_seed_orders_the_payloads_reproducibly() {
    let with_seed = |seed| {
        let options = SmokeOptions {
            seed,
            ..SmokeOptions::default()
        };
        check_xss(ViewFactory::of::<XssBio>(), &options).unwrap_err()
    };
    let first = with_seed(1);
    assert!(first.truncated, "enough payloads succeed to stop early");
    assert_eq!(first, with_seed(1));
    let other = with_seed(2);
    assert_ne!(first.findings, other.findings);
    assert!(other.to_string().contains("(seed 2)"));
}

#[test]
#[allow(unnameable_test_items, dead_code)]
fn generated_tests_panic_with_the_failure_message() {
    djust_testing::smoke_tests!(XssBio, Panicky with seed = 3);
    smoke::XssBio::renders();
    smoke::XssBio::no_crash();
    let panic = std::panic::catch_unwind(smoke::XssBio::xss).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with("smoke check `xss` failed for view `XssBio` (seed 0)"),
        "{message}"
    );
    let panic = std::panic::catch_unwind(smoke::Panicky::no_crash).unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(
        message.starts_with("smoke check `no_crash` failed for view `Panicky` (seed 3)"),
        "{message}"
    );
}
