//! Running runsheet in-process and as a process, and reading fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// What one run printed and returned.
pub struct Run {
    pub code: u8,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the CLI in-process with colour off.
pub fn run(args: &[&str]) -> Run {
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut all = vec!["runsheet", "--color", "never"];
    all.extend_from_slice(args);
    let code = runsheet::cli::run(all, &mut stdout, &mut stderr);
    Run {
        code,
        stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
    }
}

/// Runs the built binary, for what only a real process shows (exit status, pipes).
pub fn binary(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_runsheet"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("the runsheet binary runs")
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path under the repository root, as text.
pub fn path(relative: &str) -> String {
    root().join(relative).display().to_string()
}

/// Every `.yaml` file of a directory, sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixture directory exists")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

/// A fresh scratch directory under target/, emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target").join("test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// A test that cannot run its tool: fails under `CI`, and otherwise says so
/// on the terminal. libtest captures only the `print!` family, and shows
/// captured output for failing tests alone, so `eprintln!` would hide the
/// skip of a passing test; a write to the stderr handle itself is not
/// captured and shows in `cargo test`'s output, next to the test's `ok`.
pub fn skip(test: &str, why: &str) {
    use std::io::Write as _;
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} cannot run under CI: {why}"
    );
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED {test}: {why}");
}
