//! [`Router`]: which live view serves which path, and which live session
//! (a [`LiveGroup`]) each route belongs to.
//!
//! Route patterns are paths whose segments are literal text or a named
//! parameter: `/contacts`, `/contacts/{id}`, `/contacts/{id}/edit`. A path
//! matches a pattern with the same number of segments whose literal
//! segments are equal; among several, the one with more literal segments
//! first wins (`/contacts/new` before `/contacts/{id}`), whatever the order
//! of registration. Parameter values are percent-decoded and handed to the
//! view as strings, next to the query's values (see [`url_params`]).
//!
//! A [`LiveGroup`] is Phoenix's `live_session`: views that share an auth
//! posture and mount hooks. Live navigation (`push_navigate`,
//! `dj-navigate`) stays on the socket only between routes of one group;
//! moving to another group is a full page load, so the new group's posture
//! and hooks always run from a fresh page.

use std::fmt;
use std::sync::Arc;

use percent_encoding::percent_decode_str;

pub use crate::auth::{routable_url, same_origin_url, MAX_URL_BYTES};
pub use crate::view::url_params;
use crate::view::{Error, MountCtx, Params, Result, ViewFactory};

/// A mount hook of a [`LiveGroup`]: runs before the view's `mount` on every
/// mount of a view of the group (first paint, socket mount, live
/// navigation). An `Err` refuses the mount (`Error::forbidden()` answers
/// like a missing permission).
pub type OnMount = Arc<dyn Fn(&mut MountCtx) -> Result<()> + Send + Sync>;

/// A live session: views that share an auth posture and mount hooks (like
/// Phoenix's `live_session`). A group can only tighten the posture of its
/// views, never widen it.
#[derive(Clone)]
pub struct LiveGroup {
    name: String,
    login_required: bool,
    permission: Option<&'static str>,
    on_mount: Vec<OnMount>,
    /// Routes added with [`LiveGroup::live`], until the router takes them.
    routes: Vec<(String, ViewFactory)>,
}

impl fmt::Debug for LiveGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveGroup")
            .field("name", &self.name)
            .field("login_required", &self.login_required)
            .field("permission", &self.permission)
            .field("on_mount", &self.on_mount.len())
            .field("routes", &self.routes.len())
            .finish()
    }
}

impl LiveGroup {
    /// A group named `name` (shown in the audit), adding nothing to its
    /// views' own postures.
    pub fn new(name: impl Into<String>) -> Self {
        LiveGroup {
            name: name.into(),
            login_required: false,
            permission: None,
            on_mount: Vec::new(),
            routes: Vec::new(),
        }
    }

    /// Serves `view` (from `MyView::view()`) at `path` (`/contacts/{id}`)
    /// in this live session.
    pub fn live(mut self, path: &str, view: ViewFactory) -> Self {
        self.routes.push((path.to_owned(), view));
        self
    }

    /// Every view of the group needs a logged-in user.
    pub fn login_required(mut self) -> Self {
        self.login_required = true;
        self
    }

    /// Every view of the group needs `permission` (`app.codename`).
    pub fn permission(mut self, permission: &'static str) -> Self {
        self.login_required = true;
        self.permission = Some(permission);
        self
    }

    /// Runs `hook` before the `mount` of every view of the group.
    pub fn on_mount(
        mut self,
        hook: impl Fn(&mut MountCtx) -> Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.on_mount.push(Arc::new(hook));
        self
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the group needs a logged-in user.
    pub fn needs_login(&self) -> bool {
        self.login_required
    }

    /// The permission the group needs, if any.
    pub fn required_permission(&self) -> Option<&'static str> {
        self.permission
    }

    /// The routes added with [`LiveGroup::live`] and not yet taken by a
    /// router.
    pub fn pending_routes(&self) -> &[(String, ViewFactory)] {
        &self.routes
    }

    /// The group's mount hooks, in order.
    pub fn hooks(&self) -> &[OnMount] {
        &self.on_mount
    }
}

/// One segment of a route pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// A parsed route pattern (`/contacts/{id}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern {
    text: String,
    segments: Vec<Segment>,
}

impl fmt::Display for RoutePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl RoutePattern {
    /// Parses `pattern`: it starts with `/`; each segment is literal text
    /// (letters, digits and `-._~`) or `{name}` with a snake_case name,
    /// used once.
    pub fn parse(pattern: &str) -> std::result::Result<Self, String> {
        let Some(rest) = pattern.strip_prefix('/') else {
            return Err(format!(
                "route {pattern:?} must start with `/`, e.g. \"/contacts/{{id}}\""
            ));
        };
        let mut segments = Vec::new();
        if !rest.is_empty() {
            for part in rest.split('/') {
                if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    if !crate::security::is_safe_event_name(name) {
                        return Err(format!("route {pattern:?}: parameter `{{{name}}}` must be a snake_case name, e.g. `{{id}}`"));
                    }
                    if segments.contains(&Segment::Param(name.to_owned())) {
                        return Err(format!(
                            "route {pattern:?}: parameter `{{{name}}}` is used twice"
                        ));
                    }
                    segments.push(Segment::Param(name.to_owned()));
                } else if !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
                {
                    segments.push(Segment::Literal(part.to_owned()));
                } else {
                    return Err(format!("route {pattern:?}: segment {part:?} must be literal text (letters, digits, `-._~`) or a parameter like `{{id}}`"));
                }
            }
        }
        Ok(RoutePattern {
            text: pattern.to_owned(),
            segments,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parameter names, in order.
    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Param(name) => Some(name.as_str()),
            Segment::Literal(_) => None,
        })
    }

    fn literal_count(&self) -> usize {
        self.segments
            .iter()
            .filter(|segment| matches!(segment, Segment::Literal(_)))
            .count()
    }

    /// Two patterns that match exactly the same paths.
    fn same_shape(&self, other: &RoutePattern) -> bool {
        self.segments.len() == other.segments.len()
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|pair| match pair {
                    (Segment::Literal(a), Segment::Literal(b)) => a == b,
                    (Segment::Param(_), Segment::Param(_)) => true,
                    _ => false,
                })
    }

    /// The decoded parameters when `path` (no query) matches.
    fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let rest = path.strip_prefix('/')?;
        let parts: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            let decoded = percent_decode_str(part).decode_utf8().ok()?;
            match segment {
                Segment::Literal(text) if *text == decoded => {}
                Segment::Literal(_) => return None,
                Segment::Param(name) => {
                    if decoded.is_empty() {
                        return None;
                    }
                    params.push((name.clone(), decoded.into_owned()));
                }
            }
        }
        Some(params)
    }
}

/// One live route.
#[derive(Debug, Clone)]
pub struct LiveRoute {
    /// The path pattern.
    pub pattern: RoutePattern,
    /// The view it serves.
    pub view: ViewFactory,
    /// Index of its group in [`Router::groups`].
    pub group: usize,
}

/// A URL resolved to its live route.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    /// The route.
    pub route: &'a LiveRoute,
    /// The normalized URL (path and query, no fragment).
    pub url: String,
    /// The path's parameters and the query's values, for `handle_params`.
    pub params: Params,
}

/// Why a URL cannot be navigated to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteError {
    /// Not a same-origin path (`https://…`, `//host`, `javascript:`,
    /// control characters, over [`MAX_URL_BYTES`]).
    OffOrigin,
    /// A same-origin path no live view is served at.
    NotFound,
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RouteError::OffOrigin => {
                "navigation only goes to same-origin paths such as \"/contacts\""
            }
            RouteError::NotFound => "no live view is served at this path",
        })
    }
}

/// The live routes of an app and their groups.
#[derive(Debug, Clone)]
pub struct Router {
    routes: Vec<LiveRoute>,
    groups: Vec<LiveGroup>,
}

impl Default for Router {
    fn default() -> Self {
        Router::new()
    }
}

impl Router {
    /// No route yet; one group, the default (`""`), which adds nothing to
    /// its views' postures.
    pub fn new() -> Self {
        Router {
            routes: Vec::new(),
            groups: vec![LiveGroup::new("")],
        }
    }

    /// Adds `group` and the routes added to it with [`LiveGroup::live`];
    /// returns its index for [`Router::add`].
    pub fn add_group(&mut self, mut group: LiveGroup) -> Result<usize> {
        let routes = std::mem::take(&mut group.routes);
        if group.name.is_empty() || self.groups.iter().any(|other| other.name == group.name) {
            return Err(Error::config(format!(
                "live session {:?}: give each live session its own non-empty name",
                group.name
            )));
        }
        self.groups.push(group);
        let index = self.groups.len() - 1;
        for (path, view) in routes {
            self.add(&path, view, index)?;
        }
        Ok(index)
    }

    /// Serves `view` at `pattern` in group `group` (0: the default group).
    /// Refuses an invalid pattern, one that matches the same paths as an
    /// existing route, and an unknown group.
    pub fn add(&mut self, pattern: &str, view: ViewFactory, group: usize) -> Result<()> {
        let pattern = RoutePattern::parse(pattern).map_err(Error::config)?;
        if group >= self.groups.len() {
            return Err(Error::config(format!(
                "route {pattern}: unknown live session"
            )));
        }
        if let Some(existing) = self
            .routes
            .iter()
            .find(|route| route.pattern.same_shape(&pattern))
        {
            return Err(Error::config(format!(
                "route {pattern} matches the same paths as {} (view {})",
                existing.pattern,
                existing.view.meta().name
            )));
        }
        self.routes.push(LiveRoute {
            pattern,
            view,
            group,
        });
        // More literal segments first, so `/contacts/new` wins over `/contacts/{id}`.
        self.routes
            .sort_by_key(|route| std::cmp::Reverse(route.pattern.literal_count()));
        Ok(())
    }

    /// Every route.
    pub fn routes(&self) -> &[LiveRoute] {
        &self.routes
    }

    /// Every group; index 0 is the default group.
    pub fn groups(&self) -> &[LiveGroup] {
        &self.groups
    }

    /// The group of `route`.
    pub fn group_of(&self, route: &LiveRoute) -> &LiveGroup {
        &self.groups[route.group.min(self.groups.len() - 1)]
    }

    /// Whether `view` is served at some route.
    pub fn serves(&self, view: &str) -> bool {
        self.routes
            .iter()
            .any(|route| route.view.meta().name == view)
    }

    /// The group `view` is served in (its first route's), if any.
    pub fn group_of_view(&self, view: &str) -> Option<usize> {
        self.routes
            .iter()
            .find(|route| route.view.meta().name == view)
            .map(|route| route.group)
    }

    /// Resolves `url` (a same-origin path with an optional query and
    /// fragment) to its route and the parameters for `handle_params`.
    pub fn resolve(&self, url: &str) -> std::result::Result<Resolved<'_>, RouteError> {
        let url = routable_url(url).ok_or(RouteError::OffOrigin)?;
        let path = url.split_once('?').map_or(url.as_str(), |(path, _)| path);
        self.routes
            .iter()
            .find_map(|route| {
                let path_params = route.pattern.matches(path)?;
                Some(Resolved {
                    route,
                    params: url_params(&url, path_params),
                    url: url.clone(),
                })
            })
            .ok_or(RouteError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_parse_or_say_why() {
        assert!(RoutePattern::parse("/").is_ok());
        assert!(RoutePattern::parse("/contacts/{id}/edit").is_ok());
        for bad in [
            "contacts",
            "/contacts/",
            "/a//b",
            "/{Id}",
            "/{id}/{id}",
            "/a b",
            "/{}",
            "/a/{id",
        ] {
            assert!(RoutePattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn params_decode_and_query_merges() {
        let pattern = RoutePattern::parse("/contacts/{id}").expect("pattern");
        assert_eq!(
            pattern.matches("/contacts/a%20b"),
            Some(vec![("id".to_owned(), "a b".to_owned())])
        );
        assert_eq!(pattern.matches("/contacts"), None);
        assert_eq!(pattern.matches("/contacts/"), None);
        assert_eq!(pattern.matches("/contacts/1/2"), None);
        assert_eq!(pattern.matches("/contacts/%FF"), None);
        let params = url_params(
            "/contacts/3?q=a&tag=x&tag=y&id=9",
            vec![("id".to_owned(), "3".to_owned())],
        );
        assert_eq!(params["q"], "a");
        assert_eq!(params["tag"], serde_json::json!(["x", "y"]));
        assert_eq!(params["id"], "3");
    }

    #[test]
    fn off_origin_urls_are_refused() {
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
            "contacts",
            "/a\u{0}b",
            "",
        ] {
            assert_eq!(same_origin_url(bad), None, "{bad:?}");
        }
        assert_eq!(same_origin_url("/a?b=1#top").as_deref(), Some("/a?b=1#top"));
        assert_eq!(same_origin_url("/a#\t//evil.example"), None);
    }

    #[test]
    fn routable_urls_judge_the_path_strictly_and_the_query_as_data() {
        assert_eq!(
            routable_url("/account?%09//evil.example#x").as_deref(),
            Some("/account?%09//evil.example")
        );
        for bad in [
            "/\t/evil.example",
            "//evil.example",
            "/%2F%2Fevil.example",
            "/a?b=\t",
            "/a?b=c d",
            "/a?b=\\",
        ] {
            assert_eq!(routable_url(bad), None, "{bad:?}");
        }
        assert_eq!(
            routable_url(&format!("/a?q={}", "a".repeat(MAX_URL_BYTES))),
            None
        );
        assert_eq!(
            same_origin_url(&format!("/{}", "a".repeat(MAX_URL_BYTES))),
            None
        );
    }
}
