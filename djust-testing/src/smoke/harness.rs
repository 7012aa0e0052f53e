//! The machinery shared by the smoke checks: mounting clients as an
//! authorised user with the fixture, sending events while keeping each
//! payload's effect isolated, classifying replies, and collecting findings.

use std::panic::AssertUnwindSafe;

use djust_runtime::auth::User;
use djust_runtime::live::MountRefusal;
use djust_runtime::protocol::ServerMessage;
use djust_runtime::queries::QueryScope;
use djust_runtime::security::SafeError;
use djust_runtime::view::{HandlerMeta, ViewFactory, ViewMeta};
use serde_json::{Map, Value};

use super::{SmokeFailure, SmokeOptions, SmokeReport};
use crate::client::{EventResult, TestClient, TestClientBuilder};

/// Findings after which a check stops early.
pub(crate) const MAX_FINDINGS: usize = 25;

/// What one check is doing to one view.
pub(crate) struct Harness<'a> {
    pub factory: ViewFactory,
    pub meta: &'static ViewMeta,
    pub options: &'a SmokeOptions,
    pub check: &'static str,
    findings: Vec<String>,
    events: usize,
    client: Option<TestClient>,
    mount_failed: bool,
    /// The component events go to (`None`: the view).
    pub target: Option<String>,
}

/// How the server answered one event.
pub(crate) struct Reply {
    /// The frames (empty when the harness itself panicked).
    pub result: EventResult,
    /// The view's HTML before the event.
    pub before: String,
    /// The view's HTML after the event (`before` if the client closed).
    pub after: String,
}

impl Reply {
    /// The event was refused before any handler ran: only error frames.
    pub(crate) fn refused(&self) -> bool {
        !self.result.frames.is_empty()
            && self
                .result
                .frames
                .iter()
                .all(|frame| matches!(frame, ServerMessage::Error { .. }))
    }
}

/// The permission names a fully authorised user needs for `meta`.
pub(crate) fn all_permissions(meta: &ViewMeta) -> Vec<&'static str> {
    let mut permissions: Vec<&'static str> = meta
        .permission
        .into_iter()
        .chain(
            meta.handlers
                .iter()
                .filter_map(|handler| handler.permission),
        )
        .chain(meta.uploads.iter().filter_map(|slot| slot.permission))
        // The components it may embed (known only once mounted): all of them.
        .chain(
            djust_runtime::view::registered_components()
                .into_iter()
                .flat_map(|component| component.handlers.iter())
                .filter_map(|handler| handler.permission),
        )
        .collect();
    permissions.sort_unstable();
    permissions.dedup();
    permissions
}

/// A user holding every permission named in `meta`.
pub(crate) fn authorised_user(meta: &ViewMeta) -> User {
    all_permissions(meta)
        .into_iter()
        .fold(User::new("smoke-user", "smoke"), User::with_permission)
}

/// The message of `SafeError::RateLimited`.
fn rate_limited_message() -> String {
    SafeError::RateLimited.public_message(false, None)
}

/// Every message a clean error frame may start with.
pub(crate) fn clean_messages() -> Vec<String> {
    [
        SafeError::MalformedMessage,
        SafeError::MessageTooLarge,
        SafeError::UnsupportedFrame,
        SafeError::UnknownView,
        SafeError::InvalidMountToken,
        SafeError::NotMounted,
        SafeError::UnknownEvent,
        SafeError::UnknownComponent,
        SafeError::RateLimited,
        SafeError::LoginRequired,
        SafeError::PermissionDenied,
        SafeError::HandlerFailed,
        SafeError::RenderFailed,
        SafeError::Internal,
    ]
    .iter()
    .map(|error| error.public_message(false, None))
    .collect()
}

/// `true` when `error` is one of the framework's client-safe messages (with
/// the debug-mode `": detail"` suffix allowed), or the invalid-parameter
/// message naming one of `handler`'s parameters.
pub(crate) fn is_clean_error(error: &str, handler: Option<&HandlerMeta>) -> bool {
    let fixed = clean_messages().into_iter().any(|prefix| {
        error == prefix
            || error
                .strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.starts_with(": "))
    });
    let invalid_param = handler.is_some_and(|handler| {
        handler.params.iter().any(|param| {
            error.starts_with(&format!("Invalid value for parameter '{}'", param.name))
        })
    });
    fixed || invalid_param
}

/// The part of `value` an error frame must not contain, if it is distinctive
/// enough to tell an echo from a coincidence (`context` holds the names and
/// types that a clean error may legitimately mention).
pub(crate) fn echo_of(error: &str, value: &Value, context: &[&str]) -> Option<String> {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let probe: String = text.chars().take(32).collect();
    let distinctive = probe.trim().chars().count() >= 5
        && !context.iter().any(|known| known.contains(probe.as_str()));
    (distinctive && error.contains(probe.as_str())).then_some(probe)
}

impl<'a> Harness<'a> {
    /// A harness for `check` on `factory`'s view.
    pub(crate) fn new(
        factory: ViewFactory,
        options: &'a SmokeOptions,
        check: &'static str,
    ) -> Self {
        Harness {
            meta: factory.meta(),
            factory,
            options,
            check,
            findings: Vec::new(),
            events: 0,
            client: None,
            mount_failed: false,
            target: None,
        }
    }

    /// A builder for this view with the fixture applied (anonymous).
    pub(crate) fn builder(&self) -> TestClientBuilder {
        let builder = TestClient::build_factory(self.factory);
        match self.options.fixture {
            Some(fixture) => fixture(builder),
            None => builder,
        }
    }

    /// Mounts a fresh client as the authorised user; `mount` and the first
    /// render count against [`SmokeOptions::max_queries`].
    pub(crate) fn mount(&mut self) -> Result<TestClient, MountRefusal> {
        let builder = TestClient::build_factory(self.factory).user(authorised_user(self.meta));
        // The fixture (seeding a test database, say) is not the view's work.
        let builder = match self.options.fixture {
            Some(fixture) => fixture(builder),
            None => builder,
        };
        let scope = QueryScope::start(self.options.query_counter());
        let mounted = builder.mount();
        let queries = scope.queries();
        if mounted.is_ok() {
            self.check_query_budget("mount and first render", queries);
        }
        mounted
    }

    /// A finding when `what` ran more queries than the budget allows.
    pub(crate) fn check_query_budget(&mut self, what: &str, queries: u64) {
        if let Some(budget) = self.options.max_queries {
            if queries > budget {
                self.fail(format!(
                    "{what} ran {queries} database queries, more than `max_queries = {budget}` \
                     (a query per item of a list is the usual cause: load the list in one query)"
                ));
            }
        }
    }

    /// Counts one more event or upload sent.
    pub(crate) fn count_event(&mut self) {
        self.events += 1;
    }

    /// Records a finding.
    pub(crate) fn fail(&mut self, finding: String) {
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(finding);
        }
    }

    /// `true` once the check should stop: enough findings, or the view
    /// could not be mounted.
    pub(crate) fn stopped(&self) -> bool {
        self.mount_failed || self.findings.len() >= MAX_FINDINGS
    }

    /// Whether `handler` is skipped by the options.
    pub(crate) fn skipped(&self, handler: &str) -> bool {
        self.options.skip.iter().any(|(name, _)| *name == handler)
    }

    /// The handlers that are fuzzed (not skipped).
    pub(crate) fn fuzzed_handlers(&self) -> Vec<&'static HandlerMeta> {
        self.meta
            .handlers
            .iter()
            .filter(|handler| !self.skipped(handler.name))
            .collect()
    }

    /// Logs each skipped handler with its reason, and reports skips that
    /// name no handler (a typo or a renamed handler would otherwise silently
    /// fuzz nothing less).
    pub(crate) fn check_skips(&mut self) {
        for (name, reason) in &self.options.skip {
            tracing::info!(
                view = self.meta.type_name,
                check = self.check,
                handler = name,
                reason,
                "smoke: not fuzzing handler"
            );
            if self.meta.handler(name).is_none() {
                self.fail(format!(
                    "`skip` names `{name}`, which is not an #[event_handler] of this view"
                ));
            }
        }
    }

    /// Drops the current client so the next event runs on a fresh mount.
    pub(crate) fn reset(&mut self) {
        self.client = None;
    }

    fn client(&mut self) -> Result<&mut TestClient, String> {
        if self.client.is_none() {
            let client = self
                .mount()
                .map_err(|refusal| format!("could not mount as an authorised user: {refusal:?}"))?;
            self.client = Some(client);
        }
        self.client.as_mut().ok_or_else(|| "no client".to_owned())
    }

    /// Sends through `send` on the current client (mounting one if needed).
    /// A `RateLimited` reply is retried once on a fresh client; a closed
    /// client is dropped. After an event that ran (anything but a pure
    /// refusal) the next event gets a fresh client, so one payload's state
    /// never masks another's. A panic in the harness or the client itself
    /// becomes a finding. `None` when no client could be mounted (already
    /// reported).
    pub(crate) fn send(
        &mut self,
        what: &str,
        send: &dyn Fn(&mut TestClient) -> EventResult,
    ) -> Option<Reply> {
        let counter = self.options.query_counter();
        for attempt in 0..2 {
            let client = match self.client() {
                Ok(client) => client,
                Err(message) => {
                    self.mount_failed = true;
                    self.fail(message);
                    return None;
                }
            };
            let before = client.html();
            let scope = QueryScope::start(counter);
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                let result = send(client);
                let after = if result.closed {
                    before.clone()
                } else {
                    client.html()
                };
                (result, after)
            }));
            let queries = scope.queries();
            self.events += 1;
            self.check_query_budget(what, queries);
            let (result, after) = match outcome {
                Ok(pair) => pair,
                Err(panic) => {
                    let text = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "panic".to_owned());
                    self.reset();
                    self.fail(format!("{what}: panicked outside the view: {text}"));
                    return None;
                }
            };
            let reply = Reply {
                result,
                before,
                after,
            };
            let rate_limited = reply.result.error() == Some(rate_limited_message().as_str());
            if rate_limited && attempt == 0 {
                self.reset();
                continue;
            }
            if reply.result.closed || !reply.refused() {
                self.reset();
            }
            return Some(reply);
        }
        None
    }

    /// Sends event `name` with `params`.
    pub(crate) fn event(
        &mut self,
        what: &str,
        name: &str,
        params: Map<String, Value>,
    ) -> Option<Reply> {
        let params = Value::Object(params);
        match self.target.clone() {
            Some(target) => self.send(what, &|client| {
                client.event_to(&target, name, params.clone())
            }),
            None => self.send(what, &|client| client.event(name, params.clone())),
        }
    }

    /// What the fuzzing checks call: the view's handlers that are not
    /// skipped, then every handler of each component the view mounts
    /// (a component has no skip list: its handlers are always fuzzed),
    /// with the id events to it carry.
    pub(crate) fn targets(&mut self) -> Vec<(Option<String>, Vec<&'static HandlerMeta>)> {
        let mut targets = vec![(None, self.fuzzed_handlers())];
        if let Ok(client) = self.mount() {
            for (id, meta) in client.components() {
                targets.push((Some(id), meta.handlers.iter().collect()));
            }
        }
        targets
    }

    /// How a finding names where an event went: `` `cart` `` for a
    /// component, nothing for the view.
    pub(crate) fn where_to(&self) -> String {
        match &self.target {
            Some(id) => format!("component `{id}`, "),
            None => String::new(),
        }
    }

    /// The check's outcome.
    pub(crate) fn finish(self) -> Result<SmokeReport, SmokeFailure> {
        if self.findings.is_empty() {
            Ok(SmokeReport {
                view: self.meta.type_name,
                check: self.check,
                events: self.events,
                skipped: self.options.skip.clone(),
            })
        } else {
            Err(SmokeFailure {
                view: self.meta.type_name,
                check: self.check,
                seed: self.options.seed,
                truncated: self.findings.len() >= MAX_FINDINGS,
                findings: self.findings,
            })
        }
    }
}
