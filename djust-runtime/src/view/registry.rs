//! The registry of every `#[live_view]` in the program (via `inventory`),
//! and [`ViewFactory`], the handle `App::live` takes to serve a view.

use super::{BoxFuture, DynView, LiveView, MountCtx, Result, ViewMeta};

/// Mounts one view type behind [`DynView`].
type MountFn = for<'a> fn(&'a mut MountCtx) -> BoxFuture<'a, Result<Box<dyn DynView>>>;

/// Restores one view type from its persisted state behind [`DynView`].
type RestoreFn =
    for<'a> fn(&'a [u8], &'a mut MountCtx) -> BoxFuture<'a, Option<Result<Box<dyn DynView>>>>;

/// Mounts a view of one type behind [`DynView`]. Cheap to copy.
#[derive(Clone, Copy)]
pub struct ViewFactory {
    meta: fn() -> &'static ViewMeta,
    mount: MountFn,
    restore: RestoreFn,
}

fn mount_boxed<V: LiveView>(ctx: &mut MountCtx) -> BoxFuture<'_, Result<Box<dyn DynView>>> {
    Box::pin(async move {
        V::mount_view(ctx)
            .await
            .map(|view| Box::new(view) as Box<dyn DynView>)
    })
}

fn restore_boxed<'a, V: LiveView>(
    bytes: &'a [u8],
    ctx: &'a mut MountCtx,
) -> BoxFuture<'a, Option<Result<Box<dyn DynView>>>> {
    Box::pin(async move {
        V::restore_state(bytes, ctx)
            .await
            .map(|restored| restored.map(|view| Box::new(view) as Box<dyn DynView>))
    })
}

impl ViewFactory {
    /// The factory for view type `V` (what `V::view()` returns).
    pub fn of<V: LiveView>() -> Self {
        ViewFactory {
            meta: V::meta,
            mount: mount_boxed::<V>,
            restore: restore_boxed::<V>,
        }
    }

    /// The view's metadata.
    pub fn meta(&self) -> &'static ViewMeta {
        (self.meta)()
    }

    /// Mounts a new instance.
    pub fn mount<'a>(&self, ctx: &'a mut MountCtx) -> BoxFuture<'a, Result<Box<dyn DynView>>> {
        (self.mount)(ctx)
    }

    /// Restores an instance from its persisted state (`None` for views
    /// that do not persist).
    pub fn restore<'a>(
        &self,
        bytes: &'a [u8],
        ctx: &'a mut MountCtx,
    ) -> BoxFuture<'a, Option<Result<Box<dyn DynView>>>> {
        (self.restore)(bytes, ctx)
    }
}

impl std::fmt::Debug for ViewFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewFactory")
            .field("view", &self.meta().name)
            .finish()
    }
}

/// One registered view; submitted by the `#[live_view]` expansion.
pub struct ViewRegistration {
    /// The view's factory.
    pub factory: fn() -> ViewFactory,
}

inventory::collect!(ViewRegistration);

/// Every view compiled into the program, sorted by name.
pub fn registered_views() -> Vec<ViewFactory> {
    let mut views: Vec<ViewFactory> = inventory::iter::<ViewRegistration>
        .into_iter()
        .map(|registration| (registration.factory)())
        .collect();
    views.sort_by_key(|view| view.meta().name);
    views
}

/// The registered view with wire name `name`.
pub fn find_view(name: &str) -> Option<ViewFactory> {
    inventory::iter::<ViewRegistration>
        .into_iter()
        .map(|registration| (registration.factory)())
        .find(|view| view.meta().name == name)
}
