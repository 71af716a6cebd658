//! Each command, its streams and its exit code.

use serde_json::Value;

use crate::harness::{self, binary, run};

#[test]
fn validate_accepts_the_examples_without_findings() {
    for path in harness::yaml_files(&harness::root().join("examples")) {
        let file = path.display().to_string();
        let result = run(&["validate", &file]);
        assert_eq!(result.code, 0, "{}", result.stderr);
        assert_eq!(result.stdout, format!("{file}: valid (0 warnings)\n"));
        assert_eq!(result.stderr, "");
    }
}

#[test]
fn validate_reports_every_file_and_fails_if_any_is_invalid() {
    let good = harness::path("examples/contoso-ccr.yaml");
    let bad = harness::path("tests/invalid/node-count.yaml");
    let result = run(&["validate", &good, &bad]);
    assert_eq!(result.code, 1);
    assert!(result.stdout.contains(&format!("{good}: valid")));
    assert!(
        result
            .stderr
            .contains(&format!("{bad}: invalid: 1 error, 0 warnings"))
    );
}

#[test]
fn validate_warnings_do_not_fail() {
    let file = harness::path("tests/invalid/logs-with-database.yaml");
    let result = run(&["validate", &file]);
    assert_eq!(result.code, 0);
    assert!(
        result.stderr.contains("warning[logs-with-database]"),
        "{}",
        result.stderr
    );
    assert!(result.stdout.contains("valid (1 warning)"));
}

#[test]
fn a_missing_file_is_an_io_error_with_exit_4() {
    let result = run(&["validate", "no/such/topology.yaml"]);
    assert_eq!(result.code, 4);
    assert_eq!(
        result.stderr,
        "error: cannot read no/such/topology.yaml: no such file; check the path\n"
    );
    assert_eq!(result.stdout, "");
}

#[test]
fn a_directory_or_non_utf8_file_is_an_io_error() {
    let result = run(&["validate", &harness::path("examples")]);
    assert_eq!(result.code, 4);
    assert!(
        result.stderr.contains("it is a directory"),
        "{}",
        result.stderr
    );

    let dir = harness::scratch("non-utf8");
    let file = dir.join("latin1.yaml");
    std::fs::write(&file, b"name: caf\xe9\n").expect("write");
    let result = run(&["validate", &file.display().to_string()]);
    assert_eq!(result.code, 4);
    assert!(result.stderr.contains("not UTF-8"), "{}", result.stderr);
}

#[test]
fn an_unreadable_file_does_not_hide_the_others() {
    let good = harness::path("examples/contoso-ccr.yaml");
    let result = run(&["validate", "missing.yaml", &good]);
    assert_eq!(result.code, 4);
    assert!(result.stdout.contains("valid"));
}

#[test]
fn json_format_prints_an_array_of_located_findings() {
    let file = harness::path("tests/invalid/duplicate-address.yaml");
    let result = run(&["validate", "--format", "json", &file]);
    assert_eq!(result.code, 1);
    assert_eq!(result.stderr, "");
    let findings: Vec<Value> = serde_json::from_str(&result.stdout).expect("JSON array");
    let finding = &findings[0];
    let keys: Vec<&str> = finding
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "code", "severity", "message", "file", "line", "column", "pointer", "help"
        ]
    );
    assert_eq!(finding["code"], "duplicate-address");
    assert_eq!(finding["severity"], "error");
    assert_eq!(finding["pointer"], "/hosts/2/addresses/Public");

    let clean = run(&[
        "validate",
        "--format",
        "json",
        &harness::path("examples/contoso-ccr.yaml"),
    ]);
    assert_eq!(clean.code, 0);
    assert_eq!(clean.stdout.trim(), "[]");
}

#[test]
fn init_prints_an_example_that_validates() {
    let result = run(&["init"]);
    assert_eq!(result.code, 0);
    assert!(
        result
            .stdout
            .starts_with("# yaml-language-server: $schema=topology.schema.json\n")
    );
    // The schema path works where the user saves the file: beside it, and
    // the file says how to put it there.
    assert!(
        !result.stdout.contains("$schema=../"),
        "a path that only works in examples/"
    );
    assert!(
        result
            .stdout
            .contains("runsheet schema > topology.schema.json")
    );
    let checked = runsheet::check::check(&result.stdout);
    assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
}

#[test]
fn an_unreadable_file_is_a_finding_in_json_not_an_empty_list() {
    let good = harness::path("examples/contoso-ccr.yaml");
    let result = run(&["validate", "--format", "json", "missing.yaml", &good]);
    assert_eq!(result.code, 4);
    let findings: Vec<Value> = serde_json::from_str(&result.stdout).expect("JSON array");
    assert_eq!(findings.len(), 1, "{}", result.stdout);
    assert_eq!(findings[0]["code"], "unreadable");
    assert_eq!(findings[0]["severity"], "error");
    assert_eq!(findings[0]["file"], "missing.yaml");
    assert!(findings[0]["line"].is_null());
    assert!(
        findings[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no such file")),
        "{}",
        result.stdout
    );
}

#[test]
fn a_missing_field_points_at_the_key_that_names_the_object() {
    let result = run(&[
        "validate",
        &harness::path("tests/invalid/missing-field.yaml"),
    ]);
    assert_eq!(result.code, 1);
    assert!(
        result.stderr.contains("missing-field.yaml:31:5\n"),
        "at `witness:`, not at its first field `host:`:\n{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("31 |     witness:"),
        "{}",
        result.stderr
    );
}

#[test]
fn a_tab_that_starts_a_line_is_reported_on_its_line() {
    let dir = harness::scratch("tab-line");
    let file = dir.join("tab.yaml");
    let example =
        std::fs::read_to_string(harness::path("examples/contoso-ccr.yaml")).expect("read");
    // Line 30 is a host's `addresses:`; put a tab where its indentation was.
    let text: Vec<String> = example
        .lines()
        .enumerate()
        .map(|(index, line)| {
            if index + 1 == 30 {
                format!("\t{}", line.trim_start())
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert!(text[29].starts_with("\taddresses:"), "{}", text[29]);
    std::fs::write(&file, text.join("\n")).expect("write");
    let result = run(&["validate", &file.display().to_string()]);
    assert_eq!(result.code, 1);
    assert!(
        result.stderr.contains("tab.yaml:30:1\n"),
        "{}",
        result.stderr
    );
}

#[test]
fn an_unknown_value_in_an_override_names_it_and_lists_the_known_ones() {
    let dir = harness::scratch("override-unknown");
    let overrides = dir.join("overrides");
    std::fs::create_dir_all(&overrides).expect("mkdir");
    std::fs::write(
        overrides.join("quorum.cmd.hbs"),
        "{{> cmd_header}}\nrem {{cmd_text cluster.nmae}}\n",
    )
    .expect("write");
    let out = dir.join("out");
    let result = run(&[
        "build",
        &harness::path("examples/contoso-ccr.yaml"),
        "-o",
        &out.display().to_string(),
        "--templates",
        &overrides.display().to_string(),
    ]);
    assert_eq!(result.code, 3, "{}", result.stderr);
    assert!(
        !result.stderr.contains("Some("),
        "Rust's Option leaks: {}",
        result.stderr
    );
    assert!(
        result
            .stderr
            .contains("`cluster.nmae` is not a value this template knows"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("known names in `cluster`: account,")
            && result.stderr.contains(" name,"),
        "{}",
        result.stderr
    );
    assert!(!out.exists(), "nothing written");
}

#[test]
fn completions_are_printed_for_a_shell() {
    let result = run(&["completions", "bash"]);
    assert_eq!(result.code, 0);
    assert!(result.stdout.contains("runsheet"));
    assert!(result.stdout.contains("validate"));
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let result = run(&["validate"]);
    assert_eq!(result.code, 2);
    assert!(result.stderr.contains("FILE"), "{}", result.stderr);
    let result = run(&["frobnicate"]);
    assert_eq!(result.code, 2);
    let result = run(&["--help"]);
    assert_eq!(result.code, 0);
    assert!(result.stdout.contains("Exit codes"));
}

#[test]
fn the_binary_exits_with_the_documented_codes() {
    assert_eq!(
        binary(&["validate", "examples/contoso-ccr.yaml"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        binary(&["validate", "tests/invalid/node-count.yaml"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(binary(&["validate"]).status.code(), Some(2));
    let missing = binary(&["validate", "nope.yaml"]);
    assert_eq!(missing.status.code(), Some(4));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_runsheet"))
        .arg("schema")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Close our end of stdout at once, as `runsheet schema | head -c0` would.
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
