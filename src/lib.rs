//! runsheet: change-window scripts and runbooks from one topology file.
//!
//! The pipeline, one module per arrow:
//! load (`model::load`) → schema (`check::schema`) → checks (`check`) →
//! plan → prove (`prove`, over the platform model in `platform`) → render →
//! write. Everything before `write` is pure; `diff`
//! compares two rendered artifact sets in memory.

pub mod artifact;
pub mod change;
pub mod check;
pub mod cli;
pub mod diag;
pub mod diff;
pub mod model;
pub mod plan;
pub mod platform;
pub mod prove;
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
    generate_reusing(source, checked, registry, &render::Reuse::Nothing)
}

/// What `diff` compares: OLD and NEW rendered with one registry. With
/// `reuse`, OLD renders first, recording each step, and NEW takes every step
/// made from the same context from OLD's rendering instead of rendering it
/// (see [`render::Reuse`]); NEW's artifacts are the same bytes either way.
pub fn generate_pair(
    old: (&SourceFile, &Checked),
    new: (&SourceFile, &Checked),
    registry: &Registry,
    reuse: bool,
) -> (
    Result<Generated, TemplateError>,
    Result<Generated, TemplateError>,
) {
    if !reuse {
        return (
            generate(old.0, old.1, registry),
            generate(new.0, new.1, registry),
        );
    }
    let memo = render::StepMemo::default();
    let old_generated = generate_reusing(old.0, old.1, registry, &render::Reuse::Record(&memo));
    let new_generated = match &old_generated {
        Ok(generated) => generate_reusing(
            new.0,
            new.1,
            registry,
            &render::Reuse::From {
                steps: &memo.into_recorded(),
                files: &generated.artifacts,
            },
        ),
        Err(_) => generate(new.0, new.1, registry),
    };
    (old_generated, new_generated)
}

/// [`generate`], recording what each step rendered or reusing what another
/// rendering with the same registry recorded (see [`render::Reuse`]); the
/// artifacts are the same bytes either way.
pub fn generate_reusing(
    source: &SourceFile,
    checked: &Checked,
    registry: &Registry,
    reuse: &render::Reuse<'_>,
) -> Result<Generated, TemplateError> {
    let artifacts = artifact::InMemory::default();
    let plan = generate_part(source, checked, registry, None, &artifacts, reuse)?.plan;
    Ok(Generated {
        plan,
        artifacts: artifacts.into_set(),
    })
}

/// What [`generate_into`] handed on.
pub struct Streamed {
    pub plan: plan::Plan,
    /// Files handed to the sink, `plan.json` included.
    pub files: usize,
}

/// Plans and renders a checked topology, handing each file to `sink` as soon
/// as it is rendered (see [`render::render_into`]). `checked` must be free
/// of errors; a topology with errors yields an empty plan and no files.
pub fn generate_into(
    source: &SourceFile,
    checked: &Checked,
    registry: &Registry,
    sink: &dyn artifact::Sink,
) -> Result<Streamed, TemplateError> {
    generate_part_into(source, checked, registry, None, sink)
}

/// Like [`generate_into`], for the part of the estate that `part` keeps
/// (`Topology::only_clusters` of the checked topology): the steps of its
/// clusters, numbered as in the full build.
pub fn generate_part_into(
    source: &SourceFile,
    checked: &Checked,
    registry: &Registry,
    part: Option<&model::Topology>,
    sink: &dyn artifact::Sink,
) -> Result<Streamed, TemplateError> {
    generate_part(
        source,
        checked,
        registry,
        part,
        sink,
        &render::Reuse::Nothing,
    )
}

fn generate_part(
    source: &SourceFile,
    checked: &Checked,
    registry: &Registry,
    part: Option<&model::Topology>,
    sink: &dyn artifact::Sink,
    reuse: &render::Reuse<'_>,
) -> Result<Streamed, TemplateError> {
    let Some(validated) = checked.validated() else {
        return Ok(Streamed {
            plan: plan::Plan { steps: Vec::new() },
            files: 0,
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
    let mut plan = plan;
    prove::annotate_build(validated.topology, &mut plan)
        .map_err(|unproven| TemplateError::Unproven(unproven.to_string()))?;
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
    let files = render::render_reusing(
        validated,
        &plan,
        &provenance,
        registry,
        warnings,
        sink,
        reuse,
    )?;
    Ok(Streamed { plan, files })
}

/// What `change` produces for two valid topologies, in memory: the change
/// set and, when it holds changes and no refusal, the artifacts.
pub struct GeneratedChange {
    pub set: change::ChangeSet,
    pub plan: plan::Plan,
    pub artifacts: ArtifactSet,
}

/// Compares OLD and NEW and renders the change window between them. The
/// artifacts stay empty when there is nothing to do or something is refused.
pub fn generate_change(
    old: (&SourceFile, check::Validated<'_>),
    new: (&SourceFile, check::Validated<'_>),
    registry: &Registry,
) -> Result<GeneratedChange, TemplateError> {
    let set = change::change_set(old.1.topology, new.1.topology);
    if set.changes.is_empty() || !set.refusals.is_empty() {
        return Ok(GeneratedChange {
            set,
            plan: plan::Plan { steps: Vec::new() },
            artifacts: ArtifactSet::default(),
        });
    }
    let mut change_plan = change::plan(new.1.topology, &set);
    prove::annotate_change(old.1.topology, new.1.topology, &set, &mut change_plan)
        .map_err(|unproven| TemplateError::Unproven(unproven.to_string()))?;
    let provenance = Provenance::change(old.0.sha256.clone(), new.0.sha256.clone());
    let artifacts =
        render::change::render_change(new.1.topology, &set, &change_plan, &provenance, registry)?;
    Ok(GeneratedChange {
        set,
        plan: change_plan.plan,
        artifacts,
    })
}
