//! `djust-stress hash-memory --mode fresh|pooled`: the memory cost of
//! concurrent failed logins, password hashing alone (issue 23, finding 2:
//! "measure both").
//!
//! `--threads` threads each check a wrong password against a hash of the
//! default cost (argon2id, m = 19 MiB), in `--waves` waves, as a server
//! hashing on `spawn_blocking` without a limit would. The process's RSS is
//! read before, sampled every 20 ms during, and read 1 s after.
//!
//! * `fresh`: argon2's own `verify_password`, which allocates its 19 MiB per
//!   hash (the code before issue 23). Run it with
//!   `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072` to make glibc
//!   serve those blocks with `mmap` and give them back on free ("make sure
//!   large blocks go back to the OS").
//! * `pooled`: djust's `verify_password`, hashing in reused working memory
//!   (one buffer per core, a hash waits for a free one).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::Argon2;
use serde_json::json;

use crate::probe::rss_kib;

/// Runs the measurement and prints one JSON line.
pub fn run(mode: &str, threads: usize, waves: usize) -> Result<(), String> {
    let pooled = match mode {
        "pooled" => true,
        "fresh" => false,
        other => return Err(format!("unknown --mode {other}: fresh or pooled")),
    };
    let salt = SaltString::encode_b64(b"djust-stress-salt").map_err(|e| e.to_string())?;
    // Hashed with argon2 directly, so the pooled buffer does not exist yet
    // when the measurement starts.
    let phc = Argon2::default()
        .hash_password(b"the right password", &salt)
        .map_err(|error| error.to_string())?
        .to_string();
    let pid = std::process::id();
    let before = rss_kib(pid).unwrap_or(0);
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (Arc::clone(&peak), Arc::clone(&done));
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid).unwrap_or(0), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let started = std::time::Instant::now();
    for _ in 0..waves {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let phc = phc.clone();
                std::thread::spawn(move || {
                    if pooled {
                        djust::runtime::auth::verify_password("a wrong password", &phc)
                    } else {
                        PasswordHash::new(&phc).is_ok_and(|parsed| {
                            Argon2::default()
                                .verify_password(b"a wrong password", &parsed)
                                .is_ok()
                        })
                    }
                })
            })
            .collect();
        for worker in workers {
            if worker.join().unwrap_or(true) {
                return Err("a wrong password verified".to_owned());
            }
        }
    }
    let elapsed = started.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let after = rss_kib(pid).unwrap_or(0);
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    println!(
        "{}",
        json!({
            "mode": mode,
            "glibc_tunables": tunables,
            "threads": threads,
            "waves": waves,
            "hashes": threads * waves,
            "seconds": elapsed.as_secs_f64(),
            "rss_before_kib": before,
            "rss_peak_kib": peak.load(Ordering::Relaxed),
            "rss_after_kib": after,
        })
    );
    Ok(())
}
