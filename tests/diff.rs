//! `runsheet diff`: what two topologies generate, compared in memory.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::golden;
use crate::harness::{self, run};

const SEED: &str = "examples/contoso-ccr.yaml";
/// The seed with the First Storage Group's database moved from D: to C:.
const PATH_MOVE: &str = "tests/diff/contoso-edb-moved.yaml";
/// The seed with a second storage group.
const NEW_GROUP: &str = "tests/diff/contoso-new-storage-group.yaml";

/// The files that really change when the database moves: the move steps'
/// scripts (found by step name, so renumbering does not matter) and the runbooks.
fn moved_files() -> BTreeSet<String> {
    let moved: BTreeSet<String> = golden::generate(&harness::root().join(PATH_MOVE))
        .into_keys()
        .filter(|path| {
            // plan.json carries each step's effects, which name the paths.
            path.starts_with("runbook.")
                || path == "plan.json"
                || [
                    "-suspend-and-move-paths.ps1",
                    "-move-database-files.ps1",
                    "-mount-and-resume.ps1",
                ]
                .iter()
                .any(|step| path.ends_with(step))
        })
        .collect();
    assert_eq!(moved.len(), 7, "{moved:?}");
    moved
}

fn diff(args: &[&str]) -> harness::Run {
    let mut all = vec!["diff"];
    all.extend_from_slice(args);
    run(&all)
}

/// Paths named by `---`/`+++` lines and by `header only:` lines.
fn named_paths(output: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut shown = BTreeSet::new();
    let mut header_only = BTreeSet::new();
    for line in output.lines() {
        if let Some(path) = line
            .strip_prefix("--- a/")
            .or_else(|| line.strip_prefix("+++ b/"))
        {
            shown.insert(path.to_owned());
        } else if let Some(path) = line.strip_prefix("header only: ") {
            header_only.insert(path.to_owned());
        }
    }
    (shown, header_only)
}

#[test]
fn the_same_file_and_copies_elsewhere_do_not_differ() {
    let seed = harness::path(SEED);
    let result = diff(&[&seed, &seed]);
    assert_eq!((result.code, result.stdout.as_str()), (0, ""));

    // A topology with a warning: the runbook repeats it with the file's name,
    // which must not make two copies under other names differ.
    let source = harness::root().join("tests/invalid/logs-with-database.yaml");
    let dir = harness::scratch("diff-copies");
    let (a, b) = (dir.join("a/estate.yaml"), dir.join("b/renamed.yaml"));
    for copy in [&a, &b] {
        std::fs::create_dir_all(copy.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&source, copy).expect("copy");
    }
    let result = diff(&[&a.display().to_string(), &b.display().to_string()]);
    assert_eq!(result.code, 0, "{}", result.stdout);
    assert_eq!(result.stdout, "");

    // Nor when the content differs: the runbooks of both sides name the same file.
    let mut text = std::fs::read_to_string(&b).expect("read");
    text.push_str("# reviewed\n");
    std::fs::write(&b, text).expect("write");
    let result = diff(&["--stat", &a.display().to_string(), &b.display().to_string()]);
    assert_eq!(result.code, 1);
    let files = golden::generate(&source).len();
    let total = format!(" 0 changed, 0 added, 0 removed, {files} header only; +0 -0 lines\n");
    assert!(result.stdout.ends_with(&total), "{}", result.stdout);
}

#[test]
fn a_database_move_shows_the_paths_in_the_move_scripts_and_the_runbook() {
    let result = diff(&[&harness::path(SEED), &harness::path(PATH_MOVE)]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    let out = &result.stdout;
    for (old, new) in [
        (
            r"-$edbPath = 'D:\Exchange\First Storage Group\Mailbox Database.edb'",
            r"+$edbPath = 'C:\ExchangeData\First Storage Group\Mailbox Database.edb'",
        ),
        (
            r"-$edbFolder = 'D:\Exchange\First Storage Group'",
            r"+$edbFolder = 'C:\ExchangeData\First Storage Group'",
        ),
        (
            r"`D:\Exchange\First Storage Group\Mailbox Database.edb` | moved |",
            r"`C:\ExchangeData\First Storage Group\Mailbox Database.edb` | moved |",
        ),
    ] {
        assert!(out.contains(old), "{old} missing:\n{out}");
        assert!(out.contains(new), "{new} missing:\n{out}");
    }

    let (shown, header_only) = named_paths(out);
    let moved = moved_files();
    assert_eq!(shown, moved, "files shown with hunks");
    // Every other file differs in its provenance only, and is listed once.
    let old = golden::generate(&harness::root().join(SEED));
    let new = golden::generate(&harness::root().join(PATH_MOVE));
    let rest: BTreeSet<String> = new
        .keys()
        .filter(|path| !moved.contains(*path))
        .cloned()
        .collect();
    assert!(rest.iter().any(|p| p.ends_with(".cmd")));
    assert_eq!(header_only, rest);
    for path in &header_only {
        assert_ne!(old.get(path), new.get(path), "{path} is unchanged");
    }
    // Real changes come first, header-only files after them.
    let first_header_only = out.find("header only:").expect("header-only lines");
    assert!(
        out[first_header_only..]
            .lines()
            .all(|l| l.starts_with("header only: "))
    );
    // The provenance lines are not shown without --headers.
    assert!(!out.contains("sha256"), "{out}");
}

#[test]
fn headers_shows_the_provenance_lines() {
    let result = diff(&["--headers", &harness::path(SEED), &harness::path(PATH_MOVE)]);
    assert_eq!(result.code, 1);
    let out = &result.stdout;
    let old =
        runsheet::artifact::sha256_hex(&std::fs::read(harness::root().join(SEED)).expect("seed"));
    assert!(
        out.contains(&format!(
            "-rem Generated by runsheet {} from topology sha256 {old}",
            env!("CARGO_PKG_VERSION")
        )),
        "{out}"
    );
    assert!(out.contains(&format!("-  \"topology_sha256\": \"{old}\",")));
    let (shown, header_only) = named_paths(out);
    assert!(header_only.iter().all(|path| shown.contains(path)));
    assert!(shown.contains("hosts/MAIL1/010-preflight.cmd"));
}

#[test]
fn a_comment_change_makes_every_file_header_only() {
    // Guards the provenance forms: a place that carries the topology hash and
    // is not recognised makes a file "changed" here.
    let dir = harness::scratch("diff-comment");
    let commented = dir.join("estate.yaml");
    let mut text = std::fs::read_to_string(harness::root().join(SEED)).expect("seed");
    text.push_str("# reviewed\n");
    std::fs::write(&commented, text).expect("write");
    let result = diff(&[
        "--format",
        "json",
        &harness::path(SEED),
        &commented.display().to_string(),
    ]);
    assert_eq!(result.code, 1);
    let document: Value = serde_json::from_str(&result.stdout).expect("JSON");
    let files = document["files"].as_array().expect("files");
    let generated = golden::generate(&harness::root().join(SEED));
    assert_eq!(files.len(), generated.len());
    for file in files {
        assert_eq!(file["status"], "header-only", "{file}");
    }
    assert_eq!(document["hunks"].as_array().map(Vec::len), Some(0));
}

#[test]
fn an_added_storage_group_shows_new_files_with_every_line_added() {
    let result = diff(&[&harness::path(SEED), &harness::path(NEW_GROUP)]);
    assert_eq!(result.code, 1, "{}", result.stderr);
    let out = &result.stdout;
    let added = golden::generate(&harness::root().join(NEW_GROUP));
    let old = golden::generate(&harness::root().join(SEED));
    let new_files: Vec<&String> = added.keys().filter(|p| !old.contains_key(*p)).collect();
    assert!(
        new_files
            .iter()
            .any(|p| p.ends_with("-create-storage-groups.ps1")),
        "{new_files:?}"
    );
    for path in new_files {
        let start = out
            .find(&format!(
                "new file: {path}\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,"
            ))
            .unwrap_or_else(|| panic!("{path} not shown as a new file:\n{out}"));
        let body = &out[start..];
        let lines: Vec<&str> = body
            .lines()
            .skip(4)
            .take_while(|l| l.starts_with('+'))
            .collect();
        let expected = String::from_utf8_lossy(&added[path]).lines().count();
        assert_eq!(lines.len(), expected, "{path}: every line is added");
    }
    assert!(
        out.contains("+$groupName = 'Second Storage Group'")
            || out.contains("Second Storage Group")
    );
}

#[test]
fn stat_prints_counts_and_a_total() {
    let result = diff(&["--stat", &harness::path(SEED), &harness::path(PATH_MOVE)]);
    assert_eq!(result.code, 1);
    let out = &result.stdout;
    let line = |suffix: &str| {
        out.lines()
            .find(|line| {
                line.split(" | ")
                    .next()
                    .is_some_and(|p| p.trim_end().ends_with(suffix))
            })
            .unwrap_or_else(|| panic!("no line for {suffix}:\n{out}"))
            .to_owned()
    };
    assert!(
        line("-move-database-files.ps1").ends_with(" | +2 -2"),
        "{out}"
    );
    // The file steps' effects name the paths: plan.json changes with them.
    assert!(!line("plan.json").ends_with(" | header only"), "{out}");
    assert!(!out.contains("@@"));
    let files = golden::generate(&harness::root().join(SEED)).len();
    let total = out.lines().last().unwrap_or_default();
    let expected = format!(
        "{files} files differ: 7 changed, 0 added, 0 removed, {} header only; +",
        files - 7
    );
    assert!(total.starts_with(&expected), "{total}");
    // The change set (a heading, the one move, a blank line), then the files.
    assert!(out.starts_with("change set:\n  storage group "), "{out}");
    assert_eq!(out.lines().count(), 3 + files + 1);
}

#[test]
fn unified_zero_shows_no_context() {
    // Context lines of the file diffs, after the change set's indented lines.
    let context_lines = |run: &harness::Run| {
        let files = run.stdout.find("--- a/").unwrap_or(0);
        run.stdout[files..]
            .lines()
            .filter(|l| l.starts_with(' '))
            .count()
    };
    let result = diff(&["-U", "0", &harness::path(SEED), &harness::path(PATH_MOVE)]);
    assert_eq!(result.code, 1);
    let removed = "\n-$edbPath = 'D:\\Exchange\\First Storage Group\\Mailbox Database.edb'\n";
    assert!(result.stdout.contains(removed), "{}", result.stdout);
    assert_eq!(context_lines(&result), 0, "{}", result.stdout);
    let normal = diff(&[&harness::path(SEED), &harness::path(PATH_MOVE)]);
    let wide = diff(&[
        "--unified",
        "5",
        &harness::path(SEED),
        &harness::path(PATH_MOVE),
    ]);
    assert!(
        context_lines(&wide) > context_lines(&normal),
        "{}",
        wide.stdout
    );
}

#[test]
fn json_lists_files_with_status_and_counts() {
    let result = diff(&[
        "--format",
        "json",
        &harness::path(SEED),
        &harness::path(NEW_GROUP),
    ]);
    assert_eq!(result.code, 1);
    let document: Value = serde_json::from_str(&result.stdout).expect("JSON");
    assert_eq!(document["format"], "runsheet-diff/1");
    assert_eq!(document["old"]["file"], harness::path(SEED));
    let seed_bytes = std::fs::read(harness::root().join(SEED)).expect("seed");
    assert_eq!(
        document["old"]["sha256"],
        runsheet::artifact::sha256_hex(&seed_bytes)
    );
    let status = |path: &str| {
        document["files"]
            .as_array()
            .expect("files")
            .iter()
            .find(|f| f["path"] == path)
            .map(|f| f["status"].as_str().unwrap_or_default().to_owned())
    };
    let old = golden::generate(&harness::root().join(SEED));
    let new = golden::generate(&harness::root().join(NEW_GROUP));
    let added = new
        .keys()
        .find(|p| p.ends_with("-create-storage-groups.ps1"))
        .expect("the new step");
    assert!(!old.contains_key(added));
    assert_eq!(status(added).as_deref(), Some("added"));
    let removed = old
        .keys()
        .find(|p| !new.contains_key(*p))
        .expect("a renumbered step");
    assert_eq!(status(removed).as_deref(), Some("removed"));
    assert_eq!(status("runbook.md").as_deref(), Some("changed"));
    assert_eq!(
        status("hosts/MAIL1/010-preflight.cmd").as_deref(),
        Some("header-only")
    );
    let hunks = document["hunks"].as_array().expect("hunks");
    assert!(hunks.iter().any(|h| h["path"] == "runbook.md"
        && h["lines"].as_array().is_some_and(|l| {
            l.iter()
                .any(|l| l.as_str().is_some_and(|l| l.starts_with('+')))
        })));

    let stat = diff(&[
        "--format",
        "json",
        "--stat",
        &harness::path(SEED),
        &harness::path(NEW_GROUP),
    ]);
    let document: Value = serde_json::from_str(&stat.stdout).expect("JSON");
    assert!(document.get("hunks").is_none());
    assert!(!stat.stdout.contains('\x1b'));
}

#[test]
fn colour_only_when_asked_and_never_in_json() {
    let args = |color: &'static str, format: &'static str| {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        let seed = harness::path(SEED);
        let moved = harness::path(PATH_MOVE);
        let code = runsheet::cli::run(
            [
                "runsheet", "--color", color, "diff", "--format", format, &seed, &moved,
            ],
            &mut stdout,
            &mut stderr,
        );
        (code, String::from_utf8(stdout).expect("UTF-8"))
    };
    let (code, coloured) = args("always", "text");
    assert_eq!(code, 1);
    assert!(coloured.contains("\x1b[31m-$edbPath"), "{coloured}");
    assert!(coloured.contains("\x1b[32m+$edbPath"));
    assert!(coloured.contains("\x1b[36m@@ "));
    assert!(!args("never", "text").1.contains('\x1b'));
    assert!(!args("always", "json").1.contains('\x1b'));
    // A pipe is not a terminal: auto means no colour.
    let output = harness::binary(&["diff", SEED, PATH_MOVE]);
    assert_eq!(output.status.code(), Some(1));
    assert!(!output.stdout.contains(&0x1b));
}

/// Runs the binary in `dir` with `input` on standard input.
fn binary_in(dir: &std::path::Path, args: &[&str], input: &[u8]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_runsheet"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    // A run that fails before reading its input closes the pipe early.
    let _ = stdin.write_all(input);
    drop(stdin);
    child.wait_with_output().expect("wait")
}

#[test]
fn standard_input_is_dash_and_named_stdin() {
    let seed = harness::path(SEED);
    let moved = harness::path(PATH_MOVE);
    let seed_bytes = std::fs::read(&seed).expect("seed");
    let dir = harness::scratch("diff-stdin");
    let same = binary_in(&dir, &["diff", "-", &seed], &seed_bytes);
    assert_eq!(same.status.code(), Some(0));
    assert!(same.stdout.is_empty());
    let changed = binary_in(&dir, &["diff", "--stat", "-", &moved], &seed_bytes);
    assert_eq!(changed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&changed.stdout).contains("| +2 -2"));
    let reversed = binary_in(&dir, &["diff", &moved, "-"], &seed_bytes);
    assert_eq!(reversed.status.code(), Some(1));

    let invalid =
        std::fs::read(harness::root().join("tests/invalid/node-count.yaml")).expect("read");
    let bad = binary_in(&dir, &["diff", "-", &seed], &invalid);
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(stderr.contains("--> <stdin>:30:12"), "{stderr}");
    assert!(stderr.contains("<stdin>: invalid: 1 error"), "{stderr}");

    let both = binary_in(&dir, &["diff", "-", "-"], &seed_bytes);
    assert_eq!(both.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&both.stderr).contains("both be standard input"));
    assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 0);
}

#[test]
fn trouble_exits_2_names_the_file_and_writes_nothing() {
    let seed = harness::path(SEED);
    let invalid = harness::path("tests/invalid/node-count.yaml");
    let dir = harness::scratch("diff-trouble");
    let validate = binary_in(&dir, &["validate", &invalid], b"");
    let diagnostics = String::from_utf8_lossy(&validate.stderr).into_owned();
    assert!(
        diagnostics.contains("node-count.yaml:30:12"),
        "{diagnostics}"
    );

    for args in [[&invalid, &seed], [&seed, &invalid]] {
        let output = binary_in(&dir, &["diff", args[0], args[1]], b"");
        assert_eq!(output.status.code(), Some(2));
        assert!(output.stdout.is_empty());
        // Exactly as validate shows them.
        assert_eq!(String::from_utf8_lossy(&output.stderr), diagnostics);
    }
    let missing = binary_in(&dir, &["diff", &seed, "no-such.yaml"], b"");
    assert_eq!(missing.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "error: cannot read no-such.yaml: no such file; check the path\n"
    );
    let both = binary_in(&dir, &["diff", "gone.yaml", &invalid], b"");
    assert_eq!(both.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&both.stderr);
    assert!(
        stderr.starts_with("error: cannot read gone.yaml"),
        "{stderr}"
    );
    assert!(stderr.ends_with(&diagnostics), "{stderr}");

    let templates = binary_in(
        &dir,
        &["diff", "--templates", "no-such-dir", &seed, &seed],
        b"",
    );
    assert_eq!(templates.status.code(), Some(2));
    assert!(!templates.stderr.is_empty());
    assert_eq!(
        std::fs::read_dir(&dir).expect("dir").count(),
        0,
        "nothing written"
    );
}

#[test]
fn templates_apply_to_both_sides() {
    let dir = harness::scratch("diff-templates");
    let templates = dir.join("templates");
    let result = run(&["templates", "-o", &templates.display().to_string()]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let quorum = templates.join("cmd/quorum.cmd.hbs");
    let text = std::fs::read_to_string(&quorum).expect("quorum template");
    std::fs::write(&quorum, format!("{text}rem overridden\n")).expect("write");
    let seed = harness::path(SEED);
    let moved = harness::path(PATH_MOVE);
    let templates = templates.display().to_string();
    // Overridden on both sides, so the override is no difference.
    let same = diff(&["--templates", &templates, &seed, &seed]);
    assert_eq!((same.code, same.stdout.as_str()), (0, ""));
    // Shown whole as context, the quorum script carries the override.
    let changed = diff(&[
        "--headers",
        "-U",
        "100000",
        "--templates",
        &templates,
        &seed,
        &moved,
    ]);
    assert_eq!(changed.code, 1);
    assert!(
        changed.stdout.contains("\n rem overridden\n"),
        "{}",
        changed.stdout
    );
}

#[test]
fn help_says_diff_keeps_diff_exit_codes() {
    let words = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let result = run(&["diff", "--help"]);
    assert_eq!(result.code, 0);
    let help = words(&result.stdout);
    assert!(
        help.contains("0 nothing differs, 1 something differs, 2 trouble"),
        "{help}"
    );
    let top = words(&run(&["--help"]).stdout);
    assert!(top.contains("`diff` alone keeps diff(1)'s codes"), "{top}");
    let readme = std::fs::read_to_string(harness::root().join("README.md")).expect("README");
    assert!(readme.contains("## Reviewing a change"));
    assert!(readme.contains("| `runsheet diff OLD NEW` |"));
}

/// Golden outputs of the path move: the full diff and the --stat.
#[test]
fn path_move_output_matches_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    if update {
        assert!(
            std::env::var_os("CI").is_none(),
            "UPDATE_GOLDEN is refused under CI: golden files change only in a reviewed commit"
        );
    }
    let dir = harness::root().join("golden/diff");
    let mut failures = String::new();
    for (name, extra) in [("path-move.diff", None), ("path-move.stat", Some("--stat"))] {
        let mut args = vec!["diff"];
        args.extend(extra);
        args.extend([SEED, PATH_MOVE]);
        // Relative paths, from the repository root, as a reviewer types them.
        let output = harness::binary(&args);
        assert_eq!(output.status.code(), Some(1), "{name}");
        let file = dir.join(name);
        if update {
            std::fs::create_dir_all(&dir).expect("mkdir");
            std::fs::write(&file, &output.stdout).expect("write golden");
            continue;
        }
        let expected = std::fs::read(&file).unwrap_or_default();
        if expected != output.stdout {
            let want = String::from_utf8_lossy(&expected);
            let got = String::from_utf8_lossy(&output.stdout);
            let diff = similar::TextDiff::from_lines(want.as_ref(), got.as_ref());
            failures.push_str(&format!(
                "{}",
                diff.unified_diff()
                    .context_radius(3)
                    .header(&format!("golden/diff/{name}"), &format!("output/{name}"))
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{failures}\nIf the change is intended, run UPDATE_GOLDEN=1 cargo test golden and review the diff."
    );
}

#[test]
fn a_closed_pipe_keeps_the_differs_code() {
    use std::io::Read as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_runsheet"))
        .args(["diff", SEED, PATH_MOVE])
        .current_dir(harness::root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // As `runsheet diff … | head -c0` would: the reader is gone before the output.
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `diff` renders NEW reusing the steps of OLD made from the same context:
/// what it compares must be, byte for byte, what `build` writes for NEW,
/// for every pair the change tests use, both ways, and for a pair whose
/// steps are renumbered (a storage group added before others).
#[test]
fn reusing_the_old_side_renders_exactly_what_a_build_renders() {
    use runsheet::render::{Reuse, StepMemo};
    let root = harness::root();
    let mut pairs: Vec<(std::path::PathBuf, std::path::PathBuf)> = vec![
        (root.join(SEED), root.join(PATH_MOVE)),
        (root.join(SEED), root.join(NEW_GROUP)),
    ];
    let cases = std::fs::read_dir(root.join("tests/change")).expect("change cases");
    for case in cases.flatten() {
        pairs.push((case.path().join("old.yaml"), case.path().join("new.yaml")));
    }
    let registry = runsheet::render::registry::Registry::new(None).expect("templates load");
    let load = |path: &std::path::Path| {
        let source = runsheet::cli::read_source(path).expect("topology reads");
        let checked = runsheet::check::check(&source.text);
        assert!(!checked.has_errors(), "{}", path.display());
        (source, checked)
    };
    let mut reused_somewhere = false;
    for (first, second) in &pairs {
        for (old, new) in [(first, second), (second, first)] {
            let (old_source, old_checked) = load(old);
            let (new_source, new_checked) = load(new);
            let memo = StepMemo::default();
            let old_files = runsheet::generate_reusing(
                &old_source,
                &old_checked,
                &registry,
                &Reuse::Record(&memo),
            )
            .expect("renders")
            .artifacts;
            let recorded = memo.into_recorded();
            let reusing = Reuse::From {
                steps: &recorded,
                files: &old_files,
            };
            let reused = runsheet::generate_reusing(&new_source, &new_checked, &registry, &reusing)
                .expect("renders")
                .artifacts;
            let alone = runsheet::generate(&new_source, &new_checked, &registry)
                .expect("renders")
                .artifacts;
            let differing: Vec<&str> = alone
                .iter()
                .filter(|(path, bytes)| reused.get(path) != Some(*bytes))
                .map(|(path, _)| path)
                .collect();
            assert!(
                differing.is_empty() && reused.len() == alone.len(),
                "{} -> {}: {differing:?}",
                old.display(),
                new.display()
            );
            reused_somewhere |= recorded.reused() > 0;
        }
    }
    assert!(
        reused_somewhere,
        "no step was ever reused: the test proves nothing"
    );
}
