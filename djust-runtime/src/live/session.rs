//! [`LiveSession`]: one mounted view's lifecycle, independent of any
//! socket: mount with the auth checks, events through the name check and
//! the generated allowlist, render into a VDOM, diff against the last tree,
//! and the frames to send. Panics in `mount`, handlers and `render` are
//! caught here: the session reports a generic error, keeps its last good
//! tree, and tells its driver to close when the view state can no longer be
//! trusted.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use super::frames::update_frames;
use super::guard::{guarded, install_panic_hook, panic_text, ViewCodeScope};
use crate::auth::Identity;
use crate::limits::HandlerRateLimiter;
use crate::protocol::ServerMessage;
use crate::security::{is_safe_event_name, sanitize_for_log, SafeError};
use crate::template::mode::{render_markup, render_nodes};
use crate::vdom::{to_html, VTree};
use crate::view::{
    Ctx, DynView, Effects, EventCtx, EventError, InfoStream, MountCtx, Params, ViewFactory,
    ViewMeta,
};

/// Why a view could not be mounted for this connection.
#[derive(Debug)]
pub enum MountRefusal {
    /// The view needs a logged-in user; send them to `login_url`.
    LoginRequired {
        /// Where to log in (the view's `login_url` or the app default).
        login_url: String,
    },
    /// The user lacks the view's permission or `check_permissions` refused.
    PermissionDenied,
    /// `mount` returned an error or panicked, or the first render failed.
    Failed(SafeError),
}

/// What the driver must do after handling something.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Frames to send, in order.
    pub frames: Vec<ServerMessage>,
    /// The view's state can no longer be trusted (a handler panicked): send
    /// the frames, then close the connection.
    pub close: bool,
}

impl Outcome {
    fn frames(frames: Vec<ServerMessage>) -> Self {
        Outcome {
            frames,
            close: false,
        }
    }
}

/// A mounted view and the last tree sent to the client.
pub struct LiveSession {
    view: Box<dyn DynView>,
    meta: &'static ViewMeta,
    ctx: EventCtx,
    nodes: VTree,
    version: u64,
    debug: bool,
}

/// Renders the view into a VDOM, turning a panic into `Err(message)`.
fn render_guarded(view: &dyn DynView) -> Result<VTree, String> {
    let _scope = ViewCodeScope::enter();
    std::panic::catch_unwind(AssertUnwindSafe(|| render_nodes(|| view.render())))
        .map_err(|payload| panic_text(payload.as_ref()))
}

fn error_frame(
    error: &SafeError,
    debug: bool,
    detail: Option<&str>,
    reference: Option<u64>,
) -> ServerMessage {
    ServerMessage::Error {
        error: error.public_message(debug, detail),
        reference,
    }
}

fn effect_frames(effects: Effects, frames: &mut Vec<ServerMessage>) {
    for (event, payload) in effects.pushed {
        frames.push(ServerMessage::PushEvent { event, payload });
    }
    if let Some(to) = effects.navigate {
        frames.push(ServerMessage::Navigate { to });
    }
}

/// The checks and the `mount` call shared by the first page render and the
/// socket mount: login, view permission, `mount` (panics caught),
/// `check_permissions`. Returns the view and its mount context.
async fn mount_checked(
    factory: ViewFactory,
    ctx: &Arc<Ctx>,
    params: Params,
    default_login_url: &str,
) -> Result<(Box<dyn DynView>, MountCtx), MountRefusal> {
    install_panic_hook();
    let meta = factory.meta();
    if meta.login_required() && !ctx.is_authenticated() {
        return Err(MountRefusal::LoginRequired {
            login_url: meta.login_url.unwrap_or(default_login_url).to_owned(),
        });
    }
    if let Some(permission) = meta.permission {
        if !ctx.has_perm(permission) {
            return Err(MountRefusal::PermissionDenied);
        }
    }
    let mut mount_ctx = MountCtx::new(ctx.clone(), params);
    let view = match guarded(factory.mount(&mut mount_ctx)).await {
        Ok(Ok(view)) => view,
        Ok(Err(error)) => {
            tracing::warn!(view = meta.name, error = %sanitize_for_log(&error.to_string()), "mount failed");
            if error.kind() == crate::view::ErrorKind::Forbidden {
                return Err(MountRefusal::PermissionDenied);
            }
            return Err(MountRefusal::Failed(SafeError::Internal));
        }
        Err(panic) => {
            tracing::error!(view = meta.name, panic = %sanitize_for_log(&panic), "mount panicked");
            return Err(MountRefusal::Failed(SafeError::Internal));
        }
    };
    if let Err(error) = view.check_permissions(ctx) {
        tracing::info!(view = meta.name, reason = %sanitize_for_log(&error.to_string()), "check_permissions refused mount");
        return Err(MountRefusal::PermissionDenied);
    }
    Ok((view, mount_ctx))
}

/// Renders a view once for the first page load (server-side rendering, no
/// state kept): the same checks as [`LiveSession::mount`], then `render`
/// into markup. Subscriptions and effects are dropped.
pub async fn render_page(
    factory: ViewFactory,
    ctx: Arc<Ctx>,
    default_login_url: &str,
) -> Result<String, MountRefusal> {
    let (view, _) = mount_checked(factory, &ctx, Params::new(), default_login_url).await?;
    let _scope = ViewCodeScope::enter();
    std::panic::catch_unwind(AssertUnwindSafe(|| render_markup(|| view.render()))).map_err(|payload| {
        tracing::error!(view = factory.meta().name, panic = %sanitize_for_log(&panic_text(payload.as_ref())), "render panicked during page render");
        MountRefusal::Failed(SafeError::RenderFailed)
    })
}

impl LiveSession {
    /// Mounts `factory` for `ctx`: login and permission checks, `mount`,
    /// `check_permissions`, first render. Returns the session, its first
    /// frames (`mount`, then pushed events / navigation) and the
    /// subscriptions `mount` asked for.
    pub async fn mount(
        factory: ViewFactory,
        ctx: Arc<Ctx>,
        params: Params,
        limiter: Arc<dyn HandlerRateLimiter>,
        default_login_url: &str,
    ) -> Result<(LiveSession, Vec<ServerMessage>, Vec<InfoStream>), MountRefusal> {
        let meta = factory.meta();
        let debug = ctx.debug();
        let (view, mount_ctx) = mount_checked(factory, &ctx, params, default_login_url).await?;
        let nodes = match render_guarded(view.as_ref()) {
            Ok(nodes) => nodes,
            Err(panic) => {
                tracing::error!(view = meta.name, panic = %sanitize_for_log(&panic), "render panicked at mount");
                return Err(MountRefusal::Failed(SafeError::RenderFailed));
            }
        };
        let (subscriptions, effects) = mount_ctx.into_parts();
        let mut frames = vec![ServerMessage::Mount {
            view: meta.name.to_owned(),
            version: 1,
            html: to_html(&nodes),
        }];
        effect_frames(effects, &mut frames);
        let session = LiveSession {
            view,
            meta,
            ctx: EventCtx::new(ctx, meta.name, limiter),
            nodes,
            version: 1,
            debug,
        };
        Ok((session, frames, subscriptions))
    }

    /// The view's metadata.
    pub fn meta(&self) -> &'static ViewMeta {
        self.meta
    }

    /// The version of the last tree sent.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The HTML of the last tree sent.
    pub fn html(&self) -> String {
        to_html(&self.nodes)
    }

    /// Replaces the connection context (identity changes, e.g. after login elsewhere).
    pub fn set_ctx(&mut self, ctx: Arc<Ctx>) {
        self.ctx.set_ctx(ctx);
    }

    /// Serves `identity` from now on (the user as reloaded for
    /// `reauth_each_event`); the rest of the context is kept.
    pub fn set_identity(&mut self, identity: Identity) {
        let ctx = Ctx::clone(self.ctx.ctx_arc()).with_identity(identity);
        self.ctx.set_ctx(Arc::new(ctx));
    }

    /// Whether `event` names one of the view's `#[event_handler]`s (and
    /// passes the name check): the events the allowlist lets through.
    pub fn accepts_event(&self, event: &str) -> bool {
        is_safe_event_name(event) && self.meta.handler(event).is_some()
    }

    /// `reauth_each_event`: the mount's checks again, for the identity
    /// the connection holds now: login, the view's `permission`, then
    /// `check_permissions`.
    fn reauthorize(&self, event: &str) -> Result<(), SafeError> {
        let ctx = self.ctx.ctx_arc();
        let name = self.meta.name;
        if self.meta.login_required() && !ctx.is_authenticated() {
            tracing::info!(view = name, event, "reauth refused event: not logged in");
            return Err(SafeError::LoginRequired);
        }
        if let Some(permission) = self.meta.permission {
            if !ctx.has_perm(permission) {
                tracing::info!(
                    view = name,
                    event,
                    permission,
                    "reauth refused event: permission"
                );
                return Err(SafeError::PermissionDenied);
            }
        }
        self.view.check_permissions(ctx).map_err(|error| {
            tracing::info!(view = name, event, reason = %sanitize_for_log(&error.to_string()), "check_permissions refused event");
            SafeError::PermissionDenied
        })
    }

    /// `request_html`: the full HTML at the current version.
    pub fn html_update(&self) -> ServerMessage {
        ServerMessage::HtmlUpdate {
            html: self.html(),
            version: self.version,
        }
    }

    /// Handles one `event` frame.
    pub async fn handle_event(
        &mut self,
        event: &str,
        params: &Params,
        reference: Option<u64>,
    ) -> Outcome {
        let name = self.meta.name;
        if !self.accepts_event(event) {
            tracing::warn!(view = name, event = %sanitize_for_log(event), "refused event: not an #[event_handler]");
            return Outcome::frames(vec![error_frame(
                &SafeError::UnknownEvent,
                self.debug,
                None,
                reference,
            )]);
        }
        if self.meta.reauth_each_event {
            if let Err(refusal) = self.reauthorize(event) {
                return Outcome::frames(vec![error_frame(&refusal, self.debug, None, reference)]);
            }
        }
        let result = guarded(self.view.dispatch(&mut self.ctx, event, params)).await;
        let mut frames = Vec::new();
        match result {
            Err(panic) => {
                tracing::error!(view = name, event, panic = %sanitize_for_log(&panic), "event handler panicked; closing the connection");
                let _ = self.ctx.take_effects();
                return Outcome {
                    frames: vec![error_frame(
                        &SafeError::HandlerFailed,
                        self.debug,
                        None,
                        reference,
                    )],
                    close: true,
                };
            }
            Ok(Err(error)) => {
                let safe = error.to_safe();
                tracing::info!(view = name, event, error = %sanitize_for_log(&error.to_string()), "event refused or failed");
                let detail = match &error {
                    EventError::Handler(inner) => Some(sanitize_for_log(&inner.to_string())),
                    _ => None,
                };
                frames.push(error_frame(&safe, self.debug, detail.as_deref(), reference));
                if !matches!(error, EventError::Handler(_)) {
                    // Refused before the handler ran: state is untouched, nothing to render.
                    let _ = self.ctx.take_effects();
                    return Outcome::frames(frames);
                }
                // The handler ran and may have changed state: keep the client in sync.
                frames.extend(self.rerender(None));
            }
            Ok(Ok(())) => frames.extend(self.rerender(reference)),
        }
        effect_frames(self.ctx.take_effects(), &mut frames);
        Outcome::frames(frames)
    }

    /// Handles a tick (`#[live_view(tick = ms)]`).
    pub async fn handle_tick(&mut self) -> Outcome {
        let result = guarded(self.view.tick(&mut self.ctx)).await;
        self.after_server_callback("handle_tick", result)
    }

    /// Handles a message from a subscription.
    pub async fn handle_info(&mut self, message: Box<dyn Any + Send>) -> Outcome {
        let result = guarded(self.view.info(&mut self.ctx, message)).await;
        self.after_server_callback("handle_info", result)
    }

    fn after_server_callback(
        &mut self,
        what: &str,
        result: Result<crate::view::Result<()>, String>,
    ) -> Outcome {
        let name = self.meta.name;
        let mut frames = Vec::new();
        match result {
            Err(panic) => {
                tracing::error!(view = name, callback = what, panic = %sanitize_for_log(&panic), "callback panicked; closing the connection");
                return Outcome {
                    frames: vec![error_frame(&SafeError::Internal, self.debug, None, None)],
                    close: true,
                };
            }
            Ok(Err(error)) => {
                tracing::warn!(view = name, callback = what, error = %sanitize_for_log(&error.to_string()), "callback failed");
            }
            Ok(Ok(())) => {}
        }
        frames.extend(
            self.rerender(None)
                .into_iter()
                .filter(|frame| !matches!(frame, ServerMessage::Noop { .. })),
        );
        effect_frames(self.ctx.take_effects(), &mut frames);
        Outcome::frames(frames)
    }

    /// Renders, diffs against the last tree and returns the frame(s).
    fn rerender(&mut self, reference: Option<u64>) -> Vec<ServerMessage> {
        let name = self.meta.name;
        let nodes = match render_guarded(self.view.as_ref()) {
            Ok(nodes) => nodes,
            Err(panic) => {
                tracing::error!(view = name, panic = %sanitize_for_log(&panic), "render panicked; keeping the last tree");
                return vec![error_frame(
                    &SafeError::RenderFailed,
                    self.debug,
                    None,
                    reference,
                )];
            }
        };
        match update_frames(&self.nodes, &nodes, self.version + 1, reference) {
            Ok(None) => {
                self.nodes = nodes;
                vec![ServerMessage::Noop { reference }]
            }
            Ok(Some(frames)) => {
                self.nodes = nodes;
                self.version += 1;
                frames
            }
            Err(error) => {
                tracing::error!(view = name, error = %sanitize_for_log(&error.to_string()), "diff failed; sending full HTML");
                self.nodes = nodes;
                self.version += 1;
                let mut frames = Vec::new();
                if self.debug {
                    frames.push(ServerMessage::Error {
                        error: format!("template bug: {error}"),
                        reference: None,
                    });
                }
                frames.push(self.html_update());
                if reference.is_some() {
                    frames.push(ServerMessage::Noop { reference });
                }
                frames
            }
        }
    }
}
