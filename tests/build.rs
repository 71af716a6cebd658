//! `build`, `plan` and `templates` from the command line: trees, refusals,
//! overrides, exit codes.

use crate::golden;
use crate::harness::{self, run};

#[test]
fn build_writes_the_golden_tree() {
    let dir = harness::scratch("build-golden");
    let out = dir.join("out");
    let result = run(&[
        "build",
        &harness::path("examples/contoso-ccr.yaml"),
        "-o",
        &out.display().to_string(),
    ]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let written = golden::read_tree(&out);
    let expected = golden::read_tree(&harness::root().join("golden/contoso-ccr"));
    let summary = format!("wrote {} files for 33 steps", expected.len());
    assert!(result.stdout.contains(&summary), "{}", result.stdout);
    assert_eq!(golden::differences(&expected, &written), "");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        leftovers,
        [std::ffi::OsString::from("out")],
        "no temporary directory is left behind"
    );
}

#[test]
fn build_replaces_an_earlier_output_but_refuses_other_directories() {
    let dir = harness::scratch("build-refuse");
    let out = dir.join("out");
    let out_text = out.display().to_string();
    let topology = harness::path("examples/contoso-ccr.yaml");
    assert_eq!(run(&["build", &topology, "-o", &out_text]).code, 0);
    std::fs::write(out.join("stale.txt"), "from before").expect("write");
    assert_eq!(
        run(&["build", &topology, "-o", &out_text]).code,
        0,
        "an earlier runsheet output is replaced"
    );
    assert!(
        !out.join("stale.txt").exists(),
        "the old tree is gone, not merged"
    );

    let other = dir.join("documents");
    std::fs::create_dir_all(&other).expect("mkdir");
    std::fs::write(other.join("thesis.txt"), "precious").expect("write");
    let result = run(&["build", &topology, "-o", &other.display().to_string()]);
    assert_eq!(result.code, 4);
    assert!(
        result.stderr.contains("refusing to write into"),
        "{}",
        result.stderr
    );
    assert!(result.stderr.contains("--force"), "{}", result.stderr);
    assert!(other.join("thesis.txt").exists());

    let forced = run(&[
        "build",
        &topology,
        "-o",
        &other.display().to_string(),
        "--force",
    ]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert!(other.join("plan.json").exists());
}

#[test]
fn an_invalid_topology_writes_nothing() {
    let dir = harness::scratch("build-invalid");
    let out = dir.join("out");
    let result = run(&[
        "build",
        &harness::path("tests/invalid/witness-on-node.yaml"),
        "-o",
        &out.display().to_string(),
    ]);
    assert_eq!(result.code, 1);
    assert!(
        result.stderr.contains("error[witness-on-node]"),
        "{}",
        result.stderr
    );
    assert!(!out.exists());
}

#[test]
fn build_with_a_missing_topology_is_an_io_error() {
    let dir = harness::scratch("build-missing");
    let result = run(&[
        "build",
        "missing.yaml",
        "-o",
        &dir.join("out").display().to_string(),
    ]);
    assert_eq!(result.code, 4);
    assert!(!dir.join("out").exists());
}

#[test]
fn templates_are_written_and_override_by_name() {
    let dir = harness::scratch("templates");
    let templates = dir.join("templates");
    let result = run(&["templates", "-o", &templates.display().to_string()]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let count = runsheet::render::registry::TEMPLATES.len();
    assert_eq!(golden::read_tree(&templates).len(), count);
    assert_eq!(
        run(&["templates", "-o", &templates.display().to_string()]).code,
        4,
        "no silent overwrite"
    );

    // An override directory with only the edited file.
    let overrides = dir.join("overrides");
    std::fs::create_dir_all(overrides.join("cmd")).expect("mkdir");
    let original = std::fs::read_to_string(templates.join("cmd/quorum.cmd.hbs")).expect("read");
    let edited = original.replacen(
        "{{> cmd_header}}",
        "{{> cmd_header}}\nrem Reviewed by the change board: {{cmd_text cluster.name}}",
        1,
    );
    std::fs::write(overrides.join("cmd/quorum.cmd.hbs"), edited).expect("write");
    // By file name alone, at the top of the directory, as mdBook themes work.
    let add_node = std::fs::read_to_string(templates.join("cmd/add-node.cmd.hbs")).expect("read");
    let add_node = add_node.replacen("{{> cmd_header}}", "{{> cmd_header}}\nrem Local edit", 1);
    std::fs::write(overrides.join("add-node.cmd.hbs"), add_node).expect("write");
    let out = dir.join("out");
    let args = [
        "build",
        &harness::path("examples/contoso-ccr.yaml"),
        "-o",
        &out.display().to_string(),
        "--templates",
        &overrides.display().to_string(),
    ];
    let result = run(&args);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let quorum =
        std::fs::read_to_string(out.join("hosts/MAIL1/190-quorum.cmd")).expect("quorum script");
    assert!(
        quorum.contains("rem Reviewed by the change board: MAIL\r\n"),
        "{quorum}"
    );
    let add_node =
        std::fs::read_to_string(out.join("hosts/MAIL1/160-add-node.cmd")).expect("add-node");
    assert!(add_node.contains("rem Local edit\r\n"), "{add_node}");
}

#[test]
fn a_bad_override_is_a_template_error_and_writes_nothing() {
    let dir = harness::scratch("templates-bad");
    let out = dir.join("out");
    let overrides = dir.join("overrides");
    std::fs::create_dir_all(overrides.join("cmd")).expect("mkdir");
    let topology = harness::path("examples/contoso-ccr.yaml");
    let build = |overrides: &std::path::Path| {
        run(&[
            "build",
            &topology,
            "-o",
            &out.display().to_string(),
            "--templates",
            &overrides.display().to_string(),
        ])
    };

    std::fs::write(
        overrides.join("cmd/quorum.cmd.hbs"),
        "@echo off\r\ncluster {{cluster.name}}\r\n",
    )
    .expect("write");
    let raw = build(&overrides);
    assert_eq!(raw.code, 3);
    assert!(
        raw.stderr.contains("without an escaping helper"),
        "{}",
        raw.stderr
    );

    std::fs::write(
        overrides.join("cmd/quorum.cmd.hbs"),
        "@echo off\r\ncluster {{cmd cluster.nmae}}\r\n",
    )
    .expect("write");
    let missing = build(&overrides);
    assert_eq!(missing.code, 3, "strict mode: a missing value is an error");
    assert!(
        missing.stderr.contains("quorum.cmd.hbs"),
        "{}",
        missing.stderr
    );

    std::fs::remove_file(overrides.join("cmd/quorum.cmd.hbs")).expect("rm");
    std::fs::write(overrides.join("cmd/qourum.cmd.hbs"), "@echo off\r\n").expect("write");
    let unknown = build(&overrides);
    assert_eq!(unknown.code, 3);
    assert!(
        unknown.stderr.contains("not a runsheet template name"),
        "{}",
        unknown.stderr
    );
    assert!(!out.exists(), "a failed build leaves nothing");
}

#[test]
fn plan_prints_the_numbered_steps() {
    let topology = harness::path("examples/contoso-ccr.yaml");
    let table = run(&["plan", &topology]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines[0], "STEP HOST  KIND   PHASE TITLE");
    assert_eq!(lines[1], "010  MAIL1 cmd    1     Pre-flight checks");
    assert!(
        table
            .stdout
            .contains("150  MAIL1 cmd    5     Create the cluster with the first node [MAIL]"),
        "{}",
        table.stdout
    );
    // One line per step, then the platform model's effects and outages.
    let step_lines = lines
        .iter()
        .filter(|line| line.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .count();
    assert_eq!(step_lines, 33);
    assert!(
        table
            .stdout
            .contains("   - MAIL2 restarts (by the operator)"),
        "{}",
        table.stdout
    );
    assert!(
        table
            .stdout
            .contains("   ! outage: First Storage Group\\Mailbox Database offline"),
        "{}",
        table.stdout
    );

    let json = run(&["plan", "--format", "json", &topology]);
    let steps: Vec<serde_json::Value> = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(steps.len(), 33);
    assert_eq!(steps[0]["number"], "010");
    assert_eq!(steps[14]["id"], "ccr.mail.create-cluster");
    assert_eq!(
        steps[14]["after"],
        serde_json::json!(["ccr.mail.validate-cluster"])
    );
    let numbers: Vec<&str> = steps.iter().filter_map(|s| s["number"].as_str()).collect();
    assert!(
        numbers.windows(2).all(|pair| pair[0] < pair[1]),
        "numbered in order"
    );

    let invalid = run(&["plan", &harness::path("tests/invalid/node-count.yaml")]);
    assert_eq!(invalid.code, 1);
    assert_eq!(invalid.stdout, "");
}

#[test]
fn clusters_do_not_wait_for_each_other_and_the_witness_gets_a_share_each() {
    let topology = harness::path("examples/three-clusters.yaml");
    let json = run(&["plan", "--format", "json", &topology]);
    let steps: Vec<serde_json::Value> = serde_json::from_str(&json.stdout).expect("JSON");
    let shares: Vec<&serde_json::Value> = steps
        .iter()
        .filter(|s| s["step"] == "witness-share")
        .collect();
    assert_eq!(shares.len(), 3);
    assert!(shares.iter().all(|s| s["host"] == "EXHUB01"));
    for step in &steps {
        let Some(cluster) = step["cluster"].as_str() else {
            continue;
        };
        let prefix = format!("ccr.{}.", cluster.to_lowercase());
        for after in step["after"].as_array().expect("after") {
            let after = after.as_str().expect("id");
            assert!(
                after.starts_with(&prefix) || after.starts_with("estate.preflight."),
                "{} waits for {after}",
                step["id"]
            );
        }
    }
    // 2008 R2 validates with Test-Cluster instead of the wizard.
    let validate = steps
        .iter()
        .find(|s| s["step"] == "validate-cluster")
        .expect("validate step");
    assert_eq!(validate["kind"], "ps1");
}

#[test]
fn plan_json_lists_every_file_with_its_hash() {
    let files = golden::generate(&harness::root().join("examples/contoso-ccr.yaml"));
    let plan: serde_json::Value = serde_json::from_slice(&files["plan.json"]).expect("plan.json");
    assert_eq!(plan["format"], "runsheet-plan/1");
    assert_eq!(plan["generator"], "runsheet");
    let sha = runsheet::artifact::sha256_hex(
        &std::fs::read(harness::root().join("examples/contoso-ccr.yaml")).expect("read"),
    );
    assert_eq!(plan["topology_sha256"], sha.as_str());
    let listed = plan["files"].as_array().expect("files");
    assert_eq!(
        listed.len(),
        files.len() - 1,
        "every file but plan.json itself"
    );
    for entry in listed {
        let path = entry["path"].as_str().expect("path");
        assert_eq!(
            entry["sha256"],
            runsheet::artifact::sha256_hex(&files[path]).as_str(),
            "{path}"
        );
        if path.starts_with("hosts/") {
            assert!(entry["step"].is_string(), "{path} names its step");
        }
    }
}

#[test]
fn build_for_one_cluster_writes_only_its_hosts_numbered_as_in_the_full_build() {
    let dir = harness::scratch("build-one-cluster");
    let out = dir.join("out");
    let topology = harness::path("examples/three-clusters.yaml");
    let result = run(&[
        "build",
        &topology,
        "-o",
        &out.display().to_string(),
        "--cluster",
        "exclu2",
    ]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let written = golden::read_tree(&out);
    let full = golden::read_tree(&harness::root().join("golden/three-clusters"));
    let scripts: Vec<&String> = written.keys().filter(|f| f.starts_with("hosts/")).collect();
    assert!(scripts.len() >= 10, "{scripts:?}");
    for file in scripts {
        assert!(
            ["hosts/EXMB03/", "hosts/EXMB04/", "hosts/EXHUB01/"]
                .iter()
                .any(|host| file.starts_with(host)),
            "{file} is not a host of EXCLU2"
        );
        assert_eq!(
            full.get(file),
            written.get(file),
            "{file} differs from the full build"
        );
    }
    for runbook in ["runbook.md", "runbook.html", "plan.json"] {
        let text = String::from_utf8_lossy(&written[runbook]);
        assert!(
            text.contains("EXCLU2") && text.contains("EXMB03"),
            "{runbook}"
        );
        for other in [
            "EXCLU1", "EXCLU3", "EXCMS1", "EXCMS3", "EXMB01", "EXMB02", "EXMB05", "EXMB06",
        ] {
            assert!(!text.contains(other), "{runbook} mentions {other}");
        }
    }

    let two = run(&[
        "build",
        &topology,
        "-o",
        &out.display().to_string(),
        "--cluster",
        "EXCLU1",
        "--cluster",
        "EXCLU3",
    ]);
    assert_eq!(two.code, 0, "{}", two.stderr);
    let runbook = String::from_utf8(golden::read_tree(&out)["runbook.md"].clone()).expect("UTF-8");
    assert!(runbook.contains("EXCLU1") && runbook.contains("EXCLU3"));
    assert!(!runbook.contains("EXCLU2") && !runbook.contains("EXMB03"));

    let unknown = run(&[
        "build",
        &topology,
        "-o",
        &out.display().to_string(),
        "--cluster",
        "EXCLU9",
    ]);
    assert_eq!(unknown.code, 2, "an unknown cluster is a usage error");
    assert!(
        unknown.stderr.contains("EXCLU9") && unknown.stderr.contains("EXCLU1, EXCLU2, EXCLU3"),
        "{}",
        unknown.stderr
    );
}
