//! The prover: runs a window's steps over the platform model, in plan order
//! and after every interruption, and holds the safety invariants at every
//! boundary.
//!
//! What it proves, for each step in order:
//! - its `requires` hold when it starts (unless its `done_when` holds, and
//!   then it changes nothing);
//! - stopped after any of its actions and run again, it converges: it
//!   reports done only when nothing of its work remains, and otherwise its
//!   `requires` still hold and it finishes with the state an uninterrupted
//!   run leaves; a rerun that reports done while a restart is pending must
//!   say so;
//! - after every action, interrupted or not: a planned restart only when
//!   quorum survives the node being down; every database's data with at
//!   least one proven copy; a database offline, or the CMS offline, only
//!   inside a step declared as outage; the Exchange shell usable (policy at
//!   least RemoteSigned) on every node with Exchange installed; a copy
//!   resumed only if this window suspended it (`Action::apply` refuses);
//! - at the end, the state is the one the target topology describes.
//!
//! What it does not prove: that a condition's rendering reads the live value
//! correctly, or that an action's template does what its declared effect
//! says. Those are reviewed, with their sources, and kept by golden files.

use std::fmt;

use super::rules::{self, CmsState};
use super::{Action, Actor, Condition, FileKind, Role, State};

/// What one step of a window needs, when it is already done, and what it
/// does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepSpec {
    /// The step as the runbook names it: `070 change.mail.mount-and-resume`.
    pub label: String,
    pub requires: Vec<Condition>,
    /// When all hold, the step reports "already done" and changes nothing.
    /// Empty: the step never reports done without doing its actions (each
    /// of which checks its own effect first).
    pub done_when: Vec<Condition>,
    pub actions: Vec<(Actor, Action)>,
    /// The plan declares users lose something while this step runs.
    pub outage: bool,
    /// Its "already done" branch reports a pending restart (exit 3010).
    pub reports_pending_restart: bool,
}

/// A rule the plan breaks, with where and in what state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub cluster: String,
    /// The step's label.
    pub step: String,
    /// When the finding is about a rerun: after how many of the step's
    /// actions it was stopped.
    pub interrupted_after: Option<usize>,
    /// The action at fault, if one is: its position (1-based) and words.
    pub action: Option<(usize, String)>,
    /// The condition or invariant broken.
    pub rule: String,
    /// What was found instead.
    pub found: String,
    /// The state at that moment, in words.
    pub state: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cluster {}: step {}", self.cluster, self.step)?;
        if let Some(after) = self.interrupted_after {
            write!(f, ", rerun after it stopped following action {after}")?;
        }
        if let Some((number, action)) = &self.action {
            write!(f, ", action {number} ({action})")?;
        }
        write!(
            f,
            ": {}; found: {}\n  state: {}",
            self.rule, self.found, self.state
        )
    }
}

/// What proving a window found: the rules it breaks (none for a proven
/// window), and for each step what users lose while it runs, from the
/// model: the databases offline (as `Storage group\Database`) or the whole
/// clustered mailbox server, at any boundary of the step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proof {
    pub findings: Vec<Finding>,
    /// By step, in order: what is offline during it; empty when nothing.
    pub offline: Vec<Vec<String>>,
    /// By step, in order: its actions in words, with who makes them, as
    /// they change the state on a run in plan order (none for a step found
    /// already done).
    pub effects: Vec<Vec<String>>,
}

/// What users lose in a state: the databases of the CMS that are dismounted
/// (a new database that was never mounted holds no mailbox yet, so nobody
/// loses it), or the whole server when it is offline.
pub fn offline(state: &State) -> Vec<String> {
    match rules::cms_state(state) {
        None | Some(CmsState::Online) => Vec::new(),
        Some(CmsState::PartiallyOnline(resources)) => state
            .groups
            .values()
            .filter(|g| state.files.keys().any(|at| at.group == g.name))
            .map(|g| g.resource())
            .filter(|resource| resources.contains(resource))
            .collect(),
        Some(CmsState::Offline) => {
            vec![format!(
                "the clustered mailbox server {}",
                state
                    .cms
                    .as_ref()
                    .map(|c| c.name.as_str())
                    .unwrap_or_default()
            )]
        }
    }
}

fn note_offline(seen: &mut Vec<String>, state: &State) {
    for resource in offline(state) {
        if !seen.contains(&resource) {
            seen.push(resource);
        }
    }
}

/// Proves a window: `start` is the state before it, `target` the state the
/// topology it leads to describes.
pub fn prove(start: &State, steps: &[StepSpec], target: &State) -> Proof {
    let mut findings = Vec::new();
    let mut offline_by_step = Vec::new();
    let mut effects_by_step = Vec::new();
    let mut state = start.clone();
    for step in steps {
        let mut seen = Vec::new();
        note_offline(&mut seen, &state);
        if !step.done_when.is_empty() && holds(&step.done_when, &state) {
            offline_by_step.push(seen);
            effects_by_step.push(Vec::new());
            continue;
        }
        let mut effects = Vec::new();
        for condition in &step.requires {
            if let Err(found) = condition.check(&state) {
                findings.push(finding(
                    &state,
                    step,
                    None,
                    None,
                    format!("requires {}", condition.describe()),
                    found,
                ));
            }
        }
        let mut after_each = Vec::new();
        for (index, (actor, action)) in step.actions.iter().enumerate() {
            let words = action.describe(&state);
            effects.push(match actor {
                Actor::Operator => format!("{words} (by the operator)"),
                Actor::Script => words,
            });
            if let Some(node) = action.restarts() {
                let mut down = state.clone();
                if let Some(target) = down.node_mut(node) {
                    target.up = false;
                }
                note_offline(&mut seen, &down);
            }
            run_action(&mut state, step, index, action, None, &mut findings);
            note_offline(&mut seen, &state);
            after_each.push(state.clone());
        }
        offline_by_step.push(seen);
        effects_by_step.push(effects);
        for (stopped_after, interrupted) in after_each.iter().enumerate() {
            rerun(interrupted, step, stopped_after + 1, &state, &mut findings);
        }
    }
    for gap in target_gaps(&state, target) {
        findings.push(Finding {
            cluster: state.cluster_name.clone(),
            step: "end of the window".to_owned(),
            interrupted_after: None,
            action: None,
            rule: "the end state is the state the target topology describes".to_owned(),
            found: gap,
            state: describe(&state),
        });
    }
    Proof {
        findings,
        offline: offline_by_step,
        effects: effects_by_step,
    }
}

fn holds(conditions: &[Condition], state: &State) -> bool {
    conditions
        .iter()
        .all(|condition| condition.check(state).is_ok())
}

/// One action, with the invariants held around it.
fn run_action(
    state: &mut State,
    step: &StepSpec,
    index: usize,
    action: &Action,
    interrupted_after: Option<usize>,
    findings: &mut Vec<Finding>,
) {
    let at = Some((index + 1, format!("{action:?}")));
    if let Some(node) = action.restarts() {
        if !rules::quorum_survives_node_down(state, node) {
            findings.push(Finding {
                interrupted_after,
                ..finding(
                    state,
                    step,
                    at.clone(),
                    None,
                    "a planned restart only when quorum survives the node being down".to_owned(),
                    format!("{node} restarts while the cluster's quorum cannot lose it"),
                )
            });
        }
        let mut down = state.clone();
        if let Some(target) = down.node_mut(node) {
            target.up = false;
        }
        check_invariants(&down, step, at.clone(), interrupted_after, findings);
    }
    if let Err(refused) = action.apply(state) {
        findings.push(Finding {
            interrupted_after,
            ..finding(
                state,
                step,
                at.clone(),
                None,
                "the platform accepts the action".to_owned(),
                refused,
            )
        });
    }
    check_invariants(state, step, at, interrupted_after, findings);
}

/// The step run again from the state it was stopped in.
fn rerun(
    interrupted: &State,
    step: &StepSpec,
    stopped_after: usize,
    finished: &State,
    findings: &mut Vec<Finding>,
) {
    let note = |rule: &str, found: String| Finding {
        interrupted_after: Some(stopped_after),
        ..finding(interrupted, step, None, None, rule.to_owned(), found)
    };
    if !step.done_when.is_empty() && holds(&step.done_when, interrupted) {
        if interrupted != finished {
            findings.push(note(
                "a rerun reports done only when no work remains",
                first_difference(interrupted, finished),
            ));
        }
        let pending: Vec<&str> = interrupted
            .nodes
            .values()
            .filter(|node| node.restart_pending)
            .map(|node| node.name.as_str())
            .collect();
        if !pending.is_empty() && !step.reports_pending_restart {
            findings.push(note(
                "a rerun reports a pending restart whenever one is pending",
                format!(
                    "reports done while {} has a restart pending",
                    pending.join(", ")
                ),
            ));
        }
        return;
    }
    for condition in &step.requires {
        if let Err(found) = condition.check(interrupted) {
            findings.push(note(
                &format!(
                    "a rerun still finds what it requires: {}",
                    condition.describe()
                ),
                found,
            ));
        }
    }
    let mut state = interrupted.clone();
    let mut rerun_findings = Vec::new();
    for (index, (_, action)) in step.actions.iter().enumerate() {
        run_action(
            &mut state,
            step,
            index,
            action,
            Some(stopped_after),
            &mut rerun_findings,
        );
    }
    findings.extend(rerun_findings);
    if state != *finished {
        findings.push(note(
            "a rerun converges to the state an uninterrupted run leaves",
            first_difference(&state, finished),
        ));
    }
}

fn check_invariants(
    state: &State,
    step: &StepSpec,
    action: Option<(usize, String)>,
    interrupted_after: Option<usize>,
    findings: &mut Vec<Finding>,
) {
    let mut broken = |rule: &str, found: String| {
        findings.push(Finding {
            interrupted_after,
            ..finding(state, step, action.clone(), None, rule.to_owned(), found)
        });
    };
    // Every database's data keeps a proven copy on every node that holds
    // it: the active node's files are the data, and a passive copy deleted
    // before its new place is proven can only come back by a full reseed.
    for group in state.groups.values() {
        for node in state.nodes.keys() {
            let holds_any = state
                .files
                .keys()
                .any(|at| at.group == group.name && at.node == *node);
            if !holds_any {
                continue;
            }
            for kind in [FileKind::Database, FileKind::Logs] {
                let proven = state.files.iter().any(|(at, proven)| {
                    at.group == group.name && at.node == *node && at.kind == kind && *proven
                });
                if !proven {
                    broken(
                        "at least one proven copy of every database's data",
                        format!("no proven {kind:?} file of {} on {node}", group.name),
                    );
                }
            }
        }
    }
    // Outage only where declared.
    if !step.outage {
        let lost = offline(state);
        if !lost.is_empty() {
            broken(
                "users lose a database or the server only inside a step declared as outage",
                format!("{} offline", lost.join(", ")),
            );
        }
    }
    // The Exchange shell starts on every node with Exchange installed.
    for node in state.nodes.values() {
        if node.role == Role::Installed && node.policy < rules::EXCHANGE_SHELL_POLICY {
            broken(
                "the Exchange Management Shell usable (execution policy at least RemoteSigned) on every node with Exchange installed",
                format!("{} runs {:?}", node.name, node.policy),
            );
        }
    }
}

fn finding(
    state: &State,
    step: &StepSpec,
    action: Option<(usize, String)>,
    interrupted_after: Option<usize>,
    rule: String,
    found: String,
) -> Finding {
    Finding {
        cluster: state.cluster_name.clone(),
        step: step.label.clone(),
        interrupted_after,
        action,
        rule,
        found,
        state: describe(state),
    }
}

/// The state in a line, for findings.
pub fn describe(state: &State) -> String {
    let mut parts = Vec::new();
    for node in state.nodes.values() {
        parts.push(format!(
            "{} {}{}{}, policy {:?}",
            node.name,
            if node.up { "up" } else { "restarting" },
            if node.restart_pending {
                ", restart pending"
            } else {
                ""
            },
            match node.role {
                Role::None => "",
                Role::Unfinished => ", Exchange setup unfinished",
                Role::Installed => ", Exchange installed",
            },
            node.policy
        ));
    }
    match &state.cluster {
        None => parts.push("no cluster".to_owned()),
        Some(cluster) => parts.push(format!("quorum {:?}", cluster.quorum)),
    }
    if let Some(cms) = &state.cms {
        let cms_state = rules::cms_state(state)
            .map(|s| s.describe())
            .unwrap_or_default();
        parts.push(format!("CMS {} on {} {}", cms.name, cms.owner, cms_state));
    }
    for group in state.groups.values() {
        parts.push(format!(
            "{}: {}, copy {:?}",
            group.name,
            if group.mounted {
                "mounted"
            } else {
                "dismounted"
            },
            group.copy
        ));
    }
    parts.join("; ")
}

fn first_difference(found: &State, wanted: &State) -> String {
    for (name, node) in &found.nodes {
        if wanted.nodes.get(name) != Some(node) {
            return format!(
                "node {name} differs: {node:?} against {:?}",
                wanted.nodes.get(name)
            );
        }
    }
    if found.cluster != wanted.cluster {
        return format!(
            "the cluster differs: {:?} against {:?}",
            found.cluster, wanted.cluster
        );
    }
    if found.witness != wanted.witness {
        return "the witness share differs".to_owned();
    }
    if found.cms != wanted.cms {
        return format!("the CMS differs: {:?} against {:?}", found.cms, wanted.cms);
    }
    if found.groups != wanted.groups {
        for (name, group) in &found.groups {
            if wanted.groups.get(name) != Some(group) {
                return format!(
                    "storage group {name} differs: {group:?} against {:?}",
                    wanted.groups.get(name)
                );
            }
        }
        return "a storage group is missing".to_owned();
    }
    for (at, proven) in &found.files {
        if wanted.files.get(at) != Some(proven) {
            return format!("{at:?} (proven {proven}) differs");
        }
    }
    for at in wanted.files.keys() {
        if !found.files.contains_key(at) {
            return format!("{at:?} missing");
        }
    }
    "no difference".to_owned()
}

/// Where the end state falls short of the target: nodes, cluster, quorum,
/// CMS, storage groups (paths, mounted, Healthy) and each group's files at
/// its configured paths, proven, on both nodes. Files left elsewhere (kept
/// sources) are not a gap: the runbook lists them for deletion.
fn target_gaps(state: &State, target: &State) -> Vec<String> {
    let mut gaps = Vec::new();
    for (name, wanted) in &target.nodes {
        match state.nodes.get(name) {
            None => gaps.push(format!("node {name} missing")),
            Some(node) => {
                if !node.up || node.restart_pending {
                    gaps.push(format!("{name} is left with a restart pending or down"));
                }
                if node.role != wanted.role || node.features != wanted.features {
                    gaps.push(format!("{name} is not set up as the topology says"));
                }
                if node.role == Role::Installed && node.policy < rules::EXCHANGE_SHELL_POLICY {
                    gaps.push(format!("{name} is left at {:?}", node.policy));
                }
            }
        }
    }
    match (&state.cluster, &target.cluster) {
        (Some(found), Some(wanted)) if found != wanted => {
            gaps.push(format!("the cluster is {found:?}, not {wanted:?}"));
        }
        (None, Some(_)) => gaps.push("the cluster does not exist".to_owned()),
        _ => {}
    }
    if state.cms.as_ref().map(|c| (&c.name, c.stopped))
        != target.cms.as_ref().map(|c| (&c.name, c.stopped))
    {
        gaps.push("the clustered mailbox server is not as the topology says".to_owned());
    }
    for (name, wanted) in &target.groups {
        match state.groups.get(name) {
            None => gaps.push(format!("storage group {name} missing")),
            Some(group) => {
                if group.log_path != wanted.log_path
                    || group.system_path != wanted.system_path
                    || group.edb_path != wanted.edb_path
                {
                    gaps.push(format!("storage group {name} is configured at other paths"));
                }
                if !group.mounted {
                    gaps.push(format!("the database of {name} is left dismounted"));
                }
                if group.copy != super::CopyStatus::Healthy {
                    gaps.push(format!("the copy of {name} is left {:?}", group.copy));
                }
                for node in state.nodes.keys() {
                    for (kind, path) in [
                        (FileKind::Database, &group.edb_path),
                        (FileKind::Logs, &group.log_path),
                        (FileKind::Checkpoint, &group.system_path),
                    ] {
                        let ok = Condition::FilesAt {
                            node: node.clone(),
                            group: name.clone(),
                            kind,
                            path: path.clone(),
                            proven: true,
                        }
                        .check(state);
                        if let Err(found) = ok {
                            gaps.push(found);
                        }
                    }
                }
            }
        }
    }
    for name in state.groups.keys() {
        if !target.groups.contains_key(name) {
            gaps.push(format!("storage group {name} is still there"));
        }
    }
    gaps
}
