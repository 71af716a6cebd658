//! The printable runbook: self-contained, escaped, and it prints with a page
//! (or more) per phase.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{golden, harness};

fn html_of(path: &Path) -> String {
    String::from_utf8(golden::generate(path)["runbook.html"].clone()).expect("UTF-8")
}

/// Every value of an attribute, for a crude but strict look at src and href.
fn attribute_values<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    let needle = format!("{attribute}=\"");
    html.match_indices(&needle)
        .filter_map(|(start, _)| {
            let rest = &html[start + needle.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

#[test]
fn the_page_is_self_contained() {
    for (name, path) in golden::topologies() {
        let html = html_of(&path);
        let lower = html.to_lowercase();
        for attribute in ["src", "href"] {
            for value in attribute_values(&lower, attribute) {
                assert!(
                    !value.contains("http:") && !value.contains("https:") && !value.contains("//"),
                    "{name}: {attribute}=\"{value}\" reaches outside the file"
                );
            }
        }
        assert!(!lower.contains("<script"), "{name}: no scripts at all");
        assert!(!lower.contains("@import"), "{name}: no imported CSS");
        assert!(!lower.contains("<link"), "{name}: no linked resources");
        assert!(!lower.contains("url("), "{name}: no CSS resources");
    }
}

#[test]
fn the_page_has_cover_contents_and_a_signoff_per_step() {
    let files = golden::generate(&harness::root().join("examples/contoso-ccr.yaml"));
    let html = String::from_utf8(files["runbook.html"].clone()).expect("UTF-8");
    let plan: serde_json::Value = serde_json::from_slice(&files["plan.json"]).expect("plan.json");
    for label in [
        "Prepared by",
        "Reviewed by",
        "Approved by",
        "Change reference",
        "Planned window",
    ] {
        assert!(
            html.contains(&format!("<td>{label}</td><td></td>")),
            "approvals lack {label}"
        );
    }
    assert!(html.contains(plan["topology_sha256"].as_str().expect("sha")));
    assert!(
        html.contains("runsheet 0.1.0")
            || html.contains(&format!("runsheet {}", env!("CARGO_PKG_VERSION")))
    );
    for step in plan["steps"].as_array().expect("steps") {
        let number = step["number"].as_str().expect("number");
        assert!(
            html.contains(&format!("href=\"#step-{number}\"")),
            "contents lack step {number}"
        );
        assert!(
            html.contains(&format!("id=\"step-{number}\"")),
            "no section for step {number}"
        );
        assert!(
            html.contains(&format!("Sign-off, step {number}</th>")),
            "no sign-off for step {number}"
        );
    }
    for field in [
        "Operator initials",
        "Start time",
        "End time",
        "Result",
        "Remarks",
        "done",
        "skipped",
        "failed",
    ] {
        assert!(html.contains(field), "sign-off lacks {field}");
    }
    for rule in [
        "@page",
        "break-before: page",
        "break-inside: avoid",
        "display: table-header-group",
        "white-space: pre-wrap",
    ] {
        assert!(html.contains(rule), "print CSS lacks {rule}");
    }
    assert!(
        html.contains("type=\"checkbox\""),
        "manual clicks are a checklist"
    );
}

#[test]
fn no_model_value_reaches_the_page_unescaped() {
    let path = harness::root().join("tests/hostile/hostile.yaml");
    let html = html_of(&path);
    let topology = runsheet::check::check(&std::fs::read_to_string(&path).expect("read"));
    let value = runsheet::model::load::parse(&std::fs::read_to_string(&path).expect("read"))
        .expect("parses")
        .value;
    assert!(!topology.has_errors());
    let mut strings = Vec::new();
    collect_strings(&value, &mut strings);
    let mut checked = 0;
    for text in strings {
        if text.contains(['<', '>', '&', '"']) {
            assert!(!html.contains(&text), "raw value in the HTML: {text}");
            checked += 1;
        }
    }
    assert!(checked >= 3, "the hostile topology has markup-like values");
    assert!(
        html.contains("&lt;script&gt;alert(1)"),
        "the database name shows as text"
    );
    assert!(!html.contains("<script>"));
}

fn collect_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) => out.push(text.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|item| collect_strings(item, out)),
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                out.push(key.clone());
                collect_strings(item, out);
            }
        }
        _ => {}
    }
}

/// Pages in a PDF: its page objects (`/Type /Page`, not `/Pages`).
fn pdf_pages(pdf: &[u8]) -> usize {
    let needle = b"/Type";
    let mut count = 0;
    let mut index = 0;
    while let Some(offset) = pdf[index..].windows(needle.len()).position(|w| w == needle) {
        let mut rest = &pdf[index + offset + needle.len()..];
        while let [b' ' | b'\n' | b'\r', tail @ ..] = rest {
            rest = tail;
        }
        if rest.starts_with(b"/Page") && !rest.starts_with(b"/Pages") {
            count += 1;
        }
        index += offset + needle.len();
    }
    count
}

/// A tool the print tests need: its path, or `None` after saying visibly
/// that the test skips (outside CI; under CI a missing tool fails).
fn tool(names: &[&str], test: &str, install: &str) -> Option<PathBuf> {
    let found = names.iter().find_map(|name| {
        std::env::var_os("PATH")?
            .to_str()?
            .split(':')
            .map(|dir| Path::new(dir).join(name))
            .find(|path| path.exists())
    });
    if found.is_none() {
        harness::skip(
            test,
            &format!(
                "{} is not installed ({install}; .ci/run installs it)",
                names[0]
            ),
        );
    }
    found
}

/// Paper sizes the runbook must print on.
const PAPERS: [&str; 2] = ["A4", "letter"];

/// Prints a page to PDF with headless Chromium on the given paper.
fn print_pdf(browser: &Path, html: &[u8], name: &str, paper: &str) -> Vec<u8> {
    let dir = harness::scratch(&format!("print-{name}-{paper}"));
    let page = dir.join("runbook.html");
    // The page asks for `size: auto`; the test pins the paper the way a
    // print dialog would.
    let text = String::from_utf8(html.to_vec()).expect("UTF-8");
    assert!(text.contains("size: auto;"), "the page sets its paper size");
    std::fs::write(
        &page,
        text.replacen("size: auto;", &format!("size: {paper};"), 1),
    )
    .expect("write page");
    let pdf = dir.join("runbook.pdf");
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    let bytes = std::fs::read(&pdf).unwrap_or_else(|_| {
        panic!(
            "no PDF written:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(bytes.starts_with(b"%PDF"), "not a PDF");
    bytes
}

/// The PDF's text, page by page, laid out as printed (`pdftotext -layout`).
fn pdf_text(pdftotext: &Path, pdf: &[u8], name: &str) -> Vec<String> {
    let dir = harness::scratch(&format!("text-{name}"));
    let file = dir.join("runbook.pdf");
    std::fs::write(&file, pdf).expect("write pdf");
    let output = Command::new(pdftotext)
        .arg("-layout")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext runs");
    assert!(output.status.success(), "pdftotext failed");
    let text = String::from_utf8(output.stdout).expect("UTF-8 text");
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    if pages.last().is_some_and(|page| page.trim().is_empty()) {
        pages.pop();
    }
    pages
}

/// The identifiers an operator types: addresses, host, cluster and CMS
/// names, share names and script file names.
fn identifiers(topology: &serde_json::Value, plan: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for host in topology["hosts"].as_array().expect("hosts") {
        ids.push(host["name"].as_str().expect("name").to_owned());
        for address in host["addresses"].as_object().expect("addresses").values() {
            ids.push(address.as_str().expect("address").to_owned());
        }
    }
    for cluster in topology["clusters"].as_array().expect("clusters") {
        for value in [
            &cluster["name"],
            &cluster["address"],
            &cluster["mailbox"]["name"],
            &cluster["mailbox"]["address"],
            &cluster["witness"]["share"],
        ] {
            ids.push(value.as_str().expect("identifier").to_owned());
        }
    }
    for step in plan["steps"].as_array().expect("steps") {
        for field in ["file", "launcher"] {
            if let Some(file) = step[field].as_str() {
                ids.push(file.rsplit('/').next().expect("file name").to_owned());
            }
        }
    }
    ids.sort();
    ids.dedup();
    ids
}

/// Trimming of a slice of characters, as `str::trim_*` does for text.
trait TrimChars {
    fn trim_ascii_end_chars(&self) -> &[char];
    fn trim_ascii_start_chars(&self) -> &[char];
}

impl TrimChars for [char] {
    fn trim_ascii_end_chars(&self) -> &[char] {
        let end = self
            .iter()
            .rposition(|c| !c.is_whitespace())
            .map_or(0, |i| i + 1);
        &self[..end]
    }

    fn trim_ascii_start_chars(&self) -> &[char] {
        let start = self
            .iter()
            .position(|c| !c.is_whitespace())
            .unwrap_or(self.len());
        &self[start..]
    }
}

/// Places where an identifier is cut over two lines: its head ends a word
/// on one line and its tail starts the next line's text under it, or starts
/// the next line when the head ended its line.
fn splits(pages: &[String], ids: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for page in pages {
        let lines: Vec<Vec<char>> = page.lines().map(|l| l.chars().collect()).collect();
        for pair in lines.windows(2) {
            let (line, next) = (&pair[0], &pair[1]);
            for id in ids {
                let id: Vec<char> = id.chars().collect();
                for cut in 1..id.len() {
                    // A cut at a space loses the space at the line end.
                    let (head, tail) = id.split_at(cut);
                    let head = head.trim_ascii_end_chars();
                    let tail = tail.trim_ascii_start_chars();
                    if head.is_empty() || tail.is_empty() {
                        continue;
                    }
                    for start in 0..line.len().saturating_sub(head.len() - 1) {
                        let end = start + head.len();
                        if line[start..end] != *head
                            || line.get(end).is_some_and(|c| !c.is_whitespace())
                            || (start > 0
                                && !matches!(line[start - 1], ' ' | '\\' | '\'' | '"' | '(' | '`'))
                        {
                            continue;
                        }
                        let at_line_end = line[end..].iter().all(|c| c.is_whitespace());
                        let under = |column: usize| {
                            next.len() >= column + tail.len()
                                && next[column..column + tail.len()] == *tail
                                && (column == 0 || next[column - 1].is_whitespace())
                                && next.get(column + tail.len()).is_none_or(|c| {
                                    c.is_whitespace()
                                        || matches!(c, '\'' | '"' | ';' | ',' | ')' | '`')
                                })
                        };
                        let first = next.iter().position(|c| !c.is_whitespace());
                        // A table cell's tail is under the cell's first
                        // character (`\\HOST\` before a share name), which
                        // -layout puts after two spaces.
                        let cell = (1..=start)
                            .rev()
                            .find(|&i| i >= 2 && line[i - 1] == ' ' && line[i - 2] == ' ')
                            .unwrap_or(0);
                        let cut_here = (cell.saturating_sub(3)..=start + 3).any(under)
                            || (at_line_end && first.is_some_and(under));
                        if cut_here {
                            found.push(format!(
                                "{:?} cut after {:?}:\n{}\n{}",
                                id.iter().collect::<String>(),
                                head.iter().collect::<String>(),
                                line.iter().collect::<String>(),
                                next.iter().collect::<String>()
                            ));
                        }
                    }
                }
            }
        }
    }
    found.dedup();
    found
}

#[test]
fn the_runbooks_print_numbered_with_whole_identifiers_on_a4_and_letter() {
    let test = "the_runbooks_print_numbered_with_whole_identifiers_on_a4_and_letter";
    let Some(browser) = tool(
        &["chromium", "chromium-browser", "google-chrome"],
        test,
        "apt-get install chromium",
    ) else {
        return;
    };
    let Some(pdftotext) = tool(&["pdftotext"], test, "apt-get install poppler-utils") else {
        return;
    };
    for (name, path) in [
        (
            "contoso-ccr",
            harness::root().join("examples/contoso-ccr.yaml"),
        ),
        (
            "hostile",
            harness::root().join("tests/hostile/hostile.yaml"),
        ),
    ] {
        let files = golden::generate(&path);
        let plan: serde_json::Value =
            serde_json::from_slice(&files["plan.json"]).expect("plan.json");
        let topology = runsheet::model::load::parse(&std::fs::read_to_string(&path).expect("read"))
            .expect("parses")
            .value;
        let ids = identifiers(&topology, &plan);
        let estate = topology["name"].as_str().expect("estate name");
        for paper in PAPERS {
            let pdf = print_pdf(&browser, &files["runbook.html"], name, paper);
            let pages = pdf_text(&pdftotext, &pdf, &format!("{name}-{paper}"));
            assert_eq!(pages.len(), pdf_pages(&pdf), "{name} {paper}: pages");
            let count = pages.len();
            for (index, page) in pages.iter().enumerate() {
                let number = format!("page {} of {count}", index + 1);
                assert!(
                    page.contains(&number),
                    "{name} {paper}: no \"{number}\":\n{page}"
                );
                assert!(
                    page.contains(&format!("Runbook {estate}")),
                    "{name} {paper}: page {} lacks the estate name",
                    index + 1
                );
            }
            let cut = splits(&pages, &ids);
            assert!(
                cut.is_empty(),
                "{name} {paper}: identifiers cut over two lines:\n{}",
                cut.join("\n\n")
            );

            // Cover on page 1, the whole contents on page 2, the title once.
            assert!(
                pages[0].contains("Approvals") && pages[0].contains("Planned window"),
                "{name} {paper}: the cover spills"
            );
            let last = plan["steps"]
                .as_array()
                .expect("steps")
                .last()
                .expect("a step");
            let heading = format!("Step {}:", last["number"].as_str().expect("number"));
            assert!(
                pages[1].contains("Contents")
                    && pages[1].contains(&heading)
                    && pages[1].contains("Handover"),
                "{name} {paper}: the contents do not fit on page 2:\n{}",
                pages[1]
            );
            let title = format!("Runbook: {estate}");
            assert_eq!(
                pages.iter().filter(|page| page.contains(&title)).count(),
                1,
                "{name} {paper}: the title block is repeated"
            );
            if name == "contoso-ccr" {
                let phases: std::collections::BTreeSet<u64> = plan["steps"]
                    .as_array()
                    .expect("steps")
                    .iter()
                    .filter_map(|s| s["phase"].as_u64())
                    .collect();
                assert!(
                    count >= phases.len() + 3,
                    "{count} pages for {} phases plus cover, contents and handover",
                    phases.len()
                );
            }
        }
    }
}

#[test]
fn a_cut_identifier_is_found() {
    let ids = vec![
        "10.1.0.50".to_owned(),
        "110-cluster-networks.ps1".to_owned(),
    ];
    let table = vec!["  CLU-1     10.1.0.5       NODE-A\n            0\n".to_owned()];
    assert_eq!(splits(&table, &ids).len(), 1, "a table cell");
    let command =
        vec!["  & 'C:\\runsheet\\hostile\\110-cluster-\n  networks.ps1'; exit\n".to_owned()];
    assert_eq!(splits(&command, &ids).len(), 1, "a command box");
    let share = vec!["FSW$ & 'x' (100%) `y ^z!".to_owned()];
    let cell =
        vec!["  CLU-1   \\\\WIT\\FSW$ & 'x' (100%) `y   C:\\FSW\n          ^z!\n".to_owned()];
    assert_eq!(
        splits(&cell, &share).len(),
        1,
        "a share name cut at a space"
    );
    let whole = vec!["  10.1.0.50   110-cluster-networks.ps1\n  10.1.0.51\n".to_owned()];
    assert!(splits(&whole, &ids).is_empty(), "whole identifiers");
}
