//! Command line: clap definitions, one function per command, and the one
//! place that chooses exit codes.
//!
//! Commands write to the streams they are given (a `Vec<u8>` in tests), never
//! with `println!`, so a closed pipe is an error value, not a panic.

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::check::{self, Checked};
use crate::diag::{self, Report, plural};
use crate::model;
use crate::render::registry::{Registry, TEMPLATES, TemplateError};
use crate::write::{self, WriteError};

/// Generates change-window scripts and runbooks for Exchange 2007 CCR estates.
///
/// runsheet reads one YAML topology, validates it against the JSON Schema and
/// the platform's rules, and points at the line of every mistake.
#[derive(Debug, Parser)]
#[command(name = "runsheet", version, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 success, 1 invalid topology (for change: also a change runsheet cannot make safely), 2 usage error, 3 template error, 4 I/O error;\n\
`diff` alone keeps diff(1)'s codes: 0 no differences, 1 differences, 2 trouble.\n\
Start with `runsheet init > estate.yaml`, then `runsheet validate estate.yaml`."
)]
pub struct Cli {
    /// When to colour diagnostics and diffs: auto colours on a terminal unless NO_COLOR is set.
    #[arg(long, value_enum, global = true, default_value_t = Color::Auto)]
    pub color: Color,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check topology files against the schema and the platform's rules.
    ///
    /// Findings go to stderr rustc-style (or to stdout as JSON with
    /// --format json). Exit 0 when every file is valid (warnings allowed),
    /// 1 when any has an error, 4 when a file cannot be read.
    Validate {
        /// Topology files to check.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Output format for findings.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Print the JSON Schema (draft 2020-12) of the topology format.
    ///
    /// Point your editor at it with a first line such as
    /// `# yaml-language-server: $schema=schemas/topology.schema.json`.
    Schema,
    /// Write the scripts, runbook and plan that build the estate.
    ///
    /// The tree is built beside DIR and renamed into place, so a failed build
    /// leaves nothing half-written. A non-empty DIR that is not an earlier
    /// runsheet output is refused unless --force.
    Build {
        /// The topology file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The output directory.
        #[arg(short, long, value_name = "DIR")]
        output: PathBuf,
        /// Replace DIR even if it is not an earlier runsheet output.
        #[arg(long)]
        force: bool,
        /// Directory of templates that replace the embedded ones by name
        /// (see `runsheet templates`).
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        /// Write the window for this cluster only: its nodes and witness,
        /// numbered as in the full build. Repeat for several clusters.
        #[arg(long = "cluster", value_name = "NAME")]
        clusters: Vec<String>,
    },
    /// Write the scripts and runbook of the change window from OLD to NEW.
    ///
    /// Compares the two models (clusters, CMSs, storage groups and databases
    /// by name, case-insensitively) and prints the change set before writing.
    /// Storage group and database path moves, added and removed storage
    /// groups become numbered steps on the nodes they touch. Anything a window
    /// cannot do safely (cluster, CMS, node, witness, network, domain or
    /// platform changes) is refused with its line in NEW: exit 1, nothing
    /// written. OLD and NEW without difference: "no change", exit 0.
    ///
    /// Without -o, nothing is written: the change set and the numbered steps
    /// of the window are printed, each with what it changes and what is
    /// offline during it (from the platform model), for the review before
    /// anything is generated; --format json prints them as JSON.
    Change {
        /// The topology the estate runs today.
        #[arg(value_name = "OLD")]
        old: PathBuf,
        /// The topology it should run after the window.
        #[arg(value_name = "NEW")]
        new: PathBuf,
        /// The output directory; without it, the window is printed, not written.
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Replace DIR even if it is not an earlier runsheet output.
        #[arg(long)]
        force: bool,
        /// Directory of templates that replace the embedded ones by name
        /// (see `runsheet templates`).
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
        /// Output format of the printed window (without -o).
        #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
        format: PlanFormat,
    },
    /// Print the ordered steps of the build without writing anything.
    ///
    /// Under each step: what it changes and what is offline during it, from
    /// the platform model that proves the window.
    Plan {
        /// The topology file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
        format: PlanFormat,
        /// The steps of this cluster only, numbered as in the full build.
        /// Repeat for several clusters.
        #[arg(long = "cluster", value_name = "NAME")]
        clusters: Vec<String>,
    },
    /// Compare what two topologies generate, as unified diffs per file.
    ///
    /// Both are validated and rendered in memory; nothing is written. Paths in
    /// the diff are relative to the output tree (`runbook.md`,
    /// `hosts/MAIL1/230-move-database-files.ps1`). Every file records the
    /// topology's sha256, so a file whose only difference is that provenance
    /// is listed on a `header only:` line instead of shown (see --headers).
    /// OLD or NEW may be `-` for standard input:
    /// `git show main:estate.yaml | runsheet diff - estate.yaml`.
    ///
    /// Exit codes differ from the other commands, as diff(1) has them:
    /// 0 nothing differs, 1 something differs, 2 trouble (invalid or
    /// unreadable topology, template error, usage error).
    #[command(after_help = "Exit codes (diff only): 0 no differences, 1 differences, 2 trouble.")]
    Diff {
        /// The topology before the change (`-` for standard input).
        #[arg(value_name = "OLD")]
        old: PathBuf,
        /// The topology after the change (`-` for standard input).
        #[arg(value_name = "NEW")]
        new: PathBuf,
        /// Lines of context around each change.
        #[arg(short = 'U', long = "unified", value_name = "N", default_value_t = 3)]
        context: usize,
        /// Print one line per file with its added and removed line counts, and a total; no hunks.
        #[arg(long)]
        stat: bool,
        /// Show the provenance lines too: the hunks of header-only files, and
        /// the sha256 lines of changed files.
        #[arg(long)]
        headers: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
        /// Directory of templates that replace the embedded ones by name, for
        /// both sides (as for build).
        #[arg(long, value_name = "DIR")]
        templates: Option<PathBuf>,
    },
    /// Print a commented example topology (the seed estate) to start from.
    Init,
    /// Write the embedded templates to DIR, to start an override for --templates.
    Templates {
        /// Where to write them.
        #[arg(short, long, value_name = "DIR")]
        output: PathBuf,
        /// Overwrite files that exist.
        #[arg(long)]
        force: bool,
    },
    /// Print shell completions.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

/// Output format of findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// rustc-style text with the source line and a caret.
    Human,
    /// A JSON array of {code, severity, message, file, line, column, pointer, help}.
    Json,
}

/// Output format of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// One aligned line per step.
    Table,
    /// The steps as a JSON array.
    Json,
}

/// Output format of `diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Unified diffs, or the --stat summary.
    Text,
    /// One `runsheet-diff/1` document: files with status and counts, and hunks
    /// (not with --stat). Never coloured.
    Json,
}

/// Colour choice for diagnostics and diffs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

/// What a command achieved, when it ran to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Findings with errors were reported.
    Invalid,
    /// An input could not be read; the reason was already printed.
    Unreadable,
    /// `diff` found differences.
    Differs,
}

/// Which table of exit codes a command follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codes {
    /// 0 success, 1 invalid, 2 usage, 3 template, 4 I/O.
    Standard,
    /// diff(1)'s: 0 same, 1 differs, 2 anything else.
    Diff,
}

/// Failures that stop a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Output(#[from] io::Error),
}

/// The only place that chooses a process exit code (the design doc's Commands table).
pub fn exit_code(codes: Codes, result: &Result<Outcome, Error>) -> u8 {
    match (codes, result) {
        (_, Ok(Outcome::Success)) => 0,
        (_, Ok(Outcome::Differs)) => 1,
        // diff(1): 1 means "differs", so every kind of trouble is 2.
        (Codes::Diff, _) => 2,
        (Codes::Standard, Ok(Outcome::Invalid)) => 1,
        (Codes::Standard, Ok(Outcome::Unreadable)) => 4,
        (Codes::Standard, Err(Error::Usage(_))) => 2,
        (Codes::Standard, Err(Error::Template(_))) => 3,
        (
            Codes::Standard,
            Err(Error::Read { .. }) | Err(Error::Write(_)) | Err(Error::Output(_)),
        ) => 4,
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let stdout = io::stdout();
    let stderr = io::stderr();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut err = stderr.lock();
    let code = run(std::env::args_os(), &mut out, &mut err);
    let code = match out.flush() {
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe && code == 0 => 4,
        _ => code,
    };
    ExitCode::from(code)
}

/// Parses arguments and runs one command; returns the exit code.
pub fn run(
    args: impl IntoIterator<Item = impl Into<OsString> + Clone>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let target: &mut dyn Write = if error.use_stderr() { err } else { out };
            let _ = write!(target, "{}", error.render());
            return u8::try_from(error.exit_code()).unwrap_or(2);
        }
    };
    let wants_color = |terminal: bool| match cli.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && terminal,
    };
    let color = wants_color(io::stderr().is_terminal());
    let color_out = wants_color(io::stdout().is_terminal());
    let codes = match cli.command {
        Command::Diff { .. } => Codes::Diff,
        _ => Codes::Standard,
    };
    let result = match cli.command {
        Command::Validate { files, format } => validate(&files, format, color, out, err),
        Command::Schema => out
            .write_all(model::schema_text().as_bytes())
            .map(|()| Outcome::Success)
            .map_err(Error::from),
        Command::Build {
            file,
            output,
            force,
            templates,
            clusters,
        } => build(
            &file,
            &BuildOptions {
                output: &output,
                force,
                templates: templates.as_deref(),
                clusters: &clusters,
            },
            color,
            out,
            err,
        ),
        Command::Change {
            old,
            new,
            output: None,
            format,
            ..
        } => change_preview((&old, &new), format, color, out, err),
        Command::Change {
            old,
            new,
            output: Some(output),
            force,
            templates,
            ..
        } => change(
            (&old, &new),
            &output,
            force,
            templates.as_deref(),
            color,
            out,
            err,
        ),
        Command::Plan {
            file,
            format,
            clusters,
        } => plan(&file, format, &clusters, color, out, err),
        Command::Diff {
            old,
            new,
            context,
            stat,
            headers,
            format,
            templates,
        } => {
            let request = DiffRequest {
                old: &old,
                new: &new,
                options: crate::diff::Options { context, headers },
                stat,
                format,
                templates: templates.as_deref(),
            };
            diff(&request, color, color_out, out, err)
        }
        Command::Templates { output, force } => write_templates(&output, force, out),
        Command::Init => out
            .write_all(init_text().as_bytes())
            .map(|()| Outcome::Success)
            .map_err(Error::from),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "runsheet", out);
            Ok(Outcome::Success)
        }
    };
    report(result, codes, err)
}

/// Prints a failure, and turns the result into the exit code. A closed
/// output pipe ends quietly with the code already earned.
fn report(result: Result<Outcome, Error>, codes: Codes, err: &mut dyn Write) -> u8 {
    match &result {
        Err(Error::Output(error)) if error.kind() == io::ErrorKind::BrokenPipe => return 0,
        Err(error) => {
            let _ = writeln!(err, "error: {error}");
        }
        Ok(_) => {}
    }
    exit_code(codes, &result)
}

/// The seed estate, commented, as `runsheet init` prints it.
pub const INIT_EXAMPLE: &str = include_str!("../examples/contoso-ccr.yaml");

/// The modeline of the example points at `../schemas/`, which resolves only
/// inside `examples/`; the user's file gets one that names a schema beside
/// it, with the command that writes it there.
pub const INIT_MODELINE: &str = "# yaml-language-server: $schema=topology.schema.json\n\
# (for completion in your editor, write the schema beside this file:\n\
#  runsheet schema > topology.schema.json)\n";

/// What `runsheet init` prints.
pub fn init_text() -> String {
    let body = INIT_EXAMPLE
        .split_once('\n')
        .filter(|(first, _)| first.starts_with("# yaml-language-server:"))
        .map_or(INIT_EXAMPLE, |(_, rest)| rest);
    format!("{INIT_MODELINE}{body}")
}

/// A topology file read into memory.
pub struct SourceFile {
    /// The path as the user wrote it, for messages.
    pub name: String,
    pub text: String,
    /// sha256 of the file's bytes, as every artifact records it.
    pub sha256: String,
}

/// Reads a topology file: UTF-8 text, not a directory, not absurdly large.
pub fn read_source(path: &Path) -> Result<SourceFile, Error> {
    let fail = |message: String| Error::Read {
        path: path.to_owned(),
        message,
    };
    if path.is_dir() {
        return Err(fail(
            "it is a directory; give the path of a topology file".into(),
        ));
    }
    let bytes = std::fs::read(path).map_err(|error| fail(io_message(&error)))?;
    source_from_bytes(&path.display().to_string(), bytes)
}

/// The name diagnostics give standard input.
pub const STDIN_NAME: &str = "<stdin>";

/// Reads a topology from standard input, named [`STDIN_NAME`] in messages.
pub fn read_stdin() -> Result<SourceFile, Error> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|error| Error::Read {
            path: PathBuf::from(STDIN_NAME),
            message: io_message(&error),
        })?;
    source_from_bytes(STDIN_NAME, bytes)
}

/// A topology from bytes already read; `name` is what messages call it.
pub fn source_from_bytes(name: &str, bytes: Vec<u8>) -> Result<SourceFile, Error> {
    let sha256 = crate::artifact::sha256_hex(&bytes);
    let text = String::from_utf8(bytes).map_err(|error| Error::Read {
        path: PathBuf::from(name),
        message: format!(
            "it is not UTF-8 text (invalid byte at offset {}); save the file as UTF-8",
            error.utf8_error().valid_up_to()
        ),
    })?;
    // A BOM is what Notepad writes; it carries no meaning in YAML.
    let text = text
        .strip_prefix('\u{feff}')
        .map(str::to_owned)
        .unwrap_or(text);
    Ok(SourceFile {
        name: name.to_owned(),
        text,
        sha256,
    })
}

fn io_message(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "no such file; check the path".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => error.to_string(),
    }
}

fn validate(
    files: &[PathBuf],
    format: Format,
    color: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, Error> {
    let mut outcome = Outcome::Success;
    let mut read_failure = false;
    let mut json = Vec::new();
    for path in files {
        let source = match read_source(path) {
            Ok(source) => source,
            Err(error) => {
                // Keep going: every file given is reported, then the I/O code wins.
                writeln!(err, "error: {error}")?;
                // In JSON too, so that `[]` always means "no findings".
                if format == Format::Json {
                    json.push(unreadable_finding(path, &error));
                }
                read_failure = true;
                continue;
            }
        };
        let checked: Checked = check::check(&source.text);
        if checked.has_errors() {
            outcome = Outcome::Invalid;
        }
        let report = Report {
            file: &source.name,
            source: &source.text,
            map: &checked.map,
            diagnostics: &checked.diagnostics,
        };
        match format {
            Format::Json => json.extend(
                report
                    .to_json()
                    .into_iter()
                    .map(|d| serde_json::to_value(d).unwrap_or_default()),
            ),
            Format::Human => {
                report.write_human(err, color)?;
                let (errors, warnings) = diag::summary(&checked.diagnostics);
                if errors > 0 {
                    write_invalid(err, &source.name, &checked)?;
                } else {
                    writeln!(
                        out,
                        "{}: valid ({})",
                        source.name,
                        plural(warnings, "warning")
                    )?;
                }
            }
        }
    }
    if format == Format::Json {
        serde_json::to_writer_pretty(&mut *out, &json).map_err(io::Error::from)?;
        writeln!(out)?;
    }
    Ok(if read_failure {
        Outcome::Unreadable
    } else {
        outcome
    })
}

/// A file that could not be read, as a JSON finding: code `unreadable`, no
/// line or column.
fn unreadable_finding(path: &Path, error: &Error) -> serde_json::Value {
    let message = match error {
        Error::Read { message, .. } => message.clone(),
        other => other.to_string(),
    };
    serde_json::json!({
        "code": "unreadable",
        "severity": "error",
        "message": format!("cannot read the file: {message}"),
        "file": path.display().to_string(),
        "line": null,
        "column": null,
        "pointer": "",
        "help": "check the path and that the file is UTF-8 text",
    })
}

/// The closing line of a file with errors.
fn write_invalid(err: &mut dyn Write, name: &str, checked: &Checked) -> io::Result<()> {
    let (errors, warnings) = diag::summary(&checked.diagnostics);
    writeln!(
        err,
        "{name}: invalid: {}, {}",
        plural(errors, "error"),
        plural(warnings, "warning")
    )
}

/// Reads and checks a topology for the commands that need a valid one:
/// findings are printed (errors and warnings), and `None` means invalid.
fn load_checked(
    path: &Path,
    color: bool,
    err: &mut dyn Write,
) -> Result<(SourceFile, Option<Checked>), Error> {
    check_source(read_source(path)?, color, err)
}

/// Checks a topology read into memory and prints its findings, as
/// [`load_checked`] does.
fn check_source(
    source: SourceFile,
    color: bool,
    err: &mut dyn Write,
) -> Result<(SourceFile, Option<Checked>), Error> {
    let checked = check::check(&source.text);
    report_checked(source, checked, color, err)
}

/// Prints what checking found, as [`check_source`] does.
fn report_checked(
    source: SourceFile,
    checked: Checked,
    color: bool,
    err: &mut dyn Write,
) -> Result<(SourceFile, Option<Checked>), Error> {
    let report = Report {
        file: &source.name,
        source: &source.text,
        map: &checked.map,
        diagnostics: &checked.diagnostics,
    };
    report.write_human(err, color)?;
    if checked.has_errors() {
        write_invalid(err, &source.name, &checked)?;
        return Ok((source, None));
    }
    Ok((source, Some(checked)))
}

/// Where and how `build` writes.
struct BuildOptions<'a> {
    output: &'a Path,
    force: bool,
    templates: Option<&'a Path>,
    /// Clusters to write the window for; empty for the whole estate.
    clusters: &'a [String],
}

fn build(
    file: &Path,
    options: &BuildOptions<'_>,
    color: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, Error> {
    // The templates compile on another thread while the topology is read
    // and checked: neither needs the other, and each takes a good part of
    // a small estate's build. Errors keep their order: the topology's first.
    let (loaded, registry) = std::thread::scope(|scope| {
        let registry = scope.spawn(|| Registry::new(options.templates));
        let loaded = load_checked(file, color, err);
        let registry = registry
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (loaded, registry)
    });
    let (source, checked) = loaded?;
    let Some(checked) = checked else {
        return Ok(Outcome::Invalid);
    };
    let part =
        match checked.validated() {
            Some(validated) if !options.clusters.is_empty() => {
                let topology = validated.topology;
                let part = topology.only_clusters(options.clusters).map_err(|unknown| {
                let names: Vec<&str> = topology.clusters.iter().map(|c| c.name.as_str()).collect();
                Error::Usage(format!(
                    "--cluster {unknown}: {} has no cluster of that name; its clusters are {}",
                    source.name,
                    names.join(", ")
                ))
            })?;
                Some(part)
            }
            _ => None,
        };
    let registry = registry?;
    // Each file is written as soon as it is rendered, so memory holds the
    // plan, not the whole tree.
    let generated = write::write_tree_with(options.output, options.force, |sink| {
        crate::generate_part_into(&source, &checked, &registry, part.as_ref(), sink)
            .map_err(Error::from)
    })?;
    writeln!(
        out,
        "{}: wrote {} files for {} steps to {}",
        source.name,
        generated.files,
        generated.plan.steps.len(),
        options.output.display()
    )?;
    Ok(Outcome::Success)
}

fn change(
    (old, new): (&Path, &Path),
    output: &Path,
    force: bool,
    templates: Option<&Path>,
    color: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, Error> {
    let (old_source, old_checked) = load_checked(old, color, err)?;
    let (new_source, new_checked) = load_checked(new, color, err)?;
    let (Some(old_checked), Some(new_checked)) = (old_checked, new_checked) else {
        return Ok(Outcome::Invalid);
    };
    let (Some(old_valid), Some(new_valid)) = (old_checked.validated(), new_checked.validated())
    else {
        return Ok(Outcome::Invalid);
    };
    let registry = Registry::new(templates)?;
    let generated = crate::generate_change(
        (&old_source, old_valid),
        (&new_source, new_valid),
        &registry,
    )?;
    let set = &generated.set;
    if set.is_empty() {
        writeln!(
            out,
            "no change: {} and {} describe the same estate; nothing written",
            old_source.name, new_source.name
        )?;
        return Ok(Outcome::Success);
    }
    writeln!(
        out,
        "changes from {} to {}:",
        old_source.name, new_source.name
    )?;
    for line in set.summary() {
        writeln!(out, "  {line}")?;
    }
    if !set.refusals.is_empty() {
        let diagnostics: Vec<diag::Diagnostic> = set
            .refusals
            .iter()
            .map(crate::change::Refusal::diagnostic)
            .collect();
        let report = Report {
            file: &new_source.name,
            source: &new_source.text,
            map: &new_checked.map,
            diagnostics: &diagnostics,
        };
        report.write_human(err, color)?;
        writeln!(
            err,
            "{}: {} that runsheet cannot make safely; nothing written",
            new_source.name,
            plural(diagnostics.len(), "change")
        )?;
        return Ok(Outcome::Invalid);
    }
    write::write_tree(output, &generated.artifacts, force)?;
    writeln!(
        out,
        "wrote {} files for {} steps to {}",
        generated.artifacts.len(),
        generated.plan.steps.len(),
        output.display()
    )?;
    Ok(Outcome::Success)
}

fn plan(
    file: &Path,
    format: PlanFormat,
    clusters: &[String],
    color: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, Error> {
    let (source, checked) = load_checked(file, color, err)?;
    let Some(validated) = checked.as_ref().and_then(Checked::validated) else {
        return Ok(Outcome::Invalid);
    };
    let mut plan = crate::plan::plan(validated);
    let part = if clusters.is_empty() {
        None
    } else {
        let topology = validated.topology;
        Some(topology.only_clusters(clusters).map_err(|unknown| {
            let names: Vec<&str> = topology.clusters.iter().map(|c| c.name.as_str()).collect();
            Error::Usage(format!(
                "--cluster {unknown}: {} has no cluster of that name; its clusters are {}",
                source.name,
                names.join(", ")
            ))
        })?)
    };
    let topology = match &part {
        Some(part) => {
            plan = crate::plan::only(plan, part);
            part
        }
        None => validated.topology,
    };
    crate::prove::annotate_build(topology, &mut plan)
        .map_err(|unproven| TemplateError::Unproven(unproven.to_string()))?;
    write_plan(&plan, format, out)?;
    Ok(Outcome::Success)
}

/// The steps of a plan: one aligned line each, with what the platform model
/// says each changes and what is offline during it; or the steps as JSON.
fn write_plan(plan: &crate::plan::Plan, format: PlanFormat, out: &mut dyn Write) -> io::Result<()> {
    match format {
        PlanFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &plan.steps).map_err(io::Error::from)?;
            writeln!(out)?;
        }
        PlanFormat::Table => {
            let host_width = plan
                .steps
                .iter()
                .map(|s| s.host.len())
                .max()
                .unwrap_or(4)
                .max(4);
            writeln!(
                out,
                "{:<4} {:<host_width$} {:<6} {:<5} TITLE",
                "STEP", "HOST", "KIND", "PHASE"
            )?;
            for step in &plan.steps {
                let kind = step.kind.as_str();
                let cluster = step
                    .cluster_name
                    .as_deref()
                    .map(|c| format!(" [{c}]"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{:<4} {:<host_width$} {kind:<6} {:<5} {}{cluster}",
                    step.label(),
                    step.host,
                    step.phase,
                    step.full_title()
                )?;
                // What the step changes, in the platform model's words.
                for effect in &step.effects {
                    writeln!(
                        out,
                        "{:<4} {:<host_width$} {:<6} {:<5}   - {effect}",
                        "", "", "", ""
                    )?;
                }
                if !step.offline.is_empty() {
                    writeln!(
                        out,
                        "{:<4} {:<host_width$} {:<6} {:<5}   ! outage: {} offline",
                        "",
                        "",
                        "",
                        "",
                        step.offline.join(", ")
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// `change` without -o: the change set and the window's steps, printed;
/// nothing written.
fn change_preview(
    (old, new): (&Path, &Path),
    format: PlanFormat,
    color: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, Error> {
    let (old_source, old_checked) = load_checked(old, color, err)?;
    let (new_source, new_checked) = load_checked(new, color, err)?;
    let (Some(old_checked), Some(new_checked)) = (old_checked, new_checked) else {
        return Ok(Outcome::Invalid);
    };
    let (Some(old_valid), Some(new_valid)) = (old_checked.validated(), new_checked.validated())
    else {
        return Ok(Outcome::Invalid);
    };
    let set = crate::change::change_set(old_valid.topology, new_valid.topology);
    let mut change_plan = crate::change::plan(new_valid.topology, &set);
    let refused = !set.refusals.is_empty();
    if !refused && !set.is_empty() {
        crate::prove::annotate_change(
            old_valid.topology,
            new_valid.topology,
            &set,
            &mut change_plan,
        )
        .map_err(|unproven| TemplateError::Unproven(unproven.to_string()))?;
    } else {
        change_plan.plan.steps.clear();
    }
    match format {
        PlanFormat::Json => {
            let document = serde_json::json!({
                "old": old_source.name,
                "new": new_source.name,
                "changes": set.to_json(),
                "steps": change_plan.plan.steps,
            });
            serde_json::to_writer_pretty(&mut *out, &document).map_err(io::Error::from)?;
            writeln!(out)?;
        }
        PlanFormat::Table => {
            if set.is_empty() {
                writeln!(
                    out,
                    "no change: {} and {} describe the same estate",
                    old_source.name, new_source.name
                )?;
            } else {
                writeln!(
                    out,
                    "changes from {} to {}:",
                    old_source.name, new_source.name
                )?;
                for line in set.summary() {
                    writeln!(out, "  {line}")?;
                }
                if !refused {
                    writeln!(out)?;
                    write_plan(&change_plan.plan, format, out)?;
                }
            }
        }
    }
    if refused {
        let diagnostics: Vec<diag::Diagnostic> = set
            .refusals
            .iter()
            .map(crate::change::Refusal::diagnostic)
            .collect();
        let report = Report {
            file: &new_source.name,
            source: &new_source.text,
            map: &new_checked.map,
            diagnostics: &diagnostics,
        };
        report.write_human(err, color)?;
        writeln!(
            err,
            "{}: {} that runsheet cannot make safely",
            new_source.name,
            plural(diagnostics.len(), "change")
        )?;
        return Ok(Outcome::Invalid);
    }
    Ok(Outcome::Success)
}

/// What `runsheet diff` was asked.
struct DiffRequest<'a> {
    old: &'a Path,
    new: &'a Path,
    options: crate::diff::Options,
    stat: bool,
    format: DiffFormat,
    templates: Option<&'a Path>,
}

/// `-` names standard input.
fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn diff(
    request: &DiffRequest<'_>,
    color: bool,
    color_out: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Outcome, Error> {
    if is_stdin(request.old) && is_stdin(request.new) {
        return Err(Error::Usage(
            "OLD and NEW cannot both be standard input (-); give one of them as a file".into(),
        ));
    }
    // Both sides are read and checked before giving up, so one run reports
    // every problem of both files.
    let read = |path: &Path| {
        if is_stdin(path) {
            read_stdin()
        } else {
            read_source(path)
        }
    };
    let (old_source, new_source) = (read(request.old), read(request.new));
    // The two files are checked on both cores, and reported in order.
    let check = |source: &Result<SourceFile, Error>| {
        source
            .as_ref()
            .ok()
            .map(|source| check::check(&source.text))
    };
    let (old_checked, new_checked) = rayon::join(|| check(&old_source), || check(&new_source));
    let mut report = |source: Result<SourceFile, Error>,
                      checked: Option<Checked>|
     -> Result<Option<(SourceFile, Checked)>, Error> {
        let reported = source.and_then(|source| match checked {
            Some(checked) => report_checked(source, checked, color, err),
            None => Ok((source, None)),
        });
        match reported {
            Ok((source, Some(checked))) => Ok(Some((source, checked))),
            Ok((_, None)) => Ok(None),
            Err(error @ Error::Read { .. }) => {
                writeln!(err, "error: {error}")?;
                Ok(None)
            }
            Err(error) => Err(error),
        }
    };
    let old = report(old_source, old_checked)?;
    let new = report(new_source, new_checked)?;
    let (Some((mut old, old_checked)), Some((mut new, new_checked))) = (old, new) else {
        return Ok(Outcome::Invalid);
    };
    let registry = Registry::new(request.templates)?;
    let old_side = crate::diff::Side {
        file: old.name.clone(),
        sha256: old.sha256.clone(),
    };
    let new_side = crate::diff::Side {
        file: new.name.clone(),
        sha256: new.sha256.clone(),
    };
    // The runbook names the topology file (in warnings); both sides get the
    // same name, so the diff does not depend on where either file lives.
    let shared_name = if is_stdin(request.new) {
        old.name.clone()
    } else {
        new.name.clone()
    };
    old.name = shared_name.clone();
    new.name = shared_name;
    // OLD renders first, each step recorded; NEW reuses every step made
    // from the same context, so a small change is not rendered twice.
    // Identical topologies render once (template errors still surface).
    let (old_generated, new_generated) = if old.sha256 == new.sha256 {
        (None, crate::generate(&new, &new_checked, &registry))
    } else {
        // A template of the user's could use the topology's hash other than
        // as provenance, which reuse relies on: then both render in full.
        let reuse = request.templates.is_none();
        let (old_generated, new_generated) =
            crate::generate_pair((&old, &old_checked), (&new, &new_checked), &registry, reuse);
        (Some(old_generated), new_generated)
    };
    let new_artifacts = new_generated?.artifacts;
    let old_artifacts = old_generated.transpose()?.map(|g| g.artifacts);
    let mut model = crate::diff::compare(
        old_side,
        old_artifacts.as_ref().unwrap_or(&new_artifacts),
        new_side,
        &new_artifacts,
        request.options,
    );
    if let (Some(before), Some(after)) = (old_checked.validated(), new_checked.validated()) {
        model.changes = crate::change::change_set(before.topology, after.topology);
    }
    let outcome = if model.differs() {
        Outcome::Differs
    } else {
        Outcome::Success
    };
    let written = match (request.format, request.stat) {
        (DiffFormat::Json, stat) => crate::diff::write_json(&model, stat, out),
        (DiffFormat::Text, true) => crate::diff::write_stat(&model, color_out, out),
        (DiffFormat::Text, false) => crate::diff::write_text(&model, color_out, out),
    }
    .and_then(|()| out.flush());
    match written {
        // A closed pipe (`runsheet diff … | head`) keeps the code already earned.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(outcome),
        Err(error) => Err(error.into()),
        Ok(()) => Ok(outcome),
    }
}

fn write_templates(output: &Path, force: bool, out: &mut dyn Write) -> Result<Outcome, Error> {
    let files: Vec<(&str, &[u8])> = TEMPLATES
        .iter()
        .map(|(name, _, text)| (*name, text.as_bytes()))
        .collect();
    write::write_new_files(output, &files, force)?;
    writeln!(
        out,
        "wrote {} templates to {}; edit any of them and pass --templates {}",
        files.len(),
        output.display(),
        output.display()
    )?;
    Ok(Outcome::Success)
}
