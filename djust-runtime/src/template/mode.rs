//! Which backend `html!` evaluates to: markup (the default) or VDOM nodes.
//!
//! Every `html!` expansion contains both backends and picks one at run time
//! from this thread-local flag, so a view's `render` needs no parameters and
//! nested components follow their parent. Rendering is synchronous, so the
//! flag cannot leak across `.await` points; a guard restores it even if the
//! render panics.

use std::cell::Cell;

use super::html::Html;
use crate::vdom::VTree;

thread_local! {
    static VDOM_MODE: Cell<bool> = const { Cell::new(false) };
}

/// `true` while [`render_nodes`] runs on this thread.
#[doc(hidden)]
#[inline]
pub fn vdom_mode() -> bool {
    VDOM_MODE.with(Cell::get)
}

struct Restore(bool);

impl Drop for Restore {
    fn drop(&mut self) {
        VDOM_MODE.with(|mode| mode.set(self.0));
    }
}

/// Runs `render` with templates evaluating to VDOM nodes and returns them.
pub fn render_nodes(render: impl FnOnce() -> Html) -> VTree {
    let previous = VDOM_MODE.with(|mode| mode.replace(true));
    let _restore = Restore(previous);
    render().into_nodes()
}

/// Runs `render` with templates evaluating to markup and returns it.
pub fn render_markup(render: impl FnOnce() -> Html) -> String {
    let previous = VDOM_MODE.with(|mode| mode.replace(false));
    let _restore = Restore(previous);
    render().into_string()
}
