//! No import cycle inside the crate: no module refers to one that, directly
//! or through others, refers back to it. The layers only point one way
//! (`router` → `operations` → `state`/`store`), and this test keeps it so.
//!
//! It reads the library's sources from `lib.rs` down, following `mod`
//! declarations, and collects every path a module names: `use` trees,
//! `crate::…`, `super::…`, `self::…` and child-module paths in code.
//!
//! * A **module** is a file module: `lib.rs` (the crate root, `crate`),
//!   `x.rs` or `x/mod.rs`, and every file below them (`store/users.rs` is
//!   `store::users`). Inline modules belong to their file.
//! * A path **refers to** the deepest module it names: `crate::store::users::User`
//!   to `store::users`, `crate::store::Store` (or `super::Store` from
//!   `store::users`) to `store` itself (its `mod.rs`), `crate::Emulator`
//!   to the crate root. A `mod x;` declaration is not a reference; a `use`
//!   (a re-export too) is.
//! * Code under `#[cfg(test)]` (test modules and test-only items) is left
//!   out: it is not part of the library. `harness` and `fuzzing`, built
//!   with the `fuzzing` feature too, are in.
//! * Two views must be acyclic: the **top-level** modules, each standing
//!   for everything below it (`store` is `store/` whole); and **by file**
//!   within `operations` and `store` (each file its own module, `mod.rs`
//!   included), the other top-level modules whole as before.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A module's path below the crate root (`[]` is the root).
type ModPath = Vec<String>;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Rust source as identifiers, `::` and punctuation; comments, strings and
/// character literals are dropped (a path in a string is no reference).
fn lex(src: &str) -> Vec<Token> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == '"' {
            i = skip_string(&chars, i + 1, &mut line);
        } else if c == '\'' {
            if at(i + 1) == '\\' {
                // An escaped character literal: up to its closing quote.
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                // A lifetime or a label.
                i += 1;
                while i < chars.len() && is_ident_char(chars[i]) {
                    i += 1;
                }
            }
        } else if is_ident_char(c) {
            let start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let prefix = matches!(word.as_str(), "r" | "b" | "br" | "c" | "cr");
            if prefix && at(i) == '"' {
                i = skip_string(&chars, i + 1, &mut line);
            } else if prefix && word.ends_with('r') && at(i) == '#' {
                let mut hashes = 0;
                while at(i + hashes) == '#' {
                    hashes += 1;
                }
                if at(i + hashes) == '"' {
                    i = skip_raw_string(&chars, i + hashes + 1, hashes, &mut line);
                } else {
                    // A raw identifier, `r#name`.
                    i += hashes;
                }
            } else {
                out.push(Token {
                    tok: Tok::Ident(word),
                    line,
                });
            }
        } else if c == ':' && at(i + 1) == ':' {
            out.push(Token {
                tok: Tok::Sep,
                line,
            });
            i += 2;
        } else {
            out.push(Token {
                tok: Tok::Punct(c),
                line,
            });
            i += 1;
        }
    }
    out
}

/// Skips a (non-raw) string's body from just after its opening quote.
fn skip_string(chars: &[char], mut i: usize, line: &mut usize) -> usize {
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            c => {
                if c == '\n' {
                    *line += 1;
                }
                i += 1;
            }
        }
    }
    i
}

/// Skips a raw string's body from just after its opening quote.
fn skip_raw_string(chars: &[char], mut i: usize, hashes: usize, line: &mut usize) -> usize {
    while i < chars.len() {
        if chars[i] == '"' && (1..=hashes).all(|k| chars.get(i + k) == Some(&'#')) {
            return i + 1 + hashes;
        }
        if chars[i] == '\n' {
            *line += 1;
        }
        i += 1;
    }
    i
}

fn ident(tokens: &[Token], i: usize) -> Option<&str> {
    match tokens.get(i).map(|t| &t.tok) {
        Some(Tok::Ident(word)) => Some(word),
        _ => None,
    }
}

fn punct(tokens: &[Token], i: usize, c: char) -> bool {
    tokens.get(i).map(|t| &t.tok) == Some(&Tok::Punct(c))
}

fn sep(tokens: &[Token], i: usize) -> bool {
    tokens.get(i).map(|t| &t.tok) == Some(&Tok::Sep)
}

/// The end (exclusive) of the attribute that opens at `i` (`#`), and
/// whether it is exactly `#[cfg(test)]`.
fn attribute(tokens: &[Token], i: usize) -> (usize, bool) {
    let mut j = i + 1;
    if punct(tokens, j, '!') {
        j += 1;
    }
    if !punct(tokens, j, '[') {
        return (i + 1, false);
    }
    let open = j;
    let mut depth = 0;
    while j < tokens.len() {
        match &tokens[j].tok {
            Tok::Punct('[' | '(' | '{') => depth += 1,
            Tok::Punct(']' | ')' | '}') => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
        j += 1;
    }
    let inner: Vec<&Tok> = tokens[open + 1..j].iter().map(|t| &t.tok).collect();
    let is_test = inner
        == [
            &Tok::Ident("cfg".into()),
            &Tok::Punct('('),
            &Tok::Ident("test".into()),
            &Tok::Punct(')'),
        ];
    (j + 1, is_test)
}

/// The end (exclusive) of the item or statement that starts at `i`: at a
/// `;` or `,` outside brackets, after the block that closes it, or before
/// a bracket that closes what encloses it.
fn item_end(tokens: &[Token], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < tokens.len() {
        match &tokens[i].tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(c @ (')' | ']' | '}')) => {
                if depth == 0 {
                    return i;
                }
                depth -= 1;
                if depth == 0 && *c == '}' {
                    return i + 1;
                }
            }
            Tok::Punct(';' | ',') if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    i
}

/// A `use` tree or a path at `i`, expanded into whole paths (a group
/// `a::{b, c::d}` is `a::b` and `a::c::d`; `self` and `*` name the
/// prefix). Returns the paths and the end of the tree.
fn path_tree(tokens: &[Token], mut i: usize, prefix: &[String]) -> (Vec<Vec<String>>, usize) {
    let mut path = prefix.to_vec();
    loop {
        if let Some(word) = ident(tokens, i) {
            if word != "self" || path.is_empty() {
                path.push(word.to_owned());
            }
            i += 1;
            if sep(tokens, i) {
                i += 1;
                continue;
            }
            return (vec![path], i);
        }
        if punct(tokens, i, '*') {
            return (vec![path], i + 1);
        }
        if punct(tokens, i, '{') {
            i += 1;
            let mut all = Vec::new();
            while i < tokens.len() && !punct(tokens, i, '}') {
                if punct(tokens, i, ',') {
                    i += 1;
                    continue;
                }
                let (paths, end) = path_tree(tokens, i, &path);
                all.extend(paths);
                // `x as y`: the alias names nothing new.
                i = end;
                while i < tokens.len() && !punct(tokens, i, ',') && !punct(tokens, i, '}') {
                    i += 1;
                }
            }
            return (all, i + 1);
        }
        // A turbofish or anything else ends the path.
        return (vec![path], i);
    }
}

/// One file module: where it is.
struct ModFile {
    file: PathBuf,
}

/// A path a module names, resolved from its head, with where it is.
struct Named {
    target: ModPath,
    line: usize,
    text: String,
}

/// Reads a file: its non-test `mod x;` children and every path it names.
fn scan(module: &[String], src: &str) -> (BTreeSet<String>, Vec<Named>) {
    let tokens = lex(src);
    let mut children = BTreeSet::new();
    let mut named = Vec::new();
    // Inline modules open at this point: (name, brace depth inside it).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let token = &tokens[i];
        match &token.tok {
            Tok::Punct('#') => {
                let (mut end, is_test) = attribute(&tokens, i);
                if is_test {
                    // Further attributes of the same item go with it.
                    while punct(&tokens, end, '#') {
                        end = attribute(&tokens, end).0;
                    }
                    i = item_end(&tokens, end);
                } else {
                    i = end;
                }
                continue;
            }
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            Tok::Ident(word) if word == "mod" => {
                if let Some(name) = ident(&tokens, i + 1) {
                    if punct(&tokens, i + 2, ';') && inline.is_empty() {
                        children.insert(name.to_owned());
                    } else if punct(&tokens, i + 2, '{') {
                        inline.push((name.to_owned(), depth + 1));
                    }
                }
            }
            Tok::Ident(word) if sep(&tokens, i + 1) && !(i > 0 && sep(&tokens, i - 1)) => {
                let here: ModPath = module
                    .iter()
                    .cloned()
                    .chain(inline.iter().map(|(name, _)| name.clone()))
                    .collect();
                let base = match word.as_str() {
                    "crate" => Some(Vec::new()),
                    "self" => Some(here.clone()),
                    "super" => Some(here[..here.len().saturating_sub(1)].to_vec()),
                    _ => None,
                };
                // A child module named from its parent's file.
                let child_head = base.is_none() && inline.is_empty() && children.contains(word);
                if base.is_some() || child_head {
                    let (paths, end) = path_tree(&tokens, i, &[]);
                    for path in paths {
                        let text = path.join("::");
                        let mut target = if child_head {
                            here.clone()
                        } else {
                            base.clone().unwrap_or_default()
                        };
                        let mut rest = &path[..];
                        if !child_head {
                            rest = &rest[1..];
                            while rest.first().is_some_and(|s| s == "super") {
                                target.pop();
                                rest = &rest[1..];
                            }
                        }
                        target.extend(rest.iter().cloned());
                        named.push(Named {
                            target,
                            line: token.line,
                            text,
                        });
                    }
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    (children, named)
}

/// Where the sources of `module`'s children are: beside `lib.rs` and
/// `mod.rs`, in a folder of its name otherwise.
fn child_dir(file: &Path) -> PathBuf {
    let dir = file.parent().unwrap_or(Path::new("")).to_path_buf();
    match file.file_name().and_then(|n| n.to_str()) {
        Some("lib.rs" | "mod.rs") => dir,
        _ => dir.join(file.file_stem().unwrap_or_default()),
    }
}

/// An edge of the module graph, with the first place that makes it.
type Edges = BTreeMap<(ModPath, ModPath), String>;

/// Every module of the library under `src` and the references between
/// them.
fn module_graph(src: &Path) -> (BTreeMap<ModPath, ModFile>, Edges) {
    let mut modules = BTreeMap::new();
    let mut found: Vec<(ModPath, Vec<Named>)> = Vec::new();
    let mut queue = VecDeque::from([(Vec::new(), src.join("lib.rs"))]);
    while let Some((module, file)) = queue.pop_front() {
        if modules.contains_key(&module) {
            continue;
        }
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let (children, named) = scan(&module, &text);
        let dir = child_dir(&file);
        for child in &children {
            let flat = dir.join(format!("{child}.rs"));
            let nested = dir.join(child).join("mod.rs");
            let path = if flat.exists() { flat } else { nested };
            let mut child_path = module.clone();
            child_path.push(child.clone());
            queue.push_back((child_path, path));
        }
        found.push((module.clone(), named));
        modules.insert(module, ModFile { file });
    }
    let mut edges = Edges::new();
    for (from, named) in found {
        let file = modules[&from].file.clone();
        for n in named {
            // The deepest module the path names.
            let to = (0..=n.target.len())
                .rev()
                .map(|len| n.target[..len].to_vec())
                .find(|prefix| modules.contains_key(prefix))
                .unwrap_or_default();
            if to != from {
                let file = file.strip_prefix(src).unwrap_or(&file).display();
                edges
                    .entry((from.clone(), to))
                    .or_insert_with(|| format!("{file}:{} `{}`", n.line, n.text));
            }
        }
    }
    (modules, edges)
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".into()
    } else {
        module.join("::")
    }
}

/// Where modules are told apart file by file; elsewhere a top-level module
/// is one, whatever files it spans.
const FILE_BY_FILE: [&str; 2] = ["operations", "store"];

/// The graph with each module cut to what a view tells apart: the top-level
/// modules (`by_file` false), or also the files of [`FILE_BY_FILE`].
fn view(edges: &Edges, by_file: bool) -> Edges {
    let cut = |m: &ModPath| -> ModPath {
        let split = by_file
            && m.first()
                .is_some_and(|top| FILE_BY_FILE.contains(&top.as_str()));
        m[..m.len().min(if split { 2 } else { 1 })].to_vec()
    };
    let mut out = Edges::new();
    for ((from, to), place) in edges {
        let (from, to) = (cut(from), cut(to));
        if from != to {
            out.entry((from, to)).or_insert_with(|| place.clone());
        }
    }
    out
}

/// The cycles of a graph: for each module on one, a shortest one through
/// it, written `a → b → a` with the place that makes each step.
fn cycles(edges: &Edges) -> Vec<String> {
    let mut next: BTreeMap<&ModPath, Vec<&ModPath>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        next.entry(from).or_default().push(to);
    }
    let mut found: BTreeSet<Vec<ModPath>> = BTreeSet::new();
    let mut out = Vec::new();
    for &start in next.keys() {
        // A shortest way back to `start` (breadth first).
        let mut parent: BTreeMap<&ModPath, &ModPath> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        let mut last = None;
        'search: while let Some(node) = queue.pop_front() {
            for &to in next.get(node).map(Vec::as_slice).unwrap_or_default() {
                if to == start {
                    last = Some(node);
                    break 'search;
                }
                if !parent.contains_key(to) {
                    parent.insert(to, node);
                    queue.push_back(to);
                }
            }
        }
        let Some(mut node) = last else { continue };
        let mut way = Vec::new();
        while node != start {
            way.push(node.clone());
            node = parent[node];
        }
        way.push(start.clone());
        way.reverse();
        // The same cycle found from another of its modules is not new.
        let first = (0..way.len()).min_by_key(|&i| &way[i]).unwrap_or(0);
        way.rotate_left(first);
        if !found.insert(way.clone()) {
            continue;
        }
        way.push(way[0].clone());
        let mut text = way.iter().map(|m| name(m)).collect::<Vec<_>>().join(" → ");
        for step in way.windows(2) {
            let place = &edges[&(step[0].clone(), step[1].clone())];
            let _ = write!(
                text,
                "\n    {} → {}: {place}",
                name(&step[0]),
                name(&step[1])
            );
        }
        out.push(text);
    }
    out
}

/// Every cycle: among the top-level modules, then among the files of
/// [`FILE_BY_FILE`] and the other top-level modules.
fn all_cycles(edges: &Edges) -> Vec<String> {
    let mut out: Vec<String> = cycles(&view(edges, false))
        .into_iter()
        .map(|c| format!("top level: {c}"))
        .collect();
    let top: BTreeSet<&String> = out.iter().collect();
    let by_file: Vec<String> = cycles(&view(edges, true))
        .into_iter()
        .map(|c| format!("by file: {c}"))
        .filter(|c| !top.contains(&c.replacen("by file", "top level", 1)))
        .collect();
    out.extend(by_file);
    out
}

fn reaches(edges: &Edges, from: &str, to: &str) -> bool {
    let path = |s: &str| -> ModPath { s.split("::").map(str::to_owned).collect() };
    let top = edges;
    let (from, to) = (path(from), path(to));
    let inside = |m: &ModPath, of: &ModPath| m.starts_with(of);
    let mut seen = BTreeSet::new();
    let mut todo: Vec<ModPath> = top
        .keys()
        .filter(|(a, _)| inside(a, &from))
        .map(|(a, _)| a.clone())
        .collect();
    while let Some(node) = todo.pop() {
        if inside(&node, &to) {
            return true;
        }
        for (a, b) in top.keys() {
            if *a == node && seen.insert(b.clone()) {
                todo.push(b.clone());
            }
        }
    }
    false
}

fn crate_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let (modules, edges) = module_graph(&crate_src());
    // The reader sees the crate: its layers and the references between them.
    for module in [
        "router",
        "operations",
        "operations::users",
        "store",
        "store::users",
        "faults",
        "router::fault_hook",
    ] {
        let path: ModPath = module.split("::").map(str::to_owned).collect();
        assert!(modules.contains_key(&path), "{module} not found");
    }
    assert!(reaches(&edges, "router", "operations"));
    assert!(reaches(&edges, "operations", "store"));
    let found = all_cycles(&edges);
    assert!(
        found.is_empty(),
        "{} import cycle(s) in cube-emulator:\n{}",
        found.len(),
        found.join("\n")
    );
}

#[test]
fn the_layers_point_one_way() {
    let (_, edges) = module_graph(&crate_src());
    // Below the router, nothing reaches back up to it; below the
    // operations, nothing reaches them.
    for below in [
        "auth",
        "operations",
        "state",
        "store",
        "providers",
        "requests",
        "faults",
    ] {
        assert!(!reaches(&edges, below, "router"), "{below} reaches router");
    }
    for below in ["auth", "state", "store", "providers", "requests", "faults"] {
        assert!(
            !reaches(&edges, below, "operations"),
            "{below} reaches operations"
        );
    }
    // The store knows nothing of requests, answers or the state above it.
    for upper in ["auth", "state", "error"] {
        assert!(!reaches(&edges, "store", upper), "store reaches {upper}");
    }
    // The fault rules and their table know nothing of callers, the log or
    // the state that holds them: the router's fault hook does what a rule
    // says.
    for upper in ["auth", "state", "requests"] {
        assert!(!reaches(&edges, "faults", upper), "faults reaches {upper}");
    }
    // The providers are given what they need, never the state.
    for upper in ["auth", "state"] {
        assert!(
            !reaches(&edges, "providers", upper),
            "providers reaches {upper}"
        );
    }
}

/// Writes a small crate's sources into a fresh folder.
fn fixture(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cube-emulator-module-cycles-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn every_way_of_naming_a_module_is_seen() {
    // Each of these closes a cycle of `a` and `b` (or of `b`'s children).
    let closers = [
        ("use crate::a::Thing;", "a"),
        ("use crate::{x, a::{self, Other}};", "a"),
        ("fn f() { crate::a::thing(); }", "a"),
        ("use super::a;", "a"),
        ("use super::{a::*, x};", "a"),
        ("fn f() -> crate::a::T<u8> { todo() }", "a"),
        ("#[cfg(feature = \"x\")]\nuse crate::a::Thing;", "a"),
    ];
    for (closer, into) in closers {
        let src = fixture(
            "closers",
            &[
                ("lib.rs", "mod a;\nmod b;\nmod x;\n"),
                ("a.rs", "use crate::b::B;\n"),
                ("b.rs", &format!("// b\n{closer}\n")),
                ("x.rs", ""),
            ],
        );
        let (_, edges) = module_graph(&src);
        let found = all_cycles(&edges);
        assert_eq!(found.len(), 1, "{closer}: {found:?}");
        assert!(
            found[0].contains(&format!("b → {into}")),
            "{closer}: {found:?}"
        );
        let _ = std::fs::remove_dir_all(&src);
    }
    // Within a folder module: a child naming its parent's items, and the
    // parent naming the child's in code.
    let src = fixture(
        "nested",
        &[
            ("lib.rs", "mod store;\n"),
            (
                "store/mod.rs",
                "mod u;\nfn open() { u::migrate(); }\npub struct Db;\n",
            ),
            ("store/u.rs", "use super::Db;\npub fn migrate() {}\n"),
        ],
    );
    let (_, edges) = module_graph(&src);
    let found = all_cycles(&edges);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("by file: store → store::u → store"),
        "{found:?}"
    );
    let _ = std::fs::remove_dir_all(&src);
}

#[test]
fn what_names_no_module_is_no_reference() {
    let src = fixture(
        "ignored",
        &[
            ("lib.rs", "mod a;\nmod b;\n"),
            ("a.rs", "use crate::b::B;\n"),
            (
                "b.rs",
                r###"
// crate::a::X in a comment
/* crate::a::X /* nested */ crate::a::X */
const S: &str = "crate::a::X";
const R: &str = r#"crate::a::X " crate::a::X"#;
const C: char = '"';
fn life<'a>(x: &'a str) -> &'a str { x }
pub(crate) struct B;
#[cfg(test)]
mod tests { use crate::a::X; }
#[cfg(test)]
use crate::a::Y;
impl B {
    #[cfg(test)]
    fn only_in_tests() { crate::a::z(); }
}
"###,
            ),
        ],
    );
    let (_, edges) = module_graph(&src);
    assert_eq!(all_cycles(&edges), Vec::<String>::new());
    assert!(edges.contains_key(&(vec!["a".to_owned()], vec!["b".to_owned()])));
    assert_eq!(edges.len(), 1, "{edges:?}");
    let _ = std::fs::remove_dir_all(&src);
}
