//! Every step of the seed tutorial is in the seed estate's output, on the
//! right host, in the seed's order.

use std::collections::BTreeMap;

use crate::{golden, harness};

fn seed() -> BTreeMap<String, Vec<u8>> {
    golden::generate(&harness::root().join("examples/contoso-ccr.yaml"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).replace("\r\n", "\n")
}

/// Scripts of one host, in step order, joined.
fn host_scripts(files: &BTreeMap<String, Vec<u8>>, host: &str) -> String {
    let prefix = format!("hosts/{host}/");
    files
        .iter()
        .filter(|(path, _)| path.starts_with(&prefix))
        .map(|(_, bytes)| text(bytes))
        .collect::<Vec<_>>()
        .join("\n")
}

fn file_with<'a>(
    files: &'a BTreeMap<String, Vec<u8>>,
    host: &str,
    needle: &str,
) -> Option<&'a str> {
    let prefix = format!("hosts/{host}/");
    files
        .iter()
        .find(|(path, bytes)| path.starts_with(&prefix) && text(bytes).contains(needle))
        .map(|(path, _)| path.as_str())
}

#[test]
fn features_are_installed_on_both_nodes() {
    let files = seed();
    for node in ["MAIL1", "MAIL2"] {
        let scripts = host_scripts(&files, node);
        for feature in [
            "Failover-Clustering",
            "Web-Server",
            "Web-ISAPI-Ext",
            "Web-Metabase",
            "Web-Lgcy-Mgmt-Console",
            "Web-Basic-Auth",
            "Web-Windows-Auth",
        ] {
            assert!(
                scripts.contains(&format!("ServerManagerCmd -i {feature}")),
                "{node} lacks {feature}"
            );
        }
    }
    assert!(
        !host_scripts(&files, "HUB1").contains("ServerManagerCmd"),
        "the witness host gets no cluster features"
    );
}

#[test]
fn the_cluster_is_created_then_joined_on_the_first_node() {
    let files = seed();
    let create = file_with(
        &files,
        "MAIL1",
        "/create /nodes:\"MAIL1\" /ipaddr:192.168.10.30/255.255.255.0",
    )
    .expect("cluster create on MAIL1");
    let add = file_with(&files, "MAIL1", "/add:\"MAIL2\"").expect("add node on MAIL1");
    assert!(create < add, "{create} before {add}");
    assert!(file_with(&files, "MAIL2", "/create").is_none());
}

#[test]
fn networks_are_renamed_and_the_heartbeat_is_cluster_only() {
    let files = seed();
    let path = file_with(&files, "MAIL1", "MSCluster_Network").expect("network step on MAIL1");
    let script = text(&files[path]);
    assert!(script.contains("[void]$network.Rename($Name)"), "rename");
    assert!(
        script.contains("Set-ClusterNetwork 'Heartbeat' '10.10.10.0' '255.255.255.0' '1'"),
        "heartbeat: cluster only"
    );
    assert!(
        script.contains("Set-ClusterNetwork 'Public' '192.168.10.0' '255.255.255.0' '3'"),
        "public: cluster and client"
    );
}

#[test]
fn the_witness_share_is_made_on_the_witness_host_for_the_cluster_account() {
    let files = seed();
    let path = file_with(&files, "HUB1", "net share").expect("share on HUB1");
    let script = text(&files[path]);
    assert!(script.contains(r#"mkdir "C:\FSW_CCR_MAIL""#));
    assert!(script.contains(r#"net share "FSW_CCR_MAIL"="C:\FSW_CCR_MAIL""#));
    assert!(
        script.contains(r#"icacls "C:\FSW_CCR_MAIL" /grant "CONTOSO\MAIL$":(OI)(CI)F"#),
        "CLUSTER$ gets full control"
    );
}

#[test]
fn the_quorum_is_node_and_file_share_majority() {
    let files = seed();
    let path = file_with(&files, "MAIL1", "/quorum:").expect("quorum on MAIL1");
    let script = text(&files[path]);
    assert!(script.contains(r#"/type:"File Share Witness" /priv SharePath="\\HUB1\FSW_CCR_MAIL""#));
    assert!(script.contains(r#"/quorum:"File Share Witness""#));
}

#[test]
fn exchange_is_installed_active_then_passive() {
    let files = seed();
    let active = file_with(&files, "MAIL1", "'/NewCms'").expect("active setup on MAIL1");
    let script = text(&files[active]);
    for switch in [
        "'/mode:Install'",
        "'/roles:Mailbox'",
        "'/NewCms'",
        "'/CMSName:CCRMAIL'",
        "'/CMSIPv4Addresses:192.168.10.31'",
    ] {
        assert!(script.contains(switch), "active setup lacks {switch}");
    }
    assert!(script.contains("'D:\\Exchange2007SP3\\Setup.com'"));
    let passive = file_with(&files, "MAIL2", "'/roles:Mailbox'").expect("passive setup on MAIL2");
    assert!(!text(&files[passive]).contains("/NewCms"));
    assert!(
        active.rsplit('/').next() < passive.rsplit('/').next(),
        "active before passive"
    );
}

#[test]
fn storage_moves_in_the_seeds_order() {
    let files = seed();
    let mut all: Vec<(&str, String)> = files
        .iter()
        .filter(|(path, _)| path.starts_with("hosts/"))
        .map(|(path, bytes)| (path.rsplit('/').next().unwrap_or(path), text(bytes)))
        .collect();
    all.sort();
    let sequence: String = all
        .into_iter()
        .map(|(_, script)| script)
        .collect::<Vec<_>>()
        .join("\n");
    let order = [
        "Suspend-StorageGroupCopy -Identity $group",
        "Dismount-Database -Identity $database",
        "Move-DatabasePath -Identity $database -EdbFilePath $edbPath -ConfigurationOnly",
        "Move-StorageGroupPath -Identity $group -LogFolderPath $logPath -SystemFolderPath $systemPath -ConfigurationOnly",
        "[System.IO.File]::Move($oldEdb, $edbPath)",
        "Mount-Database -Identity $database",
        "Resume-StorageGroupCopy -Identity $group",
        "Get-StorageGroupCopyStatus -Identity $group",
    ];
    let mut last = 0;
    for needle in order {
        let position = sequence[last..]
            .find(needle)
            .unwrap_or_else(|| panic!("`{needle}` missing or out of order"));
        last += position + needle.len();
    }
    for node in ["MAIL1", "MAIL2"] {
        assert!(
            file_with(&files, node, "[System.IO.File]::Move($oldEdb, $edbPath)").is_some(),
            "files move on {node}"
        );
    }
}

#[test]
fn replication_health_is_checked_at_the_end() {
    let files = seed();
    let path = file_with(&files, "MAIL1", "Test-ReplicationHealth").expect("final check on MAIL1");
    assert!(text(&files[path]).contains("Get-StorageGroupCopyStatus -Server $cms"));
    let runbook = text(&files["runbook.md"]);
    assert!(
        runbook.contains("Validate a Configuration"),
        "the manual validation wizard"
    );
    assert!(runbook.contains("Untick **Storage**"));
    assert!(runbook.contains("Exchange Management Console"));
}

#[test]
fn every_script_refuses_the_wrong_host_and_a_plain_shell() {
    for (path, bytes) in seed() {
        let Some(rest) = path.strip_prefix("hosts/") else {
            continue;
        };
        let host = rest.split('/').next().unwrap_or_default();
        let script = text(&bytes);
        if path.ends_with(".cmd") {
            assert!(
                script.contains(&format!("if /i not \"%COMPUTERNAME%\"==\"{host}\"")),
                "{path}"
            );
        } else {
            assert!(
                script.contains(&format!("if ($env:COMPUTERNAME -ne '{host}')")),
                "{path}"
            );
            assert!(script.contains("Start-Transcript"), "{path} logs");
        }
        assert!(script.contains("S-1-16-12288"), "{path} checks elevation");
        assert!(script.contains("sha256 "), "{path} names the topology hash");
    }
}
