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
use super::router::LiveGroup;
use crate::auth::Identity;
use crate::limits::HandlerRateLimiter;
use crate::protocol::ServerMessage;
use crate::security::{is_safe_event_name, sanitize_for_log, SafeError};
use crate::template::mode::{render_markup, render_nodes};
use crate::vdom::{to_html, VTree};
use crate::view::component::{with_components, Components};
use crate::view::stream::place_items;
use crate::view::{
    Ctx, DynView, Effects, ErrorKind, EventCtx, EventError, Flash, InfoStream, MountCtx,
    Navigation, Params, ViewFactory, ViewMeta,
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
    /// The URL's parameters did not decode for `handle_params`, or `mount`
    /// or `handle_params` answered `Error::bad_request` (HTTP 400).
    BadRequest(SafeError),
    /// `mount` or `handle_params` answered `Error::not_found` (HTTP 404).
    NotFound,
    /// `mount` returned an error or panicked, or the first render failed.
    Failed(SafeError),
}

impl MountRefusal {
    /// The refusal for an error returned by `mount` or `handle_params`.
    fn from_error(view: &str, error: &crate::view::Error) -> Self {
        match error.kind() {
            ErrorKind::Forbidden => MountRefusal::PermissionDenied,
            ErrorKind::NotFound => MountRefusal::NotFound,
            ErrorKind::BadRequest => MountRefusal::BadRequest(SafeError::BadRequest),
            _ => {
                tracing::warn!(view, error = %sanitize_for_log(&error.to_string()), "mount failed");
                MountRefusal::Failed(SafeError::Internal)
            }
        }
    }

    /// The refusal for a failed `handle_params`.
    fn from_params_error(view: &str, error: &EventError) -> Self {
        match error {
            EventError::Handler(error) => MountRefusal::from_error(view, error),
            EventError::InvalidParam(_) => MountRefusal::BadRequest(error.to_safe()),
            EventError::LoginRequired | EventError::PermissionDenied => {
                MountRefusal::PermissionDenied
            }
            EventError::UnknownEvent | EventError::RateLimited => {
                MountRefusal::Failed(SafeError::Internal)
            }
        }
    }
}

/// What a mount needs besides the view: who (`ctx`, whose URL is the
/// page's), the mount frame's params, the URL's parameters for
/// `handle_params`, the live session the route belongs to, and where
/// anonymous users log in.
pub struct MountRequest<'a> {
    /// The view to mount.
    pub factory: ViewFactory,
    /// The connection's context, with the URL mounted.
    pub ctx: Arc<Ctx>,
    /// The `params` of the mount frame (untrusted).
    pub params: Params,
    /// The URL's path and query parameters (`Router::resolve`).
    pub url_params: Params,
    /// The route's live session, if it has one besides the default.
    pub group: Option<&'a LiveGroup>,
    /// The app's login URL (a view's own `login_url` wins).
    pub default_login_url: &'a str,
}

/// A view mounted (or restored): the session, its first frames, the
/// subscriptions it asked for, and where `mount`/`handle_params` asked to
/// go and what to flash (for the connection to act on).
pub struct Mounted {
    /// The session.
    pub session: LiveSession,
    /// `mount` (or `html_update` for a restore), then pushed events.
    pub frames: Vec<ServerMessage>,
    /// Subscriptions `mount` asked for.
    pub subscriptions: Vec<InfoStream>,
    /// A navigation `mount` or `handle_params` asked for.
    pub navigation: Option<Navigation>,
    /// Flash messages put during the mount.
    pub flash: Vec<Flash>,
}

/// A page rendered once for its first paint (see [`render_page`]).
#[derive(Debug)]
pub struct RenderedPage {
    /// The view's markup.
    pub html: String,
    /// The page title (the view's part).
    pub title: String,
    /// A navigation `mount` or `handle_params` asked for: the page answers
    /// with a redirect there instead.
    pub navigation: Option<Navigation>,
    /// Flash messages put during the mount.
    pub flash: Vec<Flash>,
}

/// What the driver must do after handling something.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Frames to send, in order.
    pub frames: Vec<ServerMessage>,
    /// The view's state can no longer be trusted (a handler panicked): send
    /// the frames, then close the connection.
    pub close: bool,
    /// Where the view asked to go (the connection resolves it).
    pub navigation: Option<Navigation>,
    /// Flash messages to show (with the navigation, if any).
    pub flash: Vec<Flash>,
}

impl Outcome {
    fn frames(frames: Vec<ServerMessage>) -> Self {
        Outcome {
            frames,
            ..Outcome::default()
        }
    }
}

/// What became of a dispatched event.
enum Verdict {
    /// The handler ran and returned `Ok`.
    Applied,
    /// The handler returned `Error::conflict` with this message for the user.
    Conflict(String),
    /// Refused before or by the handler.
    Refused(SafeError),
}

/// A mounted view and the last tree sent to the client.
pub struct LiveSession {
    view: Box<dyn DynView>,
    meta: &'static ViewMeta,
    ctx: EventCtx,
    nodes: VTree,
    version: u64,
    debug: bool,
    /// The page title's view part (`title = ".."`, or `set_title`).
    title: String,
    /// The `#[live_component]`s the view's template embeds, by id.
    components: Components,
    /// While hibernating: the fingerprint of the tree the client has,
    /// whose arena was dropped (`nodes` is then empty). See
    /// [`LiveSession::hibernate`].
    hibernated: Option<[u8; 32]>,
    /// The client's page may not be `nodes` (waking rendered another tree,
    /// or failed): the next render goes out whole, as an `html_update`.
    client_tree_unknown: bool,
}

/// Renders the view into a VDOM with its components lent to the render
/// (`parent_changed`: they get `update`), turning a panic into
/// `Err(message)`.
fn render_guarded(
    view: &dyn DynView,
    components: &mut Components,
    parent_changed: bool,
) -> Result<VTree, String> {
    let _scope = ViewCodeScope::enter();
    std::panic::catch_unwind(AssertUnwindSafe(|| {
        with_components(components, parent_changed, || {
            render_nodes(|| view.render())
        })
    }))
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

/// Pushed events become frames; the title, navigation and flash are
/// returned for the caller to act on.
fn effect_frames(
    effects: Effects,
    frames: &mut Vec<ServerMessage>,
    render: Render,
) -> (Option<String>, Option<Navigation>, Vec<Flash>) {
    match (render, frames.first_mut()) {
        // A first render carries its stream items inside their containers.
        (
            Render::First,
            Some(ServerMessage::Mount { html, .. } | ServerMessage::HtmlUpdate { html, .. }),
        ) => {
            if !effects.streams.is_empty() {
                *html = place_items(html, &effects.streams);
            }
        }
        _ => {
            for batch in effects.streams {
                frames.push(ServerMessage::Stream {
                    name: batch.name,
                    ops: batch.ops,
                });
            }
        }
    }
    for (event, payload) in effects.pushed {
        frames.push(ServerMessage::PushEvent { event, payload });
    }
    (effects.title, effects.navigation, effects.flash)
}

/// Whether the frames are a view's first render (the `mount` frame, or
/// the `html_update` of a restore) or follow a callback.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Render {
    First,
    Update,
}

/// How a view comes to be: mounted afresh, or restored from its
/// persisted state.
#[derive(Clone, Copy)]
enum Origin<'a> {
    Mount,
    Restore(&'a [u8]),
}

/// The checks and the `mount` call shared by the first page render, the
/// socket mount and a restore: login, view permission, `mount` (or the
/// restore; panics caught), `check_permissions`. Returns the view and its
/// mount context.
async fn mount_checked(
    factory: ViewFactory,
    ctx: &Arc<Ctx>,
    params: Params,
    group: Option<&LiveGroup>,
    default_login_url: &str,
    origin: Origin<'_>,
) -> Result<(Box<dyn DynView>, MountCtx), MountRefusal> {
    install_panic_hook();
    let meta = factory.meta();
    let group_login = group.is_some_and(LiveGroup::needs_login);
    if (meta.login_required() || group_login) && !ctx.is_authenticated() {
        return Err(MountRefusal::LoginRequired {
            login_url: meta.login_url.unwrap_or(default_login_url).to_owned(),
        });
    }
    let group_permission = group.and_then(LiveGroup::required_permission);
    for permission in [meta.permission, group_permission].into_iter().flatten() {
        if !ctx.has_perm(permission) {
            return Err(MountRefusal::PermissionDenied);
        }
    }
    let mut mount_ctx = MountCtx::new(ctx.clone(), params);
    // The live session's hooks, before the view's own mount.
    for hook in group.map(LiveGroup::hooks).unwrap_or_default() {
        match std::panic::catch_unwind(AssertUnwindSafe(|| hook(&mut mount_ctx))) {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::info!(view = meta.name, reason = %sanitize_for_log(&error.to_string()), "a live session's on_mount hook refused the mount");
                return Err(MountRefusal::from_error(meta.name, &error));
            }
            Err(payload) => {
                tracing::error!(view = meta.name, panic = %sanitize_for_log(&panic_text(payload.as_ref())), "on_mount hook panicked");
                return Err(MountRefusal::Failed(SafeError::Internal));
            }
        }
    }
    let created = match origin {
        Origin::Mount => guarded(factory.mount(&mut mount_ctx)).await,
        Origin::Restore(bytes) => match guarded(factory.restore(bytes, &mut mount_ctx)).await {
            Ok(Some(restored)) => Ok(restored),
            Ok(None) => Ok(Err(crate::view::Error::msg("the view does not persist"))),
            Err(panic) => Err(panic),
        },
    };
    let view = match created {
        Ok(Ok(view)) => view,
        Ok(Err(error)) => return Err(MountRefusal::from_error(meta.name, &error)),
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

/// Runs `handle_params` on a freshly mounted view with `ctx`'s effects.
async fn run_handle_params(
    view: &mut Box<dyn DynView>,
    ctx: &mut EventCtx,
    url_params: &Params,
) -> Result<(), MountRefusal> {
    let name = view.meta().name;
    match guarded(view.handle_params(ctx, url_params)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => {
            tracing::info!(view = name, error = %sanitize_for_log(&error.to_string()), "handle_params refused the URL");
            Err(MountRefusal::from_params_error(name, &error))
        }
        Err(panic) => {
            tracing::error!(view = name, panic = %sanitize_for_log(&panic), "handle_params panicked");
            Err(MountRefusal::Failed(SafeError::Internal))
        }
    }
}

/// Renders a view once for the first page load (server-side rendering, no
/// state kept): the same checks as [`LiveSession::mount`], `mount`,
/// `handle_params`, then `render` into markup. Subscriptions and pushed
/// events are dropped; the title, a navigation and flash messages are
/// returned.
pub async fn render_page(
    request: MountRequest<'_>,
    limiter: Arc<dyn HandlerRateLimiter>,
) -> Result<RenderedPage, MountRefusal> {
    let factory = request.factory;
    let meta = factory.meta();
    let (mut view, mount_ctx) = mount_checked(
        factory,
        &request.ctx,
        request.params,
        request.group,
        request.default_login_url,
        Origin::Mount,
    )
    .await?;
    let (_, mut effects) = mount_ctx.into_parts();
    let mut ctx = EventCtx::new(request.ctx.clone(), meta.name, limiter);
    run_handle_params(&mut view, &mut ctx, &request.url_params).await?;
    merge_effects(&mut effects, ctx.take_effects());
    let _scope = ViewCodeScope::enter();
    let mut components = Components::default();
    let html = std::panic::catch_unwind(AssertUnwindSafe(|| {
        with_components(&mut components, true, || render_markup(|| view.render()))
    }))
    .map_err(|payload| {
        tracing::error!(view = meta.name, panic = %sanitize_for_log(&panic_text(payload.as_ref())), "render panicked during page render");
        MountRefusal::Failed(SafeError::RenderFailed)
    })?;
    Ok(RenderedPage {
        html: place_items(&html, &effects.streams),
        title: effects
            .title
            .unwrap_or_else(|| meta.page_title().to_owned()),
        navigation: effects.navigation,
        flash: effects.flash,
    })
}

/// `later`'s effects after `earlier`'s: events appended, the last title and
/// navigation win, flash messages added.
fn merge_effects(earlier: &mut Effects, later: Effects) {
    earlier.pushed.extend(later.pushed);
    earlier.streams.extend(later.streams);
    if later.title.is_some() {
        earlier.title = later.title;
    }
    if later.navigation.is_some() {
        earlier.navigation = later.navigation;
    }
    for flash in later.flash {
        crate::view::flash::push_flash(&mut earlier.flash, flash);
    }
}

impl LiveSession {
    /// Mounts `request.factory`: login and permission checks (the view's
    /// and its live session's), the session's hooks, `mount`,
    /// `check_permissions`, `handle_params` with the URL's parameters, the
    /// first render. The first frame is `mount`.
    pub async fn mount(
        request: MountRequest<'_>,
        limiter: Arc<dyn HandlerRateLimiter>,
    ) -> Result<Mounted, MountRefusal> {
        let factory = request.factory;
        let meta = factory.meta();
        let debug = request.ctx.debug();
        let (mut view, mount_ctx) = mount_checked(
            factory,
            &request.ctx,
            request.params,
            request.group,
            request.default_login_url,
            Origin::Mount,
        )
        .await?;
        let (subscriptions, mut effects) = mount_ctx.into_parts();
        let mut ctx = EventCtx::new(request.ctx, meta.name, limiter);
        run_handle_params(&mut view, &mut ctx, &request.url_params).await?;
        merge_effects(&mut effects, ctx.take_effects());
        let mut components = Components::default();
        let nodes = match render_guarded(view.as_ref(), &mut components, true) {
            Ok(nodes) => nodes,
            Err(panic) => {
                tracing::error!(view = meta.name, panic = %sanitize_for_log(&panic), "render panicked at mount");
                return Err(MountRefusal::Failed(SafeError::RenderFailed));
            }
        };
        let mut frames = vec![ServerMessage::Mount {
            view: meta.name.to_owned(),
            version: 1,
            html: to_html(&nodes),
            unchanged: false,
            resume_token: None,
        }];
        let (title, navigation, flash) = effect_frames(effects, &mut frames, Render::First);
        let session = LiveSession {
            view,
            meta,
            ctx,
            nodes,
            version: 1,
            debug,
            title: title.unwrap_or_else(|| meta.page_title().to_owned()),
            components,
            hibernated: None,
            client_tree_unknown: false,
        };
        Ok(Mounted {
            session,
            frames,
            subscriptions,
            navigation,
            flash,
        })
    }

    /// Restores `factory`'s view from its persisted `state` for `ctx`, at
    /// `version`: the same login and permission checks as a mount, the
    /// view's `restored` hook instead of `mount`, `check_permissions`, a
    /// render. Its frames are one `html_update` (the client's page is from
    /// before). A state that no longer deserializes (the view changed
    /// between versions) is a [`MountRefusal::Failed`], never a panic.
    pub async fn restore(
        request: MountRequest<'_>,
        state: &[u8],
        version: u64,
        limiter: Arc<dyn HandlerRateLimiter>,
    ) -> Result<Mounted, MountRefusal> {
        let factory = request.factory;
        let meta = factory.meta();
        let debug = request.ctx.debug();
        let (view, mount_ctx) = mount_checked(
            factory,
            &request.ctx,
            Params::new(),
            request.group,
            request.default_login_url,
            Origin::Restore(state),
        )
        .await?;
        let mut components = Components::default();
        let nodes = match render_guarded(view.as_ref(), &mut components, true) {
            Ok(nodes) => nodes,
            Err(panic) => {
                tracing::error!(view = meta.name, panic = %sanitize_for_log(&panic), "render panicked at restore");
                return Err(MountRefusal::Failed(SafeError::RenderFailed));
            }
        };
        let (subscriptions, effects) = mount_ctx.into_parts();
        let version = version.saturating_add(1);
        let mut frames = vec![ServerMessage::HtmlUpdate {
            html: to_html(&nodes),
            version,
        }];
        let (title, navigation, flash) = effect_frames(effects, &mut frames, Render::First);
        let session = LiveSession {
            view,
            meta,
            ctx: EventCtx::new(request.ctx, meta.name, limiter),
            nodes,
            version,
            debug,
            title: title.unwrap_or_else(|| meta.page_title().to_owned()),
            components,
            hibernated: None,
            client_tree_unknown: false,
        };
        Ok(Mounted {
            session,
            frames,
            subscriptions,
            navigation,
            flash,
        })
    }

    /// The page title's view part.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The URL changed within the view (`live_patch`): `ctx` carries the
    /// new URL, `url_params` its parameters. Runs `handle_params` and
    /// re-renders. A refusal (bad parameters, an error) leaves the view and
    /// its URL as they were; the flag says whether the new URL applies.
    pub async fn patch(&mut self, ctx: Arc<Ctx>, url_params: &Params) -> (Outcome, bool) {
        self.wake();
        let name = self.meta.name;
        let previous = self.ctx.ctx_arc().clone();
        self.ctx.set_ctx(ctx);
        let result = guarded(self.view.handle_params(&mut self.ctx, url_params)).await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::info!(view = name, error = %sanitize_for_log(&error.to_string()), "handle_params refused the URL");
                let ran = matches!(error, EventError::Handler(_));
                let safe = match MountRefusal::from_params_error(name, &error) {
                    MountRefusal::BadRequest(safe) => safe,
                    MountRefusal::NotFound => SafeError::NotFound,
                    MountRefusal::PermissionDenied | MountRefusal::LoginRequired { .. } => {
                        SafeError::PermissionDenied
                    }
                    MountRefusal::Failed(_) => SafeError::HandlerFailed,
                };
                if !ran {
                    let _ = self.ctx.take_effects();
                    self.ctx.set_ctx(previous);
                    let frame = error_frame(&safe, self.debug, None, None);
                    return (Outcome::frames(vec![frame]), false);
                }
                // It ran and may have changed state: keep the client in sync.
                let detail = sanitize_for_log(&error.to_string());
                let mut outcome =
                    Outcome::frames(vec![error_frame(&safe, self.debug, Some(&detail), None)]);
                self.ctx.set_ctx(previous);
                let _ = self.ctx.take_effects();
                outcome.frames.extend(self.rerender(None));
                return (outcome, false);
            }
            Err(panic) => {
                tracing::error!(view = name, panic = %sanitize_for_log(&panic), "handle_params panicked; closing the connection");
                let _ = self.ctx.take_effects();
                let outcome = Outcome {
                    frames: vec![error_frame(
                        &SafeError::HandlerFailed,
                        self.debug,
                        None,
                        None,
                    )],
                    close: true,
                    ..Outcome::default()
                };
                return (outcome, false);
            }
        }
        let mut frames: Vec<ServerMessage> = self
            .rerender(None)
            .into_iter()
            .filter(|frame| !matches!(frame, ServerMessage::Noop { .. }))
            .collect();
        let effects = self.ctx.take_effects();
        (self.finish(effects, &mut frames), true)
    }

    /// Turns a callback's effects into the outcome: pushed events and a
    /// changed title become frames after `frames`; navigation and flash
    /// go to the connection.
    fn finish(&mut self, effects: Effects, frames: &mut Vec<ServerMessage>) -> Outcome {
        let (title, navigation, flash) = effect_frames(effects, frames, Render::Update);
        if let Some(title) = title {
            if title != self.title {
                self.title = title;
                frames.push(ServerMessage::Title {
                    title: self.title.clone(),
                });
            }
        }
        Outcome {
            frames: std::mem::take(frames),
            close: false,
            navigation,
            flash,
        }
    }

    /// The view's state as bytes, for views that persist (`None` for the
    /// others, or when it cannot be serialized: logged).
    pub fn snapshot_state(&self) -> Option<Vec<u8>> {
        match self.view.snapshot()? {
            Ok(bytes) => Some(bytes),
            Err(error) => {
                tracing::error!(view = self.meta.name, error = %sanitize_for_log(&error.to_string()), "cannot serialize the view's state");
                None
            }
        }
    }

    /// Lends finished uploads to the handlers (see `EventCtx::consume_uploads`).
    pub fn lend_uploads(&mut self, uploads: Vec<crate::upload::CompletedUpload>) {
        self.ctx.lend_uploads(uploads);
    }

    /// Takes back the uploads no handler consumed.
    pub fn reclaim_uploads(&mut self) -> Vec<crate::upload::CompletedUpload> {
        self.ctx.reclaim_uploads()
    }

    /// The URL the view was mounted for.
    pub fn url(&self) -> &str {
        self.ctx.ctx_arc().url()
    }

    /// The view's metadata.
    pub fn meta(&self) -> &'static ViewMeta {
        self.meta
    }

    /// The version of the last tree sent.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Bytes the last tree sent holds on the heap (none while
    /// hibernating).
    pub fn heap_bytes(&self) -> usize {
        self.nodes.heap_bytes()
    }

    /// Drops the last tree sent and keeps only its fingerprint, so that an
    /// idle session holds its view's state and not its page: the tree of a
    /// large page is many times the state it is rendered from (a 100×100
    /// table: 40 KB of numbers, 20,100 nodes). The next input wakes the
    /// session first ([`LiveSession::wake`]), which renders the tree again
    /// from the unchanged state. `false` when it was hibernating already.
    pub fn hibernate(&mut self) -> bool {
        if self.hibernated.is_some() {
            return false;
        }
        self.hibernated = Some(self.nodes.fingerprint());
        // Freed, not pooled for the next render: the point is to give the
        // memory back.
        std::mem::take(&mut self.nodes).release();
        true
    }

    /// Whether the session dropped its tree ([`LiveSession::hibernate`]).
    pub fn is_hibernating(&self) -> bool {
        self.hibernated.is_some()
    }

    /// Renders again the tree a hibernating session dropped, before
    /// anything can change the view, with its components as they were (no
    /// `update`). A render that reads only the view's state gives back the
    /// same tree, and the next change is diffed as usual. One that reads
    /// something else (a clock, a database) may not; its fingerprint then
    /// differs, and the next render goes to the client whole, as an
    /// `html_update`: slower, never stale. Does nothing when awake.
    pub fn wake(&mut self) {
        let Some(fingerprint) = self.hibernated.take() else {
            return;
        };
        let name = self.meta.name;
        match render_guarded(self.view.as_ref(), &mut self.components, false) {
            Ok(nodes) => {
                if nodes.fingerprint() != fingerprint {
                    tracing::debug!(
                        view = name,
                        "the view rendered another page after hibernating; the next update is sent whole"
                    );
                    self.client_tree_unknown = true;
                }
                self.nodes = nodes;
            }
            Err(panic) => {
                tracing::error!(view = name, panic = %sanitize_for_log(&panic), "render panicked waking the view; the next update is sent whole");
                self.client_tree_unknown = true;
            }
        }
    }

    /// Bytes the view's own state holds, estimated: the struct itself,
    /// and for a `persist` view what its serialized state says of its
    /// heap: the bytes of the JSON, plus for each JSON string (counted by
    /// its quotes) one `String` and one allocation, which is what a state
    /// of strings and collections of strings holds. The heap of a view
    /// that does not persist is not visible; its rendering usually holds
    /// as much.
    pub fn state_bytes(&self) -> usize {
        let own = std::mem::size_of_val(&*self.view);
        let state = if self.meta.persist {
            self.view.snapshot().and_then(Result::ok).map_or(0, |json| {
                let strings = json.iter().filter(|byte| **byte == b'"').count() / 2;
                json.len() + strings * (std::mem::size_of::<String>() + 16)
            })
        } else {
            0
        };
        own + state + self.title.capacity()
    }

    /// The HTML of the last tree sent (empty while hibernating: see
    /// [`LiveSession::html_update`], which wakes the session).
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

    /// `request_html`: the full HTML at the current version (waking a
    /// hibernating session; the client's page is then this tree).
    pub fn html_update(&mut self) -> ServerMessage {
        self.wake();
        self.client_tree_unknown = false;
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
        self.dispatch_event(event, params, reference, None).await.0
    }

    /// Handles one replayed offline action, already checked by
    /// [`crate::offline::check_action`]: the same dispatch as
    /// [`LiveSession::handle_event`] (allowlist, reauth, typed parameters,
    /// permission, rate limit), with `ctx.offline()` set to `stamp`.
    /// Returns the frames and what became of the action.
    pub async fn replay_event(
        &mut self,
        event: &str,
        params: &Params,
        stamp: crate::offline::OfflineStamp,
        reference: Option<u64>,
    ) -> (Outcome, crate::offline::ActionResult) {
        let key = stamp.key().to_owned();
        self.ctx.set_offline(Some(stamp));
        let (outcome, verdict) = self
            .dispatch_event(event, params, reference, Some(&key))
            .await;
        self.ctx.set_offline(None);
        let result = match verdict {
            Verdict::Applied => crate::offline::ActionResult::applied(&key),
            Verdict::Conflict(message) => crate::offline::ActionResult {
                key,
                status: crate::offline::ActionStatus::Conflict,
                code: Some(SafeError::Conflict.code().to_owned()),
                message: Some(message),
            },
            Verdict::Refused(error) => crate::offline::from_error(&key, &error),
        };
        (outcome, result)
    }

    /// The dispatch shared by live events and replays. `replay` is the
    /// replayed action's key (for the logs).
    async fn dispatch_event(
        &mut self,
        event: &str,
        params: &Params,
        reference: Option<u64>,
        replay: Option<&str>,
    ) -> (Outcome, Verdict) {
        let name = self.meta.name;
        let replayed = replay.is_some();
        if !self.accepts_event(event) {
            tracing::warn!(view = name, event = %sanitize_for_log(event), replayed, "refused event: not an #[event_handler]");
            let error = SafeError::UnknownEvent;
            let frames = vec![error_frame(&error, self.debug, None, reference)];
            return (Outcome::frames(frames), Verdict::Refused(error));
        }
        if self.meta.reauth_each_event {
            if let Err(refusal) = self.reauthorize(event) {
                let frames = vec![error_frame(&refusal, self.debug, None, reference)];
                return (Outcome::frames(frames), Verdict::Refused(refusal));
            }
        }
        // Before the handler can change the state the tree is rendered from.
        self.wake();
        let result = guarded(self.view.dispatch(&mut self.ctx, event, params)).await;
        let mut frames = Vec::new();
        let verdict = match result {
            Err(panic) => {
                tracing::error!(view = name, event, replayed, panic = %sanitize_for_log(&panic), "event handler panicked; closing the connection");
                let _ = self.ctx.take_effects();
                let outcome = Outcome {
                    frames: vec![error_frame(
                        &SafeError::HandlerFailed,
                        self.debug,
                        None,
                        reference,
                    )],
                    close: true,
                    ..Outcome::default()
                };
                return (outcome, Verdict::Refused(SafeError::HandlerFailed));
            }
            Ok(Err(error)) => {
                let safe = error.to_safe();
                tracing::info!(view = name, event, replayed, error = %sanitize_for_log(&error.to_string()), "event refused or failed");
                let detail = match &error {
                    EventError::Handler(inner) => Some(sanitize_for_log(&inner.to_string())),
                    _ => None,
                };
                frames.push(error_frame(&safe, self.debug, detail.as_deref(), reference));
                let EventError::Handler(inner) = &error else {
                    // Refused before the handler ran: state is untouched, nothing to render.
                    let _ = self.ctx.take_effects();
                    return (Outcome::frames(frames), Verdict::Refused(safe));
                };
                let verdict = if inner.kind() == ErrorKind::Conflict {
                    // Written for the user: shown in the flash area (escaped).
                    let message =
                        crate::security::display::display_text(inner.message()).into_owned();
                    self.ctx.put_flash(crate::view::FlashKind::Error, &message);
                    Verdict::Conflict(message)
                } else {
                    Verdict::Refused(safe)
                };
                // The handler ran and may have changed state: keep the client in sync.
                frames.extend(self.rerender(None));
                verdict
            }
            Ok(Ok(())) => {
                frames.extend(self.rerender(reference));
                Verdict::Applied
            }
        };
        // A view has no parent: `notify_parent` from its own handler is dropped.
        let _ = self.ctx.take_parent_messages();
        let effects = self.ctx.take_effects();
        (self.finish(effects, &mut frames), verdict)
    }

    /// Whether the component mounted as `target` has an
    /// `#[event_handler]` named `event` (and the name passes the check).
    pub fn accepts_component_event(&self, target: &str, event: &str) -> bool {
        is_safe_event_name(event)
            && self
                .components
                .meta_of(target)
                .is_some_and(|meta| meta.handler(event).is_some())
    }

    /// The components the view has mounted: id and metadata, by id.
    pub fn components(&self) -> Vec<(String, &'static crate::view::ComponentMeta)> {
        self.components.mounted()
    }

    /// Handles one `event` frame with a `target`: the component mounted
    /// under that id runs it, with the view's context (identity,
    /// permissions, rate-limit buckets) and, for a `reauth_each_event`
    /// view, the view's checks first. An unknown id or handler, a refused
    /// permission or rate limit, or a bad parameter is an error frame and
    /// changes nothing. Messages the handler sent with
    /// `ctx.notify_parent(..)` then go to the view's `handle_info`, and the
    /// page re-renders: only the component when the view did not change.
    pub async fn handle_component_event(
        &mut self,
        target: &str,
        event: &str,
        params: &Params,
        reference: Option<u64>,
    ) -> Outcome {
        self.wake();
        let name = self.meta.name;
        let Some(component) = self.components.meta_of(target) else {
            tracing::warn!(view = name, target = %sanitize_for_log(target), event = %sanitize_for_log(event), "refused event: no component has this id");
            return Outcome::frames(vec![error_frame(
                &SafeError::UnknownComponent,
                self.debug,
                None,
                reference,
            )]);
        };
        if !self.accepts_component_event(target, event) {
            tracing::warn!(view = name, component = component.name, event = %sanitize_for_log(event), "refused event: not an #[event_handler] of the component");
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
        let result = guarded(
            self.components
                .dispatch(target, &mut self.ctx, event, params),
        )
        .await;
        let mut frames = Vec::new();
        match result {
            Err(panic) => {
                tracing::error!(view = name, component = component.name, event, panic = %sanitize_for_log(&panic), "component handler panicked; closing the connection");
                self.components.forget(target);
                let _ = self.ctx.take_effects();
                let _ = self.ctx.take_parent_messages();
                return Outcome {
                    frames: vec![error_frame(
                        &SafeError::HandlerFailed,
                        self.debug,
                        None,
                        reference,
                    )],
                    close: true,
                    ..Outcome::default()
                };
            }
            // Looked up above; the store does not change in between.
            Ok(None) => {
                return Outcome::frames(vec![error_frame(
                    &SafeError::UnknownComponent,
                    self.debug,
                    None,
                    reference,
                )]);
            }
            Ok(Some(Err(error))) => {
                let safe = error.to_safe();
                tracing::info!(view = name, component = component.name, event, error = %sanitize_for_log(&error.to_string()), "component event refused or failed");
                let detail = match &error {
                    EventError::Handler(inner) => Some(sanitize_for_log(&inner.to_string())),
                    _ => None,
                };
                frames.push(error_frame(&safe, self.debug, detail.as_deref(), reference));
                if !matches!(error, EventError::Handler(_)) {
                    let _ = self.ctx.take_effects();
                    let _ = self.ctx.take_parent_messages();
                    return Outcome::frames(frames);
                }
            }
            Ok(Some(Ok(()))) => {}
        }
        let messages = self.ctx.take_parent_messages();
        let parent_changed = !messages.is_empty();
        for message in messages {
            let delivered = guarded(self.view.info(&mut self.ctx, message)).await;
            match delivered {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(view = name, component = component.name, error = %sanitize_for_log(&error.to_string()), "handle_info failed on a component's message");
                }
                Err(panic) => {
                    tracing::error!(view = name, panic = %sanitize_for_log(&panic), "handle_info panicked on a component's message; closing the connection");
                    let _ = self.ctx.take_effects();
                    return Outcome {
                        frames: vec![error_frame(
                            &SafeError::Internal,
                            self.debug,
                            None,
                            reference,
                        )],
                        close: true,
                        ..Outcome::default()
                    };
                }
            }
        }
        frames.extend(self.rerender_with(reference, parent_changed));
        let effects = self.ctx.take_effects();
        self.finish(effects, &mut frames)
    }

    /// Handles a tick (`#[live_view(tick = ms)]`).
    pub async fn handle_tick(&mut self) -> Outcome {
        self.wake();
        let result = guarded(self.view.tick(&mut self.ctx)).await;
        self.after_server_callback("handle_tick", result)
    }

    /// Handles a message from a subscription.
    pub async fn handle_info(&mut self, message: Box<dyn Any + Send>) -> Outcome {
        self.wake();
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
                    ..Outcome::default()
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
        let effects = self.ctx.take_effects();
        self.finish(effects, &mut frames)
    }

    /// Renders, diffs against the last tree and returns the frame(s).
    fn rerender(&mut self, reference: Option<u64>) -> Vec<ServerMessage> {
        self.rerender_with(reference, true)
    }

    /// [`LiveSession::rerender`]; `parent_changed: false` after a component
    /// event that left the view's own state as it was (components keep
    /// their last output unless their own event changed them).
    fn rerender_with(
        &mut self,
        reference: Option<u64>,
        parent_changed: bool,
    ) -> Vec<ServerMessage> {
        let name = self.meta.name;
        let nodes = match render_guarded(self.view.as_ref(), &mut self.components, parent_changed) {
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
        if std::mem::take(&mut self.client_tree_unknown) {
            // The client's page is not `self.nodes` (see `wake`): no diff
            // against it can be trusted.
            return self.send_whole(nodes, Vec::new(), reference);
        }
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
                let mut frames = Vec::new();
                if self.debug {
                    frames.push(ServerMessage::Error {
                        error: format!("template bug: {error}"),
                        reference: None,
                    });
                }
                self.send_whole(nodes, frames, reference)
            }
        }
    }

    /// Makes `nodes` the next version and sends it whole, after `frames`:
    /// one `html_update` (and the event's `noop` so the client's pending
    /// reference settles).
    fn send_whole(
        &mut self,
        nodes: VTree,
        mut frames: Vec<ServerMessage>,
        reference: Option<u64>,
    ) -> Vec<ServerMessage> {
        self.nodes = nodes;
        self.version += 1;
        frames.push(self.html_update());
        if reference.is_some() {
            frames.push(ServerMessage::Noop { reference });
        }
        frames
    }
}
