//! The load itself: the event frames each scenario sends
//! ([`EventSource`]), and how a session sends them: closed loop (send, wait
//! for the reply, send again), open loop at a fixed rate (sender and
//! receiver apart, so a slow server cannot hold sends back), or, for an
//! idle chat session, only reading what its room delivers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::args::Scenario;
use crate::client::{next_json, Mounted, Socket};
use crate::stats::{Stats, MARK};
use crate::BenchResult;

/// What the active sessions send, keystroke by keystroke for `search`.
pub struct EventSource {
    scenario: Scenario,
    event: String,
    typing: Vec<String>,
    /// Zero of the chat messages' send times.
    epoch: Instant,
}

impl EventSource {
    pub fn new(scenario: Scenario, event: Option<String>, epoch: Instant) -> Self {
        let mut typing = Vec::new();
        for word in ["alice smith", "bob", "garcia", "example.com", "judy k"] {
            for end in 1..=word.len() {
                typing.push(word[..end].to_owned());
            }
            typing.push(String::new());
        }
        EventSource {
            scenario,
            event: event.unwrap_or_else(|| scenario.default_event().to_owned()),
            typing,
            epoch,
        }
    }

    pub fn frame(&self, session: usize, reference: u64) -> String {
        let params = match self.scenario {
            Scenario::Search => {
                let at = (session + reference as usize) % self.typing.len();
                json!({ "q": self.typing[at] })
            }
            Scenario::Chat => {
                let micros = self.epoch.elapsed().as_micros();
                json!({ "text": format!("{MARK}{session}:{micros}] message {reference}") })
            }
            _ => json!({}),
        };
        json!({"type": "event", "event": self.event, "params": params, "ref": reference})
            .to_string()
    }
}

/// Reads replies until the one for `reference`; other frames are skipped
/// (chat deliveries in them are recorded for session `id`).
pub async fn await_reply(
    stream: &mut SplitStream<Socket>,
    reference: u64,
    stats: &Stats,
    id: usize,
) -> BenchResult<(String, usize)> {
    loop {
        let (frame, bytes) = next_json(stream, Some((stats, id))).await?;
        if frame["ref"].as_u64() == Some(reference) {
            stats.sample(&frame);
            let kind = frame["type"].as_str().unwrap_or("?").to_owned();
            return Ok((kind, bytes));
        }
        if frame["type"] == "rate_limit_exceeded" {
            return Err(format!("server rate limited the connection: {frame}"));
        }
    }
}

/// Closed loop: send, wait for the reply, send again, until `stop`.
pub async fn closed_loop(
    id: usize,
    mut session: Mounted,
    source: Arc<EventSource>,
    stats: Arc<Stats>,
    stop: Instant,
) -> Option<Mounted> {
    let mut reference = 0u64;
    while Instant::now() < stop {
        reference += 1;
        let frame = source.frame(id, reference);
        let sent_at = Instant::now();
        stats.note_sent(frame.len());
        if let Err(e) = session.sink.send(Message::text(frame)).await {
            stats.fail(format!("send event: {e}"));
            break;
        }
        match await_reply(&mut session.stream, reference, &stats, id).await {
            Ok((kind, bytes)) => stats.record(id, sent_at, Instant::now(), bytes, &kind),
            Err(e) => {
                stats.fail(e);
                break;
            }
        }
    }
    Some(session)
}

/// Open loop at `rate` events/s: a sender on a fixed schedule and a
/// receiver matching replies in order.
pub async fn open_loop(
    id: usize,
    session: Mounted,
    source: Arc<EventSource>,
    stats: Arc<Stats>,
    stop: Instant,
    rate: f64,
) -> Option<Mounted> {
    let Mounted {
        mut sink,
        mut stream,
        mount_bytes,
    } = session;
    let pending: Arc<Mutex<VecDeque<(u64, Instant)>>> = Arc::new(Mutex::new(VecDeque::new()));
    let (done_tx, mut done_rx) = watch::channel(false);
    let period = Duration::from_secs_f64(1.0 / rate);
    // Spread the sessions' phases over one period.
    let phase = period.mul_f64((id as f64 * 0.618_033_988_75) % 1.0);
    let sender_pending = pending.clone();
    let sender_stats = stats.clone();
    let sender = tokio::spawn(async move {
        let mut next = Instant::now() + phase;
        let mut reference = 0u64;
        while next < stop {
            tokio::time::sleep_until(next.into()).await;
            reference += 1;
            let frame = source.frame(id, reference);
            // Latency counts from the actual send: tokio's timer has 1 ms
            // granularity, so counting from the schedule would add up to
            // 1 ms of bench artefact. The sender never waits for replies,
            // so a slow server cannot hold sends back (no coordinated
            // omission); how late sends were is reported as `send_lag_us`.
            let sent_at = Instant::now();
            sender_stats.lag(sent_at.saturating_duration_since(next));
            if let Ok(mut queue) = sender_pending.lock() {
                queue.push_back((reference, sent_at));
            }
            sender_stats.note_sent(frame.len());
            if let Err(e) = sink.send(Message::text(frame)).await {
                sender_stats.fail(format!("send event: {e}"));
                break;
            }
            next += period;
        }
        let _ = done_tx.send(true);
        sink
    });
    let mut sender_done = false;
    loop {
        let outstanding = pending.lock().map(|q| q.len()).unwrap_or(0);
        if sender_done && outstanding == 0 {
            break;
        }
        let frame = tokio::select! {
            frame = next_json(&mut stream, Some((&stats, id))) => frame,
            changed = done_rx.changed(), if !sender_done => {
                sender_done = changed.is_err() || *done_rx.borrow();
                continue;
            }
        };
        let (frame, bytes) = match frame {
            Ok(frame) => frame,
            Err(e) => {
                stats.fail(e);
                break;
            }
        };
        let Some(reference) = frame["ref"].as_u64() else {
            continue;
        };
        let now = Instant::now();
        let mut matched = None;
        if let Ok(mut queue) = pending.lock() {
            while let Some((r, at)) = queue.pop_front() {
                if r == reference {
                    matched = Some(at);
                    break;
                }
            }
        }
        if let Some(at) = matched {
            stats.sample(&frame);
            stats.record(id, at, now, bytes, frame["type"].as_str().unwrap_or("?"));
        }
    }
    match sender.await {
        Ok(sink) => Some(Mounted {
            sink,
            stream,
            mount_bytes,
        }),
        Err(e) => {
            stats.fail(format!("sender task failed: {e}"));
            None
        }
    }
}

/// Chat: an idle session reads (and records the deliveries in) every frame
/// until `stop`, so the server never blocks on a full socket buffer.
pub async fn drain(
    id: usize,
    mut session: Mounted,
    stats: Arc<Stats>,
    mut stop: watch::Receiver<bool>,
) -> Mounted {
    loop {
        tokio::select! {
            frame = session.stream.next() => match frame {
                Some(Ok(Message::Text(text))) => stats.observe(text.as_str(), id, Instant::now()),
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    stats.fail(format!("idle session: socket error: {e}"));
                    break;
                }
                None => {
                    stats.fail("idle session: socket closed".to_owned());
                    break;
                }
            },
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
        }
    }
    session
}
