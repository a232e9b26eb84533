//! The stages depend one way: every `crate::…` path in `src/` must point to
//! the importing module's own stage or to a stage below it, and no group of
//! modules imports each other in a circle.
//!
//! The layer order is declared once, in docs/architecture.md, between the
//! `layers:begin` and `layers:end` markers: one line per layer, lowest first,
//! listing the top-level modules of that layer. Modules of the same layer may
//! not import each other (each is a leaf for the others). Test-only items
//! (what follows `#[cfg(test)]`: a `mod tests { … }` body or a `mod support;`
//! line) and comments are not read: a test may reach for anything, and a doc
//! link is no dependency.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layer order from docs/architecture.md: module → layer index.
fn declared_layers(doc: &str) -> BTreeMap<String, usize> {
    let begin = doc
        .find("<!-- layers:begin -->")
        .expect("docs/architecture.md has a <!-- layers:begin --> marker");
    let end = doc
        .find("<!-- layers:end -->")
        .expect("docs/architecture.md has a <!-- layers:end --> marker");
    let mut layers = BTreeMap::new();
    let mut index = 0;
    for line in doc[begin..end].lines().skip(1) {
        // Lines look like "3. `check`" or "0. `files`, `japan`".
        let names: Vec<String> = line
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        if names.is_empty() {
            continue;
        }
        for name in names {
            layers.insert(name, index);
        }
        index += 1;
    }
    assert!(index >= 2, "docs/architecture.md declares no layers");
    layers
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a source file: `src/render/layout.rs` → `render::layout`,
/// `src/run/mod.rs` → `run`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .filter(|p| p != "mod")
        .collect();
    parts.join("::")
}

/// Every `crate::a::b…` path in the code (not comments, not unit tests),
/// with its 1-based line number. `use crate::{a, b}` groups are not used in
/// this code base; the test refuses them so that nothing slips past.
fn crate_paths(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut skip = TestItems::default();
    for (i, line) in text.lines().enumerate() {
        if skip.is_test_code(line) {
            continue;
        }
        let code = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        assert!(
            !code.contains("crate::{"),
            "line {}: a grouped `use crate::{{…}}` hides its paths from this test",
            i + 1
        );
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let path: Vec<String> = after
                .split("::")
                .map(|seg| {
                    seg.chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect::<String>()
                })
                .take_while(|seg| !seg.is_empty())
                .collect();
            if !path.is_empty() {
                out.push((i + 1, path));
            }
            rest = after;
        }
    }
    out
}

/// Finds the test-only items of a file as its lines go by: the line after a
/// `#[cfg(test)]` attribute, and when that item has a body (`mod tests {`),
/// every line up to its closing brace. A `#[cfg(test)] mod support;`
/// declaration among the imports hides only itself.
#[derive(Default)]
struct TestItems {
    /// Saw `#[cfg(test)]`; the next line is the item it guards.
    armed: bool,
    /// Brace depth inside a test item's body (0 when outside).
    depth: i64,
}

impl TestItems {
    fn is_test_code(&mut self, line: &str) -> bool {
        let braces = |l: &str| {
            l.chars().filter(|&c| c == '{').count() as i64
                - l.chars().filter(|&c| c == '}').count() as i64
        };
        if self.depth > 0 {
            self.depth += braces(line);
            return true;
        }
        if line.trim_start().starts_with("#[cfg(test)]") {
            self.armed = true;
            return true;
        }
        if self.armed {
            if line.trim_start().starts_with("#[") {
                return true; // another attribute on the same item
            }
            self.armed = false;
            self.depth = braces(line).max(0);
            return true;
        }
        false
    }
}

struct Source {
    module: String,
    file: String,
    imports: Vec<(usize, Vec<String>)>,
}

fn read_sources() -> Vec<Source> {
    let src = common::root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .iter()
        .map(|f| Source {
            module: module_of(&src, f),
            file: f
                .strip_prefix(common::root())
                .unwrap()
                .display()
                .to_string(),
            imports: crate_paths(&std::fs::read_to_string(f).unwrap()),
        })
        .collect()
}

/// The back-edges: imports of a higher layer, or of another module of the
/// same layer, as "file:line: a imports b".
fn violations(sources: &[Source], layers: &BTreeMap<String, usize>) -> Vec<String> {
    let mut bad = Vec::new();
    for s in sources {
        let top = s.module.split("::").next().unwrap();
        if top == "lib" || top == "main" {
            continue;
        }
        let Some(&mine) = layers.get(top) else {
            bad.push(format!(
                "{}: module `{top}` is not in the layer order of docs/architecture.md",
                s.file
            ));
            continue;
        };
        for (line, path) in &s.imports {
            let target = path[0].as_str();
            if target == top {
                continue;
            }
            match layers.get(target) {
                Some(&theirs) if theirs < mine => {}
                Some(&theirs) => bad.push(format!(
                    "{}:{line}: `{top}` (layer {mine}) imports `crate::{}` (layer {theirs})",
                    s.file,
                    path.join("::")
                )),
                None => bad.push(format!(
                    "{}:{line}: `crate::{target}` is not in the layer order",
                    s.file
                )),
            }
        }
    }
    bad
}

/// Module-level cycles (inside a stage too): the modules of each strongly
/// connected group of more than one module.
fn cycles(sources: &[Source]) -> Vec<Vec<String>> {
    let modules: BTreeSet<&str> = sources.iter().map(|s| s.module.as_str()).collect();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in sources {
        for (_, path) in &s.imports {
            // The longest prefix of the path that is a module of ours.
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|m| modules.contains(m.as_str()));
            if let Some(t) = target {
                let t = *modules.get(t.as_str()).unwrap();
                if t != s.module && !s.module.starts_with(&format!("{t}::")) {
                    edges.entry(s.module.as_str()).or_default().insert(t);
                }
            }
        }
    }
    // Tarjan's strongly connected components.
    struct State<'a> {
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(v: &'a str, edges: &BTreeMap<&'a str, BTreeSet<&'a str>>, st: &mut State<'a>) {
        st.index.insert(v, st.next);
        st.low.insert(v, st.next);
        st.next += 1;
        st.stack.push(v);
        st.on_stack.insert(v);
        for &w in edges.get(v).into_iter().flatten() {
            if !st.index.contains_key(w) {
                visit(w, edges, st);
                let lw = st.low[w];
                let lv = st.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if st.on_stack.contains(w) {
                let iw = st.index[w];
                let lv = st.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if st.low[v] == st.index[v] {
            let mut group = Vec::new();
            loop {
                let w = st.stack.pop().unwrap();
                st.on_stack.remove(w);
                group.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                group.sort();
                st.out.push(group);
            }
        }
    }
    let mut st = State {
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for &m in &modules {
        if !st.index.contains_key(m) {
            visit(m, &edges, &mut st);
        }
    }
    st.out
}

fn architecture_doc() -> String {
    std::fs::read_to_string(common::root().join("docs/architecture.md"))
        .expect("docs/architecture.md is committed")
}

#[test]
fn every_import_goes_down_the_declared_layers() {
    let layers = declared_layers(&architecture_doc());
    let bad = violations(&read_sources(), &layers);
    assert!(
        bad.is_empty(),
        "imports against the layer order of docs/architecture.md:\n{}",
        bad.join("\n")
    );
}

#[test]
fn no_modules_import_each_other_in_a_circle() {
    let found = cycles(&read_sources());
    assert!(found.is_empty(), "module cycles: {found:?}");
}

#[test]
fn the_check_itself_finds_a_back_edge_and_a_cycle() {
    // A reader that imports the run driver, and two modules in a circle:
    // both must be reported, so the two tests above cannot pass by reading
    // nothing.
    let layers = declared_layers(&architecture_doc());
    let sources = vec![
        Source {
            module: "input::csv".into(),
            file: "src/input/csv.rs".into(),
            imports: crate_paths("use crate::run::Outcome;\n"),
        },
        Source {
            module: "run".into(),
            file: "src/run/mod.rs".into(),
            imports: crate_paths("use crate::input::csv::read;\n"),
        },
    ];
    let bad = violations(&sources, &layers);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].starts_with("src/input/csv.rs:1: `input`"), "{bad:?}");
    assert_eq!(
        cycles(&sources),
        vec![vec!["input::csv".to_owned(), "run".to_owned()]]
    );
}

#[test]
fn imports_after_a_test_only_declaration_are_still_read() {
    let text = "//! doc\n#[cfg(test)]\nmod support;\nuse crate::run::Outcome;\n\
                #[cfg(test)]\nmod tests {\n    use crate::cli::x;\n    fn f() { }\n}\n\
                use crate::job::Job;\n";
    let paths: Vec<(usize, String)> = crate_paths(text)
        .into_iter()
        .map(|(line, p)| (line, p.join("::")))
        .collect();
    assert_eq!(
        paths,
        vec![
            (4, "run::Outcome".to_string()),
            (10, "job::Job".to_string())
        ]
    );
}
