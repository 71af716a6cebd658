//! Plan → artifacts: per-host scripts, the Markdown runbook and `plan.json`.
//!
//! Pure: templates come from the [`registry::Registry`] built once per run,
//! files go into an [`ArtifactSet`] in memory. Line endings, byte-order mark
//! and the ASCII rule of `.cmd` files are applied here, once, for every script.

pub mod change;
pub mod context;
pub mod escape;
pub mod html;
pub mod registry;

use handlebars::Context;
use serde_json::Value;

use crate::artifact::{ArtifactSet, Manifest, Sink};
use crate::check::Validated;
use crate::plan::{Kind, Plan, Step, window};
use context::{Lookup, Provenance};
use registry::{Registry, TemplateError};

/// Everything `build` writes, in memory.
pub fn render(
    validated: Validated<'_>,
    plan: &Plan,
    provenance: &Provenance,
    registry: &Registry,
    warnings: Vec<Value>,
) -> Result<ArtifactSet, TemplateError> {
    let mut artifacts = ArtifactSet::default();
    render_into(
        validated,
        plan,
        provenance,
        registry,
        warnings,
        &mut artifacts,
    )?;
    Ok(artifacts)
}

/// Everything `build` writes, handed to `sink` file by file as each is
/// rendered: a step's context is built once, shared by its script and its
/// runbook entry, and dropped before the next step's. Returns the number of
/// files. A template error stops rendering; the first one in the order the
/// files are listed wins (scripts, then the runbook).
pub fn render_into(
    validated: Validated<'_>,
    plan: &Plan,
    provenance: &Provenance,
    registry: &Registry,
    warnings: Vec<Value>,
    sink: &mut dyn Sink,
) -> Result<usize, TemplateError> {
    let topology = validated.topology;
    let lookup = Lookup::new(topology, plan);
    let mut manifest = Manifest::new(sink);
    let mut runbook = RunbookBuilder::new(validated, plan, provenance, registry, warnings);
    for step in &plan.steps {
        let step_context = Context::from(context::step_context(&lookup, step, provenance));
        put_scripts(&mut manifest, registry, step, &step_context)?;
        runbook.add_step(step, &step_context);
    }
    let parts = runbook.finish()?;
    manifest.put("runbook.md", parts.markdown().into_bytes());
    let page = html::page(topology, plan, provenance, registry, &parts, Value::Null)?;
    drop(parts);
    manifest.put("runbook.html", page.into_bytes());
    Ok(manifest.finish(&topology.name, plan, provenance))
}

/// A step's files: its script, with CRLF line endings and a BOM for
/// PowerShell, and for a PowerShell step the `.cmd` launcher beside it; none
/// for a manual step.
pub(crate) fn put_scripts(
    manifest: &mut Manifest<'_>,
    registry: &Registry,
    step: &Step,
    step_context: &Context,
) -> Result<(), TemplateError> {
    let (Some(path), Some(extension)) = (&step.file, step.kind.extension()) else {
        return Ok(());
    };
    let name = format!("{extension}/{}.{extension}.hbs", step.def_id);
    let mut text = Vec::new();
    registry.render_into(&name, step_context, &mut text)?;
    let bytes = match step.kind {
        Kind::Cmd => cmd_bytes(&name, &text)?,
        // Windows PowerShell reads a file without BOM in the ANSI code page.
        _ => crlf(&text, b"\xEF\xBB\xBF"),
    };
    manifest.put(path.clone(), bytes);
    if let Some(launcher) = &step.launcher {
        text.clear();
        registry.render_into(LAUNCHER_TEMPLATE, step_context, &mut text)?;
        manifest.put(launcher.clone(), cmd_bytes(LAUNCHER_TEMPLATE, &text)?);
    }
    Ok(())
}

/// Collects the runbook's pieces step by step. A template error is kept
/// rather than returned at once, so that script errors, which come first in
/// the output, are reported first, as when every script was rendered before
/// the runbook.
pub(crate) struct RunbookBuilder<'r> {
    registry: &'r Registry,
    parts: Result<RunbookParts, TemplateError>,
    /// Gates and the point of no return not yet placed, by step id.
    notices: Vec<(String, Notice)>,
}

impl<'r> RunbookBuilder<'r> {
    fn new(
        validated: Validated<'_>,
        plan: &Plan,
        provenance: &Provenance,
        registry: &'r Registry,
        warnings: Vec<Value>,
    ) -> RunbookBuilder<'r> {
        let head_context = context::runbook_context(validated.topology, plan, provenance, warnings);
        let parts = registry
            .render("runbook/runbook.md.hbs", &head_context)
            .and_then(|head| {
                Ok(RunbookParts {
                    head,
                    phases: Vec::new(),
                    handover: registry.render("runbook/handover.md.hbs", &head_context)?,
                })
            });
        RunbookBuilder::with_parts(plan, registry, parts)
    }

    /// A runbook around a head and a closing section rendered by the caller
    /// (`change`: its back-out section).
    pub(crate) fn with_head(
        plan: &Plan,
        registry: &'r Registry,
        head: Result<String, TemplateError>,
        closing: String,
    ) -> RunbookBuilder<'r> {
        let parts = head.map(|head| RunbookParts {
            head,
            phases: Vec::new(),
            handover: closing,
        });
        RunbookBuilder::with_parts(plan, registry, parts)
    }

    fn with_parts(
        plan: &Plan,
        registry: &'r Registry,
        parts: Result<RunbookParts, TemplateError>,
    ) -> RunbookBuilder<'r> {
        let (parts, notices) = match notices(plan, registry) {
            Ok(notices) => (parts, notices),
            Err(error) => (Err(error), Vec::new()),
        };
        RunbookBuilder {
            registry,
            parts,
            notices,
        }
    }

    pub(crate) fn add_step(&mut self, step: &Step, step_context: &Context) {
        let Ok(parts) = &mut self.parts else {
            return;
        };
        let notices = take_notices(&mut self.notices, &step.id);
        if let Err(error) = add_step_part(parts, self.registry, step, step_context, notices) {
            self.parts = Err(error);
        }
    }

    pub(crate) fn finish(self) -> Result<RunbookParts, TemplateError> {
        self.parts
    }
}

/// Renders one step's runbook entry, under a new phase heading when the
/// phase changes.
fn add_step_part(
    parts: &mut RunbookParts,
    registry: &Registry,
    step: &Step,
    step_context: &Context,
    notices: Vec<Notice>,
) -> Result<(), TemplateError> {
    if parts
        .phases
        .last()
        .is_none_or(|phase| phase.number != step.phase)
    {
        let phase =
            serde_json::json!({ "number": step.phase.to_string(), "title": step.phase_title });
        parts.phases.push(PhasePart {
            number: step.phase,
            title: step.phase_title,
            heading: registry.render("runbook/phase.md.hbs", &phase)?,
            steps: Vec::new(),
        });
    }
    let mut markdown = Vec::new();
    registry.render_into("runbook/step-head.md.hbs", step_context, &mut markdown)?;
    if step.kind == Kind::Manual {
        let name = format!("manual/{}.md.hbs", step.def_id);
        registry.render_into(&name, step_context, &mut markdown)?;
    }
    registry.render_into("runbook/step-tail.md.hbs", step_context, &mut markdown)?;
    let mut markdown = String::from_utf8(markdown).map_err(|error| TemplateError::Render {
        name: "runbook/step-tail.md.hbs".into(),
        message: error.to_string(),
    })?;
    markdown.shrink_to_fit();
    if let Some(phase) = parts.phases.last_mut() {
        phase.steps.push(StepPart {
            number: step.label(),
            title: step.title,
            heading: context::step_heading(step),
            notices,
            host: step.host.clone(),
            manual: step.kind == Kind::Manual,
            markdown,
        });
    }
    Ok(())
}

/// The runbook's Markdown, in the pieces both runbooks are made of.
pub struct RunbookParts {
    /// Title, estate tables, warnings, checklist, how to run a step.
    pub head: String,
    pub phases: Vec<PhasePart>,
    /// Final checks, results and sign-off: the last page.
    pub handover: String,
}

/// One phase: its heading and its steps.
pub struct PhasePart {
    pub number: u8,
    pub title: &'static str,
    pub heading: String,
    pub steps: Vec<StepPart>,
}

/// One step's Markdown, with what the HTML runbook puts around it.
pub struct StepPart {
    pub number: String,
    pub title: &'static str,
    /// The step's heading, word for word; the contents repeat it.
    pub heading: String,
    pub host: String,
    pub manual: bool,
    /// Go/no-go gates and the point of no return, printed before the step.
    pub notices: Vec<Notice>,
    pub markdown: String,
}

/// A stop before a step: a go/no-go gate, or the point of no return.
pub struct Notice {
    /// Its heading, as the contents list it.
    pub heading: String,
    pub gate: bool,
    pub markdown: String,
}

/// The gates and the point of no return of a plan, each with the id of the
/// step it stands before, in plan order.
pub fn notices(plan: &Plan, registry: &Registry) -> Result<Vec<(String, Notice)>, TemplateError> {
    let mut notices = Vec::new();
    for (gate, step) in window::gates(plan) {
        let markdown = registry.render(
            "runbook/gate.md.hbs",
            &serde_json::json!({ "title": gate.title, "why": gate.why, "next": step.label() }),
        )?;
        let notice = Notice {
            heading: format!("Go/no-go: {}", gate.title),
            gate: true,
            markdown,
        };
        notices.push((step.id.clone(), notice));
    }
    if let Some((no_return, step)) = window::no_return(plan) {
        let markdown = registry.render(
            "runbook/no-return.md.hbs",
            &serde_json::json!({ "why": no_return.why, "next": step.label() }),
        )?;
        let notice = Notice {
            heading: format!("Point of no return: step {}", step.label()),
            gate: false,
            markdown,
        };
        notices.push((step.id.clone(), notice));
    }
    Ok(notices)
}

/// The notices that stand before the step with that id, taken out of `notices`.
fn take_notices(notices: &mut Vec<(String, Notice)>, step_id: &str) -> Vec<Notice> {
    let (mine, rest): (Vec<_>, Vec<_>) = std::mem::take(notices)
        .into_iter()
        .partition(|(id, _)| id == step_id);
    *notices = rest;
    mine.into_iter().map(|(_, notice)| notice).collect()
}

impl RunbookParts {
    /// Bytes of Markdown in the pieces, to size what is made of them.
    pub fn markdown_len(&self) -> usize {
        self.head.len()
            + self
                .phases
                .iter()
                .flat_map(|phase| {
                    std::iter::once(phase.heading.len())
                        .chain(phase.steps.iter().map(|s| s.markdown.len()))
                })
                .sum::<usize>()
    }

    /// The Markdown runbook: the pieces in order, tidied.
    pub fn markdown(&self) -> String {
        let mut text = String::with_capacity(self.markdown_len());
        text.push_str(&self.head);
        for phase in &self.phases {
            text.push_str(&phase.heading);
            for step in &phase.steps {
                for notice in &step.notices {
                    text.push_str(&notice.markdown);
                }
                text.push_str(&step.markdown);
            }
        }
        text.push_str(&self.handover);
        tidy_markdown(&text)
    }
}

/// The template of the `.cmd` that runs a PowerShell step's script.
pub const LAUNCHER_TEMPLATE: &str = "cmd/ps1-launcher.cmd.hbs";

/// A `.cmd` file's bytes: ASCII only, CRLF.
fn cmd_bytes(name: &str, text: &[u8]) -> Result<Vec<u8>, TemplateError> {
    if let Some(c) = String::from_utf8_lossy(text)
        .chars()
        .find(|c| !c.is_ascii())
    {
        return Err(TemplateError::Render {
            name: name.to_owned(),
            message: format!("{c:?} is not ASCII; .cmd files must be"),
        });
    }
    Ok(crlf(text, b""))
}

/// LF → CRLF, for files Windows tools read (CRLF stays CRLF), after `prefix`.
fn crlf(text: &[u8], prefix: &[u8]) -> Vec<u8> {
    let lines = text.iter().filter(|&&b| b == b'\n').count();
    let mut out = Vec::with_capacity(prefix.len() + text.len() + lines);
    out.extend_from_slice(prefix);
    let mut rest = text;
    while let Some(at) = rest.iter().position(|&b| b == b'\n') {
        let line = &rest[..at];
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        out.extend_from_slice(b"\r\n");
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
    out
}

/// One blank line at most between blocks, no trailing spaces, one final newline.
pub(crate) fn tidy_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
