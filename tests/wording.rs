//! The runbook speaks to operators: no words about how it was written,
//! phases numbered without gaps, restarts that say exactly when, the
//! unconfirmed command facts gathered up front, paths that read as typed.

use std::path::Path;

use crate::{golden, harness};

/// Words that tell how the runbook was made, not what to do. Lower case;
/// matched case-insensitively on word boundaries ("seeding", Exchange's word
/// for copying a database, and "Change reference" on the cover are fine).
const FORBIDDEN: &[&str] = &[
    "the seed",
    "seed's",
    "seed tutorial",
    "tutorial",
    "the reference",
    "reference could not",
    "recalled",
    // How the runbook was made is no business of the operator's (cold read).
    "generated from",
    "rebuild the runbook",
    "could not be checked",
    "on record",
];

/// Where a forbidden word stands in a text, as `word` and the line.
fn forbidden_words(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut found = Vec::new();
    for word in FORBIDDEN {
        let mut from = 0;
        while let Some(offset) = lower[from..].find(word) {
            let start = from + offset;
            let end = start + word.len();
            let before = lower[..start].chars().next_back();
            let after = lower[end..].chars().next();
            let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
            if boundary(before) && boundary(after) {
                let line = text[..start].matches('\n').count() + 1;
                found.push(format!("{word:?} on line {line}"));
            }
            from = end;
        }
    }
    found
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).expect("directory") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn the_wording_check_finds_what_it_looks_for() {
    assert_eq!(forbidden_words("The seed creates it.").len(), 1);
    assert_eq!(forbidden_words("as the tutorial says").len(), 1);
    assert_eq!(
        forbidden_words("what the reference could not confirm").len(),
        2
    );
    assert_eq!(forbidden_words("recalled from the help").len(), 1);
    assert_eq!(forbidden_words("The seed's order").len(), 2);
    assert!(forbidden_words("copies become Healthy once seeded; reseed it").is_empty());
    assert!(forbidden_words("| Change reference | |").is_empty());
}

#[test]
fn runbooks_and_templates_speak_to_operators() {
    let mut offenders = Vec::new();
    for (name, files) in golden::every_tree() {
        for runbook in ["runbook.md", "runbook.html"] {
            let text = String::from_utf8_lossy(&files[runbook]);
            for hit in forbidden_words(&text) {
                offenders.push(format!("generated {name}/{runbook}: {hit}"));
            }
            let committed = harness::root().join("golden").join(&name).join(runbook);
            let text = std::fs::read_to_string(&committed).expect("golden runbook");
            for hit in forbidden_words(&text) {
                offenders.push(format!("{}: {hit}", committed.display()));
            }
        }
    }
    for template in files_under(&harness::root().join("templates")) {
        let text = std::fs::read_to_string(&template).expect("template");
        for hit in forbidden_words(&text) {
            offenders.push(format!("{}: {hit}", template.display()));
        }
    }
    assert!(offenders.is_empty(), "{}", offenders.join("\n"));
}

fn plan_steps(files: &std::collections::BTreeMap<String, Vec<u8>>) -> Vec<serde_json::Value> {
    let plan: serde_json::Value = serde_json::from_slice(&files["plan.json"]).expect("plan.json");
    plan["steps"].as_array().expect("steps").clone()
}

#[test]
fn phases_are_numbered_without_gaps() {
    for (name, files) in golden::every_tree() {
        let steps = plan_steps(&files);
        let mut phases: Vec<u64> = steps.iter().filter_map(|s| s["phase"].as_u64()).collect();
        assert!(
            phases.windows(2).all(|p| p[0] <= p[1]),
            "{name}: phases in order"
        );
        phases.dedup();
        let expected: Vec<u64> = (1..=phases.len() as u64).collect();
        assert_eq!(phases, expected, "{name}: phases 1..n without a gap");
        let runbook = String::from_utf8_lossy(&files["runbook.md"]);
        let headings: Vec<u64> = runbook
            .lines()
            .filter_map(|line| line.strip_prefix("## Phase "))
            .filter_map(|rest| rest.split(':').next()?.parse().ok())
            .collect();
        assert_eq!(headings, expected, "{name}: runbook phase headings");
    }
    // The seed estate creates no storage groups: it has one phase fewer
    // than the estates that do, and no gap where that phase would be.
    let seed = golden::generate(&harness::root().join("examples/contoso-ccr.yaml"));
    let last = plan_steps(&seed)
        .iter()
        .filter_map(|s| s["phase"].as_u64())
        .max();
    assert_eq!(last, Some(14));
}

#[test]
fn restart_steps_say_exactly_when_to_restart() {
    for (name, path) in golden::topologies() {
        let files = golden::generate(&path);
        let steps = plan_steps(&files);
        let runbook = String::from_utf8_lossy(&files["runbook.md"]).to_string();
        let restarts: Vec<&serde_json::Value> = steps
            .iter()
            .filter(|s| {
                s["step"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("restart-"))
            })
            .collect();
        assert!(restarts.len() >= 4, "{name}: restart steps");
        for step in restarts {
            let number = step["number"].as_str().expect("number");
            let host = step["host"].as_str().expect("host");
            let after = step["after"][0].as_str().expect("waits for one step");
            let waited = steps.iter().find(|s| s["id"] == after).expect("known step");
            let waited_number = waited["number"].as_str().expect("number");
            let start = runbook
                .find(&format!("### Step {number}:"))
                .expect("step heading");
            let section = &runbook[start..];
            let section = &section[..section.find("- [ ] Step").unwrap_or(section.len())];
            let wanted =
                format!("Only if step {waited_number} ended with exit code 3010 on `{host}`");
            assert!(
                section.contains(&wanted),
                "{name}: step {number} lacks `{wanted}`:\n{section}"
            );
        }
    }
    // The IIS prerequisites can end with 3010: each node has a restart step after them.
    let seed = golden::generate(&harness::root().join("examples/contoso-ccr.yaml"));
    let steps = plan_steps(&seed);
    for prerequisites in steps
        .iter()
        .filter(|s| s["step"] == "exchange-prerequisites")
    {
        let id = prerequisites["id"].as_str().expect("id");
        assert!(
            steps
                .iter()
                .any(|s| s["step"] == "restart-after-prerequisites" && s["after"][0] == id),
            "no restart step after {id}"
        );
    }
}

#[test]
fn unconfirmed_facts_are_gathered_before_the_first_phase() {
    for (name, path) in golden::topologies() {
        let files = golden::generate(&path);
        let steps = plan_steps(&files);
        for runbook in ["runbook.md", "runbook.html"] {
            let text = String::from_utf8_lossy(&files[runbook]).to_string();
            let heading = if runbook == "runbook.md" {
                "## "
            } else {
                "<h2>"
            };
            let at = |title: &str| {
                text.find(&format!("{heading}{title}"))
                    .unwrap_or_else(|| panic!("{name}/{runbook}: no heading {title}"))
            };
            let list = at("Confirm during the dry run");
            let before = at("Before you start");
            let first_phase = at("Phase 1: ");
            assert!(
                list < before && before < first_phase,
                "{name}/{runbook}: near the front"
            );
            let section = &text[list..before];
            for step in &steps {
                let Some(fact) = step["unconfirmed"].as_str() else {
                    continue;
                };
                let number = step["number"].as_str().expect("number");
                assert!(
                    section.contains(number),
                    "{name}/{runbook}: step {number} not listed"
                );
                let words = fact.split('`').next().unwrap_or(fact).trim();
                let head: String = words.chars().take(20).collect();
                assert!(
                    section.contains(&head),
                    "{name}/{runbook}: the fact of step {number} is not in the list"
                );
            }
        }
    }
}

/// The Markdown source with its code spans and code blocks blanked out.
fn prose(markdown: &str) -> String {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let mut text = markdown.as_bytes().to_vec();
    let parser = Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS);
    for (event, range) in parser.into_offset_iter() {
        if matches!(event, Event::Code(_) | Event::Start(Tag::CodeBlock(_))) {
            for byte in &mut text[range] {
                if *byte != b'\n' {
                    *byte = b' ';
                }
            }
        }
    }
    String::from_utf8_lossy(&text).into_owned()
}

#[test]
fn paths_in_prose_are_code_spans() {
    assert!(
        prose("Read C:\\\\Logs.").contains("\\\\"),
        "the check sees a doubled backslash"
    );
    assert!(
        !prose("Read `C:\\Logs`.").contains('\\'),
        "and ignores code spans"
    );
    for (name, files) in golden::every_tree() {
        let runbook = String::from_utf8_lossy(&files["runbook.md"]);
        let text = prose(&runbook);
        let doubled: Vec<&str> = text.lines().filter(|line| line.contains("\\\\")).collect();
        assert!(
            doubled.is_empty(),
            "{name}: a backslash shows doubled:\n{}",
            doubled.join("\n")
        );
    }
}
