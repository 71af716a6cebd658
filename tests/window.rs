//! Issue 16, items 6 and 16: each window's files in a folder of their own
//! on each host, which every script checks before it writes anything; and
//! the execution policy set back at the end only after the window's
//! verification passed, never below RemoteSigned where Exchange is.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::golden;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .replace("\r\n", "\n")
}

fn plan(files: &BTreeMap<String, Vec<u8>>) -> Value {
    serde_json::from_slice(&files["plan.json"]).expect("plan.json")
}

/// The window's name as the design gives it, computed here apart from the
/// generator: `build-` and 8 hex digits of the topology's sha256, or
/// `change-` and 8 of the sha256 over OLD's and NEW's hashes, one a line.
fn expected_window(plan: &Value) -> String {
    let to = plan["topology_sha256"].as_str().expect("topology_sha256");
    match plan["from_topology_sha256"].as_str() {
        Some(from) => {
            let over = runsheet::artifact::sha256_hex(format!("{from}\n{to}\n").as_bytes());
            format!("change-{}", &over[..8])
        }
        None => format!("build-{}", &to[..8]),
    }
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

/// The position of the first line that satisfies `wanted`.
fn line_of(script: &str, wanted: impl Fn(&str) -> bool) -> Option<usize> {
    script.lines().position(wanted)
}

/// Item 6: every window, build or change, names its own folder on each host;
/// every script (`.cmd`, launcher, `.ps1`) refuses another folder before it
/// writes a log or transcript; the runbook sends every command and the copy
/// of the files there; plan.json says which window it is.
#[test]
fn every_window_has_a_folder_of_its_own_that_every_script_checks() {
    let mut windows: BTreeMap<String, String> = BTreeMap::new();
    for (name, files) in golden::every_tree() {
        let plan = plan(&files);
        let window = plan["window"].as_str().expect("plan.json names its window");
        assert_eq!(window, expected_window(&plan), "{name}");
        if let Some(other) = windows.insert(window.to_owned(), name.clone()) {
            // The same topology built twice is the same window; nothing else is.
            assert!(
                !(name.starts_with("change/") || other.starts_with("change/")),
                "{name} and {other} share the folder {window}"
            );
        }
        let estate = plan["estate"].as_str().expect("estate");
        let folder = format!("C:\\runsheet\\{estate}\\{window}");

        for (path, bytes) in &files {
            let script = text(bytes);
            if path.ends_with(".cmd") {
                let check = format!("if /i not \"%HERE%\"==\"{window}\" goto :wrong_folder");
                let at = line_of(&script, |line| line == check)
                    .unwrap_or_else(|| panic!("{name}/{path} does not check its folder"));
                let here = line_of(&script, |line| {
                    line == "for %%D in (\"%~dp0.\") do set \"HERE=%%~nxD\""
                })
                .expect("HERE");
                assert!(here < at, "{name}/{path}");
                // Nothing is written, nor PowerShell started, before the check.
                let first_write = line_of(&script, |line| {
                    !line.starts_with("rem ")
                        && (line.contains("%LOG%")
                            || line.contains('>')
                            || line.contains("%POWERSHELL%\" -"))
                });
                assert!(
                    first_write.is_some_and(|write| at < write),
                    "{name}/{path}: writes before the folder check"
                );
                let refusal = script
                    .split("\n:wrong_folder\n")
                    .nth(1)
                    .unwrap_or_else(|| panic!("{name}/{path}: no :wrong_folder"));
                assert!(
                    refusal.starts_with("echo ")
                        && refusal.contains(&format!(
                            "FAILED: this file runs only from the folder of its window, {folder}, not from"
                        ))
                        && refusal.contains("\nexit /b 1\n"),
                    "{name}/{path}"
                );
                assert!(
                    script.contains(&format!("to {folder}\\ on ")),
                    "{name}/{path}: the refusal says where to copy the files"
                );
            } else if path.ends_with(".ps1") {
                let check = format!("if ((Split-Path -Leaf $scriptFolder) -ne '{window}') {{");
                let at = line_of(&script, |line| line == check)
                    .unwrap_or_else(|| panic!("{name}/{path} does not check its folder"));
                let folder_line = line_of(&script, |line| {
                    line == "$scriptFolder = Split-Path -Parent $MyInvocation.MyCommand.Path"
                })
                .expect("scriptFolder");
                let transcript = line_of(&script, |line| line.starts_with("Start-Transcript"))
                    .expect("transcript");
                assert!(folder_line < at && at < transcript, "{name}/{path}");
            }
        }

        let runbook = text(&files["runbook.md"]);
        assert!(
            runbook.contains(&format!("copied to `{folder}` on that host")),
            "{name}: the checklist names the window's folder"
        );
        assert!(
            runbook.contains(&format!("live in a folder of their own, `{folder}`")),
            "{name}: the runbook says why"
        );
        let root = format!("C:\\runsheet\\{estate}\\");
        for (at, _) in runbook.match_indices(&root) {
            assert!(
                runbook[at + root.len()..].starts_with(&format!("{window}\\"))
                    || runbook[at + root.len()..].starts_with(&format!("{window}`")),
                "{name}: a path under {root} outside the window's folder"
            );
        }
        for step in plan["steps"].as_array().expect("steps") {
            let Some(file) = step["file"].as_str() else {
                continue;
            };
            let command = format!("{folder}\\{}", file.rsplit('/').next().expect("name"));
            assert!(runbook.contains(&command), "{name}: {command}");
        }
    }
    assert!(
        windows.keys().any(|w| w.starts_with("change-")),
        "{windows:?}"
    );
}

/// The steps of a plan by id.
fn steps_by_id(plan: &Value) -> BTreeMap<&str, &Value> {
    plan["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|step| (step["id"].as_str().expect("id"), step))
        .collect()
}

/// Item 16: the last steps never leave a node where Exchange is installed
/// below RemoteSigned (the Exchange Management Shell runs `Exchange.ps1`),
/// detected as setup detects it; the recorded policy comes back only when
/// it is at least as permissive, or where Exchange is not installed.
#[test]
fn the_policy_goes_back_never_below_remote_signed_where_exchange_is() {
    let mut checked = 0;
    for (name, files) in golden::every_tree() {
        let plan = plan(&files);
        let runbook = text(&files["runbook.md"]);
        for step in plan["steps"].as_array().expect("steps") {
            if step["step"] != "restore-execution-policy" {
                continue;
            }
            let path = step["file"].as_str().expect("file");
            let script = text(&files[path]);
            let code: Vec<&str> = script.lines().filter(|l| !l.starts_with("rem ")).collect();
            let calls: Vec<&&str> = code
                .iter()
                .filter(|line| line.contains("Set-ExecutionPolicy"))
                .collect();
            assert!(!calls.is_empty(), "{name}/{path}");
            for call in calls {
                assert!(
                    call.contains("Set-ExecutionPolicy %TARGET%")
                        && !call.contains("Set-ExecutionPolicy %BEFORE%"),
                    "{name}/{path}: {call}"
                );
            }
            let exchange = [
                "set \"EXCHANGE=\"",
                "for %%V in (ConfiguredVersion Watermark Action) do (",
                "    reg query \"HKLM\\SOFTWARE\\Microsoft\\Exchange\\v8.0\\MailboxRole\" /v %%V >nul 2>&1 && set \"EXCHANGE=1\"",
                ")",
                "set \"TARGET=%BEFORE%\"",
                "set \"KEPT=\"",
                "if defined EXCHANGE (",
                "    if /i not \"%BEFORE%\"==\"RemoteSigned\" if /i not \"%BEFORE%\"==\"Unrestricted\" if /i not \"%BEFORE%\"==\"Bypass\" (",
                "        set \"TARGET=RemoteSigned\"",
                "        set \"KEPT=1\"",
                "    )",
                ")",
            ];
            let start = code
                .iter()
                .position(|line| *line == exchange[0])
                .unwrap_or_else(|| panic!("{name}/{path}: Exchange is never looked for"));
            assert_eq!(
                &code[start..start + exchange.len()],
                exchange,
                "{name}/{path}"
            );
            let decided = start + exchange.len();
            let set = code
                .iter()
                .position(|line| line.contains("Set-ExecutionPolicy"))
                .expect("set");
            assert!(decided < set, "{name}/{path}");
            // TARGET is set nowhere else.
            assert_eq!(
                code.iter().filter(|l| l.contains("set \"TARGET=")).count(),
                2,
                "{name}/{path}"
            );
            let heading = format!("### Step {}:", step["number"].as_str().expect("number"));
            let section = runbook
                .split(&heading)
                .nth(1)
                .and_then(|rest| rest.split("\n### ").next())
                .expect("the step in the runbook");
            assert!(
                section.contains("never goes below RemoteSigned")
                    && section.contains("Exchange Management Shell"),
                "{name}: {heading}"
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked}");
}

/// Item 16, the open note "restore-execution-policy steps do not check step
/// 300": the policy goes back only once the verification it waits for has
/// passed, read from that step's log in this window's folder on its host
/// (through the administrative share from the other node), and the
/// verification ends its log with the line looked for.
#[test]
fn the_policy_goes_back_only_after_the_verification_passed() {
    let mut checked = 0;
    for (name, files) in golden::every_tree() {
        let plan = plan(&files);
        let window = plan["window"].as_str().expect("window");
        let estate = plan["estate"].as_str().expect("estate");
        let by_id = steps_by_id(&plan);
        for step in plan["steps"].as_array().expect("steps") {
            if step["step"] != "restore-execution-policy" {
                continue;
            }
            let path = step["file"].as_str().expect("file");
            let script = text(&files[path]);
            let after = step["after"].as_array().expect("after");
            assert_eq!(after.len(), 1, "{name}/{path}");
            let verification = by_id[after[0].as_str().expect("id")];
            let kind = verification["step"].as_str().expect("step");
            assert!(
                matches!(kind, "final-verification" | "verify-cms"),
                "{name}/{path}: waits for {kind}"
            );
            let number = verification["number"].as_str().expect("number");
            let id = verification["id"].as_str().expect("id");
            let host = verification["host"].as_str().expect("host");
            let ps1 = verification["script"].as_str().expect("a PowerShell step");
            let log = ps1
                .rsplit('/')
                .next()
                .expect("name")
                .replace(".ps1", ".log");
            let where_ = if host.eq_ignore_ascii_case(step["host"].as_str().expect("host")) {
                format!("set VERIFIED=\"{log}\"")
            } else {
                format!("set VERIFIED=\"\\\\{host}\\C$\\runsheet\\{estate}\\{window}\\{log}\"")
            };
            let label = format!("Step {number} ({id})");
            in_order(
                &script,
                &[
                    "cd /d \"%~dp0\"",
                    &where_,
                    "if not exist %VERIFIED% (",
                    "goto :fail",
                    &format!(
                        "('type %VERIFIED% ^| findstr /n /b /l /c:\"{label}: done.\"') do set \"DONE=%%N\""
                    ),
                    // The last line the step's runs wrote must be its done
                    // line: a run cut short leaves its "started" line last.
                    &format!(
                        "('type %VERIFIED% ^| findstr /n /b /l /c:\"{label}\"') do set \"LAST=%%N\""
                    ),
                    "if not %DONE%==%LAST% (",
                    "goto :fail",
                    "set /p BEFORE=<\"%RECORD%\"",
                    "Set-ExecutionPolicy %TARGET%",
                ],
            );
            // What the verification writes when it passes, and when it fails.
            let verifier = text(&files[ps1]);
            assert!(
                verifier.contains(&format!("$stepLabel = '{label}'")),
                "{name}/{ps1}"
            );
            assert!(
                verifier.contains("Stop-Step 0 ($stepLabel + ': done.")
                    && verifier.contains("Stop-Step 1 ($stepLabel + ' FAILED: ' + $Reason)")
                    && verifier
                        .contains("Write-Host ($stepLabel + ': started on ' + $env:COMPUTERNAME)")
                    && !verifier
                        .lines()
                        .any(|line| line.trim_start().starts_with("Skip ")),
                "{name}/{ps1}: the restore step looks for lines it no longer writes"
            );
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked}");
}
