//! One stateful component on two pages.
//!
//! Run: `cargo run --example components` (options: `--addr HOST:PORT`),
//! then open the printed URL. `Stepper` is a `#[live_component]`: a number
//! with − and + buttons, its own state, its own allowlisted handlers, and a
//! message to its parent when it changes. The shop (`/`) shows one stepper
//! per product and a total the view keeps from the steppers' messages; the
//! survey (`/survey`) reuses the same component for ratings, capped by the
//! page. A click on a stepper sends one event to that stepper only, and
//! the reply patches only its number (and the parent's total when the
//! parent re-renders). `cargo run --example components -- audit` lists the
//! component with its exposed fields and handlers.

// Example code: public items are documented where it helps the reader.
#![allow(missing_docs)]

use djust::prelude::*;

/// What a stepper tells the view it is embedded in.
#[derive(Debug, Clone, Copy)]
pub struct Stepped {
    /// The stepper's key among its siblings (product or question index).
    pub key: usize,
    /// Its new value.
    pub value: i64,
}

/// The props a page passes a stepper on each render.
pub struct StepperProps {
    pub key: usize,
    pub label: String,
    pub max: i64,
}

/// A bounded counter with − and + buttons.
pub struct Stepper {
    key: usize,
    label: String,
    max: i64,
    value: i64,
}

#[live_component]
impl Stepper {
    fn mount(props: StepperProps) -> Self {
        Stepper {
            key: props.key,
            label: props.label,
            max: props.max,
            value: 0,
        }
    }

    /// The page may change the label or the cap; the value is the stepper's.
    fn update(&mut self, props: StepperProps) {
        self.label = props.label;
        self.max = props.max;
        self.value = self.value.min(self.max);
    }

    fn render(&self) -> Html {
        html! {
            <span class="stepper">
                <span class="stepper-label">{self.label}</span>
                <button class="minus" dj-click="step" dj-value-by="-1">"−"</button>
                <b class="value">{self.value}</b>
                <button class="plus" dj-click="step" dj-value-by="1">"+"</button>
            </span>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 20, burst = 20)]
    fn step(&mut self, ctx: &mut EventCtx, by: i64) {
        let next = (self.value + by.clamp(-1, 1)).clamp(0, self.max);
        if next != self.value {
            self.value = next;
            ctx.notify_parent(Stepped {
                key: self.key,
                value: next,
            });
        }
    }
}

const PRODUCTS: [(&str, i64); 3] = [("Tea", 4), ("Coffee", 5), ("Cake", 3)];

/// The shop: a stepper per product, and the total the view keeps.
pub struct Shop {
    quantities: Vec<i64>,
}

#[live_view(public, title = "Shop")]
impl Shop {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Shop {
            quantities: vec![0; PRODUCTS.len()],
        })
    }

    fn total(&self) -> i64 {
        PRODUCTS
            .iter()
            .zip(&self.quantities)
            .map(|((_, price), quantity)| price * quantity)
            .sum()
    }

    fn render(&self) -> Html {
        html! {
            <main>
                <h1>"Shop"</h1>
                <ul>
                    for (i, (name, price)) in PRODUCTS.iter().enumerate() key = i {
                        <li>
                            {live_component::<Stepper>(("product", i), StepperProps { key: i, label: format!("{name} ({price} €)"), max: 10 })}
                        </li>
                    }
                </ul>
                <p id="total">"Total: " {self.total()} " €"</p>
                <a href="/survey">"Survey"</a>
            </main>
        }
    }

    fn handle_info(&mut self, message: Stepped) {
        if let Some(quantity) = self.quantities.get_mut(message.key) {
            *quantity = message.value;
        }
    }
}

/// The survey: the same component as a 0–5 rating, plus one stepper the
/// page's own button can drive with `dj-target`.
pub struct Survey {
    answered: usize,
    ratings: Vec<i64>,
}

const QUESTIONS: [&str; 2] = ["Service", "Food"];

#[live_view(public, title = "Survey")]
impl Survey {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Survey {
            answered: 0,
            ratings: vec![0; QUESTIONS.len() + 1],
        })
    }

    fn render(&self) -> Html {
        html! {
            <main>
                <h1>"Survey"</h1>
                for (i, question) in QUESTIONS.iter().enumerate() key = i {
                    <p>{live_component::<Stepper>(("rating", i), StepperProps { key: i, label: question.to_string(), max: 5 })}</p>
                }
                <p>{live_component::<Stepper>("overall", StepperProps { key: QUESTIONS.len(), label: "Overall".into(), max: 5 })}</p>
                <button id="overall-up" dj-click="step" dj-value-by="1" dj-target="overall">"Overall +1 (from the page)"</button>
                <p id="answered">{self.answered} " of " {self.ratings.len()} " answered"</p>
                <a href="/">"Shop"</a>
            </main>
        }
    }

    fn handle_info(&mut self, message: Stepped) {
        if let Some(rating) = self.ratings.get_mut(message.key) {
            *rating = message.value;
        }
        self.answered = self.ratings.iter().filter(|rating| **rating > 0).count();
    }
}

pub fn app() -> App {
    App::new()
        .title("Components")
        .stylesheet("/static/demo.css")
        .static_dir(
            "static",
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/static"),
        )
        .live("/", Shop::view())
        .live("/survey", Survey::view())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    djust::cli::Cli::new("components")
        .run(|args| async move {
            let config = args.config()?;
            if args.serves() {
                println!(
                    "Components on http://{}/ and http://{}/survey",
                    args.addr(),
                    args.addr()
                );
            }
            Ok(app().config(config))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use djust_testing::TestClient;
    use serde_json::json;

    djust_testing::smoke_tests!(Shop, Survey);

    #[test]
    fn the_shop_totals_what_its_steppers_report() {
        let mut client = TestClient::mount::<Shop>().expect("mount");
        client.event_to("product:1", "step", json!({ "by": "1" }));
        client.event_to("product:1", "step", json!({ "by": "1" }));
        client.event_to("product:2", "step", json!({ "by": "1" }));
        assert!(client.html().contains("Total: 13 €"), "{}", client.html());
    }

    #[test]
    fn the_survey_reuses_the_stepper_with_its_own_cap() {
        let mut client = TestClient::mount::<Survey>().expect("mount");
        for _ in 0..7 {
            client.event_to("overall", "step", json!({ "by": 1 }));
        }
        assert!(
            client.html().contains("<b class=\"value\">5</b>"),
            "{}",
            client.html()
        );
        assert!(
            client.html().contains("1 of 3 answered"),
            "{}",
            client.html()
        );
    }
}
