//! The runtime's modules import one way: each may use only the modules
//! below it in [`LAYERS`], and no group of modules (or of one module's
//! files) imports itself in a circle.
//!
//! The check reads the sources (`use crate::…`, `crate::…` paths and
//! `super::…` paths between files), so an upward import fails `cargo test`
//! with the file and the line, before any review has to spot it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules from the bottom up. A module may import the modules of
/// strictly lower layers only. Modules in one layer do not import each other.
const LAYERS: &[&[&str]] = &[
    // plain data and pure rules
    &["protocol", "queries", "security", "tenant"],
    // counters, clocks, store traits of limits
    &["limits"],
    // the tree, its diff and its HTML
    &["vdom"],
    // values by context, `Html`, the two `html!` backends
    &["template"],
    // keys, tokens, users
    &["auth"],
    // sessions, their stores and revocations; uploads being received
    &["session", "upload"],
    // settings (defaults come from the modules that enforce them), views
    &["config", "view"],
    // the checks of replayed offline actions, their idempotency keys
    &["offline"],
    // typed forms: decoding and validating a `Form<T>` parameter
    &["forms"],
    // one socket's protocol, without I/O
    &["live"],
    // the security audit (metadata and settings)
    &["audit"],
    // Redis implementations of the store traits
    &["redis"],
    // warp: HTTP, WebSocket driver, the App
    &["server"],
    // the command line of an application; the generated code's entry points
    &["cli", "__private"],
];

/// Imports known to go the wrong way, each with what removes it. Keep empty.
const KNOWN_UPWARD: &[(&str, &str)] = &[
    // Escaping moves to the shared rules crate and the builder's `Render`
    // glue to `template` with the one-walker `html!` codegen.
    ("vdom", "template"),
];

/// Circles between the files of one module known to exist, with what
/// removes them. Keep empty.
const KNOWN_CIRCLES: &[&str] = &[
    // The one-walker codegen: serialising moves out of `node`, and the
    // applier stops being shared by the parser.
    "vdom::html -> vdom::node -> vdom::html",
    "vdom::node -> vdom::html -> vdom::node",
    "vdom::parse -> vdom::reference -> vdom::parse",
    "vdom::reference -> vdom::parse -> vdom::reference",
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// `src/vdom/parse.rs` → `["vdom", "parse"]`; `src/vdom/mod.rs` → `["vdom"]`.
fn module_path(file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src()).unwrap_or(file);
    let mut parts: Vec<String> = relative
        .components()
        .map(|part| part.as_os_str().to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.last_mut() {
        *last = last.trim_end_matches(".rs").to_owned();
        if last == "mod" || last == "lib" {
            parts.pop();
        }
    }
    parts
}

/// Lines of code only: `//` comments (doc comments included) dropped, so
/// an intra-doc link or a prose mention is not an import.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(index, line)| {
        let code = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        (!code.trim().is_empty()).then_some((index + 1, code))
    })
}

/// Every `crate::a[::b]` named on a line, including inside `use crate::{a, b::c}`.
fn crate_paths(line: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if after.starts_with('{') {
            let end = after.find('}').unwrap_or(after.len());
            for item in after[1..end].split(',') {
                let segments = segments(item.trim());
                if !segments.is_empty() {
                    out.push(segments);
                }
            }
        } else {
            let segments = segments(after);
            if !segments.is_empty() {
                out.push(segments);
            }
        }
        rest = after;
    }
    out
}

/// `a::b::Type` → `["a", "b"]` (lower-case path segments only, at most two).
fn segments(path: &str) -> Vec<String> {
    path.split("::")
        .map(|segment| {
            segment
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .take_while(|segment| {
            segment
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase())
        })
        .take(2)
        .collect()
}

struct Import {
    from: Vec<String>,
    to: Vec<String>,
    file: PathBuf,
    line: usize,
}

fn imports() -> Vec<Import> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let from = module_path(&file);
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        // Unit tests (the item after `#[cfg(test)]`) may reach anywhere:
        // skipped from the attribute to the brace that closes the item.
        let mut depth = 0usize;
        let mut skip_until: Option<usize> = None;
        let mut pending_test_attr = false;
        for (line_no, line) in code_lines(&text) {
            let before = depth;
            for c in line.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            if line.trim_start().starts_with("#[cfg(test)]") {
                pending_test_attr = true;
                continue;
            }
            if pending_test_attr {
                pending_test_attr = false;
                if depth > before {
                    skip_until = Some(before);
                }
                continue;
            }
            if let Some(level) = skip_until {
                if depth <= level {
                    skip_until = None;
                }
                continue;
            }
            for to in crate_paths(line) {
                out.push(Import {
                    from: from.clone(),
                    to,
                    file: file.clone(),
                    line: line_no,
                });
            }
            // `super::x` from a file below a module names a sibling file.
            if from.len() == 2 {
                let mut rest = line;
                while let Some(at) = rest.find("super::") {
                    let after = &rest[at + "super::".len()..];
                    let sibling = segments(after);
                    if let Some(first) = sibling.first() {
                        if first != "super" {
                            out.push(Import {
                                from: from.clone(),
                                to: vec![from[0].clone(), first.clone()],
                                file: file.clone(),
                                line: line_no,
                            });
                        }
                    }
                    rest = after;
                }
            }
        }
    }
    out
}

#[test]
fn every_top_level_module_is_in_a_layer() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|file| module_path(file).first().cloned())
        .collect();
    let missing: Vec<&String> = modules
        .iter()
        .filter(|module| layer_of(module).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "add these modules to LAYERS in {}: {missing:?}",
        file!()
    );
}

#[test]
fn no_module_imports_one_above_or_beside_it() {
    let mut wrong = Vec::new();
    for import in imports() {
        let (Some(from), Some(to)) = (import.from.first(), import.to.first()) else {
            continue;
        };
        if from == to {
            continue;
        }
        let (Some(from_layer), Some(to_layer)) = (layer_of(from), layer_of(to)) else {
            continue;
        };
        if to_layer >= from_layer && !KNOWN_UPWARD.iter().any(|(a, b)| a == from && b == to) {
            wrong.push(format!(
                "{}:{}: `{from}` (layer {from_layer}) imports `{to}` (layer {to_layer})",
                import.file.display(),
                import.line
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "imports must point down the layers of {}:\n{}",
        file!(),
        wrong.join("\n")
    );
}

/// Within each module, its files do not import each other in a circle
/// (e.g. `vdom::parse` → `vdom::reference` → `vdom::parse`).
#[test]
fn no_circle_between_the_files_of_a_module() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for import in imports() {
        if import.from.len() == 2
            && import.to.len() == 2
            && import.from[0] == import.to[0]
            && import.from[1] != import.to[1]
        {
            graph
                .entry(import.from.join("::"))
                .or_default()
                .insert(import.to.join("::"));
        }
    }
    let mut circles = Vec::new();
    for start in graph.keys() {
        // Depth-first search for a path back to `start`.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((node, path)) = stack.pop() {
            for next in graph.get(&node).into_iter().flatten() {
                if next == start {
                    let mut circle = path.clone();
                    circle.push(start.clone());
                    circles.push(circle.join(" -> "));
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    circles.sort();
    circles.dedup();
    circles.retain(|circle| !KNOWN_CIRCLES.contains(&circle.as_str()));
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

#[test]
fn the_checker_sees_grouped_and_nested_paths() {
    let owned = |paths: &[&[&str]]| -> Vec<Vec<String>> {
        paths
            .iter()
            .map(|path| path.iter().map(|s| (*s).to_owned()).collect())
            .collect()
    };
    assert_eq!(
        crate_paths("use crate::{limits::BoxFuture, view::Ctx};"),
        owned(&[&["limits"], &["view"]])
    );
    assert_eq!(
        crate_paths("let x = crate::vdom::diff::diff(a, b);"),
        owned(&[&["vdom", "diff"]])
    );
    assert_eq!(
        code_lines("/// crate::server\nlet a = 1; // crate::server\n")
            .map(|(_, l)| l)
            .collect::<Vec<_>>(),
        ["let a = 1; "]
    );
}
