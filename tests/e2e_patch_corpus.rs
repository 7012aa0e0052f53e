//! The browser client applies every patch of the shared corpus
//! (`djust-runtime/tests/fixtures/patch_corpus.json`, generated from the Rust
//! diff and checked there against the reference applier) exactly as the
//! reference does, in headless Chromium; and its patch path refuses event
//! handler attributes and script URLs without ever running script.

mod e2e_support;

use e2e_support::{page_with_client, Browser, StaticServer};
use serde_json::{json, Value};

const CORPUS: &str = include_str!("../djust-runtime/tests/fixtures/patch_corpus.json");

/// Installs an `alert` (and `confirm`/`prompt`) that records its calls in `window.__alerts`.
const TRAP_ALERTS: &str = r#"
window.__alerts = [];
for (const name of ['alert', 'confirm', 'prompt']) {
  window[name] = (message) => { window.__alerts.push(name + ': ' + String(message)); };
}
return typeof window.djust === 'object' && typeof window.djustSecurity === 'object';
"#;

/// Replays every case on `#root`; returns the failures and the case count.
const REPLAY: &str = r#"
const cases = arguments[0];
const root = document.getElementById('root');
const failures = [];
for (const c of cases) {
  djustSecurity.safeSetInnerHTML(root, c.before_html);
  const before = root.innerHTML;
  const applied = djust.applyPatches(root, c.patches);
  const expected = root.cloneNode(false);
  djustSecurity.safeSetInnerHTML(expected, c.after_html);
  if (applied !== true || !root.isEqualNode(expected)) {
    failures.push({ name: c.name, applied, before, got: root.innerHTML, want: expected.innerHTML });
  }
}
return { count: cases.length, failures };
"#;

/// Waits a little (so an injected `onerror` would have fired), then returns the trapped calls.
const ALERTS_AFTER_A_WHILE: &str = r#"
const done = arguments[arguments.length - 1];
setTimeout(() => done(window.__alerts), 300);
"#;

async fn open_page(browser: &Browser, server: &StaticServer) {
    browser.goto(&server.url("/")).await;
    let ready = browser.execute(TRAP_ALERTS, vec![]).await;
    assert_eq!(ready, json!(true), "djust.js did not load");
}

#[tokio::test]
async fn every_corpus_case_patches_like_the_reference() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let page = page_with_client(r#"<div id="root"></div>"#);
    let server = StaticServer::start(&[("/", &page)]).await;
    open_page(&browser, &server).await;

    let cases: Value = serde_json::from_str(CORPUS).expect("corpus is JSON");
    let expected_count = cases.as_array().map_or(0, Vec::len);
    assert_eq!(
        expected_count, 46,
        "the corpus changed size; update this test"
    );

    let result = browser.execute(REPLAY, vec![cases]).await;
    assert_eq!(result["count"], json!(expected_count));
    let failures = result["failures"].as_array().cloned().unwrap_or_default();
    let report: Vec<String> = failures
        .iter()
        .map(|f| {
            format!(
                "case {}: applyPatches returned {}\n  before: {}\n  got:    {}\n  want:   {}",
                f["name"], f["applied"], f["before"], f["got"], f["want"]
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {expected_count} corpus cases differ from the reference:\n{}",
        failures.len(),
        report.join("\n")
    );

    let alerts = browser.execute_async(ALERTS_AFTER_A_WHILE, vec![]).await;
    assert_eq!(alerts, json!([]), "script ran during the corpus replay");
    browser.close().await;
}

/// Each hostile step: a patch list, whether `applyPatches` accepts it, and a
/// check on the resulting `#root` (a JS expression over `root`).
const HOSTILE: &str = r##"
const root = document.getElementById('root');
const S = djustSecurity;
const steps = [
  ['set_attr onclick is refused (skipped, not an error)',
   '<button>x</button>',
   [{ type: 'set_attr', path: '/0', key: 'onclick', value: 'alert(1)' },
    { type: 'set_attr', path: '/0', key: 'ONMOUSEOVER', value: 'alert(2)' }],
   true, () => root.firstChild.attributes.length === 0],
  ['set_attr javascript: href becomes #blocked',
   '<a href="/ok">x</a>',
   [{ type: 'set_attr', path: '/0', key: 'href', value: 'javascript:alert(1)' }],
   true, () => root.firstChild.getAttribute('href') === '#blocked'],
  ['obfuscated schemes are blocked too',
   '<a>x</a><img><form></form>',
   [{ type: 'set_attr', path: '/0', key: 'href', value: ' \tJaVa\nScRiPt:alert(1)' },
    { type: 'set_attr', path: '/1', key: 'srcset', value: '/a.png 1x, javascript:alert(1) 2x' },
    { type: 'set_attr', path: '/2', key: 'action', value: 'data:text/html,<script>alert(1)</script>' }],
   true, () => root.children[0].getAttribute('href') === '#blocked' &&
     root.children[1].getAttribute('srcset') === '#blocked' &&
     root.children[2].getAttribute('action') === '#blocked'],
  ['allowed schemes and relative URLs pass',
   '<a>x</a><a>y</a><a>z</a>',
   [{ type: 'set_attr', path: '/0', key: 'href', value: 'https://example.com/a' },
    { type: 'set_attr', path: '/1', key: 'href', value: 'mailto:a@example.com' },
    { type: 'set_attr', path: '/2', key: 'href', value: '/local?x=1#f' }],
   true, () => root.children[0].getAttribute('href') === 'https://example.com/a' &&
     root.children[1].getAttribute('href') === 'mailto:a@example.com' &&
     root.children[2].getAttribute('href') === '/local?x=1#f'],
  ['inserted nodes lose on* attributes and script URLs',
   '<div></div>',
   [{ type: 'insert_child', path: '/0', index: 0, node: '<img src="x" onerror="alert(1)">' },
    { type: 'insert_child', path: '/0', index: 1, node: '<a href="javascript:alert(1)" onclick="alert(2)">x</a>' },
    { type: 'insert_child', path: '/0', index: 2, node: '<iframe srcdoc="<script>alert(1)</script>"></iframe>' },
    { type: 'insert_child', path: '/0', index: 3, node: '<svg><a><animate attributeName="href" values="javascript:alert(1)"></animate><text>t</text></a></svg>' }],
   true, () => {
     const d = root.firstChild;
     return !d.children[0].hasAttribute('onerror') &&
       d.children[1].getAttribute('href') === '#blocked' && !d.children[1].hasAttribute('onclick') &&
       !d.children[2].hasAttribute('srcdoc') && d.querySelector('animate') === null;
   }],
  ['replace with a script is not one node: refused',
   '<p>x</p>',
   [{ type: 'replace', path: '/0', value: '<script>alert(1)</script>' }],
   false, () => root.innerHTML === '<p>x</p>'],
  ['bad path, bad index, dj-id mismatch, unknown type are refused',
   '<ul dj-id="l"><li>a</li></ul>',
   null, null, () => [
       [{ type: 'set_text', path: '/0/9', value: 'x' }],
       [{ type: 'set_text', path: '0', value: 'x' }],
       [{ type: 'set_attr', path: '', key: 'title', value: 'x' }],
       [{ type: 'remove_child', path: '/0', index: 1 }],
       [{ type: 'move_child', path: '/0', from: 0, to: 1 }],
       [{ type: 'insert_child', path: '/0', index: 2, node: '<li>b</li>' }],
       [{ type: 'set_attr', path: '/0', key: 'title', value: 'x', id: 'other' }],
       [{ type: 'insert_child', path: '', index: 0, node: '<p></p>', id: 'l' }],
       [{ type: 'set_text', path: '/0', value: 'x' }],
       [{ type: 'eval', path: '/0' }],
     ].every((patches) => djust.applyPatches(root, patches) === false) &&
     root.innerHTML === '<ul dj-id="l"><li>a</li></ul>'],
];
const failures = [];
for (const [name, before, patches, accepted, check] of steps) {
  S.safeSetInnerHTML(root, before);
  const applied = patches === null ? null : djust.applyPatches(root, patches);
  let ok = false;
  try { ok = applied === accepted && check(); } catch (e) { ok = false; }
  if (!ok) failures.push(name + ' (applied: ' + applied + ', root: ' + root.innerHTML + ')');
}
S.safeSetInnerHTML(root, '<img src="x" onerror="alert(3)"><script>alert(4)</script><a href="javascript:alert(5)">x</a>');
if (root.innerHTML !== '<img src="x"><a href="#blocked">x</a>') failures.push('safeSetInnerHTML: ' + root.innerHTML);
const polluted = S.safeObjectAssign({}, JSON.parse('{"__proto__": {"polluted": 1}, "constructor": 2, "a": 3}'));
if (({}).polluted !== undefined || polluted.a !== 3 || Object.keys(polluted).join() !== 'a') failures.push('safeObjectAssign');
const logged = S.sanitizeForLog('a\u001b[31mb\r\nc\u202e' + 'x'.repeat(600));
if (!logged.startsWith('ab cx') || /[\u0000-\u001f\u202e]/.test(logged) || !logged.endsWith('[truncated]') ||
    Array.from(logged).length !== 500 + '\u2026[truncated]'.length) failures.push('sanitizeForLog: ' + logged.slice(0, 40));
return failures;
"##;

#[tokio::test]
async fn patches_refuse_handlers_and_script_urls_without_running_script() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let page = page_with_client(r#"<div id="root"></div>"#);
    let server = StaticServer::start(&[("/", &page)]).await;
    open_page(&browser, &server).await;

    let failures = browser.execute(HOSTILE, vec![]).await;
    assert_eq!(failures, json!([]), "hostile patches were not refused");
    let alerts = browser.execute_async(ALERTS_AFTER_A_WHILE, vec![]).await;
    assert_eq!(
        alerts,
        json!([]),
        "script ran while applying hostile patches"
    );

    browser.close().await;
}
