//! Restarts in the build: none while the two-node cluster cannot survive
//! one, a pending restart reported on every run (not only the run that
//! caused it), later steps that refuse to start while one is owed, the
//! active node's restart wrapped in Stop-/Start-ClusteredMailboxServer, and
//! the uninstall order of the back-out.

use std::collections::BTreeMap;

use crate::{golden, harness};

type Tree = BTreeMap<String, Vec<u8>>;

fn plan_steps(files: &Tree) -> Vec<serde_json::Value> {
    let plan: serde_json::Value = serde_json::from_slice(&files["plan.json"]).expect("plan.json");
    plan["steps"].as_array().expect("steps").clone()
}

fn text(files: &Tree, path: &str) -> String {
    String::from_utf8_lossy(files.get(path).unwrap_or_else(|| panic!("no {path}"))).into_owned()
}

/// The scripts of a blueprint step: plan.json's `script` (the `.ps1` a
/// launcher runs), or its `file` for a `.cmd` step.
fn scripts_of(files: &Tree, step: &str) -> Vec<(String, String)> {
    plan_steps(files)
        .iter()
        .filter(|s| s["step"] == step)
        .filter_map(|s| {
            s["script"]
                .as_str()
                .or(s["file"].as_str())
                .map(str::to_owned)
        })
        .map(|file| {
            let body = text(files, &file);
            (file, body)
        })
        .collect()
}

fn builds() -> Vec<(String, Tree)> {
    golden::topologies()
        .into_iter()
        .map(|(name, path)| (name, golden::generate(&path)))
        .collect()
}

/// The three markers Windows leaves until the next start.
const MARKERS: &[&str] = &[
    r"Component Based Servicing\RebootPending",
    r"WindowsUpdate\Auto Update\RebootRequired",
    "PendingFileRenameOperations",
];

/// Node Majority with two nodes needs both: from cluster creation until the
/// quorum step no planned restart (nor a step that can ask for one) may run
/// on a node of that cluster.
#[test]
fn no_restart_while_the_cluster_runs_node_majority() {
    for (name, files) in builds() {
        let steps = plan_steps(&files);
        let clusters: Vec<String> = steps
            .iter()
            .filter_map(|s| s["cluster"].as_str().map(str::to_owned))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert!(!clusters.is_empty(), "{name}: no cluster steps");
        for cluster in clusters {
            let position = |id: &str| {
                steps
                    .iter()
                    .position(|s| s["step"] == id && s["cluster"] == cluster.as_str())
                    .unwrap_or_else(|| panic!("{name}: no {id} for {cluster}"))
            };
            let (created, quorum) = (position("create-cluster"), position("quorum"));
            assert!(created < quorum, "{name}: {cluster} quorum before creation");
            for step in &steps[created..quorum] {
                let id = step["step"].as_str().unwrap_or_default();
                let restarts = id.starts_with("restart-")
                    || [
                        "install-failover-clustering",
                        "exchange-prerequisites",
                        "setup-active-cms",
                        "setup-passive-node",
                    ]
                    .contains(&id);
                let here = step["cluster"] == cluster.as_str();
                assert!(
                    !(restarts && here),
                    "{name}: step {} ({id}) of {cluster} may restart a node between create-cluster and quorum",
                    step["number"]
                );
            }
        }
    }
}

/// ServerManagerCmd reports 1003 (already installed) for a feature whose
/// restart has not happened yet; the step reads Windows' markers on every
/// run, so a rerun after an interruption still says 3010.
#[test]
fn feature_steps_report_a_pending_restart_on_every_run() {
    for (name, files) in builds() {
        for step in ["install-failover-clustering", "exchange-prerequisites"] {
            let scripts = scripts_of(&files, step);
            assert!(!scripts.is_empty(), "{name}: no {step}");
            for (file, body) in scripts {
                let finish = body
                    .find(":finish_features")
                    .unwrap_or_else(|| panic!("{name}/{file}: no :finish_features"));
                let tail = &body[finish..];
                let check = tail.find("call :pending_restart");
                let already = tail.find("goto :already").expect("already branch");
                assert!(
                    check.is_some_and(|at| at < already),
                    "{name}/{file}: the already-done branch does not check for a pending restart"
                );
                let label = body
                    .find("\n:pending_restart")
                    .unwrap_or_else(|| panic!("{name}/{file}: no :pending_restart"));
                for marker in MARKERS {
                    assert!(
                        body[label..].contains(marker),
                        "{name}/{file}: does not read {marker}"
                    );
                }
            }
        }
    }
}

/// Setup's scripts end with 3010 only when a restart is pending, and their
/// already-done branches say 3010 too while one is.
#[test]
fn setup_steps_report_a_restart_only_when_one_is_pending() {
    for (name, files) in builds() {
        for step in ["setup-active-cms", "setup-passive-node"] {
            let scripts = scripts_of(&files, step);
            assert!(!scripts.is_empty(), "{name}: no {step}");
            for (file, body) in scripts {
                let lines: Vec<&str> = body.lines().map(str::trim).collect();
                let mut restarts = 0;
                for (index, line) in lines.iter().enumerate() {
                    if line.starts_with("Stop-Step 3010") {
                        restarts += 1;
                        assert_eq!(
                            lines[index - 1],
                            "if ($pending -ne '') {",
                            "{name}/{file}: an unconditional exit 3010"
                        );
                    }
                    if line.starts_with("Skip (") {
                        assert!(
                            lines[index.saturating_sub(8)..index]
                                .iter()
                                .any(|l| l.contains("Get-PendingRestart $env:COMPUTERNAME")),
                            "{name}/{file}: the already-done branch does not check for a pending restart"
                        );
                    }
                }
                // One after setup, one in the already-done branch.
                assert_eq!(restarts, 2, "{name}/{file}: exits with 3010");
                assert!(
                    body.contains("function Get-PendingRestart"),
                    "{name}/{file}: no pending-restart check"
                );
                let function = &body[body.find("function Get-PendingRestart").unwrap_or(0)..];
                for marker in MARKERS {
                    assert!(
                        function.contains(marker),
                        "{name}/{file}: does not read {marker}"
                    );
                }
                // Setup refuses a server with a restart pending: fail before it runs.
                let refuse = body
                    .find("Fail ('a restart is pending (")
                    .unwrap_or_else(|| panic!("{name}/{file}: runs setup with a restart pending"));
                let setup = body.rfind("Invoke-Setup $setup").expect("setup call");
                assert!(refuse < setup, "{name}/{file}: checks after running setup");
            }
        }
    }
}

/// The steps where a restart still owed matters refuse to start: the
/// cluster is created and joined only when neither node owes one; the
/// passive setup only when the first node does not; storage is touched
/// (the verification before the move phase) only when neither does.
#[test]
fn later_steps_refuse_to_start_while_a_restart_is_pending() {
    for (name, files) in builds() {
        let steps = plan_steps(&files);
        let clusters: Vec<(String, String)> = steps
            .iter()
            .filter(|s| s["step"] == "add-node")
            .filter_map(|s| {
                let cluster = s["cluster"].as_str()?.to_owned();
                let second = steps.iter().find(|o| {
                    o["step"] == "setup-passive-node" && o["cluster"] == cluster.as_str()
                })?["host"]
                    .as_str()?
                    .to_owned();
                Some((cluster, second))
            })
            .collect();
        assert!(!clusters.is_empty(), "{name}: no clusters");
        for (cluster, second) in &clusters {
            let file_of = |id: &str| {
                steps
                    .iter()
                    .find(|s| s["step"] == id && s["cluster"] == cluster.as_str())
                    .and_then(|s| s["script"].as_str().or(s["file"].as_str()))
                    .map(|f| text(&files, f))
                    .unwrap_or_else(|| panic!("{name}: no {id} of {cluster}"))
            };
            let create = file_of("create-cluster");
            let at = create.find("/create ").expect("cluster /create");
            assert!(
                create[..at].contains("call :pending_restart\r\n")
                    && create[..at].contains(&format!("call :pending_restart \"{second}\"")),
                "{name}: create-cluster of {cluster} does not check both nodes first"
            );
            let add = file_of("add-node");
            let at = add.find("/add:").expect("cluster /add");
            assert!(
                add[..at].contains(&format!("call :pending_restart \"{second}\"")),
                "{name}: add-node of {cluster} does not check {second} first"
            );
            let passive = file_of("setup-passive-node");
            let first = steps
                .iter()
                .find(|s| s["step"] == "setup-active-cms" && s["cluster"] == cluster.as_str())
                .and_then(|s| s["host"].as_str())
                .expect("first node");
            let at = passive.rfind("Invoke-Setup $setup").expect("setup call");
            assert!(
                passive[..at].contains(&format!("Get-PendingRestart '{first}'")),
                "{name}: the passive setup of {cluster} does not check the first node"
            );
            let verify = file_of("verify-cms");
            let at = verify
                .find("Get-StorageGroupCopyStatus")
                .expect("copy status");
            let head = &verify[..at];
            assert!(
                head.contains(&format!("'{first}', '{second}'"))
                    && head.contains("Get-PendingRestart $node"),
                "{name}: verify-cms of {cluster} does not check both nodes for a pending restart"
            );
        }
    }
}

/// "Run the previous step again and see already installed" proves nothing:
/// each manual restart names a check that reads the markers.
#[test]
fn manual_restarts_name_a_real_check() {
    for (name, files) in builds() {
        let steps = plan_steps(&files);
        let runbook = text(&files, "runbook.md");
        for step in steps.iter().filter(|s| {
            s["step"]
                .as_str()
                .is_some_and(|id| id.starts_with("restart-"))
        }) {
            let number = step["number"].as_str().expect("number");
            let waited = steps
                .iter()
                .find(|s| s["id"] == step["after"][0])
                .expect("waited step");
            let waited_number = waited["number"].as_str().expect("number");
            let start = runbook
                .find(&format!("### Step {number}:"))
                .expect("heading");
            let section = &runbook[start..];
            let section = &section[..section.find("- [ ] Step ").unwrap_or(section.len())];
            assert!(
                section.contains(&format!(
                    "Run step {waited_number} again: it must end with exit code 0"
                )) && section.contains("no pending restart"),
                "{name}: step {number} names no check of the restart:\n{section}"
            );
            assert!(
                section.contains("pending-restart markers"),
                "{name}: step {number}'s check after does not name the markers:\n{section}"
            );
            assert!(
                !section.contains("already installed and exits 0"),
                "{name}: step {number} still takes \"already installed\" as proof"
            );
        }
    }
}

/// The first node's restart is an outage with Exchange on it alone: it is
/// made only when setup asked, with the CMS stopped before and started
/// after (a restart does not start a stopped CMS), and the recovery when the
/// group came up on the other node.
#[test]
fn the_active_node_restart_stops_and_starts_the_cms() {
    for (name, files) in builds() {
        let steps = plan_steps(&files);
        let runbook = text(&files, "runbook.md");
        for step in steps.iter().filter(|s| s["step"] == "restart-active-node") {
            let number = step["number"].as_str().expect("number");
            let setup = steps
                .iter()
                .find(|s| s["step"] == "setup-active-cms" && s["cluster"] == step["cluster"])
                .expect("setup");
            let start = runbook
                .find(&format!("### Step {number}:"))
                .expect("heading");
            let section = &runbook[start..];
            let section = &section[..section.find("- [ ] Step ").unwrap_or(section.len())];
            let at = |needle: &str| {
                section
                    .find(needle)
                    .unwrap_or_else(|| panic!("{name}: step {number} lacks {needle}:\n{section}"))
            };
            at(&format!(
                "Only if step {} ended with exit code 3010",
                setup["number"].as_str().expect("number")
            ));
            let stop = at("Stop-ClusteredMailboxServer -Identity '");
            assert!(
                section[stop..].starts_with("Stop-ClusteredMailboxServer -Identity '")
                    && section[stop..section[stop..]
                        .find('\n')
                        .map_or(section.len(), |e| stop + e)]
                        .contains("-StopReason '"),
                "{name}: Stop-ClusteredMailboxServer without -StopReason"
            );
            let restart = at("shutdown /r /t 0");
            let moved = at("/move:");
            let started = at("Start-ClusteredMailboxServer -Identity '");
            assert!(
                stop < restart && restart < moved && moved < started,
                "{name}: step {number} out of order"
            );
            assert!(
                section[started..].contains("-Confirm:$false"),
                "{name}: Start-ClusteredMailboxServer asks for confirmation"
            );
        }
    }
}

/// Backing Exchange out: the CMS stopped and removed on the active node
/// first, then the passive node uninstalled, then the active one.
#[test]
fn the_uninstall_back_out_keeps_exchange_order() {
    let files = golden::generate(&harness::root().join("examples/contoso-ccr.yaml"));
    let runbook = text(&files, "runbook.md");
    let steps = plan_steps(&files);
    for id in ["setup-active-cms", "setup-passive-node"] {
        let step = steps.iter().find(|s| s["step"] == id).expect("setup step");
        let number = step["number"].as_str().expect("number");
        let start = runbook
            .find(&format!("### Step {number}:"))
            .expect("heading");
        let section = &runbook[start..];
        let back_out = &section[section.find("**Back out:**").expect("back out")..];
        let back_out = &back_out[..back_out.find('\n').unwrap_or(back_out.len())];
        let at = |needle: &str| {
            back_out
                .find(needle)
                .unwrap_or_else(|| panic!("step {number}: back-out lacks {needle}: {back_out}"))
        };
        let stop = at("Stop-ClusteredMailboxServer");
        let _ = at("-StopReason");
        let remove = at("/RemoveCms");
        let passive = at("on the passive node");
        let active = at("last on the node that was active");
        assert!(
            stop < remove && remove < passive && passive < active,
            "step {number}: back-out out of order: {back_out}"
        );
    }
}

/// Step 200's script does not claim that setup on the first node checks the
/// second node's prerequisites.
#[test]
fn the_active_setup_claims_only_its_own_prerequisites() {
    for (name, files) in builds() {
        for (file, body) in scripts_of(&files, "setup-active-cms") {
            let prose: String = body
                .lines()
                .filter_map(|line| line.trim().strip_prefix('#'))
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            assert!(
                !prose.contains("Setup checks the prerequisites"),
                "{name}/{file}: claims setup checks both nodes' prerequisites"
            );
            assert!(
                prose.contains("Setup checks this node's prerequisites itself"),
                "{name}/{file}: says nothing of whose prerequisites setup checks"
            );
        }
    }
}
