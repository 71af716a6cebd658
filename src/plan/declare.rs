//! What each step of a window needs, when it is already done and what it
//! does, in the platform model's terms ([`StepSpec`]), and the states a
//! window starts from and leads to. The prover (`platform::prove`) runs a
//! plan's specs from its start state.
//!
//! Kept apart from the blueprint tables, keyed by blueprint step id, as the
//! window facts are (`window.rs`): a declaration depends on the topology
//! (node names, paths, the change a step serves), and a step added to a
//! blueprint without one fails [`declare_build`] / [`declare_change`] with
//! its id instead of passing unproven.

use std::collections::BTreeMap;

use crate::change::{ChangeKind, ChangePlan, ChangeSet, Paths};
use crate::model::{Cluster, FIRST_STORAGE_GROUP, Topology, Windows};
use crate::platform::condition::CopyAllowed;
use crate::platform::{
    Action, Actor, Cms, Condition, CopyStatus, Feature, FileKind, Group, Policy, Quorum, Role,
    State, StepSpec, rules,
};

use super::{Plan, Step, window};

/// One cluster's window, ready to prove.
#[derive(Debug, Clone)]
pub struct Declared {
    pub cluster: String,
    pub start: State,
    pub steps: Vec<StepSpec>,
    pub target: State,
}

/// A step id the declarations do not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undeclared(pub String);

/// The storage groups of a cluster as its topology describes them, with
/// `First Storage Group` where setup puts it when the topology leaves it
/// out.
pub fn groups_of(cluster: &Cluster) -> Vec<Group> {
    let mailbox = &cluster.mailbox;
    let mut groups: Vec<Group> = mailbox
        .storage_groups
        .iter()
        .filter_map(|group| {
            let database = group.databases.first()?;
            Some(Group {
                name: group.name.clone(),
                database: database.name.clone(),
                log_path: group.log_path.clone(),
                system_path: group.system_path.clone(),
                edb_path: database.edb_path.clone(),
                mounted: true,
                copy: CopyStatus::Healthy,
            })
        })
        .collect();
    let lists_first = groups
        .iter()
        .any(|group| group.name.eq_ignore_ascii_case(FIRST_STORAGE_GROUP));
    if !lists_first {
        let mut first = rules::setup_first_storage_group(mailbox.install_path.as_deref());
        first.copy = CopyStatus::Healthy;
        groups.insert(0, first);
    }
    groups
}

/// The cluster running as its topology describes it: the state a change
/// starts from (OLD) and leads to (NEW), and the end of a build.
pub fn running(cluster: &Cluster) -> State {
    let nodes: Vec<&str> = cluster.nodes.iter().map(String::as_str).collect();
    let mut state = State::bare(&cluster.name, &nodes);
    for node in state.nodes.values_mut() {
        node.features = [
            Feature::FailoverClustering,
            Feature::PowerShell,
            Feature::ExchangePrerequisites,
        ]
        .into();
        node.role = Role::Installed;
        node.policy = rules::EXCHANGE_SHELL_POLICY;
    }
    state.cluster = Some(crate::platform::Cluster {
        members: cluster.nodes.iter().cloned().collect(),
        quorum: Quorum::NodeAndFileShareMajority(witness_share(cluster)),
        networks_named: true,
    });
    state.witness.share_ready = true;
    state.cms = cluster.nodes.first().map(|first| Cms {
        name: cluster.mailbox.name.clone(),
        owner: first.clone(),
        stopped: false,
    });
    state.groups = groups_of(cluster)
        .into_iter()
        .map(|group| (group.name.clone(), group))
        .collect();
    state.place_files_as_configured();
    state
}

/// Bare servers, as a build finds them.
pub fn bare(topology: &Topology, cluster: &Cluster) -> State {
    let nodes: Vec<&str> = cluster.nodes.iter().map(String::as_str).collect();
    let mut state = State::bare(&cluster.name, &nodes);
    if topology.platform.windows == Windows::W2008R2 {
        // Windows Server 2008 R2 installs Windows PowerShell 2.0 by default.
        for node in state.nodes.values_mut() {
            node.features.insert(Feature::PowerShell);
        }
    }
    state
}

fn witness_share(cluster: &Cluster) -> String {
    format!("\\\\{}\\{}", cluster.witness.host, cluster.witness.share)
}

/// The build of every cluster of `plan`, declared.
pub fn declare_build(topology: &Topology, plan: &Plan) -> Result<Vec<Declared>, Undeclared> {
    let mut declared = Vec::new();
    for (index, cluster) in topology.clusters.iter().enumerate() {
        let context = Context::new(cluster, None);
        let mut steps = Vec::new();
        for step in plan.steps.iter().filter(|s| s.cluster == Some(index)) {
            steps.push(build_step(step, &context)?);
        }
        declared.push(Declared {
            cluster: cluster.name.clone(),
            start: bare(topology, cluster),
            steps,
            target: running(cluster),
        });
    }
    Ok(declared)
}

/// A change window, declared: `old` and `new` the two topologies.
pub fn declare_change(
    old: &Topology,
    new: &Topology,
    set: &ChangeSet,
    change_plan: &ChangePlan,
) -> Result<Vec<Declared>, Undeclared> {
    let mut declared = Vec::new();
    for cluster_index in set.clusters() {
        let Some(cluster) = new.clusters.get(cluster_index) else {
            continue;
        };
        let Some(old_cluster) = old.clusters.iter().find(|c| c.name == cluster.name) else {
            continue;
        };
        let context = Context::new(cluster, Some(set));
        let mut steps = Vec::new();
        for (position, step) in change_plan.plan.steps.iter().enumerate() {
            if step.cluster != Some(cluster_index) {
                continue;
            }
            let change = change_plan
                .change_of
                .get(position)
                .copied()
                .flatten()
                .and_then(|index| set.changes.get(index));
            steps.push(change_step(
                step,
                change.map(|c| (&c.group, &c.kind)),
                &context,
            )?);
        }
        declared.push(Declared {
            cluster: cluster.name.clone(),
            start: running(old_cluster),
            steps,
            target: running(cluster),
        });
    }
    Ok(declared)
}

/// What the declarations of one cluster's steps share.
struct Context {
    first: String,
    second: String,
    nodes: Vec<String>,
    cms: String,
    share: String,
    setup_groups: Vec<Group>,
    /// NEW's groups, by name.
    groups: BTreeMap<String, Group>,
    /// The groups a change adds, with their paths.
    added: Vec<Group>,
    /// The groups a change touches (moved, added or removed), by name.
    changed: Vec<String>,
}

impl Context {
    fn new(cluster: &Cluster, set: Option<&ChangeSet>) -> Context {
        let groups = groups_of(cluster);
        let added = set
            .map(|set| {
                set.changes
                    .iter()
                    .filter(|c| c.cluster_name == cluster.name)
                    .filter_map(|c| match &c.kind {
                        ChangeKind::Add { .. } => {
                            groups.iter().find(|g| g.name == c.group).cloned()
                        }
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let changed = set
            .map(|set| {
                set.changes
                    .iter()
                    .filter(|c| c.cluster_name == cluster.name)
                    .map(|c| c.group.clone())
                    .collect()
            })
            .unwrap_or_default();
        Context {
            changed,
            first: cluster.nodes.first().cloned().unwrap_or_default(),
            second: cluster.nodes.get(1).cloned().unwrap_or_default(),
            nodes: cluster.nodes.clone(),
            cms: cluster.mailbox.name.clone(),
            share: witness_share(cluster),
            setup_groups: vec![rules::setup_first_storage_group(
                cluster.mailbox.install_path.as_deref(),
            )],
            groups: groups.into_iter().map(|g| (g.name.clone(), g)).collect(),
            added,
        }
    }
}

fn spec(
    step: &Step,
    requires: Vec<Condition>,
    done_when: Vec<Condition>,
    actions: Vec<Action>,
) -> StepSpec {
    StepSpec {
        label: format!("{} {}", step.label(), step.id),
        requires,
        done_when,
        actions: actions.into_iter().map(|a| (Actor::Script, a)).collect(),
        outage: window::step(step.def_id).is_some_and(|w| w.outage.is_some()),
        reports_pending_restart: false,
    }
}

fn by_operator(mut spec: StepSpec) -> StepSpec {
    for action in &mut spec.actions {
        action.0 = Actor::Operator;
    }
    spec
}

fn reports_restart(mut spec: StepSpec) -> StepSpec {
    spec.reports_pending_restart = true;
    spec
}

fn all_healthy(context: &Context) -> Vec<Condition> {
    context
        .groups
        .keys()
        .map(|name| Condition::CopyIs(name.clone(), vec![CopyAllowed::Healthy]))
        .collect()
}

fn online() -> Condition {
    Condition::CmsServing {
        offline_allowed: Vec::new(),
    }
}

fn serving_without(groups: &[&str]) -> Condition {
    Condition::CmsServing {
        offline_allowed: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

fn build_step(step: &Step, context: &Context) -> Result<StepSpec, Undeclared> {
    let host = step.host.clone();
    let first = context.first.clone();
    let second = context.second.clone();
    let feature = |node: &str, feature| Condition::FeatureInstalled(node.to_owned(), feature);
    Ok(match step.def_id {
        "preflight" | "validate-cluster" | "check-cms-in-console" => {
            spec(step, vec![], vec![], vec![])
        }
        "install-failover-clustering" => reports_restart(spec(
            step,
            vec![],
            vec![
                feature(&host, Feature::FailoverClustering),
                feature(&host, Feature::PowerShell),
            ],
            vec![
                Action::InstallFeature {
                    node: host.clone(),
                    feature: Feature::FailoverClustering,
                    restart: true,
                },
                Action::InstallFeature {
                    node: host.clone(),
                    feature: Feature::PowerShell,
                    restart: false,
                },
            ],
        )),
        "exchange-prerequisites" => reports_restart(spec(
            step,
            vec![],
            vec![feature(&host, Feature::ExchangePrerequisites)],
            vec![Action::InstallFeature {
                node: host.clone(),
                feature: Feature::ExchangePrerequisites,
                restart: true,
            }],
        )),
        "restart-if-asked" | "restart-after-prerequisites" | "restart-passive-node" => {
            by_operator(spec(
                step,
                vec![],
                vec![],
                vec![Action::Restart { node: host.clone() }],
            ))
        }
        "execution-policy" => allow_scripts(step, &host),
        "create-cluster" => spec(
            step,
            vec![feature(&first, Feature::FailoverClustering)],
            vec![Condition::ClusterExists(true)],
            vec![Action::CreateCluster {
                node: first.clone(),
            }],
        ),
        "add-node" => spec(
            step,
            vec![
                Condition::ClusterExists(true),
                feature(&second, Feature::FailoverClustering),
            ],
            vec![Condition::ClusterMember(second.clone())],
            vec![Action::AddNode {
                node: second.clone(),
            }],
        ),
        "cluster-networks" => spec(
            step,
            vec![Condition::ClusterMember(second.clone())],
            vec![Condition::NetworksNamed],
            vec![Action::NameNetworks],
        ),
        "witness-share" => spec(
            step,
            vec![Condition::ClusterExists(true)],
            vec![Condition::WitnessShareReady],
            vec![Action::CreateWitnessShare],
        ),
        "quorum" => spec(
            step,
            vec![
                Condition::WitnessShareReady,
                Condition::ClusterMember(second.clone()),
            ],
            vec![Condition::QuorumFileShare(true)],
            vec![Action::QuorumFileShare {
                share: context.share.clone(),
            }],
        ),
        "setup-active-cms" => reports_restart(spec(
            step,
            vec![
                Condition::QuorumFileShare(true),
                feature(&first, Feature::ExchangePrerequisites),
                Condition::RestartPending(first.clone(), false),
                Condition::PolicyAtLeast(first.clone(), Policy::RemoteSigned),
            ],
            vec![
                Condition::CmsExists(true),
                Condition::ExchangeRole(first.clone(), Role::Installed),
            ],
            vec![
                Action::InstallMailboxRole {
                    node: first.clone(),
                    restart: false,
                },
                Action::NewCms {
                    node: first.clone(),
                    name: context.cms.clone(),
                    groups: context.setup_groups.clone(),
                    restart: true,
                },
            ],
        )),
        "restart-active-node" => by_operator(spec(
            step,
            vec![],
            vec![],
            vec![Action::Restart {
                node: first.clone(),
            }],
        )),
        "setup-passive-node" => reports_restart(spec(
            step,
            vec![
                Condition::CmsExists(true),
                online(),
                feature(&second, Feature::ExchangePrerequisites),
                Condition::RestartPending(second.clone(), false),
                Condition::PolicyAtLeast(second.clone(), Policy::RemoteSigned),
            ],
            vec![Condition::ExchangeRole(second.clone(), Role::Installed)],
            vec![Action::SeedPassive {
                node: second.clone(),
                restart: true,
            }],
        )),
        "verify-cms" => {
            let mut requires = vec![online()];
            requires.extend(
                context
                    .setup_groups
                    .iter()
                    .map(|g| Condition::CopyIs(g.name.clone(), vec![CopyAllowed::Healthy])),
            );
            spec(step, requires, vec![], vec![])
        }
        "suspend-and-move-paths" => {
            let group = FIRST_STORAGE_GROUP.to_owned();
            let Some(wanted) = context.groups.get(FIRST_STORAGE_GROUP) else {
                return Err(Undeclared(step.id.clone()));
            };
            let ours = vec![CopyAllowed::Healthy, CopyAllowed::SuspendedByWindow];
            spec(
                step,
                vec![
                    serving_without(&[FIRST_STORAGE_GROUP]),
                    Condition::CopyIs(group.clone(), ours),
                ],
                vec![
                    configured(wanted),
                    Condition::DatabaseMounted(group.clone(), false),
                    Condition::CopyIs(group.clone(), vec![CopyAllowed::SuspendedByWindow]),
                ],
                vec![
                    Action::SuspendCopy {
                        group: group.clone(),
                    },
                    Action::Dismount {
                        group: group.clone(),
                    },
                    move_configuration(wanted),
                ],
            )
        }
        "move-database-files" => {
            let Some(wanted) = context.groups.get(FIRST_STORAGE_GROUP) else {
                return Err(Undeclared(step.id.clone()));
            };
            let from = paths_of(&context.setup_groups[0]);
            let to = paths_of(wanted);
            move_files_spec(step, &host, FIRST_STORAGE_GROUP, &from, &to, wanted)?
        }
        "mount-and-resume" => {
            let Some(wanted) = context.groups.get(FIRST_STORAGE_GROUP) else {
                return Err(Undeclared(step.id.clone()));
            };
            mount_spec(step, context, wanted)?
        }
        "create-storage-folders" => spec(step, vec![], vec![], vec![]),
        "create-storage-groups" => {
            let new_groups: Vec<Group> = context
                .groups
                .values()
                .filter(|g| !g.name.eq_ignore_ascii_case(FIRST_STORAGE_GROUP))
                .cloned()
                .collect();
            create_groups_spec(step, &new_groups)
        }
        "final-verification" => {
            let mut requires = vec![online()];
            requires.extend(all_healthy(context));
            spec(step, requires, vec![], vec![])
        }
        "restore-execution-policy" => restore_policy(step, &host),
        _ => return Err(Undeclared(step.id.clone())),
    })
}

/// The window's scripts need RemoteSigned; the policy before is recorded
/// once, on the first run.
fn allow_scripts(step: &Step, host: &str) -> StepSpec {
    spec(
        step,
        vec![Condition::FeatureInstalled(
            host.to_owned(),
            Feature::PowerShell,
        )],
        vec![],
        vec![Action::AllowScripts {
            node: host.to_owned(),
        }],
    )
}

/// The recorded policy back, never below what the Exchange shell needs
/// where Exchange is installed (issue 16 item 16).
fn restore_policy(step: &Step, host: &str) -> StepSpec {
    spec(
        step,
        vec![],
        vec![],
        vec![Action::RestorePolicy {
            node: host.to_owned(),
            keep_exchange_shell: true,
        }],
    )
}

fn paths_of(group: &Group) -> Paths {
    Paths {
        log: group.log_path.clone(),
        system: group.system_path.clone(),
        edb: Some(group.edb_path.clone()),
    }
}

fn configured(group: &Group) -> Condition {
    Condition::PathsConfigured {
        group: group.name.clone(),
        log: group.log_path.clone(),
        system: group.system_path.clone(),
        edb: group.edb_path.clone(),
    }
}

fn move_configuration(group: &Group) -> Action {
    Action::MoveConfiguration {
        group: group.name.clone(),
        log: group.log_path.clone(),
        system: group.system_path.clone(),
        edb: group.edb_path.clone(),
    }
}

/// Whether two paths are on one volume, as far as the topology can tell:
/// the same drive letter (a volume mounted in a folder is its own volume at
/// run time; the scripts check it, the model takes the drive).
fn same_volume(a: &str, b: &str) -> bool {
    let drive = |p: &str| p.chars().next().map(|c| c.to_ascii_uppercase());
    drive(a) == drive(b)
}

/// The moves of one node's files: a rename within a volume, a copy that is
/// checked before anything relies on it to another; sources of copies are
/// kept until the window is over.
fn file_moves(node: &str, group: &str, from: &Paths, to: &Paths) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut kinds = vec![
        (FileKind::Logs, from.log.clone(), to.log.clone()),
        (FileKind::Checkpoint, from.system.clone(), to.system.clone()),
    ];
    if let (Some(old), Some(new)) = (&from.edb, &to.edb) {
        kinds.insert(0, (FileKind::Database, old.clone(), new.clone()));
    }
    for (kind, old, new) in kinds {
        if old.eq_ignore_ascii_case(&new) {
            continue;
        }
        if same_volume(&old, &new) {
            actions.push(Action::RenameFiles {
                node: node.to_owned(),
                group: group.to_owned(),
                kind,
                from: old,
                to: new,
            });
        } else {
            actions.push(Action::CopyFiles {
                node: node.to_owned(),
                group: group.to_owned(),
                kind,
                from: old,
                to: new.clone(),
            });
            actions.push(Action::ProveFiles {
                node: node.to_owned(),
                group: group.to_owned(),
                kind,
                path: new,
            });
        }
    }
    actions
}

fn move_files_spec(
    step: &Step,
    node: &str,
    group: &str,
    from: &Paths,
    to: &Paths,
    wanted: &Group,
) -> Result<StepSpec, Undeclared> {
    let mut done = Vec::new();
    for (kind, path) in [
        (FileKind::Database, &wanted.edb_path),
        (FileKind::Logs, &wanted.log_path),
        (FileKind::Checkpoint, &wanted.system_path),
    ] {
        done.push(Condition::FilesAt {
            node: node.to_owned(),
            group: group.to_owned(),
            kind,
            path: path.clone(),
            proven: true,
        });
    }
    Ok(spec(
        step,
        vec![
            configured(wanted),
            Condition::DatabaseMounted(group.to_owned(), false),
            Condition::CopyIs(group.to_owned(), vec![CopyAllowed::SuspendedByWindow]),
        ],
        done,
        file_moves(node, group, from, to),
    ))
}

fn mount_spec(step: &Step, context: &Context, wanted: &Group) -> Result<StepSpec, Undeclared> {
    let group = wanted.name.clone();
    let mut requires = vec![
        serving_without(&[&group]),
        Condition::ActiveOn(context.first.clone()),
    ];
    for node in &context.nodes {
        requires.push(Condition::FilesAt {
            node: node.clone(),
            group: group.clone(),
            kind: FileKind::Database,
            path: wanted.edb_path.clone(),
            proven: true,
        });
    }
    Ok(spec(
        step,
        requires,
        vec![
            Condition::DatabaseMounted(group.clone(), true),
            Condition::CopyIs(group.clone(), vec![CopyAllowed::Healthy]),
        ],
        vec![
            Action::Mount {
                group: group.clone(),
            },
            Action::ResumeCopy {
                group: group.clone(),
            },
            Action::WaitHealthy { group },
        ],
    ))
}

fn create_groups_spec(step: &Step, groups: &[Group]) -> StepSpec {
    let mut done = Vec::new();
    let mut actions = Vec::new();
    for group in groups {
        done.push(Condition::GroupExists(group.name.clone(), true));
        done.push(Condition::DatabaseMounted(group.name.clone(), true));
        done.push(Condition::CopyIs(
            group.name.clone(),
            vec![CopyAllowed::Healthy],
        ));
        let mut created = group.clone();
        created.mounted = false;
        created.copy = CopyStatus::Initializing;
        actions.push(Action::CreateGroup { group: created });
        actions.push(Action::Mount {
            group: group.name.clone(),
        });
        actions.push(Action::WaitHealthy {
            group: group.name.clone(),
        });
    }
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    spec(step, vec![serving_without(&names)], done, actions)
}

fn change_step(
    step: &Step,
    change: Option<(&String, &ChangeKind)>,
    context: &Context,
) -> Result<StepSpec, Undeclared> {
    let host = step.host.clone();
    let undeclared = || Undeclared(step.id.clone());
    Ok(match step.def_id {
        "execution-policy" => allow_scripts(step, &host),
        "restore-execution-policy" => restore_policy(step, &host),
        "change-precheck" => {
            // The window's own databases may be offline: one a rerun or a
            // back-out finds dismounted, one it removes, one it adds.
            let ours: Vec<&str> = context.changed.iter().map(String::as_str).collect();
            let mut requires = vec![
                serving_without(&ours),
                Condition::ActiveOn(context.first.clone()),
            ];
            requires.extend(all_healthy_existing(context));
            spec(step, requires, vec![], vec![])
        }
        "change-move-configuration" => {
            let (group, _) = change.ok_or_else(undeclared)?;
            let wanted = context.groups.get(group).ok_or_else(undeclared)?;
            let ours = vec![CopyAllowed::Healthy, CopyAllowed::SuspendedByWindow];
            spec(
                step,
                vec![
                    serving_without(&[group]),
                    Condition::ActiveOn(context.first.clone()),
                    Condition::CopyIs(group.clone(), ours),
                ],
                vec![
                    configured(wanted),
                    Condition::DatabaseMounted(group.clone(), false),
                    Condition::CopyIs(group.clone(), vec![CopyAllowed::SuspendedByWindow]),
                ],
                vec![
                    Action::SuspendCopy {
                        group: group.clone(),
                    },
                    Action::Dismount {
                        group: group.clone(),
                    },
                    move_configuration(wanted),
                ],
            )
        }
        "change-move-files" => {
            let (group, kind) = change.ok_or_else(undeclared)?;
            let wanted = context.groups.get(group).ok_or_else(undeclared)?;
            let ChangeKind::Move { old, new, .. } = kind else {
                return Err(undeclared());
            };
            move_files_spec(step, &host, group, old, new, wanted)?
        }
        "change-mount-and-resume" => {
            let (group, _) = change.ok_or_else(undeclared)?;
            let wanted = context.groups.get(group).ok_or_else(undeclared)?;
            mount_spec(step, context, wanted)?
        }
        "create-storage-folders" => spec(step, vec![], vec![], vec![]),
        "create-storage-groups" => create_groups_spec(step, &context.added),
        "change-confirm-removal" => spec(step, vec![], vec![], vec![]),
        "change-remove-storage-group" => {
            let (group, _) = change.ok_or_else(undeclared)?;
            spec(
                step,
                vec![serving_without(&[group])],
                vec![Condition::GroupExists(group.clone(), false)],
                vec![Action::RemoveGroup {
                    group: group.clone(),
                }],
            )
        }
        "verify-cms" => {
            let mut requires = vec![online()];
            requires.extend(all_healthy(context));
            spec(step, requires, vec![], vec![])
        }
        _ => return Err(undeclared()),
    })
}

/// Healthy copies of the groups that exist before the change (OLD's):
/// NEW's minus the added ones.
fn all_healthy_existing(context: &Context) -> Vec<Condition> {
    context
        .groups
        .keys()
        .filter(|name| !context.added.iter().any(|g| &g.name == *name))
        .map(|name| Condition::CopyIs(name.clone(), vec![CopyAllowed::Healthy]))
        .collect()
}
