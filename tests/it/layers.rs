//! The layering rules, checked by reading the workspace itself (README "Layout"):
//!
//! - which crate may depend on which: domain on nothing of ours; crypto and store on domain;
//!   service on domain, crypto and store; http on domain and service only (no store, no sqlx);
//!   the binary on all of them. The compiler enforces whatever the manifests allow, so the
//!   manifests are what is checked here: a forbidden dependency fails this test.
//! - no cycles between the files of one crate (a parent module naming its own children is
//!   containment, not a cycle);
//! - the HTTP layer never makes the operator's Actor (only the binary does).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Each layer and the workspace crates (and external crates) it may depend on.
const ALLOWED: &[(&str, &[&str])] = &[
    ("domain", &[]),
    ("crypto", &["domain"]),
    ("store", &["domain"]),
    ("service", &["domain", "crypto", "store"]),
    ("http", &["domain", "service"]),
];

/// External crates a layer must not use, whatever its manifest says.
const FORBIDDEN_EXTERNAL: &[(&str, &[&str])] = &[
    ("domain", &["sqlx", "axum", "hyper", "tokio", "reqwest"]),
    ("http", &["sqlx"]),
    ("service", &["axum", "hyper"]),
];

fn manifest_deps(krate: &str) -> BTreeSet<String> {
    let path = Path::new(ROOT)
        .join("crates")
        .join(krate)
        .join("Cargo.toml");
    let text = std::fs::read_to_string(&path).expect("manifest");
    let value: toml::Value = toml::from_str(&text).expect("manifest parses");
    let mut out = BTreeSet::new();
    for section in ["dependencies", "build-dependencies"] {
        if let Some(t) = value.get(section).and_then(|v| v.as_table()) {
            for (name, spec) in t {
                let package = spec.get("package").and_then(|p| p.as_str()).unwrap_or(name);
                out.insert(package.to_string());
            }
        }
    }
    out
}

#[test]
fn each_layer_depends_only_on_the_layers_below_it() {
    for (krate, allowed) in ALLOWED {
        let deps = manifest_deps(krate);
        let ours: BTreeSet<String> = deps
            .iter()
            .filter_map(|d| d.strip_prefix("streamgate-").map(str::to_string))
            .collect();
        let allowed: BTreeSet<String> = allowed.iter().map(|s| s.to_string()).collect();
        let extra: Vec<_> = ours.difference(&allowed).collect();
        assert!(
            extra.is_empty(),
            "crates/{krate} depends on {extra:?}: the layering allows only {allowed:?}"
        );
        assert!(
            !deps.contains("streamgate"),
            "crates/{krate} depends on the binary's crate"
        );
    }
    for (krate, forbidden) in FORBIDDEN_EXTERNAL {
        let deps = manifest_deps(krate);
        for f in *forbidden {
            assert!(!deps.contains(*f), "crates/{krate} must not depend on {f}");
        }
    }
}

/// The `.rs` files of one crate, by module path (`a::b`; the crate root is "").
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(src, &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(src).expect("under src");
            let mut parts: Vec<String> = rel
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            (parts.join("::"), p)
        })
        .collect()
}

/// Source without comments and string literals, so paths in them do not count.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn ident_at(s: &[u8], mut i: usize) -> (String, usize) {
    let start = i;
    while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'_') {
        i += 1;
    }
    (String::from_utf8_lossy(&s[start..i]).into_owned(), i)
}

/// Every path that starts at `crate::` or `super::` in `code`, with `{…}` groups expanded.
fn paths(code: &str, here: &[String]) -> Vec<Vec<String>> {
    fn tail(s: &[u8], mut i: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
        let mut path = prefix;
        loop {
            while i < s.len() && s[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < s.len() && s[i] == b'{' {
                i += 1;
                loop {
                    while i < s.len() && (s[i].is_ascii_whitespace() || s[i] == b',') {
                        i += 1;
                    }
                    if i >= s.len() || s[i] == b'}' {
                        out.push(path.clone());
                        return i + 1;
                    }
                    i = tail(s, i, path.clone(), out);
                }
            }
            let (id, j) = ident_at(s, i);
            if id.is_empty() {
                out.push(path);
                return i;
            }
            i = j;
            if id == "self" {
                continue;
            }
            path.push(id);
            if s[i..].starts_with(b"::") {
                i += 2;
            } else {
                out.push(path);
                return i;
            }
        }
    }
    let s = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let boundary =
            i == 0 || !(s[i - 1].is_ascii_alphanumeric() || s[i - 1] == b'_' || s[i - 1] == b':');
        if boundary && s[i..].starts_with(b"crate::") {
            i = tail(s, i + 7, Vec::new(), &mut out);
        } else if boundary && s[i..].starts_with(b"super::") {
            let mut base: Vec<String> = here.to_vec();
            let mut j = i;
            while s[j..].starts_with(b"super::") {
                base.pop();
                j += 7;
            }
            i = tail(s, j, base, &mut out);
        } else {
            i += 1;
        }
    }
    out
}

/// The module a path lands in: its longest prefix that is a file of the crate.
fn resolve(path: &[String], mods: &BTreeMap<String, PathBuf>) -> String {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| mods.contains_key(m))
        .unwrap_or_default()
}

fn is_within(inner: &str, outer: &str) -> bool {
    outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}::"))
}

/// Cycles (strongly connected components of more than one file) among a crate's files.
fn cycles(src: &Path) -> Vec<Vec<String>> {
    let mods = modules(src);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, file) in &mods {
        let code = code_only(&std::fs::read_to_string(file).expect("read"));
        let here: Vec<String> = if name.is_empty() {
            vec![]
        } else {
            name.split("::").map(str::to_string).collect()
        };
        for p in paths(&code, &here) {
            let to = resolve(&p, &mods);
            // A module naming its own descendants is containment, not an import.
            if to != *name && !is_within(&to, name) {
                edges.entry(name.clone()).or_default().insert(to);
            }
        }
    }
    // Tarjan's strongly connected components.
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on: BTreeSet<String>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit(t: &mut T, v: &str) {
        t.index.insert(v.into(), t.next);
        t.low.insert(v.into(), t.next);
        t.next += 1;
        t.stack.push(v.into());
        t.on.insert(v.into());
        let next: Vec<String> = t.edges.get(v).into_iter().flatten().cloned().collect();
        for w in next {
            if !t.index.contains_key(&w) {
                visit(t, &w);
                let lw = t.low[&w];
                let lv = t.low[v];
                t.low.insert(v.into(), lv.min(lw));
            } else if t.on.contains(&w) {
                let iw = t.index[&w];
                let lv = t.low[v];
                t.low.insert(v.into(), lv.min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(&w);
                let done = w == v;
                comp.push(w);
                if done {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        edges: &edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: vec![],
        on: BTreeSet::new(),
        next: 0,
        out: vec![],
    };
    for v in mods.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn no_two_files_of_a_layer_import_each_other() {
    let mut crates: Vec<PathBuf> = ALLOWED
        .iter()
        .map(|(k, _)| Path::new(ROOT).join("crates").join(k).join("src"))
        .collect();
    crates.push(Path::new(ROOT).join("src"));
    for src in crates {
        let found = cycles(&src);
        assert!(
            found.is_empty(),
            "{}: files in a cycle: {found:?}",
            src.display()
        );
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "pub mod a;\npub mod b;\npub mod c;\n").unwrap();
    std::fs::write(
        src.join("a.rs"),
        "use crate::b::{x, y};\n// crate::c::z in a comment\n",
    )
    .unwrap();
    std::fs::write(src.join("b.rs"), "fn f() { super::a::g() }\n").unwrap();
    std::fs::write(
        src.join("c.rs"),
        "use crate::a;\nconst S: &str = \"crate::a::c\";\n",
    )
    .unwrap();
    assert_eq!(cycles(src), vec![vec!["a".to_string(), "b".to_string()]]);
    // A parent naming its children is no cycle.
    std::fs::create_dir(src.join("d")).unwrap();
    std::fs::write(src.join("b.rs"), "pub mod d;\n").unwrap();
    std::fs::write(src.join("d/mod.rs"), "pub mod e;\npub use e::X;\n").unwrap();
    std::fs::write(src.join("d/e.rs"), "use super::Y;\n").unwrap();
    assert!(cycles(src).is_empty());
}

#[test]
fn only_config_loading_reads_the_environment() {
    let mut files: Vec<PathBuf> = ALLOWED
        .iter()
        .flat_map(|(k, _)| {
            modules(&Path::new(ROOT).join("crates").join(k).join("src")).into_values()
        })
        .collect();
    files.extend(modules(&Path::new(ROOT).join("src")).into_values());
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        // main.rs hands the environment to Config::load; the testkit reads the test database URL.
        if matches!(name.as_str(), "config.rs" | "main.rs" | "testkit.rs") {
            continue;
        }
        let code = code_only(&std::fs::read_to_string(&file).unwrap());
        for needle in ["env::var", "set_var", "env::vars", "remove_var"] {
            assert!(
                !code.contains(needle),
                "{} reads the environment ({needle}): settings come from Config",
                file.display()
            );
        }
    }
}

#[test]
fn only_the_binary_makes_the_operator() {
    let http = Path::new(ROOT).join("crates/http/src");
    for (_, file) in modules(&http) {
        let code = code_only(&std::fs::read_to_string(&file).unwrap());
        assert!(
            !code.contains("Actor::operator") && !code.contains(".in_account("),
            "{} acts as the operator",
            file.display()
        );
    }
}
