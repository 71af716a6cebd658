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
        script.contains(
            r#"icacls "C:\FSW_CCR_MAIL" /inheritance:r /grant:r "BUILTIN\Administrators:(OI)(CI)F" "CONTOSO\MAIL$":(OI)(CI)F /q"#
        ),
        "inheritance removed, exactly Administrators and CLUSTER$ with full control"
    );
}

/// Item 12 of issue 8: folder and share carry exactly Administrators and the
/// cluster account, and "already done" needs exactly those rights.
#[test]
fn the_witness_rights_are_exactly_administrators_and_the_cluster_account() {
    let files = seed();
    let path = file_with(&files, "HUB1", "net share").expect("share on HUB1");
    let script = text(&files[path]);
    assert!(
        script.contains(r#"/GRANT:BUILTIN\Administrators,FULL /GRANT:"CONTOSO\MAIL$,FULL""#),
        "the share is granted to the two accounts"
    );
    assert!(!script.contains("/GRANT:Everyone"), "never to Everyone");
    assert!(
        !script.contains("icacls \"C:\\FSW_CCR_MAIL\" /grant "),
        "no additive grant"
    );
    // The exactness check: two entries, each full control, inherited by
    // subfolders and files, and nothing else; the share without Everyone.
    for needle in [
        r#"icacls "C:\FSW_CCR_MAIL" 2>nul | find /c ":(" >"%LOG%.entries""#,
        r#"if not "%ENTRIES%"=="2" exit /b 0"#,
        r#"find /i "BUILTIN\Administrators:(OI)(CI)(F)""#,
        r#"find /i "CONTOSO\MAIL$:(OI)(CI)(F)""#,
        r#"net share "FSW_CCR_MAIL" 2>nul | find /i "Everyone" >nul"#,
        r#"find /i "CONTOSO\MAIL$, FULL""#,
    ] {
        assert!(script.contains(needle), "missing: {needle}");
    }
    // "Already done" is reached only when nothing was changed, and both
    // checks ran before it.
    let already = script
        .find("if not defined CHANGED goto :already")
        .expect("already");
    let acl = script
        .find("if \"%ACL_OK%\"==\"1\" goto :acl_done")
        .expect("acl check");
    let share = script
        .find("if \"%SHARE_OK%\"==\"1\" goto :share_done")
        .expect("share check");
    assert!(acl < already && share < already);
    assert_eq!(script.matches("goto :already").count(), 1, "{script}");
    for change in [
        "/inheritance:r",
        "net share \"FSW_CCR_MAIL\"=",
        "/delete /y",
        "mkdir ",
    ] {
        let at = script.find(change).expect(change);
        let after = &script[at..];
        assert!(
            after
                .find("set \"CHANGED=1\"")
                .is_some_and(|c| c < after.find("goto :already").unwrap_or(usize::MAX)),
            "{change} is followed by CHANGED=1 before any already-done"
        );
    }
}

/// Item 2 of issue 8: nodes are full installations of Enterprise or
/// Datacenter, 64-bit, of the Windows release of the topology.
#[test]
fn the_preflight_refuses_server_core_32_bit_and_another_release() {
    let files = seed();
    let node = text(&files["hosts/MAIL1/010-preflight.cmd"]);
    assert!(node.contains(r#"for %%E in (10 8 38 37) do if "%SKU%"=="%%E" set "EDITION=ok""#));
    for core in ["12", "14", "39", "41"] {
        let list = node
            .lines()
            .find(|line| line.starts_with("for %%E in ("))
            .expect("SKU list");
        assert!(
            !list.split(['(', ')', ' ']).any(|word| word == core),
            "Server Core SKU {core} accepted"
        );
    }
    assert!(node.contains("wmic os get OSArchitecture /value"));
    assert!(node.contains(r#"if not "%OSARCH:~0,2%"=="64" ("#));
    assert!(node.contains("wmic os get Version /value"));
    assert!(
        node.contains(r#"if not "%OSVERSION:~0,4%"=="6.0." ("#),
        "Windows Server 2008 is 6.0"
    );
    let witness = text(&files["hosts/HUB1/030-preflight.cmd"]);
    assert!(
        !witness.contains("OperatingSystemSKU"),
        "the witness host may be any edition"
    );

    let r2 = golden::generate(&harness::root().join("examples/three-clusters.yaml"));
    let r2_node = text(&r2["hosts/EXMB01/010-preflight.cmd"]);
    assert!(
        r2_node.contains(r#"if not "%OSVERSION:~0,4%"=="6.1." ("#),
        "2008 R2 is 6.1"
    );
}

/// Item 16 of issue 8: cluster.exe can exit with a negative HRESULT, which
/// `if errorlevel 1` misses; every cluster.exe result is compared with 0.
#[test]
fn cluster_exe_results_are_compared_with_zero() {
    let files = seed();
    for name in [
        "150-create-cluster.cmd",
        "160-add-node.cmd",
        "190-quorum.cmd",
    ] {
        let script = text(&files[&format!("hosts/MAIL1/{name}")]);
        let lines: Vec<&str> = script.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            if line.starts_with("cluster ") && line.ends_with(">>\"%LOG%\" 2>&1") {
                let next = lines.get(index + 1).copied().unwrap_or("");
                assert!(
                    !next.contains("errorlevel"),
                    "{name}: `{next}` after `{line}` misses negative exit codes"
                );
            }
        }
        assert!(
            !script.contains("errorlevel 1\n    set \"REASON=cluster"),
            "{name}"
        );
        assert!(script.contains(r#"if not "%ERRORLEVEL%"=="0" ("#), "{name}");
    }
    // Done only when the cluster that answers has the first node in it.
    let create = text(&files["hosts/MAIL1/150-create-cluster.cmd"]);
    assert!(create.contains(
        "cluster /cluster:\"MAIL\" node \"MAIL1\" >>\"%LOG%\" 2>&1\nif \"%ERRORLEVEL%\"==\"0\" goto :already"
    ));
    assert!(
        !create.contains("cluster /cluster:\"MAIL\" node >>"),
        "a bare node list proves nothing"
    );
}

/// Item 11 of issue 8: the quorum step waits for the witness to come online,
/// compares its share path and the quorum before "already done", and never
/// says "already done" after a change.
#[test]
fn the_quorum_step_waits_and_compares_before_already_done() {
    let files = seed();
    let script = text(&files["hosts/MAIL1/190-quorum.cmd"]);
    assert!(script.contains(r#"res "File Share Witness" /online /wait:120"#));
    assert!(
        script
            .contains(r#"/priv 2>nul | find /i "SharePath" | find /i "\\HUB1\FSW_CCR_MAIL" >nul"#),
        "share path compared"
    );
    assert!(
        script.contains(r#"/quorum 2>nul | find /i "File Share Witness" >nul"#),
        "quorum compared"
    );
    let already = script
        .find("if not defined CHANGED goto :already")
        .expect("already");
    for check in [
        "find /i \"SharePath\"",
        "/status 2>nul | find /i \"Online\"",
        "/quorum 2>nul | find",
    ] {
        assert!(
            script.find(check).expect(check) < already,
            "{check} before already done"
        );
    }
    assert_eq!(script.matches("goto :already").count(), 1);
    for change in [
        "/create /group:",
        "/online /wait:120",
        "/quorum:\"File Share Witness\"",
    ] {
        let at = script.find(change).expect(change);
        let set = script[at..]
            .find("set \"CHANGED=1\"")
            .expect("CHANGED after a change");
        assert!(
            at + set < already,
            "{change} sets CHANGED before the already-done test"
        );
    }
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
        "\nMove-GroupFiles\n",
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
            file_with(&files, node, "\nMove-GroupFiles\n").is_some(),
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
