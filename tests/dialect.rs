//! Every text that depends on the Windows release comes from the release the
//! topology names: an R2 runbook (build or change) never sends the operator
//! after PowerShell 1.0, a PowerShell installation R2 does not need, or a
//! check on "a Windows Server 2008 node" that an R2 estate does not have.

use crate::golden;

/// What an R2 runbook must not say, with why, found in `text`.
fn dialect_slips(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for phrase in [
        "PowerShell 1.0",
        "1.0 has",
        "does not install PowerShell",
        "Failover Clustering and Windows PowerShell",
        "Windows Server 2008 does",
    ] {
        if let Some(at) = text.find(phrase) {
            found.push(format!("{phrase:?} near {:?}", excerpt(text, at)));
        }
    }
    let release = "Windows Server 2008";
    let mut from = 0;
    while let Some(offset) = text[from..].find(release) {
        let at = from + offset;
        let rest = &text[at + release.len()..];
        // "Windows Server 2008 or later" names a floor that R2 meets.
        if !rest.starts_with(" R2") && !rest.starts_with(" or later") {
            found.push(format!(
                "{release:?} without R2 near {:?}",
                excerpt(text, at)
            ));
        }
        from = at + release.len();
    }
    found
}

fn excerpt(text: &str, at: usize) -> String {
    let start = text[..at]
        .char_indices()
        .rev()
        .nth(60)
        .map_or(0, |(index, _)| index);
    let end = text[at..]
        .char_indices()
        .nth(80)
        .map_or(text.len(), |(index, _)| at + index);
    text[start..end].to_owned()
}

#[test]
fn the_dialect_check_finds_what_it_looks_for() {
    assert_eq!(dialect_slips("on a Windows Server 2008 node").len(), 1);
    assert_eq!(dialect_slips("that Windows PowerShell 1.0 does").len(), 1);
    assert!(dialect_slips("on Windows Server 2008 R2, check").is_empty());
}

fn is_r2(runbook: &str) -> bool {
    runbook
        .lines()
        .take(5)
        .any(|line| line.contains("on Windows Server 2008 R2,"))
}

#[test]
fn r2_runbooks_speak_of_r2_only() {
    let mut r2 = Vec::new();
    let mut offenders = Vec::new();
    for (name, files) in golden::every_tree() {
        let markdown = String::from_utf8_lossy(&files["runbook.md"]).into_owned();
        if !is_r2(&markdown) {
            continue;
        }
        r2.push(name.clone());
        let html = String::from_utf8_lossy(&files["runbook.html"]).into_owned();
        for (runbook, text) in [("runbook.md", &markdown), ("runbook.html", &html)] {
            for slip in dialect_slips(text) {
                offenders.push(format!("{name}/{runbook}: {slip}"));
            }
        }
    }
    // An R2 build and an R2 change window, so the test cannot pass empty.
    assert!(
        r2.iter().any(|name| !name.starts_with("change/")),
        "no R2 build among {r2:?}"
    );
    assert!(
        r2.iter().any(|name| name.starts_with("change/")),
        "no R2 change window among {r2:?}"
    );
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

/// The 2008 runbooks keep their own texts: PowerShell is installed there.
#[test]
fn runbooks_on_2008_still_install_powershell() {
    let files = golden::generate(&crate::harness::root().join("examples/contoso-ccr.yaml"));
    let runbook = String::from_utf8_lossy(&files["runbook.md"]);
    assert!(!is_r2(&runbook));
    assert!(runbook.contains("Windows Server 2008 does not install PowerShell by default"));
}
