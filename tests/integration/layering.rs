//! The layering the README describes: no library module imports one above it (or a
//! sibling on its own level). Read from the sources' `crate::` paths, so a new import
//! that breaks the layering fails here.

use crate::cli_support::repo;
use std::collections::BTreeMap;

/// Levels from the README's "Layout": utilities, then scenario → network | arch →
/// partition → sim | train → search → evaluate → report | deploy.
const LEVELS: [(&str, u32); 14] = [
    ("atomic", 0),
    ("ronfmt", 0),
    ("scenario", 1),
    ("network", 2),
    ("arch", 2),
    ("partition", 3),
    ("calibrate", 3),
    ("sim", 4),
    ("train", 4),
    ("search", 5),
    ("evaluate", 6),
    ("report", 7),
    ("deploy", 7),
    ("lib", 8),
];

fn level(module: &str) -> u32 {
    LEVELS
        .iter()
        .find(|(m, _)| *m == module)
        .unwrap_or_else(|| {
            panic!("module `{module}` has no level: add it to LEVELS and the README")
        })
        .1
}

/// Every `.rs` file under `dir`, recursively.
fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The modules a source text names through `crate::<module>` (code and doc links;
/// plain `//` comments aside).
fn imports(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("//") && !t.starts_with("///") && !t.starts_with("//!") {
            continue;
        }
        let mut rest = t;
        while let Some(i) = rest.find("crate::") {
            let name: String = rest[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                found.push(name);
            }
            rest = &rest[i + 7..];
        }
    }
    found
}

/// The top-level module of source file `f` under `src`.
fn top_module(src: &std::path::Path, f: &std::path::Path) -> String {
    let rel = f.strip_prefix(src).unwrap();
    let top = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    top.trim_end_matches(".rs").to_string()
}

#[test]
fn no_module_imports_one_above_it() {
    let src = repo("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    // exported macros live at the crate root: count them as their defining module
    let mut macros: BTreeMap<String, String> = BTreeMap::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let module = top_module(&src, f);
        for part in text.split("macro_rules! ").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            macros.insert(name, module.clone());
        }
    }
    let mut bad: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut seen = 0;
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let module = top_module(&src, f);
        if module == "main" || module == "cli" {
            continue; // the binary: it uses the library through `distrinas::`
        }
        let text = std::fs::read_to_string(f).unwrap();
        for dep in imports(&text) {
            let dep = macros.get(&dep).cloned().unwrap_or(dep);
            seen += 1;
            if dep != module && level(&dep) >= level(&module) {
                bad.entry(rel.display().to_string()).or_default().push(dep);
            }
        }
    }
    assert!(
        seen > 100,
        "only {seen} crate:: paths found: is the scan broken?"
    );
    assert!(
        bad.is_empty(),
        "imports of a module on the same level or above: {bad:?}"
    );
}

#[test]
fn the_readme_lists_the_levels_in_order() {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let layout = &readme[readme
        .find("## Layout")
        .expect("README has a Layout section")..];
    let mut last = (0, "");
    for (m, l) in LEVELS.iter().filter(|(m, l)| *l > 0 && *m != "lib") {
        let at = layout
            .find(&format!("`src/{m}`"))
            .unwrap_or_else(|| panic!("the README's Layout does not name src/{m}"));
        if *l > last.0 {
            assert!(
                at > layout.find(&format!("`src/{}`", last.1)).unwrap_or(0),
                "src/{m} is listed before src/{}",
                last.1
            );
        }
        last = (*l, m);
    }
}

#[test]
fn the_scan_sees_an_upward_import() {
    assert_eq!(
        imports("use crate::partition::Candidate;\n// crate::report in a comment\n/// [`crate::sim::x`]"),
        ["partition", "sim"]
    );
}
