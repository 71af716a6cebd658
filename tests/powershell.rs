//! Generated PowerShell parses, and the escaping helpers round-trip any
//! value through the languages' quoting rules.

use proptest::prelude::*;
use tree_sitter::{Node, Parser, Tree};

use crate::golden;

fn parse(source: &str) -> Tree {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("PowerShell grammar loads");
    parser.parse(source, None).expect("parser returns a tree")
}

fn problems(node: Node<'_>, source: &str, found: &mut Vec<String>) {
    if node.is_error() || node.is_missing() {
        let text = node.utf8_text(source.as_bytes()).unwrap_or_default();
        found.push(format!(
            "line {}: {} `{}`",
            node.start_position().row + 1,
            node.kind(),
            text.lines().next().unwrap_or_default()
        ));
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        problems(child, source, found);
    }
}

fn kinds<'a>(node: Node<'a>, kind: &str, found: &mut Vec<Node<'a>>) {
    if node.kind() == kind {
        found.push(node);
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        kinds(child, kind, found);
    }
}

#[test]
fn every_generated_script_parses_without_error_or_missing_nodes() {
    let mut checked = 0;
    for (name, tree) in golden::every_tree() {
        for (file, bytes) in tree {
            if !file.ends_with(".ps1") {
                continue;
            }
            assert!(
                bytes.starts_with(b"\xEF\xBB\xBF"),
                "{name}/{file}: no UTF-8 BOM"
            );
            let text = String::from_utf8(bytes[3..].to_vec()).expect("UTF-8");
            assert!(
                !text.replace("\r\n", "").contains('\n'),
                "{name}/{file}: a bare LF"
            );
            let tree = parse(&text);
            let mut found = Vec::new();
            problems(tree.root_node(), &text, &mut found);
            assert!(
                found.is_empty(),
                "{name}/{file} does not parse:\n{}",
                found.join("\n")
            );
            // PowerShell 1.0 has none of these.
            for construct in ["try {", "catch {", "<#", "Import-Module", "[CmdletBinding"] {
                let allowed = file.contains("validate-cluster") && construct == "Import-Module";
                assert!(
                    allowed || !text.contains(construct),
                    "{name}/{file} uses `{construct}`, which PowerShell 1.0 lacks"
                );
            }
            // Change trees hold the whole 2.0-and-later list already.
            if name.starts_with("change/") {
                for construct in POWERSHELL_2 {
                    assert!(
                        !text.contains(construct),
                        "{name}/{file} uses `{construct}`, which PowerShell 1.0 lacks"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} scripts checked");
}

/// Text that only PowerShell 2.0 and later can parse or run.
const POWERSHELL_2: &[&str] = &[
    "try {",
    "catch {",
    "finally {",
    "<#",
    "Import-Module",
    "Add-Type",
    "[CmdletBinding",
    "[Parameter(",
    "$PSScriptRoot",
    "$PSCmdlet",
    "$PSItem",
    " -join ",
    " -split ",
    " -in ",
    " -notin ",
    " -File ",
];

#[test]
fn cmd_files_are_ascii_with_crlf() {
    for (name, tree) in golden::every_tree() {
        for (file, bytes) in tree {
            if file.ends_with(".cmd") {
                assert!(bytes.is_ascii(), "{name}/{file} is not ASCII");
                let text = String::from_utf8(bytes).expect("ASCII");
                assert!(
                    !text.replace("\r\n", "").contains('\n'),
                    "{name}/{file}: a bare LF"
                );
                assert!(text.starts_with("@echo off\r\n"), "{name}/{file}");
            }
        }
    }
}

/// The value PowerShell gives a single-quoted literal: quotes stripped, each
/// doubled quote (any of the four kinds PowerShell takes as `'`) read as one.
fn ps_value(literal: &str) -> String {
    let inner: Vec<char> = literal.chars().collect();
    assert!(inner.len() >= 2);
    let inner = &inner[1..inner.len() - 1];
    let mut value = String::new();
    let mut index = 0;
    while index < inner.len() {
        let c = inner[index];
        value.push(c);
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            assert!(
                index + 1 < inner.len()
                    && matches!(
                        inner[index + 1],
                        '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}'
                    ),
                "lone quote in {literal}"
            );
            index += 1;
        }
        index += 1;
    }
    value
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn a_powershell_literal_parses_back_to_its_value(value in "[^\\p{Cc}]{0,40}|[ -~'‘’‚‛$`;&^%(){}\\[\\]\"ÄÜé]{0,40}") {
        let literal = runsheet::render::escape::ps_literal(&value).expect("no control characters");
        let source = format!("$value = {literal}\r\nWrite-Host $value\r\n");
        let tree = parse(&source);
        let mut found = Vec::new();
        problems(tree.root_node(), &source, &mut found);
        prop_assert!(found.is_empty(), "{source:?}: {found:?}");
        let mut strings = Vec::new();
        kinds(tree.root_node(), "verbatim_string_characters", &mut strings);
        prop_assert_eq!(strings.len(), 1, "{:?}", source);
        let text = strings[0].utf8_text(source.as_bytes()).expect("text");
        prop_assert_eq!(text, literal.as_str());
        prop_assert_eq!(ps_value(text), value);
    }

    #[test]
    fn a_cmd_argument_reaches_the_program_unchanged(value in "[ -!#-~]{0,40}") {
        prop_assume!(!value.ends_with('\\'));
        let argument = runsheet::render::escape::cmd_arg(&value).expect("printable ASCII");
        let line = format!("icacls {argument} /q");
        let arguments = cmd_line_arguments(&line);
        prop_assert_eq!(arguments, vec!["icacls".to_owned(), value, "/q".to_owned()]);
    }

    #[test]
    fn echoed_cmd_text_prints_its_value(value in "[ -~]{0,40}") {
        let text = runsheet::render::escape::cmd_text(&value).expect("printable ASCII");
        prop_assert_eq!(cmd_echo(&format!("echo {text}")), value);
    }
}

/// cmd's percent phase in a batch file: `%%` is one `%`; a lone `%` would
/// start a variable, so it must not occur.
fn batch_percent(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '%' {
            assert_eq!(
                chars.next(),
                Some('%'),
                "a lone % in {line:?} would expand a variable"
            );
        }
        out.push(c);
    }
    out
}

/// What a program receives from a `.cmd` line: cmd's percent phase, then
/// cmd's tokenising (which must find no operator outside quotes), then the C
/// runtime's argument rules.
fn cmd_line_arguments(line: &str) -> Vec<String> {
    let line = batch_percent(line);
    let mut in_quotes = false;
    for c in line.chars() {
        if c == '"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            assert!(!"&|<>^()".contains(c), "{c:?} outside quotes in {line:?}");
        }
    }
    assert!(!in_quotes, "unbalanced quotes in {line:?}");
    crt_arguments(&line)
}

/// The Microsoft C runtime's rules for splitting a command line.
fn crt_arguments(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut arguments = Vec::new();
    let mut current = String::new();
    let mut started = false;
    let mut in_quotes = false;
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        if c == '\\' {
            let run = chars[index..].iter().take_while(|c| **c == '\\').count();
            if chars.get(index + run) == Some(&'"') {
                current.push_str(&"\\".repeat(run / 2));
                if run % 2 == 1 {
                    current.push('"');
                    index += run + 1;
                } else {
                    index += run;
                }
            } else {
                current.push_str(&"\\".repeat(run));
                index += run;
            }
            started = true;
            continue;
        }
        match c {
            '"' => {
                in_quotes = !in_quotes;
                started = true;
            }
            ' ' | '\t' if !in_quotes => {
                if started {
                    arguments.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            _ => {
                current.push(c);
                started = true;
            }
        }
        index += 1;
    }
    if started {
        arguments.push(current);
    }
    arguments
}

/// What `echo` prints: the percent phase, then carets escape the next character.
fn cmd_echo(line: &str) -> String {
    let line = batch_percent(line);
    let body = line.strip_prefix("echo ").expect("an echo line");
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c == '^' {
            out.extend(chars.next());
        } else {
            assert!(!"&|<>()".contains(c), "{c:?} unescaped in {line:?}");
            out.push(c);
        }
    }
    out
}
