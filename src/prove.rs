//! The prove arrow (plan → prove → render): every window is run over the
//! platform model before anything of it is rendered, and a window that
//! breaks a rule of the platform is not printed. See `platform` for the
//! model and the prover, and `plan::declare` for what each step declares.

use std::fmt;

use rayon::prelude::*;

use crate::change::{ChangePlan, ChangeSet};
use crate::model::Topology;
use crate::plan::Plan;
use crate::plan::declare::{self, Declared, Undeclared};
use crate::platform::{self, Finding};

/// What the model says of one window: per step of the plan, in plan order,
/// what is offline while it runs and what it changes (empty for steps of no
/// cluster).
#[derive(Debug, Clone, Default)]
pub struct Proven {
    pub offline: Vec<Vec<String>>,
    pub effects: Vec<Vec<String>>,
}

/// A window that the model cannot prove: a defect of runsheet's blueprint,
/// never of the topology, which is valid by then.
#[derive(Debug, Clone)]
pub enum Unproven {
    Undeclared(String),
    Findings(Vec<Finding>),
}

impl fmt::Display for Unproven {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unproven::Undeclared(id) => write!(
                f,
                "step {id} declares nothing the platform model can check, so the window cannot be proven; nothing was written"
            ),
            Unproven::Findings(findings) => {
                writeln!(
                    f,
                    "the window breaks {} rule(s) of the platform model, so it is not printed; nothing was written:",
                    findings.len()
                )?;
                for finding in findings.iter().take(10) {
                    writeln!(f, "  {finding}")?;
                }
                if findings.len() > 10 {
                    writeln!(f, "  and {} more", findings.len() - 10)?;
                }
                Ok(())
            }
        }
    }
}

impl From<Undeclared> for Unproven {
    fn from(undeclared: Undeclared) -> Unproven {
        Unproven::Undeclared(undeclared.0)
    }
}

/// Proves the build of `plan` and writes what the model says of each step
/// into it (`Step::offline`, `Step::effects`).
pub fn annotate_build(topology: &Topology, plan: &mut Plan) -> Result<(), Unproven> {
    let proven = build(topology, plan)?;
    annotate(plan, proven);
    Ok(())
}

/// Proves a change window and writes what the model says of each step
/// into its plan.
pub fn annotate_change(
    old: &Topology,
    new: &Topology,
    set: &ChangeSet,
    change_plan: &mut ChangePlan,
) -> Result<(), Unproven> {
    let proven = change(old, new, set, change_plan)?;
    annotate(&mut change_plan.plan, proven);
    Ok(())
}

fn annotate(plan: &mut Plan, proven: Proven) {
    for ((step, offline), effects) in plan
        .steps
        .iter_mut()
        .zip(proven.offline)
        .zip(proven.effects)
    {
        step.offline = offline;
        step.effects = effects;
    }
}

/// Proves the build of `plan` (the plan of `topology`, or of a part of it).
pub fn build(topology: &Topology, plan: &Plan) -> Result<Proven, Unproven> {
    let declared = declare::declare_build(topology, plan)?;
    let cluster_of: Vec<Option<String>> = plan
        .steps
        .iter()
        .map(|step| step.cluster_name.clone())
        .collect();
    prove_all(&declared, &cluster_of)
}

/// Proves the change window from `old` to `new`.
pub fn change(
    old: &Topology,
    new: &Topology,
    set: &ChangeSet,
    change_plan: &ChangePlan,
) -> Result<Proven, Unproven> {
    let declared = declare::declare_change(old, new, set, change_plan)?;
    let cluster_of: Vec<Option<String>> = change_plan
        .plan
        .steps
        .iter()
        .map(|step| step.cluster_name.clone())
        .collect();
    prove_all(&declared, &cluster_of)
}

/// Each cluster's window proven on its own, its steps' offline sets put
/// back in plan order.
fn prove_all(declared: &[Declared], cluster_of: &[Option<String>]) -> Result<Proven, Unproven> {
    // Clusters share nothing in the model: each is proven on its own core.
    let proofs: Vec<platform::Proof> = declared
        .par_iter()
        .map(|window| platform::prove(&window.start, &window.steps, &window.target))
        .collect();
    let mut findings = Vec::new();
    let mut offline = vec![Vec::new(); cluster_of.len()];
    let mut effects = vec![Vec::new(); cluster_of.len()];
    for (window, proof) in declared.iter().zip(proofs) {
        findings.extend(proof.findings);
        let positions = cluster_of
            .iter()
            .enumerate()
            .filter(|(_, cluster)| cluster.as_deref() == Some(window.cluster.as_str()))
            .map(|(position, _)| position);
        for ((position, step_offline), step_effects) in
            positions.zip(proof.offline).zip(proof.effects)
        {
            offline[position] = step_offline;
            effects[position] = step_effects;
        }
    }
    if findings.is_empty() {
        Ok(Proven { offline, effects })
    } else {
        Err(Unproven::Findings(findings))
    }
}
