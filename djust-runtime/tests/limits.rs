//! Integration tests for `djust_runtime::limits`: token buckets, the per-key
//! handler limiter, per-IP slots and cooldowns, client IP selection and the
//! warning counter. Time is always injected; nothing sleeps.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use djust_runtime::limits::{
    client_ip, handler_key, Clock, HandlerRateLimiter, IpRefusal, IpTracker, IpTrackerConfig,
    ManualClock, MemoryRateLimiter, RateLimit, RateSubject, RateWarnings, TokenBucket,
    WarningOutcome, CLOSE_RATE_LIMITED, DEFAULT_BURST, DEFAULT_RATE_PER_SECOND,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn drain(bucket: &mut TokenBucket, now: Instant) -> usize {
    (0..10_000)
        .take_while(|_| bucket.try_acquire_at(now))
        .count()
}

// ---------------------------------------------------------------- TokenBucket

#[test]
fn bucket_starts_full_then_refuses_after_burst() {
    let t0 = Instant::now();
    let mut bucket = TokenBucket::new_at(100.0, 20, t0);
    for i in 0..20 {
        assert!(bucket.try_acquire_at(t0), "token {i} of the burst refused");
    }
    assert!(
        !bucket.try_acquire_at(t0),
        "21st event in the same instant allowed"
    );
}

#[test]
fn bucket_refills_continuously_at_rate() {
    let t0 = Instant::now();
    let mut bucket = TokenBucket::new_at(10.0, 5, t0);
    assert_eq!(drain(&mut bucket, t0), 5);
    // 10/s: one token every 100 ms, continuously.
    assert!(
        !bucket.try_acquire_at(t0 + ms(50)),
        "half a token is not a token"
    );
    assert!(
        bucket.try_acquire_at(t0 + ms(100)),
        "a whole token after 100 ms"
    );
    assert!(!bucket.try_acquire_at(t0 + ms(100)));
    // 250 ms later: 2.5 tokens -> 2 events, and the half token is kept.
    assert_eq!(drain(&mut bucket, t0 + ms(350)), 2);
    assert!(
        bucket.try_acquire_at(t0 + ms(400)),
        "the kept half token plus 50 ms"
    );
}

#[test]
fn bucket_refill_is_capped_at_burst() {
    let t0 = Instant::now();
    let mut bucket = TokenBucket::new_at(10.0, 5, t0);
    assert_eq!(drain(&mut bucket, t0), 5);
    // An hour idle gives back only `burst` tokens.
    assert_eq!(drain(&mut bucket, t0 + Duration::from_secs(3600)), 5);
}

#[test]
fn bucket_defaults_match_design_section_6() {
    assert_eq!(DEFAULT_RATE_PER_SECOND, 100.0);
    assert_eq!(DEFAULT_BURST, 20);
    let limit = RateLimit::default();
    assert_eq!((limit.rate, limit.burst), (100.0, 20));
    let bucket = TokenBucket::default();
    assert_eq!((bucket.rate(), bucket.burst()), (100.0, 20));
    let t0 = Instant::now();
    let mut bucket = TokenBucket::from_limit_at(limit, t0);
    assert_eq!(drain(&mut bucket, t0), 20);
    // 100/s: 10 ms gives exactly one token back.
    assert_eq!(drain(&mut bucket, t0 + ms(10)), 1);
}

#[test]
fn bucket_survives_time_going_backwards_without_refilling() {
    let t0 = Instant::now() + Duration::from_secs(10);
    let mut bucket = TokenBucket::new_at(1000.0, 2, t0);
    assert_eq!(drain(&mut bucket, t0), 2);
    assert!(!bucket.try_acquire_at(t0 - Duration::from_secs(5)));
    assert!(
        !bucket.try_acquire_at(t0),
        "going back and forth must not mint tokens"
    );
}

#[test]
fn bucket_bad_settings_fail_closed() {
    let t0 = Instant::now();
    let mut zero_burst = TokenBucket::new_at(100.0, 0, t0);
    assert!(!zero_burst.try_acquire_at(t0 + Duration::from_secs(60)));
    for rate in [f64::NAN, f64::INFINITY, -5.0, 0.0] {
        let mut bucket = TokenBucket::new_at(rate, 1, t0);
        assert!(
            bucket.try_acquire_at(t0),
            "starts full even with rate {rate}"
        );
        assert!(
            !bucket.try_acquire_at(t0 + Duration::from_secs(3600)),
            "rate {rate} must not refill"
        );
    }
}

// ---------------------------------------------------------- MemoryRateLimiter

#[test]
fn handler_limiter_key_is_shared_across_connections_and_keys_are_independent() {
    let limiter = MemoryRateLimiter::new(100);
    let t0 = Instant::now();
    let key = handler_key("contacts", "search", RateSubject::User("42"));
    assert_eq!(key, "contacts:search:user:42");
    // Three "connections" of user 42 share one bucket of burst 3.
    assert!(limiter.check_at(&key, 5.0, 3, t0));
    assert!(limiter.check_at(&key, 5.0, 3, t0));
    assert!(limiter.check_at(&key, 5.0, 3, t0));
    assert!(!limiter.check_at(&key, 5.0, 3, t0));
    // Another user, or the same user on another handler, is unaffected.
    let other = handler_key("contacts", "search", RateSubject::User("43"));
    assert!(limiter.check_at(&other, 5.0, 3, t0));
    let session = handler_key("contacts", "search", RateSubject::Session("42"));
    assert_ne!(
        session, key,
        "user 42 and session 42 must not share a bucket"
    );
    assert!(limiter.check_at(&session, 5.0, 3, t0));
    // 5/s: 200 ms later user 42 gets one more.
    assert!(limiter.check_at(&key, 5.0, 3, t0 + ms(200)));
    assert!(!limiter.check_at(&key, 5.0, 3, t0 + ms(200)));
}

#[test]
fn handler_key_for_ip_subject() {
    let ip = IpAddr::V6(Ipv6Addr::LOCALHOST);
    assert_eq!(handler_key("v", "h", RateSubject::Ip(ip)), "v:h:ip:::1");
}

#[test]
fn handler_limiter_evicts_least_recently_used_key() {
    let limiter = MemoryRateLimiter::new(3);
    let t0 = Instant::now();
    // Drain "a" so we can tell whether its bucket survived.
    assert!(limiter.check_at("a", 1.0, 1, t0));
    assert!(limiter.check_at("b", 1.0, 1, t0));
    assert!(limiter.check_at("c", 1.0, 1, t0));
    // Touch "a": now "b" is the least recently used.
    assert!(!limiter.check_at("a", 1.0, 1, t0));
    assert!(limiter.check_at("d", 1.0, 1, t0));
    assert_eq!(limiter.len(), 3);
    assert!(!limiter.contains("b"), "LRU key b should be evicted");
    assert!(limiter.contains("a") && limiter.contains("c") && limiter.contains("d"));
    // "a" kept its drained bucket (it was not evicted and re-created full).
    assert!(!limiter.check_at("a", 1.0, 1, t0));
}

#[test]
fn handler_limiter_memory_is_bounded_under_key_flood() {
    let limiter = MemoryRateLimiter::new(1000);
    assert_eq!(limiter.capacity(), 1000);
    let t0 = Instant::now();
    for i in 0..20_000 {
        limiter.check_at(&format!("flood:{i}"), 1.0, 1, t0);
        assert!(limiter.len() <= 1000);
    }
    assert_eq!(limiter.len(), 1000);
    assert!(limiter.contains("flood:19999"));
    assert!(!limiter.contains("flood:0"));
    assert!(
        MemoryRateLimiter::new(0).capacity() >= 1,
        "capacity 0 is clamped"
    );
}

#[test]
fn handler_limiter_follows_changed_settings() {
    let limiter = MemoryRateLimiter::new(10);
    let t0 = Instant::now();
    assert_eq!(
        (0..10)
            .filter(|_| limiter.check_at("k", 1.0, 5, t0))
            .count(),
        5
    );
    // Burst lowered to 1 and a long pause: at most 1 token now.
    let later = t0 + Duration::from_secs(60);
    assert_eq!(
        (0..10)
            .filter(|_| limiter.check_at("k", 1.0, 1, later))
            .count(),
        1
    );
}

#[tokio::test]
async fn handler_limiter_works_as_trait_object_with_injected_clock() {
    let clock = Arc::new(ManualClock::default());
    let limiter: Arc<dyn HandlerRateLimiter> =
        Arc::new(MemoryRateLimiter::with_clock(16, clock.clone()));
    assert!(limiter.check("k", 2.0, 2).await);
    assert!(limiter.check("k", 2.0, 2).await);
    assert!(!limiter.check("k", 2.0, 2).await);
    clock.advance(ms(499));
    assert!(!limiter.check("k", 2.0, 2).await);
    clock.advance(ms(1));
    assert!(limiter.check("k", 2.0, 2).await);
}

// ------------------------------------------------------------------ IpTracker

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(203, 0, 113, last))
}

fn make_tracker(max_per_ip: u32, clock: Arc<ManualClock>) -> IpTracker {
    IpTracker::with_clock(
        IpTrackerConfig {
            max_per_ip,
            ..IpTrackerConfig::default()
        },
        clock,
    )
}

#[test]
fn ip_defaults_match_design_section_6() {
    let config = IpTrackerConfig::default();
    assert_eq!(config.max_per_ip, 10);
    assert_eq!(config.cooldown, Duration::from_secs(5));
    let tracker = IpTracker::default();
    let slots: Vec<_> = (0..10).map(|_| tracker.try_acquire(v4(1))).collect();
    assert!(slots.iter().all(Result::is_ok));
    assert_eq!(
        tracker.try_acquire(v4(1)).err(),
        Some(IpRefusal::TooManyConnections)
    );
}

#[test]
fn ip_limit_refuses_beyond_max_and_dropping_a_slot_frees_one() {
    let tracker = make_tracker(3, Arc::new(ManualClock::default()));
    let ip = v4(1);
    let mut slots: Vec<_> = (0..3)
        .filter_map(|_| tracker.try_acquire(ip).ok())
        .collect();
    assert_eq!(slots.len(), 3);
    assert_eq!(tracker.connections(ip), 3);
    assert_eq!(
        tracker.try_acquire(ip).err(),
        Some(IpRefusal::TooManyConnections)
    );
    drop(slots.pop());
    assert_eq!(tracker.connections(ip), 2);
    assert!(tracker.try_acquire(ip).is_ok(), "a freed slot is reusable");
}

#[test]
fn refused_acquisitions_never_free_slots() {
    // Refusals alone, without the cooldown they would start.
    let tracker = IpTracker::with_clock(
        IpTrackerConfig {
            max_per_ip: 2,
            refusals_before_cooldown: 0,
            ..IpTrackerConfig::default()
        },
        Arc::new(ManualClock::default()),
    );
    let ip = v4(2);
    let held: Vec<_> = (0..2)
        .filter_map(|_| tracker.try_acquire(ip).ok())
        .collect();
    assert_eq!(held.len(), 2);
    // A flood of refused sockets, each dropping whatever it got.
    for _ in 0..1000 {
        let refused = tracker.try_acquire(ip);
        assert_eq!(refused.err(), Some(IpRefusal::TooManyConnections));
    }
    assert_eq!(
        tracker.connections(ip),
        2,
        "refusals must not decrement the count"
    );
    assert!(tracker.try_acquire(ip).is_err());
    drop(held);
    assert_eq!(tracker.connections(ip), 0);
}

#[test]
fn a_slot_frees_only_its_own_ip() {
    let tracker = make_tracker(1, Arc::new(ManualClock::default()));
    let a = tracker.try_acquire(v4(1));
    let b = tracker.try_acquire(v4(2));
    assert!(a.is_ok() && b.is_ok());
    drop(a);
    assert_eq!(tracker.connections(v4(1)), 0);
    assert_eq!(
        tracker.connections(v4(2)),
        1,
        "dropping A's slot must not free B's"
    );
    assert!(tracker.try_acquire(v4(2)).is_err());
}

#[test]
fn slot_can_be_dropped_on_another_thread() {
    let tracker = make_tracker(1, Arc::new(ManualClock::default()));
    let slot = tracker.try_acquire(v4(3));
    let handle = std::thread::spawn(move || drop(slot));
    assert!(handle.join().is_ok());
    assert_eq!(tracker.connections(v4(3)), 0);
}

#[test]
fn cooldown_refuses_until_it_ends_and_keeps_existing_slots() {
    let clock = Arc::new(ManualClock::default());
    let tracker = make_tracker(10, clock.clone());
    let ip = v4(4);
    let existing = tracker.try_acquire(ip);
    assert!(existing.is_ok());
    let t0 = clock.now();
    tracker.start_cooldown_at(ip, t0);
    assert_eq!(
        tracker.try_acquire_at(ip, t0).err(),
        Some(IpRefusal::CoolingDown)
    );
    assert_eq!(
        tracker.try_acquire_at(ip, t0 + ms(4999)).err(),
        Some(IpRefusal::CoolingDown)
    );
    assert_eq!(
        tracker.connections(ip),
        1,
        "cooldown does not touch open slots"
    );
    assert!(tracker.is_cooling_down_at(ip, t0 + ms(4999)));
    assert!(!tracker.is_cooling_down_at(ip, t0 + ms(5000)));
    let after = tracker.try_acquire_at(ip, t0 + ms(5000));
    assert!(after.is_ok(), "cooldown is over after 5 s");
    // Other addresses were never affected.
    assert!(tracker.try_acquire_at(v4(5), t0).is_ok());
}

#[test]
fn cooldown_uses_injected_clock() {
    let clock = Arc::new(ManualClock::default());
    let tracker = make_tracker(10, clock.clone());
    tracker.start_cooldown(v4(6));
    assert_eq!(
        tracker.try_acquire(v4(6)).err(),
        Some(IpRefusal::CoolingDown)
    );
    clock.advance(Duration::from_secs(5));
    assert!(tracker.try_acquire(v4(6)).is_ok());
}

#[test]
fn idle_entries_are_removed_so_the_map_does_not_grow() {
    let clock = Arc::new(ManualClock::default());
    let tracker = make_tracker(10, clock.clone());
    for last in 0..=255 {
        let slot = tracker.try_acquire(v4(last));
        assert!(slot.is_ok());
    }
    assert_eq!(
        tracker.tracked(),
        0,
        "entries with no slot and no cooldown are dropped"
    );
    for last in 0..=255 {
        tracker.start_cooldown(v4(last));
    }
    assert_eq!(tracker.tracked(), 256);
    clock.advance(Duration::from_secs(5));
    tracker.purge_at(clock.now());
    assert_eq!(tracker.tracked(), 0, "finished cooldowns are swept");
    // A refusal for a cooling address does not leave a new entry either.
    let zero = make_tracker(0, clock.clone());
    assert_eq!(
        zero.try_acquire(v4(1)).err(),
        Some(IpRefusal::TooManyConnections)
    );
    assert_eq!(zero.tracked(), 0);
}

#[test]
fn ipv6_is_grouped_by_64_and_mapped_ipv4_counts_as_ipv4() {
    let tracker = make_tracker(1, Arc::new(ManualClock::default()));
    let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
    let same_64: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:ffff".parse().unwrap();
    let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
    let slot = tracker.try_acquire(a);
    assert!(slot.is_ok());
    assert_eq!(
        tracker.try_acquire(same_64).err(),
        Some(IpRefusal::TooManyConnections),
        "rotating the interface id inside one /64 must not bypass the limit"
    );
    assert!(tracker.try_acquire(other_64).is_ok());

    let v4_slot = tracker.try_acquire(v4(9));
    assert!(v4_slot.is_ok());
    let mapped: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
    assert_eq!(
        tracker.try_acquire(mapped).err(),
        Some(IpRefusal::TooManyConnections)
    );
}

#[test]
fn exact_ipv6_counting_is_configurable() {
    let tracker = IpTracker::with_clock(
        IpTrackerConfig {
            max_per_ip: 1,
            ipv6_prefix_len: 128,
            ..IpTrackerConfig::default()
        },
        Arc::new(ManualClock::default()),
    );
    let a = tracker.try_acquire("2001:db8::1".parse().unwrap());
    let b = tracker.try_acquire("2001:db8::2".parse().unwrap());
    assert!(a.is_ok() && b.is_ok());
}

// ------------------------------------------------------------------ client_ip

fn remote() -> SocketAddr {
    "198.51.100.7:40000".parse().unwrap()
}

fn peer() -> IpAddr {
    remote().ip()
}

#[test]
fn client_ip_ignores_header_without_trusted_proxies() {
    assert_eq!(client_ip(remote(), Some("1.2.3.4"), 0), peer());
    assert_eq!(client_ip(remote(), None, 0), peer());
}

#[test]
fn client_ip_takes_nth_from_the_right_so_spoofed_left_entries_are_ignored() {
    // Client sends "6.6.6.6"; our one proxy appends the real client 1.1.1.1.
    assert_eq!(
        client_ip(remote(), Some("6.6.6.6, 1.1.1.1"), 1),
        "1.1.1.1".parse::<IpAddr>().unwrap()
    );
    // Two trusted proxies: the rightmost entry is proxy 1's address.
    assert_eq!(
        client_ip(remote(), Some("6.6.6.6,7.7.7.7 ,  2.2.2.2 , 10.0.0.1"), 2),
        "2.2.2.2".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn client_ip_falls_back_to_peer_on_garbage_or_missing_entries() {
    for header in [
        "",
        " ",
        ",",
        "not-an-ip",
        "1.2.3.4, <script>",
        "1.2.3.4, 999.1.1.1",
        "1.2.3.4,",
        "1.2.3.4, 1.2.3.4.5",
        "unknown",
        "\u{0}\r\n",
    ] {
        assert_eq!(
            client_ip(remote(), Some(header), 1),
            peer(),
            "header {header:?}"
        );
    }
    assert_eq!(client_ip(remote(), None, 1), peer(), "missing header");
    // Too few entries for the configured proxy count.
    assert_eq!(client_ip(remote(), Some("1.1.1.1, 2.2.2.2"), 3), peer());
    assert_eq!(client_ip(remote(), Some("1.1.1.1"), usize::MAX), peer());
}

#[test]
fn client_ip_handles_ipv6_ports_and_brackets() {
    let v6: IpAddr = "2001:db8::9".parse().unwrap();
    assert_eq!(client_ip(remote(), Some("2001:db8::9"), 1), v6);
    assert_eq!(client_ip(remote(), Some("[2001:db8::9]"), 1), v6);
    assert_eq!(client_ip(remote(), Some("[2001:db8::9]:443"), 1), v6);
    assert_eq!(
        client_ip(remote(), Some("1.2.3.4:5678"), 1),
        "1.2.3.4".parse::<IpAddr>().unwrap()
    );
    assert_eq!(
        client_ip(remote(), Some("::ffff:1.2.3.4"), 1),
        "1.2.3.4".parse::<IpAddr>().unwrap(),
        "mapped addresses are normalised to IPv4"
    );
    let mapped_peer: SocketAddr = "[::ffff:198.51.100.7]:1".parse().unwrap();
    assert_eq!(client_ip(mapped_peer, None, 0), peer());
}

#[test]
fn client_ip_survives_a_10_kb_header() {
    let mut header = "9.9.9.9, ".repeat(1200);
    header.push_str("4.4.4.4");
    assert!(header.len() > 10_000);
    assert_eq!(
        client_ip(remote(), Some(&header), 1),
        "4.4.4.4".parse::<IpAddr>().unwrap()
    );
    let garbage = "x".repeat(10_240);
    assert_eq!(client_ip(remote(), Some(&garbage), 1), peer());
    let commas = ",".repeat(10_240);
    assert_eq!(client_ip(remote(), Some(&commas), 5000), peer());
}

// --------------------------------------------------------------- RateWarnings

#[test]
fn third_warning_closes_with_4429() {
    assert_eq!(CLOSE_RATE_LIMITED, 4429);
    let mut warnings = RateWarnings::default();
    assert_eq!(warnings.max, 3);
    assert_eq!(warnings.record(), WarningOutcome::Warn(1));
    assert_eq!(warnings.record(), WarningOutcome::Warn(2));
    assert_eq!(warnings.record(), WarningOutcome::Close);
    assert_eq!(warnings.record(), WarningOutcome::Close, "stays closed");
    assert_eq!(warnings.count(), 4);
    assert_eq!(RateWarnings::new(1).record(), WarningOutcome::Close);
    assert_eq!(RateWarnings::new(0).record(), WarningOutcome::Close);
}

// ---------------------------------------------------------------------- Clock

#[test]
fn manual_clock_moves_both_readings_only_when_advanced() {
    let clock = ManualClock::new(1_000);
    let start = clock.now();
    assert_eq!(clock.now(), start);
    clock.advance(Duration::from_secs(90));
    assert_eq!(clock.now() - start, Duration::from_secs(90));
    assert_eq!(clock.unix_secs(), 1_090);
}

/// An address at its limit that keeps trying is put into cooldown after
/// `refusals_before_cooldown` refusals: it is refused as cooling down even
/// once a slot is free, until the cooldown ends. An accepted connection
/// resets the count.
#[test]
fn repeated_refusals_start_a_cooldown() {
    let clock = Arc::new(ManualClock::default());
    let tracker = IpTracker::with_clock(
        IpTrackerConfig {
            max_per_ip: 1,
            refusals_before_cooldown: 3,
            cooldown: Duration::from_secs(5),
            ..IpTrackerConfig::default()
        },
        clock.clone(),
    );
    let ip = v4(9);
    let held = tracker.try_acquire(ip).expect("first");
    for _ in 0..2 {
        assert_eq!(
            tracker.try_acquire(ip).err(),
            Some(IpRefusal::TooManyConnections)
        );
    }
    drop(held);
    // The count restarts after an accepted connection.
    let held = tracker.try_acquire(ip).expect("free again");
    for _ in 0..2 {
        assert_eq!(
            tracker.try_acquire(ip).err(),
            Some(IpRefusal::TooManyConnections)
        );
    }
    assert_eq!(
        tracker.try_acquire(ip).err(),
        Some(IpRefusal::TooManyConnections)
    );
    drop(held);
    assert_eq!(tracker.try_acquire(ip).err(), Some(IpRefusal::CoolingDown));
    assert_eq!(tracker.connections(ip), 0, "refusals hold no slot");
    clock.advance(Duration::from_secs(5));
    assert!(tracker.try_acquire(ip).is_ok(), "the cooldown ends");
    // Another address is never affected.
    assert!(tracker.try_acquire(v4(10)).is_ok());
}
