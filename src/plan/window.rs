//! What a change board asks of every step: how long it takes, what users
//! feel, how to back out; and where the window stops for a go/no-go.
//!
//! Kept apart from the blueprint table on purpose: these facts are keyed by
//! blueprint step id, so a step added to the blueprint without them fails the
//! test below instead of printing a runbook that cannot be approved.
//! Durations are estimates for a small estate on ordinary hardware, and a
//! step that passes the copy-health gate counts the gate's longest wait
//! (ten minutes, `health.rs`); the
//! runbook says so and the dry run replaces them with measured times.

use super::{Plan, Step};

/// Time, outage and back-out of one blueprint step.
#[derive(Debug, Clone, Copy)]
pub struct StepWindow {
    /// Blueprint step id.
    pub id: &'static str,
    /// Estimated minutes, for one host.
    pub minutes: u32,
    /// What users lose while the step runs; `None` when nobody notices.
    pub outage: Option<&'static str>,
    /// The state the step leaves and how to undo it.
    pub back_out: &'static str,
}

/// A go/no-go gate, placed before the first step of the plan with id `before`.
#[derive(Debug, Clone, Copy)]
pub struct Gate {
    pub before: &'static str,
    /// Ends "Go/no-go: " in the heading.
    pub title: &'static str,
    pub why: &'static str,
}

/// The point of no return: placed before the first step with id `before`.
#[derive(Debug, Clone, Copy)]
pub struct NoReturn {
    pub before: &'static str,
    pub why: &'static str,
}

const NOTHING: &str = "Nothing to undo: the step only reads and reports.";
const RESTART: &str = "Nothing to undo: a restart changes nothing.";
// The order of an uninstall: the CMS is removed before Exchange leaves either
// node, the passive node before the active one ("Uninstalling Clustered
// Mailbox Servers", Exchange 2007 SP1-SP3, bb885058: remove the CMS, then
// Exchange from each node); Stop-ClusteredMailboxServer needs -StopReason
// (aa997179).
const EXCHANGE_INSTALLED: &str = "Leaves Exchange installed and the clustered mailbox server in Active Directory. Past the point of no return: undoing it is a change of its own that does not fit in this window, in this order: stop the clustered mailbox server (`Stop-ClusteredMailboxServer -Identity <CMS> -StopReason <reason> -Confirm:$false`); remove it with `Setup.com /RemoveCms` on the node where it is active (confirm the switch with `Setup.com /?` on the SP3 media); then run `Setup.com /mode:Uninstall` on the passive node, and last on the node that was active. Never uninstall a node while the clustered mailbox server is still installed. If setup fails, fix forward: read the setup log and run the step again.";

/// The CCR 2007 blueprint's steps, by id.
pub const CCR2007: &[StepWindow] = &[
    StepWindow {
        id: "preflight",
        minutes: 5,
        outage: None,
        back_out: "Nothing to undo: the checks change nothing.",
    },
    StepWindow {
        id: "install-failover-clustering",
        minutes: 10,
        outage: None,
        back_out: "Leaves the Failover Clustering feature installed, and Windows PowerShell where this step added it. To undo: Server Manager, Features, Remove Features, then restart if asked; nothing uses them yet.",
    },
    StepWindow {
        id: "restart-if-asked",
        minutes: 10,
        outage: None,
        back_out: RESTART,
    },
    StepWindow {
        id: "execution-policy",
        minutes: 5,
        outage: None,
        back_out: "Leaves the execution policy at RemoteSigned, with the one before the window recorded in `execution-policy-before.txt` in this window's folder. The last step of the window sets it back, never below RemoteSigned where Exchange is installed; to back out now, run `Set-ExecutionPolicy` with the recorded policy in an elevated Windows PowerShell, but RemoteSigned where Exchange is installed and the recorded one is Restricted or AllSigned.",
    },
    StepWindow {
        id: "validate-cluster",
        minutes: 15,
        outage: None,
        back_out: "Nothing to undo: validation only reads. Keep the report for the change record.",
    },
    StepWindow {
        id: "create-cluster",
        minutes: 5,
        outage: None,
        back_out: "Leaves a one-node cluster and its computer account in Active Directory. To undo: Failover Cluster Manager, More Actions, Destroy Cluster; then delete the cluster's computer account if it stays in Active Directory.",
    },
    StepWindow {
        id: "add-node",
        minutes: 5,
        outage: None,
        back_out: "Leaves both nodes in the cluster. To undo: Failover Cluster Manager, Nodes, evict the second node; or destroy the cluster as for the create step.",
    },
    StepWindow {
        id: "cluster-networks",
        minutes: 5,
        outage: None,
        back_out: "Leaves the cluster networks renamed, with their roles. To undo: rename them and set their roles back in Failover Cluster Manager, Networks, Properties; destroying the cluster removes them too.",
    },
    StepWindow {
        id: "exchange-prerequisites",
        minutes: 15,
        outage: None,
        back_out: "Leaves the IIS role services installed. To undo: Server Manager, Roles, Web Server, Remove Role Services; nothing uses them yet.",
    },
    StepWindow {
        id: "restart-after-prerequisites",
        minutes: 10,
        outage: None,
        back_out: RESTART,
    },
    StepWindow {
        id: "witness-share",
        minutes: 5,
        outage: None,
        back_out: "Leaves the witness folder, its share and permissions. To undo: stop sharing it with `net share` and `/delete`, then delete the empty folder; nothing uses it until the quorum step.",
    },
    StepWindow {
        id: "quorum",
        minutes: 5,
        outage: None,
        back_out: "Leaves the cluster on node and file share majority. To undo: Failover Cluster Manager, More Actions, Configure Cluster Quorum Settings, Node Majority; destroying the cluster removes it too.",
    },
    StepWindow {
        id: "setup-active-cms",
        minutes: 45,
        outage: None,
        back_out: EXCHANGE_INSTALLED,
    },
    StepWindow {
        id: "restart-active-node",
        minutes: 15,
        outage: Some(
            "only if setup asked for the restart: the clustered mailbox server is stopped from Stop-ClusteredMailboxServer until Start-ClusteredMailboxServer after the restart. On a new server no mailbox lives there yet, so users notice nothing unless mailboxes were moved in early.",
        ),
        back_out: RESTART,
    },
    StepWindow {
        id: "setup-passive-node",
        minutes: 45,
        outage: None,
        back_out: EXCHANGE_INSTALLED,
    },
    StepWindow {
        id: "restart-passive-node",
        minutes: 15,
        outage: None,
        back_out: RESTART,
    },
    StepWindow {
        id: "verify-cms",
        // The script waits up to ten minutes for every copy to become Healthy.
        minutes: 10,
        outage: None,
        back_out: NOTHING,
    },
    StepWindow {
        id: "check-cms-in-console",
        minutes: 5,
        outage: None,
        back_out: NOTHING,
    },
    StepWindow {
        id: "suspend-and-move-paths",
        minutes: 20,
        outage: Some(
            "the database is dismounted from this step until it is mounted again. On a new server it holds no mailbox yet, so users notice nothing unless mailboxes were moved in early.",
        ),
        back_out: "Leaves replication suspended, the database dismounted and the new paths in the configuration, with the files still in the old folders. To undo: run both `-ConfigurationOnly` moves (`Move-StorageGroupPath`, `Move-DatabasePath`) back to the old paths, which are in this step's log; mount the database; resume the copy with `Resume-StorageGroupCopy`. Never accept an offer to create an empty database when mounting: it would replace every mailbox in that database with an empty one.",
    },
    StepWindow {
        id: "move-database-files",
        minutes: 15,
        outage: Some(
            "the database stays dismounted while its files move; a file moved to another volume is copied, about a minute per 2 GB of the database and logs.",
        ),
        back_out: "Leaves the files in the new folders on this node; a file copied to another volume keeps its original in the old folder. To undo: back out the suspend step (both `-ConfigurationOnly` moves back to the old paths), then on this node put back in the old folder any .log, .chk or .edb file that is only in the new folders (one that was renamed), and delete the copies in the new folders; then mount and resume.",
    },
    StepWindow {
        id: "mount-and-resume",
        minutes: 10,
        outage: Some("the database is dismounted until this step mounts it."),
        back_out: "Leaves the database mounted at its new paths and the copy resumed. To undo: run the move again towards the old paths (suspend, dismount, both `-ConfigurationOnly` moves, move the files on both nodes, mount, resume): as long as this phase, with the same outage.",
    },
    StepWindow {
        id: "create-storage-folders",
        minutes: 5,
        outage: None,
        back_out: "Leaves empty folders. To undo: delete them; they stay empty until the next step.",
    },
    StepWindow {
        id: "create-storage-groups",
        minutes: 10,
        outage: None,
        back_out: "Leaves the new storage groups and their empty databases, mounted. To undo, before any mailbox moves in: dismount and remove each new database, then its storage group, in the Exchange Management Console; the files stay on disk.",
    },
    StepWindow {
        id: "final-verification",
        minutes: 10,
        outage: None,
        back_out: NOTHING,
    },
    StepWindow {
        id: "restore-execution-policy",
        minutes: 5,
        outage: None,
        back_out: "Leaves the execution policy the server had before the window, or RemoteSigned where Exchange is installed and the policy before was Restricted or AllSigned (the Exchange Management Shell needs RemoteSigned). Nothing to undo; to run a PowerShell step of this window again later, run the step that allows them first.",
    },
];

/// The steps of a change window (`runsheet change`) that the build does not
/// have; the ones it shares (folders, storage groups, verify, execution
/// policy) keep the build's facts.
pub const CHANGE: &[StepWindow] = &[
    StepWindow {
        id: "change-precheck",
        minutes: 15,
        outage: None,
        back_out: NOTHING,
    },
    StepWindow {
        id: "change-move-configuration",
        minutes: 20,
        outage: Some(
            "the storage group's database is dismounted from this step until the mount step; mailboxes in it cannot be reached.",
        ),
        back_out: "Leaves replication suspended, the database dismounted and the new paths in the configuration, with the files still in the old folders. To undo: run this storage group's `-ConfigurationOnly` move back to the old paths (the back-out section prints it), mount the database, resume the copy. Never accept an offer to create an empty database when mounting: it would replace every mailbox in that database with an empty one.",
    },
    StepWindow {
        id: "change-move-files",
        minutes: 15,
        outage: Some(
            "the database stays dismounted while its files move; a file moved to another volume is copied, about a minute per 2 GB. The file steps of the two nodes may run at the same time, so the outage is the longer copy, not both.",
        ),
        back_out: "Leaves this node's files in the new folders; a file copied to another volume keeps its original in the old folder. To undo, in this order (the back-out section has the commands): this storage group's `-ConfigurationOnly` move back to the old paths, the files back to the old folders on each node, mount, resume.",
    },
    StepWindow {
        id: "change-mount-and-resume",
        minutes: 15,
        outage: Some(
            "the database is dismounted until this step mounts it. Where its database file moved, Exchange Search then indexes it again: for some hours searches in Outlook Web Access and in Outlook without cached mode miss items.",
        ),
        back_out: "Leaves the database mounted at its new paths and the copy resumed. From here back-out is no simple reversal: mail is written at the new paths, and moving back is a second move (`runsheet change` with the two topologies swapped), with its own outage. Before it, move the originals this change kept (its `KEPT` lines) aside on both nodes: they are out of date, and the second move's pre-check refuses files at its target.",
    },
    StepWindow {
        id: "change-confirm-removal",
        minutes: 5,
        outage: None,
        back_out: "Nothing to undo: the confirmation changes nothing.",
    },
    StepWindow {
        id: "change-remove-storage-group",
        minutes: 5,
        outage: None,
        back_out: "Past the point of no return for this storage group: the database and the storage group are gone from Exchange (the step refuses while any mailbox is in the database, so no user loses a mailbox). The files stay on both nodes, the database file in Clean Shutdown; the way back is the back-out section: the storage group and database created again over those files (`-AllowFileRestore`), mounted, and the passive copy seeded again.",
    },
];

/// The gates of the CCR 2007 build.
pub const CCR2007_GATES: &[Gate] = &[
    Gate {
        before: "create-cluster",
        title: "before the cluster is created",
        why: "Until here only features and settings of the nodes have changed. From the next step on, the build creates objects in Active Directory and takes the cluster and CMS names and addresses on the network. Continue only when every pre-flight passed, the features are installed and the validation report shows no failure.",
    },
    Gate {
        before: "suspend-and-move-paths",
        title: "before the database is dismounted",
        why: "The next step dismounts the database until the files have moved. On a new server it holds no mailbox yet; if mailboxes were moved in already, their users lose service until it is mounted again, so tell them and take a backup of the storage group first. Continue only when the clustered mailbox server is online and every copy is healthy.",
    },
];

/// The point of no return of the CCR 2007 build.
// The cluster name object creates the computer objects of clustered services
// (the CMS's among them) and needs Create Computer objects on its OU, or a
// pre-staged object with Full Control for it ("Failover Cluster Step-by-Step
// Guide: Configuring Accounts in Active Directory", cc731002, v=ws.10). No script
// can read that right before Exchange setup uses it: the operator checks it here.
pub const CCR2007_NO_RETURN: NoReturn = NoReturn {
    before: "setup-active-cms",
    why: "Before this step, every change can be undone inside the window (see each step's back-out). From this step on, Exchange and the clustered mailbox server exist in Active Directory: undoing them is an Exchange uninstall, planned as a change of its own. If a later step fails, fix forward. Before going on, check by eye, for each cluster, what \"Before you start\" says of its computer account (the cluster name followed by `$`): it may create the clustered mailbox server's computer account in its OU, or that account is pre-staged with Full Control for it; Exchange setup cannot create the clustered mailbox server without it.",
};

/// Each gate with the step it stands before, in plan order; a gate whose
/// step is not in the plan is left out.
pub fn gates(plan: &Plan) -> Vec<(&'static Gate, &super::Step)> {
    CCR2007_GATES
        .iter()
        .filter_map(|gate| first_step(plan, gate.before).map(|step| (gate, step)))
        .collect()
}

/// The step the point of no return stands before, if the plan has it.
pub fn no_return(plan: &Plan) -> Option<(&'static NoReturn, &super::Step)> {
    first_step(plan, CCR2007_NO_RETURN.before).map(|step| (&CCR2007_NO_RETURN, step))
}

fn first_step<'a>(plan: &'a Plan, def_id: &str) -> Option<&'a super::Step> {
    plan.steps.iter().find(|step| step.def_id == def_id)
}

/// The facts of a blueprint step.
pub fn step(id: &str) -> Option<&'static StepWindow> {
    CCR2007.iter().chain(CHANGE).find(|facts| facts.id == id)
}

/// Minutes of a blueprint step; an unknown step counts as nothing.
pub fn minutes(id: &str) -> u32 {
    step(id).map_or(0, |facts| facts.minutes)
}

/// Minutes as an operator reads them: `45 min`, `1 h 05 min`.
pub fn duration(minutes: u32) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m:02} min"),
    }
}

/// A run of consecutive steps during which users lose service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutageSpan {
    /// Labels of its first and last step.
    pub first: String,
    pub last: String,
    pub minutes: u32,
}

/// Totals of a plan: how long, and when users lose service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub minutes: u32,
    pub outage_minutes: u32,
    pub outages: Vec<OutageSpan>,
}

/// What users lose while a step runs, in the runbook's words: the platform
/// model decides whether anything is offline (`Step::offline`, filled by the
/// prove arrow); the step's typed text, where it has one, says it for the
/// operator, otherwise the model's list does.
pub fn outage(step: &Step) -> Option<String> {
    if step.offline.is_empty() {
        return None;
    }
    Some(
        match self::step(step.def_id).and_then(|facts| facts.outage) {
            Some(words) => words.to_owned(),
            None => format!("{} offline.", step.offline.join(", ")),
        },
    )
}

/// Steps run one at a time, so the window is the sum of its steps, and each
/// outage lasts from the first step of a run of outage steps to the end of its last.
pub fn summary(plan: &Plan) -> Summary {
    let mut outages: Vec<OutageSpan> = Vec::new();
    let mut open = false;
    let mut minutes = 0;
    for step in &plan.steps {
        let facts = self::step(step.def_id);
        let step_minutes = facts.map_or(0, |f| f.minutes);
        minutes += step_minutes;
        let outage = !step.offline.is_empty();
        match (outage, open, outages.last_mut()) {
            (true, true, Some(span)) => {
                span.last = step.label();
                span.minutes += step_minutes;
            }
            (true, _, _) => outages.push(OutageSpan {
                first: step.label(),
                last: step.label(),
                minutes: step_minutes,
            }),
            (false, _, _) => {}
        }
        open = outage;
    }
    Summary {
        minutes,
        outage_minutes: outages.iter().map(|span| span.minutes).sum(),
        outages,
    }
}

impl OutageSpan {
    /// `step 170` or `steps 220 to 250`.
    pub fn steps(&self) -> String {
        if self.first == self.last {
            format!("step {}", self.first)
        } else {
            format!("steps {} to {}", self.first, self.last)
        }
    }
}

impl Summary {
    /// One sentence for the cover and the overview.
    pub fn outage_text(&self) -> String {
        if self.outages.is_empty() {
            return "none: no step takes a service away from users".to_owned();
        }
        let spans: Vec<String> = self
            .outages
            .iter()
            .map(|span| format!("{} ({})", span.steps(), duration(span.minutes)))
            .collect();
        format!(
            "{} in all: {}",
            duration(self.outage_minutes),
            spans.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_blueprint_step_has_time_outage_and_back_out() {
        for def in super::super::ccr2007::STEPS {
            let facts = step(def.id).unwrap_or_else(|| {
                panic!(
                    "{}: no entry in plan/window.rs (time, outage, back out)",
                    def.id
                )
            });
            assert!(facts.minutes > 0, "{}: no time", def.id);
            assert!(!facts.back_out.is_empty(), "{}: no back-out", def.id);
        }
        for facts in CCR2007 {
            assert!(
                super::super::ccr2007::STEPS
                    .iter()
                    .any(|def| def.id == facts.id),
                "{}: window facts for a step the blueprint does not have",
                facts.id
            );
        }
        let ids = CCR2007_GATES
            .iter()
            .map(|gate| gate.before)
            .chain([CCR2007_NO_RETURN.before]);
        for id in ids {
            assert!(step(id).is_some(), "{id}: a gate before an unknown step");
        }
    }

    #[test]
    fn every_change_step_has_time_outage_and_back_out() {
        for def in crate::change::STEP_DEFS {
            let facts = step(def.id).unwrap_or_else(|| {
                panic!(
                    "{}: no entry in plan/window.rs (time, outage, back out)",
                    def.id
                )
            });
            assert!(facts.minutes > 0, "{}: no time", def.id);
        }
        for facts in CHANGE {
            assert!(
                crate::change::STEP_DEFS
                    .iter()
                    .any(|def| def.id == facts.id),
                "{}: window facts for a step no change has",
                facts.id
            );
        }
    }

    #[test]
    fn the_seed_window_sums_its_steps_and_finds_its_outages() {
        let checked = crate::check::check(include_str!("../../examples/contoso-ccr.yaml"));
        let validated = checked.validated().expect("the seed is valid");
        let mut plan = super::super::plan(validated);
        crate::prove::annotate_build(validated.topology, &mut plan).expect("the seed is proven");
        let summary = summary(&plan);
        let total: u32 = plan.steps.iter().map(|s| minutes(s.def_id)).sum();
        assert_eq!(summary.minutes, total);
        let label = |id: &str| {
            first_step(&plan, id)
                .map(super::super::Step::label)
                .unwrap_or_default()
        };
        let spans: Vec<String> = summary.outages.iter().map(OutageSpan::steps).collect();
        // The first node's restart takes the CMS down; the move dismounts the database.
        assert_eq!(
            spans,
            [
                format!("step {}", label("restart-active-node")),
                format!(
                    "steps {} to {}",
                    label("suspend-and-move-paths"),
                    label("mount-and-resume")
                )
            ]
        );
        assert_eq!(
            summary.outage_minutes,
            minutes("restart-active-node")
                + minutes("suspend-and-move-paths")
                + 2 * minutes("move-database-files")
                + minutes("mount-and-resume")
        );
        let gates: Vec<String> = gates(&plan).iter().map(|(_, s)| s.label()).collect();
        assert_eq!(
            gates,
            [label("create-cluster"), label("suspend-and-move-paths")]
        );
        assert_eq!(
            no_return(&plan).map(|(_, s)| s.label()),
            Some(label("setup-active-cms"))
        );
    }

    #[test]
    fn durations_read_like_a_clock() {
        assert_eq!(duration(5), "5 min");
        assert_eq!(duration(60), "1 h");
        assert_eq!(duration(65), "1 h 05 min");
    }
}
