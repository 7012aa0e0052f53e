//! Stateful components: the [`LiveComponent`] trait `#[live_component]`
//! implements, their metadata and registry (for the audit), the store of a
//! mounted view's component instances, and [`live_component`], the call a
//! parent's template embeds.
//!
//! A component lives inside one mounted view, in that session's
//! [`Components`] store, under a stable id chosen by the parent's
//! template. The parent's `render` calls `live_component::<Cart>("cart",
//! props)`: the first time the id appears the component is mounted with
//! the props; on each later render of the parent it receives them again
//! through `update`. An id the parent stops rendering is dropped with its
//! state after that render.
//!
//! Events reach a component through `target` (the client sends the id of
//! the nearest `data-djust-component` element, or the element's
//! `dj-target`). The session then runs the component's generated
//! allowlist with the parent's context: the same login, permission and
//! rate-limit checks, and no auth posture of its own, so a component can
//! never be more open than the view it is in. A component event re-renders
//! the page with the parent's state unchanged: every other component
//! reuses its last output, so only the target's subtree can differ and the
//! diff sends only its patches.
//!
//! The store is lent to the render through a thread-local (rendering is
//! synchronous, like the VDOM mode flag), and a guard puts it back even if
//! a render panics.

use std::any::Any;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt::Display;

use super::meta::{AssignedField, HandlerMeta};
use super::{BoxFuture, EventCtx, EventError, Params};
use crate::security::sanitize_for_log;
use crate::template::html::{Html, SizeHint};
use crate::template::sink::{Op, Segment, Sink};
use crate::vdom::{ElementTemplate, TAttr, TreeSizeHint};

/// The attribute on a component's root element that carries its id; the
/// client sends it back as an event's `target`.
pub const COMPONENT_ATTR: &str = "data-djust-component";

/// Everything `#[live_component]` knew about a component at compile time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComponentMeta {
    /// Its name (`name = ".."`, or the type name in snake_case); prefixes
    /// its handlers' rate-limit buckets (`cart.add`).
    pub name: &'static str,
    /// Rust type name.
    pub type_name: &'static str,
    /// `module_path!()` of the component.
    pub module: &'static str,
    /// The `#[event_handler]` methods: the complete allowlist.
    pub handlers: &'static [HandlerMeta],
    /// Paths its template reads, e.g. `items[].name`.
    pub exposed: &'static [&'static str],
    /// Fields assigned by `mount`, `update` and the handlers.
    pub assigned: &'static [AssignedField],
    /// Trusted values (`{x|safe}`, `srcdoc={x}`) in its templates.
    pub safe_splices: u32,
}

impl ComponentMeta {
    /// The handler named `name`, if it is an `#[event_handler]`.
    pub fn handler(&self, name: &str) -> Option<&'static HandlerMeta> {
        self.handlers.iter().find(|handler| handler.name == name)
    }
}

/// A stateful component. Implemented by `#[live_component]`; not meant to
/// be implemented by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a live component",
    note = "mark its `impl` block with `#[live_component]`: `live_component::<T>(..)` embeds only components"
)]
pub trait LiveComponent: Send + Sized + 'static {
    /// What the parent passes on each render (`mount`'s argument).
    type Props;

    /// The names of its `#[event_handler]`s, for the compile-time check of
    /// `dj-target` events in the parent's template.
    const HANDLER_NAMES: &'static [&'static str];

    /// Everything the macro knew about the component.
    fn meta() -> &'static ComponentMeta;

    /// Calls the component's `mount` with its first props.
    fn mount_component(props: Self::Props) -> Self;

    /// Calls the component's `update` with the props of a later render of
    /// the parent (replaces nothing when it has no `update`).
    fn update_component(&mut self, props: Self::Props);

    /// Calls the component's `render`.
    fn render_component(&self) -> Html;

    /// The allowlist: runs the `#[event_handler]` named `event`, after its
    /// permission and rate-limit checks and parameter decoding.
    fn dispatch_event<'a>(
        &'a mut self,
        ctx: &'a mut EventCtx,
        event: &'a str,
        params: &'a Params,
    ) -> BoxFuture<'a, Result<(), EventError>>;
}

/// A mounted component behind a trait object.
pub trait DynComponent: Send {
    /// Its metadata.
    fn meta(&self) -> &'static ComponentMeta;
    /// Its template.
    fn render(&self) -> Html;
    /// Runs an event through its allowlist.
    fn dispatch<'a>(
        &'a mut self,
        ctx: &'a mut EventCtx,
        event: &'a str,
        params: &'a Params,
    ) -> BoxFuture<'a, Result<(), EventError>>;
    /// For the typed `update` call.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<C: LiveComponent> DynComponent for C {
    fn meta(&self) -> &'static ComponentMeta {
        C::meta()
    }
    fn render(&self) -> Html {
        self.render_component()
    }
    fn dispatch<'a>(
        &'a mut self,
        ctx: &'a mut EventCtx,
        event: &'a str,
        params: &'a Params,
    ) -> BoxFuture<'a, Result<(), EventError>> {
        self.dispatch_event(ctx, event, params)
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// One registered component; submitted by the `#[live_component]` expansion.
pub struct ComponentRegistration {
    /// Its metadata.
    pub meta: fn() -> &'static ComponentMeta,
}

inventory::collect!(ComponentRegistration);

/// Every component compiled into the program, sorted by name.
pub fn registered_components() -> Vec<&'static ComponentMeta> {
    let mut components: Vec<&'static ComponentMeta> = inventory::iter::<ComponentRegistration>
        .into_iter()
        .map(|registration| (registration.meta)())
        .collect();
    components.sort_by_key(|meta| (meta.name, meta.module));
    components
}

/// A component's id as the parent's template gives it: a literal name
/// (`"cart"`), or a name and a key for one of many (`("row", id)`, whose
/// id is `row:<id>`).
pub trait ComponentId {
    /// The id on the page and in the store.
    fn into_id(self) -> String;
}

impl ComponentId for &'static str {
    fn into_id(self) -> String {
        self.to_owned()
    }
}

impl<K: Display> ComponentId for (&'static str, K) {
    fn into_id(self) -> String {
        format!("{}:{}", self.0, self.1)
    }
}

/// One mounted component, with its last output.
struct Slot {
    state: Box<dyn DynComponent>,
    /// The last render (wrapped in its root element) and whether it is VDOM.
    cached: Option<Html>,
    /// Its state changed since `cached` (an event ran).
    dirty: bool,
}

/// The components of one mounted view, by id.
#[derive(Default)]
pub struct Components {
    slots: HashMap<String, Box<Slot>>,
}

impl Components {
    /// How many components are mounted.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// `true` when none is mounted.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Every mounted component: its id and metadata, sorted by id.
    pub fn mounted(&self) -> Vec<(String, &'static ComponentMeta)> {
        let mut all: Vec<(String, &'static ComponentMeta)> = self
            .slots
            .iter()
            .map(|(id, slot)| (id.clone(), slot.state.meta()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// The metadata of the component mounted as `id`.
    pub fn meta_of(&self, id: &str) -> Option<&'static ComponentMeta> {
        self.slots.get(id).map(|slot| slot.state.meta())
    }

    /// Runs `event` on the component mounted as `id` (`None`: no such
    /// component). Marks it changed unless the event was refused before
    /// its handler ran.
    pub async fn dispatch(
        &mut self,
        id: &str,
        ctx: &mut EventCtx,
        event: &str,
        params: &Params,
    ) -> Option<Result<(), EventError>> {
        let slot = self.slots.get_mut(id)?;
        let result = slot.state.dispatch(ctx, event, params).await;
        if matches!(result, Ok(()) | Err(EventError::Handler(_))) {
            slot.dirty = true;
        }
        Some(result)
    }

    /// Drops the component `id` (its handler panicked: its state is no
    /// longer trusted).
    pub fn forget(&mut self, id: &str) {
        self.slots.remove(id);
    }
}

/// What the render in progress on this thread knows about components.
struct Scope {
    store: Components,
    /// The parent's state may have changed: components get `update`.
    parent_changed: bool,
    /// Ids rendered so far in this pass (a second use of one is refused).
    rendered: HashSet<String>,
}

thread_local! {
    static SCOPE: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// Puts the store back where it was lent from, even if the render panics.
struct Lend<'a> {
    store: &'a mut Components,
    previous: Option<Option<Scope>>,
}

impl Drop for Lend<'_> {
    fn drop(&mut self) {
        let previous = self.previous.take().unwrap_or(None);
        if let Some(scope) = SCOPE.with(|cell| cell.replace(previous)) {
            *self.store = scope.store;
        }
    }
}

/// Runs `render` with `store` lent to every `live_component` call in it.
/// `parent_changed`: the parent's state may differ from the last render,
/// so each component gets `update` with its props; otherwise (a component
/// event) each keeps its state and, unless an event changed it, its last
/// output. After a render that returns, components the parent did not
/// render this time are dropped.
pub fn with_components<R>(
    store: &mut Components,
    parent_changed: bool,
    render: impl FnOnce() -> R,
) -> R {
    let scope = Scope {
        store: std::mem::take(store),
        parent_changed,
        rendered: HashSet::new(),
    };
    let previous = SCOPE.with(|cell| cell.replace(Some(scope)));
    let lend = Lend {
        store,
        previous: Some(previous),
    };
    let output = render();
    SCOPE.with(|cell| {
        if let Some(scope) = cell.borrow_mut().as_mut() {
            let rendered = std::mem::take(&mut scope.rendered);
            scope.store.slots.retain(|id, _| rendered.contains(id));
        }
    });
    drop(lend);
    output
}

/// What `live_component` found for an id.
enum Found {
    /// No view is rendering with a store (a render outside a session):
    /// mount, render and forget.
    NoStore,
    /// The id was already rendered in this pass.
    Duplicate,
    /// The slot (if mounted before) and whether the parent changed.
    Slot(Option<Box<Slot>>, bool),
}

/// Embeds the component `C` with `id` and `props` in a template:
/// `{live_component::<Cart>("cart", CartProps { .. })}`. Mounts it the
/// first time the id is rendered, passes `props` to its `update` on each
/// later render of the parent, and renders it inside
/// `<div data-djust-component="id">`. The id names it in `dj-target`; use
/// `(name, key)` for one of many (`("row", item.id)`).
pub fn live_component<C: LiveComponent>(id: impl ComponentId, props: C::Props) -> Html {
    let id = id.into_id();
    let found = SCOPE.with(|cell| match cell.borrow_mut().as_mut() {
        None => Found::NoStore,
        Some(scope) => {
            if scope.rendered.insert(id.clone()) {
                Found::Slot(scope.store.slots.remove(&id), scope.parent_changed)
            } else {
                Found::Duplicate
            }
        }
    });
    let (existing, parent_changed) = match found {
        Found::NoStore => return wrap(&id, &C::mount_component(props).render_component()),
        Found::Duplicate => {
            tracing::error!(component = %sanitize_for_log(&id), "a component id is rendered twice in one template; the second is left out");
            return Html::default();
        }
        Found::Slot(existing, parent_changed) => (existing, parent_changed),
    };
    let mut slot = match existing {
        Some(mut slot) => match slot.state.as_any_mut().downcast_mut::<C>() {
            Some(component) => {
                if parent_changed {
                    component.update_component(props);
                    slot.dirty = true;
                }
                slot
            }
            // The id now names another component type: start afresh.
            None => fresh::<C>(props),
        },
        None => fresh::<C>(props),
    };
    let vdom = crate::template::mode::vdom_mode();
    let html = match &slot.cached {
        Some(cached) if !slot.dirty && cached.is_nodes() == vdom => cached.clone(),
        _ => {
            let html = wrap(&id, &slot.state.render()).into_shared();
            slot.cached = Some(html.clone());
            slot.dirty = false;
            html
        }
    };
    SCOPE.with(|cell| {
        if let Some(scope) = cell.borrow_mut().as_mut() {
            scope.store.slots.insert(id, slot);
        }
    });
    html
}

fn fresh<C: LiveComponent>(props: C::Props) -> Box<Slot> {
    Box::new(Slot {
        state: Box::new(C::mount_component(props)),
        cached: None,
        dirty: true,
    })
}

static ROOT: ElementTemplate = ElementTemplate {
    tag: "div",
    attrs: &[TAttr::Dynamic {
        name: COMPONENT_ATTR,
    }],
    is_void: false,
};
static OPEN: Segment = Segment {
    html: "<div",
    ops: &[Op::Open(&ROOT)],
};
static CLOSE: Segment = Segment {
    html: "</div>",
    ops: &[Op::Close],
};
static MARKUP_HINT: SizeHint = SizeHint::new(256);
static TREE_HINT: TreeSizeHint = TreeSizeHint::new(8);

/// `<div data-djust-component="id">inner</div>`, in the current mode.
fn wrap(id: &str, inner: &Html) -> Html {
    let mut sink = Sink::new(&MARKUP_HINT, &TREE_HINT);
    sink.fixed(&OPEN);
    sink.attr_text(0, " data-djust-component=\"", id);
    sink.markup(">");
    sink.render(inner);
    sink.fixed(&CLOSE);
    sink.finish(&MARKUP_HINT)
}
