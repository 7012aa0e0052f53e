// Components: props, update, handlers with typed params, notify_parent,
// keyed instances, dj-target from the parent, nested components.
use djust::prelude::*;

struct Stepper {
    value: i64,
    step: i64,
}

#[live_component(name = "stepper")]
impl Stepper {
    fn mount(step: i64) -> Self {
        Stepper { value: 0, step }
    }
    fn update(&mut self, step: i64) {
        self.step = step;
    }
    fn render(&self) -> Html {
        html! {
            <b>{self.value}</b>
            <button dj-click="inc">"+"</button>
            <button dj-click={JS::push("set")} dj-value-to="0">"0"</button>
        }
    }
    #[event_handler]
    #[rate_limit(rate = 5, burst = 5)]
    fn inc(&mut self, ctx: &mut EventCtx) {
        self.value += self.step;
        ctx.notify_parent(self.value);
    }
    #[event_handler]
    fn set(&mut self, #[default(0)] to: i64) {
        self.value = to;
    }
}

struct Group {
    steps: Vec<i64>,
}

#[live_component]
impl Group {
    fn mount(steps: Vec<i64>) -> Self {
        Group { steps }
    }
    fn render(&self) -> Html {
        html! {
            for (i, step) in self.steps.iter().enumerate() key = i {
                {live_component::<Stepper>(("step", i), *step)}
            }
        }
    }
}

struct Page {
    total: i64,
}

#[live_view(public)]
impl Page {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Page { total: 0 })
    }
    fn render(&self) -> Html {
        html! {
            <p>{self.total}</p>
            {live_component::<Stepper>("main", 1)}
            {live_component::<Group>("group", vec![1, 2])}
            <button dj-click="inc" dj-target="main">"+ main"</button>
            <button dj-click={JS::push("set")} dj-target="main">"reset main"</button>
        }
    }
    fn handle_info(&mut self, value: i64) {
        self.total = value;
    }
}

fn main() {
    let _ = Page::view();
}
