//! [`RedisBroadcast`]: a `tokio::sync::broadcast` channel spanning processes.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use super::subscriber::{self, Channels, Handler};
use super::{OutageLog, Redis};
use crate::limits::BoxFuture;
use crate::tenant::{self, Tenant};

/// Channel prefix of bridged topics: `djust:pubsub:{topic}`.
pub const PUBSUB_PREFIX: &str = "djust:pubsub:";

/// What follows [`PUBSUB_PREFIX`] in a tenant's channels:
/// `djust:pubsub:tenant:{id}:{topic}`. Topics may not start with it.
const TENANT_SEGMENT: &str = "tenant:";

/// Longest topic name accepted.
const MAX_TOPIC_LEN: usize = 200;

/// A message could not be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishError {
    /// Redis is unreachable or too slow: the message was not sent (not
    /// acknowledged), so the caller should tell the user to retry.
    Unavailable(String),
    /// The message could not be serialised.
    Encode(String),
}

impl std::fmt::Display for PublishError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unavailable(reason) => write!(f, "message not sent, Redis unavailable: {reason}"),
            Self::Encode(reason) => write!(f, "message could not be encoded: {reason}"),
        }
    }
}

impl std::error::Error for PublishError {}

/// A broadcast channel whose messages reach subscribers in every process.
///
/// [`RedisBroadcast::publish`] sends a message as JSON to the Redis channel
/// `djust:pubsub:{topic}`; every process (this one included) receives it
/// on its subscription and fans it into its local, bounded
/// `tokio::sync::broadcast` channel, from which views subscribe
/// (`ctx.subscribe(bus.subscribe())`) and get `handle_info`. Every process
/// therefore sees the same messages in the same order.
///
/// With tenancy (`App::tenancy`), a bus is scoped to the tenant of the
/// code that uses it, by itself: `publish` inside a request, handler or
/// view callback of tenant `acme` goes to `djust:pubsub:tenant:acme:{topic}`,
/// and `subscribe` there receives only `acme`'s messages. Outside any
/// tenant (startup code, tasks spawned without the tenant) the bus is the
/// untenanted `djust:pubsub:{topic}`, which no tenant's views receive.
///
/// Delivery is Redis pub/sub's: at most once. `publish` returning `Ok` means
/// Redis accepted the message for every process subscribed at that moment;
/// a process whose subscription is reconnecting misses it. A slow view lags
/// (the local channel drops its oldest messages, logged) instead of growing
/// a queue.
pub struct RedisBroadcast<T> {
    shared: Arc<Shared<T>>,
}

struct Shared<T> {
    redis: Redis,
    channel: String,
    /// `djust:pubsub:tenant:` and `:{topic}`: a tenant's channel is its id
    /// between them.
    tenant_prefix: String,
    tenant_suffix: String,
    sender: broadcast::Sender<T>,
    tenants: Arc<TenantSenders<T>>,
    subscribed: watch::Receiver<bool>,
    task: tokio::task::AbortHandle,
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<T> Clone for RedisBroadcast<T> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> std::fmt::Debug for RedisBroadcast<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBroadcast")
            .field("channel", &self.shared.channel)
            .finish_non_exhaustive()
    }
}

/// The local channels of the tenants with a subscriber in this process.
struct TenantSenders<T> {
    capacity: usize,
    senders: Mutex<HashMap<Tenant, broadcast::Sender<T>>>,
}

impl<T: Clone> TenantSenders<T> {
    fn subscribe(&self, tenant: &Tenant) -> broadcast::Receiver<T> {
        let mut senders = self.senders.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = senders.get(tenant) {
            return sender.subscribe();
        }
        // A tenant whose last view went away needs no channel here.
        senders.retain(|_, sender| sender.receiver_count() > 0);
        let (sender, receiver) = broadcast::channel(self.capacity);
        senders.insert(tenant.clone(), sender);
        receiver
    }

    fn sender(&self, tenant: &Tenant) -> Option<broadcast::Sender<T>> {
        let senders = self.senders.lock().unwrap_or_else(PoisonError::into_inner);
        senders.get(tenant).cloned()
    }
}

struct Fanout<T> {
    sender: broadcast::WeakSender<T>,
    tenants: Arc<TenantSenders<T>>,
    subscribed: watch::Sender<bool>,
    channel: String,
    /// `djust:pubsub:tenant:` and `:{topic}`: a tenant's channel is the id
    /// between them.
    tenant_prefix: String,
    tenant_suffix: String,
    bad_messages: OutageLog,
    _type: PhantomData<fn() -> T>,
}

impl<T> Fanout<T> {
    /// The tenant whose channel `channel` is.
    fn tenant_of(&self, channel: &str) -> Option<Tenant> {
        let id = channel
            .strip_prefix(self.tenant_prefix.as_str())?
            .strip_suffix(self.tenant_suffix.as_str())?;
        Tenant::new(id).ok()
    }
}

impl<T: DeserializeOwned + Clone + Send + 'static> Handler for Fanout<T> {
    fn message(&mut self, channel: &str, payload: &[u8]) -> bool {
        let Some(untenanted) = self.sender.upgrade() else {
            return false;
        };
        let sender = if channel == self.channel {
            untenanted
        } else {
            // No tenant channel here: none of its views is in this process.
            match self
                .tenant_of(channel)
                .and_then(|tenant| self.tenants.sender(&tenant))
            {
                Some(sender) => sender,
                None => return true,
            }
        };
        match serde_json::from_slice::<T>(payload) {
            // No local receiver is fine: no view is listening here.
            Ok(message) => {
                let _ = sender.send(message);
            }
            Err(error) => {
                if let Some(suppressed) = self.bad_messages.should_log() {
                    tracing::warn!(
                        channel = %self.channel,
                        error = %crate::security::sanitize_for_log(&error.to_string()),
                        suppressed,
                        "undecodable pub/sub message dropped"
                    );
                }
            }
        }
        true
    }

    fn alive(&self) -> bool {
        self.sender.strong_count() > 0
    }

    fn subscribed(&mut self) -> BoxFuture<'_, ()> {
        self.subscribed.send_replace(true);
        Box::pin(std::future::ready(()))
    }

    fn disconnected(&mut self) {
        self.subscribed.send_replace(false);
    }
}

impl<T> RedisBroadcast<T>
where
    T: Serialize + DeserializeOwned + Clone + Send + 'static,
{
    /// Bridges `topic` (1–200 characters from `A-Z a-z 0-9 . _ - :`, not
    /// starting with `tenant:`) on `redis`, with a local channel of
    /// `capacity` messages per receiver (at least 1). Spawns the
    /// subscription task, so call it inside a Tokio runtime; it stops when
    /// the last clone is dropped.
    pub fn new(redis: &Redis, topic: &str, capacity: usize) -> Result<Self, PublishError> {
        let valid = !topic.is_empty()
            && topic.len() <= MAX_TOPIC_LEN
            && topic
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':'));
        if !valid {
            return Err(PublishError::Encode(
                "topic must be 1-200 characters from A-Z a-z 0-9 . _ - :".to_owned(),
            ));
        }
        if topic.starts_with(TENANT_SEGMENT) {
            return Err(PublishError::Encode(
                "a topic may not start with `tenant:` (tenants' channels do)".to_owned(),
            ));
        }
        let channel = format!("{PUBSUB_PREFIX}{topic}");
        let tenant_prefix = format!("{PUBSUB_PREFIX}{TENANT_SEGMENT}");
        let tenant_suffix = format!(":{topic}");
        // Topic characters are no glob syntax, so the pattern is literal
        // but for the tenant's id.
        let pattern = format!("{tenant_prefix}*{tenant_suffix}");
        let capacity = capacity.max(1);
        let (sender, _) = broadcast::channel(capacity);
        let tenants = Arc::new(TenantSenders {
            capacity,
            senders: Mutex::new(HashMap::new()),
        });
        let (subscribed_tx, subscribed) = watch::channel(false);
        let task = subscriber::spawn(
            redis.clone(),
            Channels {
                channel: channel.clone(),
                pattern: Some(pattern),
            },
            Fanout::<T> {
                sender: sender.downgrade(),
                tenants: Arc::clone(&tenants),
                subscribed: subscribed_tx,
                channel: channel.clone(),
                tenant_prefix: tenant_prefix.clone(),
                tenant_suffix: tenant_suffix.clone(),
                bad_messages: OutageLog::default(),
                _type: PhantomData,
            },
        );
        Ok(Self {
            shared: Arc::new(Shared {
                redis: redis.clone(),
                channel,
                tenant_prefix,
                tenant_suffix,
                sender,
                tenants,
                subscribed,
                task: task.abort_handle(),
            }),
        })
    }

    /// A receiver of every message published from now on, by any process,
    /// for the current tenant (see the type's docs).
    pub fn subscribe(&self) -> broadcast::Receiver<T> {
        match tenant::current() {
            Some(tenant) => self.shared.tenants.subscribe(&tenant),
            None => self.shared.sender.subscribe(),
        }
    }

    /// The untenanted Redis channel, `djust:pubsub:{topic}`. Any JSON
    /// encoding of `T` published on it (for instance inside a `MULTI` that
    /// also stores the message) is delivered like
    /// [`RedisBroadcast::publish`]'s outside any tenant; see
    /// [`RedisBroadcast::channel_of`] for a tenant's.
    pub fn channel(&self) -> &str {
        &self.shared.channel
    }

    /// The Redis channel of `tenant` (`djust:pubsub:tenant:{id}:{topic}`),
    /// or the untenanted one for `None`.
    pub fn channel_of(&self, tenant: Option<&Tenant>) -> String {
        match tenant {
            Some(tenant) => format!(
                "{}{}{}",
                self.shared.tenant_prefix,
                tenant.id(),
                self.shared.tenant_suffix
            ),
            None => self.shared.channel.clone(),
        }
    }

    /// The untenanted local channel (sending on it reaches this process's
    /// untenanted subscribers only).
    pub fn local_sender(&self) -> &broadcast::Sender<T> {
        &self.shared.sender
    }

    /// Publishes `message` to every process, on the current tenant's
    /// channel; returns how many processes were subscribed. `Err` means it
    /// was not sent.
    pub async fn publish(&self, message: &T) -> Result<usize, PublishError> {
        let json = serde_json::to_string(message)
            .map_err(|error| PublishError::Encode(error.to_string()))?;
        let channel = self.channel_of(tenant::current().as_ref());
        self.shared
            .redis
            .query::<usize>(::redis::cmd("PUBLISH").arg(channel).arg(json))
            .await
            .map_err(|error| PublishError::Unavailable(error.to_string()))
    }

    /// Whether this process's subscription is active now.
    pub fn is_subscribed(&self) -> bool {
        *self.shared.subscribed.borrow()
    }

    /// A watch of whether this process's subscription is active. Messages
    /// published while it was not are lost to this process (pub/sub is at
    /// most once): wait for it to turn `true` again (`changed()`) to catch
    /// up from durable storage, as the chat example re-reads its history.
    pub fn subscription(&self) -> watch::Receiver<bool> {
        self.shared.subscribed.clone()
    }

    /// Waits up to `timeout` for the subscription to be active; `true` if it is.
    pub async fn wait_subscribed(&self, timeout: Duration) -> bool {
        let mut subscribed = self.shared.subscribed.clone();
        tokio::time::timeout(timeout, subscribed.wait_for(|active| *active))
            .await
            .is_ok_and(|result| result.is_ok())
    }
}
