//! Integration tests for `djust_runtime::auth` and `djust_runtime::session`:
//! signing, mount tokens, cookies, users, passwords, CSRF, redirects,
//! sessions (fixation, expiry, bounds) and tenant isolation. Every token test
//! feeds real hostile input; time is injected, nothing sleeps.

// Tests may unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use djust_runtime::auth::{
    constant_time_eq, csrf, generate_token, hash_password, hash_password_with, is_valid_permission,
    safe_next_path, verify_password, verify_password_or_dummy, AuthBackend, Identity, KeyError,
    MemoryAuthBackend, MountToken, PasswordError, PasswordParams, SecretKey, Signer, TokenError,
    User, CLOCK_SKEW_SECS, DEFAULT_MOUNT_TOKEN_TTL_SECS, MAX_PASSWORD_BYTES,
};
use djust_runtime::limits::ManualClock;
use djust_runtime::session::{
    clear_cookie_header, cookie_value, login, logout, set_cookie_header, tenant_key, CookieError,
    CookieOptions, KeyValueStore, LoginError, MemoryKeyValueStore, MemorySessionStore,
    SessionConfig, SessionCookie, SessionStore, TenantError, TenantScopedStore,
};

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef-test-key";
const OTHER_KEY: &[u8] = b"ffffffffffffffffffffffffffffffff-other-key";
const NOW: u64 = 1_700_000_000;

/// Fast argon2 parameters for tests only (the default is OWASP's).
const FAST: PasswordParams = PasswordParams {
    m_cost_kib: 64,
    t_cost: 1,
    p_cost: 1,
};

fn signer() -> Signer {
    Signer::new(KEY).unwrap()
}

fn other_signer() -> Signer {
    Signer::new(OTHER_KEY).unwrap()
}

/// Hostile variants of a valid token: every one must be refused.
fn hostile_variants(token: &str) -> Vec<String> {
    let mut out = vec![
        String::new(),
        ".".into(),
        "..".into(),
        "a.".into(),
        ".a".into(),
        "a.b.c".into(),
        format!("{token}."),
        format!(".{token}"),
        format!("{token}="),
        format!("{token}=="),
        format!("{token} "),
        format!(" {token}"),
        format!("{token}\n"),
        token.replace('.', ""),
        token.replace('.', ".."),
        token.replace('.', "%2E"),
        format!("{token}.{token}"),
        "A".repeat(100 * 1024),
        format!("{}.{}", "A".repeat(60 * 1024), "B".repeat(60 * 1024)),
        format!("{}.AAAA", "A".repeat(100 * 1024)),
        "!!!!.????".into(),
        "é.ü".into(),
        "\u{0}.\u{0}".into(),
        "<script>alert(1)</script>".into(),
    ];
    // Every strict prefix (truncation) and every single-character substitution.
    for end in 0..token.len() {
        out.push(token[..end].to_owned());
    }
    for index in 0..token.len() {
        let mut bytes = token.as_bytes().to_vec();
        if bytes[index] == b'.' {
            continue;
        }
        bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
        out.push(String::from_utf8(bytes).unwrap());
    }
    out
}

// ------------------------------------------------------------------- Signer

#[test]
fn short_keys_are_refused_with_a_clear_error() {
    let err = Signer::new(&[7_u8; 31]).unwrap_err();
    assert_eq!(err, KeyError::TooShort { len: 31, min: 32 });
    let message = err.to_string();
    assert!(
        message.contains("31") && message.contains("32"),
        "{message}"
    );
    assert!(Signer::new(b"").is_err());
    assert!(SecretKey::new(vec![0_u8; 32]).is_ok());
}

#[test]
fn secret_key_debug_never_shows_the_bytes() {
    let key = SecretKey::new(b"TOP-SECRET-KEY-MATERIAL-0123456789".to_vec()).unwrap();
    let shown = format!("{key:?} {:?}", Signer::from_key(&key));
    assert!(!shown.contains("TOP-SECRET"), "{shown}");
    assert!(!shown.contains("84, 79, 80"), "{shown}"); // "TOP" as bytes
    let generated = SecretKey::generate();
    assert!(generated.len() >= 32);
    assert_ne!(format!("{generated:?}"), "");
    // Two generated keys differ: a token of one is refused by the other.
    let a = Signer::from_key(&SecretKey::generate());
    let b = Signer::from_key(&SecretKey::generate());
    assert!(b.verify(&a.sign(b"x")).is_none());
}

#[test]
fn sign_verify_round_trip() {
    let signer = signer();
    for payload in [&b""[..], b"hello", b"\x00\xff\x10binary", &[b'x'; 5000]] {
        let token = signer.sign(payload);
        assert_eq!(token.matches('.').count(), 1);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'));
        assert_eq!(signer.verify(&token).as_deref(), Some(payload));
    }
}

#[test]
fn tampered_truncated_and_garbage_tokens_are_refused() {
    let signer = signer();
    let token = signer.sign(b"{\"user\":\"42\"}");
    for bad in hostile_variants(&token) {
        assert!(
            signer.verify(&bad).is_none(),
            "accepted {:?}",
            truncate(&bad)
        );
    }
}

#[test]
fn other_key_and_other_purpose_are_refused() {
    let token = signer().sign(b"payload");
    assert_eq!(other_signer().open(&token), Err(TokenError::BadSignature));
    let derived = signer().derive("mount-token");
    assert!(derived.verify(&token).is_none());
    assert!(signer().verify(&derived.sign(b"payload")).is_none());
    assert!(signer()
        .derive("a")
        .verify(&signer().derive("b").sign(b"p"))
        .is_none());
}

#[test]
fn open_distinguishes_malformed_from_bad_signature() {
    let signer = signer();
    assert_eq!(signer.open("no-dot"), Err(TokenError::Malformed));
    assert_eq!(signer.open("a$.b"), Err(TokenError::Malformed));
    assert_eq!(
        signer.open(&"A".repeat(100 * 1024)),
        Err(TokenError::Malformed)
    );
    let token = signer.sign(b"x");
    let (payload, _) = token.split_once('.').unwrap();
    let forged = format!("{payload}.{}", "A".repeat(43));
    assert_eq!(signer.open(&forged), Err(TokenError::BadSignature));
    // A short (truncated) but well-formed tag.
    assert_eq!(
        signer.open(&format!("{payload}.AAAA")),
        Err(TokenError::BadSignature)
    );
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

// --------------------------------------------------------------- MountToken

fn mount() -> MountToken {
    MountToken::new("contacts", "sess-abc", Some("42".into()), NOW)
}

#[test]
fn mount_token_round_trip_and_match() {
    assert_eq!(DEFAULT_MOUNT_TOKEN_TTL_SECS, 3600);
    let token = mount().encode(&signer());
    let decoded = MountToken::decode(&signer(), &token, NOW + 10, 3600).unwrap();
    assert_eq!(
        (decoded.view.as_str(), decoded.issued_at),
        ("contacts", NOW)
    );
    assert!(decoded.matches("contacts", "sess-abc", Some("42")));
    assert!(
        !decoded.matches("admin", "sess-abc", Some("42")),
        "other view"
    );
    assert!(
        !decoded.matches("contacts", "sess-abd", Some("42")),
        "other session"
    );
    assert!(
        !decoded.matches("contacts", "sess-abc", Some("43")),
        "other user"
    );
    assert!(
        !decoded.matches("contacts", "sess-abc", None),
        "user vs anonymous"
    );
    let anonymous = MountToken::new("contacts", "s", None, NOW);
    assert!(
        !anonymous.matches("contacts", "s", Some("42")),
        "anonymous vs user"
    );
    assert!(anonymous.matches("contacts", "s", None));
}

#[test]
fn mount_token_expiry_and_future() {
    let signer = signer();
    let token = mount().encode(&signer);
    let ttl = DEFAULT_MOUNT_TOKEN_TTL_SECS;
    assert!(
        MountToken::decode(&signer, &token, NOW + ttl, ttl).is_ok(),
        "last valid second"
    );
    assert_eq!(
        MountToken::decode(&signer, &token, NOW + ttl + 1, ttl),
        Err(TokenError::Expired)
    );
    assert_eq!(
        MountToken::decode(&signer, &token, u64::MAX, ttl),
        Err(TokenError::Expired)
    );
    // Small skew is tolerated, more is refused.
    assert!(MountToken::decode(&signer, &token, NOW - CLOCK_SKEW_SECS, ttl).is_ok());
    assert_eq!(
        MountToken::decode(&signer, &token, NOW - CLOCK_SKEW_SECS - 1, ttl),
        Err(TokenError::FromTheFuture)
    );
    let far_future = MountToken::new("v", "s", None, u64::MAX).encode(&signer);
    assert_eq!(
        MountToken::decode(&signer, &far_future, NOW, ttl),
        Err(TokenError::FromTheFuture)
    );
}

#[test]
fn mount_token_hostile_input_is_refused() {
    let signer = signer();
    let token = mount().encode(&signer);
    assert_eq!(
        MountToken::decode(&other_signer(), &token, NOW, 3600),
        Err(TokenError::BadSignature)
    );
    for bad in hostile_variants(&token) {
        assert!(
            MountToken::decode(&signer, &bad, NOW, 3600).is_err(),
            "accepted {:?}",
            truncate(&bad)
        );
    }
    // Valid JSON signed with the raw key (not the mount-token purpose key)
    // is refused: the purpose is part of the key.
    let raw = signer.sign(br#"{"v":"admin","s":"x","u":"1","t":1700000000}"#);
    assert_eq!(
        MountToken::decode(&signer, &raw, NOW, 3600),
        Err(TokenError::BadSignature)
    );
    // A session cookie is not a mount token.
    let cookie = SessionCookie::encode(&signer, "sessid");
    assert!(MountToken::decode(&signer, &cookie, NOW, 3600).is_err());
}

// ------------------------------------------------------------ SessionCookie

#[test]
fn session_cookie_round_trip_and_hostile_values() {
    let signer = signer();
    let id = generate_token();
    let value = SessionCookie::encode(&signer, &id);
    assert_eq!(SessionCookie::decode(&signer, &value), Some(id.clone()));
    assert_eq!(SessionCookie::decode(&other_signer(), &value), None);
    for bad in hostile_variants(&value) {
        assert_eq!(
            SessionCookie::decode(&signer, &bad),
            None,
            "{:?}",
            truncate(&bad)
        );
    }
    // A mount token or a raw-key token is not a session cookie.
    assert_eq!(
        SessionCookie::decode(&signer, &mount().encode(&signer)),
        None
    );
    assert_eq!(
        SessionCookie::decode(&signer, &signer.sign(id.as_bytes())),
        None
    );
    // Implausible ids are refused even when correctly signed.
    for weird in ["", "a;b", "a\r\nSet-Cookie: x", &"a".repeat(129)] {
        let value = SessionCookie::encode(&signer, weird);
        assert_eq!(SessionCookie::decode(&signer, &value), None, "{weird:?}");
    }
}

#[test]
fn set_cookie_header_has_the_security_attributes() {
    let value = SessionCookie::encode(&signer(), "abc");
    let plain = set_cookie_header(&CookieOptions::default(), &value).unwrap();
    assert_eq!(
        plain,
        format!("djust_session={value}; Path=/; HttpOnly; SameSite=Lax")
    );
    let tls = CookieOptions {
        secure: true,
        max_age: Some(1209600),
        ..CookieOptions::default()
    };
    let secure = set_cookie_header(&tls, &value).unwrap();
    assert_eq!(
        secure,
        format!("djust_session={value}; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=1209600")
    );
    assert_eq!(
        clear_cookie_header(&tls).unwrap(),
        "djust_session=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0"
    );
}

#[test]
fn set_cookie_header_refuses_header_injection() {
    let options = CookieOptions::default();
    for value in [
        "a\r\nSet-Cookie: admin=1",
        "a; Domain=evil.com",
        "a b",
        "a\"",
        "a,b",
        "é",
    ] {
        assert_eq!(
            set_cookie_header(&options, value),
            Err(CookieError::InvalidValue),
            "{value:?}"
        );
    }
    for name in ["", "a b", "a=b", "a;b", "a\r\n", "sess(ion)"] {
        let options = CookieOptions {
            name: name.into(),
            ..CookieOptions::default()
        };
        assert_eq!(
            set_cookie_header(&options, "v"),
            Err(CookieError::InvalidName),
            "{name:?}"
        );
    }
}

#[test]
fn cookie_value_finds_the_named_cookie() {
    let header = "theme=dark; djust_session=abc.def; other=1";
    assert_eq!(cookie_value(header, "djust_session"), Some("abc.def"));
    assert_eq!(cookie_value(header, "djust"), None);
    assert_eq!(cookie_value("xdjust_session=1", "djust_session"), None);
    assert_eq!(cookie_value("", "djust_session"), None);
    assert_eq!(cookie_value(&";".repeat(10_000), "djust_session"), None);
}

// ---------------------------------------------------------- User & Identity

#[test]
fn permissions_are_validated_and_inactive_users_have_none() {
    for ok in ["contacts.view", "a.b", "app_1.can_delete_2"] {
        assert!(is_valid_permission(ok), "{ok}");
    }
    for bad in [
        "",
        ".",
        "contacts",
        "contacts.",
        ".view",
        "Contacts.view",
        "contacts.View",
        "1app.view",
        "app.1view",
        "a.b.c",
        "a .b",
        "a-b.c",
        "app.*",
        "*",
        "é.x",
    ] {
        assert!(!is_valid_permission(bad), "{bad}");
    }
    let user = User::new("42", "ana")
        .with_permission("contacts.view")
        .with_permission("*");
    assert!(user.is_authenticated());
    assert!(user.has_perm("contacts.view"));
    assert!(!user.has_perm("contacts.delete"));
    assert!(
        !user.has_perm("*"),
        "malformed permissions are never granted"
    );
    assert!(user.has_perms(&["contacts.view"]));
    assert!(!user.has_perms(&["contacts.view", "contacts.delete"]));
    let inactive = User {
        is_active: false,
        ..user.clone()
    };
    assert!(!inactive.is_authenticated());
    assert!(!inactive.has_perm("contacts.view"));

    let anonymous = Identity::from(None);
    assert_eq!(anonymous, Identity::Anonymous);
    assert!(!anonymous.is_authenticated());
    assert!(!anonymous.has_perm("contacts.view"));
    assert_eq!(anonymous.user_id(), None);
    let identity = Identity::from(Some(user));
    assert!(identity.is_authenticated() && identity.has_perm("contacts.view"));
    assert_eq!(identity.user_id(), Some("42"));
    assert!(!Identity::from(inactive).is_authenticated());
}

#[tokio::test]
async fn auth_backend_trait_object_authenticates() {
    let backend = MemoryAuthBackend::new();
    let hash = hash_password_with("correct horse", FAST).unwrap();
    backend.insert(User::new("1", "ana"), hash.clone());
    let inactive = User {
        is_active: false,
        ..User::new("2", "bob")
    };
    backend.insert(inactive, hash);
    let backend: Arc<dyn AuthBackend> = Arc::new(backend);
    let ana = backend.authenticate("ana", "correct horse").await;
    assert_eq!(ana.map(|user| user.id), Some("1".to_owned()));
    assert!(backend.authenticate("ana", "wrong").await.is_none());
    assert!(backend.authenticate("ana", "").await.is_none());
    assert!(
        backend.authenticate("bob", "correct horse").await.is_none(),
        "inactive"
    );
    assert!(backend
        .authenticate("nobody", "correct horse")
        .await
        .is_none());
    assert_eq!(
        backend.load_user("1").await.map(|u| u.username),
        Some("ana".into())
    );
    assert!(backend.load_user("2").await.is_none());
    assert!(backend.load_user("3").await.is_none());
}

// ---------------------------------------------------------------- Passwords

#[test]
fn default_password_hash_is_owasp_argon2id() {
    let hash = hash_password("s3cret!").unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(verify_password("s3cret!", &hash));
    assert!(!verify_password("s3cret", &hash));
    assert_eq!(PasswordParams::default().m_cost_kib, 19456);
}

#[test]
fn password_hashes_are_salted_and_verify() {
    let a = hash_password_with("pw", FAST).unwrap();
    let b = hash_password_with("pw", FAST).unwrap();
    assert_ne!(a, b, "random salt");
    assert!(verify_password("pw", &a) && verify_password("pw", &b));
    assert!(!verify_password("pW", &a));
    assert!(!verify_password("", &a));
    assert!(!verify_password("pw\0", &a));
    assert!(verify_password_or_dummy("pw", Some(&a)));
    assert!(
        !verify_password_or_dummy("pw", None),
        "unknown user never verifies"
    );
}

#[test]
fn malformed_hashes_and_huge_inputs_return_false() {
    let good = hash_password_with("pw", FAST).unwrap();
    let huge_cost = good.replacen("m=64", "m=4000000", 1);
    assert_ne!(huge_cost, good);
    for bad in [
        "",
        "garbage",
        "$",
        "$argon2id$",
        "$argon2id$v=19$m=64,t=1,p=1$",
        &good[..good.len() - 5],
        &good[..good.len() / 2],
        &good.replacen("argon2id", "argon2xx", 1),
        &good.replacen("argon2id", "pbkdf2-sha256", 1),
        "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        &huge_cost,
        &"$".repeat(100 * 1024),
    ] {
        assert!(
            !verify_password("pw", bad),
            "accepted hash {:?}",
            truncate(bad)
        );
    }
    let long = "x".repeat(MAX_PASSWORD_BYTES + 1);
    assert_eq!(hash_password_with(&long, FAST), Err(PasswordError::TooLong));
    assert!(!verify_password(&long, &good));
    assert_eq!(
        hash_password_with(
            "pw",
            PasswordParams {
                m_cost_kib: 1,
                t_cost: 0,
                p_cost: 0
            }
        ),
        Err(PasswordError::InvalidParams)
    );
}

#[test]
fn stored_hashes_with_excessive_cost_are_refused_even_when_correct() {
    // Genuinely correct hashes, cheap to make, but over the verification cap
    // (t <= 16, p <= 16): a tampered row must not buy unbounded work.
    let within = PasswordParams {
        m_cost_kib: 64,
        t_cost: 16,
        p_cost: 1,
    };
    assert!(verify_password(
        "pw",
        &hash_password_with("pw", within).unwrap()
    ));
    let many_passes = PasswordParams {
        m_cost_kib: 64,
        t_cost: 17,
        p_cost: 1,
    };
    assert!(!verify_password(
        "pw",
        &hash_password_with("pw", many_passes).unwrap()
    ));
    let many_lanes = PasswordParams {
        m_cost_kib: 8 * 17,
        t_cost: 1,
        p_cost: 17,
    };
    assert!(!verify_password(
        "pw",
        &hash_password_with("pw", many_lanes).unwrap()
    ));
}

// ------------------------------------------------------- Tokens & comparison

#[test]
fn generated_tokens_are_43_url_safe_chars_and_unique() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..1000 {
        let token = generate_token();
        assert_eq!(token.len(), 43);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert!(seen.insert(token), "duplicate token");
    }
}

#[test]
fn constant_time_eq_compares_content_and_length() {
    assert!(constant_time_eq("", ""));
    assert!(constant_time_eq("abc", "abc"));
    assert!(!constant_time_eq("abc", "abd"));
    assert!(!constant_time_eq("abc", "ab"));
    assert!(!constant_time_eq("ab", "abc"));
    assert!(!constant_time_eq("abc", ""));
    assert!(!constant_time_eq("abc", "ABC"));
    let long = "a".repeat(100 * 1024);
    assert!(constant_time_eq(&long, &long.clone()));
    assert!(!constant_time_eq(&long, &long[1..]));
}

// --------------------------------------------------------------------- CSRF

#[test]
fn csrf_verify_accepts_only_the_sessions_own_token() {
    let mine = csrf::generate();
    let theirs = csrf::generate();
    assert!(csrf::verify(&mine, Some(&mine)));
    assert!(!csrf::verify(&mine, Some(&theirs)), "other session's token");
    assert!(!csrf::verify(&mine, None), "missing");
    assert!(!csrf::verify(&mine, Some("")), "empty");
    assert!(
        !csrf::verify(&mine, Some(&mine[..mine.len() - 1])),
        "one char short"
    );
    assert!(
        !csrf::verify(&mine, Some(&format!("{mine}x"))),
        "one char long"
    );
    assert!(!csrf::verify(&mine, Some(&mine[..8])), "prefix");
    assert!(!csrf::verify(&mine, Some(&mine.repeat(1000))), "huge");
    assert!(!csrf::verify(&mine, Some(&format!(" {mine}"))), "padded");
    assert!(
        !csrf::verify("", Some("")),
        "a session without a token matches nothing"
    );
    assert!(!csrf::verify("", None));
}

// ---------------------------------------------------------------- Redirects

#[test]
fn safe_next_path_blocks_open_redirects() {
    for hostile in [
        "//evil.com",
        "///evil.com",
        "https://evil.com",
        "http:evil.com",
        "/\\evil.com",
        "\\\\evil.com",
        "/%2F%2Fevil.com",
        "%2F%2Fevil.com",
        "/%2f/evil.com",
        "/%5Cevil.com",
        "/%5cevil.com",
        "/%0d%0aSet-Cookie:x",
        "/ok\r\nSet-Cookie:x",
        "/\t/evil.com",
        "/ /evil.com",
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "/../etc/passwd",
        "/a/../../admin",
        "/%2e%2e/admin",
        "/%2E%2E/admin",
        "/a/..",
        "/%zz",
        "/%",
        "/%ff",
        "",
        "evil.com",
        "?next=/x",
        "/\u{0}x",
        "/\u{85}x",
        "/\u{2028}x",
    ] {
        assert_eq!(safe_next_path(hostile), "/", "{hostile:?}");
    }
    assert_eq!(safe_next_path(&format!("/{}", "a".repeat(5000))), "/");
}

#[test]
fn safe_next_path_keeps_same_origin_paths() {
    for ok in [
        "/",
        "/ok/path?x=1",
        "/contacts/42#notes",
        "/search?q=a%20b&url=https%3A%2F%2Fexample.com",
        "/files/a..b",
        "/a/./b",
        "/caf%C3%A9",
        "/café",
    ] {
        assert_eq!(safe_next_path(ok), ok, "{ok:?}");
    }
}

// ----------------------------------------------------------------- Sessions

fn store_with(max_sessions: usize, idle_secs: u64) -> (Arc<ManualClock>, MemorySessionStore) {
    let clock = Arc::new(ManualClock::new(NOW));
    let store = MemorySessionStore::with_clock(
        SessionConfig {
            max_sessions,
            idle_timeout: Duration::from_secs(idle_secs),
        },
        clock.clone(),
    );
    (clock, store)
}

#[tokio::test]
async fn sessions_create_load_save_destroy() {
    let (_, store) = store_with(100, 3600);
    let mut session = store.create().await.unwrap();
    assert_eq!(session.id.len(), 43);
    assert_eq!(session.csrf_token.len(), 43);
    assert_ne!(session.id, session.csrf_token);
    assert_eq!(session.expires_at, NOW + 3600);
    assert_ne!(store.create().await.unwrap().id, session.id);
    session.data.insert("cart".into(), "3".into());
    assert!(store.save(session.clone()).await.unwrap());
    let loaded = store.load(&session.id).await.unwrap().unwrap();
    assert_eq!(loaded.data.get("cart").map(String::as_str), Some("3"));
    assert!(store.load("nonexistent").await.unwrap().is_none());
    assert!(store.load("").await.unwrap().is_none());
    assert!(store.destroy(&session.id).await.unwrap().is_some());
    assert!(store.load(&session.id).await.unwrap().is_none());
    // A late save cannot resurrect a destroyed (logged-out) session.
    assert!(!store.save(session.clone()).await.unwrap());
    assert!(store.load(&session.id).await.unwrap().is_none());
    // Nor can a client-chosen id be saved into existence.
    let mut forged = loaded;
    forged.id = "attacker-chosen".into();
    assert!(!store.save(forged).await.unwrap());
    assert!(store.load("attacker-chosen").await.unwrap().is_none());
}

#[tokio::test]
async fn idle_sessions_expire_and_use_slides_the_timeout() {
    let (clock, store) = store_with(100, 600);
    let idle = store.create().await.unwrap();
    let busy = store.create().await.unwrap();
    clock.advance(Duration::from_secs(599));
    assert!(store.load(&busy.id).await.unwrap().is_some());
    clock.advance(Duration::from_secs(1));
    assert!(
        store.load(&idle.id).await.unwrap().is_none(),
        "idle 600 s: expired"
    );
    assert!(
        store.load(&busy.id).await.unwrap().is_some(),
        "loaded at 599 s: still live"
    );
    clock.advance(Duration::from_secs(600));
    assert!(store.load(&busy.id).await.unwrap().is_none());
    assert!(store.is_empty());
}

#[tokio::test]
async fn session_count_is_bounded_evicting_least_recently_used() {
    let (clock, store) = store_with(3, 3600);
    let first = store.create().await.unwrap();
    clock.advance(Duration::from_secs(1));
    let second = store.create().await.unwrap();
    clock.advance(Duration::from_secs(1));
    let third = store.create().await.unwrap();
    clock.advance(Duration::from_secs(1));
    // Using the first makes the second the oldest.
    assert!(store.load(&first.id).await.unwrap().is_some());
    let fourth = store.create().await.unwrap();
    assert_eq!(store.len(), 3);
    assert!(
        store.load(&second.id).await.unwrap().is_none(),
        "LRU evicted"
    );
    for kept in [&first, &third, &fourth] {
        assert!(store.load(&kept.id).await.unwrap().is_some());
    }
    for _ in 0..1000 {
        store.create().await.unwrap();
    }
    assert_eq!(store.len(), 3);
}

#[tokio::test]
async fn login_rotates_the_session_id_against_fixation() {
    let (_, store) = store_with(100, 3600);
    let store: Arc<dyn SessionStore> = Arc::new(store);
    // The attacker obtains a session id and plants it in the victim's browser.
    let mut planted = store.create().await.unwrap();
    planted.data.insert("lang".into(), "fr".into());
    assert!(store.save(planted.clone()).await.unwrap());

    let user = User::new("42", "victim");
    let session = login(store.as_ref(), Some(&planted.id), &user)
        .await
        .unwrap();
    assert_ne!(session.id, planted.id, "id must change at login");
    assert!(
        store.load(&planted.id).await.unwrap().is_none(),
        "old id no longer loads"
    );
    assert_ne!(session.csrf_token, planted.csrf_token, "fresh CSRF token");
    assert_eq!(session.user_id.as_deref(), Some("42"));
    assert_eq!(
        session.data.get("lang").map(String::as_str),
        Some("fr"),
        "data kept"
    );
    let stored = store.load(&session.id).await.unwrap().unwrap();
    assert_eq!(stored.user_id.as_deref(), Some("42"));
    assert_eq!(stored.csrf_token, session.csrf_token);

    // Logging another user into this session drops the previous user's data.
    let other = login(store.as_ref(), Some(&session.id), &User::new("7", "eve")).await;
    let other = other.unwrap();
    assert!(other.data.is_empty());
    assert!(store.load(&session.id).await.unwrap().is_none());

    // No session yet, or an unknown id: a brand-new one.
    let fresh = login(store.as_ref(), None, &user).await.unwrap();
    assert_eq!(fresh.user_id.as_deref(), Some("42"));
    let unknown = login(store.as_ref(), Some("made-up"), &user).await.unwrap();
    assert_ne!(unknown.id, "made-up");
    assert!(store.load("made-up").await.unwrap().is_none());
}

#[tokio::test]
async fn inactive_users_cannot_log_in_and_logout_returns_the_user() {
    let (_, store) = store_with(100, 3600);
    let session = store.create().await.unwrap();
    let inactive = User {
        is_active: false,
        ..User::new("9", "gone")
    };
    assert_eq!(
        login(&store, Some(&session.id), &inactive).await,
        Err(LoginError::Inactive)
    );
    assert!(
        store.load(&session.id).await.unwrap().is_some(),
        "untouched"
    );

    let logged_in = login(&store, Some(&session.id), &User::new("42", "ana"))
        .await
        .unwrap();
    assert_eq!(
        logout(&store, &logged_in.id).await.unwrap(),
        Some("42".into())
    );
    assert!(store.load(&logged_in.id).await.unwrap().is_none());
    assert_eq!(
        logout(&store, &logged_in.id).await.unwrap(),
        None,
        "twice is harmless"
    );
    let anonymous = store.create().await.unwrap();
    assert_eq!(logout(&store, &anonymous.id).await.unwrap(), None);
}

#[tokio::test]
async fn rotate_without_a_live_session_creates_a_fresh_one() {
    let (clock, store) = store_with(100, 60);
    let old = store.create().await.unwrap();
    clock.advance(Duration::from_secs(60));
    let rotated = store.rotate(&old.id).await.unwrap();
    assert_ne!(rotated.id, old.id);
    assert!(rotated.data.is_empty() && rotated.user_id.is_none());
    assert_ne!(
        rotated.csrf_token, old.csrf_token,
        "expired data is not revived"
    );
}

#[tokio::test]
async fn session_debug_hides_id_and_csrf_token() {
    let (_, store) = store_with(10, 60);
    let session = store.create().await.unwrap();
    let shown = format!("{session:?}");
    assert!(!shown.contains(&session.id), "{shown}");
    assert!(!shown.contains(&session.csrf_token), "{shown}");
}

#[tokio::test]
async fn session_cookie_carries_a_store_id_end_to_end() {
    let (_, store) = store_with(10, 60);
    let signer = signer();
    let session = store.create().await.unwrap();
    let header = set_cookie_header(
        &CookieOptions::default(),
        &SessionCookie::encode(&signer, &session.id),
    )
    .unwrap();
    let sent_back = header.split(';').next().unwrap();
    let value = cookie_value(sent_back, "djust_session").unwrap();
    let id = SessionCookie::decode(&signer, value).unwrap();
    assert_eq!(
        store.load(&id).await.unwrap().map(|s| s.id),
        Some(session.id)
    );
}

// ------------------------------------------------------------------ Tenants

#[test]
fn tenant_keys_cannot_collide() {
    assert_eq!(tenant_key("acme", "cart").unwrap(), "tenant:acme:cart");
    assert_eq!(tenant_key("acme", "a:b").unwrap(), "tenant:acme:a:b");
    for bad in [
        "",
        "acme:a",
        ":",
        "acme\n",
        "ac me",
        "acme/..",
        "é",
        &"a".repeat(129),
    ] {
        assert_eq!(
            tenant_key(bad, "k"),
            Err(TenantError::InvalidTenantId),
            "{bad:?}"
        );
    }
    // ("acme", "a:b") would collide with ("acme:a", "b") if ':' were allowed.
    assert!(tenant_key("acme:a", "b").is_err());
    assert!(tenant_key("4f2c-9a.b_c", "k").is_ok());
}

#[tokio::test]
async fn tenant_scoped_store_isolates_tenants() {
    let raw = Arc::new(MemoryKeyValueStore::new());
    let shared: Arc<dyn KeyValueStore> = raw.clone();
    let acme = TenantScopedStore::new(shared.clone(), "acme").unwrap();
    let globex = TenantScopedStore::new(shared.clone(), "globex").unwrap();
    assert_eq!(acme.tenant_id(), "acme");
    assert!(TenantScopedStore::new(shared.clone(), "acme:x").is_err());

    acme.set("secret", "acme-data".into()).await.unwrap();
    assert_eq!(
        acme.get("secret").await.unwrap().as_deref(),
        Some("acme-data")
    );
    assert_eq!(
        globex.get("secret").await.unwrap(),
        None,
        "cross-tenant read"
    );
    globex.set("secret", "globex-data".into()).await.unwrap();
    assert_eq!(
        acme.get("secret").await.unwrap().as_deref(),
        Some("acme-data")
    );
    assert!(!globex.delete("missing").await.unwrap());
    assert!(globex.delete("secret").await.unwrap());
    assert_eq!(
        acme.get("secret").await.unwrap().as_deref(),
        Some("acme-data")
    );

    // Keys that try to climb out of the tenant prefix stay inside it.
    for escape in [
        "../acme:secret",
        "tenant:acme:secret",
        ":acme:secret",
        "\nsecret",
    ] {
        assert_eq!(globex.get(escape).await.unwrap(), None, "{escape:?}");
    }
    raw.set("global", "g".into()).await.unwrap();
    assert_eq!(acme.get("global").await.unwrap(), None);
    assert_eq!(
        raw.keys(),
        vec!["global".to_owned(), "tenant:acme:secret".to_owned()]
    );
}
