//! The layer rule of docs/architecture.md, checked on the source: every
//! `crate::` path in `src/` points to its own layer or one below, and no two
//! modules depend on each other (directly or round a longer cycle).
//!
//! Layers, bottom up: vocabulary (error, endpoint, options, monitor,
//! ratelimit, sys), core, routing, io, socket, api (context, poll, proxy, the
//! crate root). A module is a file's path below `src/`
//! up to its second segment inside `core/`, `routing/` and `io/`
//! (`core::pipe`, `io::reactor`), else its first (`socket`, `poll`). Names
//! the crate root re-exports (`crate::Error`) count as the module they come
//! from. Comments and a file's unit tests (a `#[cfg(test)] mod tests` at
//! its end) are not read.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layer of a module's first path segment, or `None` for a name this
/// test does not know (it fails then: a new top-level module needs a layer).
fn layer(first: &str) -> Option<u8> {
    Some(match first {
        "error" | "endpoint" | "options" | "monitor" | "ratelimit" | "sys" => 0,
        "core" => 1,
        "routing" => 2,
        "io" => 3,
        "socket" => 4,
        "context" | "poll" | "proxy" | "lib" => 5,
        _ => return None,
    })
}

const LAYER_NAMES: [&str; 6] = ["vocabulary", "core", "routing", "io", "socket", "api"];

/// The module a path (segments below the crate root) belongs to.
fn unit(segments: &[&str]) -> String {
    match segments {
        [first @ ("core" | "routing" | "io"), second, ..] => format!("{first}::{second}"),
        [first, ..] => (*first).to_owned(),
        [] => "lib".to_owned(),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file: `src/io/reactor/mod.rs` is
/// `["io", "reactor"]`, `src/lib.rs` is `[]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut segments: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if segments.last().is_some_and(|s| s == "mod" || s == "lib") {
        segments.pop();
    }
    segments
}

/// Code lines only: line comments and doc comments dropped, and a file's
/// unit tests (`#[cfg(test)]` then `mod tests`, to the end of the file),
/// which may drive the crate from the top.
fn code(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|w| w[0].trim() == "#[cfg(test)]" && w[1].contains("mod tests"))
        .unwrap_or(lines.len());
    lines[..end]
        .iter()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b` path in `text`, as its segments (identifiers only).
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        rest = &rest[i + "crate::".len()..];
        // `zmio_proto::...` or `my_crate::` are other crates.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let mut segments = Vec::new();
        let mut tail = rest;
        loop {
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            if end == 0 {
                break;
            }
            segments.push(tail[..end].to_owned());
            tail = &tail[end..];
            match tail.strip_prefix("::") {
                Some(next) => tail = next,
                None => break,
            }
        }
        paths.push(segments);
    }
    paths
}

/// What the crate root re-exports: name -> the module path it comes from
/// (`Error` -> `error`); names from other crates are left out.
fn root_exports(lib: &str) -> BTreeMap<String, Vec<String>> {
    let mut exports = BTreeMap::new();
    let code = code(lib);
    for statement in code.split(';') {
        let Some(i) = statement.find("pub use ") else {
            continue;
        };
        let statement: String = statement[i + "pub use ".len()..]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let (prefix, names) = match statement.split_once("::{") {
            Some((prefix, names)) => (prefix.to_owned(), names.trim_end_matches('}').to_owned()),
            None => match statement.rsplit_once("::") {
                Some((prefix, name)) => (prefix.to_owned(), name.to_owned()),
                None => continue,
            },
        };
        let path: Vec<String> = prefix.split("::").map(str::to_owned).collect();
        if layer(&path[0]).is_none() {
            continue;
        }
        for name in names.split(',').filter(|n| !n.is_empty()) {
            exports.insert(name.to_owned(), path.clone());
        }
    }
    exports
}

#[test]
fn every_crate_path_points_down_and_no_modules_form_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let exports = root_exports(&fs::read_to_string(src.join("lib.rs")).expect("lib.rs"));

    let mut upward = Vec::new();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        let segments: Vec<&str> = module.iter().map(String::as_str).collect();
        let from = unit(&segments);
        let first = segments.first().copied().unwrap_or("lib");
        let from_layer = layer(first).unwrap_or_else(|| {
            panic!(
                "{}: module `{first}` has no layer in tests/layers.rs",
                file.display()
            )
        });
        graph.entry(from.clone()).or_default();
        for path in crate_paths(&code(&fs::read_to_string(file).expect("source"))) {
            let Some(head) = path.first() else { continue };
            let target: Vec<String> = match (layer(head), exports.get(head)) {
                (Some(_), _) => path.clone(),
                (None, Some(origin)) => origin.clone(),
                // Another crate's item re-exported at the root, or a macro.
                (None, None) => continue,
            };
            let target: Vec<&str> = target.iter().map(String::as_str).collect();
            let to = unit(&target);
            let to_layer = layer(target[0]).expect("known layer");
            if to_layer > from_layer {
                upward.push(format!(
                    "{} ({}) uses crate::{} ({})",
                    file.display(),
                    LAYER_NAMES[usize::from(from_layer)],
                    path.join("::"),
                    LAYER_NAMES[usize::from(to_layer)],
                ));
            }
            if to != from {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));

    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, bool>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(node) {
            Some(true) => return None,
            Some(false) => {
                let start = stack.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        state.insert(node.to_owned(), false);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, state, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        state.insert(node.to_owned(), true);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        let mut stack = Vec::new();
        if let Some(cycle) = visit(node, &graph, &mut state, &mut stack) {
            panic!("modules depend on each other: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_checker_sees_paths_and_skips_comments_and_other_crates() {
    let text =
        "use crate::io::reactor::X; // crate::socket::Y\nlet a = zmio_crate::z; crate::Error::Io";
    let found = crate_paths(&code(text));
    assert_eq!(
        found,
        vec![
            vec!["io".to_owned(), "reactor".to_owned(), "X".to_owned()],
            vec!["Error".to_owned(), "Io".to_owned()],
        ]
    );
    assert_eq!(unit(&["io", "reactor", "slab"]), "io::reactor");
    let with_tests =
        "use crate::core::pipe::Pipe;\n#[cfg(test)]\nmod tests {\n    use crate::Context;\n}";
    assert_eq!(crate_paths(&code(with_tests)).len(), 1);
    assert_eq!(unit(&["socket"]), "socket");
    let exports = root_exports("pub use error::{Error, Result};\npub use zmio_proto::{Msg};");
    assert_eq!(exports.get("Error"), Some(&vec!["error".to_owned()]));
    assert!(!exports.contains_key("Msg"));
}
