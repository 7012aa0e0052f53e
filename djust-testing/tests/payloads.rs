//! Integration tests for the `djust_testing::payloads` corpora.

use djust_testing::payloads::{self, ParamKind};
use serde_json::{json, Value};
use std::collections::HashSet;

fn assert_contains(corpus: &[String], name: &str, must_have: &[&str]) {
    for payload in must_have {
        assert!(
            corpus.iter().any(|p| p == payload),
            "{name} corpus is missing {payload:?}"
        );
    }
}

fn assert_unique(corpus: &[String], name: &str) {
    let mut seen = HashSet::new();
    for payload in corpus {
        assert!(
            seen.insert(payload),
            "{name} corpus has duplicate {payload:?}"
        );
    }
}

fn assert_min(corpus: &[String], name: &str, min: usize) {
    assert!(
        corpus.len() >= min,
        "{name} corpus has {} payloads, need at least {min}",
        corpus.len()
    );
}

#[test]
fn no_line_was_skipped() {
    assert_eq!(payloads::malformed_line_count(), 0);
}

#[test]
fn xss_corpus() {
    let xss = payloads::xss();
    assert_min(xss, "xss", 160);
    assert_unique(xss, "xss");
    assert_contains(
        xss,
        "xss",
        &[
            "<script>alert(1)</script>",
            "<script>alert(\"xss\")</script>",
            "<img src=x onerror=alert(1)>",
            "\"><svg onload=alert(1)>",
            "' onmouseover='alert(1)",
            "<details open ontoggle=alert(1)>",
            "<input autofocus onfocus=alert(1)>",
            "javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\0script:alert(1)",
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            "vbscript:msgbox(\"XSS\")",
            "<div style=\"width:expression(alert(1))\">",
            "url(javascript:alert(1))",
            "<svg><p><style><img src=x onerror=alert(1)>",
            "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
            "<!--<img src=\"--><img src=x onerror=alert(1)>\">",
            "</script><script>alert(1)</script>",
            "</textarea><script>alert(1)</script>",
            "</title><script>alert(1)</script>",
            "\u{FF1C}script\u{FF1E}alert(1)\u{FF1C}/script\u{FF1E}",
            "+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
            "%C0%BCscript%C0%BEalert(1)%C0%BC/script%C0%BE",
        ],
    );
    // Every XSS payload carries markup, quote, entity, URL or JS punctuation
    // an escaper or URL/CSS filter has to deal with.
    for p in xss {
        assert!(
            p.contains(['<', '>', '"', '\'', '`', '&', '=', ':', '(', '%', '+']),
            "suspiciously inert xss payload {p:?}"
        );
    }
}

#[test]
fn template_injection_corpus() {
    let t = payloads::template_injection();
    assert_min(t, "template_injection", 20);
    assert_unique(t, "template_injection");
    assert_contains(
        t,
        "template_injection",
        &[
            "${7*7}",
            "{{7*7}}",
            "{{constructor.constructor('alert(1)')()}}",
            "#{7*7}",
            "<%= 7*7 %>",
            "{{config}}",
            "{% debug %}",
        ],
    );
    assert!(t.iter().any(|p| p.starts_with("{%")));
}

#[test]
fn sql_corpus() {
    let s = payloads::sql();
    assert_min(s, "sql", 20);
    assert_unique(s, "sql");
    assert_contains(
        s,
        "sql",
        &[
            "' OR '1'='1",
            "'; DROP TABLE contacts;--",
            "\" OR \"\"=\"",
            "1; SELECT",
            "%'--",
            "\\'",
        ],
    );
    assert!(
        s.iter().any(|p| p.contains('\0')),
        "sql corpus needs a NUL byte"
    );
    assert!(
        s.iter().any(|p| p.contains('\u{2019}')),
        "sql corpus needs a unicode quote"
    );
}

#[test]
fn path_traversal_corpus() {
    let p = payloads::path_traversal();
    assert_min(p, "path_traversal", 20);
    assert_unique(p, "path_traversal");
    assert_contains(
        p,
        "path_traversal",
        &[
            "../../etc/passwd",
            "..%2f..%2fetc%2fpasswd",
            "..%252f..%252fetc%252fpasswd",
            "..%c0%af..%c0%afetc%c0%afpasswd",
            "..\\..\\..\\windows\\win.ini",
            "\\\\evil.example\\share\\x",
            "../../etc/passwd\0.png",
        ],
    );
}

#[test]
fn unicode_corpus() {
    let u = payloads::unicode();
    assert_min(u, "unicode", 30);
    assert_unique(u, "unicode");
    assert_contains(u, "unicode", &["\u{202E}", "\u{200B}", "\0", "\u{FEFF}"]);
    let any = |pred: &dyn Fn(&str) -> bool| u.iter().any(|p| pred(p));
    assert!(any(&|p| p.contains('\u{202E}')), "needs RTL override");
    assert!(any(&|p| p.contains('\u{200B}')), "needs zero-width space");
    assert!(any(&|p| p.contains('\0')), "needs NUL");
    assert!(any(&|p| p.contains('\u{1b}')), "needs an ANSI escape");
    assert!(any(&|p| p.contains('\u{2028}')), "needs LINE SEPARATOR");
    assert!(any(&|p| p.contains('\u{85}')), "needs a C1 control");
    assert!(
        any(&|p| p.chars().any(|c| c.len_utf8() == 4)),
        "needs 4-byte chars"
    );
    assert!(
        any(&|p| p == "d\u{435}l\u{435}t\u{435}"),
        "needs Cyrillic 'delete'"
    );
    assert!(any(&|p| p == "\u{430}dmin"), "needs Cyrillic 'admin'");
    assert!(
        any(&|p| p
            .chars()
            .filter(|c| ('\u{300}'..='\u{36F}').contains(c))
            .count()
            >= 200),
        "needs a very long grapheme"
    );
    // The lone surrogate is kept verbatim in the raw JSON and becomes U+FFFD.
    let raw = payloads::raw_json_strings();
    assert!(raw.contains(&r#""\ud800""#), "needs a lone surrogate line");
    assert!(u.iter().any(|p| p == "\u{FFFD}"));
}

#[test]
fn all_strings_is_the_deduplicated_union() {
    let all = payloads::all_strings();
    assert_unique(all, "all_strings");
    let union: HashSet<&String> = payloads::xss()
        .iter()
        .chain(payloads::template_injection())
        .chain(payloads::sql())
        .chain(payloads::path_traversal())
        .chain(payloads::unicode())
        .collect();
    assert_eq!(all.len(), union.len());
    assert!(all.iter().all(|p| union.contains(p)));
    assert_eq!(all.first(), payloads::xss().first());
}

#[test]
fn raw_json_strings_are_exact_json_text() {
    let raw = payloads::raw_json_strings();
    let mut seen = HashSet::new();
    let mut lone_surrogate_lines = 0;
    for line in raw {
        assert!(seen.insert(*line), "duplicate raw line {line}");
        assert!(line.starts_with('"') && line.ends_with('"'), "{line}");
        match serde_json::from_str::<String>(line) {
            Ok(decoded) => assert!(
                payloads::all_strings().contains(&decoded),
                "raw line {line} decodes to a payload missing from all_strings()"
            ),
            Err(e) => {
                // serde_json refuses lone surrogates in a String; nothing else
                // may fail.
                let lower = line.to_ascii_lowercase();
                assert!(
                    ["\\ud8", "\\ud9", "\\uda", "\\udb", "\\udc", "\\udd", "\\ude", "\\udf"]
                        .iter()
                        .any(|esc| lower.contains(esc)),
                    "{line}: {e}"
                );
                lone_surrogate_lines += 1;
            }
        }
    }
    assert!(lone_surrogate_lines >= 1);
    // Every line of every file, no more: decoded payloads and raw lines pair up.
    assert!(raw.len() >= payloads::all_strings().len());
}

#[test]
fn raw_json_numbers_are_json_number_syntax() {
    for text in payloads::raw_json_numbers() {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => assert!(v.is_number(), "{text}"),
            Err(e) => assert!(e.to_string().contains("out of range"), "{text}: {e}"),
        }
    }
}

#[test]
fn type_confusion_lists() {
    for kind in ParamKind::ALL {
        let values = payloads::type_confusion(kind);
        assert!(values.len() >= 20, "{kind:?}: only {} values", values.len());
        assert!(values.contains(&Value::Null), "{kind:?} lacks null");
        // The generated values are always present.
        assert!(
            values
                .iter()
                .any(|v| v.as_str().is_some_and(|s| s.chars().count() == 10_000)),
            "{kind:?} lacks the 10,000-char string"
        );
        assert!(
            values.iter().any(|v| array_depth(v) == 1_000),
            "{kind:?} lacks arrays nested 1,000 deep"
        );
        // No duplicates (compare the serialised form: Value's == treats 0.0 == -0.0).
        let mut seen = HashSet::new();
        for v in &values {
            assert!(seen.insert(v.to_string()), "{kind:?}: duplicate {v}");
        }
    }

    let int = payloads::type_confusion(ParamKind::Integer);
    for must in [
        json!(null),
        json!("not_a_number"),
        json!(""),
        json!(true),
        json!(false),
        json!(-1),
        json!(0),
        json!(2147483648_u64),
        serde_json::from_str::<Value>("3.14").expect("float literal"),
        json!("nan"),
        json!("NaN"),
        json!("inf"),
        json!("-inf"),
        json!("1e400"),
        json!(" 3 "),
        json!("0x10"),
        json!("\u{663}"),
        json!([]),
        json!({}),
        json!([1, 2]),
        json!({"__proto__": {"admin": true}}),
        json!("18446744073709551616"),
    ] {
        assert!(int.contains(&must), "integer list lacks {must}");
    }
    // Out-of-range integers arrive as f64 (no arbitrary_precision).
    assert!(int
        .iter()
        .any(|v| v.as_f64() == Some(-9_223_372_036_854_775_809_f64) && v.is_f64()));
    assert!(int
        .iter()
        .any(|v| v.as_f64() == Some(18_446_744_073_709_551_616_f64) && v.is_f64()));

    let float = payloads::type_confusion(ParamKind::Float);
    for must in ["nan", "NaN", "inf", "-inf", "1e400", "1e309"] {
        assert!(float.contains(&json!(must)), "float list lacks {must}");
    }
    let boolean = payloads::type_confusion(ParamKind::Bool);
    for must in [json!("true"), json!(0), json!(1), json!(null)] {
        assert!(boolean.contains(&must), "bool list lacks {must}");
    }
    let list = payloads::type_confusion(ParamKind::List);
    assert!(list.contains(&json!({})) && list.contains(&json!("")));
    let object = payloads::type_confusion(ParamKind::Object);
    assert!(object.contains(&json!([])) && object.contains(&json!({"__proto__": {"admin": true}})));
    let string = payloads::type_confusion(ParamKind::String);
    assert!(string.contains(&json!(0)) && string.contains(&json!([])));

    // `Any` covers every other kind.
    let any: HashSet<String> = payloads::type_confusion(ParamKind::Any)
        .iter()
        .map(Value::to_string)
        .collect();
    for kind in ParamKind::ALL {
        for v in payloads::type_confusion(kind) {
            assert!(any.contains(&v.to_string()), "any lacks {v} from {kind:?}");
        }
    }
}

#[test]
fn generated_values_have_the_documented_shape() {
    assert_eq!(payloads::LONG_STRING_LEN, 10_000);
    assert_eq!(payloads::NESTING_DEPTH, 1_000);
    assert_eq!(payloads::nested_arrays(3).to_string(), "[[[]]]");
    assert_eq!(payloads::nested_objects(3).to_string(), r#"{"a":{"a":{}}}"#);
    let deep = payloads::nested_arrays(payloads::NESTING_DEPTH).to_string();
    assert_eq!(deep.len(), 2_000);
    // serde_json's own recursion limit (128) rejects it when parsing back:
    // exactly the kind of input a server must survive.
    assert!(serde_json::from_str::<Value>(&deep).is_err());
}

/// Depth of nested arrays, iteratively (first element only).
fn array_depth(v: &Value) -> usize {
    let mut depth = 0;
    let mut cur = v;
    while let Value::Array(items) = cur {
        depth += 1;
        match items.first() {
            Some(next) => cur = next,
            None => break,
        }
    }
    depth
}
