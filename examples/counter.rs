//! The smallest live view: a public counter.
//!
//! Run: `cargo run --example counter` (options: `--addr HOST:PORT`), then
//! open the printed URL. Click the buttons: the page updates over a
//! WebSocket without reloading. `reset` is rate limited to 2 per second
//! (burst 3): click it quickly and watch the error. "About" opens a panel
//! with a client command (`JS::toggle`): no round trip to the server. Run
//! `cargo run --example counter -- audit` for the security audit.

// Example code: public items are documented where it helps the reader.
#![allow(missing_docs)]

use djust::prelude::*;

struct Counter {
    count: i64,
}

#[live_view(public)]
impl Counter {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Counter { count: 0 })
    }

    fn render(&self) -> Html {
        html! {
            <main class="counter">
                <h1>"Counter"</h1>
                <p class="count" id="count">{self.count}</p>
                <button id="decrement" dj-click="decrement">"−1"</button>
                <button id="increment" dj-click="increment">"+1"</button>
                <button id="add10" dj-click="increment" dj-value-by="10">"+10"</button>
                <button id="reset" dj-click="reset">"Reset"</button>
                <button id="about-toggle" dj-click={JS::toggle("#about")}>"About"</button>
                <section id="about" hidden>
                    <p>"The buttons ask the server to change the count. This panel opens and closes in the browser with a client command: no round trip."</p>
                    <button id="about-close" dj-click={JS::hide("#about").focus("#about-toggle")}>"Close"</button>
                </section>
            </main>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 50, burst = 20)]
    fn increment(&mut self, #[default(1)] by: i64) {
        self.count = self.count.saturating_add(by.clamp(-1000, 1000));
    }

    #[event_handler]
    #[rate_limit(rate = 50, burst = 20)]
    fn decrement(&mut self) {
        self.count = self.count.saturating_sub(1);
    }

    #[event_handler]
    #[rate_limit(rate = 2, burst = 3)]
    fn reset(&mut self) {
        self.count = 0;
    }
}

pub fn app() -> App {
    App::new()
        .title("Counter")
        .stylesheet("/static/demo.css")
        .static_dir(
            "static",
            concat!(env!("CARGO_MANIFEST_DIR"), "/examples/static"),
        )
        .live("/", Counter::view())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    djust::cli::Cli::new("counter")
        .run(|args| async move {
            let config = args.config()?;
            if args.serves() {
                println!("Counter on http://{}/", args.addr());
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

    djust_testing::smoke_tests!(Counter);

    #[test]
    fn buttons_change_the_count() {
        let mut client = TestClient::mount::<Counter>().expect("mount");
        client.event("increment", json!({}));
        client.event("increment", json!({ "by": "10" }));
        client.event("decrement", json!({}));
        assert!(
            client
                .html()
                .contains("<p class=\"count\" id=\"count\">10</p>"),
            "{}",
            client.html()
        );
        client.event("reset", json!({}));
        assert!(client.html().contains(">0</p>"));
    }

    #[test]
    fn audit_is_clean_in_strict_mode() {
        let config = djust::Config {
            secret_key: Some("x".repeat(32)),
            ..djust::Config::default()
        };
        let report = app().config(config).audit_report();
        assert!(
            !report.has_findings_at_least(djust::runtime::audit::Severity::Warning),
            "{}",
            report.to_text(true)
        );
        djust_testing::assert_snapshot!(
            "tests/snapshots/example_counter_audit.txt",
            djust_testing::snapshot::example_paths(
                &report.to_text(true),
                module_path!(),
                "counter"
            )
        );
        djust_testing::assert_snapshot!(
            "tests/snapshots/example_counter_audit.json",
            djust_testing::snapshot::example_paths(
                &format!("{:#}\n", report.to_json()),
                module_path!(),
                "counter"
            )
        );
    }
}
