//! Tests for `djust_runtime::security`: the event-name guard, log
//! sanitisation and client-safe error messages.

use djust_runtime::security::{
    is_safe_event_name, sanitize_for_log, SafeError, MAX_EVENT_NAME_LEN, MAX_LOG_CHARS, REDACTED,
    TRUNCATION_MARKER,
};
use proptest::prelude::*;

// ---------------------------------------------------------------- event names

#[test]
fn valid_event_names() {
    for name in [
        "increment",
        "a",
        "delete_item",
        "item2",
        "mount",
        "x_1_y",
        "a_",
        &"a".repeat(MAX_EVENT_NAME_LEN),
    ] {
        assert!(is_safe_event_name(name), "{name:?}");
    }
}

#[test]
fn invalid_event_names() {
    let long = "a".repeat(10 * 1024);
    for name in [
        "",
        "__init__",
        "__class__",
        "_private",
        "Delete",
        "deleteItem",
        "delete ",
        " delete",
        "delete\u{0}",
        "d\u{0435}lete", // Cyrillic е
        "délete",
        "a-b",
        "a.b",
        "a:b",
        "1abc",
        "a/b",
        &long,
        &"a".repeat(MAX_EVENT_NAME_LEN + 1),
    ] {
        assert!(!is_safe_event_name(name), "{name:?}");
    }
}

// ---------------------------------------------------------------- logs

/// Characters that must never appear in sanitised output.
fn is_forbidden_in_logs(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}'
                | '\u{2029}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

#[test]
fn seed_example_loses_ansi_and_newline() {
    let output = sanitize_for_log("\x1b[31mred\x1b[0m\ninjected");
    assert!(!output.contains('\x1b'));
    assert!(!output.contains('\n'));
    assert_eq!(output, "red injected");
}

#[test]
fn crlf_cannot_forge_a_log_line() {
    let output = sanitize_for_log("alice\r\n2024-01-01 INFO admin logged in");
    assert_eq!(output, "alice 2024-01-01 INFO admin logged in");
    assert_eq!(output.lines().count(), 1);
}

#[test]
fn ansi_sequences_are_removed_entirely() {
    let cases = [
        ("a\x1b[1;31;40mb", "ab"),
        ("a\x1b[2Jb\x1b[Hc", "abc"),
        ("a\x1b]0;evil title\x07b", "ab"),
        ("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),
        ("a\x1bcb", "ab"),
        ("a\x1b(Bb", "ab"),
        ("a\u{9b}31mb", "ab"),
        ("a\x1b", "a"),
    ];
    for (input, expected) in cases {
        assert_eq!(sanitize_for_log(input), expected, "{input:?}");
    }
}

#[test]
fn controls_become_one_space_and_bidi_is_removed() {
    let cases = [
        ("a\tb", "a b"),
        ("a\x00\x01\x7fb", "a b"),
        ("a\u{85}b", "a b"),
        ("a\u{2028}b\u{2029}c", "a b c"),
        ("user\u{202E}gnp.exe", "usergnp.exe"),
        ("a\u{2066}b\u{2069}\u{200E}\u{200F}c", "abc"),
        ("plain text", "plain text"),
        ("ünïcödé 日本", "ünïcödé 日本"),
    ];
    for (input, expected) in cases {
        assert_eq!(sanitize_for_log(input), expected, "{input:?}");
    }
}

#[test]
fn long_input_is_truncated_with_marker() {
    let output = sanitize_for_log(&"x".repeat(10_000));
    assert!(output.ends_with(TRUNCATION_MARKER));
    assert_eq!(
        output.chars().count(),
        MAX_LOG_CHARS + TRUNCATION_MARKER.chars().count()
    );
    let exact = "y".repeat(MAX_LOG_CHARS);
    assert_eq!(sanitize_for_log(&exact), exact);
}

#[test]
fn truncation_never_splits_a_character() {
    // 499 ASCII then multibyte characters straddling the limit.
    let input = format!("{}é€😀tail", "a".repeat(MAX_LOG_CHARS - 1));
    let output = sanitize_for_log(&input);
    let expected = format!("{}é{TRUNCATION_MARKER}", "a".repeat(MAX_LOG_CHARS - 1));
    assert_eq!(output, expected);
    let emoji = "😀".repeat(MAX_LOG_CHARS + 1);
    let output = sanitize_for_log(&emoji);
    assert_eq!(
        output.strip_suffix(TRUNCATION_MARKER),
        Some("😀".repeat(MAX_LOG_CHARS).as_str())
    );
}

#[test]
fn secrets_are_redacted() {
    let cases = [
        ("password=hunter2", "password=[REDACTED]"),
        (
            "user=bob&password=hunter2&x=1",
            "user=bob&password=[REDACTED]&x=1",
        ),
        ("PASSWD: hunter2", "PASSWD: [REDACTED]"),
        (
            "db_password = hunter2 next",
            "db_password = [REDACTED] next",
        ),
        ("client_secret=abc", "client_secret=[REDACTED]"),
        ("access_token=abc.def", "access_token=[REDACTED]"),
        (
            "api_key=k1 apikey:k2",
            "api_key=[REDACTED] apikey:[REDACTED]",
        ),
        ("X-CSRF-Token: abc", "X-CSRF-Token: [REDACTED]"),
        (
            "sessionid=abc; theme=dark",
            "sessionid=[REDACTED]; theme=dark",
        ),
        ("Cookie: abc", "Cookie: [REDACTED]"),
        (
            r#"{"password":"hunter2","user":"bob"}"#,
            r#"{"password":"[REDACTED]","user":"bob"}"#,
        ),
        (
            r#"{"Token": "a \"quoted\" b"}"#,
            r#"{"Token": "[REDACTED]"}"#,
        ),
        (r#"{"api_key": 12345}"#, r#"{"api_key": [REDACTED]}"#),
        (
            r#"{"password":"unterminated"#,
            r#"{"password":"[REDACTED]""#,
        ),
        (
            "Authorization: Bearer eyJhbGciOi.x.y",
            "Authorization: [REDACTED]",
        ),
        (
            "Authorization: Basic dXNlcjpwYXNz",
            "Authorization: [REDACTED]",
        ),
        (
            "sent bearer abc123== to upstream",
            "sent bearer [REDACTED] to upstream",
        ),
        ("Bearer abc", "Bearer [REDACTED]"),
    ];
    for (input, expected) in cases {
        assert_eq!(sanitize_for_log(input), expected, "{input:?}");
    }
}

#[test]
fn ordinary_text_is_not_redacted() {
    for input in [
        "user=bob&page=2",
        "session started: ok",
        "the token was refused",
        "key=value",
    ] {
        assert_eq!(sanitize_for_log(input), input);
    }
}

#[test]
fn redaction_applies_before_truncation() {
    // The secret straddles the character limit: none of it may survive.
    let input = format!(
        "{} password=SUPERSECRETVALUE",
        "a".repeat(MAX_LOG_CHARS - 14)
    );
    let output = sanitize_for_log(&input);
    // Truncating first would keep "SUPE".
    assert!(!output.contains("SUPE"), "{output}");
    assert!(output.ends_with(TRUNCATION_MARKER));
    assert!(output.contains(&REDACTED[..4]));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn sanitised_output_is_clean_and_bounded(
        value in prop_oneof![
            any::<String>(),
            "([\\x00-\\x1f\\x7f\\x{80}-\\x{9f}\\x{2028}\\x{2029}\\x{202a}-\\x{202e}\\x{2066}-\\x{2069}]|[a-z=:\\[ ]|\\x1b\\[[0-9;]*m?|é){0,700}",
            ".{480,1200}",
        ]
    ) {
        let output = sanitize_for_log(&value);
        prop_assert!(
            !output.chars().any(is_forbidden_in_logs),
            "{value:?} -> {output:?}"
        );
        let body = output.strip_suffix(TRUNCATION_MARKER).unwrap_or(&output);
        prop_assert!(body.chars().count() <= MAX_LOG_CHARS);
        prop_assert!(output.chars().count() <= MAX_LOG_CHARS + TRUNCATION_MARKER.chars().count());
    }
}

// ---------------------------------------------------------------- errors

const ALL: [SafeError; 14] = [
    SafeError::MalformedMessage,
    SafeError::MessageTooLarge,
    SafeError::UnsupportedFrame,
    SafeError::UnknownView,
    SafeError::InvalidMountToken,
    SafeError::NotMounted,
    SafeError::UnknownEvent,
    SafeError::InvalidParam {
        param: "id",
        expected: "integer",
    },
    SafeError::RateLimited,
    SafeError::LoginRequired,
    SafeError::PermissionDenied,
    SafeError::HandlerFailed,
    SafeError::RenderFailed,
    SafeError::Internal,
];

const DETAIL: &str = "ParseIntError at src/views/contacts.rs:42 value=<script>";

#[test]
fn production_messages_never_contain_the_detail() {
    for error in ALL {
        let message = error.public_message(false, Some(DETAIL));
        assert!(!message.contains("ParseIntError"), "{error:?}: {message}");
        assert!(!message.contains("src/"), "{error:?}: {message}");
        assert!(!message.is_empty());
        assert_eq!(message, error.public_message(false, None));
        assert_eq!(message, error.to_string());
    }
}

#[test]
fn debug_messages_append_the_detail() {
    for error in ALL {
        let message = error.public_message(true, Some(DETAIL));
        assert!(message.contains(DETAIL), "{error:?}: {message}");
        assert!(message.starts_with(&error.to_string()));
        assert_eq!(error.public_message(true, None), error.to_string());
    }
}

#[test]
fn debug_detail_is_still_one_clean_line() {
    let message = SafeError::HandlerFailed.public_message(true, Some("boom\npassword=x\x1b[2J"));
    assert!(!message.contains('\n') && !message.contains('\x1b'));
    assert!(message.ends_with("boom password=[REDACTED]"), "{message}");
}

#[test]
fn invalid_param_names_parameter_and_type_only() {
    let error = SafeError::InvalidParam {
        param: "id",
        expected: "integer",
    };
    let message = error.public_message(false, Some("invalid digit in \"3; DROP TABLE\""));
    assert_eq!(
        message,
        "Invalid value for parameter 'id': expected integer"
    );
    assert!(!message.contains("DROP"));
}

#[test]
fn codes_are_stable_unique_snake_case() {
    let codes: Vec<&str> = ALL.iter().map(SafeError::code).collect();
    assert_eq!(codes[7], "invalid_param");
    assert_eq!(SafeError::RateLimited.code(), "rate_limited");
    for code in &codes {
        assert!(is_safe_event_name(code), "{code}");
    }
    let mut unique = codes.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), codes.len());
}

#[test]
fn safe_error_is_a_std_error() {
    let boxed: Box<dyn std::error::Error> = Box::new(SafeError::Internal);
    assert_eq!(boxed.to_string(), "Internal error");
    assert!(boxed.source().is_none());
}
