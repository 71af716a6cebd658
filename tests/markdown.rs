//! The runbooks are CommonMark with the structure an operator relies on, and
//! clean under markdownlint with the committed `.markdownlint.jsonc`.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::{golden, harness};

#[test]
fn runbooks_have_a_heading_per_phase_and_step_and_a_box_per_step() {
    for (name, path) in golden::topologies() {
        let files = golden::generate(&path);
        let runbook = String::from_utf8(files["runbook.md"].clone()).expect("UTF-8");
        let plan: serde_json::Value =
            serde_json::from_slice(&files["plan.json"]).expect("plan.json");
        let steps = plan["steps"].as_array().expect("steps");
        let phases: std::collections::BTreeSet<u64> =
            steps.iter().filter_map(|s| s["phase"].as_u64()).collect();

        let mut headings = (0, 0);
        let mut tables = 0;
        let mut in_heading = None;
        let mut heading_text = String::new();
        let mut step_titles = Vec::new();
        for event in Parser::new_ext(&runbook, Options::ENABLE_TABLES | Options::ENABLE_TASKLISTS) {
            match event {
                Event::Start(Tag::Heading { level, .. }) => {
                    in_heading = Some(level);
                    heading_text.clear();
                }
                Event::Text(text) | Event::Code(text) if in_heading.is_some() => {
                    heading_text.push_str(&text)
                }
                Event::End(TagEnd::Heading(level)) => {
                    if level == HeadingLevel::H2 && heading_text.starts_with("Phase ") {
                        headings.0 += 1;
                    }
                    if level == HeadingLevel::H3 && heading_text.starts_with("Step ") {
                        headings.1 += 1;
                        step_titles.push(heading_text.clone());
                    }
                    in_heading = None;
                }
                Event::Start(Tag::Table(_)) => tables += 1,
                _ => {}
            }
        }
        assert_eq!(headings.0, phases.len(), "{name}: one heading per phase");
        assert_eq!(headings.1, steps.len(), "{name}: one heading per step");
        assert!(tables >= 5, "{name}: the summary tables");
        for step in steps {
            let number = step["number"].as_str().expect("number");
            assert!(
                runbook.contains(&format!("- [ ] Step {number} done")),
                "{name}: no box for step {number}"
            );
            assert!(
                step_titles
                    .iter()
                    .any(|t| t.starts_with(&format!("Step {number}:"))),
                "{name}: no heading for {number}"
            );
        }
    }
}

#[test]
fn runbooks_pass_markdownlint() {
    let tool = harness::root().join("node_modules/.bin/markdownlint-cli2");
    if !tool.exists() {
        harness::skip(
            "runbooks_pass_markdownlint",
            "markdownlint-cli2 is not installed (run `npm ci`; .ci/run does)",
        );
        return;
    }
    let dir = harness::scratch("markdownlint");
    let mut files = Vec::new();
    for (name, path) in golden::topologies() {
        let file = dir.join(format!("{name}.md"));
        std::fs::write(&file, &golden::generate(&path)["runbook.md"]).expect("write runbook");
        files.push(file.display().to_string());
    }
    for (name, tree) in crate::change::trees() {
        let file = dir.join(format!("change-{name}.md"));
        std::fs::write(&file, &tree["runbook.md"]).expect("write runbook");
        files.push(file.display().to_string());
    }
    let output = std::process::Command::new(&tool)
        .arg("--config")
        .arg(harness::root().join(".markdownlint.jsonc"))
        .args(&files)
        .current_dir(harness::root())
        .output()
        .expect("markdownlint-cli2 runs");
    assert!(
        output.status.success(),
        "markdownlint:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_step_says_time_outage_and_back_out_and_the_window_has_its_gates() {
    for (name, path) in golden::topologies() {
        let files = golden::generate(&path);
        let runbook = String::from_utf8(files["runbook.md"].clone()).expect("UTF-8");
        let html = String::from_utf8(files["runbook.html"].clone()).expect("UTF-8");
        let plan: serde_json::Value =
            serde_json::from_slice(&files["plan.json"]).expect("plan.json");
        let steps = plan["steps"].as_array().expect("steps");
        // Each step's text runs from its heading to the next heading of any level.
        for step in steps {
            let number = step["number"].as_str().expect("number");
            let start = runbook
                .find(&format!("\n### Step {number}:"))
                .unwrap_or_else(|| panic!("{name}: no heading for {number}"));
            let rest = &runbook[start + 1..];
            let end = rest[1..].find("\n#").map_or(rest.len(), |i| i + 1);
            let text = &rest[..end];
            for label in ["**Time:** about ", "**Outage:** ", "**Back out:** "] {
                assert!(text.contains(label), "{name}: step {number} lacks {label}");
            }
        }
        let has = |def: &str| steps.iter().any(|s| s["step"] == def);
        for (def, heading) in [
            (
                "create-cluster",
                "### Go/no-go: before the cluster is created",
            ),
            (
                "suspend-and-move-paths",
                "### Go/no-go: before the database is dismounted",
            ),
            ("setup-active-cms", "### Point of no return: step "),
        ] {
            if has(def) {
                assert!(runbook.contains(heading), "{name}: {heading}");
            }
        }
        assert!(
            runbook.matches("| Operator | | | | |").count() >= 2,
            "{name}: gate signatures"
        );
        assert!(
            runbook.contains("| Approver | | | | |"),
            "{name}: gate signatures"
        );
        assert!(
            runbook.contains("\n## Window\n"),
            "{name}: the window overview"
        );
        assert!(runbook.contains("- Outage: "), "{name}: the outage window");
        assert!(
            runbook.contains("\n## Handover\n"),
            "{name}: the handover page"
        );
        assert!(
            html.contains("id=\"handover\""),
            "{name}: the handover page"
        );
        assert!(
            html.contains("<dt>Outage</dt>"),
            "{name}: the cover's outage"
        );
    }
    // The seed's contacts are on the cover and at the top of runbook.md.
    let files = golden::generate(&harness::root().join("examples/contoso-ccr.yaml"));
    let runbook = String::from_utf8(files["runbook.md"].clone()).expect("UTF-8");
    let html = String::from_utf8(files["runbook.html"].clone()).expect("UTF-8");
    let cover = &html[html.find("<section class=\"cover\">").expect("cover")
        ..html.find("<nav").expect("contents")];
    let head = &runbook[..runbook.find("\n## ").expect("a section")];
    for contact in ["Dana Whitfield", "+1 425 555 0142", "netops@contoso.com"] {
        assert!(cover.contains(contact), "the cover lacks {contact}");
        assert!(head.contains(contact), "runbook.md lacks {contact}");
    }
    assert!(runbook.contains("Never accept an offer to create an empty database when mounting"));
}
