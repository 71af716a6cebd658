//! `runsheet change`: golden trees for every topology pair under
//! `tests/change/<case>/{old,new}.yaml`, located refusals, invalid input, no
//! change, the writing rules, and what the scripts must check.
//!
//! The pairs live under tests/, not examples/: they are cases for the tests
//! (each one a single edit of an example), not topologies a user starts from,
//! and examples/ is what `build`'s golden trees are made of.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::golden;
use crate::harness::{self, run};

/// Every pair: (case name, OLD, NEW).
pub fn pairs() -> Vec<(String, PathBuf, PathBuf)> {
    let dir = harness::root().join("tests/change");
    let mut cases: Vec<(String, PathBuf, PathBuf)> = std::fs::read_dir(&dir)
        .expect("tests/change exists")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.join("old.yaml").exists())
        .map(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("case name")
                .to_owned();
            (name, path.join("old.yaml"), path.join("new.yaml"))
        })
        .collect();
    cases.sort();
    cases
}

/// What `change` generates for a pair, in memory.
pub fn generate(old: &Path, new: &Path) -> BTreeMap<String, Vec<u8>> {
    let old_source = runsheet::cli::read_source(old).expect("OLD reads");
    let new_source = runsheet::cli::read_source(new).expect("NEW reads");
    let old_checked = runsheet::check::check(&old_source.text);
    let new_checked = runsheet::check::check(&new_source.text);
    let registry = runsheet::render::registry::Registry::new(None).expect("templates load");
    let generated = runsheet::generate_change(
        (&old_source, old_checked.validated().expect("OLD is valid")),
        (&new_source, new_checked.validated().expect("NEW is valid")),
        &registry,
    )
    .expect("renders");
    assert!(
        generated.set.refusals.is_empty(),
        "{}: {:?}",
        new.display(),
        generated.set.refusals
    );
    generated
        .artifacts
        .iter()
        .map(|(path, bytes)| (path.to_owned(), bytes.to_vec()))
        .collect()
}

/// A generated tree with its name.
type NamedTree = (String, BTreeMap<String, Vec<u8>>);

/// Every change tree, by case name; rendered once per test run.
pub fn trees() -> Vec<NamedTree> {
    static TREES: std::sync::OnceLock<Vec<NamedTree>> = std::sync::OnceLock::new();
    TREES
        .get_or_init(|| {
            pairs()
                .into_iter()
                .map(|(name, old, new)| {
                    let tree = generate(&old, &new);
                    (name, tree)
                })
                .collect()
        })
        .clone()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace("\r\n", "\n")
}

/// The change tree of one case.
pub fn tree(case: &str) -> BTreeMap<String, Vec<u8>> {
    trees()
        .into_iter()
        .find(|(name, _)| name == case)
        .map(|(_, tree)| tree)
        .unwrap_or_else(|| panic!("no case {case} under tests/change"))
}

/// The PowerShell scripts of a tree whose file name contains `part`, in step order.
fn scripts_named<'a>(files: &'a BTreeMap<String, Vec<u8>>, part: &str) -> Vec<(&'a str, String)> {
    let mut found: Vec<(&str, String)> = files
        .iter()
        .filter(|(path, _)| {
            path.starts_with("hosts/") && path.ends_with(".ps1") && path.contains(part)
        })
        .map(|(path, bytes)| (path.as_str(), text(bytes)))
        .collect();
    found.sort_by_key(|(path, _)| path.rsplit('/').next().unwrap_or_default().to_owned());
    found
}

#[test]
fn change_trees_match_the_golden_files_byte_for_byte() {
    let cases = trees();
    assert_eq!(cases.len(), 7, "the seven cases of the issue");
    let mut failures = String::new();
    for (name, actual) in cases {
        let dir = harness::root().join("golden/change").join(&name);
        let report = golden::compare_or_update(&dir, &actual);
        if !report.is_empty() {
            failures.push_str(&format!("== golden/change/{name} differs:\n{report}\n"));
        }
    }
    assert!(
        failures.is_empty(),
        "{failures}\nIf the change is intended, run UPDATE_GOLDEN=1 cargo test golden and review the diff."
    );
}

#[test]
fn change_generation_is_deterministic() {
    let (_, old, new) = pairs().into_iter().next().expect("a pair");
    assert_eq!(generate(&old, &new), generate(&old, &new));
}

#[test]
fn only_the_nodes_of_the_touched_cluster_get_scripts() {
    let files = tree("one-of-three-clusters");
    let hosts: std::collections::BTreeSet<&str> = files
        .keys()
        .filter_map(|path| path.strip_prefix("hosts/"))
        .filter_map(|rest| rest.split('/').next())
        .collect();
    assert_eq!(hosts, ["EXMB03", "EXMB04"].into_iter().collect());
    let runbook = text(&files["runbook.md"]);
    assert!(runbook.contains("`EXCLU2`"), "{runbook}");
    assert!(!runbook.contains("EXCLU1") && !runbook.contains("EXCLU3"));
}

#[test]
fn a_move_follows_the_documented_order_with_files_moved_on_each_node() {
    let files = tree("database-move");
    let order: Vec<&str> = {
        // Scripts and the policy steps; each .ps1's launcher has its number.
        let mut paths: Vec<&str> = files
            .keys()
            .filter(|p| p.starts_with("hosts/"))
            .filter(|p| p.ends_with(".ps1") || p.contains("execution-policy"))
            .map(String::as_str)
            .collect();
        paths.sort_by_key(|p| p.rsplit('/').next().unwrap_or_default().to_owned());
        paths
    };
    assert_eq!(
        order,
        [
            "hosts/MAIL1/010-execution-policy.cmd",
            "hosts/MAIL2/020-execution-policy.cmd",
            "hosts/MAIL1/030-precheck.ps1",
            "hosts/MAIL1/040-move-configuration-first-storage-group.ps1",
            "hosts/MAIL1/050-move-files-first-storage-group.ps1",
            "hosts/MAIL2/060-move-files-first-storage-group.ps1",
            "hosts/MAIL1/070-mount-and-resume-first-storage-group.ps1",
            "hosts/MAIL1/080-verify-cms.ps1",
            "hosts/MAIL1/090-restore-execution-policy.cmd",
            "hosts/MAIL2/100-restore-execution-policy.cmd",
        ]
    );
    for path in order.iter().filter(|p| p.ends_with(".ps1")) {
        let launcher = path.replace(".ps1", ".cmd");
        assert!(files.contains_key(&launcher), "{path} has no launcher");
    }
    let configuration = text(&files["hosts/MAIL1/040-move-configuration-first-storage-group.ps1"]);
    let positions: Vec<usize> = [
        "Assert-CopyHealthy $group",
        "Assert-MoveRoom $group",
        "Suspend-StorageGroupCopy -Identity $group",
        "Dismount-Database -Identity $database -Confirm:$false",
        // A database-only move runs Move-DatabasePath alone (item 7).
        "Move-DatabasePath -Identity $database -EdbFilePath $newEdb -ConfigurationOnly -Confirm:$false",
    ]
    .iter()
    .map(|needle| {
        configuration
            .find(needle)
            .unwrap_or_else(|| panic!("no `{needle}`"))
    })
    .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    // Room: sizes read on the active node, free space on both through WMI.
    let partial = text(&files["hosts/MAIL1/030-precheck.ps1"]);
    assert!(partial.contains("@(Get-WmiObject -Class Win32_Volume -ComputerName $Node)"));
    assert!(partial.contains("$nodes = @('MAIL1', 'MAIL2')"));

    let mount = text(&files["hosts/MAIL1/070-mount-and-resume-first-storage-group.ps1"]);
    let mount_at = mount
        .find("Mount-Database -Identity $database")
        .expect("mount");
    let resume_at = mount
        .find("Resume-StorageGroupCopy -Identity $group -Confirm:$false")
        .expect("resume");
    let healthy_at = mount
        .rfind("Assert-CopiesHealthy { Get-StorageGroupCopyStatus -Identity $group }")
        .expect("health check");
    assert!(mount_at < resume_at && resume_at < healthy_at);
}

#[test]
fn both_paths_of_a_storage_group_move_in_one_outage() {
    let files = tree("both-paths");
    assert_eq!(scripts_named(&files, "-move-configuration-").len(), 1);
    assert_eq!(scripts_named(&files, "-mount-and-resume-").len(), 1);
    assert_eq!(scripts_named(&files, "-move-files-").len(), 2);
    let (_, configuration) = &scripts_named(&files, "-move-configuration-")[0];
    assert!(configuration.contains("Move-DatabasePath"));
    assert!(configuration.contains("Move-StorageGroupPath"));
    let summary = text(&files["runbook.md"]);
    for what in ["| database file |", "| log folder |", "| system folder |"] {
        assert!(summary.contains(what), "summary lacks {what}");
    }
}

#[test]
fn the_mount_waits_for_both_nodes_and_never_forces() {
    for (name, files) in trees() {
        for (path, script) in scripts_named(&files, "-mount-and-resume-") {
            let place = function_body(&script, "Assert-NewPlace");
            assert!(
                place.contains("Get-NewPlaceGap $node $Prefix")
                    && place.contains("foreach ($node in $nodes)")
                    && script.contains("\nAssert-NewPlace $prefix $mounted ")
                    && function_body(&script, "Show-Kept")
                        .contains("Get-OldPlaceLeft $node $Prefix"),
                "{name}/{path}: the passive node's files are not checked"
            );
            assert!(
                script.contains("Get-MoveState $group $database"),
                "{name}/{path}: the configuration is not checked"
            );
            for line in script.lines().filter(|l| l.contains("Mount-Database")) {
                assert!(
                    !line.contains("-Force") && !line.contains("-Confirm"),
                    "{name}/{path}: `{line}` could accept an empty database"
                );
            }
        }
    }
}

#[test]
fn every_change_script_reads_the_live_state_before_it_acts() {
    for (name, files) in trees() {
        for (path, script) in scripts_named(&files, "") {
            let reads_state = [
                "Get-MoveState",
                "Get-RemovalState",
                "Get-PathState",
                "-ne $LogPath",
                "Directory]::Exists($folder)",
                "Assert-CmsOnline $cms",
            ]
            .iter()
            .any(|check| script.contains(check));
            assert!(reads_state, "{name}/{path} acts without reading the estate");
            assert!(
                script.contains("Skip ") || script.contains("nothing changed"),
                "{name}/{path} has no 'already done'"
            );
        }
    }
    // Drift: a path that is neither OLD's nor NEW's stops the step and names both.
    let files = tree("log-move");
    let precheck = text(&files["hosts/MAIL1/030-precheck.ps1"]);
    assert!(
        precheck.contains("but the change expects ' + $Old + ' (before) or ' + $New + ' (after)")
    );
}

#[test]
fn a_removal_is_confirmed_refuses_mailboxes_and_keeps_the_files() {
    let files = tree("storage-group-removed");
    let runbook = text(&files["runbook.md"]);
    let confirm = runbook
        .find("Confirm the storage group may go")
        .expect("a manual confirmation step");
    let (path, script) = scripts_named(&files, "-remove-storage-group-")
        .into_iter()
        .next()
        .expect("a removal script");
    assert!(path.starts_with("hosts/MAIL1/"));
    assert!(runbook.find(path).is_some_and(|at| at > confirm));
    assert!(script.contains("@(Get-Mailbox -Database $Database -ResultSize Unlimited)"));
    let remove_database = script
        .find("Remove-MailboxDatabase -Identity $database -Confirm:$false")
        .expect("database removed");
    let remove_group = script
        .find("Remove-StorageGroup -Identity $group -Confirm:$false")
        .expect("storage group removed");
    assert!(remove_database < remove_group);
    for deletion in ["Remove-Item", "::Delete(", "rmdir", "del "] {
        assert!(!script.contains(deletion), "the removal deletes files");
    }
    let backout = &runbook[runbook.find("## Back-out").expect("back-out")..];
    for kept in [
        r"`D:\Exchange\SG2 Staff\Staff.edb`",
        r"`E:\Exchange\SG2 Staff`",
        "(`MAIL1` and `MAIL2`)",
    ] {
        assert!(backout.contains(kept), "back-out lacks {kept}:\n{backout}");
    }
    assert!(backout.contains("no longer a simple reversal"));
}

#[test]
fn added_storage_groups_reuse_the_build_templates() {
    let files = tree("storage-group-added");
    let folders = scripts_named(&files, "-create-storage-folders");
    assert_eq!(folders.len(), 2, "folders on both nodes");
    let (_, create) = &scripts_named(&files, "-create-storage-groups")[0];
    assert!(create.contains("New-StorageGroup -Server $cms"));
    assert!(create.contains("'CCRMAIL\\SG2 Staff'"));
    assert!(
        !create.contains("First Storage Group"),
        "only the added storage group is created"
    );
    assert!(
        scripts_named(&files, "-verify-cms").len() == 1,
        "then the copies are checked"
    );
}

#[test]
fn headers_and_plan_carry_both_topology_hashes() {
    let dir = harness::root().join("tests/change/database-move");
    let old = runsheet::cli::read_source(&dir.join("old.yaml")).expect("old");
    let new = runsheet::cli::read_source(&dir.join("new.yaml")).expect("new");
    let files = tree("database-move");
    let line = format!(
        "for a change from sha256 {} to sha256 {}",
        old.sha256, new.sha256
    );
    for (path, bytes) in files.iter().filter(|(p, _)| p.ends_with(".ps1")) {
        assert!(text(bytes).contains(&line), "{path} lacks both hashes");
    }
    let plan: serde_json::Value = serde_json::from_slice(&files["plan.json"]).expect("plan.json");
    assert_eq!(plan["kind"], "change");
    assert_eq!(plan["from_topology_sha256"], old.sha256.as_str());
    assert_eq!(plan["topology_sha256"], new.sha256.as_str());
    assert_eq!(plan["changes"][0]["kind"], "move");
    let listed = plan["files"].as_array().expect("files").len();
    assert_eq!(listed + 1, files.len(), "plan.json lists every other file");
}

#[test]
fn the_runbook_opens_with_the_summary_and_ends_with_the_back_out() {
    for (name, files) in trees() {
        let runbook = text(&files["runbook.md"]);
        let at = |needle: &str| {
            runbook
                .find(needle)
                .unwrap_or_else(|| panic!("{name}: no {needle}"))
        };
        assert!(at("## Change summary") < at("## Confirm during the dry run"));
        assert!(at("## Confirm during the dry run") < at("## Pre-checks"));
        let dry_run = &runbook[at("## Confirm during the dry run")..at("## Pre-checks")];
        assert!(at("## Pre-checks") < at("## Phase 1: Pre-checks"));
        assert!(at("## Phase 1: Pre-checks") < at("## Back-out"));
        let plan: serde_json::Value =
            serde_json::from_slice(&files["plan.json"]).expect("plan.json");
        for step in plan["steps"].as_array().expect("steps") {
            let number = step["number"].as_str().expect("number");
            if step["unconfirmed"].is_string() {
                assert!(
                    dry_run.contains(number),
                    "{name}: {number} not in the dry-run list"
                );
            }
            assert!(
                runbook.contains(&format!("### Step {number}: ")),
                "{name}: {number}"
            );
            assert!(
                runbook.contains(&format!("- [ ] Step {number} done")),
                "{name}: {number}"
            );
        }
        let html = text(&files["runbook.html"]);
        assert!(html.contains("<h1>Change runbook: "), "{name}");
        // The back-out section closes the page where a build has its handover.
        let closing = html.find("id=\"handover\"").expect("a closing section");
        assert!(html[closing..].contains("Back-out"), "{name}");
        assert!(!html.to_lowercase().contains("<script"), "{name}");
    }
}

#[test]
fn hostile_names_and_paths_reach_the_scripts_as_literals() {
    let dir = harness::root().join("tests/change/hostile-move");
    let new = runsheet::cli::read_source(&dir.join("new.yaml")).expect("new");
    let checked = runsheet::check::check(&new.text);
    let topology = checked.validated().expect("valid").topology;
    let group = &topology.clusters[0].mailbox.storage_groups[1];
    let files = tree("hostile-move");
    let (path, script) = scripts_named(&files, "-move-configuration-")
        .into_iter()
        .next()
        .expect("a move");
    let identity = format!("{}\\{}", topology.clusters[0].mailbox.name, group.name);
    for value in [
        identity.clone(),
        format!("{identity}\\{}", group.databases[0].name),
        group.log_path.clone(),
        group.databases[0].edb_path.clone(),
    ] {
        let literal = runsheet::render::escape::ps_literal(&value).expect("escapes");
        assert!(script.contains(&literal), "{path} lacks {literal}");
    }
}

#[test]
fn change_prints_the_change_set_and_writes_the_tree() {
    let dir = harness::scratch("change-write");
    let out = dir.join("out");
    let out_text = out.display().to_string();
    let old = harness::path("tests/change/log-move/old.yaml");
    let new = harness::path("tests/change/log-move/new.yaml");
    let result = run(&["change", &old, &new, "-o", &out_text]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        result.stdout.contains(
            r"storage group CCRMAIL\First Storage Group: log path E:\Exchange\First Storage Group → F:\Logs\First Storage Group"
        ),
        "{}",
        result.stdout
    );
    let first = golden::read_tree(&out);
    assert_eq!(
        golden::differences(
            &golden::read_tree(&harness::root().join("golden/change/log-move")),
            &first
        ),
        ""
    );
    let again = run(&["change", &old, &new, "-o", &out_text]);
    assert_eq!(again.code, 0, "an earlier output is replaced");
    assert_eq!(
        golden::read_tree(&out),
        first,
        "a rerun writes the same bytes"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers, [std::ffi::OsString::from("out")]);

    let foreign = dir.join("documents");
    std::fs::create_dir_all(&foreign).expect("mkdir");
    std::fs::write(foreign.join("thesis.txt"), "precious").expect("write");
    let refused = run(&["change", &old, &new, "-o", &foreign.display().to_string()]);
    assert_eq!(refused.code, 4, "{}", refused.stderr);
    assert!(refused.stderr.contains("--force"));
    assert!(!foreign.join("plan.json").exists());
}

/// NEW as the seed estate with one edit per (from, to) pair, written beside
/// an unedited OLD; returns their paths.
fn edited_pair(case: &str, edits: &[(&str, &str)]) -> (PathBuf, PathBuf, String) {
    edited_pair_on("", case, edits)
}

/// As `edited_pair`, with `extra` appended to the hosts of both OLD and NEW.
fn edited_pair_on(extra: &str, case: &str, edits: &[(&str, &str)]) -> (PathBuf, PathBuf, String) {
    let dir = harness::scratch(&format!("change-{case}"));
    let seed = std::fs::read_to_string(harness::root().join("examples/contoso-ccr.yaml"))
        .expect("seed")
        .replacen("clusters:\n", &format!("{extra}clusters:\n"), 1);
    let mut edited = seed.clone();
    for (from, to) in edits {
        assert!(edited.contains(from), "{case}: `{from}` is not in the seed");
        edited = edited.replacen(from, to, 1);
    }
    let old = dir.join("old.yaml");
    let new = dir.join("new.yaml");
    std::fs::write(&old, seed).expect("write old");
    std::fs::write(&new, &edited).expect("write new");
    (old, new, edited)
}

/// Runs `change OLD NEW -o <OLD's folder>/out`; returns the run, NEW's
/// name as diagnostics show it, and the output directory.
fn run_change(old: &Path, new: &Path) -> (harness::Run, String, PathBuf) {
    let out = old.parent().expect("dir").join("out");
    let new_name = new.display().to_string();
    let result = run(&[
        "change",
        &old.display().to_string(),
        &new_name,
        "-o",
        &out.display().to_string(),
    ]);
    (result, new_name, out)
}

/// The line of NEW where an edit's new text starts.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text.find(needle).expect("edited text present");
    text[..at].matches('\n').count() + 1
}

const REFUSED: &[(&str, &str, &str)] = &[
    ("cluster-name", "  - name: MAIL\n", "  - name: MAILX\n"),
    (
        "cluster-address",
        "address: 192.168.10.30",
        "address: 192.168.10.40",
    ),
    ("cms-name", "name: CCRMAIL", "name: CCRMAIL2"),
    (
        "cms-address",
        "address: 192.168.10.31",
        "address: 192.168.10.32",
    ),
    ("nodes", "nodes: [MAIL1, MAIL2]", "nodes: [MAIL2, MAIL1]"),
    (
        "witness-folder",
        r"folder: 'C:\FSW_CCR_MAIL'",
        r"folder: 'C:\FSW_MAIL'",
    ),
    ("witness-share", "share: FSW_CCR_MAIL", "share: FSW_MAIL"),
    ("network", "subnet: 10.10.10.0/24", "subnet: 10.10.0.0/16"),
    (
        "host-address",
        "Public: 192.168.10.21",
        "Public: 192.168.10.23",
    ),
    ("domain", "fqdn: contoso.local", "fqdn: contoso.com"),
    ("netbios", "netbios: CONTOSO", "netbios: CONTOSO2"),
    ("platform", "windows: \"2008\"", "windows: \"2008-r2\""),
    (
        "database-renamed",
        "- name: Mailbox Database",
        "- name: Staff Database",
    ),
    (
        "install-path",
        "setup: 'D:\\Exchange2007SP3\\Setup.com'\n",
        "install_path: 'D:\\Exchange'\n      setup: 'D:\\Exchange2007SP3\\Setup.com'\n",
    ),
];

#[test]
fn each_unsupported_change_is_refused_at_its_line_in_new() {
    for (case, from, to) in REFUSED {
        let (old, new, text) = edited_pair(case, &[(from, to)]);
        let (result, new_name, out) = run_change(&old, &new);
        assert_eq!(result.code, 1, "{case}: {}", result.stderr);
        assert_eq!(
            result.stderr.matches("error[unsupported-change]").count(),
            1,
            "{case}: one finding:\n{}",
            result.stderr
        );
        let needle = to.trim_start().trim_start_matches("- ");
        let location = format!("--> {new_name}:{}:", line_of(&text, needle));
        assert!(
            result.stderr.contains(&location),
            "{case}: no {location}:\n{}",
            result.stderr
        );
        assert!(
            result.stderr.contains("help: "),
            "{case}: says what to do instead"
        );
        assert!(
            result.stdout.contains("(unsupported)"),
            "{case}: {}",
            result.stdout
        );
        assert!(!out.exists(), "{case}: nothing written");
    }
}

#[test]
fn a_new_witness_host_is_refused_at_its_line() {
    let extra = "  - name: HUB2\n    addresses: { Public: 192.168.10.11 }\n    drives: [C]\n";
    let (old, new, text) = edited_pair_on(extra, "witness-host", &[("host: HUB1", "host: HUB2")]);
    let (result, new_name, out) = run_change(&old, &new);
    assert_eq!(result.code, 1, "{}", result.stderr);
    assert_eq!(
        result.stderr.matches("error[unsupported-change]").count(),
        1,
        "{}",
        result.stderr
    );
    let location = format!("--> {new_name}:{}:13", line_of(&text, "host: HUB2"));
    assert!(
        result.stderr.contains(&location),
        "no {location}:\n{}",
        result.stderr
    );
    assert!(!out.exists());
}

#[test]
fn several_refusals_are_all_listed_in_file_order_and_dir_is_untouched() {
    let (old, new, text) = edited_pair(
        "several",
        &[
            ("fqdn: contoso.local", "fqdn: contoso.com"),
            ("Public: 192.168.10.22", "Public: 192.168.10.24"),
            ("address: 192.168.10.30", "address: 192.168.10.40"),
            ("share: FSW_CCR_MAIL", "share: FSW_MAIL"),
            (
                r"edb_path: 'D:\Exchange\First Storage Group\Mailbox Database.edb'",
                r"edb_path: 'D:\Databases\Mailbox Database.edb'",
            ),
        ],
    );
    let out = old.parent().expect("dir").join("out");
    std::fs::create_dir_all(&out).expect("mkdir");
    std::fs::write(out.join("plan.json"), "{\"format\": \"runsheet-plan/1\"}").expect("write");
    let (result, new_name, _) = run_change(&old, &new);
    assert_eq!(result.code, 1);
    let lines: Vec<usize> = result
        .stderr
        .match_indices(&format!("--> {new_name}:"))
        .map(|(at, needle)| {
            result.stderr[at + needle.len()..]
                .split(':')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("a line number")
        })
        .collect();
    let expected: Vec<usize> = ["contoso.com", "192.168.10.24", "192.168.10.40", "FSW_MAIL"]
        .iter()
        .map(|needle| line_of(&text, needle))
        .collect();
    assert_eq!(lines, expected, "{}", result.stderr);
    assert!(
        result
            .stderr
            .contains("4 changes that runsheet cannot make safely")
    );
    // The supported move is in the summary too, but nothing is written.
    assert!(result.stdout.contains("database path"), "{}", result.stdout);
    let left: Vec<_> = std::fs::read_dir(&out).expect("out").collect();
    assert_eq!(left.len(), 1, "the existing DIR is untouched");
}

#[test]
fn an_invalid_new_is_reported_and_nothing_is_written() {
    let (old, new, _) = edited_pair("invalid-new", &[("clients: true", "clients: yes")]);
    let (result, new_name, out) = run_change(&old, &new);
    assert_eq!(result.code, 1);
    assert!(
        result.stderr.contains("error[wrong-type]"),
        "{}",
        result.stderr
    );
    assert!(result.stderr.contains(&format!("--> {new_name}:")));
    assert!(!out.exists());
}

#[test]
fn an_invalid_old_is_reported_with_new_and_nothing_is_written() {
    // OLD broken, NEW broken differently: both files' findings in one run.
    let (old, new, _) = edited_pair("invalid-both", &[("share: FSW_CCR_MAIL", "share: 'FSW|X'")]);
    let seed = std::fs::read_to_string(&old).expect("old");
    std::fs::write(&old, seed.replacen("clients: true", "clients: yes", 1)).expect("write");
    let (result, new_name, out) = run_change(&old, &new);
    assert_eq!(result.code, 1);
    let old_name = old.display().to_string();
    assert!(
        result.stderr.contains(&format!("--> {old_name}:")),
        "{}",
        result.stderr
    );
    assert!(
        result.stderr.contains(&format!("--> {new_name}:")),
        "{}",
        result.stderr
    );
    assert!(!out.exists());
}

#[test]
fn comments_and_key_order_are_no_change() {
    let (old, new, _) = edited_pair(
        "no-change",
        &[
            (
                "# Estate name: lower-case letters, digits and hyphens; heads every script.\n",
                "",
            ),
            (
                "  fqdn: contoso.local\n  # The NetBIOS domain name, as in CONTOSO\\MAIL$ (the cluster's computer account).\n  netbios: CONTOSO\n",
                "  netbios: CONTOSO\n  fqdn: contoso.local\n",
            ),
            ("name: Mailbox Database", "name: mailbox database"),
        ],
    );
    let (result, _, out) = run_change(&old, &new);
    assert_eq!(result.code, 0, "{}", result.stderr);
    assert!(
        result.stdout.starts_with("no change: "),
        "{}",
        result.stdout
    );
    assert!(!out.exists());
}

#[test]
fn diff_prints_the_change_set_before_the_file_diffs_and_in_json() {
    let (old, new, _) = edited_pair(
        "diff-summary",
        &[
            ("address: 192.168.10.30", "address: 192.168.10.40"),
            (
                r"edb_path: 'D:\Exchange\First Storage Group\Mailbox Database.edb'",
                r"edb_path: 'D:\Databases\Mailbox Database.edb'",
            ),
        ],
    );
    let (old, new) = (old.display().to_string(), new.display().to_string());
    let text = run(&["diff", &old, &new]);
    assert_eq!(text.code, 1, "{}", text.stderr);
    let summary = text.stdout.find("change set:\n").expect("a change set");
    let first_file = text.stdout.find("--- a/").expect("file diffs");
    assert!(summary < first_file, "{}", text.stdout);
    for line in [
        r"  storage group CCRMAIL\First Storage Group: database path D:\Exchange\First Storage Group\Mailbox Database.edb → D:\Databases\Mailbox Database.edb",
        "  cluster MAIL: address 192.168.10.30 → 192.168.10.40 (unsupported)",
    ] {
        assert!(
            text.stdout.contains(&format!("{line}\n")),
            "no {line}:\n{}",
            &text.stdout[..first_file]
        );
    }
    let stat = run(&["diff", "--stat", &old, &new]);
    assert!(stat.stdout.starts_with("change set:\n"), "{}", stat.stdout);

    let json = run(&["diff", "--format", "json", &old, &new]);
    let document: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let changes = document["changes"].as_array().expect("changes");
    let kinds: Vec<(&str, bool)> = changes
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().expect("kind"),
                c["supported"].as_bool().expect("supported"),
            )
        })
        .collect();
    assert_eq!(kinds, [("move", true), ("unsupported", false)]);
    assert_eq!(changes[1]["pointer"], "/clusters/0/address");

    // Same model, other bytes: no change set at all.
    let (old, new, _) = edited_pair(
        "diff-no-model-change",
        &[("# Estate name", "# The estate's name")],
    );
    let quiet = run(&[
        "diff",
        &old.display().to_string(),
        &new.display().to_string(),
    ]);
    assert!(!quiet.stdout.contains("change set:"), "{}", quiet.stdout);
}

/// The body of a PowerShell function of a script, up to its closing brace at
/// the start of a line.
fn function_body<'a>(script: &'a str, name: &str) -> &'a str {
    let start = script
        .find(&format!("function {name} {{"))
        .unwrap_or_else(|| panic!("no function {name}"));
    let rest = &script[start..];
    &rest[..rest.find("\n}\n").map_or(rest.len(), |end| end + 2)]
}

#[test]
fn a_failed_lookup_never_reads_as_removed() {
    let removed = tree("storage-group-removed");
    let added = tree("storage-group-added");
    let scripts: Vec<(&str, String)> = scripts_named(&removed, "-remove-storage-group-")
        .into_iter()
        .chain(scripts_named(&removed, "-precheck"))
        .chain(scripts_named(&added, "-precheck"))
        .collect();
    assert_eq!(scripts.len(), 3);
    for (path, script) in &scripts {
        // Absence is proven from a list that was read without error: the
        // script's trap fails the step on any error of the lookup.
        for (function, cmdlet) in [
            (
                "Find-ServerStorageGroup",
                "@(Get-StorageGroup -Server $Cms -ErrorAction Stop)",
            ),
            (
                "Find-ServerDatabase",
                "@(Get-MailboxDatabase -Server $Cms -ErrorAction Stop)",
            ),
        ] {
            let body = function_body(script, function);
            assert!(body.contains(cmdlet), "{path}: {function} lacks {cmdlet}");
            assert!(!body.contains("trap") && !body.contains("SilentlyContinue"));
        }
        let state = function_body(script, "Get-RemovalState");
        assert!(
            state.contains("Find-ServerStorageGroup $Cms $Group"),
            "{path}"
        );
        assert!(
            state.contains("Find-ServerDatabase $Cms $Database"),
            "{path}"
        );
        let main = &script[script.find("\nAssert-ActiveHere $cms").expect("main part")..];
        for swallowed in ["Find-Object", "SilentlyContinue"] {
            assert!(
                !main.contains(swallowed),
                "{path}: a lookup error is swallowed"
            );
        }
    }
}

#[test]
fn a_copy_suspended_by_someone_else_is_not_healthy() {
    let files = tree("database-move");
    let comment_of = |script: &str| -> String {
        script
            .lines()
            .find(|line| line.starts_with("$changeSuspendComment = "))
            .expect("the change's suspend comment")
            .to_owned()
    };
    let precheck = &scripts_named(&files, "-precheck")[0].1;
    let configuration = &scripts_named(&files, "-move-configuration-")[0].1;
    let mount = &scripts_named(&files, "-mount-and-resume-")[0].1;
    // One comment for the whole window: what 040 writes, the others recognise.
    assert_eq!(comment_of(precheck), comment_of(configuration));
    assert_eq!(comment_of(mount), comment_of(configuration));
    assert!(configuration.contains("-SuspendComment $changeSuspendComment -Confirm:$false"));
    for script in [precheck, configuration] {
        let healthy = function_body(script, "Assert-CopyHealthy");
        let suspended = healthy
            .find("if ($status -eq 'Suspended') {")
            .expect("Suspended handled apart");
        let rest = &healthy[suspended..];
        let told_apart = rest.find("Test-SuspendedByChange $Group $copy");
        assert!(
            told_apart.is_some_and(|at| rest.find("return").is_some_and(|pass| at < pass)),
            "a Suspended copy passes without its comment:\n{healthy}"
        );
        assert!(!healthy.contains("-ne 'Suspended'"), "{healthy}");
    }
    assert!(
        function_body(precheck, "Test-SuspendedByChange").contains("[string]$Copy.SuspendComment")
    );
    let check = mount
        .find("-not (Test-SuspendedByChange $group $copy)")
        .expect("the mount step tells its own suspend apart");
    assert!(
        check
            < mount
                .find("Resume-StorageGroupCopy -Identity $group")
                .expect("resume")
    );
}

#[test]
fn files_are_proven_at_the_new_place_before_the_mount_and_before_already_done() {
    for (name, files) in trees() {
        for (path, script) in scripts_named(&files, "-mount-and-resume-") {
            let gap = function_body(&script, "Get-NewPlaceGap");
            for needed in [
                "[System.IO.Path]::Combine($newLog, $Prefix + '.log')",
                "[System.IO.Path]::Combine($newSystem, $Prefix + '.chk')",
                "(Get-NodePath $Node $newEdb)",
            ] {
                assert!(
                    gap.contains(needed),
                    "{name}/{path}: Get-NewPlaceGap lacks {needed}"
                );
            }
            let left = function_body(&script, "Get-OldPlaceLeft");
            assert!(left.contains("($Prefix + '*.jrs')"), "{name}/{path}");
            let mount = script
                .find("    Mount-Database -Identity $database")
                .expect("mount");
            let place = function_body(&script, "Assert-NewPlace");
            let proven = place
                .find("$gap = Get-NewPlaceGap $node $Prefix ($node -eq $env:COMPUTERNAME)")
                .expect("the new place is checked on every node");
            assert!(
                place[proven..].contains("if ($gap.Length -gt 0) {\n            Fail ("),
                "{name}/{path}"
            );
            let called = script
                .find("\nAssert-NewPlace $prefix $mounted ")
                .expect("the check is made");
            assert!(called < mount, "{name}/{path}");
        }
        for (path, script) in scripts_named(&files, "-move-files-") {
            let skip = script
                .find("    Skip ('The files of ")
                .expect("already done");
            let proven = script
                .find("$gap = Get-NewPlaceGap $env:COMPUTERNAME $prefix $activeHere")
                .expect("already done proves the new place");
            assert!(proven < skip, "{name}/{path}");
        }
    }
}

#[test]
fn an_interrupted_copy_is_finished_or_restarted_never_left_to_choose() {
    for (name, files) in trees() {
        for (path, script) in scripts_named(&files, "-move-files-") {
            assert_sources_kept(&format!("{name}/{path}"), &script);
        }
    }
}

/// The file step of a move, the build's or a change's: within one volume a
/// rename; to another volume eseutil /y to a .partial, checked, renamed, the
/// source kept. Nothing deletes or moves a source across volumes, and a
/// rerun redoes a half-made copy but not a finished one.
pub(crate) fn assert_sources_kept(label: &str, script: &str) {
    let body = function_body(script, "Move-StepFile");
    // Copy unbuffered (eseutil /y) to a temporary name, check, rename; the
    // source is kept until the mount step has passed.
    let order: Vec<usize> = [
        // On the console itself, so eseutil's progress line shows (cold read).
        "$start.Arguments = '/y \"' + $Source + '\" /d \"' + $partial + '\"'",
        "$start.UseShellExecute = $false",
        "$eseutilProcess.WaitForExit()",
        "if ($exitCode -ne 0) {",
        "if ((Get-FileBytes $partial) -ne $bytes) {",
        "[System.IO.File]::Move($partial, $Target)",
        "the source stays until the mount step has passed",
    ]
    .iter()
    .map(|needle| {
        body.find(needle)
            .unwrap_or_else(|| panic!("{label}: no `{needle}`"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{label}: {order:?}");
    // A half-made copy is deleted and made again; nothing else is deleted.
    assert!(
        body.contains("[System.IO.File]::Delete($partial)"),
        "{label}"
    );
    assert_eq!(
        script.matches("::Delete(").count(),
        1,
        "{label}: a source is deleted"
    );
    assert!(
        !script.contains("::Copy("),
        "{label}: copied through the file cache"
    );
    assert!(
        body.contains("Write-Host ('Copying "),
        "{label}: no progress line"
    );
    assert!(!script.contains("which one is current"), "{label}");
    // The one move of a source is the rename within its volume.
    assert_eq!(
        script.matches("[System.IO.File]::Move(").count(),
        2,
        "{label}"
    );
    assert!(
        body.contains("if ($sameVolume) {\n        [System.IO.File]::Move($Source, $Target)"),
        "{label}: a source moves across volumes"
    );
    let moves = function_body(script, "Move-GroupFiles");
    assert!(
        moves.contains("Move-StepFile $volumes $from[$index] $to[$index]"),
        "{label}: files moved another way"
    );
    // A finished copy is not copied again.
    assert!(
        function_body(script, "Add-Move")
            .contains("(Get-FileBytes $Target) -eq (Get-FileBytes $Source)) {\n        return"),
        "{label}"
    );
    // Found, then "already done" once mounted, before anything moves.
    crate::guards::in_order(
        script,
        &[
            "\nAdd-GroupMoves $prefix\n",
            "\nif (Test-Mounted $database) {\n",
            "    Skip (",
            "\nMove-GroupFiles\n",
        ],
    );
}

/// The mount step of a move, the build's or a change's: every original at the
/// old place has a complete copy on every node and (`reads_edb`) the new
/// database file reads Clean Shutdown before Mount-Database; the kept
/// originals are listed only once the copy passes the health gate.
pub(crate) fn assert_copy_proven_before_mount(label: &str, script: &str, reads_edb: bool) {
    let not_copied = function_body(script, "Get-NotCopied");
    assert!(not_copied.contains("(Get-FileBytes $target) -ne (Get-FileBytes $source)"));
    let place = function_body(script, "Assert-NewPlace");
    assert!(
        place.contains("$notCopied = Get-NotCopied $node $Prefix"),
        "{label}"
    );
    let clean = function_body(script, "Assert-CleanShutdown");
    for check in [
        "& (Get-Eseutil) /mh $newEdb",
        "-notmatch 'State:\\s*Clean Shutdown'",
        "Fail (",
    ] {
        assert!(clean.contains(check), "{label}: no {check}");
    }
    let mount_at = script
        .find("    Mount-Database -Identity $database")
        .expect("mount");
    let mut checks = vec!["\nAssert-NewPlace $prefix $mounted "];
    if reads_edb {
        checks.push("if ($mounted -ne $true) {\n    Assert-CleanShutdown\n}");
    } else {
        assert!(!script.contains("    Assert-CleanShutdown\n"), "{label}");
    }
    for check in checks {
        let at = script
            .find(check)
            .unwrap_or_else(|| panic!("{label}: no {check}"));
        assert!(at < mount_at, "{label}: {check} after the mount");
    }
    // Only after Healthy are the originals listed for deletion: after the
    // health gate, or on a rerun only once the copy passes it.
    let kept = function_body(script, "Show-Kept");
    assert!(kept.contains("Write-Host ('KEPT "), "{label}");
    let healthy = script.rfind("Assert-CopiesHealthy {").expect("health gate");
    let last_kept = script
        .rfind("\nShow-Kept $prefix ")
        .expect("originals listed");
    assert!(healthy < last_kept, "{label}");
    let rerun = script
        .find("if ($mounted -eq $true -and (Get-CopyGap $copy -1) -eq '') {")
        .expect("rerun gate");
    let first_kept = script.find("    Show-Kept (").expect("listed on a rerun");
    assert!(rerun < first_kept, "{label}");
    let calls = script
        .lines()
        .filter(|line| line.trim_start().starts_with("Show-Kept "))
        .count();
    assert_eq!(calls, 2, "{label}: KEPT listed elsewhere");
    let eseutil = function_body(script, "Get-Eseutil");
    assert!(eseutil.contains("'HKLM:\\SOFTWARE\\Microsoft\\Exchange\\Setup'"));
    assert!(eseutil.contains(".MsiInstallPath"));
    assert!(eseutil.contains("'Bin\\eseutil.exe'"));
}

#[test]
fn room_is_read_per_volume_mount_points_included() {
    let files = tree("database-move");
    let scripts: Vec<(&str, String)> = scripts_named(&files, "")
        .into_iter()
        .filter(|(_, script)| script.contains("function Assert-Room {"))
        .collect();
    assert!(scripts.len() >= 4, "{}", scripts.len());
    for (path, script) in scripts {
        assert!(!script.contains("Win32_LogicalDisk"), "{path}");
        assert!(
            !script.contains(".Substring(0, 2)"),
            "{path}: a drive letter stands for a volume"
        );
        let find = function_body(&script, "Find-Volume");
        assert!(
            find.contains("$name.Length -gt $length -and $full.StartsWith($name"),
            "{path}"
        );
        let room = function_body(&script, "Assert-Room");
        assert!(
            room.contains("if ([string]$source.Name -ne $name) {"),
            "{path}"
        );
        assert!(
            room.contains("$free[$name] = [double]$target.FreeSpace"),
            "{path}"
        );
        let volumes = function_body(&script, "Get-Volumes");
        assert!(
            volumes.contains("trap {") && volumes.contains("firewall"),
            "{path}"
        );
    }
}

#[test]
fn the_back_out_after_file_moves_is_the_reverse_change_in_its_order() {
    let (_, old, new) = pairs()
        .into_iter()
        .find(|(name, _, _)| name == "database-move")
        .expect("database-move case");
    let forward = tree("database-move");
    let reverse = generate(&new, &old);
    let comment = |files: &BTreeMap<String, Vec<u8>>, variable: &str| -> String {
        let script = text(&files["hosts/MAIL1/040-move-configuration-first-storage-group.ps1"]);
        let line = script
            .lines()
            .find(|line| line.starts_with(&format!("{variable} = ")))
            .unwrap_or_else(|| panic!("no {variable}"))
            .to_owned();
        line[line.find(" = ").expect("assignment")..].to_owned()
    };
    // Each tree takes the other's suspended copy as this window's, so the
    // reverse change picks up a window stopped anywhere before the mount.
    assert_eq!(
        comment(&forward, "$changeSuspendComment"),
        comment(&reverse, "$reverseSuspendComment")
    );
    assert_eq!(
        comment(&reverse, "$changeSuspendComment"),
        comment(&forward, "$reverseSuspendComment")
    );
    let script = text(&forward["hosts/MAIL1/030-precheck.ps1"]);
    assert!(
        function_body(&script, "Test-SuspendedByChange")
            .contains("$comment -eq $changeSuspendComment -or $comment -eq $reverseSuspendComment")
    );

    let runbook = text(&forward["runbook.md"]);
    let backout = &runbook[runbook.find("### Back-out: `CCRMAIL").expect("back-out")..];
    let moved = backout
        .lines()
        .find(|line| line.starts_with("- After steps 050 and 060 started moving files"))
        .expect("the back-out after file moves");
    assert!(moved.contains("run the reverse change from its pre-check step on"));
    let order: Vec<usize> = [
        "(1) the configuration commands above, without mounting",
        "(2) move this storage group's files back",
        "(3) mount and check",
        "(4) resume and wait for Healthy",
    ]
    .iter()
    .map(|needle| {
        moved
            .find(needle)
            .unwrap_or_else(|| panic!("no `{needle}`"))
    })
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{moved}");
    assert!(!moved.contains("then the commands above"), "{moved}");
    // The hand back-out checks the mount before it resumes, then waits.
    let mount = backout.find("Mount-Database -Identity").expect("mount");
    let check = backout
        .find("-Status | Format-List Name,Mounted,EdbFilePath")
        .expect("check");
    let resume = backout
        .find("Resume-StorageGroupCopy -Identity")
        .expect("resume");
    let wait = backout
        .find("Get-StorageGroupCopyStatus -Identity")
        .expect("wait");
    assert!(
        mount < check && check < resume && resume < wait,
        "{backout}"
    );
}

#[test]
fn a_question_the_launcher_cannot_answer_ends_in_a_command_to_type() {
    for (name, files) in trees() {
        let runbook = text(&files["runbook.md"]);
        assert!(
            !runbook.contains("answer Yes only"),
            "{name}: the runbook expects a prompt"
        );
        for (path, script) in scripts_named(&files, "-move-configuration-") {
            let invoke = function_body(&script, "Invoke-PathMove");
            assert!(
                invoke.contains("trap {") && invoke.contains("NonInteractive"),
                "{name}/{path}"
            );
            assert!(invoke.contains("run ' + $ByHand + '"), "{name}/{path}");
            // Each move runs only the cmdlets of the paths it moves.
            let cmdlets: Vec<&str> = [
                "Move-DatabasePath -Identity $database",
                "Move-StorageGroupPath -Identity $group",
            ]
            .into_iter()
            .filter(|cmdlet| script.contains(cmdlet))
            .collect();
            assert!(!cmdlets.is_empty(), "{name}/{path}: no path cmdlet");
            for cmdlet in cmdlets {
                let line = script
                    .lines()
                    .find(|line| line.contains(cmdlet))
                    .unwrap_or_else(|| panic!("{name}/{path}: no {cmdlet}"));
                assert!(
                    line.trim_start().starts_with("Invoke-PathMove { "),
                    "{name}/{path}: {line}"
                );
                let by_hand = &line[line.find("} '").expect("a line to type") + 3..];
                assert!(
                    by_hand.contains("-ConfigurationOnly'") && !by_hand.contains("-Confirm"),
                    "{line}"
                );
            }
        }
    }
}

#[test]
fn the_file_moves_of_the_two_nodes_may_run_at_the_same_time() {
    for (name, files) in trees() {
        let runbook = text(&files["runbook.md"]);
        let steps = scripts_named(&files, "-move-files-");
        if steps.is_empty() {
            continue;
        }
        assert!(
            runbook.contains(
                "may run at the same time: start the second as soon as the first is started"
            ),
            "{name}"
        );
        for pair in steps.chunks(2) {
            let [(first, _), (second, _)] = pair else {
                panic!("{name}: file steps come in pairs");
            };
            assert_ne!(
                first.split('/').nth(1),
                second.split('/').nth(1),
                "{name}: one node"
            );
            // Running both at once is safe only if neither waits for the other.
            let number = |path: &str| path.rsplit('/').next().unwrap_or_default()[..3].to_owned();
            for (this, other) in [(first, second), (second, first)] {
                let file = this.trim_end_matches(".ps1");
                let section = &runbook[runbook
                    .find(&format!("- Files: `{file}.cmd`"))
                    .expect("step section")..];
                let waits = section
                    .lines()
                    .find(|l| l.starts_with("- Waits for:"))
                    .expect("waits");
                assert!(
                    !waits.contains(&number(other)),
                    "{name}: {this} waits for {other}: {waits}"
                );
            }
        }
    }
}

#[test]
fn a_storage_group_is_never_added_over_files_kept_on_either_node() {
    let files = tree("storage-group-added");
    let precheck = &scripts_named(&files, "-precheck")[0].1;
    let taken = function_body(precheck, "Get-PlaceTaken");
    for needed in [
        "foreach ($node in $Nodes) {",
        "[System.IO.File]::Exists((Get-NodePath $node $Edb))",
        "@(($Prefix + '*.log'), ($Prefix + '*.jrs'), ($Prefix + '*.chk'))",
    ] {
        assert!(taken.contains(needed), "Get-PlaceTaken lacks {needed}");
    }
    let check = precheck
        .find("$taken = Get-PlaceTaken $nodes '' 'E:\\Exchange\\SG2 Staff' 'E:\\Exchange\\SG2 Staff' 'D:\\Exchange\\SG2 Staff\\Staff.edb'")
        .expect("the pre-check looks at both nodes' folders");
    assert!(check < precheck.find("': to be created").expect("to do"));
    let (path, create) = &scripts_named(&files, "-create-storage-groups")[0];
    let active = create
        .find("\nAssert-ActiveHere $cms $offline\n")
        .unwrap_or_else(|| panic!("{path}: no active-node check"));
    let guard = create
        .find("$taken = Get-PlaceTaken @($env:COMPUTERNAME, $passive) ''")
        .unwrap_or_else(|| panic!("{path}: no check of kept files"));
    let first_create = create.find("New-StorageGroup -Server").expect("creates");
    assert!(active < guard && guard < first_create, "{path}");
}

/// Every step of every change runbook says how long it takes, whether users
/// lose service and how to back out: no step falls back to "not known".
#[test]
fn every_change_step_has_time_outage_and_back_out() {
    for (case, files) in trees() {
        let runbook = text(&files["runbook.md"]);
        for unknown in ["not estimated", "Not known"] {
            assert!(
                !runbook.contains(unknown),
                "{case}: a step without window facts ({unknown}):\n{runbook}"
            );
        }
    }
    let moved = text(&tree("database-move")["runbook.md"]);
    assert!(moved.contains("**Outage:** Yes: the storage group's database is dismounted"));
}

/// The part of a runbook from `start` to the next heading of the same level.
fn section<'a>(runbook: &'a str, start: &str) -> &'a str {
    let from = runbook
        .find(start)
        .unwrap_or_else(|| panic!("no {start}:\n{runbook}"));
    let rest = &runbook[from + start.len()..];
    let level = start.chars().take_while(|&c| c == '#').count();
    let end = (1..=level)
        .filter_map(|depth| rest.find(&format!("\n{} ", "#".repeat(depth))))
        .min()
        .map_or(rest.len(), |at| at + 1);
    &runbook[from..from + start.len() + end]
}

#[test]
fn the_removal_back_out_brings_the_storage_group_back_over_its_kept_files() {
    let files = tree("storage-group-removed");
    let runbook = text(&files["runbook.md"]);
    let backout = section(&runbook, "### Back-out: `CCRMAIL\\SG2 Staff`");
    // Not a recovery storage group: its database never serves users.
    assert!(!backout.contains("(recovery storage group)"), "{backout}");
    let order = [
        "`State: Clean Shutdown`",
        "/mh 'D:\\Exchange\\SG2 Staff\\Staff.edb' | Select-String 'State:'",
        "`<prefix>*.log`",
        "New-StorageGroup -Server 'CCRMAIL' -Name 'SG2 Staff' -LogFolderPath 'E:\\Exchange\\SG2 Staff' -SystemFolderPath 'E:\\Exchange\\SG2 Staff'",
        "New-MailboxDatabase -StorageGroup 'CCRMAIL\\SG2 Staff' -Name 'Staff' -EdbFilePath 'D:\\Exchange\\SG2 Staff\\Staff.edb'",
        "Set-MailboxDatabase -Identity 'CCRMAIL\\SG2 Staff\\Staff' -AllowFileRestore:$true",
        "Mount-Database -Identity 'CCRMAIL\\SG2 Staff\\Staff'",
        "Format-List Name,Mounted,EdbFilePath",
        "-AllowFileRestore:$false",
        "Update-StorageGroupCopy -Identity 'CCRMAIL\\SG2 Staff'",
    ];
    let mut last = 0;
    for line in order {
        let at = backout
            .find(line)
            .unwrap_or_else(|| panic!("the removal back-out lacks {line}:\n{backout}"));
        assert!(at >= last, "{line} out of order:\n{backout}");
        last = at;
    }
    // Eseutil is found where Exchange setup recorded its install path.
    assert!(backout.contains(
        "(Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Exchange\\Setup').MsiInstallPath, 'Bin\\eseutil.exe'"
    ));
    // The prefix the operator moves aside is printed by the removal itself.
    let (_, script) = &scripts_named(&files, "-remove-storage-group-")[0];
    let prefix = script
        .find("log prefix of")
        .expect("the removal prints the log prefix");
    assert!(
        prefix
            < script
                .find("Remove-MailboxDatabase -Identity")
                .expect("removal")
    );
    // The content index is kept too, and listed.
    assert!(backout.contains("`CatalogData-<guid>-<guid>` in `D:\\Exchange\\SG2 Staff`"));
}

#[test]
fn a_move_names_only_the_cmdlets_of_the_paths_it_moves() {
    // (case, what must not appear anywhere in its scripts and runbook)
    let cases = [
        (
            "database-move",
            &[
                "Move-StorageGroupPath",
                "both `-ConfigurationOnly`",
                "IgnoredLogs",
            ][..],
            "Move-DatabasePath",
        ),
        (
            "log-move",
            &[
                "Move-DatabasePath",
                "both `-ConfigurationOnly`",
                "CatalogData",
            ][..],
            "Move-StorageGroupPath",
        ),
    ];
    for (case, absent, present) in cases {
        let files = tree(case);
        // What the change board reads, and the scripts of the move itself;
        // the shared helpers of the pre-check may name every kind of path.
        for (path, bytes) in &files {
            let read = path.ends_with(".md") || path.ends_with(".json") || path.ends_with(".html");
            let script = path.ends_with(".ps1")
                && (path.contains("-move-configuration-") || path.contains("-move-files-"));
            if !(read || script) {
                continue;
            }

            let content = text(bytes);
            for word in absent {
                // Assert-MoveRoom, shared by the change scripts, counts the
                // content index of a database file that moves.
                if script && *word == "CatalogData" {
                    continue;
                }
                assert!(!content.contains(word), "{case}: {path} names {word}");
            }
        }
        let runbook = text(&files["runbook.md"]);
        assert!(
            runbook.contains(present),
            "{case}: the runbook lacks {present}"
        );
        let (_, script) = &scripts_named(&files, "-move-configuration-")[0];
        assert!(script.contains(&format!("Invoke-PathMove {{ {present} ")));
    }
    // A move of all three paths still runs both.
    let both_paths = tree("both-paths");
    let (_, both) = &scripts_named(&both_paths, "-move-configuration-")[0];
    assert!(both.contains("Invoke-PathMove { Move-DatabasePath "));
    assert!(both.contains("Invoke-PathMove { Move-StorageGroupPath "));
}

#[test]
fn the_runbook_lists_what_the_window_needs_around_it_for_its_kinds_only() {
    let heading = "## Around the window";
    let moved = text(&tree("database-move")["runbook.md"]);
    let around = section(&moved, heading);
    for line in [
        "Antivirus: file-level scanning excludes the new folders on both nodes (`MAIL1` and `MAIL2`)",
        "`F:\\Databases\\First Storage Group`",
        "backup jobs",
        "full backup of every storage group that moved",
        "maintenance mode",
        "no copy to fail over to",
    ] {
        assert!(
            around.contains(line),
            "database-move lacks {line}:\n{around}"
        );
    }
    assert!(!around.contains("new storage group"));
    assert!(!around.contains("removed storage group"));

    let added = text(&tree("storage-group-added")["runbook.md"]);
    let around = section(&added, heading);
    assert!(
        around.contains("Its transaction logs are deleted only by a full or incremental backup")
    );
    assert!(around.contains("Antivirus"));
    assert!(!around.contains("no copy to fail over to"));

    let removed = text(&tree("storage-group-removed")["runbook.md"]);
    let around = section(&removed, heading);
    assert!(around.contains("every removed storage group is taken out of the backup jobs"));
    assert!(
        !around.contains("Antivirus"),
        "a removal puts files nowhere new"
    );
    assert!(!around.contains("no copy to fail over to"));
    // The HTML runbook carries the same section.
    let html = text(&tree("storage-group-removed")["runbook.html"]);
    assert!(html.contains("Around the window"));
}

#[test]
fn the_runbooks_say_only_what_each_kind_of_change_does() {
    let removed = text(&tree("storage-group-removed")["runbook.md"]);
    assert!(!removed.contains("from step 050 to step 050"));
    assert!(removed.contains("`CCRMAIL\\SG2 Staff`: at step 050,"));
    // The removal's pre-check reads neither health nor free space.
    let precheck = section(&removed, "### Step 030");
    for claim in ["Healthy", "free space", "room for"] {
        assert!(
            !precheck.contains(claim),
            "the removal pre-check claims {claim}:\n{precheck}"
        );
    }
    let added = text(&tree("storage-group-added")["runbook.md"]);
    assert!(
        !added.contains("will be unavailable"),
        "an addition has no outage"
    );
    assert!(!added.contains("documented for Exchange 2010"));
    assert!(added.contains("as in Exchange 2007"));
    // The verify step waits up to ten minutes: its time says so.
    let verify = &added[added
        .find("Check the CMS and replication after the change")
        .expect("verify step")..];
    let verify = &verify[..verify.find("- [ ] Step").expect("its box")];
    assert!(verify.contains("**Time:** about 10 min."), "{verify}");
    let moved = text(&tree("database-move")["runbook.md"]);
    assert!(moved.contains("will be unavailable"));
}

#[test]
fn what_a_move_leaves_behind_is_named_and_tmp_edb_is_no_leftover() {
    let moved = tree("both-paths");
    let (_, files_step) = &scripts_named(&moved, "-move-files-")[0];
    for name in [
        "'CatalogData-*'",
        "'IgnoredLogs'",
        "'inspector'",
        "'tmp.edb'",
        "LEFT ",
    ] {
        assert!(
            files_step.contains(name),
            "the file step never names {name}"
        );
    }
    let runbook = text(&moved["runbook.md"]);
    for name in ["`IgnoredLogs`", "`CatalogData-<guid>-<guid>`", "`tmp.edb`"] {
        assert!(runbook.contains(name), "the back-out never names {name}");
    }
    // The build's file move names them too, and a leftover tmp.edb does not stop it.
    // It reads only the group's own files (prefix, database file by name):
    // no '*.edb' pattern that tmp.edb could match.
    let build = runsheet_build_script("move-database-files");
    assert!(build.contains("Show-LeftBehind $oldFolder"));
    assert!(!build.contains("'*.edb'"));
    assert!(function_body(&build, "Get-NotCopied").contains("($Prefix + '*.log')"));
}

/// The seed build's files: (path, text).
fn build_files() -> Vec<(String, String)> {
    let registry = runsheet::render::registry::Registry::new(None).expect("templates load");
    let source = runsheet::cli::read_source(&harness::root().join("examples/contoso-ccr.yaml"))
        .expect("the seed reads");
    let checked = runsheet::check::check(&source.text);
    let generated = runsheet::generate(&source, &checked, &registry).expect("renders");
    generated
        .artifacts
        .iter()
        .map(|(path, bytes)| (path.to_string(), text(bytes)))
        .collect()
}

/// The seed build's scripts whose file name contains `part`, in step order.
fn build_scripts(part: &str) -> Vec<(String, String)> {
    build_files()
        .into_iter()
        .filter(|(path, _)| path.contains(part) && path.ends_with(".ps1"))
        .collect()
}

/// The seed build's runbook.
fn build_runbook() -> String {
    build_files()
        .into_iter()
        .find(|(path, _)| path == "runbook.md")
        .map(|(_, text)| text)
        .expect("a runbook")
}

/// One script of the seed build, by the step's file name part.
fn runsheet_build_script(part: &str) -> String {
    build_scripts(part)
        .into_iter()
        .next()
        .map(|(_, text)| text)
        .unwrap_or_else(|| panic!("no {part} script"))
}

#[test]
fn copied_files_are_proven_before_the_mount_and_their_originals_kept_until_healthy() {
    for case in ["database-move", "both-paths"] {
        let files = tree(case);
        let (path, mount) = &scripts_named(&files, "-mount-and-resume-")[0];
        assert_copy_proven_before_mount(&format!("{case}/{path}"), mount, true);
        // The runbook's list of what is left matches what the steps keep.
        let runbook = text(&files["runbook.md"]);
        assert!(
            runbook.contains(
                "keeps its original there until the copy has been mounted and is Healthy"
            ),
            "{case}"
        );
        assert!(
            !runbook.contains("empty of this storage group's files"),
            "{case}"
        );
        // The file step's time says how long a copy takes.
        assert!(
            runbook.contains(
                "plus the copy of files moved to another volume: about a minute per 2 GB"
            )
        );
    }
    // A log-only move has no database file to read: no eseutil /mh.
    let log_move = tree("log-move");
    let (path, mount) = &scripts_named(&log_move, "-mount-and-resume-")[0];
    assert_copy_proven_before_mount(&format!("log-move/{path}"), mount, false);
}

/// Issue 16 items 8 and 9 in the build: its file steps keep the sources and
/// copy with eseutil, and its mount proves the copy before Mount-Database and
/// lists the kept originals after the health gate, as the change windows do.
#[test]
fn the_build_keeps_its_sources_until_the_copy_is_proven_and_healthy() {
    let files = build_scripts("-move-database-files");
    assert_eq!(files.len(), 2, "a file step on each node");
    for (path, script) in &files {
        assert_sources_kept(path, script);
        assert!(!script.contains("File]::Move($file"), "{path}");
        assert!(!script.contains("File]::Move($oldEdb"), "{path}");
    }
    let mounts = build_scripts("-mount-and-resume");
    assert_eq!(mounts.len(), 1);
    let (path, mount) = &mounts[0];
    assert_copy_proven_before_mount(path, mount, true);
    // The step texts say what the scripts do.
    let runbook = build_runbook();
    for said in [
        "copied by eseutil under a temporary name (.partial)",
        "one `KEPT` line per node",
        "plus the copy of files moved to another volume: about a minute per 2 GB",
        "a file copied to another volume keeps its original in the old folder",
    ] {
        assert!(
            runbook.contains(said),
            "the build runbook never says {said}"
        );
    }
    assert!(!runbook.contains("the old folder is empty of them"));
}

#[test]
fn the_room_for_a_moved_database_counts_its_content_index() {
    let files = tree("database-move");
    let precheck = text(&files["hosts/MAIL1/030-precheck.ps1"]);
    let room = function_body(&precheck, "Assert-MoveRoom");
    let catalog = room
        .find("GetDirectories($edbFolder, 'CatalogData-*')")
        .expect("the content index is measured");
    let added = room
        .find("Add-Needed $needed $OldEdb $NewEdb ($edbBytes + $catalogBytes)")
        .expect("and counted with the database file");
    assert!(catalog < added);
}
