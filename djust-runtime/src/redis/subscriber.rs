//! The reconnecting pub/sub loop behind [`super::RedisBroadcast`] and
//! [`super::RedisRevocations`].

use futures_util::StreamExt;

use super::Redis;
use crate::limits::BoxFuture;

/// What a subscription loop does with its messages.
pub(crate) trait Handler: Send + 'static {
    /// Handles one payload that arrived on `channel`; `false` stops the
    /// loop (the owner is gone).
    fn message(&mut self, channel: &str, payload: &[u8]) -> bool;
    /// Whether the owner still wants messages.
    fn alive(&self) -> bool;
    /// Called after every successful (re)subscription, before messages flow:
    /// the place to catch up on what was missed while disconnected.
    fn subscribed(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(std::future::ready(()))
    }
    /// Called when the subscription is lost (messages may be missed until
    /// the next [`Handler::subscribed`]).
    fn disconnected(&mut self) {}
}

/// What a subscription listens to: one channel, and optionally a pattern
/// (`PSUBSCRIBE`) on the same connection.
#[derive(Debug, Clone)]
pub(crate) struct Channels {
    pub(crate) channel: String,
    pub(crate) pattern: Option<String>,
}

impl From<String> for Channels {
    fn from(channel: String) -> Self {
        Channels {
            channel,
            pattern: None,
        }
    }
}

/// Spawns a task that subscribes to `channels` on a dedicated connection and
/// feeds `handler`, reconnecting with exponential backoff (the
/// [`super::RedisOptions`] bounds) for as long as the handler is alive.
///
/// The task drains the connection's queue as fast as messages arrive and
/// never blocks on consumers (handlers hand messages to bounded channels),
/// so memory stays bounded.
pub(crate) fn spawn(
    redis: Redis,
    channels: impl Into<Channels>,
    mut handler: impl Handler,
) -> tokio::task::JoinHandle<()> {
    let channels = channels.into();
    tokio::spawn(async move {
        let channel = &channels.channel;
        let options = redis.options();
        let mut delay = options.min_backoff;
        while handler.alive() {
            match subscribe(&redis, &channels).await {
                Ok((mut sink, mut stream)) => {
                    delay = options.min_backoff;
                    tracing::info!(channel = %channel, "Redis subscription active");
                    handler.subscribed().await;
                    // Checks that the connection is alive (`PING`) and
                    // whether the subscription's owner is gone.
                    let mut health = tokio::time::interval(options.health_check_interval);
                    health.tick().await;
                    loop {
                        tokio::select! {
                            message = stream.next() => match message {
                                Some(message) => {
                                    let name = message.get_channel_name();
                                    if !handler.message(name, message.get_payload_bytes()) {
                                        return;
                                    }
                                }
                                None => break,
                            },
                            _ = health.tick() => {
                                if !handler.alive() {
                                    return;
                                }
                                // On a subscribed connection Redis answers
                                // `PING` with `["pong", ""]`, not `PONG`: any
                                // reply in time is a live connection.
                                let ping = tokio::time::timeout(options.response_timeout, sink.ping::<::redis::Value>());
                                if !matches!(ping.await, Ok(Ok(_))) {
                                    break;
                                }
                            }
                        }
                    }
                    handler.disconnected();
                    tracing::warn!(channel = %channel, "Redis subscription lost; reconnecting");
                }
                Err(error) => {
                    tracing::warn!(
                        channel = %channel,
                        error = %crate::security::sanitize_for_log(&error),
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "cannot subscribe to Redis; retrying"
                    );
                }
            }
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2).min(options.max_backoff);
        }
    })
}

async fn subscribe(
    redis: &Redis,
    channels: &Channels,
) -> Result<(::redis::aio::PubSubSink, ::redis::aio::PubSubStream), String> {
    let options = redis.options();
    let connect = tokio::time::timeout(options.connect_timeout, redis.client().get_async_pubsub());
    let (mut sink, stream) = match connect.await {
        Ok(Ok(pubsub)) => pubsub.split(),
        Ok(Err(error)) => return Err(error.to_string()),
        Err(_) => return Err("connect timed out".to_owned()),
    };
    match tokio::time::timeout(options.response_timeout, sink.subscribe(&channels.channel)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(error.to_string()),
        Err(_) => return Err("SUBSCRIBE timed out".to_owned()),
    }
    if let Some(pattern) = &channels.pattern {
        match tokio::time::timeout(options.response_timeout, sink.psubscribe(pattern)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(error.to_string()),
            Err(_) => return Err("PSUBSCRIBE timed out".to_owned()),
        }
    }
    Ok((sink, stream))
}
