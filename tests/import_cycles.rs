//! No import cycle between the files of `src/` in the `use crate::…` graph. A file depends on
//! another when it names an item of the other's module by its crate path: a `use crate::…` of
//! it (a glob `use crate::x::*` names every item of `x`), a path written in the code
//! (`crate::core::plan::ImportPlan`), or a path through a module it imported by name
//! (`use crate::core::insured; … insured::plan::plan(…)`). Paths relative to a module
//! (`super::…`, `self::…`, a child's name) stay inside that module's folder and are not
//! followed. The test reads the sources as text (comments, strings and character literals
//! left out) and fails naming every cycle it finds, each with its edges.

#![cfg(not(target_arch = "wasm32"))]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path inside the crate, without `crate`: `["core", "plan", "verify"]`.
type ModPath = Vec<String>;

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("a source directory").flatten().collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file is: `src/core/plan/mod.rs` → `core::plan`; `src/lib.rs` → the root.
/// `None` for the binaries' entry points, which are crates of their own.
fn module_of(relative: &str) -> Option<ModPath> {
    let inner = relative.strip_prefix("src/")?.strip_suffix(".rs")?;
    if inner == "main" || inner.starts_with("bin/") {
        return None;
    }
    let mut parts: ModPath = inner.split('/').map(str::to_string).collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    Some(parts)
}

/// The code of a file without comments, string literals and character literals (each
/// replaced by a space), so that only paths written in code remain.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_before(&chars, i) {
            // A raw string: r"…", r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
            out.push(' ');
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push(' ');
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{1F600}') or a lifetime ('a).
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push(' ');
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push(' ');
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

/// A `use` tree without its renames: `a::{b as c, d}` → `a::{b, d}`.
fn without_renames(tree: &str) -> String {
    let words: Vec<&str> = tree.split_whitespace().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < words.len() {
        if words[i] == "as" && i + 1 < words.len() {
            // Keep what follows the new name (`c,` → `,`, `c}` → `}`).
            let tail: String =
                words[i + 1].chars().skip_while(|c| c.is_alphanumeric() || *c == '_').collect();
            out.push_str(&tail);
            i += 2;
        } else {
            out.push_str(words[i]);
            i += 1;
        }
    }
    out
}

/// The paths a `use` tree names: `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand_use(tree: &str) -> Vec<String> {
    let tree = without_renames(tree);
    let Some(open) = tree.find('{') else { return vec![tree] };
    let prefix = tree[..open].trim_end_matches(':').to_string();
    let body = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut items = Vec::new();
    let (mut depth, mut current) = (0, String::new());
    for c in body.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if c == ',' && depth == 0 {
            items.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    items.push(current);
    items
        .into_iter()
        .filter(|i| !i.is_empty())
        .flat_map(|i| expand_use(&i))
        .map(|p| if prefix.is_empty() { p } else { format!("{prefix}::{p}") })
        .collect()
}

/// The sources as modules: module path → (file, code without comments and literals).
struct Crate {
    files: BTreeMap<ModPath, (String, String)>,
}

impl Crate {
    fn read(root: &Path) -> Crate {
        let mut paths = Vec::new();
        rust_files(&root.join("src"), &mut paths);
        let mut files = BTreeMap::new();
        for path in paths {
            let relative =
                path.strip_prefix(root).expect("under the root").to_string_lossy().replace('\\', "/");
            if let Some(module) = module_of(&relative) {
                let text = std::fs::read_to_string(&path).expect("a readable source file");
                files.insert(module, (relative, code_only(&text)));
            }
        }
        Crate { files }
    }

    /// The file of the longest module prefix of `path` (an item's path ends in its name).
    fn file_of(&self, path: &[String]) -> Option<&str> {
        (0..=path.len()).rev().find_map(|n| self.files.get(&path[..n]).map(|(f, _)| f.as_str()))
    }

    fn is_module(&self, path: &[String]) -> bool {
        self.files.contains_key(path)
    }

    /// A `crate::…` path without `crate`; `None` for any other path (`std::…`, another
    /// crate, or a path relative to the module: `super::…`, `self::…`, a child's name).
    fn absolute(path: &str) -> Option<ModPath> {
        let mut segments = path.split("::").filter(|s| !s.is_empty());
        if segments.next()? != "crate" {
            return None;
        }
        Some(segments.filter(|s| *s != "self").map(str::to_string).collect())
    }

    /// Which files each file depends on.
    fn edges(&self) -> BTreeMap<String, BTreeSet<String>> {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (file, code) in self.files.values() {
            let deps = edges.entry(file.clone()).or_default();
            let mut add = |target: Option<&str>| {
                if let Some(t) = target.filter(|t| *t != file) {
                    deps.insert(t.to_string());
                }
            };
            // `use` items, and the modules they bring in under a name.
            let mut aliases: BTreeMap<String, ModPath> = BTreeMap::new();
            let mut rest = String::new();
            let mut cursor = 0;
            for (start, end, tree) in use_items(code) {
                rest.push_str(&code[cursor..start]);
                cursor = end;
                for item in expand_use(&tree) {
                    let glob = item.ends_with('*');
                    let Some(mut path) = Crate::absolute(item.trim_end_matches("::*")) else { continue };
                    if glob || !self.is_module(&path) {
                        // An item, or every item of a module.
                        add(self.file_of(&path));
                    } else if let Some(name) = path.last().cloned() {
                        // A module brought in by its name: what counts is what is used through it.
                        aliases.insert(name, std::mem::take(&mut path));
                    }
                }
            }
            rest.push_str(&code[cursor..]);
            // Paths written in the code: crate::…, super::…, self::…, and through an alias.
            for (head, path) in code_paths(&rest) {
                let absolute = match head.as_str() {
                    "crate" => Crate::absolute(&format!("{head}{path}")),
                    alias => aliases.get(alias).map(|base| {
                        let mut p = base.clone();
                        p.extend(path.split("::").filter(|s| !s.is_empty()).map(str::to_string));
                        p
                    }),
                };
                if let Some(p) = absolute {
                    add(self.file_of(&p));
                }
            }
        }
        edges
    }
}

/// Every `use …;` of the code: (start, end, the tree after `use`).
fn use_items(code: &str) -> Vec<(usize, usize, String)> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(found) = code[i..].find("use ") {
        let start = i + found;
        let boundary = start == 0 || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if !boundary {
            i = start + 4;
            continue;
        }
        let Some(semi) = code[start..].find(';') else { break };
        let end = start + semi + 1;
        out.push((start, end, code[start + 4..end - 1].to_string()));
        i = end;
    }
    out
}

/// Every `head::a::b` path of the code: (head, "::a::b").
fn code_paths(code: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    while i < chars.len() {
        if !ident(chars[i]) || (i > 0 && (ident(chars[i - 1]) || chars[i - 1] == ':')) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && ident(chars[i]) {
            i += 1;
        }
        let head: String = chars[start..i].iter().collect();
        let mut path = String::new();
        while chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
            let seg_start = i + 2;
            let mut j = seg_start;
            while j < chars.len() && ident(chars[j]) {
                j += 1;
            }
            if j == seg_start {
                break;
            }
            path.push_str("::");
            path.extend(&chars[seg_start..j]);
            i = j;
        }
        if !path.is_empty() {
            out.push((head, path));
        }
    }
    out
}

/// The strongly connected components of more than one file (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let edges = s.edges;
        for w in edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.found
}

#[test]
fn no_file_of_src_takes_part_in_an_import_cycle() {
    let krate = Crate::read(Path::new(env!("CARGO_MANIFEST_DIR")));
    let edges = krate.edges();
    assert!(edges.len() > 50, "the sources were found: {} files", edges.len());
    let found = cycles(&edges);
    let text: Vec<String> = found
        .iter()
        .map(|component| {
            let lines: Vec<String> = component
                .iter()
                .map(|f| {
                    let within: Vec<&str> =
                        edges[f].iter().filter(|t| component.contains(t)).map(String::as_str).collect();
                    format!("  {f} → {}", within.join(", "))
                })
                .collect();
            format!("{} files:\n{}", component.len(), lines.join("\n"))
        })
        .collect();
    assert!(found.is_empty(), "import cycles between files of src/:\n{}", text.join("\n"));
}

#[test]
fn the_cycle_check_sees_a_cycle_through_an_imported_module_and_a_glob() {
    let module = |p: &str| p.split("::").map(str::to_string).collect::<ModPath>();
    let mut files = BTreeMap::new();
    let mut put = |m: &str, f: &str, code: &str| {
        files.insert(module(m), (f.to_string(), code_only(code)));
    };
    // a → b::inner through the imported module `b`; the comment and the string name c.
    put("a", "src/a/mod.rs", "use crate::b;\nfn f() { b::inner::g(); } // crate::c::never");
    // b::inner → b through a glob; `super` is not followed.
    put("b::inner", "src/b/inner.rs", "use crate::b::*;\nuse super::x;\nconst S: &str = \"crate::c\";");
    // b → a through a renamed item.
    put("b", "src/b/mod.rs", "pub mod inner;\nuse crate::a::{f as renamed, g};");
    // c → a and b by name only: nothing used through them.
    put("c", "src/c.rs", "use crate::{a, b};\nfn h<'a>(x: &'a str) -> char { 'x' }");
    let krate = Crate { files };
    let edges = krate.edges();
    let set = |files: &[&str]| files.iter().map(|f| f.to_string()).collect::<BTreeSet<String>>();
    assert_eq!(edges["src/a/mod.rs"], set(&["src/b/inner.rs"]));
    assert_eq!(edges["src/b/inner.rs"], set(&["src/b/mod.rs"]));
    assert_eq!(edges["src/b/mod.rs"], set(&["src/a/mod.rs"]));
    assert_eq!(edges["src/c.rs"], set(&[]));
    assert_eq!(
        cycles(&edges),
        vec![vec!["src/a/mod.rs".to_string(), "src/b/inner.rs".to_string(), "src/b/mod.rs".to_string()]]
    );
}
