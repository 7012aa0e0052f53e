//! Panics in application code (mount, handlers, render): caught and turned
//! into values, and logged sanitised through `tracing` instead of printed raw
//! by the default hook, because their messages can carry client input.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

use crate::security::sanitize_for_log;

pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic".to_owned()
    }
}

thread_local! {
    /// `true` while application code (mount, handlers, render) runs on this thread.
    static IN_VIEW_CODE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks this thread as running view code until dropped.
pub(crate) struct ViewCodeScope(bool);

impl ViewCodeScope {
    pub(crate) fn enter() -> Self {
        ViewCodeScope(IN_VIEW_CODE.with(|flag| flag.replace(true)))
    }
}

impl Drop for ViewCodeScope {
    fn drop(&mut self) {
        IN_VIEW_CODE.with(|flag| flag.set(self.0));
    }
}

/// Installs (once) a panic hook for panics in view code: they are caught
/// and reported by the session, and their message can carry client input,
/// so they are logged through `tracing`, sanitised, instead of printed raw
/// to stderr. Panics anywhere else go to the previous hook unchanged.
pub(crate) fn install_panic_hook() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_VIEW_CODE.with(std::cell::Cell::get) {
                previous(info);
                return;
            }
            let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
            tracing::error!(panic = %sanitize_for_log(&panic_text(info.payload())), %location, "panic in view code");
        }));
    });
}

/// Runs `future`, turning a panic into `Err(message)`.
pub(crate) async fn guarded<T>(future: impl Future<Output = T>) -> Result<T, String> {
    let mut future = Box::pin(AssertUnwindSafe(future).catch_unwind());
    let caught = std::future::poll_fn(|cx| {
        let _scope = ViewCodeScope::enter();
        future.as_mut().poll(cx)
    })
    .await;
    caught.map_err(|payload| panic_text(payload.as_ref()))
}
