//! [`Coalescer`]: fan-out of a changing value (a presence count, a
//! progress figure, a "last edited by") at most once per interval.
//!
//! When one value changes often, broadcasting every change makes every
//! subscribed view render and send a frame each time: with 100 viewers
//! and a client opening and closing pages in a loop, that is 100 frames per
//! change. A coalescer sits between the change and the broadcast:
//!
//! - the first change after a quiet period is delivered at once;
//! - changes within `interval` of a delivery are held, and only the latest
//!   is delivered when the interval ends (latest value wins);
//! - the final value is always delivered, never dropped;
//! - nothing runs while nothing changes: a timer task exists only while a
//!   held value waits for its turn, and ends when it has delivered it.
//!
//! Delivery goes to a callback, typically a `broadcast::Sender::send` that
//! views subscribed to with `ctx.subscribe(..)`. The callback runs while
//! the coalescer's lock is held, so deliveries are in order and the last
//! one carries the last value: keep it short and non-blocking, and do not
//! publish to the same coalescer from inside it (that would deadlock).
//!
//! Timing uses `tokio::time`, so tests can drive it with a paused clock.
//! The held value waits on a task spawned on the Tokio runtime of the
//! caller that held it. Without a runtime (plain threads) there is no timer
//! and every change is delivered at once; an interval of zero does the
//! same. If the runtime shuts down while a value is held, it is delivered
//! then, early rather than never.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Delivers the latest of many updates at most once per interval.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use djust_runtime::view::Coalescer;
/// use tokio::sync::broadcast;
///
/// #[derive(Clone, Debug)]
/// enum RoomEvent { Online(usize) }
///
/// let (views, _) = broadcast::channel::<RoomEvent>(64);
/// let presence = Coalescer::new(Duration::from_millis(500), {
///     let views = views.clone();
///     move |online| {
///         let _ = views.send(RoomEvent::Online(online));
///     }
/// });
/// // In a view's mount and drop:
/// presence.publish(3);
/// ```
pub struct Coalescer<T> {
    shared: Arc<Shared<T>>,
}

struct Shared<T> {
    interval: Duration,
    state: Mutex<State<T>>,
}

struct State<T> {
    deliver: Box<dyn FnMut(T) + Send>,
    /// The latest value not delivered yet (only while a timer is armed).
    held: Option<T>,
    /// Deliveries before this instant wait for it.
    quiet_until: Option<Instant>,
    /// A timer task will deliver `held`.
    timer_armed: bool,
}

impl<T: Send + 'static> Coalescer<T> {
    /// A coalescer that calls `deliver` with the latest value at most once
    /// per `interval` (every value at once when `interval` is zero).
    pub fn new(interval: Duration, deliver: impl FnMut(T) + Send + 'static) -> Self {
        Coalescer {
            shared: Arc::new(Shared {
                interval,
                state: Mutex::new(State {
                    deliver: Box::new(deliver),
                    held: None,
                    quiet_until: None,
                    timer_armed: false,
                }),
            }),
        }
    }

    /// The interval between two deliveries.
    pub fn interval(&self) -> Duration {
        self.shared.interval
    }

    /// `value` is the new state: delivered now if nothing was delivered
    /// within the interval, else held (replacing any held value) and
    /// delivered when the interval ends.
    pub fn publish(&self, value: T) {
        self.publish_with(|| value);
    }

    /// Like [`publish`](Self::publish), with the value computed under the
    /// coalescer's lock: when several threads change shared state and then
    /// publish it (`count.fetch_add(1); presence.publish_with(|| count.load())`),
    /// the last value computed is the latest state, so the last delivery
    /// is right even when the publishes race.
    pub fn publish_with(&self, value: impl FnOnce() -> T) {
        let mut state = self.shared.lock();
        let now = Instant::now();
        if state.timer_armed {
            state.held = Some(value());
            return;
        }
        let quiet = state.quiet_until.is_some_and(|until| now < until);
        if quiet && !self.shared.interval.is_zero() {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                state.held = Some(value());
                state.timer_armed = true;
                let until = state.quiet_until.unwrap_or(now);
                let held = HeldValue(Arc::clone(&self.shared));
                // Spawned after the lock is released: a runtime that is
                // shutting down drops the task at once, and dropping it
                // delivers (`HeldValue`), which takes the lock. A publish
                // in between finds the timer armed and only replaces the
                // held value.
                drop(state);
                runtime.spawn(wait_and_deliver(held, until));
                return;
            }
        }
        let value = value();
        self.shared.deliver(&mut state, value, now);
    }

    /// Whether a held value waits for the end of the interval (a timer
    /// task is running). `false` whenever nothing changed for an interval.
    pub fn is_holding(&self) -> bool {
        self.shared.lock().timer_armed
    }
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // A panicking callback leaves the state consistent (it is updated
        // before the callback runs), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn deliver(&self, state: &mut State<T>, value: T, now: Instant) {
        state.quiet_until = Some(now + self.interval);
        (state.deliver)(value);
    }
}

/// The timer: waits for the end of the interval, then [`HeldValue`]'s drop
/// delivers the latest held value. The guard is made before the task is
/// spawned, so even a task that never ran delivers when it is dropped.
async fn wait_and_deliver<T>(held: HeldValue<T>, until: Instant) {
    tokio::time::sleep_until(until).await;
    drop(held);
}

/// Delivers the held value when dropped: after the timer fired, or when
/// the timer task is cancelled (its runtime shut down), so a held value
/// is delivered in every case.
struct HeldValue<T>(Arc<Shared<T>>);

impl<T> Drop for HeldValue<T> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.timer_armed = false;
        if let Some(value) = state.held.take() {
            self.0.deliver(&mut state, value, Instant::now());
        }
    }
}

impl<T> std::fmt::Debug for Coalescer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Coalescer")
            .field("interval", &self.shared.interval)
            .field("holding", &state.timer_armed)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const INTERVAL: Duration = Duration::from_millis(500);

    /// Every delivery with the (paused) clock's instant.
    type Log = Arc<Mutex<Vec<(Instant, u32)>>>;

    fn recording(interval: Duration) -> (Coalescer<u32>, Log) {
        let log: Log = Arc::default();
        let coalescer = Coalescer::new(interval, {
            let log = Arc::clone(&log);
            move |value| log.lock().expect("log").push((Instant::now(), value))
        });
        (coalescer, log)
    }

    fn values(log: &Log) -> Vec<u32> {
        log.lock().expect("log").iter().map(|(_, v)| *v).collect()
    }

    /// Sleeps (on the paused clock) until just after `interval` from now,
    /// so a timer due at `interval` has fired.
    async fn sleep_past(interval: Duration) {
        tokio::time::sleep(interval + Duration::from_millis(1)).await;
    }

    fn alive_tasks() -> usize {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_change_is_delivered_at_once_without_a_timer() {
        let (coalescer, log) = recording(INTERVAL);
        coalescer.publish(1);
        assert_eq!(values(&log), [1]);
        assert!(!coalescer.is_holding());
        assert_eq!(alive_tasks(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_is_delivered_once_more_with_the_last_value() {
        let (coalescer, log) = recording(INTERVAL);
        let start = Instant::now();
        for value in 1..=1000 {
            coalescer.publish(value);
        }
        assert_eq!(values(&log), [1], "the rest waits for the interval");
        assert!(coalescer.is_holding());
        tokio::time::sleep(INTERVAL * 10).await;
        assert_eq!(values(&log), [1, 1000]);
        let log = log.lock().expect("log").clone();
        assert_eq!(log[1].0 - start, INTERVAL);
        assert!(!coalescer.is_holding());
        assert_eq!(alive_tasks(), 0, "no timer after the last delivery");
    }

    #[tokio::test(start_paused = true)]
    async fn steady_changes_are_delivered_once_per_interval() {
        let (coalescer, log) = recording(INTERVAL);
        let start = Instant::now();
        // 20 changes per interval, for 10 intervals.
        for value in 1..=200 {
            coalescer.publish(value);
            tokio::time::sleep(INTERVAL / 20).await;
        }
        let changes_end = Instant::now();
        tokio::time::sleep(INTERVAL * 3).await;
        let log = log.lock().expect("log").clone();
        for pair in log.windows(2) {
            assert!(pair[1].0 - pair[0].0 >= INTERVAL, "{log:?}");
        }
        // One per interval over the 10 intervals, plus the last one.
        assert!(log.len() <= 11, "{} deliveries: {log:?}", log.len());
        assert!(log.len() >= 10, "{} deliveries: {log:?}", log.len());
        assert_eq!(log.last().map(|(_, v)| *v), Some(200), "final state lost");
        assert!(log
            .last()
            .is_some_and(|(at, _)| *at <= changes_end + INTERVAL));
        assert!(log[0].0 == start);
        assert!(!coalescer.is_holding());
        assert_eq!(alive_tasks(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_quiet_interval_the_next_change_is_delivered_at_once() {
        let (coalescer, log) = recording(INTERVAL);
        coalescer.publish(1);
        coalescer.publish(2);
        sleep_past(INTERVAL).await;
        assert_eq!(values(&log), [1, 2]);
        tokio::time::sleep(INTERVAL * 2).await;
        coalescer.publish(3);
        assert_eq!(values(&log), [1, 2, 3]);
        assert!(!coalescer.is_holding());
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_runs_while_nothing_changes() {
        let (coalescer, log) = recording(INTERVAL);
        coalescer.publish(1);
        coalescer.publish(2);
        tokio::time::sleep(INTERVAL * 2).await;
        assert_eq!(alive_tasks(), 0);
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert_eq!(values(&log), [1, 2], "no delivery without a change");
        assert_eq!(alive_tasks(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_held_value_is_delivered_even_if_the_coalescer_is_dropped() {
        let (coalescer, log) = recording(INTERVAL);
        coalescer.publish(1);
        coalescer.publish(2);
        drop(coalescer);
        sleep_past(INTERVAL).await;
        assert_eq!(values(&log), [1, 2]);
    }

    #[test]
    fn a_runtime_shutting_down_delivers_the_held_value() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime");
        let (coalescer, log) = recording(INTERVAL);
        runtime.block_on(async {
            coalescer.publish(1);
            coalescer.publish(2);
        });
        assert!(coalescer.is_holding());
        drop(runtime);
        assert_eq!(values(&log), [1, 2]);
        assert!(!coalescer.is_holding());
    }

    /// A view dropped while its runtime shuts down publishes from inside
    /// the shutdown, where a spawned task is dropped as soon as it is
    /// spawned (found by the chat example's tests, which hung there).
    #[test]
    fn publishing_while_the_runtime_shuts_down_delivers_and_does_not_deadlock() {
        struct PublishOnDrop(Arc<Coalescer<u32>>);
        impl Drop for PublishOnDrop {
            fn drop(&mut self) {
                self.0.publish(2);
                self.0.publish(3);
            }
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime");
        let (coalescer, log) = recording(INTERVAL);
        let coalescer = Arc::new(coalescer);
        runtime.block_on(async { coalescer.publish(1) });
        let guard = PublishOnDrop(Arc::clone(&coalescer));
        runtime.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        });
        drop(runtime);
        assert_eq!(values(&log), [1, 2, 3]);
        assert!(!coalescer.is_holding());
    }

    #[test]
    fn without_a_runtime_every_change_is_delivered_at_once() {
        let (coalescer, log) = recording(INTERVAL);
        for value in 1..=5 {
            coalescer.publish(value);
        }
        assert_eq!(values(&log), [1, 2, 3, 4, 5]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_interval_delivers_every_change() {
        let (coalescer, log) = recording(Duration::ZERO);
        for value in 1..=5 {
            coalescer.publish(value);
        }
        assert_eq!(values(&log), [1, 2, 3, 4, 5]);
        assert_eq!(alive_tasks(), 0);
    }

    #[test]
    fn racing_publishers_end_on_the_latest_state() {
        let count = Arc::new(AtomicUsize::new(0));
        let last = Arc::new(AtomicUsize::new(usize::MAX));
        let coalescer = Arc::new(Coalescer::new(INTERVAL, {
            let last = Arc::clone(&last);
            move |value| last.store(value, Ordering::SeqCst)
        }));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let count = Arc::clone(&count);
                let coalescer = Arc::clone(&coalescer);
                std::thread::spawn(move || {
                    for _ in 0..500 {
                        count.fetch_add(1, Ordering::SeqCst);
                        coalescer.publish_with(|| count.load(Ordering::SeqCst));
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread");
        }
        assert_eq!(last.load(Ordering::SeqCst), 8 * 500);
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_callback_does_not_wedge_the_coalescer() {
        let delivered = Arc::new(AtomicUsize::new(0));
        let coalescer = Arc::new(Coalescer::new(INTERVAL, {
            let delivered = Arc::clone(&delivered);
            move |value: u32| {
                if value == 2 {
                    panic!("callback failed");
                }
                delivered.store(value as usize, Ordering::SeqCst);
            }
        }));
        coalescer.publish(1);
        coalescer.publish(2);
        // The timer task panics delivering 2; the runtime survives it.
        tokio::time::sleep(INTERVAL * 2).await;
        assert!(!coalescer.is_holding());
        coalescer.publish(3);
        assert_eq!(delivered.load(Ordering::SeqCst), 3);
    }
}
