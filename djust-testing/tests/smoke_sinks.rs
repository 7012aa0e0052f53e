//! The XSS smoke check finds input in every attribute sink of the shared
//! table, not only in elements and `href`/`src`: one deliberately
//! vulnerable view per sink, each writing the client's value into the sink
//! through `format_html!` (which escapes for an attribute, not for what the
//! browser then does with the attribute). `html!` itself refuses or filters
//! all of these (see `ui-tests/fail/*` and `tests/xss_contexts.rs`); the
//! smoke check must still catch a view that goes around it.

use djust::prelude::*;
use djust_testing::smoke::check_xss;
use djust_testing::{SmokeOptions, ViewFactory};

fn failure<V: LiveView>() -> String {
    match check_xss(ViewFactory::of::<V>(), &SmokeOptions::default()) {
        Ok(report) => panic!("the check passed but must fail: {report:?}"),
        Err(failure) => failure.to_string(),
    }
}

fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "{part:?} missing from:\n{message}");
    }
}

/// One view per sink: `markup` starts benign and `set` rebuilds it with
/// the client's value in the sink.
macro_rules! sink_view {
    ($(#[$doc:meta])* $name:ident, $format:literal, $benign:literal) => {
        $(#[$doc])*
        pub struct $name {
            markup: SafeHtml,
        }

        #[live_view(public)]
        impl $name {
            fn mount(_ctx: &mut MountCtx) -> Result<Self> {
                Ok($name {
                    markup: format_html!($format, $benign),
                })
            }

            fn render(&self) -> Html {
                html! { <div class="sink">{self.markup|safe}</div> }
            }

            #[event_handler]
            #[rate_limit(rate = 1000, burst = 1000)]
            fn set(&mut self, value: String) {
                self.markup = format_html!($format, value);
            }
        }
    };
}

sink_view!(
    /// Client markup in `srcdoc`.
    SrcdocPreview,
    "<iframe srcdoc=\"{}\"></iframe>",
    "<p>preview</p>"
);
sink_view!(
    /// A client URL in `ping`.
    PingTracker, "<a href=\"/\" ping=\"{}\">home</a>", "/count");
sink_view!(
    /// A client URL in a refresh directive.
    MetaRefresh,
    "<meta http-equiv=\"refresh\" content=\"0; url={}\">",
    "/next"
);
sink_view!(
    /// A client URL animated into a link's `href`.
    AnimatedLink,
    "<svg><a href=\"/\"><set attributeName=\"href\" to=\"{}\"></set><text>home</text></a></svg>",
    "/home"
);
sink_view!(
    /// A client URL as the page's base.
    BaseHref, "<base href=\"{}\">", "/app/");
sink_view!(
    /// A client URL in `formaction`, `poster`, `xlink:href`, `<object data>`, `<embed src>`.
    UrlSinks,
    "<form action=\"/\"><button formaction=\"{0}\">go</button></form><video poster=\"{0}\"></video>\
     <svg><a xlink:href=\"{0}\"><text>x</text></a></svg><object data=\"{0}\"></object><embed src=\"{0}\">",
    "/media"
);

/// Markup the browser runs in a same-origin frame: `srcdoc` is parsed and
/// checked like the page (unseen before: the check took no candidates
/// from `srcdoc`).
#[test]
fn markup_in_srcdoc_is_found() {
    let message = failure::<SrcdocPreview>();
    assert_mentions(
        &message,
        &[
            "view `SrcdocPreview`",
            "handler `set`, parameter `value`, payload ",
            "in the `srcdoc` document of <iframe>: ",
        ],
    );
    assert!(
        message.contains("<iframe>: script")
            || message.contains("<iframe>: event-handler attribute"),
        "{message}"
    );
}

#[test]
fn a_dangerous_url_in_ping_is_found() {
    assert_mentions(
        &failure::<PingTracker>(),
        &[
            "view `PingTracker`",
            "non-allowlisted URL \"javascript:",
            "in `ping` of <a>",
        ],
    );
}

/// Any value the input gives a refresh's `content` is reported (a
/// `javascript:` one is also a dangerous URL: the unit tests of
/// `smoke/dom.rs` show that finding; here the directive findings fill the
/// report first).
#[test]
fn input_in_a_refresh_directive_is_found() {
    assert_mentions(
        &failure::<MetaRefresh>(),
        &[
            "view `MetaRefresh`",
            "handler `set`, parameter `value`, payload ",
            "page-wide directive `content`=\"0; url=",
            "on <meta>",
        ],
    );
}

#[test]
fn a_dangerous_url_in_an_svg_animation_of_href_is_found() {
    assert_mentions(
        &failure::<AnimatedLink>(),
        &[
            "view `AnimatedLink`",
            "non-allowlisted URL \"javascript:",
            "in `to` of <set>",
        ],
    );
}

/// Any value the input gives `<base href>` is reported, an `https:` one
/// too: it moves every relative URL of the page.
#[test]
fn input_in_base_href_is_found() {
    let message = failure::<BaseHref>();
    assert_mentions(
        &message,
        &[
            "view `BaseHref`",
            "page-wide directive `href`=",
            "on <base>",
        ],
    );
}

#[test]
fn dangerous_urls_in_formaction_poster_xlink_href_object_data_and_embed_src_are_found() {
    assert_mentions(
        &failure::<UrlSinks>(),
        &[
            "view `UrlSinks`",
            "in `formaction` of <button>",
            "in `poster` of <video>",
            "in `href` of <a>",
            "in `data` of <object>",
            "in `src` of <embed>",
        ],
    );
}
