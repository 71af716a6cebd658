//! Checks that prove what they claim, in the generated scripts: each test
//! names the check of issue 8 it keeps, and fails when that check is gone.
//! And the launchers: a PowerShell step is run through its `.cmd`, which
//! turns a script that never ran into a failure.

use std::collections::BTreeMap;

use crate::{golden, harness};

fn seed() -> BTreeMap<String, Vec<u8>> {
    golden::generate(&harness::root().join("examples/contoso-ccr.yaml"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .replace("\r\n", "\n")
}

/// The one generated script whose name ends with `suffix`.
fn script(files: &BTreeMap<String, Vec<u8>>, suffix: &str) -> String {
    let found: Vec<&String> = files.keys().filter(|path| path.ends_with(suffix)).collect();
    assert_eq!(found.len(), 1, "{suffix}: {found:?}");
    text(&files[found[0]])
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

/// Asserts that the needles occur in this order.
pub(crate) fn in_order(haystack: &str, needles: &[&str]) {
    let mut from = 0;
    for needle in needles {
        let at = haystack[from..]
            .find(needle)
            .unwrap_or_else(|| panic!("`{needle}` missing or out of order in:\n{haystack}"));
        from += at + needle.len();
    }
}

/// Item 3: the passive node counts as done only when its role is installed
/// (registry, no setup watermark) and it is one of the CMS's
/// RedundantMachines, compared whole, not as a substring.
#[test]
fn passive_setup_is_done_only_when_the_role_is_installed_on_this_node() {
    let passive = script(&seed(), "-setup-passive-node.ps1");
    let gap = function(&passive, "Get-PassiveGap");
    in_order(
        gap,
        &[
            "Get-SetupState 'MailboxRole'",
            "if ($role -ne 'installed') {",
            "(Get-SetupState 'ClusteredMailboxServer') -eq 'unfinished'",
            "Get-MailboxServer -Identity $cms",
            "foreach ($machine in @($server.RedundantMachines)) {",
            "if ([string]$machine -eq $env:COMPUTERNAME) {",
            "return ''",
        ],
    );
    assert!(
        !gap.contains("OperationalMachines") || gap.contains("# OperationalMachines"),
        "{gap}"
    );
    let state = function(&passive, "Get-SetupState");
    in_order(
        state,
        &[
            "OpenSubKey('SOFTWARE\\Microsoft\\Exchange\\v8.0\\' + $Key)",
            "GetValue('Watermark') -ne $null -or $opened.GetValue('Action') -ne $null",
            "$state = 'unfinished'",
            "GetValue('ConfiguredVersion') -ne $null",
            "$state = 'installed'",
        ],
    );
    // The skip and the final verdict both rest on the gap.
    in_order(
        &passive,
        &[
            "if ((Get-PassiveGap) -eq '') {\n",
            "$pending = Get-PendingRestart $env:COMPUTERNAME",
            "Skip (",
            "Invoke-Setup $setup $arguments",
            "$gap = Get-PassiveGap\nif ($gap -ne '') {\n    Fail (",
        ],
    );
    for (path, bytes) in seed() {
        let code: String = text(&bytes)
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            !code.contains("-match $env:COMPUTERNAME"),
            "{path} matches a computer name as a substring"
        );
    }
}

/// Item 4: a database that exists but is dismounted is mounted, whether
/// this run created it or an earlier one did.
#[test]
fn storage_groups_mount_a_database_found_dismounted() {
    let files = golden::generate(&harness::root().join("tests/hostile/hostile.yaml"));
    let groups = script(&files, "-create-storage-groups.ps1");
    let body = function(&groups, "New-GroupWithDatabase");
    // At the function's own level (four spaces), not inside the "create" branch.
    in_order(
        body,
        &[
            "New-MailboxDatabase -StorageGroup $Identity",
            "\n    }\n",
            "\n    if (-not (Test-Mounted $DatabaseIdentity)) {\n        Write-Host ('Mounting ' + $DatabaseIdentity)\n        Mount-Database -Identity $DatabaseIdentity\n",
            "if (-not (Test-Mounted $DatabaseIdentity)) {\n            Fail (",
        ],
    );
    assert!(groups.contains("Skip 'Every storage group and database exists and is mounted.'"));
}

/// Item 5: the file move and the mount check all three configured paths;
/// the mount checks the checkpoint and both nodes' folders, the passive
/// node's through its administrative share, before it mounts or resumes.
#[test]
fn the_path_move_checks_every_path_on_both_nodes() {
    let files = seed();
    let move_files = script(&files, "MAIL1/270-move-database-files.ps1");
    let mount = script(&files, "-mount-and-resume.ps1");
    for steps in [&move_files, &mount] {
        let gap = function(steps, "Get-ConfigurationGap");
        in_order(
            gap,
            &[
                "[string]$mailboxDatabase.EdbFilePath -ne $edbPath",
                "[string]$storageGroup.LogFolderPath -ne $logPath",
                "[string]$storageGroup.SystemFolderPath -ne $systemPath",
            ],
        );
    }
    // Every file is found, moved or copied, and the new folders proven, on
    // each node; the sources are kept (tests/change.rs checks how).
    in_order(
        &move_files,
        &[
            "$configurationGap = Get-ConfigurationGap\nif ($configurationGap -ne '') {\n    Fail (",
            "Add-GroupMoves $prefix",
            "Move-GroupFiles",
            "$gap = Get-NewPlaceGap $env:COMPUTERNAME $prefix $false\nif ($gap.Length -gt 0) {\n    Fail (",
        ],
    );
    let groups = function(&move_files, "Add-GroupMoves");
    in_order(
        groups,
        &[
            "Add-Move $oldEdb $newEdb",
            "@(($Prefix + '*.log'), ($Prefix + '*.jrs'))",
            "[System.IO.Path]::Combine($oldSystem, $Prefix + '.chk')",
        ],
    );
    assert!(
        mount.contains("'\\\\' + $Node + '\\' + $Path.Substring(0, 1) + '$' + $Path.Substring(2)"),
        "E:\\x becomes \\\\NODE\\E$\\x"
    );
    in_order(
        &mount,
        &[
            "$nodes = @('MAIL1', 'MAIL2')",
            "$configurationGap = Get-ConfigurationGap\nif ($configurationGap -ne '') {\n    Fail (",
            "\nAssert-NewPlace $prefix $mounted ",
            "Mount-Database -Identity $database",
            "Resume-StorageGroupCopy -Identity $group",
        ],
    );
}

/// Item 13: nothing is suspended before the CMS is online and every copy
/// healthy, and nothing can stop at a prompt.
#[test]
fn the_suspend_step_checks_what_it_waits_for_first() {
    let suspend = script(&seed(), "-suspend-and-move-paths.ps1");
    in_order(
        &suspend,
        &[
            "Assert-CmsOnline $cms",
            "Assert-CopiesHealthy { Get-StorageGroupCopyStatus -Server $cms } $cms -1",
            "Suspend-StorageGroupCopy -Identity $group -SuspendComment 'Step 260 (ccr.mail.suspend-and-move-paths)' -Confirm:$false",
            "if (Test-Mounted $database) {\n    Write-Host ('Dismounting ' + $database)\n    Dismount-Database -Identity $database -Confirm:$false",
            "$gap = Get-ConfigurationGap\nif ($gap -ne '') {\n    Fail (",
        ],
    );
    for line in suspend.lines() {
        let line = line.trim_start();
        if line.starts_with("Move-DatabasePath") || line.starts_with("Move-StorageGroupPath") {
            assert!(line.contains("-ConfigurationOnly") && line.ends_with("-Confirm:$false"));
        }
    }
}

/// Item 10: with the Mailbox role installed and no CMS, a rerun creates the
/// CMS alone instead of installing the role again.
#[test]
fn active_setup_rerun_creates_the_cms_alone() {
    let active = script(&seed(), "-setup-active-cms.ps1");
    let cms_only = active
        .lines()
        .find(|line| line.starts_with("$cmsArguments = @("))
        .expect("the CMS arguments");
    assert_eq!(
        cms_only,
        "$cmsArguments = @('/NewCms', '/CMSName:CCRMAIL', '/CMSIPv4Addresses:192.168.10.31')"
    );
    in_order(
        &active,
        &[
            "$role = Get-SetupState 'MailboxRole'",
            "if ($role -eq 'installed') {",
            "Invoke-Setup $setup $cmsArguments\n} else {",
            "$arguments = @('/mode:Install', '/roles:Mailbox') + $cmsArguments",
            "Invoke-Setup $setup $arguments\n}",
            "if ((Get-SetupState 'MailboxRole') -ne 'installed') {\n    Fail",
            "Assert-CmsOnline $cms",
        ],
    );
}

/// Item 8: every PowerShell step has a `.cmd` of the same number and name
/// beside it; the runbook tells the operator to run that `.cmd`; plan.json
/// lists both under the step; and the launcher makes "never ran" exit 1.
/// Issue 16 item 29: plan.json's `file` is what runs the step, the `.cmd`
/// (for PowerShell the launcher), and `script` the `.ps1` it runs, so
/// automation that runs `file` never skips the launcher.
#[test]
fn every_powershell_step_runs_through_its_launcher() {
    let mut checked = 0;
    for (name, files) in golden::every_tree() {
        let plan: serde_json::Value = serde_json::from_slice(&files["plan.json"]).expect("plan");
        let estate = plan["estate"].as_str().expect("estate");
        let window = plan["window"].as_str().expect("window");
        let runbook = text(&files["runbook.md"]);
        let listed: BTreeMap<&str, &str> = plan["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| {
                (
                    f["path"].as_str().expect("path"),
                    f["step"].as_str().unwrap_or(""),
                )
            })
            .collect();
        for step in plan["steps"].as_array().expect("steps") {
            assert!(step.get("launcher").is_none(), "{name}: {}", step["id"]);
            if let Some(file) = step["file"].as_str() {
                assert!(
                    file.ends_with(".cmd"),
                    "{name}: {file} is not what runs the step"
                );
            }
            if step["kind"] != "ps1" {
                assert!(step.get("script").is_none(), "{name}: {}", step["id"]);
                continue;
            }
            let id = step["id"].as_str().expect("id");
            let cmd = step["file"].as_str().expect("file: the launcher");
            let ps1 = step["script"].as_str().expect("script: the .ps1");
            assert!(ps1.ends_with(".ps1"), "{name}: {ps1}");
            assert_eq!(
                cmd.strip_suffix(".cmd"),
                ps1.strip_suffix(".ps1"),
                "{name}: {id}"
            );
            assert_eq!(listed.get(ps1), Some(&id), "{name}: {ps1} in plan.json");
            assert_eq!(listed.get(cmd), Some(&id), "{name}: {cmd} in plan.json");

            let file_name = cmd.rsplit('/').next().expect("name");
            let command = format!("```text\nC:\\runsheet\\{estate}\\{window}\\{file_name}\n```");
            let heading = format!("### Step {}:", step["number"].as_str().expect("number"));
            let section = runbook
                .split(&heading)
                .nth(1)
                .and_then(|rest| rest.split("\n### ").next())
                .unwrap_or_else(|| panic!("{name}: no {heading}"));
            assert!(section.contains(&command), "{name}: {heading}\n{section}");

            assert_launcher_turns_never_ran_into_failure(
                &text(&files[cmd]),
                &format!("{name}/{cmd}"),
            );
            checked += 1;
        }
        assert!(
            !runbook.contains("-Command \"& '"),
            "{name}: the runbook starts a .ps1 directly"
        );
    }
    assert!(checked > 30, "only {checked} launchers");
}

fn assert_launcher_turns_never_ran_into_failure(launcher: &str, name: &str) {
    let lines: Vec<&str> = launcher.lines().collect();
    let call = lines
        .iter()
        .position(|line| line.starts_with("\"%POWERSHELL%\""))
        .unwrap_or_else(|| panic!("{name}: no powershell.exe call"));
    assert!(
        launcher.contains(
            "set \"POWERSHELL=%SystemRoot%\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\""
        ),
        "{name}: the full path of powershell.exe"
    );
    // $LASTEXITCODE is 1 until the script sets it: a script that never ran,
    // or ran without exit, leaves 1, and powershell.exe exits with it.
    assert_eq!(
        lines[call],
        "\"%POWERSHELL%\" -NoProfile -NonInteractive -Command \"$LASTEXITCODE = 1; & '%QUOTED%'; exit $LASTEXITCODE\"",
        "{name}"
    );
    assert!(
        launcher.contains("set \"QUOTED=%SCRIPT:'=''%\""),
        "{name}: the path is quoted for PowerShell"
    );
    // The cmd side keeps the code: read at once, compared as text (negative
    // codes are not "errorlevel 1"), passed on.
    assert_eq!(lines[call + 1], "set \"CODE=%ERRORLEVEL%\"", "{name}");
    let after: Vec<&str> = lines[call + 1..]
        .iter()
        .copied()
        .filter(|line| !line.trim_start().starts_with("rem "))
        .collect();
    assert!(
        !after.iter().any(|line| line.contains("if errorlevel")),
        "{name}: errorlevel tests miss negative codes"
    );
    for line in &after {
        let line = line.trim();
        if let Some(code) = line.strip_prefix("exit /b ") {
            // 3010 only inside `if "%CODE%"=="3010" (`, which says so first.
            assert!(matches!(code, "1" | "%CODE%" | "3010"), "{name}: {line}");
        } else if line.contains("exit /b") {
            assert!(line == "if \"%CODE%\"==\"0\" exit /b 0", "{name}: {line}");
        }
    }
    assert!(after.contains(&"exit /b %CODE%"), "{name}");
    // A restart asked for is said on the console, not only in the code.
    let restart = after
        .iter()
        .position(|line| line.trim() == "if \"%CODE%\"==\"3010\" (")
        .expect("3010 branch");
    assert!(
        after[restart + 1].contains("exit code 3010: restart"),
        "{name}"
    );
    assert_eq!(after[restart + 2].trim(), "exit /b 3010", "{name}");
}

/// Item 8: the execution policy steps bracket the PowerShell steps on each
/// node: set after PowerShell is installed and before the first `.ps1`,
/// set back after the last.
#[test]
fn the_execution_policy_is_set_before_the_first_script_and_set_back_at_the_end() {
    for (name, path) in golden::topologies() {
        let files = golden::generate(&path);
        let plan: serde_json::Value = serde_json::from_slice(&files["plan.json"]).expect("plan");
        let steps = plan["steps"].as_array().expect("steps");
        for node in steps
            .iter()
            .filter(|s| s["step"] == "execution-policy")
            .map(|s| s["host"].as_str().expect("host"))
        {
            let on_node: Vec<&serde_json::Value> =
                steps.iter().filter(|s| s["host"] == node).collect();
            let position = |def: &str| on_node.iter().position(|s| s["step"] == def);
            let set = position("execution-policy").expect("set");
            let back = position("restore-execution-policy")
                .unwrap_or_else(|| panic!("{name}: {node} never gets its policy back"));
            let installed = position("install-failover-clustering").expect("PowerShell");
            assert!(installed < set, "{name}: {node}");
            for (index, step) in on_node.iter().enumerate() {
                if step["kind"] == "ps1" {
                    assert!(set < index && index < back, "{name}: {node} {}", step["id"]);
                }
            }
            let set_script = text(&files[on_node[set]["file"].as_str().expect("file")]);
            in_order(
                &set_script,
                &[
                    ":Zone.Identifier",
                    "call :read_policy",
                    ">\"%RECORD%\" echo %NOW%",
                    "Set-ExecutionPolicy %WANTED%",
                    "call :read_policy",
                    "if /i not \"%NOW%\"==\"%WANTED%\" (",
                    "goto :fail",
                ],
            );
            assert!(
                set_script
                    .lines()
                    .all(|line| line.starts_with("rem ") || !line.contains(" -ExecutionPolicy")),
                "{name}: 1.0's powershell.exe has no -ExecutionPolicy"
            );
            // 2.0 asks before it changes the policy; 1.0's cmdlet has no -Force.
            let r2 = files
                .keys()
                .any(|f| f.contains("validate-cluster") && f.ends_with(".ps1"));
            assert_eq!(
                set_script.contains("-Command \"Set-ExecutionPolicy %WANTED% -Force\""),
                r2,
                "{name}"
            );
            let back_script = text(&files[on_node[back]["file"].as_str().expect("file")]);
            in_order(
                &back_script,
                &[
                    "set /p BEFORE=<\"%RECORD%\"",
                    "set \"TARGET=%BEFORE%\"",
                    "Set-ExecutionPolicy %TARGET%",
                    "if /i not \"%NOW%\"==\"%TARGET%\" (",
                ],
            );
            // Review 8, finding 4: a 2008 server may run Windows PowerShell 2.0,
            // which asks too; 1.0 has neither -Force nor $PSVersionTable.
            if !r2 {
                for (script, policy) in [(&set_script, "%WANTED%"), (&back_script, "%TARGET%")] {
                    let guarded = format!(
                        "-Command \"if ($PSVersionTable) {{ Set-ExecutionPolicy {policy} -Force }} else {{ Set-ExecutionPolicy {policy} }}\""
                    );
                    let calls: Vec<&str> = script
                        .lines()
                        .filter(|line| {
                            !line.starts_with("rem ") && line.contains("Set-ExecutionPolicy")
                        })
                        .collect();
                    assert!(
                        !calls.is_empty() && calls.iter().all(|line| line.contains(&guarded)),
                        "{name}: {calls:?}"
                    );
                }
            }
        }
        assert!(
            steps.iter().any(|s| s["step"] == "execution-policy"),
            "{name}"
        );
    }
}

/// Item 17: the header names the PowerShell the script is written for.
#[test]
fn the_header_names_the_powershell_of_its_dialect() {
    for (name, path) in golden::topologies() {
        let files = golden::generate(&path);
        // Only 2008 R2 validates with a script (Test-Cluster).
        let r2 = files
            .keys()
            .any(|f| f.contains("validate-cluster") && f.ends_with(".ps1"));
        let wanted = if r2 {
            "# Written for Windows PowerShell 2.0 (Windows Server 2008 R2)."
        } else {
            "# Written for Windows PowerShell 1.0 (Windows Server 2008)."
        };
        for (file, bytes) in files.iter().filter(|(f, _)| f.ends_with(".ps1")) {
            let script = text(bytes);
            assert!(script.contains(wanted), "{name}/{file}");
            assert!(!script.contains("1.0 compatible"), "{name}/{file}");
        }
    }
}

/// Item 6: the back-out of the configuration-only move moves both paths
/// back before mounting, and warns in bold against the empty database.
#[test]
fn the_path_move_back_out_cannot_lose_mail() {
    let files = seed();
    let runbook = text(&files["runbook.md"]);
    let section = runbook
        .split("Suspend replication and move the paths in the configuration (MAIL)")
        .nth(1)
        .and_then(|rest| rest.split("\n### ").next())
        .expect("the suspend-and-move step");
    in_order(
        section,
        &[
            "`Move-DatabasePath <database> -EdbFilePath <old .edb> -ConfigurationOnly`",
            "`Move-StorageGroupPath <storage group> -LogFolderPath <old folder> -SystemFolderPath <old folder> -ConfigurationOnly`",
            "then mount the database and resume the copy.",
            " **Never accept an offer to create an empty database",
        ],
    );
    let html = String::from_utf8_lossy(&files["runbook.html"]);
    assert!(html.contains("<strong>Never accept an offer to create an empty database"));
}

/// Review 8, finding 1: the storage groups step waits for the folder steps
/// of both nodes, so it reads every folder on this node and, through the
/// administrative share, on the passive node, before it creates anything.
#[test]
fn new_storage_groups_wait_for_the_folders_of_both_nodes() {
    let mut seen = 0;
    for (name, path) in golden::topologies() {
        let files = golden::generate(&path);
        for (file, bytes) in files
            .iter()
            .filter(|(f, _)| f.contains("-create-storage-groups"))
        {
            if !file.ends_with(".ps1") {
                continue;
            }
            seen += 1;
            let script = text(bytes);
            assert!(script.contains("\n$passive = '"), "{name}: {file}");
            function(&script, "Get-AdminPath");
            let local = script
                .matches("if (-not [System.IO.Directory]::Exists('")
                .count();
            let remote = script
                .matches("if (-not [System.IO.Directory]::Exists((Get-AdminPath $passive '")
                .count();
            assert!(
                local > 0 && local == remote,
                "{name}: {file}: {local} local, {remote} on the passive node"
            );
            in_order(
                &script,
                &["Get-AdminPath $passive '", "New-GroupWithDatabase '"],
            );
        }
    }
    assert!(seen >= 2, "{seen}");
}

/// Review 8, finding 2: the active setup waits for the quorum by the test
/// the quorum step calls done, not by the witness resource alone.
#[test]
fn active_setup_waits_for_the_quorum_itself() {
    let active = script(&seed(), "-setup-active-cms.ps1");
    assert!(!active.contains("res 'File Share Witness'"), "{active}");
    in_order(
        &active,
        &[
            "$quorum = cluster.exe ('/cluster:' + 'MAIL') /quorum | Out-String",
            "if ($LASTEXITCODE -ne 0 -or $quorum -notmatch 'File Share Witness') {",
            "Fail (",
            "Invoke-Setup $setup",
        ],
    );
}

/// The runbook's Markdown section under the `## ` or `### ` heading that
/// starts with `title`, up to the next heading of any level.
fn runbook_section(files: &BTreeMap<String, Vec<u8>>, title: &str) -> String {
    let runbook = text(&files["runbook.md"]);
    let start = runbook
        .find(&format!("## {title}"))
        .unwrap_or_else(|| panic!("no heading {title}"));
    let body = &runbook[start..];
    let end = body[3..].find("\n#").map_or(body.len(), |at| at + 3);
    body[..end].to_owned()
}

/// Issue 16, item 27: a witness host on Windows Server 2003 (no integrity
/// levels in `whoami /groups`, no `icacls`) is told so by its first check,
/// not "not elevated"; the runbook says what to do with such a witness.
#[test]
fn a_witness_host_checks_its_windows_version_before_elevation() {
    let files = seed();
    for suffix in ["HUB1/030-preflight.cmd", "HUB1/180-witness-share.cmd"] {
        let witness = script(&files, suffix);
        in_order(
            &witness,
            &[
                "wmic os get Version /value",
                "set \"OSMAJOR=0\"",
                "if %OSMAJOR% LSS 6 (",
                "these scripts need Windows Server 2008 or later",
                "goto :fail",
                "whoami /groups | find \"S-1-16-12288\"",
            ],
        );
    }
    // Nodes are checked for their exact release by the pre-flight instead.
    assert!(!script(&files, "MAIL1/010-preflight.cmd").contains("OSMAJOR"));
    let before = runbook_section(&files, "Before you start");
    assert!(
        before.contains("The witness host `HUB1` runs Windows Server 2008 or later."),
        "{before}"
    );
}

/// Issue 16, item 19: Exchange setup of a CMS needs the Exchange
/// Organization Administrator role, checked by each node's pre-flight before
/// anything changes; the cluster account's right to create the CMS's
/// computer account cannot be read by a script and is a check by eye,
/// listed before the window and repeated at the point of no return.
#[test]
fn the_exchange_and_active_directory_rights_are_prerequisites() {
    let files = seed();
    for suffix in ["MAIL1/010-preflight.cmd", "MAIL2/020-preflight.cmd"] {
        let preflight = script(&files, suffix);
        in_order(
            &preflight,
            &[
                "whoami /groups /fo list | find /i \"\\Exchange Organization Administrators\" >nul",
                "if errorlevel 1 (",
                "goto :fail",
                "PREFLIGHT OK",
            ],
        );
    }
    assert!(!script(&files, "HUB1/030-preflight.cmd").contains("Organization Administrators"));
    let before = runbook_section(&files, "Before you start");
    for needle in [
        "a member of the Exchange Organization Administrators group",
        "The cluster's account `CONTOSO\\MAIL$` will be able to create the computer account of the clustered mailbox server `CCRMAIL`",
        "is given Create Computer objects on that OU",
        "a computer object `CCRMAIL` is pre-staged there, disabled",
    ] {
        assert!(before.contains(needle), "{needle}: {before}");
    }
    let no_return = runbook_section(&files, "Point of no return");
    assert!(
        no_return.contains("may create the clustered mailbox server's computer account"),
        "{no_return}"
    );
}

/// Issue 16, item 29: ServerManagerCmd's 110 is named among the failures,
/// and 1001 is neither a failure nor a pass: the step asks for a restart
/// (3010) and for itself again, which proves the install by 0, 1003 or 3010.
#[test]
fn servermanager_1001_asks_for_a_restart_and_the_step_again() {
    let files = seed();
    for suffix in [
        "MAIL1/040-install-failover-clustering.cmd",
        "MAIL2/110-exchange-prerequisites.cmd",
    ] {
        let install = script(&files, suffix);
        in_order(
            &install,
            &[
                "set \"RERUN=\"",
                ":check_feature",
                "if \"%~1\"==\"1001\" (",
                "set \"RESTART=1\"",
                "set \"RERUN=1\"",
                "exit /b 0",
                "110 answer file unreadable",
                "exit /b 1",
                ":finish_features",
                "if defined RERUN (",
                "run this step again",
                "exit /b 3010",
            ],
        );
    }
}

/// Issue 16, item 29: after the restarts either node may hold the CMS, and
/// the handover accepts both.
#[test]
fn the_handover_accepts_the_cms_on_either_node() {
    let handover = runbook_section(&seed(), "Final checks");
    assert!(
        handover.contains("`CCRMAIL` is online on one of its nodes, `MAIL1` or `MAIL2`"),
        "{handover}"
    );
    assert!(!handover.contains("is online on `MAIL1`"), "{handover}");
}

/// Review 8, finding 3: the passive setup waits for the CMS online now (its
/// cluster group), not only for a DNS record that may predate the restart.
#[test]
fn passive_setup_waits_for_the_cms_group_online() {
    let passive = script(&seed(), "-setup-passive-node.ps1");
    in_order(
        &passive,
        &[
            "$groupStatus = @(cluster.exe ('/cluster:' + 'MAIL') group $cms)",
            "$groupCode = $LASTEXITCODE",
            "\\s+\\S+\\s+Online\\s*$'",
            "if ($groupCode -ne 0 -or -not $groupOnline) {",
            "Fail (",
            "Invoke-Setup $setup",
        ],
    );
}

/// Review 8, findings 5 and 6: a step whose script relies on a command fact
/// known only from community material tells the operator what to check.
#[test]
fn steps_relying_on_unconfirmed_facts_say_what_to_verify() {
    const UNCONFIRMED: &[&str] = &[
        ".psbase.Put()",
        "Test-ReplicationHealth",
        "cluster.exe",
        "Setup.com",
    ];
    for (name, path) in golden::topologies() {
        let files = golden::generate(&path);
        let runbook = text(&files["runbook.md"]);
        for section in runbook.split("\n### Step ").skip(1) {
            let Some(ps1) = section.lines().find_map(|line| {
                line.split('`')
                    .find(|part| part.starts_with("hosts/") && part.ends_with(".ps1"))
            }) else {
                continue;
            };
            let script = text(&files[ps1]);
            for fact in UNCONFIRMED {
                if script.contains(fact) {
                    assert!(
                        section.contains("**Verify on first use:**"),
                        "{name}: step {} uses {fact} and has no Verify on first use",
                        &section[..3]
                    );
                }
            }
        }
    }
}

/// Review 8, finding 13: "every copy Healthy" and "every check Passed" are
/// not proved by an empty list: the verification steps fail on one.
#[test]
fn an_empty_status_list_is_not_a_pass() {
    let files = seed();
    for (suffix, lists) in [
        ("-verify-cms.ps1", &["$copies"][..]),
        ("-final-verification.ps1", &["$copies", "$checks"][..]),
    ] {
        // The final verification runs on each node (issue 16, item 21).
        let found: Vec<&String> = files.keys().filter(|path| path.ends_with(suffix)).collect();
        assert!(!found.is_empty(), "{suffix}");
        for path in found {
            let script = text(&files[path]);
            for list in lists {
                in_order(
                    &script,
                    &[
                        &format!("if ({list}.Count -eq 0) {{"),
                        "Fail (",
                        "Stop-Step 0",
                    ],
                );
            }
        }
    }
}

/// Review 8, finding 12: Windows PowerShell passes `$null` to a .NET string
/// parameter as "", so `ChangeExtension(path, $null)` keeps the dot; no
/// script builds a path that way.
#[test]
fn no_script_passes_null_for_a_dotnet_string() {
    for (name, path) in golden::topologies() {
        for (file, bytes) in golden::generate(&path) {
            if file.ends_with(".ps1") {
                let script = text(&bytes);
                let passes_null = script
                    .lines()
                    .filter(|line| !line.trim_start().starts_with('#'))
                    .any(|line| line.contains(", $null)"));
                assert!(!passes_null, "{name}: {file}");
            }
        }
    }
}

/// The active setup waits for the cluster networks: before Setup.com runs it
/// finds each topology network by subnet and compares the name and role that
/// the network step sets, for every network, not only that the step ran.
#[test]
fn active_setup_checks_every_network_name_and_role_before_setup() {
    let active = script(&seed(), "-setup-active-cms.ps1");
    let assert_fn = function(&active, "Assert-ClusterNetwork");
    in_order(
        assert_fn,
        &[
            "Find-ClusterNetwork $Address $Mask",
            "[string]$network.Name -ne $Name",
            "[int]$network.Role -ne $Role",
            "Fail (",
        ],
    );
    in_order(
        &active,
        &[
            "Assert-ClusterNetwork 'Public' '192.168.10.0' '255.255.255.0' '3'",
            "Assert-ClusterNetwork 'Heartbeat' '10.10.10.0' '255.255.255.0' '1'",
            "Invoke-Setup $setup",
        ],
    );
}
