//! `runsheet diff`: what two topologies generate, compared file by file.
//!
//! Pure: two artifact sets in, a [`Diff`] out ([`compare`]), and renderers
//! that write the model as unified diffs, as a `--stat` summary or as JSON.
//! Nothing here reads or writes files.
//!
//! Every generated file carries the topology's sha256 (and the generator's
//! version) in a few provenance lines, so any change to the topology touches
//! every file. [`provenance_lines`] knows where the generator puts those lines
//! in each kind of file; the comparison treats two provenance lines as equal,
//! so a file whose only difference is provenance is `header-only` and shows no
//! hunks unless asked (`--headers`).
//!
//! The renderers write only the per-file part. A summary block (the change
//! set of `runsheet change`) goes before it in text and beside `files` in
//! JSON, so adding one does not reshape either.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use rayon::prelude::*;
use serde::Serialize;
use similar::udiff::UnifiedHunkHeader;
use similar::{Algorithm, DiffOp, capture_diff_slices, group_diff_ops};

use crate::artifact::{ArtifactSet, PLAN_FILE};

/// Format tag of `runsheet diff --format json`.
pub const DIFF_FORMAT: &str = "runsheet-diff/1";

/// What the comparison shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Lines of context around each change (`-U N`).
    pub context: usize,
    /// Show provenance lines as changes, and the hunks of header-only files.
    pub headers: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            context: 3,
            headers: false,
        }
    }
}

/// One topology of the comparison: as the user named it, and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Side {
    pub file: String,
    pub sha256: String,
}

/// The whole comparison: files in display order, real changes (by path)
/// first, then header-only files (by path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    pub old: Side,
    pub new: Side,
    /// What `runsheet change` makes of the two models; empty when they
    /// describe the same estate (or the caller did not ask).
    pub changes: crate::change::ChangeSet,
    pub files: Vec<FileDiff>,
}

/// How a file differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Changed,
    Added,
    Removed,
    /// Only provenance lines differ.
    HeaderOnly,
}

/// One file that differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDiff {
    /// Relative to the output tree, `/`-separated.
    pub path: String,
    pub status: Status,
    /// Lines the diff adds and removes; for a header-only file, its
    /// provenance lines.
    pub added: usize,
    pub removed: usize,
    /// Differences the lines do not show: line endings, byte-order mark.
    pub notes: Vec<String>,
    /// Empty for a header-only file unless `--headers`.
    pub hunks: Vec<Hunk>,
}

/// One `@@` hunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    /// `@@ -a,b +c,d @@`, as unified diffs write it.
    pub header: String,
    pub lines: Vec<HunkLine>,
}

/// One line of a hunk, without its line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HunkLine {
    pub tag: Tag,
    pub text: String,
    /// The line is the last of its file and has no line ending.
    pub no_newline: bool,
}

/// Context, removed or added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Context,
    Removed,
    Added,
}

impl Tag {
    fn prefix(self) -> char {
        match self {
            Tag::Context => ' ',
            Tag::Removed => '-',
            Tag::Added => '+',
        }
    }
}

impl Diff {
    /// Whether anything differs, headers included.
    pub fn differs(&self) -> bool {
        !self.files.is_empty()
    }
}

/// Compares two artifact sets file by file.
pub fn compare(
    old: Side,
    old_files: &ArtifactSet,
    new: Side,
    new_files: &ArtifactSet,
    options: Options,
) -> Diff {
    let before: BTreeMap<&str, &[u8]> = old_files.iter().collect();
    let after: BTreeMap<&str, &[u8]> = new_files.iter().collect();
    let paths: Vec<&str> = before
        .keys()
        .chain(after.keys())
        .copied()
        .collect::<BTreeSet<&str>>()
        .into_iter()
        .collect();
    // Each side's files name their window's folder, named after the side's
    // topology: the same folder for the comparison.
    let windows = [
        crate::render::context::window_name("build", &[&old.sha256]),
        crate::render::context::window_name("build", &[&new.sha256]),
    ];
    // Files compare on both cores; the list keeps the paths' order.
    let compared: Vec<Option<FileDiff>> = paths
        .par_iter()
        .map(|path| {
            compare_file(
                path,
                before.get(path).copied(),
                after.get(path).copied(),
                options,
                &windows,
            )
        })
        .collect();
    let (header_only, mut files): (Vec<FileDiff>, Vec<FileDiff>) = compared
        .into_iter()
        .flatten()
        .partition(|file| file.status == Status::HeaderOnly);
    files.extend(header_only);
    Diff {
        old,
        new,
        changes: crate::change::ChangeSet::default(),
        files,
    }
}

/// A line as the comparison sees it: provenance lines all compare equal,
/// and so do the two sides' window folders.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key<'a> {
    Provenance,
    Line(std::borrow::Cow<'a, str>),
}

fn compare_file(
    path: &str,
    before: Option<&[u8]>,
    after: Option<&[u8]>,
    options: Options,
    [old_window, new_window]: &[String; 2],
) -> Option<FileDiff> {
    if before == after {
        return None;
    }
    let old_text = String::from_utf8_lossy(before.unwrap_or_default());
    let new_text = String::from_utf8_lossy(after.unwrap_or_default());
    let old_lines = split_lines(&old_text);
    let new_lines = split_lines(&new_text);
    let old_marks = provenance_lines(path, &old_lines);
    let new_marks = provenance_lines(path, &new_lines);
    let status = match (before, after) {
        (None, _) => Status::Added,
        (_, None) => Status::Removed,
        _ if keys(&old_lines, &old_marks, true, old_window)
            == keys(&new_lines, &new_marks, true, new_window) =>
        {
            Status::HeaderOnly
        }
        _ => Status::Changed,
    };
    let (added, removed, hunks) = if status == Status::HeaderOnly && !options.headers {
        // Counted as the lines that differ, though no hunk shows them.
        let differing = old_lines
            .iter()
            .zip(&new_lines)
            .filter(|(a, b)| a != b)
            .count();
        (differing, differing, Vec::new())
    } else {
        let normalise = !options.headers;
        let old_keys = keys(&old_lines, &old_marks, normalise, old_window);
        let new_keys = keys(&new_lines, &new_marks, normalise, new_window);
        let ops = capture_diff_slices(Algorithm::Myers, &old_keys, &new_keys);
        let (mut added, mut removed) = (0, 0);
        for op in ops.iter().filter(|op| !matches!(op, DiffOp::Equal { .. })) {
            removed += op.old_range().len();
            added += op.new_range().len();
        }
        let hunks = group_diff_ops(ops, options.context)
            .iter()
            .map(|group| hunk(group, &old_lines, &new_lines))
            .collect();
        (added, removed, hunks)
    };
    let notes = match (before, after) {
        (Some(_), Some(_)) => notes(&old_text, &new_text, &old_lines, &new_lines),
        _ => Vec::new(),
    };
    Some(FileDiff {
        path: path.to_owned(),
        status,
        added,
        removed,
        notes,
        hunks,
    })
}

/// The lines as the comparison sees them; normalised, provenance lines are
/// all one, and the side's window name (derived from its topology's sha256,
/// as provenance is) reads the same on both sides.
fn keys<'a>(lines: &[&'a str], marks: &[bool], normalise: bool, window: &str) -> Vec<Key<'a>> {
    lines
        .iter()
        .zip(marks)
        .map(|(line, &mark)| {
            if normalise && mark {
                Key::Provenance
            } else if normalise && !window.is_empty() && line.contains(window) {
                Key::Line(std::borrow::Cow::Owned(line.replace(window, "\u{0}window")))
            } else {
                Key::Line(std::borrow::Cow::Borrowed(line))
            }
        })
        .collect()
}

/// Lines with their endings, so that an ending that changes is a change.
fn split_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

fn hunk(group: &[DiffOp], old_lines: &[&str], new_lines: &[&str]) -> Hunk {
    let mut lines = Vec::new();
    let mut push = |tag: Tag, index: usize, line: &str| {
        let no_newline = !line.ends_with('\n');
        let mut text = line.trim_end_matches('\n').trim_end_matches('\r');
        if index == 0 {
            // The byte-order mark is reported as a note, never shown inside a line.
            text = text.trim_start_matches('\u{feff}');
        }
        lines.push(HunkLine {
            tag,
            text: text.to_owned(),
            no_newline,
        });
    };
    for op in group {
        let (old_range, new_range) = (op.old_range(), op.new_range());
        match op {
            // An equal provenance line shows as the new side has it.
            DiffOp::Equal { .. } => {
                for index in new_range {
                    push(Tag::Context, index, new_lines[index]);
                }
            }
            DiffOp::Delete { .. } | DiffOp::Insert { .. } | DiffOp::Replace { .. } => {
                for index in old_range {
                    push(Tag::Removed, index, old_lines[index]);
                }
                for index in new_range {
                    push(Tag::Added, index, new_lines[index]);
                }
            }
        }
    }
    Hunk {
        header: UnifiedHunkHeader::new(group).to_string(),
        lines,
    }
}

/// Line endings and byte-order mark, which a line-by-line display hides.
fn notes(old_text: &str, new_text: &str, old_lines: &[&str], new_lines: &[&str]) -> Vec<String> {
    let mut notes = Vec::new();
    let (old_ending, new_ending) = (line_endings(old_lines), line_endings(new_lines));
    if old_ending != new_ending {
        notes.push(format!("line endings: {old_ending} -> {new_ending}"));
    }
    let bom = |text: &str| text.starts_with('\u{feff}');
    match (bom(old_text), bom(new_text)) {
        (true, false) => notes.push("byte-order mark removed".to_owned()),
        (false, true) => notes.push("byte-order mark added".to_owned()),
        _ => {}
    }
    notes
}

fn line_endings(lines: &[&str]) -> &'static str {
    let crlf = lines.iter().filter(|line| line.ends_with("\r\n")).count();
    let lf = lines.iter().filter(|line| line.ends_with('\n')).count() - crlf;
    match (crlf, lf) {
        (0, 0) => "none",
        (_, 0) => "CRLF",
        (0, _) => "LF",
        _ => "mixed",
    }
}

/// Which lines of a generated file are provenance: the lines that carry the
/// topology's sha256 or the generator's version, where the generator puts
/// them. `lines` keep their endings. The one place that knows the forms:
///
/// - `.cmd`/`.bat`: in the leading `rem` block, `rem Generated by runsheet
///   VERSION from … sha256 HEX …` (one topology, or `from sha256 A to sha256 B`
///   for a change);
/// - `.ps1`: the same sentence in the leading `#` block;
/// - `.md`: in the title block (before the first `## `), the list items
///   `- Generated by: …` and `- … sha256: `HEX``;
/// - `.html`: before the first phase, `<meta name="generator" …>`, the `<dd>`
///   after `<dt>Generated by</dt>` or `<dt>… sha256</dt>`, and the list items
///   `<li>Generated by: …</li>` and `<li>… sha256: <code>HEX</code></li>`;
/// - `plan.json`: every `"…sha256": "HEX"` member (the topology's and each
///   file's: they follow from bytes shown elsewhere) and the top-level
///   `"version"`.
pub fn provenance_lines(path: &str, lines: &[&str]) -> Vec<bool> {
    let texts: Vec<&str> = lines
        .iter()
        .map(|line| {
            line.trim_end_matches('\n')
                .trim_end_matches('\r')
                .trim_start_matches('\u{feff}')
        })
        .collect();
    let mut marks = vec![false; lines.len()];
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let extension = file_name.rsplit_once('.').map_or("", |(_, ext)| ext);
    // Each form marks lines until the end of the region that holds the header.
    for (index, mark) in marks.iter_mut().enumerate() {
        let line = texts[index];
        let (is_provenance, region_ends) = match extension {
            "cmd" | "bat" => {
                let line = line.trim_start();
                if line.eq_ignore_ascii_case("@echo off") {
                    (false, false)
                } else {
                    cmd_comment(line).map_or((false, true), |c| (is_generated_by(c), false))
                }
            }
            "ps1" => line
                .strip_prefix('#')
                .map_or((false, true), |c| (is_generated_by(c), false)),
            "md" => (
                line.strip_prefix("- ").is_some_and(|item| {
                    provenance_item(item, |value| {
                        value.strip_prefix('`').and_then(|v| v.strip_suffix('`'))
                    })
                }),
                line.starts_with("## "),
            ),
            "html" => {
                let labelled_dd = line.starts_with("<dd>")
                    && index > 0
                    && texts[index - 1]
                        .strip_prefix("<dt>")
                        .and_then(|dt| dt.strip_suffix("</dt>"))
                        .is_some_and(|label| label == "Generated by" || label.ends_with("sha256"));
                let list_item = line
                    .strip_prefix("<li>")
                    .and_then(|li| li.strip_suffix("</li>"))
                    .is_some_and(|item| {
                        provenance_item(item, |value| {
                            value
                                .strip_prefix("<code>")
                                .and_then(|v| v.strip_suffix("</code>"))
                        })
                    });
                (
                    line.starts_with("<meta name=\"generator\" ") || labelled_dd || list_item,
                    line.starts_with("<section class=\"phase"),
                )
            }
            "json" if file_name == PLAN_FILE => {
                let member = line.trim_start().trim_end_matches(',');
                let hash_member = member.split_once("\": \"").is_some_and(|(key, value)| {
                    key.starts_with('"')
                        && key.ends_with("sha256")
                        && value.strip_suffix('"').is_some_and(is_sha256)
                });
                (hash_member || line.starts_with("  \"version\": \""), false)
            }
            _ => (false, true),
        };
        if region_ends {
            break;
        }
        *mark = is_provenance;
    }
    marks
}

/// A runbook's title-block item: `Generated by: …`, or `LABEL sha256: VALUE`
/// where `unwrap` finds a sha256 inside VALUE's markup.
fn provenance_item(item: &str, unwrap: impl Fn(&str) -> Option<&str>) -> bool {
    if item.starts_with("Generated by: ") {
        return true;
    }
    item.split_once(": ").is_some_and(|(label, value)| {
        label.ends_with("sha256") && unwrap(value).is_some_and(is_sha256)
    })
}

/// The text of a cmd comment line (`rem …`, `@rem …`, `:: …`).
fn cmd_comment(line: &str) -> Option<&str> {
    let line = line.strip_prefix('@').unwrap_or(line);
    if let Some(rest) = line.strip_prefix("::") {
        return Some(rest);
    }
    let (word, rest) = line.split_at_checked(3)?;
    (word.eq_ignore_ascii_case("rem") && (rest.is_empty() || rest.starts_with([' ', '\t'])))
        .then_some(rest)
}

/// `Generated by runsheet VERSION from …`, naming at least one topology sha256.
fn is_generated_by(comment: &str) -> bool {
    let Some(rest) =
        comment
            .trim()
            .strip_prefix(concat!("Generated by ", env!("CARGO_PKG_NAME"), " "))
    else {
        return false;
    };
    let Some((_version, rest)) = rest.split_once(' ') else {
        return false;
    };
    let Some(rest) = rest.strip_prefix("from ") else {
        return false;
    };
    let words: Vec<&str> = rest.split_whitespace().collect();
    words
        .windows(2)
        .any(|pair| pair[0] == "sha256" && is_sha256(pair[1]))
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

fn paint(out: &mut dyn Write, color: bool, style: &str, text: &str) -> io::Result<()> {
    if color {
        writeln!(out, "{style}{text}{RESET}")
    } else {
        writeln!(out, "{text}")
    }
}

/// The change set, one line per change, before the file diffs: what a
/// reviewer reads first, and what `runsheet change` would refuse.
fn write_changes(diff: &Diff, color: bool, out: &mut dyn Write) -> io::Result<()> {
    if diff.changes.is_empty() {
        return Ok(());
    }
    paint(out, color, BOLD, "change set:")?;
    for line in diff.changes.summary() {
        writeln!(out, "  {line}")?;
    }
    writeln!(out)
}

/// The change set, then unified diffs of every real change, then one
/// `header only:` line per header-only file (with its hunks under `--headers`).
pub fn write_text(diff: &Diff, color: bool, out: &mut dyn Write) -> io::Result<()> {
    write_changes(diff, color, out)?;
    for file in &diff.files {
        if file.status == Status::HeaderOnly {
            paint(out, color, BOLD, &format!("header only: {}", file.path))?;
            if file.hunks.is_empty() {
                continue;
            }
        }
        match file.status {
            Status::Added => paint(out, color, BOLD, &format!("new file: {}", file.path))?,
            Status::Removed => paint(out, color, BOLD, &format!("deleted file: {}", file.path))?,
            Status::Changed | Status::HeaderOnly => {}
        }
        for note in &file.notes {
            paint(out, color, BOLD, &format!("{}: {note}", file.path))?;
        }
        let old_name = match file.status {
            Status::Added => "/dev/null".to_owned(),
            _ => format!("a/{}", file.path),
        };
        let new_name = match file.status {
            Status::Removed => "/dev/null".to_owned(),
            _ => format!("b/{}", file.path),
        };
        paint(out, color, BOLD, &format!("--- {old_name}"))?;
        paint(out, color, BOLD, &format!("+++ {new_name}"))?;
        for hunk in &file.hunks {
            paint(out, color, CYAN, &hunk.header)?;
            for line in &hunk.lines {
                let style = match line.tag {
                    Tag::Context => "",
                    Tag::Removed => RED,
                    Tag::Added => GREEN,
                };
                let text = format!("{}{}", line.tag.prefix(), line.text);
                paint(out, color && !style.is_empty(), style, &text)?;
                if line.no_newline {
                    writeln!(out, "\\ No newline at end of file")?;
                }
            }
        }
    }
    Ok(())
}

/// The change set, then one line per file that differs, `+N -M` or
/// `header only`, then a total.
pub fn write_stat(diff: &Diff, color: bool, out: &mut dyn Write) -> io::Result<()> {
    write_changes(diff, color, out)?;
    if !diff.differs() {
        return Ok(());
    }
    let width = diff.files.iter().map(|f| f.path.len()).max().unwrap_or(0);
    let count = |status: Status| diff.files.iter().filter(|f| f.status == status).count();
    let (mut added, mut removed) = (0, 0);
    for file in &diff.files {
        write!(out, " {:<width$} | ", file.path)?;
        if file.status == Status::HeaderOnly {
            writeln!(out, "header only")?;
            continue;
        }
        added += file.added;
        removed += file.removed;
        let plus = format!("+{}", file.added);
        let minus = format!("-{}", file.removed);
        let (plus, minus) = if color {
            (
                format!("{GREEN}{plus}{RESET}"),
                format!("{RED}{minus}{RESET}"),
            )
        } else {
            (plus, minus)
        };
        let status = match file.status {
            Status::Added => " (new file)",
            Status::Removed => " (deleted file)",
            _ => "",
        };
        writeln!(out, "{plus} {minus}{status}")?;
    }
    writeln!(
        out,
        "{} differ: {} changed, {} added, {} removed, {} header only; +{added} -{removed} lines",
        crate::diag::plural(diff.files.len(), "file"),
        count(Status::Changed),
        count(Status::Added),
        count(Status::Removed),
        count(Status::HeaderOnly),
    )
}

#[derive(Serialize)]
struct JsonDocument<'a> {
    format: &'static str,
    old: &'a Side,
    new: &'a Side,
    /// The change set, as `plan.json` of `runsheet change` carries it.
    changes: serde_json::Value,
    files: Vec<JsonFile<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hunks: Option<Vec<JsonHunk<'a>>>,
}

#[derive(Serialize)]
struct JsonFile<'a> {
    path: &'a str,
    status: Status,
    added: usize,
    removed: usize,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notes: &'a [String],
}

#[derive(Serialize)]
struct JsonHunk<'a> {
    path: &'a str,
    header: &'a str,
    /// Each line with its unified-diff prefix: ` `, `-` or `+`.
    lines: Vec<String>,
}

/// The model as one JSON document (`runsheet-diff/1`); hunks unless `stat`.
pub fn write_json(diff: &Diff, stat: bool, out: &mut dyn Write) -> io::Result<()> {
    let files = diff
        .files
        .iter()
        .map(|file| JsonFile {
            path: &file.path,
            status: file.status,
            added: file.added,
            removed: file.removed,
            notes: &file.notes,
        })
        .collect();
    let hunks = (!stat).then(|| {
        diff.files
            .iter()
            .flat_map(|file| {
                file.hunks.iter().map(|hunk| JsonHunk {
                    path: &file.path,
                    header: &hunk.header,
                    lines: hunk
                        .lines
                        .iter()
                        .map(|line| format!("{}{}", line.tag.prefix(), line.text))
                        .collect(),
                })
            })
            .collect()
    });
    let document = JsonDocument {
        format: DIFF_FORMAT,
        old: &diff.old,
        new: &diff.new,
        changes: diff.changes.to_json(),
        files,
        hunks,
    };
    serde_json::to_writer_pretty(&mut *out, &document).map_err(io::Error::from)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "17123323cea832d25285682125c15ba3955cc4c19944ba763f3e9804e543ae2b";
    const B: &str = "c1ca9d88a6eac019365026bc57a54310a55bbe686e11a988dbb2e2184294e6ed";

    fn marked(path: &str, text: &str) -> Vec<usize> {
        let lines = split_lines(text);
        provenance_lines(path, &lines)
            .iter()
            .enumerate()
            .filter(|(_, mark)| **mark)
            .map(|(index, _)| index + 1)
            .collect()
    }

    fn generated_by(rest: &str) -> String {
        format!(
            "Generated by {} {} from {rest}",
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION")
        )
    }

    #[test]
    fn cmd_header() {
        let text = format!(
            "@echo off\r\nrem Pre-flight\r\nrem {}\r\nsetlocal\r\necho rem {}\r\n",
            generated_by(&format!("topology sha256 {A}")),
            generated_by(&format!("topology sha256 {A}")),
        );
        // Only inside the leading comment block.
        assert_eq!(marked("hosts/MAIL1/010-preflight.cmd", &text), [3]);
    }

    #[test]
    fn cmd_launcher_beside_a_ps1() {
        let text = format!(
            "@echo off\r\n@rem Runs 110-cluster-networks.ps1\r\n:: {}\r\npowershell.exe -NoProfile\r\n",
            generated_by(&format!("topology sha256 {A}"))
        );
        assert_eq!(marked("hosts/MAIL1/110-cluster-networks.cmd", &text), [3]);
    }

    #[test]
    fn ps1_header_after_the_byte_order_mark() {
        let text = format!(
            "\u{feff}# Move the files\r\n# {}\r\n\r\n# {}\r\n",
            generated_by(&format!("topology sha256 {A}")),
            generated_by(&format!("topology sha256 {A}")),
        );
        assert_eq!(marked("hosts/MAIL1/230-move.ps1", &text), [2]);
    }

    #[test]
    fn change_header_with_both_hashes() {
        let text = format!(
            "# Change\r\n# {}\r\n",
            generated_by(&format!("sha256 {A} to sha256 {B}"))
        );
        assert_eq!(marked("hosts/MAIL1/010-move.ps1", &text), [2]);
        let cmd = format!(
            "@echo off\r\nrem {}\r\n",
            generated_by(&format!("topology sha256 {A} to topology sha256 {B}"))
        );
        assert_eq!(marked("hosts/MAIL1/010-x.cmd", &cmd), [2]);
    }

    #[test]
    fn a_generated_by_line_without_a_hash_or_from_another_tool_is_not_provenance() {
        let text = format!(
            "# Generated by runsheet 0.1.0 from topology sha256 {}\n# Generated by othertool 1.0 from topology sha256 {A}\n# Generated by runsheet 0.1.0 by hand\n",
            &A[..10]
        );
        assert!(marked("x.ps1", &text).is_empty());
    }

    #[test]
    fn markdown_title_block() {
        let text = format!(
            "# Runbook: contoso-mail\n\n- Generated by: runsheet 0.1.0\n- Topology sha256: `{A}`\n- From topology sha256: `{A}`\n- Estate: `x`\n\n## Estate\n\n- Topology sha256: `{A}`\n"
        );
        assert_eq!(marked("runbook.md", &text), [3, 4, 5]);
    }

    #[test]
    fn html_cover_and_title_block() {
        let text = format!(
            "<head>\n<meta name=\"generator\" content=\"runsheet 0.1.0\">\n</head>\n<dl>\n<dt>Builds</dt>\n<dd>cluster MAIL</dd>\n<dt>Generated by</dt>\n<dd>runsheet 0.1.0</dd>\n<dt>Topology sha256</dt>\n<dd><code>{A}</code></dd>\n</dl>\n<ul>\n<li>Generated by: runsheet 0.1.0</li>\n<li>Topology sha256: <code>{A}</code></li>\n</ul>\n<section class=\"phase\" id=\"phase-1\">\n<li>Topology sha256: <code>{A}</code></li>\n"
        );
        assert_eq!(marked("runbook.html", &text), [2, 8, 10, 13, 14]);
    }

    #[test]
    fn plan_json_hashes_and_version() {
        let text = format!(
            "{{\n  \"format\": \"runsheet-plan/1\",\n  \"version\": \"0.1.0\",\n  \"topology_sha256\": \"{A}\",\n  \"files\": [\n    {{\n      \"path\": \"runbook.md\",\n      \"sha256\": \"{B}\",\n      \"step\": null\n    }}\n  ]\n}}\n"
        );
        assert_eq!(marked("plan.json", &text), [3, 4, 8]);
        // Only the plan: another JSON file is compared line by line.
        assert!(marked("other.json", &text).is_empty());
    }

    fn set(files: &[(&str, &str)]) -> ArtifactSet {
        let mut set = ArtifactSet::default();
        for (path, text) in files {
            set.insert(*path, text.as_bytes().to_vec());
        }
        set
    }

    fn side(sha256: &str) -> Side {
        Side {
            file: "estate.yaml".to_owned(),
            sha256: sha256.to_owned(),
        }
    }

    fn script(hash: &str, body: &str) -> String {
        format!(
            "# Step\r\n# {}\r\n\r\n{body}",
            generated_by(&format!("topology sha256 {hash}"))
        )
    }

    #[test]
    fn provenance_alone_is_header_only_and_a_real_change_hides_it() {
        let old = set(&[
            ("a.ps1", &script(A, "one\r\ntwo\r\n")),
            ("b.ps1", &script(A, "same\r\n")),
            ("c.ps1", "unchanged\r\n"),
        ]);
        let new = set(&[
            ("a.ps1", &script(B, "one\r\nTWO\r\n")),
            ("b.ps1", &script(B, "same\r\n")),
            ("c.ps1", "unchanged\r\n"),
        ]);
        let diff = compare(side(A), &old, side(B), &new, Options::default());
        let summary: Vec<(&str, Status, usize, usize)> = diff
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.status, f.added, f.removed))
            .collect();
        assert_eq!(
            summary,
            [
                ("a.ps1", Status::Changed, 1, 1),
                ("b.ps1", Status::HeaderOnly, 1, 1)
            ]
        );
        let mut text = Vec::new();
        write_text(&diff, false, &mut text).expect("write");
        let text = String::from_utf8(text).expect("UTF-8");
        assert_eq!(
            text,
            format!(
                "--- a/a.ps1\n+++ b/a.ps1\n@@ -2,4 +2,4 @@\n # {}\n \n one\n-two\n+TWO\nheader only: b.ps1\n",
                generated_by(&format!("topology sha256 {B}"))
            )
        );
        let headers = compare(
            side(A),
            &old,
            side(B),
            &new,
            Options {
                context: 0,
                headers: true,
            },
        );
        assert_eq!(headers.files[0].added, 2);
        assert_eq!(headers.files[1].hunks.len(), 1);
    }

    #[test]
    fn crlf_lines_compare_as_text_and_an_ending_change_is_noted() {
        let old = set(&[
            ("a.cmd", "one\r\ntwo\r\n"),
            ("b.cmd", "x\r\n"),
            ("c.txt", "end"),
        ]);
        let new = set(&[
            ("a.cmd", "one\ntwo\n"),
            ("b.cmd", "y\r\n"),
            ("c.txt", "end\n"),
        ]);
        let diff = compare(side(A), &old, side(B), &new, Options::default());
        let mut text = Vec::new();
        write_text(&diff, false, &mut text).expect("write");
        let text = String::from_utf8(text).expect("UTF-8");
        assert_eq!(
            text,
            "a.cmd: line endings: CRLF -> LF\n--- a/a.cmd\n+++ b/a.cmd\n@@ -1,2 +1,2 @@\n-one\n-two\n+one\n+two\n\
             --- a/b.cmd\n+++ b/b.cmd\n@@ -1 +1 @@\n-x\n+y\n\
             c.txt: line endings: none -> LF\n--- a/c.txt\n+++ b/c.txt\n@@ -1 +1 @@\n-end\n\\ No newline at end of file\n+end\n"
        );
    }

    #[test]
    fn added_and_removed_files() {
        let old = set(&[("gone.cmd", "a\r\nb\r\n")]);
        let new = set(&[("new.cmd", "c\r\n")]);
        let diff = compare(side(A), &old, side(B), &new, Options::default());
        let mut text = Vec::new();
        write_text(&diff, false, &mut text).expect("write");
        assert_eq!(
            String::from_utf8(text).expect("UTF-8"),
            "deleted file: gone.cmd\n--- a/gone.cmd\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n\
             new file: new.cmd\n--- /dev/null\n+++ b/new.cmd\n@@ -0,0 +1 @@\n+c\n"
        );
        let mut stat = Vec::new();
        write_stat(&diff, false, &mut stat).expect("write");
        assert_eq!(
            String::from_utf8(stat).expect("UTF-8"),
            " gone.cmd | +0 -2 (deleted file)\n new.cmd  | +1 -0 (new file)\n\
             2 files differ: 0 changed, 1 added, 1 removed, 0 header only; +1 -2 lines\n"
        );
    }
}
