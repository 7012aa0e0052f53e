//! `smoke_tests!` on views that do things right: every generated test must
//! pass. Covers every macro form (bare, `fixture`, `skip`, `seed`, several
//! options, trailing comma) and every parameter kind.

use djust::prelude::*;
use djust_testing::TestClientBuilder;
use serde_json::Value;

/// A profile page: text, optional text, lists, numbers, flags, a link and
/// a serde enum, all rendered with the template's escaping.
pub struct SafeView {
    name: String,
    bio: Option<String>,
    tags: Vec<String>,
    count: i64,
    ratio: f64,
    active: bool,
    website: String,
    order: String,
}

#[live_view(public)]
impl SafeView {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(SafeView {
            name: "Ann".into(),
            bio: None,
            tags: Vec::new(),
            count: 0,
            ratio: 0.0,
            active: false,
            website: "https://example.com".into(),
            order: "asc".into(),
        })
    }

    fn render(&self) -> Html {
        html! {
            <h1 title={self.name}>"Hello, " {self.name}</h1>
            if let Some(bio) = &self.bio { <p class="bio">{bio}</p> }
            <ul>
                for tag in &self.tags key = tag {
                    <li data-tag={tag}>{tag}</li>
                }
            </ul>
            <p id="count">{self.count} " / " {self.ratio} " / " {self.active}</p>
            <a href={self.website}>"Website"</a>
            <p id="order">{self.order}</p>
            <button dj-click="rename" dj-value-name="Bob">"Rename"</button>
        }
    }

    #[event_handler]
    fn rename(&mut self, name: String) -> Result<()> {
        if name.trim().is_empty() {
            return Err(Error::bad_request("name must not be empty"));
        }
        self.name = name;
        Ok(())
    }

    #[event_handler]
    fn set_bio(&mut self, bio: Option<String>) {
        self.bio = bio;
    }

    #[event_handler]
    fn set_tags(&mut self, tags: Vec<String>) {
        self.tags = tags;
        self.tags.sort();
        self.tags.dedup();
    }

    #[event_handler]
    #[rate_limit(rate = 5, burst = 3)]
    fn tune(&mut self, count: i64, ratio: f64, #[default(false)] active: bool) {
        self.count = count;
        self.ratio = ratio;
        self.active = active;
    }

    #[event_handler]
    fn set_website(&mut self, website: String) {
        self.website = website;
    }

    /// A serde-decoded parameter (`ParamKind::Other`).
    #[event_handler]
    fn sort(&mut self, order: Value) -> Result<()> {
        match order.as_str() {
            Some(text @ ("asc" | "desc")) => {
                self.order = text.to_owned();
                Ok(())
            }
            _ => Err(Error::bad_request("order must be asc or desc")),
        }
    }
}

/// Shared "database" a fixture puts into the app state.
pub struct Greeting(&'static str);

fn with_greeting(builder: TestClientBuilder) -> TestClientBuilder {
    builder.state(Greeting("Welcome")).url("/members")
}

/// A members-only page with a view permission, a handler permission and
/// app state from a fixture.
pub struct Members {
    greeting: &'static str,
    notes: Vec<String>,
}

#[live_view(permission = "club.view")]
impl Members {
    fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let greeting = ctx.state::<Greeting>()?.0;
        Ok(Members {
            greeting,
            notes: Vec::new(),
        })
    }

    fn render(&self) -> Html {
        html! {
            <h2>{self.greeting}</h2>
            <ol>
                for (i, note) in self.notes.iter().enumerate() key = i {
                    <li>{note}</li>
                }
            </ol>
        }
    }

    #[event_handler]
    #[permission_required("club.write")]
    fn add_note(&mut self, note: String) {
        self.notes.push(note);
    }

    #[event_handler]
    fn clear(&mut self) {
        self.notes.clear();
    }
}

djust_testing::smoke_tests!(
    Members with fixture = with_greeting, skip = [("clear", "nothing to fuzz")], seed = 7,
    SafeView
);

mod nested {
    //! The macro inside a module that imports its views with `use`, with a
    //! closure fixture.
    use super::{Greeting, Members};

    djust_testing::smoke_tests!(Members with seed = 1, fixture = |b| b.state(Greeting("Hi")));
}

/// The generated tests above are not vacuous: called directly, the checks
/// send every payload to every parameter they cover.
#[test]
fn the_checks_cover_every_parameter_with_every_payload() {
    use djust_testing::smoke::{check_type_confusion, check_xss};
    use djust_testing::{payloads, SmokeOptions, ViewFactory};

    let options = SmokeOptions::default();
    let meta = <SafeView as LiveView>::meta();
    let params: Vec<_> = meta.handlers.iter().flat_map(|h| h.params).collect();
    let stringish = params
        .iter()
        .filter(|p| p.ty.contains("String") || p.ty == "Value")
        .count();
    assert_eq!((params.len(), stringish), (8, 5));

    let xss = check_xss(ViewFactory::of::<SafeView>(), &options).unwrap();
    let corpus = payloads::xss().len();
    assert!(
        xss.events >= stringish * corpus,
        "{} events for {stringish} parameters x {corpus} payloads",
        xss.events
    );
    let types = check_type_confusion(ViewFactory::of::<SafeView>(), &options).unwrap();
    let values = payloads::type_confusion(payloads::ParamKind::Any).len();
    assert!(
        types.events >= params.len() * values,
        "{} events for {} parameters x {values} values",
        types.events,
        params.len()
    );
}
