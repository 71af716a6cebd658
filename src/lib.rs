//! runsheet: change-window scripts and runbooks from one topology file.
//!
//! The pipeline, one module per arrow:
//! load (`model::load`) → schema (`check::schema`) → checks (`check`) →
//! plan → render → write. Everything before `write` is pure; `diff`
//! compares two rendered artifact sets in memory.

pub mod artifact;
pub mod check;
pub mod cli;
pub mod diag;
pub mod diff;
pub mod model;
pub mod plan;
pub mod render;
pub mod write;

use artifact::ArtifactSet;
use check::Checked;
use cli::SourceFile;
use render::context::Provenance;
use render::registry::{Registry, TemplateError};

/// What `build` produces for a valid topology, in memory.
pub struct Generated {
    pub plan: plan::Plan,
    pub artifacts: ArtifactSet,
}

/// Plans and renders a checked topology. `checked` must be free of errors;
/// a topology with errors yields an empty plan and no files.
pub fn generate(
    source: &SourceFile,
    checked: &Checked,
    registry: &Registry,
) -> Result<Generated, TemplateError> {
    generate_part(source, checked, registry, None)
}

/// Like [`generate`], for the part of the estate that `part` keeps
/// (`Topology::only_clusters` of the checked topology): the steps of its
/// clusters, numbered as in the full build.
pub fn generate_part(
    source: &SourceFile,
    checked: &Checked,
    registry: &Registry,
    part: Option<&model::Topology>,
) -> Result<Generated, TemplateError> {
    let Some(validated) = checked.validated() else {
        return Ok(Generated {
            plan: plan::Plan { steps: Vec::new() },
            artifacts: ArtifactSet::default(),
        });
    };
    let full = validated.topology;
    let plan = plan::plan(validated);
    // A part of a valid estate is valid: it only leaves clusters and their hosts out.
    let (validated, plan) = match part {
        Some(part) => (
            check::Validated {
                topology: part,
                warnings: validated.warnings,
            },
            plan::only(plan, part),
        ),
        None => (validated, plan),
    };
    let left_out: Vec<String> = full
        .clusters
        .iter()
        .enumerate()
        .filter(|(_, cluster)| {
            !validated
                .topology
                .clusters
                .iter()
                .any(|c| c.name == cluster.name)
        })
        .map(|(index, _)| format!("/clusters/{index}"))
        .collect();
    let diagnostics: Vec<diag::Diagnostic> = checked
        .diagnostics
        .iter()
        .filter(|d| {
            !left_out
                .iter()
                .any(|p| d.pointer == *p || d.pointer.starts_with(&format!("{p}/")))
        })
        .cloned()
        .collect();
    let provenance = Provenance::new(source.sha256.clone());
    // Warnings name the file without its directory, so output does not depend on where it was run.
    let file_name = std::path::Path::new(&source.name).file_name().map_or_else(
        || source.name.clone(),
        |name| name.to_string_lossy().into_owned(),
    );
    let report = diag::Report {
        file: &file_name,
        source: &source.text,
        map: &checked.map,
        diagnostics: &diagnostics,
    };
    let warnings = report
        .to_json()
        .into_iter()
        .map(|d| {
            serde_json::json!({
                "code": d.code.as_str(),
                "location": format!("{}:{}:{}", d.file, d.line, d.column),
                "message": d.message,
                "help": d.help,
            })
        })
        .collect();
    let artifacts = render::render(validated, &plan, &provenance, registry, warnings)?;
    Ok(Generated { plan, artifacts })
}
