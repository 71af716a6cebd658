//! Replication health in the generated output (issue 16, items 11, 12, 21,
//! 24, 25, 26): each test fails when its defect is put back.

use std::collections::BTreeMap;

use crate::golden;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .replace("\r\n", "\n")
}

/// The PowerShell scripts of a tree, by path.
fn scripts(tree: &BTreeMap<String, Vec<u8>>) -> Vec<(&str, String)> {
    tree.iter()
        .filter(|(path, _)| path.ends_with(".ps1"))
        .map(|(path, bytes)| (path.as_str(), text(bytes)))
        .collect()
}

/// The text of a PowerShell function, from its `function` line to the `}`
/// that closes it at the left margin.
fn function<'a>(script: &'a str, name: &str) -> &'a str {
    let start = script
        .find(&format!("function {name} {{\n"))
        .unwrap_or_else(|| panic!("no function {name}"));
    let end = script[start..]
        .find("\n}\n")
        .unwrap_or_else(|| panic!("{name} is not closed"));
    &script[start..start + end + 2]
}

fn in_order(haystack: &str, needles: &[&str]) {
    let mut from = 0;
    for needle in needles {
        let at = haystack[from..]
            .find(needle)
            .unwrap_or_else(|| panic!("`{needle}` missing or out of order in:\n{haystack}"));
        from += at + needle.len();
    }
}

/// The steps whose scripts gate on replication health.
const GATED: &[&str] = &[
    "-verify-cms",
    "-final-verification",
    "-mount-and-resume",
    "-suspend-and-move-paths",
];

/// Item 11: Healthy alone is no pass. The gate reads Suspend and both
/// queues against thresholds named once and printed in the runbook, and
/// Initializing is a wait, not a reseed.
#[test]
fn health_gates_read_suspend_and_both_queues() {
    let mut gated = 0;
    for (name, tree) in golden::every_tree() {
        for (path, script) in scripts(&tree) {
            if GATED.iter().any(|part| path.contains(part)) {
                gated += 1;
                assert!(script.contains("Assert-CopiesHealthy {"), "{name}/{path}");
            }
            if !script.contains("function Get-CopyGap {") {
                continue;
            }
            assert!(
                script.contains("$copyQueueMax = [int]'0'")
                    && script.contains("$replayQueueMax = [int]'0'")
                    && script.contains("$copyWaitMinutes = [int]'10'"),
                "{name}/{path}"
            );
            let gap = function(&script, "Get-CopyGap");
            in_order(
                gap,
                &[
                    "if ($status -eq 'Initializing') {",
                    "no reason to reseed",
                    "if ($status -eq 'Seeding') {",
                    "[string]$Copy.Suspend -eq 'True'",
                    "if ($status -ne 'Healthy' -or [string]$Copy.Suspend -ne 'False') {",
                    "$reseedAdvice",
                    "$copyQueue -gt $copyQueueMax",
                    "$replayQueue -gt $replayQueueMax",
                    "if ($AfterLog -ge 0) {",
                    "$generated -le $AfterLog",
                    "''",
                ],
            );
            let initializing = &gap[gap.find("'Initializing'").expect("branch")..];
            let initializing = &initializing[..initializing.find("\n    }").expect("end")];
            assert!(!initializing.contains("reseedAdvice"), "{name}/{path}");
            // A health decision made anywhere but the gate reads Healthy alone.
            for line in script.lines() {
                if line.contains("'Healthy'") {
                    assert!(
                        gap.contains(line) || line.trim_start().starts_with('#'),
                        "{name}/{path}: {line}"
                    );
                }
            }
        }
        if let Some(bytes) = tree.get("runbook.md") {
            let runbook = text(bytes);
            if runbook.contains("health gate") {
                assert!(
                    runbook.contains("at most 0 log(s) waiting to be copied (`CopyQueueLength`) and at most 0 waiting to be replayed (`ReplayQueueLength`)")
                        && runbook.contains("for up to 10 minutes"),
                    "{name}"
                );
            }
            assert!(
                !runbook.contains("Initializing or Failed may need a reseed"),
                "{name}"
            );
        }
    }
    assert!(gated >= 8, "{gated}");
}

/// Item 11: a mount step reads the last log generation before it mounts and
/// waits until a later log has been copied and replayed.
#[test]
fn a_mount_waits_for_a_log_written_after_it() {
    let mut seen = 0;
    for (_, tree) in golden::every_tree() {
        for (path, script) in scripts(&tree) {
            if !path.contains("-mount-and-resume") {
                continue;
            }
            seen += 1;
            in_order(
                &script,
                &[
                    "$beforeMount = -1",
                    "$beforeMount = Get-LastLogGenerated $group",
                    "Mount-Database -Identity $database",
                    "Assert-CopiesHealthy { Get-StorageGroupCopyStatus -Identity $group } $group $beforeMount",
                ],
            );
        }
    }
    assert!(seen >= 2, "{seen}");
}

/// Item 12: `Name` is no field of Get-StorageGroupCopyStatus output: no
/// script prints or reports it.
#[test]
fn copy_status_is_never_read_by_name() {
    for (name, tree) in golden::every_tree() {
        for (path, script) in scripts(&tree) {
            for line in script.lines() {
                let copy_line = line.contains("Get-StorageGroupCopyStatus")
                    || line.contains("copyFields")
                    || line.contains("$unhealthy")
                    || line.contains("$copy");
                assert!(
                    !(copy_line && (line.contains("'Name'") || line.contains("$_.Name"))),
                    "{name}/{path}: {line}"
                );
            }
            if script.contains("$copyFields = ") {
                assert!(
                    script.contains("$copyFields = @('StorageGroupName', "),
                    "{name}/{path}"
                );
            }
        }
    }
}

/// Item 21: Exchange 2007's Test-ReplicationHealth has no -Identity and
/// tests the node it runs on: the final verification runs on each node.
#[test]
fn replication_health_runs_on_each_node_without_identity() {
    for (name, tree) in golden::every_tree() {
        for (path, bytes) in &tree {
            assert!(
                !text(bytes).contains("Test-ReplicationHealth -Identity"),
                "{name}/{path}"
            );
        }
        let finals: Vec<(&str, String)> = scripts(&tree)
            .into_iter()
            .filter(|(path, _)| path.contains("-final-verification"))
            .collect();
        if finals.is_empty() {
            continue;
        }
        let plan: serde_json::Value =
            serde_json::from_slice(&tree["plan.json"]).expect("plan.json");
        let steps = plan["steps"].as_array().expect("steps");
        let clusters = steps.iter().filter(|s| s["step"] == "verify-cms").count();
        let finals_in_plan = steps
            .iter()
            .filter(|s| s["step"] == "final-verification")
            .count();
        assert_eq!(finals_in_plan, 2 * clusters, "{name}");
        assert_eq!(finals.len(), 2 * clusters, "{name}");
        for (path, script) in finals {
            in_order(
                &script,
                &[
                    "Assert-CmsOnline $cms",
                    "Assert-CopiesHealthy { Get-StorageGroupCopyStatus -Server $cms } $cms -1",
                    "$checks = @(Test-ReplicationHealth)",
                    "[string]$_.Result -ne 'Passed'",
                ],
            );
            assert!(!script.contains("Test-ReplicationHealth -"), "{path}");
        }
    }
}

/// Item 25: the final verification waits, bounded, for copies that are
/// still seeding or waiting for their first log, as the verify step does.
#[test]
fn final_verification_waits_for_new_copies() {
    for (name, tree) in golden::every_tree() {
        for (path, script) in scripts(&tree) {
            if !path.contains("-final-verification") && !path.contains("-verify-cms") {
                continue;
            }
            let wait = function(&script, "Assert-CopiesHealthy");
            in_order(
                wait,
                &[
                    "$deadline = (Get-Date).AddMinutes($copyWaitMinutes)",
                    "while ($waiting) {",
                    "$copies = @(& $Read)",
                    "Get-CopyGap $copy $AfterLog",
                    "(Get-Date) -ge $deadline",
                    "Start-Sleep -Seconds $copyPollSeconds",
                    "if ($copies.Count -eq 0) {",
                    "if ($gaps.Count -gt 0) {",
                ],
            );
            let before_test = script
                .find("Test-ReplicationHealth)")
                .unwrap_or(script.len());
            let gate = script.find("Assert-CopiesHealthy {").expect("gate");
            assert!(gate < before_test, "{name}/{path}");
        }
    }
}

/// Item 24: on 2008 R2 a clean Test-Cluster run, which returns its report
/// and writes no "Test Result:" warning, passes.
#[test]
fn a_clean_cluster_validation_passes() {
    let mut seen = 0;
    for (name, tree) in golden::every_tree() {
        for (path, script) in scripts(&tree) {
            if !path.contains("-validate-cluster") {
                continue;
            }
            seen += 1;
            in_order(
                &script,
                &[
                    "$results = @(Test-Cluster -Node $nodes -Ignore 'Storage' -ReportName $report -WarningVariable warnings)",
                    "$files = @($results | Where-Object { $_ -is [System.IO.FileInfo] })",
                    "if ($files.Count -eq 0 -or -not $files[0].Exists) {",
                    "Fail (",
                    // Every flag after "Test Result:", not the first alone.
                    "$verdict = $text.Substring($at + 12).Trim()",
                    "if ($verdict -match 'Fail' -or $verdict -match 'NotApproved') {",
                    "Stop-Step 0 ($stepLabel + ': done, every test passed with nothing to report.')",
                ],
            );
            assert!(!script.contains("(\\S+)"), "{name}/{path}");
            assert!(!script.contains("if ($verdict -eq '')"), "{name}/{path}");
            assert!(!script.contains("gave no test result"), "{name}/{path}");
        }
    }
    assert!(seen >= 1, "no 2008 R2 tree");
}

/// Item 26: wherever a reseed is advised, it says to rule out AD
/// replication and the replication service, suspend, move the passive
/// files aside (never delete), and run Update-StorageGroupCopy there.
#[test]
fn reseed_advice_is_complete_everywhere() {
    let mut seen = 0;
    for (name, tree) in golden::every_tree() {
        for (path, bytes) in &tree {
            let content = text(bytes);
            // The HTML runbook is rendered from runbook.md, whose words are
            // read here; its code spans split the commands into markup.
            if path.ends_with(".html") || !content.contains("Update-StorageGroupCopy") {
                continue;
            }
            seen += 1;
            // Every mention belongs to the one procedure.
            for (at, _) in content.match_indices("Update-StorageGroupCopy") {
                let before = &content[..at];
                let from = before
                    .rfind("Before any reseed, rule out")
                    .unwrap_or_else(|| panic!("{name}/{path}: reseed without its checks"));
                let advice = &content[from..at];
                // The procedure's own commands may follow it in the same
                // list item (the back-out prints them for its storage
                // group); a later item or section needs the checks again.
                assert!(
                    !advice.contains("Update-StorageGroupCopy")
                        || !(advice.contains("\n- ") || advice.contains("\n#")),
                    "{name}/{path}: a reseed outside the procedure"
                );
                in_order(
                    advice,
                    &[
                        "Active Directory replication",
                        "Restart-Service MSExchangeRepl",
                        "on the passive node",
                        "Suspend-StorageGroupCopy -Identity",
                        "aside",
                        "never delete them",
                    ],
                );
            }
            for (at, _) in content.match_indices("-DeleteExistingFiles") {
                let around = &content[at.saturating_sub(60)..at];
                assert!(around.contains("Do not rely on"), "{name}/{path}");
            }
        }
    }
    assert!(seen >= 4, "{seen}");
}

/// Cold read: a step that waits in the copy-health gate is given at least
/// the gate's longest wait in the runbook's Time.
#[test]
fn steps_that_wait_in_the_gate_are_timed_for_it() {
    for id in [
        "change-precheck",
        "change-move-configuration",
        "change-mount-and-resume",
        "suspend-and-move-paths",
        "mount-and-resume",
        "verify-cms",
        "final-verification",
    ] {
        let minutes = runsheet::plan::window::minutes(id);
        assert!(
            minutes >= runsheet::plan::health::WAIT_MINUTES,
            "{id}: {minutes} min, but the gate alone may wait {} min",
            runsheet::plan::health::WAIT_MINUTES
        );
    }
}
