//! Issue 16, items 1, 2, 3, 5, 10 and 13: the guards of the change windows,
//! read in the generated output. Each test fails when its defect comes back.

use std::collections::BTreeMap;

use crate::{change, golden, harness};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .replace("\r\n", "\n")
}

/// The one PowerShell script of a tree whose name contains `part`.
fn script(files: &BTreeMap<String, Vec<u8>>, part: &str) -> String {
    let found: Vec<&String> = files
        .keys()
        .filter(|path| path.ends_with(".ps1") && path.contains(part))
        .collect();
    assert_eq!(found.len(), 1, "{part}: {found:?}");
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
fn in_order(haystack: &str, needles: &[&str]) {
    let mut from = 0;
    for needle in needles {
        let at = haystack[from..]
            .find(needle)
            .unwrap_or_else(|| panic!("`{needle}` missing or out of order in:\n{haystack}"));
        from += at + needle.len();
    }
}

/// The change tree that backs a case out: NEW to OLD.
fn reverse(case: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = harness::root().join("tests/change").join(case);
    change::generate(&dir.join("new.yaml"), &dir.join("old.yaml"))
}

/// Item 1: a dismounted database of the change leaves the CMS Partially
/// Online; the steps that run then accept that for their own databases only,
/// matched as whole names, and fail closed on anything else.
#[test]
fn steps_with_their_database_offline_accept_partially_online_for_it_alone() {
    let moved = change::tree("database-move");
    let mount = script(&moved, "mount-and-resume");

    let active = function(&mount, "Assert-ActiveHere");
    assert!(
        active.contains("Assert-CmsServing $Cms $Offline"),
        "{active}"
    );
    assert!(!active.contains("Assert-CmsOnline"), "{active}");

    let serving = function(&mount, "Assert-CmsServing");
    in_order(
        serving,
        &[
            "$state = ([string]$status.State).Replace(' ', '')",
            "if ($state -eq 'Online') {",
            "return",
            "if ($state -ne 'PartiallyOnline' -or -not $Offline) {",
            "Fail (",
            "Get-MailboxDatabase -Server $Cms -ErrorAction Stop",
            "if ($identity -eq $database) {",
            "if (-not (Test-Mounted $identity)) {",
            "Fail (",
            "$status.PSObject.Properties['FailedResources']",
            "if ($name -eq $other) {",
            "Fail (",
        ],
    );
    for loose in ["-match", "-like", "Contains(", "StartsWith("] {
        assert!(!serving.contains(loose), "whole names only: {loose}");
    }
    // The pre-check lets the databases this window removes or adds be
    // offline (cold read: a retired database is often dismounted first).
    for case in ["storage-group-removed", "storage-group-added"] {
        let tree = change::tree(case);
        let precheck = script(&tree, "precheck");
        let at = precheck
            .find("Assert-ActiveHere $cms $offline")
            .expect("guard");
        assert!(
            precheck[..at].contains("$offline += 'CCRMAIL\\SG2 Staff\\Staff'"),
            "{case}: {precheck}"
        );
    }

    // The mount step brings its own database online.
    assert!(
        mount.contains("\nAssert-ActiveHere $cms @($database)\n"),
        "{mount}"
    );
    // Moving the configuration, and the back-out's rerun of it: only once
    // this window suspended the copy.
    let configuration = script(&moved, "move-configuration");
    in_order(
        &configuration,
        &[
            "if (Test-CopySuspendedByChange $group) {",
            "$offline = @($database)",
            "Assert-ActiveHere $cms $offline",
            "Suspend-StorageGroupCopy",
        ],
    );
    // The pre-check stays strict unless this window suspended the copy.
    let precheck = script(&moved, "precheck");
    in_order(
        &precheck,
        &[
            "$offline = @()",
            "if (Test-CopySuspendedByChange 'CCRMAIL\\First Storage Group') {",
            "$offline += 'CCRMAIL\\First Storage Group\\Mailbox Database'",
            "Assert-ActiveHere $cms $offline",
        ],
    );
    assert!(
        !precheck.contains("Assert-ActiveHere $cms @("),
        "{precheck}"
    );
    let verify = script(&moved, "verify-cms");
    assert!(verify.contains("\nAssert-CmsOnline $cms\n"), "{verify}");

    let removed = change::tree("storage-group-removed");
    let remove = script(&removed, "remove-storage-group");
    in_order(
        &remove,
        &["Assert-ActiveHere $cms @($database)", "Dismount-Database"],
    );
    let added = change::tree("storage-group-added");
    let add = script(&added, "create-storage-groups");
    in_order(
        &add,
        &[
            "$offline = @()",
            "$offline += '",
            "Assert-ActiveHere $cms $offline",
            "New-StorageGroup",
        ],
    );

    // The back-out is the reverse change: its steps accept the database this
    // change dismounted, whose copy carries this change's suspend comment.
    let backout = reverse("database-move");
    let comment = |tree: &BTreeMap<String, Vec<u8>>, variable: &str| -> String {
        let precheck = script(tree, "precheck");
        let line = precheck
            .lines()
            .find(|line| line.starts_with(&format!("{variable} = ")))
            .unwrap_or_else(|| panic!("no {variable}"))
            .to_owned();
        line[variable.len()..].to_owned()
    };
    assert_eq!(
        comment(&backout, "$reverseSuspendComment"),
        comment(&moved, "$changeSuspendComment")
    );
    let back_precheck = script(&backout, "precheck");
    in_order(
        &back_precheck,
        &[
            "if (Test-CopySuspendedByChange 'CCRMAIL\\First Storage Group') {",
            "Assert-ActiveHere $cms $offline",
        ],
    );
    let back_configuration = script(&backout, "move-configuration");
    assert!(back_configuration.contains("$offline = @($database)"));
    let back_mount = script(&backout, "mount-and-resume");
    assert!(back_mount.contains("\nAssert-ActiveHere $cms @($database)\n"));
}

/// Item 2: `Exists` answers false for a share out of reach, so the pre-check
/// proves each administrative share the window uses before it reads any.
#[test]
fn the_precheck_proves_every_admin_share_before_reading_through_it() {
    let moved = change::tree("database-move");
    let precheck = script(&moved, "precheck");
    let shares = function(&precheck, "Assert-AdminShares");
    in_order(
        shares,
        &[
            "if ($node -ne $env:COMPUTERNAME) {",
            "$root = Get-AdminPath $node ([System.IO.Path]::GetPathRoot($path))",
            "if (-not [System.IO.Directory]::Exists($root)) {",
            "Fail (",
        ],
    );
    let taken = function(&precheck, "Get-PlaceTaken");
    in_order(
        taken,
        &[
            "Assert-AdminShares $Nodes @($Log, $System, $Edb)",
            "[System.IO.File]::Exists",
        ],
    );
    // Every drive of the move, old and new, before the first read.
    in_order(
        &precheck,
        &[
            "\n$drives = @()\n",
            "'D:\\Exchange\\First Storage Group\\Mailbox Database.edb', 'F:\\Databases\\First Storage Group\\Mailbox Database.edb')",
            "\nAssert-AdminShares $nodes $drives\n",
            "\n$state = Get-MoveState",
        ],
    );

    let added = change::tree("storage-group-added");
    let precheck = script(&added, "precheck");
    in_order(
        &precheck,
        &[
            "\n$drives = @()\n$drives += @(",
            "\nAssert-AdminShares $nodes $drives\n",
            "Get-PlaceTaken $nodes",
        ],
    );
    let add = script(&added, "create-storage-groups");
    assert!(function(&add, "Get-PlaceTaken").contains("Assert-AdminShares $Nodes"));
}

/// Item 3: every mailbox count or listing sees the whole forest.
#[test]
fn mailbox_counts_see_the_entire_forest() {
    let removed = change::tree("storage-group-removed");
    for part in ["precheck", "remove-storage-group"] {
        let script = script(&removed, part);
        let widen = function(&script, "Use-EntireForest");
        assert!(
            widen.contains("[Microsoft.Exchange.Data.Directory.AdminSessionADSettings]::Instance"),
            "{widen}"
        );
        in_order(
            widen,
            &[
                "$settings.ViewEntireForest = $true",
                "if ($settings.ViewEntireForest -ne $true) {",
                "Fail ",
            ],
        );
        in_order(
            function(&script, "Get-RemovalState"),
            &["Use-EntireForest", "Get-Mailbox -Database"],
        );
    }
    // Every lookup of mailboxes, in every script and runbook.
    for (name, tree) in golden::every_tree() {
        for (file, bytes) in &tree {
            let content = text(bytes);
            for line in content.lines().filter(|l| l.contains("Get-Mailbox ")) {
                if file.ends_with(".ps1") {
                    let at = content.find(line).unwrap_or_default();
                    let function_start = content[..at].rfind("\nfunction ").unwrap_or_default();
                    assert!(
                        content[function_start..at].contains("Use-EntireForest"),
                        "{name}/{file}: `{line}` without the forest scope"
                    );
                } else if file.ends_with(".md") {
                    let before = &line[..line.find("Get-Mailbox ").unwrap_or_default()];
                    assert!(
                        before.contains("ViewEntireForest = $true"),
                        "{name}/{file}: `{line}` without the forest scope"
                    );
                }
            }
        }
    }
    let runbook = text(&removed["runbook.md"]);
    assert!(
        runbook.contains("`$AdminSessionADSettings.ViewEntireForest = $true`"),
        "the confirmation step says how to count across the forest"
    );
}

/// Item 5: every printed or run command carries the mandatory parameters of
/// its cmdlet (command reference, sections 12 and 14).
#[test]
fn every_command_carries_its_mandatory_parameters() {
    let rules: [(&str, &[&str]); 3] = [
        (
            "Move-ClusteredMailboxServer",
            &["-Identity", "-TargetMachine", "-MoveComment"],
        ),
        ("Stop-ClusteredMailboxServer", &["-Identity", "-StopReason"]),
        (
            "Suspend-StorageGroupCopy",
            &["-Identity", "-SuspendComment"],
        ),
    ];
    let mut seen = 0;
    for (name, tree) in golden::every_tree() {
        for (file, bytes) in &tree {
            if !(file.ends_with(".md") || file.ends_with(".ps1") || file.ends_with(".cmd")) {
                continue;
            }
            let content = text(bytes);
            for line in content.lines() {
                for (cmdlet, required) in &rules {
                    let mut rest = line;
                    while let Some(at) = rest.find(cmdlet) {
                        let after = &rest[at + cmdlet.len()..];
                        // In Markdown only a code span is a command; a
                        // cmdlet named in prose is not one to run.
                        let before = &line[..line.len() - rest.len() + at];
                        if file.ends_with(".md") && before.matches('`').count() % 2 == 0 {
                            rest = after;
                            continue;
                        }
                        // In Markdown a command ends with its code span.
                        let extent = if file.ends_with(".md") {
                            after.split('`').next().unwrap_or_default()
                        } else {
                            after
                        };
                        for parameter in *required {
                            assert!(
                                extent.contains(parameter),
                                "{name}/{file}: {cmdlet} without {parameter}: `{line}`"
                            );
                        }
                        seen += 1;
                        rest = after;
                    }
                }
            }
        }
    }
    assert!(seen > 10, "the scan found the commands ({seen})");
}

/// Item 10: an unknown mount state stops; it is never read as dismounted.
#[test]
fn an_unread_mount_state_fails_closed() {
    let mut checked = 0;
    for (name, tree) in golden::every_tree() {
        for (file, bytes) in &tree {
            if !file.ends_with(".ps1") {
                continue;
            }
            let content = text(bytes);
            if !content.contains(".Mounted") {
                continue;
            }
            let mounted = function(&content, "Test-Mounted");
            in_order(
                mounted,
                &[
                    "$mounted = (Get-MailboxDatabase -Identity $Database -Status).Mounted",
                    "if ($mounted -eq $true) {",
                    "return $true",
                    "if ($mounted -eq $false) {",
                    "return $false",
                    "Fail (",
                ],
            );
            let outside = content.replace(mounted, "");
            assert!(
                !outside.contains(".Mounted"),
                "{name}/{file}: Mounted read outside Test-Mounted"
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "{checked}");
    // The build's mount proves the mount.
    let seed = golden::generate(&harness::root().join("examples/contoso-ccr.yaml"));
    in_order(
        &script(&seed, "mount-and-resume"),
        &[
            "Mount-Database -Identity $database",
            "if (-not (Test-Mounted $database)) {",
            "Fail (",
        ],
    );
}

/// Item 13: a storage group with standby continuous replication copies is
/// refused before anything changes.
#[test]
fn standby_copies_stop_the_window_before_anything_changes() {
    let moved = change::tree("database-move");
    let precheck = script(&moved, "precheck");
    let standby = function(&precheck, "Assert-NoStandby");
    in_order(
        standby,
        &[
            "(Get-StorageGroup -Identity $Group).PSObject.Properties['StandbyMachines']",
            "if ($list -eq $null) {",
            "Fail (",
            "if ($standby.Count -gt 0) {",
            "Disable-StorageGroupCopy -Identity ' + $Group + ' -StandbyMachine",
        ],
    );
    in_order(
        &precheck,
        &[
            "Assert-NoStandby 'CCRMAIL\\First Storage Group'",
            "Assert-CopyHealthy 'CCRMAIL\\First Storage Group'",
        ],
    );
    in_order(
        &script(&moved, "move-configuration"),
        &["Assert-NoStandby $group", "Suspend-StorageGroupCopy"],
    );
    let removed = change::tree("storage-group-removed");
    let precheck = script(&removed, "precheck");
    assert!(precheck.contains("    Assert-NoStandby '"), "{precheck}");
    in_order(
        &script(&removed, "remove-storage-group"),
        &["Assert-NoStandby $group", "Remove-MailboxDatabase"],
    );
}

/// What the second cold read found in the change windows and the build:
/// each fix, held.
#[test]
fn the_cold_read_fixes_hold() {
    for case in ["database-move", "both-paths", "log-move"] {
        let tree = change::tree(case);
        // A mounted database proves nothing of this node's files when
        // something other than the mount step mounted it.
        let files = script(&tree, "MAIL1/050-move-files");
        in_order(
            &files,
            &[
                "if (Test-Mounted $database) {",
                "$gap = Get-NewPlaceGap $env:COMPUTERNAME $prefix $activeHere",
                "Fail (",
                "Skip (",
            ],
        );
        // An unread LastLogGenerated stops the mount before it happens.
        let mount = script(&tree, "mount-and-resume");
        in_order(
            &mount,
            &[
                "$beforeMount = Get-LastLogGenerated $group",
                "if ($beforeMount -lt 0) {",
                "Fail (",
                "Mount-Database -Identity $database",
            ],
        );
        // The back-out of a move needs no room for the original it kept.
        let room = function(&mount, "Assert-MoveRoom");
        in_order(
            room,
            &[
                "if ([System.IO.File]::Exists($NewEdb) -and (Get-FileBytes $NewEdb) -eq $edbBytes) {",
                "$edbBytes = [double]0",
                "Add-Needed $needed $OldEdb $NewEdb",
            ],
        );
        // OperationalMachines may name the node by its FQDN.
        let active = function(&mount, "Get-ActiveNode");
        assert!(
            active.contains("$active = $text.Split(' ')[0].Split('.')[0]"),
            "{active}"
        );
    }
    // The removal keeps a file the back-out can bring back only in Clean
    // Shutdown: it reads the header after the dismount, before removing.
    let removed = change::tree("storage-group-removed");
    let removal = script(&removed, "remove-storage-group");
    in_order(
        &removal,
        &[
            "Dismount-Database -Identity $database -Confirm:$false",
            "& (Get-Eseutil) /mh $edbPath",
            "-notmatch 'State:\\s*Clean Shutdown'",
            "Fail (",
            "Remove-MailboxDatabase -Identity $database -Confirm:$false",
        ],
    );
    // Third read: the removal stops on a missing file before it removes; its
    // back-out creates the database before its file is back in place.
    in_order(
        &removal,
        &[
            "if (-not [System.IO.File]::Exists($edbPath)) {",
            "Fail (",
            "Remove-MailboxDatabase -Identity $database -Confirm:$false",
        ],
    );
    // Its pre-check proves the other node's shares of the removed group's
    // drives, which the back-out needs.
    let removal_precheck = script(&removed, "precheck");
    in_order(
        &removal_precheck,
        &[
            "$drives += @('E:\\Exchange\\SG2 Staff', 'E:\\Exchange\\SG2 Staff', 'D:\\Exchange\\SG2 Staff\\Staff.edb')",
            "Assert-AdminShares $nodes $drives",
        ],
    );
    let removal_runbook = String::from_utf8_lossy(&removed["runbook.md"]).into_owned();
    assert!(
        removal_runbook.contains("the database is created before its file is in place"),
        "the back-out follows database portability"
    );
    // Third read: the change's configuration step passes -Force where the
    // cmdlet has it, checked before anything changes; the file step moves
    // nothing of a copy someone else suspended; the back-out after the mount
    // moves the kept originals aside first.
    let moved = change::tree("database-move");
    let configuration = script(&moved, "move-configuration");
    in_order(
        &configuration,
        &[
            "$databaseForce = Test-Parameter 'Move-DatabasePath' 'Force'",
            "Suspend-StorageGroupCopy",
            "Move-DatabasePath -Identity $database -EdbFilePath $newEdb -ConfigurationOnly -Force -Confirm:$false",
        ],
    );
    let files = script(&moved, "MAIL1/050-move-files");
    in_order(
        &files,
        &[
            "if (-not (Test-SuspendedByChange $group $copy)) {",
            "Fail (",
            "Move-GroupFiles",
        ],
    );
    let moved_runbook = String::from_utf8_lossy(&moved["runbook.md"]).into_owned();
    assert!(
        moved_runbook.contains("move the originals this change kept (the `KEPT` lines"),
        "the back-out after the mount"
    );
    // The build's storage steps run where the CMS runs: the check before them
    // proves it is on the first node.
    let seed = golden::generate(&harness::root().join("examples/contoso-ccr.yaml"));
    let verify = script(&seed, "240-verify-cms.ps1");
    in_order(
        &verify,
        &[
            "Assert-CmsOnline $cms",
            "if ($active -ne $env:COMPUTERNAME) {",
            "-MoveComment",
            "Assert-CopiesHealthy",
        ],
    );
    // A new server has no mailbox yet: the build's outage and its gate say
    // so instead of telling the approver that users lose their mailboxes.
    let seed_runbook = String::from_utf8_lossy(&seed["runbook.md"]).into_owned();
    assert!(
        !seed_runbook.contains("cannot be reached."),
        "build outage text"
    );
    assert!(seed_runbook.contains("On a new server it holds no mailbox yet"));
    // The build's file steps move nothing while the copy replicates.
    let build_files = script(&seed, "270-move-database-files.ps1");
    in_order(
        &build_files,
        &[
            "if ($copyStatus -ne 'Suspended') {",
            "Fail (",
            "Move-GroupFiles",
        ],
    );
    let build_mount = script(&seed, "290-mount-and-resume.ps1");
    in_order(
        &build_mount,
        &[
            "if ($beforeMount -lt 0) {",
            "Fail (",
            "Mount-Database -Identity $database",
        ],
    );
}

/// Cold read (build): the pre-flight of each node proves the other node's
/// registry and administrative shares answer, before anything changes.
#[test]
fn the_preflight_proves_the_other_node_answers() {
    let seed = golden::generate(&harness::root().join("examples/contoso-ccr.yaml"));
    let preflight = text(&seed["hosts/MAIL1/010-preflight.cmd"]);
    in_order(
        &preflight,
        &[
            "reg query \"\\\\MAIL2\\HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\" /v CurrentVersion",
            "goto :fail",
            "pushd \"\\\\MAIL2\\C$\"",
            "goto :fail",
            "popd",
            "pushd \"\\\\MAIL2\\D$\"",
            "pushd \"\\\\MAIL2\\E$\"",
            "PREFLIGHT OK",
        ],
    );
    let witness = text(&seed["hosts/HUB1/030-preflight.cmd"]);
    assert!(!witness.contains("pushd"), "the witness host reads no node");
}
