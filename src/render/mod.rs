//! Plan → artifacts: per-host scripts, the Markdown runbook and `plan.json`.
//!
//! Pure: templates come from the [`registry::Registry`] built once per run,
//! files go into an [`ArtifactSet`] in memory. Line endings, byte-order mark
//! and the ASCII rule of `.cmd` files are applied here, once, for every script.

pub mod context;
pub mod escape;
pub mod html;
pub mod registry;

use serde_json::Value;

use crate::artifact::ArtifactSet;
use crate::check::Validated;
use crate::plan::{Kind, Plan, window};
use context::Provenance;
use registry::{Registry, TemplateError};

/// Everything `build` writes, in memory.
pub fn render(
    validated: Validated<'_>,
    plan: &Plan,
    provenance: &Provenance,
    registry: &Registry,
    warnings: Vec<Value>,
) -> Result<ArtifactSet, TemplateError> {
    let topology = validated.topology;
    // One context per step, shared by its script and its runbook entry.
    let contexts: Vec<Value> = plan
        .steps
        .iter()
        .map(|step| context::step_context(topology, plan, step, provenance))
        .collect();
    let mut artifacts = ArtifactSet::default();
    for (step, step_context) in plan.steps.iter().zip(&contexts) {
        let (Some(path), Some(extension)) = (&step.file, step.kind.extension()) else {
            continue;
        };
        let name = format!("{extension}/{}.{extension}.hbs", step.def_id);
        let text = registry.render(&name, step_context)?;
        let bytes = match step.kind {
            Kind::Cmd => cmd_bytes(&name, &text)?,
            // Windows PowerShell reads a file without BOM in the ANSI code page.
            _ => [b"\xEF\xBB\xBF".as_slice(), crlf(&text).as_bytes()].concat(),
        };
        artifacts.insert(path.clone(), bytes);
        if let Some(launcher) = &step.launcher {
            let text = registry.render(LAUNCHER_TEMPLATE, step_context)?;
            artifacts.insert(launcher.clone(), cmd_bytes(LAUNCHER_TEMPLATE, &text)?);
        }
    }
    let parts = runbook_parts(validated, plan, &contexts, provenance, registry, warnings)?;
    artifacts.insert("runbook.md", parts.markdown().into_bytes());
    let page = html::page(topology, plan, provenance, registry, &parts)?;
    artifacts.insert("runbook.html", page.into_bytes());
    artifacts.add_plan(&topology.name, plan, provenance);
    Ok(artifacts)
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

/// Renders the runbook pieces from the templates; `contexts` are the steps'
/// contexts, in plan order.
pub fn runbook_parts(
    validated: Validated<'_>,
    plan: &Plan,
    contexts: &[Value],
    provenance: &Provenance,
    registry: &Registry,
    warnings: Vec<Value>,
) -> Result<RunbookParts, TemplateError> {
    let head_context = context::runbook_context(validated.topology, plan, provenance, warnings);
    let head = registry.render("runbook/runbook.md.hbs", &head_context)?;
    let mut phases: Vec<PhasePart> = Vec::new();
    let mut notices = notices(plan, registry)?;
    for (step, step_context) in plan.steps.iter().zip(contexts) {
        if phases.last().is_none_or(|phase| phase.number != step.phase) {
            let phase =
                serde_json::json!({ "number": step.phase.to_string(), "title": step.phase_title });
            phases.push(PhasePart {
                number: step.phase,
                title: step.phase_title,
                heading: registry.render("runbook/phase.md.hbs", &phase)?,
                steps: Vec::new(),
            });
        }
        let mut markdown = registry.render("runbook/step-head.md.hbs", step_context)?;
        if step.kind == Kind::Manual {
            markdown.push_str(
                &registry.render(&format!("manual/{}.md.hbs", step.def_id), step_context)?,
            );
        }
        markdown.push_str(&registry.render("runbook/step-tail.md.hbs", step_context)?);
        if let Some(phase) = phases.last_mut() {
            phase.steps.push(StepPart {
                number: step.label(),
                title: step.title,
                heading: context::step_heading(step),
                notices: take_notices(&mut notices, &step.id),
                host: step.host.clone(),
                manual: step.kind == Kind::Manual,
                markdown,
            });
        }
    }
    let handover = registry.render("runbook/handover.md.hbs", &head_context)?;
    Ok(RunbookParts {
        head,
        phases,
        handover,
    })
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
    /// The Markdown runbook: the pieces in order, tidied.
    pub fn markdown(&self) -> String {
        let mut text = self.head.clone();
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
fn cmd_bytes(name: &str, text: &str) -> Result<Vec<u8>, TemplateError> {
    if let Some(c) = text.chars().find(|c| !c.is_ascii()) {
        return Err(TemplateError::Render {
            name: name.to_owned(),
            message: format!("{c:?} is not ASCII; .cmd files must be"),
        });
    }
    Ok(crlf(text).into_bytes())
}

/// LF → CRLF, for files Windows tools read.
fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
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
