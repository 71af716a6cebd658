//! Plan → artifacts: per-host scripts, the Markdown runbook and `plan.json`.
//!
//! Pure: templates come from the [`registry::Registry`] built once per run,
//! files go into an [`ArtifactSet`] in memory. Line endings, byte-order mark
//! and the ASCII rule of `.cmd` files are applied here, once, for every script.

pub mod context;
pub mod escape;
pub mod registry;

use serde_json::Value;

use crate::artifact::ArtifactSet;
use crate::check::Validated;
use crate::plan::{Kind, Plan};
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
    let mut artifacts = ArtifactSet::default();
    for step in &plan.steps {
        let (Some(path), Some(extension)) = (&step.file, step.kind.extension()) else {
            continue;
        };
        let name = format!("{extension}/{}.{extension}.hbs", step.def_id);
        let text = registry.render(
            &name,
            &context::step_context(topology, plan, step, provenance),
        )?;
        let bytes = match step.kind {
            Kind::Cmd => {
                if let Some(c) = text.chars().find(|c| !c.is_ascii()) {
                    return Err(TemplateError::Render {
                        name,
                        message: format!("{c:?} is not ASCII; .cmd files must be"),
                    });
                }
                crlf(&text).into_bytes()
            }
            // Windows PowerShell reads a file without BOM in the ANSI code page.
            _ => [b"\xEF\xBB\xBF".as_slice(), crlf(&text).as_bytes()].concat(),
        };
        artifacts.insert(path.clone(), bytes);
    }
    let runbook = runbook(validated, plan, provenance, registry, warnings)?;
    artifacts.insert("runbook.md", runbook.into_bytes());
    artifacts.add_plan(&topology.name, plan, provenance);
    Ok(artifacts)
}

/// The Markdown runbook: the estate head, then every phase and step.
pub fn runbook(
    validated: Validated<'_>,
    plan: &Plan,
    provenance: &Provenance,
    registry: &Registry,
    warnings: Vec<Value>,
) -> Result<String, TemplateError> {
    let topology = validated.topology;
    let head = context::runbook_context(topology, plan, provenance, warnings);
    let mut text = registry.render("runbook/runbook.md.hbs", &head)?;
    for (number, title, steps) in plan.phases() {
        let phase = serde_json::json!({ "number": number.to_string(), "title": title });
        text.push_str(&registry.render("runbook/phase.md.hbs", &phase)?);
        for step in steps {
            let step_context = context::step_context(topology, plan, step, provenance);
            text.push_str(&registry.render("runbook/step-head.md.hbs", &step_context)?);
            if step.kind == Kind::Manual {
                text.push_str(
                    &registry.render(&format!("manual/{}.md.hbs", step.def_id), &step_context)?,
                );
            }
            text.push_str(&registry.render("runbook/step-tail.md.hbs", &step_context)?);
        }
    }
    Ok(tidy_markdown(&text))
}

/// LF → CRLF, for files Windows tools read.
fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// One blank line at most between blocks, no trailing spaces, one final newline.
fn tidy_markdown(text: &str) -> String {
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
