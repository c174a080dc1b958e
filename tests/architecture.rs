//! The layering of the library, checked from its source: a module may use only the modules
//! listed before it in `LAYERS`, so there is no import cycle and every arrow points down.
//! docs/architecture.md explains the layers; change both together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bottom first. Each group is one layer of docs/architecture.md.
const LAYERS: &[&[&str]] = &[
    // leaves: no knowledge of documents
    &["clock", "headers", "client", "query", "template", "prefer", "negotiate", "generate", "store", "xml", "fuzz", "watch"],
    // the documents
    &["spec"],
    // reading requests against a document
    &["validate", "router"],
    // what an answer is made of
    &["behaviour", "journal", "respond", "problem", "traffic", "fixtures", "record"],
    // settings and the provider check
    &["config", "verify"],
    // the compiler, and the one mutable runtime
    &["plan", "runtime"],
    // the calls the mock makes itself
    &["hooks"],
    // a request's path
    &["exchange", "proxy", "admin", "engine"],
    // the edges an embedder and the binary touch
    &["server", "embed"],
];

fn order() -> Vec<&'static str> {
    LAYERS.iter().flat_map(|l| l.iter().copied()).collect()
}

/// The library's source files by top-level module (the binary's `main`, `cli`, `run` excluded).
fn modules() -> BTreeMap<String, Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut out: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        if !["main", "cli", "run", "lib"].contains(&top.as_str()) {
            out.entry(top).or_default().push(f);
        }
    }
    out
}

/// The top-level modules a file names as `crate::NAME`, outside comments and its tests.
fn uses(file: &Path, known: &[&str]) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut out = Vec::new();
    for line in code.lines().map(str::trim_start).filter(|l| !l.starts_with("//")) {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + 7..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if known.contains(&name.as_str()) && !out.contains(&name) {
                out.push(name);
            }
        }
        // `use crate::{a, b::c}`
        if let Some(group) = line.strip_prefix("use crate::{") {
            for item in group.split([',', '}']).map(str::trim) {
                let name: String = item.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                if known.contains(&name.as_str()) && !out.contains(&name) {
                    out.push(name);
                }
            }
        }
    }
    out
}

#[test]
fn every_module_is_placed_in_a_layer() {
    let order = order();
    for module in modules().keys() {
        assert!(order.contains(&module.as_str()), "src/{module} is in no layer: add it to LAYERS and docs/architecture.md");
    }
}

#[test]
fn modules_use_only_the_layers_below_them() {
    let order = order();
    let mut wrong = Vec::new();
    for (module, files) in modules() {
        let Some(mine) = order.iter().position(|m| *m == module) else { continue };
        for file in files {
            for used in uses(&file, &order) {
                let theirs = order.iter().position(|m| *m == used).unwrap();
                if used != module && theirs >= mine {
                    wrong.push(format!("{} uses crate::{used}, which is not below {module}", file.display()));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "arrows that point up or sideways (a cycle in the making):\n{}", wrong.join("\n"));
}
