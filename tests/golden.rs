//! Golden trees: `golden/<name>/` holds every byte that `build` writes for
//! `examples/<name>.yaml` and `tests/hostile/hostile.yaml`. Compared exactly;
//! `UPDATE_GOLDEN=1 cargo test golden` rewrites them (refused under CI).
//! Read the diff of a rewrite like code before committing it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::harness;

/// Every topology with a golden tree, and the tree's directory name.
pub fn topologies() -> Vec<(String, PathBuf)> {
    let mut all: Vec<(String, PathBuf)> = harness::yaml_files(&harness::root().join("examples"))
        .into_iter()
        .map(|path| (stem(&path), path))
        .collect();
    all.push((
        "hostile".to_owned(),
        harness::root().join("tests/hostile/hostile.yaml"),
    ));
    all
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .expect("file stem")
        .to_owned()
}

/// Every tree the tests generate: each build's, then each change's
/// (named `change/<case>`).
pub fn every_tree() -> Vec<(String, BTreeMap<String, Vec<u8>>)> {
    let mut trees: Vec<_> = topologies()
        .into_iter()
        .map(|(name, path)| (name, generate(&path)))
        .collect();
    trees.extend(
        crate::change::trees()
            .into_iter()
            .map(|(name, tree)| (format!("change/{name}"), tree)),
    );
    trees
}

/// What `build` generates for a topology file, in memory; rendered once per
/// test run and path, since most test families read the same trees.
pub fn generate(path: &Path) -> BTreeMap<String, Vec<u8>> {
    static CACHE: std::sync::Mutex<BTreeMap<PathBuf, BTreeMap<String, Vec<u8>>>> =
        std::sync::Mutex::new(BTreeMap::new());
    if let Some(tree) = CACHE.lock().ok().and_then(|cache| cache.get(path).cloned()) {
        return tree;
    }
    let tree = generate_fresh(path);
    if let Ok(mut cache) = CACHE.lock() {
        cache.insert(path.to_path_buf(), tree.clone());
    }
    tree
}

/// What `build` generates for a topology file, rendered now.
pub fn generate_fresh(path: &Path) -> BTreeMap<String, Vec<u8>> {
    generate_with(path, None)
}

/// What `build --templates DIR` generates for a topology file, in memory.
pub fn generate_with(path: &Path, overrides: Option<&Path>) -> BTreeMap<String, Vec<u8>> {
    let source = runsheet::cli::read_source(path).expect("topology reads");
    let checked = runsheet::check::check(&source.text);
    assert!(
        !checked.has_errors(),
        "{} has errors: {:?}",
        path.display(),
        checked.diagnostics
    );
    let registry = runsheet::render::registry::Registry::new(overrides).expect("templates load");
    let generated = runsheet::generate(&source, &checked, &registry).expect("renders");
    generated
        .artifacts
        .iter()
        .map(|(path, bytes)| (path.to_owned(), bytes.to_vec()))
        .collect()
}

/// Every file under a directory, by `/`-separated relative path.
pub fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).expect("under dir");
                let name = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                files.insert(name, std::fs::read(&path).expect("golden file reads"));
            }
        }
    }
    files
}

/// A reviewer's account of how two trees differ; empty when equal.
pub fn differences(
    expected: &BTreeMap<String, Vec<u8>>,
    actual: &BTreeMap<String, Vec<u8>>,
) -> String {
    let mut report = String::new();
    for path in expected.keys().filter(|path| !actual.contains_key(*path)) {
        report.push_str(&format!("only in golden: {path}\n"));
    }
    for path in actual.keys().filter(|path| !expected.contains_key(*path)) {
        report.push_str(&format!("only in output: {path}\n"));
    }
    for (path, want) in expected {
        let Some(got) = actual.get(path) else {
            continue;
        };
        if want != got {
            let want_text = String::from_utf8_lossy(want);
            let got_text = String::from_utf8_lossy(got);
            let diff = similar::TextDiff::from_lines(want_text.as_ref(), got_text.as_ref());
            report.push_str(&format!(
                "{}",
                diff.unified_diff()
                    .context_radius(3)
                    .header(&format!("golden/{path}"), &format!("output/{path}"))
            ));
            let plain = |text: &str| text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
            if plain(&want_text) == plain(&got_text) {
                report.push_str(&format!(
                    "{path}: bytes differ outside the text (line endings or BOM)\n"
                ));
            }
        }
    }
    report
}

/// Whether this run rewrites golden files (`UPDATE_GOLDEN=1`, refused under CI).
pub fn updating() -> bool {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    if update {
        assert!(
            std::env::var_os("CI").is_none(),
            "UPDATE_GOLDEN is refused under CI: golden files change only in a reviewed commit"
        );
    }
    update
}

/// Compares a tree with its golden directory, or rewrites that directory
/// when updating; returns the differences (empty when equal or rewritten).
pub fn compare_or_update(dir: &Path, actual: &BTreeMap<String, Vec<u8>>) -> String {
    if !updating() {
        return differences(&read_tree(dir), actual);
    }
    let _ = std::fs::remove_dir_all(dir);
    for (relative, bytes) in actual {
        let file = relative
            .split('/')
            .fold(dir.to_path_buf(), |p, part| p.join(part));
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(&file, bytes).expect("write golden");
    }
    String::new()
}

#[test]
fn generated_trees_match_the_golden_files_byte_for_byte() {
    let mut failures = String::new();
    for (name, path) in topologies() {
        let dir = harness::root().join("golden").join(&name);
        let report = compare_or_update(&dir, &generate(&path));
        if !report.is_empty() {
            failures.push_str(&format!(
                "== golden/{name} differs from what {} generates:\n{report}\n",
                path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{failures}\nIf the change is intended, run UPDATE_GOLDEN=1 cargo test golden and review the diff."
    );
}

#[test]
fn generation_is_deterministic() {
    for (_, path) in topologies() {
        assert_eq!(
            generate_fresh(&path),
            generate_fresh(&path),
            "{}",
            path.display()
        );
    }
}

#[test]
fn the_harness_notices_a_change_and_a_missing_file() {
    let mut expected = BTreeMap::new();
    expected.insert("a.cmd".to_owned(), b"echo a\r\n".to_vec());
    expected.insert("b.cmd".to_owned(), b"echo b\r\n".to_vec());
    let mut actual = expected.clone();
    actual.remove("b.cmd");
    actual.insert("a.cmd".to_owned(), b"echo a\n".to_vec());
    let report = differences(&expected, &actual);
    assert!(report.contains("only in golden: b.cmd"), "{report}");
    assert!(report.contains("line endings or BOM"), "{report}");
}

#[test]
fn gitattributes_keeps_golden_bytes() {
    let attributes =
        std::fs::read_to_string(harness::root().join(".gitattributes")).expect(".gitattributes");
    assert!(
        attributes
            .lines()
            .any(|line| line.trim() == "golden/** -text"),
        "golden files need `golden/** -text`"
    );
}
