//! One topology per finding: `tests/invalid/<code>[--variant].yaml` breaks only
//! the rule of that code. Its first line says what must be found:
//! `# expect: <severity> <code> <line>:<column>`.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{self, run};

struct Expectation {
    severity: String,
    code: String,
    line: u64,
    column: u64,
}

fn expectation(text: &str, file: &str) -> Expectation {
    let header = text
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("# expect: "));
    let parts: Vec<&str> = header
        .unwrap_or_else(|| panic!("{file}: no `# expect:` line"))
        .split(' ')
        .collect();
    let [severity, code, position] = parts.as_slice() else {
        panic!("{file}: malformed expectation")
    };
    let (line, column) = position.split_once(':').expect("line:column");
    Expectation {
        severity: (*severity).to_owned(),
        code: (*code).to_owned(),
        line: line.parse().expect("line"),
        column: column.parse().expect("column"),
    }
}

#[test]
fn each_fixture_reports_its_code_at_its_position_and_nothing_else() {
    let files = harness::yaml_files(&harness::root().join("tests/invalid"));
    assert!(files.len() >= 40, "fixtures went missing: {}", files.len());
    for path in files {
        let file = path.display().to_string();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("file stem")
            .to_owned();
        let expected = expectation(
            &std::fs::read_to_string(&path).expect("fixture reads"),
            &file,
        );
        assert_eq!(
            stem.split("--").next(),
            Some(expected.code.as_str()),
            "{file}: named after its code"
        );

        // A guard against runaway expansion (an alias bomb without a budget
        // runs for minutes), not a speed target: those live in the benches.
        // Generous, so a loaded machine does not fail it.
        let started = Instant::now();
        let json = run(&["validate", "--format", "json", &file]);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{file}: took {:?}",
            started.elapsed()
        );
        let expected_code = if expected.severity == "error" { 1 } else { 0 };
        assert_eq!(
            json.code, expected_code,
            "{file}: exit code; stderr: {}",
            json.stderr
        );
        let findings: Vec<Value> = serde_json::from_str(&json.stdout).expect("JSON output");
        assert!(!findings.is_empty(), "{file}: nothing found");
        for finding in &findings {
            assert_eq!(
                finding["code"],
                expected.code.as_str(),
                "{file}: only this rule breaks: {findings:#?}"
            );
        }
        let first = &findings[0];
        assert_eq!(first["severity"], expected.severity.as_str(), "{file}");
        assert_eq!(
            (first["line"].as_u64(), first["column"].as_u64()),
            (Some(expected.line), Some(expected.column)),
            "{file}: position"
        );
        assert_eq!(first["file"], file.as_str());
        for key in ["message", "pointer", "help"] {
            assert!(first.get(key).is_some(), "{file}: JSON finding lacks {key}");
        }

        let human = run(&["validate", &file]);
        assert_eq!(human.code, expected_code);
        let title = format!("{}[{}]: ", expected.severity, expected.code);
        assert!(
            human.stderr.contains(&title),
            "{file}: human output lacks {title}:\n{}",
            human.stderr
        );
        let arrow = format!("--> {file}:{}:{}", expected.line, expected.column);
        assert!(
            human.stderr.contains(&arrow),
            "{file}: human output lacks {arrow}:\n{}",
            human.stderr
        );
    }
}

#[test]
fn every_code_has_a_fixture() {
    let dir = harness::root().join("tests/invalid");
    // `unsupported-change` judges a pair of topologies, not one: tests/change.rs covers it.
    for code in runsheet::diag::Code::ALL
        .iter()
        .filter(|code| **code != runsheet::diag::Code::UnsupportedChange)
    {
        let found = harness::yaml_files(&dir).iter().any(|path| {
            path.file_stem()
                .and_then(|s| s.to_str())
                .is_some_and(|stem| stem.split("--").next() == Some(code.as_str()))
        });
        assert!(found, "no fixture in tests/invalid for `{code}`");
    }
}

#[test]
fn human_output_reads_like_rustc() {
    let file = harness::path("tests/invalid/witness-on-node.yaml");
    let result = run(&["validate", &file]);
    let expected = format!(
        "error[witness-on-node]: the witness host MAIL2 is a node of cluster MAIL
  --> {file}:32:13
   |
32 |       host: MAIL2
   |             ^^^^^
   |
   = help: MAIL2 is a node of cluster MAIL; the witness must be on a third server, such as a Hub Transport server

{file}: invalid: 1 error, 0 warnings
"
    );
    assert_eq!(result.stderr, expected);
    assert_eq!(result.stdout, "");
}

#[test]
fn a_duplicate_points_back_at_the_first_definition() {
    let file = harness::path("tests/invalid/duplicate-name.yaml");
    let result = run(&["validate", &file]);
    assert!(
        result
            .stderr
            .contains("first defined here; names compare case-insensitively"),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains("18 |   - name: MAIL1"),
        "{}",
        result.stderr
    );
}

#[test]
fn every_finding_of_a_file_is_reported_in_one_run_sorted_by_position() {
    let source = std::fs::read_to_string(harness::root().join("examples/contoso-ccr.yaml"))
        .expect("example");
    let broken = source
        .replace("host: HUB1", "host: MAIL2")
        .replace("clients: false", "clients: nope")
        .replace("name: CCRMAIL", "name: MAIL");
    let dir = harness::scratch("many-findings");
    let file = dir.join("many.yaml");
    std::fs::write(&file, broken).expect("write");
    // The schema error hides the semantic ones: semantic rules need a typed model.
    let result = run(&["validate", "--format", "json", &file.display().to_string()]);
    let findings: Vec<Value> = serde_json::from_str(&result.stdout).expect("JSON");
    assert_eq!(findings.len(), 1, "{findings:#?}");

    let fixed = std::fs::read_to_string(&file)
        .expect("read")
        .replace("clients: nope", "clients: false");
    std::fs::write(&file, fixed).expect("write");
    let result = run(&["validate", "--format", "json", &file.display().to_string()]);
    let findings: Vec<Value> = serde_json::from_str(&result.stdout).expect("JSON");
    let codes: Vec<&str> = findings.iter().filter_map(|f| f["code"].as_str()).collect();
    assert_eq!(codes, ["witness-on-node", "cms-name-is-cluster-name"]);
    let lines: Vec<u64> = findings.iter().filter_map(|f| f["line"].as_u64()).collect();
    assert!(lines.windows(2).all(|pair| pair[0] <= pair[1]), "{lines:?}");
}
