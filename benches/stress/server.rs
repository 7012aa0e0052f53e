//! The server under attack (`djust-stress serve`, started by the driver as
//! a child process with a lowered open-file limit): every setting at its
//! default (a `DJUST_*` variable in the environment still applies), one
//! public live view at `/`, and the login form with one user whose password
//! is hashed at the real cost (argon2id, m = 19 MiB).

use djust::prelude::*;
use djust::runtime::auth::{hash_password, MemoryAuthBackend, User};
use tokio::io::AsyncReadExt as _;

/// The secret of the server under attack.
const SECRET: &str = "djust-stress secret key, at least thirty-two bytes";

/// The legitimate user.
pub const USER: &str = "alice";
/// Her password.
pub const PASSWORD: &str = "alice-stress-password";

/// The page every legitimate request fetches.
pub struct Page {
    visits: i64,
}

#[live_view(public, name = "page")]
impl Page {
    fn mount(_ctx: &mut MountCtx) -> Result<Self> {
        Ok(Page { visits: 0 })
    }

    fn render(&self) -> Html {
        html! {
            <h1>"djust-stress"</h1>
            <p id="visits">{self.visits}</p>
            <button dj-click="visit">"Visit"</button>
        }
    }

    #[event_handler]
    fn visit(&mut self) {
        self.visits += 1;
    }
}

/// Serves on 127.0.0.1:0, prints `listening ADDR`, and stops (gracefully)
/// when stdin closes.
pub async fn serve() -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut config = djust::Config::from_env().map_err(|error| error.to_string())?;
    config.secret_key = Some(SECRET.to_owned());
    let backend = MemoryAuthBackend::new();
    let hash = hash_password(PASSWORD).map_err(|error| error.to_string())?;
    backend.insert(User::new("1", USER), hash);
    let server = App::new()
        .title("djust-stress")
        .config(config)
        .auth(backend)
        .live("/", Page::view())
        .bind("127.0.0.1:0")
        .await
        .map_err(|error| error.to_string())?;
    println!("listening {}", server.local_addr());
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    server.shutdown().await;
    Ok(())
}
