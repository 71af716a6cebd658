//! Plan → artifacts: per-host scripts, the Markdown runbook and `plan.json`.
//!
//! Pure: templates come from the [`registry::Registry`] built once per run,
//! files go to a [`Sink`] as they are rendered, on every core. Line endings, byte-order mark
//! and the ASCII rule of `.cmd` files are applied here, once, for every script.

pub mod change;
pub mod context;
pub mod escape;
pub mod html;
pub mod registry;

use std::collections::{BTreeSet, HashMap};
use std::io::Write;

use handlebars::Context;
use rayon::prelude::*;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::artifact::{ArtifactSet, InMemory, Manifest, ManifestFile, Sink};
use crate::check::Validated;
use crate::model::Topology;
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
    let artifacts = InMemory::default();
    render_into(validated, plan, provenance, registry, warnings, &artifacts)?;
    Ok(artifacts.into_set())
}

/// Everything `build` writes, handed to `sink` file by file as each is
/// rendered (see [`render_plan`]). Returns the number of files.
pub fn render_into(
    validated: Validated<'_>,
    plan: &Plan,
    provenance: &Provenance,
    registry: &Registry,
    warnings: Vec<Value>,
    sink: &dyn Sink,
) -> Result<usize, TemplateError> {
    render_reusing(
        validated,
        plan,
        provenance,
        registry,
        warnings,
        sink,
        &Reuse::Nothing,
    )
}

/// [`render_into`], recording what each step rendered, or reusing what an
/// earlier rendering with the same templates recorded for a step whose
/// context is the same (see [`Reuse`]).
pub fn render_reusing(
    validated: Validated<'_>,
    plan: &Plan,
    provenance: &Provenance,
    registry: &Registry,
    warnings: Vec<Value>,
    sink: &dyn Sink,
    reuse: &Reuse<'_>,
) -> Result<usize, TemplateError> {
    let topology = validated.topology;
    compile_templates(
        registry,
        plan,
        &["runbook/runbook.md.hbs", "runbook/handover.md.hbs"],
    );
    let lookup = Lookup::new(topology, plan, &provenance.window());
    let manifest = Manifest::new(sink);
    let frame = RunbookFrame {
        topology,
        provenance,
        texts: Box::new(move || {
            let head_context = context::runbook_context(topology, plan, provenance, warnings);
            (
                registry.render("runbook/runbook.md.hbs", &head_context),
                registry.render("runbook/handover.md.hbs", &head_context),
            )
        }),
        cover: Value::Null,
    };
    let contexts = BuildContexts {
        lookup: &lookup,
        provenance,
        window: provenance.window(),
    };
    if let Reuse::Record(memo) = reuse {
        let _ = memo.topology_sha256.set(provenance.topology_sha256.clone());
        let _ = memo.window.set(contexts.window.clone());
    }
    let (plan_file, rendered) = rayon::join(
        || manifest.begin_plan(&topology.name, plan, provenance, None),
        || render_plan(plan, registry, &manifest, frame, &contexts, reuse),
    );
    rendered?;
    Ok(manifest.finish(plan_file, plan))
}

/// How a step's template context is made: what the steps of its cluster
/// share, built once per cluster and batch, then the step's own values,
/// put into that context in place. Building every step's context whole
/// would copy its cluster's values once per step.
pub(crate) trait StepContexts: Sync {
    fn shared(&self, cluster: Option<usize>) -> Map<String, Value>;
    /// `index` is the step's position in the plan.
    fn fill(&self, index: usize, step: &Step, context: &mut Map<String, Value>);
    /// The keys `fill` sets; every other key is the same for every step
    /// made from one shared context.
    fn step_keys(&self) -> &'static [&'static str];
    /// The topology's sha256, as the contexts hold it.
    fn topology_sha256(&self) -> &str;
    /// The window's name, which the contexts derive from the topology's
    /// sha256 ([`context::window_name`]).
    fn window(&self) -> &str;
}

struct BuildContexts<'a> {
    lookup: &'a Lookup<'a>,
    provenance: &'a Provenance,
    window: String,
}

impl StepContexts for BuildContexts<'_> {
    fn shared(&self, cluster: Option<usize>) -> Map<String, Value> {
        self.lookup.shared_context(cluster, self.provenance)
    }

    fn fill(&self, _: usize, step: &Step, context: &mut Map<String, Value>) {
        self.lookup.fill_step(step, context);
    }

    fn step_keys(&self) -> &'static [&'static str] {
        context::STEP_KEYS
    }

    fn topology_sha256(&self) -> &str {
        &self.provenance.topology_sha256
    }

    fn window(&self) -> &str {
        &self.window
    }
}

/// What a rendering does with another rendering of the same templates:
/// `diff` renders OLD recording each step, then NEW reusing every step whose
/// context is the same (most of them, for a change to one cluster) instead
/// of rendering it again.
pub enum Reuse<'a> {
    Nothing,
    Record(&'a StepMemo),
    From {
        steps: &'a RecordedSteps,
        /// The recorded rendering's files, where its scripts are.
        files: &'a ArtifactSet,
    },
}

/// Each rendered step's runbook entry, by position in the plan, with the
/// fingerprint of what it was rendered from. One memo records one
/// rendering, and is reused only with that rendering's files and the same
/// registry, whose templates print the topology's hash only as provenance
/// (`diff` reuses nothing when templates are overridden).
#[derive(Default)]
pub struct StepMemo {
    steps: std::sync::Mutex<Vec<Option<RecordedStep>>>,
    /// The recorded rendering's topology sha256, which its files print.
    topology_sha256: std::sync::OnceLock<String>,
    /// The recorded rendering's window, which its files print too.
    window: std::sync::OnceLock<String>,
}

impl StepMemo {
    fn record(&self, index: usize, step: RecordedStep) {
        let mut steps = self
            .steps
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if steps.len() <= index {
            steps.resize_with(index + 1, || None);
        }
        steps[index] = Some(step);
    }

    pub fn into_recorded(self) -> RecordedSteps {
        RecordedSteps {
            steps: self
                .steps
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            reused: std::sync::atomic::AtomicUsize::new(0),
            topology_sha256: self.topology_sha256.into_inner().unwrap_or_default(),
            window: self.window.into_inner().unwrap_or_default(),
        }
    }
}

/// What a [`StepMemo`] recorded, and how many of its steps were reused.
pub struct RecordedSteps {
    steps: Vec<Option<RecordedStep>>,
    reused: std::sync::atomic::AtomicUsize,
    topology_sha256: String,
    window: String,
}

impl RecordedSteps {
    /// How many steps renderings took from here instead of rendering them.
    pub fn reused(&self) -> usize {
        self.reused.load(std::sync::atomic::Ordering::Relaxed)
    }
}

struct RecordedStep {
    fingerprint: [u8; 32],
    markdown: String,
    html: String,
}

/// sha256 of what a step's output is made from, besides the templates: its
/// blueprint step and its context (the shared part by its digest), with
/// the window's name, which comes from the topology's sha256, left out (in
/// a command line, a log path): [`reused_step`] puts it right.
fn fingerprint(
    shared: &[u8; 32],
    step: &Step,
    context: &Value,
    step_keys: &[&str],
    window: &str,
) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(shared);
    hasher.update(step.def_id.as_bytes());
    hasher.update([0]);
    let mut bytes = Vec::new();
    for key in step_keys {
        hasher.update(key.as_bytes());
        bytes.clear();
        // Serialising into memory cannot fail.
        let _ = serde_json::to_writer(&mut bytes, &context.get(*key));
        let mut rest = bytes.as_slice();
        while !window.is_empty()
            && let Some(at) = rest
                .windows(window.len())
                .position(|part| part == window.as_bytes())
        {
            hasher.update(&rest[..at]);
            hasher.update([0]);
            rest = &rest[at + window.len()..];
        }
        hasher.update(rest);
    }
    hasher.finalize().into()
}

/// The digest of a shared context, but for the topology's sha256 and the
/// window named after it: two topologies differ in them, and a step's
/// files print them only as provenance and in the window's folder, which
/// [`reused_step`] puts right.
fn shared_digest(shared: &Map<String, Value>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for (key, value) in shared {
        if key != "topology_sha256" && key != "staging" {
            hasher.update(key.as_bytes());
            let _ = serde_json::to_writer(&mut hasher, value);
        }
    }
    hasher.finalize().into()
}

/// The recorded entry of the step at `index`, its scripts handed to
/// `manifest` from the recorded files, when it was made from the same
/// context but for the topology's sha256: `topology_sha256` and `window`,
/// this rendering's, are put in place of the recorded ones.
#[allow(clippy::too_many_arguments)]
fn reused_step(
    steps: &RecordedSteps,
    files: &ArtifactSet,
    topology_sha256: &str,
    window: &str,
    index: usize,
    fingerprint: &[u8; 32],
    step: &Step,
    manifest: &Manifest<'_>,
) -> Option<StepPieces> {
    let recorded = steps.steps.get(index)?.as_ref()?;
    if recorded.fingerprint != *fingerprint || steps.topology_sha256.len() != 64 {
        return None;
    }
    if steps.window.is_empty() {
        return None;
    }
    let rehash = |text: &str| {
        text.replace(&steps.topology_sha256, topology_sha256)
            .replace(&steps.window, window)
    };
    let paths: Vec<&String> = [&step.file, &step.launcher].into_iter().flatten().collect();
    let scripts: Vec<String> = paths
        .iter()
        .map(|path| {
            let bytes = files.get(path)?;
            std::str::from_utf8(bytes).ok().map(rehash)
        })
        .collect::<Option<_>>()?;
    for (path, text) in paths.into_iter().zip(scripts) {
        manifest.put(path.clone(), text.into_bytes());
    }
    steps
        .reused
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Some(StepPieces {
        markdown: Ok(rehash(&recorded.markdown)),
        html: Ok(rehash(&recorded.html)),
    })
}

/// Compiles, on every core, the templates that rendering `plan` will use,
/// with the `head` templates of its runbook. An error is not reported here:
/// rendering meets it again, in the order the files are listed.
pub(crate) fn compile_templates(registry: &Registry, plan: &Plan, head: &[&str]) {
    let mut names: BTreeSet<String> = [
        LAUNCHER_TEMPLATE,
        "runbook/step-head.md.hbs",
        "runbook/step-tail.md.hbs",
        "runbook/phase.md.hbs",
        "runbook/gate.md.hbs",
        "runbook/no-return.md.hbs",
        "runbook/page.html.hbs",
        "runbook/signoff.html.hbs",
    ]
    .iter()
    .chain(head)
    .map(|name| (*name).to_owned())
    .collect();
    for step in &plan.steps {
        names.extend(script_template(step));
        names.extend(manual_template(step));
    }
    let _ = registry.prepare(names.iter().map(String::as_str));
}

/// The head and the last section of a runbook, rendered on demand.
pub(crate) type RunbookTexts<'a> =
    Box<dyn FnOnce() -> (Result<String, TemplateError>, Result<String, TemplateError>) + Send + 'a>;

/// What a runbook holds besides its steps.
pub(crate) struct RunbookFrame<'a> {
    pub topology: &'a Topology,
    pub provenance: &'a Provenance,
    /// Renders the head (title, estate tables, warnings, checklist, how to
    /// run a step) and the last section (final checks and handover, or a
    /// change's back-out), while the first steps render.
    pub texts: RunbookTexts<'a>,
    /// The change summary on a change runbook's cover; null for a build.
    pub cover: Value,
}

/// Steps rendered at once, on every core; a batch's output is handed on in
/// plan order before the next batch starts, so memory holds one batch.
const STEPS_PER_BATCH: usize = 512;

/// Steps of one cluster rendered with one context, at most: small enough
/// that the cores share a batch evenly.
const STEPS_PER_CONTEXT: usize = 32;

/// Renders every step of `plan`: its scripts go to `manifest` as soon as
/// they are rendered, its runbook entry into `runbook.md` and `runbook.html`,
/// which are written piece by piece and never held whole. A step's context
/// is shared by its script and its runbook entry.
///
/// Steps are rendered in parallel batches; what each hands on keeps plan
/// order. A template error stops rendering; the first one in the order the
/// files are listed wins (scripts, then the runbook's Markdown, then its
/// page).
pub(crate) fn render_plan(
    plan: &Plan,
    registry: &Registry,
    manifest: &Manifest<'_>,
    frame: RunbookFrame<'_>,
    contexts: &dyn StepContexts,
    reuse: &Reuse<'_>,
) -> Result<(), TemplateError> {
    let batches: Vec<&[Step]> = plan.steps.chunks(STEPS_PER_BATCH).collect();
    let render = |index: usize| {
        batches.get(index).map(|steps| {
            let first = index * STEPS_PER_BATCH;
            render_batch(steps, first, registry, manifest, contexts, reuse)
        })
    };
    // The runbook's head and page frame are built while the first batch
    // renders, and each batch's entries are written while the next renders.
    let (mut runbook, mut rendered) = rayon::join(
        || RunbookWriter::open(plan, registry, manifest, frame),
        || render(0),
    );
    let mut index = 0;
    while let Some(batch) = rendered {
        let steps = batches.get(index).copied().unwrap_or_default();
        let (next, written) = rayon::join(|| render(index + 1), || runbook.add_batch(steps, batch));
        written?;
        rendered = next;
        index += 1;
    }
    runbook.finish()
}

/// Renders a batch of steps, the first of which is at `first` in the plan,
/// on every core; returns each step's result in plan order.
fn render_batch(
    steps: &[Step],
    first: usize,
    registry: &Registry,
    manifest: &Manifest<'_>,
    contexts: &dyn StepContexts,
    reuse: &Reuse<'_>,
) -> Vec<Option<RenderedStep>> {
    let rendered: Vec<Vec<(usize, RenderedStep)>> = cluster_groups(steps)
        .par_iter()
        .map(|(cluster, offsets)| {
            let shared = contexts.shared(*cluster);
            let digest = match reuse {
                Reuse::Nothing => None,
                _ => Some(shared_digest(&shared)),
            };
            #[cfg(debug_assertions)]
            let unfilled = shared.clone();
            let mut context = Context::from(Value::Object(shared));
            offsets
                .iter()
                .map(|&offset| {
                    let step = &steps[offset];
                    let index = first + offset;
                    if let Value::Object(map) = context.data_mut() {
                        contexts.fill(index, step, map);
                        // A key `fill` sets that `step_keys` does not name
                        // would be left out of the fingerprint.
                        #[cfg(debug_assertions)]
                        for (key, value) in map.iter() {
                            debug_assert!(
                                contexts.step_keys().contains(&key.as_str())
                                    || unfilled.get(key) == Some(value),
                                "fill set {key}, which step_keys does not name"
                            );
                        }
                    }
                    let fingerprint = digest.map(|digest| {
                        fingerprint(
                            &digest,
                            step,
                            context.data(),
                            contexts.step_keys(),
                            contexts.window(),
                        )
                    });
                    if let (Reuse::From { steps, files }, Some(fingerprint)) = (reuse, &fingerprint)
                        && let Some(pieces) = reused_step(
                            steps,
                            files,
                            contexts.topology_sha256(),
                            contexts.window(),
                            index,
                            fingerprint,
                            step,
                            manifest,
                        )
                    {
                        return (offset, Ok(pieces));
                    }
                    let result = put_scripts(manifest, registry, step, &context)
                        .map(|()| step_pieces(registry, step, &context));
                    if let (Reuse::Record(memo), Some(fingerprint), Ok(pieces)) =
                        (reuse, fingerprint, &result)
                        && let (Ok(markdown), Ok(html)) = (&pieces.markdown, &pieces.html)
                    {
                        let recorded = RecordedStep {
                            fingerprint,
                            markdown: markdown.clone(),
                            html: html.clone(),
                        };
                        memo.record(index, recorded);
                    }
                    (offset, result)
                })
                .collect()
        })
        .collect();

    let mut in_order: Vec<Option<RenderedStep>> = steps.iter().map(|_| None).collect();
    for (offset, result) in rendered.into_iter().flatten() {
        in_order[offset] = Some(result);
    }
    in_order
}

/// A step's runbook entry once its scripts are written, or the error of
/// its scripts.
type RenderedStep = Result<StepPieces, TemplateError>;

/// The steps of a batch by cluster, as positions in the batch, in groups of
/// at most [`STEPS_PER_CONTEXT`].
fn cluster_groups(steps: &[Step]) -> Vec<(Option<usize>, Vec<usize>)> {
    let mut groups: Vec<(Option<usize>, Vec<usize>)> = Vec::new();
    let mut open: HashMap<Option<usize>, usize> = HashMap::new();
    for (offset, step) in steps.iter().enumerate() {
        let group = match open.get(&step.cluster) {
            Some(&group) if groups[group].1.len() < STEPS_PER_CONTEXT => group,
            _ => {
                groups.push((step.cluster, Vec::with_capacity(STEPS_PER_CONTEXT)));
                open.insert(step.cluster, groups.len() - 1);
                groups.len() - 1
            }
        };
        groups[group].1.push(offset);
    }
    groups
}

/// A step's files: its script, with CRLF line endings and a BOM for
/// PowerShell, and for a PowerShell step the `.cmd` launcher beside it; none
/// for a manual step.
fn put_scripts(
    manifest: &Manifest<'_>,
    registry: &Registry,
    step: &Step,
    step_context: &Context,
) -> Result<(), TemplateError> {
    let (Some(path), Some(name)) = (&step.file, script_template(step)) else {
        return Ok(());
    };
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

/// The template of a step's script, if it has one.
fn script_template(step: &Step) -> Option<String> {
    let extension = step.kind.extension()?;
    Some(format!("{extension}/{}.{extension}.hbs", step.def_id))
}

/// The template of a manual step's instructions.
fn manual_template(step: &Step) -> Option<String> {
    (step.kind == Kind::Manual).then(|| format!("manual/{}.md.hbs", step.def_id))
}

/// A step's runbook entry: Markdown, and the HTML section made of it.
struct StepPieces {
    markdown: Result<String, TemplateError>,
    html: Result<String, TemplateError>,
}

fn step_pieces(registry: &Registry, step: &Step, step_context: &Context) -> StepPieces {
    let markdown = step_markdown(registry, step, step_context);
    let html = match &markdown {
        Ok(markdown) => html::step_section(registry, step, markdown),
        // Not rendered: the Markdown's error is reported first.
        Err(_) => Ok(String::new()),
    };
    StepPieces { markdown, html }
}

fn step_markdown(
    registry: &Registry,
    step: &Step,
    step_context: &Context,
) -> Result<String, TemplateError> {
    let mut markdown = Vec::new();
    registry.render_into("runbook/step-head.md.hbs", step_context, &mut markdown)?;
    if let Some(name) = manual_template(step) {
        registry.render_into(&name, step_context, &mut markdown)?;
    }
    registry.render_into("runbook/step-tail.md.hbs", step_context, &mut markdown)?;
    String::from_utf8(markdown).map_err(|error| TemplateError::Render {
        name: "runbook/step-tail.md.hbs".into(),
        message: error.to_string(),
    })
}

/// Writes `runbook.md` and `runbook.html` as the steps come. A template
/// error is kept rather than returned at once, so that script errors, which
/// come first in the output, are reported first; once the Markdown has
/// failed, nothing more of either runbook is rendered.
struct RunbookWriter<'m> {
    registry: &'m Registry,
    markdown: Tidy<ManifestFile<'m>>,
    html: ManifestFile<'m>,
    /// Gates and the point of no return not yet placed, by step id.
    notices: Vec<(String, Notice)>,
    phase: Option<u8>,
    closing: Result<String, TemplateError>,
    /// The page after the body.
    page_end: String,
    markdown_error: Option<TemplateError>,
    html_error: Option<TemplateError>,
}

impl<'m> RunbookWriter<'m> {
    fn open(
        plan: &Plan,
        registry: &'m Registry,
        manifest: &'m Manifest<'m>,
        frame: RunbookFrame<'_>,
    ) -> RunbookWriter<'m> {
        let mut writer = RunbookWriter {
            registry,
            markdown: Tidy::new(manifest.create("runbook.md")),
            html: manifest.create("runbook.html"),
            notices: Vec::new(),
            phase: None,
            closing: Ok(String::new()),
            page_end: String::new(),
            markdown_error: None,
            html_error: None,
        };
        let (head, closing) = (frame.texts)();
        let head = match (notices(plan, registry), head, closing) {
            (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => {
                writer.markdown_error = Some(error);
                return writer;
            }
            (Ok(notices), Ok(head), Ok(closing)) => {
                writer.notices = notices;
                writer.closing = Ok(closing);
                head
            }
        };
        writer.markdown.push(&head);
        let page = html::page_frame(
            frame.topology,
            plan,
            frame.provenance,
            registry,
            &writer.notices,
            frame.cover,
        );
        match page {
            Ok((start, end)) => {
                writer.write_html(&start);
                writer.write_html(&html::estate_section(&head));
                writer.page_end = end;
            }
            Err(error) => writer.html_error = Some(error),
        }
        writer
    }

    fn write_html(&mut self, text: &str) {
        if self.html_error.is_none() {
            // The sink keeps an I/O error and fails the build with it.
            let _ = self.html.write_all(text.as_bytes());
        }
    }

    /// Writes a batch's entries, in plan order; a script's error ends it.
    fn add_batch(
        &mut self,
        steps: &[Step],
        rendered: Vec<Option<RenderedStep>>,
    ) -> Result<(), TemplateError> {
        for (step, result) in steps.iter().zip(rendered) {
            if let Some(result) = result {
                self.add_step(step, result?);
            }
        }
        Ok(())
    }

    fn add_step(&mut self, step: &Step, pieces: StepPieces) {
        if self.markdown_error.is_some() {
            return;
        }
        if self.phase != Some(step.phase) {
            let phase = serde_json::json!({
                "number": step.phase.to_string(),
                "title": step.phase_title,
            });
            let heading = match self.registry.render("runbook/phase.md.hbs", &phase) {
                Ok(heading) => heading,
                Err(error) => {
                    self.markdown_error = Some(error);
                    return;
                }
            };
            self.markdown.push(&heading);
            if self.phase.is_some() {
                self.write_html(html::SECTION_END);
            }
            self.write_html(&html::phase_start(step.phase, &heading));
            self.phase = Some(step.phase);
        }
        let (markdown, step_html) = match (pieces.markdown, pieces.html) {
            (Err(error), _) => {
                self.markdown_error = Some(error);
                return;
            }
            (Ok(markdown), step_html) => (markdown, step_html),
        };
        for (index, notice) in take_notices(&mut self.notices, &step.id).iter().enumerate() {
            self.markdown.push(&notice.markdown);
            self.write_html(&html::notice_section(step, index, notice));
        }
        self.markdown.push(&markdown);
        match step_html {
            Ok(section) => self.write_html(&section),
            Err(error) => {
                if self.html_error.is_none() {
                    self.html_error = Some(error);
                }
            }
        }
    }

    fn finish(mut self) -> Result<(), TemplateError> {
        if let Some(error) = self.markdown_error.take() {
            return Err(error);
        }
        let closing = std::mem::replace(&mut self.closing, Ok(String::new()))?;
        self.markdown.push(&closing);
        self.markdown.finish();
        if self.phase.is_some() {
            self.write_html(html::SECTION_END);
        }
        self.write_html(&html::closing_section(&closing));
        let end = std::mem::take(&mut self.page_end);
        self.write_html(&end);
        match self.html_error.take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
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
    let mut tidy = Tidy::new(Vec::with_capacity(text.len()));
    tidy.push(text);
    tidy.finish();
    String::from_utf8(tidy.out).unwrap_or_default()
}

/// Tidies Markdown as it is written in pieces, as [`tidy_markdown`] would
/// the whole: a blank line is written only when a line with text follows.
struct Tidy<W: Write> {
    out: W,
    /// The line not yet ended by a newline.
    partial: String,
    started: bool,
    blank: bool,
}

impl<W: Write> Tidy<W> {
    fn new(out: W) -> Tidy<W> {
        Tidy {
            out,
            partial: String::new(),
            started: false,
            blank: false,
        }
    }

    fn push(&mut self, mut text: &str) {
        while let Some(at) = text.find('\n') {
            if self.partial.is_empty() {
                self.line(&text[..at]);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.push_str(&text[..at]);
                self.line(&line);
            }
            text = &text[at + 1..];
        }
        self.partial.push_str(text);
    }

    fn line(&mut self, line: &str) {
        let line = line.trim_end();
        if line.is_empty() {
            self.blank = self.started;
            return;
        }
        // The sink keeps an I/O error and fails the build with it.
        if self.blank {
            let _ = self.out.write_all(b"\n");
        }
        let _ = self.out.write_all(line.as_bytes());
        let _ = self.out.write_all(b"\n");
        self.started = true;
        self.blank = false;
    }

    /// Ends the last line.
    fn finish(&mut self) {
        let last = std::mem::take(&mut self.partial);
        self.line(&last);
    }
}
