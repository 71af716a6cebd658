//! Validated topology → ordered, numbered steps.
//!
//! A blueprint is one ordered table of [`StepDef`]s (see `ccr2007.rs`). The
//! table order is the execution order; expanding it over the clusters and
//! hosts of a topology gives the steps, which are numbered globally in tens
//! (`010`, `020`, …) so that one sequence runs across every host. Pure: no
//! file system, no templates.

pub mod ccr2007;
pub mod declare;
pub mod health;
pub mod window;

use serde::Serialize;

use crate::check::Validated;
use crate::model::{Cluster, FIRST_STORAGE_GROUP, Topology, Windows};
use crate::render::escape::slug;

/// How a step is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A `.cmd` batch file.
    Cmd,
    /// A Windows PowerShell script.
    Ps1,
    /// Clicks an operator makes, described in the runbook.
    Manual,
}

impl Kind {
    /// The name shown in `plan` and `plan.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Cmd => "cmd",
            Kind::Ps1 => "ps1",
            Kind::Manual => "manual",
        }
    }

    /// The file extension of a scripted step.
    pub fn extension(self) -> Option<&'static str> {
        match self {
            Kind::Cmd => Some("cmd"),
            Kind::Ps1 => Some("ps1"),
            Kind::Manual => None,
        }
    }
}

/// A kind that may differ between Windows dialects.
#[derive(Debug, Clone, Copy)]
pub struct ByDialect {
    pub w2008: Kind,
    pub w2008r2: Kind,
}

impl ByDialect {
    /// The same kind on every dialect.
    pub const fn same(kind: Kind) -> ByDialect {
        ByDialect {
            w2008: kind,
            w2008r2: kind,
        }
    }

    pub fn on(self, windows: Windows) -> Kind {
        match windows {
            Windows::W2008 => self.w2008,
            Windows::W2008R2 => self.w2008r2,
        }
    }
}

/// Which hosts a step runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    /// Every host of the estate, once (not per cluster).
    EveryHost,
    /// Both nodes of each cluster.
    EachNode,
    /// The first node of each cluster: it creates the cluster and is active.
    FirstNode,
    /// The second node of each cluster.
    SecondNode,
    /// The witness host of each cluster, once per cluster it serves.
    Witness,
}

/// When a step applies to a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// The topology lists `First Storage Group`, which the build moves.
    MovesFirstStorageGroup,
    /// The topology lists storage groups for the build to create.
    CreatesStorageGroups,
}

/// One phase of the build, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Phase {
    pub number: u8,
    pub title: &'static str,
}

/// One row of a blueprint table.
#[derive(Debug, Clone, Copy)]
pub struct StepDef {
    /// Stable kebab-case id; also names the template (`cmd/<id>.cmd.hbs`).
    pub id: &'static str,
    pub phase: Phase,
    pub on: On,
    pub kind: ByDialect,
    pub when: When,
    pub title: &'static str,
    /// Why the step is done.
    pub why: &'static str,
    /// What the operator should see when it works.
    pub expect: &'static str,
    /// What to check after it.
    pub verify: &'static str,
    /// What to do when it fails.
    pub on_failure: &'static str,
    /// Steps (by id, same cluster) this one waits for.
    pub after: &'static [&'static str],
    /// What the command reference could not confirm: the runbook says
    /// "verify on first use" with this text.
    pub unconfirmed: Option<&'static str>,
}

/// The text of a step that a dialect words its own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    Title,
    Why,
    Expect,
    Verify,
    OnFailure,
    Unconfirmed,
}

/// A step text as Windows Server 2008 R2 needs it; the blueprint table's own
/// text is the one for Windows Server 2008. R2 has Windows PowerShell 2.0
/// built in, so a text that speaks of installing PowerShell, of 1.0, or of a
/// 2008 node would send the operator after a check that cannot pass there.
#[derive(Debug, Clone, Copy)]
pub struct DialectText {
    /// Blueprint step id.
    pub id: &'static str,
    pub field: TextField,
    pub w2008r2: &'static str,
}

/// Puts the texts of the topology's dialect into a step made from a
/// blueprint row. Every plan (build, change, window) calls it after `make`.
pub(crate) fn speak_dialect(step: &mut Step, windows: Windows) {
    if windows != Windows::W2008R2 {
        return;
    }
    for text in ccr2007::R2_TEXTS.iter().filter(|t| t.id == step.def_id) {
        match text.field {
            TextField::Title => step.title = text.w2008r2,
            TextField::Why => step.why = text.w2008r2,
            TextField::Expect => step.expect = text.w2008r2,
            TextField::Verify => step.verify = text.w2008r2,
            TextField::OnFailure => step.on_failure = text.w2008r2,
            // A manual step carries no unconfirmed command facts.
            TextField::Unconfirmed => {
                if step.unconfirmed.is_some() {
                    step.unconfirmed = Some(text.w2008r2);
                }
            }
        }
    }
}

/// A step of a concrete plan. In `plan.json` (and `plan --format json`),
/// `file` is what the operator or automation runs: the `.cmd`, which for a
/// PowerShell step is the launcher, with the `.ps1` it runs as `script`.
#[derive(Debug, Clone)]
pub struct Step {
    /// Global position in tens: 10, 20, …
    pub number: u32,
    /// Stable id: `ccr.<cluster>.<step>[.<host>]` or `estate.<step>.<host>`.
    pub id: String,
    /// The blueprint row this step comes from.
    pub def_id: &'static str,
    pub phase: u8,
    pub phase_title: &'static str,
    pub host: String,
    /// Index of the cluster in the topology, for cluster steps.
    pub cluster: Option<usize>,
    pub cluster_name: Option<String>,
    pub kind: Kind,
    pub title: &'static str,
    /// What a change step acts on (`CCRMAIL\SG2`); none in a build.
    pub subject: Option<String>,
    pub why: &'static str,
    pub expect: &'static str,
    pub verify: &'static str,
    pub on_failure: &'static str,
    /// Ids of the steps this one waits for.
    pub after: Vec<String>,
    /// Path of the script in the output tree; none for manual steps.
    pub file: Option<String>,
    /// For a PowerShell step, the `.cmd` beside its script that runs it: the
    /// operator runs this, so a script that never ran is a failure too.
    pub launcher: Option<String>,
    pub unconfirmed: Option<&'static str>,
    /// What users lose while the step runs, from the platform model
    /// (`prove`): databases as `Storage group\Database`, or the server.
    pub offline: Vec<String>,
    /// The changes the step makes to the estate, in the model's words, in
    /// order, with who makes them.
    pub effects: Vec<String>,
}

/// A step as `plan.json` has it.
#[derive(Serialize)]
struct StepJson<'a> {
    number: String,
    id: &'a str,
    step: &'static str,
    phase: u8,
    phase_title: &'static str,
    host: &'a str,
    cluster: Option<&'a str>,
    kind: Kind,
    title: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    why: &'static str,
    expect: &'static str,
    verify: &'static str,
    on_failure: &'static str,
    after: &'a [String],
    /// What runs the step: the `.cmd` (for PowerShell, the launcher).
    file: Option<&'a str>,
    /// For a PowerShell step, the `.ps1` that `file` runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    script: Option<&'a str>,
    unconfirmed: Option<&'static str>,
    /// From the platform model: what users lose while the step runs.
    offline: &'a [String],
    /// From the platform model: what the step changes.
    effects: &'a [String],
}

impl Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (file, script) = match (self.kind, &self.launcher) {
            (Kind::Ps1, Some(launcher)) => (Some(launcher.as_str()), self.file.as_deref()),
            _ => (self.file.as_deref(), None),
        };
        StepJson {
            number: self.label(),
            id: &self.id,
            step: self.def_id,
            phase: self.phase,
            phase_title: self.phase_title,
            host: &self.host,
            cluster: self.cluster_name.as_deref(),
            kind: self.kind,
            title: self.title,
            subject: self.subject.as_deref(),
            why: self.why,
            expect: self.expect,
            verify: self.verify,
            on_failure: self.on_failure,
            after: &self.after,
            file,
            script,
            unconfirmed: self.unconfirmed,
            offline: &self.offline,
            effects: &self.effects,
        }
        .serialize(serializer)
    }
}

impl Step {
    /// The step number as printed everywhere: three digits at least.
    pub fn label(&self) -> String {
        format!("{:03}", self.number)
    }

    /// The title with its subject, as headings and the contents show it.
    pub fn full_title(&self) -> String {
        match &self.subject {
            Some(subject) => format!("{}: {subject}", self.title),
            None => self.title.to_owned(),
        }
    }
}

/// The ordered steps of a build.
#[derive(Debug, Clone)]
pub struct Plan {
    pub steps: Vec<Step>,
}

impl Plan {
    /// The step with that id.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|step| step.id == id)
    }
}

/// Expands the CCR 2007 blueprint over a validated topology.
pub fn plan(validated: Validated<'_>) -> Plan {
    expand(validated.topology, ccr2007::STEPS)
}

/// The steps of a full plan that belong to `part`, a cut of the estate to
/// some of its clusters (`Topology::only_clusters`): their cluster steps
/// and the host-wide steps of their hosts, with the numbers and file names
/// of the full build, so the window's scripts match the full runbook.
pub fn only(plan: Plan, part: &Topology) -> Plan {
    let steps = plan
        .steps
        .into_iter()
        .filter_map(|mut step| {
            match step.cluster_name.as_deref() {
                Some(name) => {
                    step.cluster = Some(part.clusters.iter().position(|c| c.name == name)?);
                }
                None => {
                    part.host(&step.host)?;
                }
            }
            Some(step)
        })
        .collect();
    Plan { steps }
}

fn hosts_for<'a>(topology: &'a Topology, cluster: &'a Cluster, on: On) -> Vec<&'a str> {
    match on {
        On::EveryHost => topology.hosts.iter().map(|h| h.name.as_str()).collect(),
        On::EachNode => cluster.nodes.iter().map(String::as_str).collect(),
        On::FirstNode => cluster
            .nodes
            .first()
            .map(String::as_str)
            .into_iter()
            .collect(),
        On::SecondNode => cluster
            .nodes
            .get(1)
            .map(String::as_str)
            .into_iter()
            .collect(),
        On::Witness => vec![cluster.witness.host.as_str()],
    }
}

fn applies(cluster: &Cluster, when: When) -> bool {
    let moves_first = cluster
        .mailbox
        .storage_groups
        .iter()
        .any(|g| g.name.eq_ignore_ascii_case(FIRST_STORAGE_GROUP));
    match when {
        When::Always => true,
        When::MovesFirstStorageGroup => moves_first,
        When::CreatesStorageGroups => {
            cluster.mailbox.storage_groups.len() > usize::from(moves_first)
        }
    }
}

/// The host name as it appears in ids and paths: as written in `hosts`.
fn canonical_host<'a>(topology: &'a Topology, name: &'a str) -> &'a str {
    topology.host(name).map_or(name, |host| host.name.as_str())
}

/// The stable id of a step: `estate.<step>.<host>` for host-wide steps,
/// `ccr.<cluster>.<step>` for cluster steps, with `.<host>` for per-node ones
/// (host-wide steps belong to no cluster and ignore `cluster`).
fn step_id(def: &StepDef, cluster: &str, host: &str) -> String {
    match def.on {
        On::EveryHost => format!("estate.{}.{}", def.id, slug(host)),
        On::EachNode => format!("ccr.{}.{}.{}", slug(cluster), def.id, slug(host)),
        On::FirstNode | On::SecondNode | On::Witness => {
            format!("ccr.{}.{}", slug(cluster), def.id)
        }
    }
}

fn expand(topology: &Topology, table: &[StepDef]) -> Plan {
    let several = topology.clusters.len() > 1;
    let mut steps: Vec<Step> = Vec::new();
    for def in table {
        let kind = def.kind.on(topology.platform.windows);
        if def.on == On::EveryHost {
            for host in &topology.hosts {
                let id = step_id(def, "", &host.name);
                let mut step = make(def, kind, &host.name, None, id, "");
                speak_dialect(&mut step, topology.platform.windows);
                steps.push(step);
            }
            continue;
        }
        // With several clusters a host may run the same step for each (the
        // witness); the cluster in the file name keeps them apart.
        for (index, cluster) in topology.clusters.iter().enumerate() {
            if !applies(cluster, def.when) {
                continue;
            }
            let suffix = if several {
                format!("-{}", slug(&cluster.name))
            } else {
                String::new()
            };
            for host in hosts_for(topology, cluster, def.on) {
                let host = canonical_host(topology, host);
                let id = step_id(def, &cluster.name, host);
                let mut step = make(def, kind, host, Some((index, cluster)), id, &suffix);
                step.after = dependencies(topology, table, def, cluster, host);
                speak_dialect(&mut step, topology.platform.windows);
                steps.push(step);
            }
        }
    }
    number_steps(&mut steps);
    Plan { steps }
}

/// Numbers phases as the steps have them, so a plan without some phase (no
/// storage groups to create) shows no gap; numbers steps in tens in their
/// order; puts each file under its host folder with the number in front
/// (`hosts/MAIL1/030-<name>`) and gives each PowerShell step its launcher.
pub(crate) fn number_steps(steps: &mut [Step]) {
    let mut phase_numbers: Vec<u8> = Vec::new();
    for step in steps.iter_mut() {
        let position = match phase_numbers.iter().position(|&n| n == step.phase) {
            Some(position) => position,
            None => {
                phase_numbers.push(step.phase);
                phase_numbers.len() - 1
            }
        };
        step.phase = u8::try_from(position + 1).unwrap_or(u8::MAX);
    }
    for (position, step) in steps.iter_mut().enumerate() {
        let number = u32::try_from(position + 1).unwrap_or(u32::MAX / 10) * 10;
        step.number = number;
        if let Some(name) = step.file.take() {
            let path = format!("hosts/{}/{number:03}-{name}", step.host);
            if step.kind == Kind::Ps1 {
                step.launcher = path.strip_suffix(".ps1").map(|stem| format!("{stem}.cmd"));
            }
            step.file = Some(path);
        }
    }
}

/// A step before numbering; its file is `<id><suffix>.<ext>` until
/// `number_steps` prefixes the host folder and the number.
pub(crate) fn make(
    def: &StepDef,
    kind: Kind,
    host: &str,
    cluster: Option<(usize, &Cluster)>,
    id: String,
    suffix: &str,
) -> Step {
    Step {
        number: 0,
        id,
        def_id: def.id,
        phase: def.phase.number,
        phase_title: def.phase.title,
        host: host.to_owned(),
        cluster: cluster.map(|(index, _)| index),
        cluster_name: cluster.map(|(_, cluster)| cluster.name.clone()),
        kind,
        title: def.title,
        subject: None,
        why: def.why,
        expect: def.expect,
        verify: def.verify,
        on_failure: def.on_failure,
        after: Vec::new(),
        file: kind
            .extension()
            .map(|ext| format!("{}{suffix}.{ext}", def.id)),
        launcher: None,
        offline: Vec::new(),
        effects: Vec::new(),
        // Unconfirmed command facts concern scripts; a manual step has none.
        unconfirmed: if kind == Kind::Manual {
            None
        } else {
            def.unconfirmed
        },
    }
}

/// Concrete ids of what a step waits for: the named steps of the same
/// cluster, on every host they run on; but a host-wide step (pre-flight), or
/// a per-node step that a per-node step waits for, only on this host.
/// Clusters never wait for each other.
fn dependencies(
    topology: &Topology,
    table: &[StepDef],
    def: &StepDef,
    cluster: &Cluster,
    host: &str,
) -> Vec<String> {
    let mut ids = Vec::new();
    for wanted in def.after {
        let Some(other) = table.iter().find(|d| d.id == *wanted) else {
            continue;
        };
        if !applies(cluster, other.when) {
            continue;
        }
        let same_host =
            other.on == On::EveryHost || (def.on == On::EachNode && other.on == On::EachNode);
        if same_host {
            ids.push(step_id(other, &cluster.name, host));
        } else {
            for other_host in hosts_for(topology, cluster, other.on) {
                ids.push(step_id(
                    other,
                    &cluster.name,
                    canonical_host(topology, other_host),
                ));
            }
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_well_formed() {
        let table = ccr2007::STEPS;
        for (index, def) in table.iter().enumerate() {
            assert!(
                def.id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{} is not kebab-case",
                def.id
            );
            assert!(
                table[..index].iter().all(|earlier| earlier.id != def.id),
                "{} twice",
                def.id
            );
            for wanted in def.after {
                assert!(
                    table[..index].iter().any(|earlier| earlier.id == *wanted),
                    "{}: {wanted} is not an earlier step",
                    def.id
                );
            }
            if index > 0 {
                assert!(
                    table[index - 1].phase <= def.phase,
                    "{} is out of phase order",
                    def.id
                );
            }
        }
        let phases: std::collections::BTreeSet<u8> = table.iter().map(|d| d.phase.number).collect();
        assert_eq!(
            phases,
            (1..=15).collect(),
            "all fifteen phases of the design"
        );
    }

    #[test]
    fn every_dialect_text_belongs_to_a_step_and_differs() {
        for text in ccr2007::R2_TEXTS {
            let def = ccr2007::STEPS
                .iter()
                .find(|def| def.id == text.id)
                .unwrap_or_else(|| panic!("{}: no such step", text.id));
            let own = match text.field {
                TextField::Title => Some(def.title),
                TextField::Why => Some(def.why),
                TextField::Expect => Some(def.expect),
                TextField::Verify => Some(def.verify),
                TextField::OnFailure => Some(def.on_failure),
                TextField::Unconfirmed => def.unconfirmed,
            };
            assert!(
                own.is_some(),
                "{}: {:?} has no 2008 text",
                text.id,
                text.field
            );
            assert_ne!(
                own,
                Some(text.w2008r2),
                "{}: {:?} is the same",
                text.id,
                text.field
            );
        }
    }
}
