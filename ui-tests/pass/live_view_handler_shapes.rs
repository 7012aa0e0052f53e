// Every supported handler shape compiles.
use djust::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Clone)]
struct Tick;

struct Shapes {
    total: i64,
    text: String,
    _db: Private<()>,
}

#[live_view(login_required, permission = "shapes.view", login_url = "/login", name = "shapes", tick = 500, reauth_each_event)]
impl Shapes {
    async fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let (sender, _) = tokio::sync::broadcast::channel::<Tick>(4);
        ctx.subscribe(sender.subscribe());
        Ok(Shapes { total: 0, text: String::new(), _db: Private::new(()) })
    }

    fn render(&self) -> Html {
        html! {
            <p>{self.total} " " {self.text}</p>
            <button dj-click="plain">"a"</button>
            <input dj-keydown.enter="with_ctx" dj-blur="typed">
        }
    }

    fn check_permissions(&self, ctx: &Ctx) -> Result<()> {
        if ctx.is_authenticated() { Ok(()) } else { Err(Error::forbidden()) }
    }

    fn handle_tick(&mut self) {
        self.total += 1;
    }

    async fn handle_info(&mut self, ctx: &mut EventCtx, _message: Tick) -> Result<()> {
        ctx.push_event("tick", serde_json::json!({}))
    }

    #[event_handler]
    fn plain(&mut self) {}

    #[event_handler]
    async fn async_plain(&mut self) {}

    #[event_handler]
    fn with_ctx(&mut self, ctx: &EventCtx) -> Result<()> {
        self.text = ctx.user().map(|u| u.username.clone()).unwrap_or_default();
        Ok(())
    }

    #[event_handler]
    async fn with_mut_ctx(&mut self, ctx: &mut EventCtx, to: String) -> Result<()> {
        ctx.redirect(&to)
    }

    #[event_handler]
    #[rate_limit(rate = 2.5, burst = 1, key = "ip")]
    #[permission_required("shapes.edit")]
    fn typed(
        &mut self,
        a: i8, b: u64, c: f32, d: bool, e: String, f: Option<i64>, g: Vec<String>,
        h: Option<Vec<u16>>, #[default(7)] i: usize, #[default(String::from("x"))] j: String,
        point: Point, maybe_point: Option<Point>,
    ) -> std::result::Result<(), String> {
        let _ = (a, b, c, d, e, f, g, h, i, j, maybe_point);
        self.total = i64::from(point.x + point.y);
        Ok(())
    }

    #[event_handler]
    fn reads_only(&self) {}
}

fn main() {
    let _ = Shapes::view();
}
