//! The PowerShell-version gate: no generated script uses a construct that
//! the Windows PowerShell of its target lacks (1.0 on Windows Server 2008,
//! 2.0 on 2008 R2). Syntax is found in the tree-sitter syntax tree, so text
//! in strings and comments never counts; commands, attributes and variables
//! are found by their nodes' names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use runsheet::model::Windows;
use tree_sitter::{Node, Parser};

use crate::{golden, harness};

/// What Windows PowerShell 1.0 lacks: 2.0 brought these.
const SINCE_2_OPERATORS: &[&str] = &["-join", "-split", "-isplit", "-csplit"];
const SINCE_2_COMMANDS: &[&str] = &["import-module", "add-type", "new-module"];
const SINCE_2_ATTRIBUTES: &[&str] = &["cmdletbinding", "parameter"];
const SINCE_2_VARIABLES: &[&str] = &["$psscriptroot", "$pscmdlet"];
/// What Windows PowerShell 2.0 lacks too: 3.0 and later brought these.
const SINCE_3_OPERATORS: &[&str] = &["-in", "-notin"];
const SINCE_3_VARIABLES: &[&str] = &["$psitem"];
const SINCE_3_TYPES: &[&str] = &["pscustomobject", "ordered"];
/// Common parameters that 1.0 lacks.
const SINCE_2_COMMON_PARAMETERS: &[&str] = &["-warningaction", "-warningvariable"];
/// Where-Object's simplified syntax (`Where-Object Name -eq 'x'`) is 3.0.
const SINCE_3_WHERE_OPERATORS: &[&str] = &[
    "-eq",
    "-ne",
    "-gt",
    "-ge",
    "-lt",
    "-le",
    "-like",
    "-notlike",
    "-match",
    "-notmatch",
    "-contains",
    "-notcontains",
    "-in",
    "-notin",
    "-is",
    "-isnot",
    "-ceq",
    "-cne",
    "-clike",
    "-cmatch",
    "-ieq",
    "-ine",
];
/// Switches of powershell.exe that 1.0 lacks.
const SINCE_2_POWERSHELL_SWITCHES: &[&str] = &["-file", "-executionpolicy"];

fn text<'a>(node: Node<'_>, source: &'a str) -> &'a str {
    node.utf8_text(source.as_bytes()).unwrap_or_default()
}

fn walk<'a>(node: Node<'a>, visit: &mut dyn FnMut(Node<'a>)) {
    visit(node);
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        walk(child, visit);
    }
}

/// Every construct of `source` that Windows PowerShell of `target` cannot
/// parse or run, as `line N: what`.
pub fn too_new(source: &str, target: Windows) -> Vec<String> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("PowerShell grammar loads");
    let tree = parser.parse(source, None).expect("parser returns a tree");
    let on_1 = target == Windows::W2008;
    let mut found = Vec::new();
    walk(tree.root_node(), &mut |node| {
        let line = node.start_position().row + 1;
        let lower = text(node, source).to_ascii_lowercase();
        let mut report = |what: String| found.push(format!("line {line}: {what}"));
        match node.kind() {
            "comparison_operator"
                if (on_1 && SINCE_2_OPERATORS.contains(&lower.as_str()))
                    || SINCE_3_OPERATORS.contains(&lower.as_str()) =>
            {
                report(format!("operator {lower}"));
            }
            "expression_with_unary_operator" => {
                let operator = node
                    .child(0)
                    .map(|child| text(child, source).to_ascii_lowercase())
                    .unwrap_or_default();
                if on_1 && SINCE_2_OPERATORS.contains(&operator.as_str()) {
                    report(format!("operator {operator}"));
                }
            }
            "try_statement" | "catch_clause" | "finally_clause" if on_1 => {
                report(node.kind().replace('_', " "));
            }
            "comment" if on_1 && lower.starts_with("<#") => report("block comment <# #>".into()),
            "command_name" if on_1 && SINCE_2_COMMANDS.contains(&lower.as_str()) => {
                report(format!("command {lower}"));
            }
            "attribute_name" if on_1 && SINCE_2_ATTRIBUTES.contains(&lower.as_str()) => {
                report(format!("attribute [{lower}]"));
            }
            "type_literal" | "type_name" => {
                let name = lower.trim_matches(|c| c == '[' || c == ']');
                if SINCE_3_TYPES.contains(&name) {
                    report(format!("type [{name}]"));
                }
            }
            "variable" => {
                if lower.starts_with('@') {
                    if on_1 {
                        report(format!("splatting {lower}"));
                    }
                } else if (on_1 && SINCE_2_VARIABLES.contains(&lower.as_str()))
                    || SINCE_3_VARIABLES.contains(&lower.as_str())
                    // $PSScriptRoot outside a module is 3.0.
                    || lower == "$psscriptroot"
                {
                    report(format!("variable {lower}"));
                }
            }
            "invokation_expression" if on_1 => {
                // WMI's .NET members are reached through psbase in 1.0.
                let member = node
                    .child_by_field_name("member")
                    .or_else(|| named_child_of_kind(node, "member_name"))
                    .map(|member| text(member, source).to_ascii_lowercase())
                    .unwrap_or_default();
                let receiver = node
                    .child(0)
                    .map(|child| text(child, source).to_ascii_lowercase())
                    .unwrap_or_default();
                if (member == "put" || member == "invokemethod") && !receiver.ends_with(".psbase") {
                    report(format!("{member}() without .psbase"));
                }
            }
            "command" => {
                let name = node
                    .child_by_field_name("command_name")
                    .or_else(|| named_child_of_kind(node, "command_name"))
                    .map(|name| text(name, source).to_ascii_lowercase())
                    .unwrap_or_default();
                let parameters = own_parameters(node, source);
                let arguments = own_arguments(node, source);
                if on_1 && (name.ends_with("powershell") || name.ends_with("powershell.exe")) {
                    for switch in &parameters {
                        if SINCE_2_POWERSHELL_SWITCHES.contains(&switch.as_str()) {
                            report(format!("powershell.exe {switch}"));
                        }
                    }
                }
                for parameter in &parameters {
                    if on_1 && SINCE_2_COMMON_PARAMETERS.contains(&parameter.as_str()) {
                        report(format!("parameter {parameter}"));
                    }
                    if on_1 && name == "get-wmiobject" && parameter == "-authentication" {
                        report("get-wmiobject -authentication".into());
                    }
                    if ["where-object", "where", "?"].contains(&name.as_str())
                        && SINCE_3_WHERE_OPERATORS.contains(&parameter.as_str())
                    {
                        report(format!("where-object simplified syntax {parameter}"));
                    }
                    if ["foreach-object", "foreach", "%"].contains(&name.as_str())
                        && parameter == "-membername"
                    {
                        report("foreach-object -membername".into());
                    }
                }
                // -ErrorAction Ignore, or -ErrorAction:Ignore, is 3.0.
                let mut words = arguments.iter().peekable();
                while let Some(word) = words.next() {
                    let ignore = matches!(word.as_str(), "-erroraction:ignore" | "-ea:ignore")
                        || (matches!(word.as_str(), "-erroraction" | "-ea")
                            && words
                                .peek()
                                .is_some_and(|next| next.trim_matches('\'') == "ignore"));
                    if ignore {
                        report("-erroraction ignore".into());
                    }
                }
            }
            _ => {}
        }
    });
    found
}

/// The parameters of one command, lower case (`-name`, a `:value` cut off),
/// not those of commands inside its script blocks or subexpressions.
fn own_parameters(command: Node<'_>, source: &str) -> Vec<String> {
    own_arguments(command, source)
        .into_iter()
        .filter(|word| word.starts_with('-'))
        .map(|word| word.split(':').next().unwrap_or_default().to_string())
        .collect()
}

/// The elements after a command's name, lower case, in order; nested
/// script blocks and subexpressions are skipped.
fn own_arguments(command: Node<'_>, source: &str) -> Vec<String> {
    fn collect(node: Node<'_>, source: &str, out: &mut Vec<String>) {
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            match child.kind() {
                "command_name"
                | "script_block_expression"
                | "script_block"
                | "sub_expression"
                | "parenthesized_expression"
                | "array_expression" => {}
                "command_elements" => collect(child, source, out),
                "command_argument_sep" => {}
                _ => out.push(text(child, source).to_ascii_lowercase()),
            }
        }
    }
    let mut out = Vec::new();
    collect(command, source, &mut out);
    out
}

fn named_child_of_kind<'a>(node: Node<'a>, kind: &str) -> Option<Node<'a>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .find(|child| child.kind() == kind)
}

/// The powershell.exe switches of a `.cmd` that 1.0 lacks.
fn launcher_too_new(text: &str, target: Windows) -> Vec<String> {
    let mut found = Vec::new();
    if target != Windows::W2008 {
        return found;
    }
    for (index, line) in text.lines().enumerate() {
        let lower = line.to_ascii_lowercase();
        if lower.trim_start().starts_with("rem ") || !lower.contains("powershell.exe") {
            continue;
        }
        for word in lower.split_whitespace() {
            if SINCE_2_POWERSHELL_SWITCHES.contains(&word) {
                found.push(format!("line {}: powershell.exe {word}", index + 1));
            }
        }
    }
    found
}

fn target_of(path: &Path) -> Windows {
    let source = runsheet::cli::read_source(path).expect("topology reads");
    let checked = runsheet::check::check(&source.text);
    checked
        .validated()
        .expect("a valid topology")
        .topology
        .platform
        .windows
}

/// The golden estates, and each 2008 one again as 2008 R2.
fn estates() -> Vec<(String, PathBuf)> {
    let dir = harness::scratch("psversion-estates");
    let mut all = golden::topologies();
    for (name, path) in golden::topologies() {
        let text = std::fs::read_to_string(&path).expect("read");
        let Some(line) = text
            .lines()
            .find(|line| line.trim_start().starts_with("windows:"))
        else {
            continue;
        };
        let value = line.split(':').nth(1).unwrap_or_default().trim();
        if value.trim_matches('"') != "2008" {
            continue;
        }
        let indent = &line[..line.len() - line.trim_start().len()];
        let variant = text.replacen(line, &format!("{indent}windows: \"2008-r2\""), 1);
        let file = dir.join(format!("{name}-r2.yaml"));
        std::fs::write(&file, variant).expect("write");
        all.push((format!("{name} as 2008 R2"), file));
    }
    all
}

fn gate(files: &BTreeMap<String, Vec<u8>>, target: Windows) -> Vec<String> {
    let mut findings = Vec::new();
    for (file, bytes) in files {
        let text = String::from_utf8_lossy(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes));
        let found = if file.ends_with(".ps1") {
            too_new(&text, target)
        } else if file.ends_with(".cmd") {
            launcher_too_new(&text, target)
        } else {
            continue;
        };
        findings.extend(found.into_iter().map(|f| format!("{file} {f}")));
    }
    findings
}

#[test]
fn no_script_uses_what_its_windows_powershell_lacks() {
    let mut scanned = BTreeMap::<&str, usize>::new();
    let mut failures = Vec::new();
    for (name, path) in estates() {
        let target = target_of(&path);
        let files = golden::generate(&path);
        *scanned.entry(target.as_str()).or_default() +=
            files.keys().filter(|f| f.ends_with(".ps1")).count();
        failures.extend(
            gate(&files, target)
                .into_iter()
                .map(|f| format!("{name}: {f}")),
        );
    }
    // Every change tree, against the Windows release of its NEW topology.
    for (name, _, new) in crate::change::pairs() {
        let target = target_of(&new);
        let files = crate::change::tree(&name);
        *scanned.entry(target.as_str()).or_default() +=
            files.keys().filter(|f| f.ends_with(".ps1")).count();
        failures.extend(
            gate(&files, target)
                .into_iter()
                .map(|f| format!("change/{name}: {f}")),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(scanned["2008"] > 20, "{scanned:?}");
    assert!(scanned["2008-r2"] > 40, "{scanned:?}");
}

#[test]
fn the_gate_finds_planted_constructs_and_ignores_strings_and_comments() {
    let planted = r#"
$names = @('a', 'b')
$joined = $names -join ', '
$parts = -split $joined
try {
    $x = 1
} catch {
    $x = 2
}
<# a block comment #>
Import-Module FailoverClusters
function Get-It {
    [CmdletBinding()]
    param([Parameter(Mandatory = $true)] [string]$Name)
    $PSCmdlet
}
$here = $PSScriptRoot
$options = @{ Name = 'x' }
Get-Item @options
$wmi.Put()
$wmi.psbase.Put()
[void]$wmi.InvokeMethod('Rename', @('x'))
$names | Where-Object { $PSItem -in $names }
$o = [PSCustomObject]@{ a = 1 }
powershell.exe -NoProfile -File 'x.ps1'
Write-Host 'strings hold -join, try { and <# #> and $PSItem freely' # and so do comments: -split, Import-Module
Write-Host ('Running ' + $setup + ' ' + ($arguments -join ' '))
Get-Process | Where-Object Name -eq 'x'
Get-Process | ForEach-Object -MemberName Name
Get-Item 'x' -ErrorAction Ignore
Get-Item 'x' -WarningVariable w -WarningAction SilentlyContinue
Get-WmiObject Win32_OperatingSystem -Authentication PacketPrivacy
Get-Process | Where-Object { $_.Name -eq 'x' } | ForEach-Object { $_.Name }
Get-Item 'x' -ErrorAction SilentlyContinue
"#;
    let on_1 = too_new(planted, Windows::W2008).join("\n");
    for expected in [
        "line 3: operator -join",
        "line 4: operator -split",
        "line 5: try statement",
        "catch clause",
        "line 10: block comment",
        "line 11: command import-module",
        "attribute [cmdletbinding]",
        "attribute [parameter]",
        "variable $pscmdlet",
        "variable $psscriptroot",
        "line 19: splatting @options",
        "line 20: put() without .psbase",
        "line 22: invokemethod() without .psbase",
        "variable $psitem",
        "operator -in",
        "type [pscustomobject]",
        "line 25: powershell.exe -file",
        "line 27: operator -join",
        "line 28: where-object simplified syntax -eq",
        "line 29: foreach-object -membername",
        "line 30: -erroraction ignore",
        "line 31: parameter -warningvariable",
        "line 31: parameter -warningaction",
        "line 32: get-wmiobject -authentication",
    ] {
        assert!(on_1.contains(expected), "missing {expected}:\n{on_1}");
    }
    assert!(
        !on_1.contains("line 33:"),
        "a script-block filter is 1.0:\n{on_1}"
    );
    assert!(
        !on_1.contains("line 34:"),
        "SilentlyContinue is 1.0:\n{on_1}"
    );
    assert!(!on_1.contains("line 21:"), "psbase.Put() is 1.0:\n{on_1}");
    assert!(!on_1.contains("line 26:"), "strings and comments:\n{on_1}");
    let on_2 = too_new(planted, Windows::W2008R2).join("\n");
    assert!(!on_2.contains("-join") && !on_2.contains("try"), "{on_2}");
    for expected in [
        "variable $psitem",
        "operator -in",
        "type [pscustomobject]",
        "line 28: where-object simplified syntax -eq",
        "line 29: foreach-object -membername",
        "line 30: -erroraction ignore",
    ] {
        assert!(on_2.contains(expected), "missing {expected}:\n{on_2}");
    }
    assert!(
        !on_2.contains("line 31:") && !on_2.contains("line 32:"),
        "2.0 has these:\n{on_2}"
    );
    let launcher =
        "rem powershell.exe -File is 2.0\r\n\"%P%\\powershell.exe\" -NoProfile -File \"x.ps1\"\r\n";
    assert_eq!(
        launcher_too_new(launcher, Windows::W2008),
        ["line 2: powershell.exe -file"]
    );
}

/// A 2.0 construct planted in a template reaches a 2008 script and the gate
/// reports it: the gate guards the templates, not only today's output.
#[test]
fn a_construct_planted_in_a_template_fails_the_gate() {
    let dir = harness::scratch("psversion-planted");
    let original = runsheet::render::registry::TEMPLATES
        .iter()
        .find(|(name, _, _)| *name == "ps1/verify-cms.ps1.hbs")
        .map(|(_, _, text)| *text)
        .expect("verify-cms template");
    let planted = original.replacen(
        "Assert-CmsOnline $cms",
        "Assert-CmsOnline $cms\ntry {\n    Write-Host ([string]$cms -split 'x')\n} finally {\n    Write-Host 'done'\n}",
        1,
    );
    assert_ne!(planted, original);
    std::fs::write(dir.join("verify-cms.ps1.hbs"), planted).expect("write");
    let seed = harness::root().join("examples/contoso-ccr.yaml");
    let files = golden::generate_with(&seed, Some(&dir));
    let findings = gate(&files, Windows::W2008).join("\n");
    assert!(findings.contains("verify-cms.ps1 line"), "{findings}");
    for expected in ["try statement", "finally clause", "operator -split"] {
        assert!(
            findings.contains(expected),
            "missing {expected}:\n{findings}"
        );
    }
    assert!(gate(&golden::generate(&seed), Windows::W2008).is_empty());
}
