//! One change to the state, made by a script or an operator. Applying an
//! action follows the platform's rules (`rules.rs`); it is idempotent where
//! the step that makes it checks its effect first, as every step does, so a
//! rerun that applies an action again changes nothing more. An action that
//! the platform would refuse returns what it refused, and the prover reports
//! it.

use std::collections::BTreeSet;

use super::rules;
use super::{
    Cluster, Cms, CopyStatus, Feature, FileAt, FileKind, Group, Policy, Quorum, Role, State,
};

/// Who makes an action happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Script,
    Operator,
}

/// One change to the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A Windows feature installed; `restart` when it needs a restart to
    /// finish (ServerManagerCmd exits 3010).
    InstallFeature {
        node: String,
        feature: Feature,
        restart: bool,
    },
    /// A planned restart of a node: down, then up with nothing pending.
    Restart {
        node: String,
    },
    SetPolicy {
        node: String,
        policy: Policy,
    },
    /// The policy in force recorded (first run only), then RemoteSigned set
    /// so that the window's scripts run.
    AllowScripts {
        node: String,
    },
    /// The recorded policy set back; with `keep_exchange_shell`, never below
    /// what the Exchange shell needs on a node with Exchange installed.
    RestorePolicy {
        node: String,
        keep_exchange_shell: bool,
    },
    CreateCluster {
        node: String,
    },
    AddNode {
        node: String,
    },
    NameNetworks,
    CreateWitnessShare,
    /// The quorum set to Node and File Share Majority on this share.
    QuorumFileShare {
        share: String,
    },
    /// Exchange setup installs the mailbox role; `restart` when it leaves a
    /// restart pending.
    InstallMailboxRole {
        node: String,
        restart: bool,
    },
    /// `Setup.com /NewCms`: the CMS on this node, with the storage groups
    /// setup creates, mounted, their files written here.
    NewCms {
        node: String,
        name: String,
        groups: Vec<Group>,
        /// Setup leaves a restart pending.
        restart: bool,
    },
    /// The passive role: setup installs it and seeds every storage group
    /// to this node; `restart` when it leaves a restart pending.
    SeedPassive {
        node: String,
        restart: bool,
    },
    SuspendCopy {
        group: String,
    },
    ResumeCopy {
        group: String,
    },
    /// A copy resumed or new becomes Healthy once a closed log arrives; the
    /// passive node's files at the configured paths are then proven.
    WaitHealthy {
        group: String,
    },
    Dismount {
        group: String,
    },
    Mount {
        group: String,
    },
    /// A configuration-only move of the group's paths.
    MoveConfiguration {
        group: String,
        log: String,
        system: String,
        edb: String,
    },
    /// A copy to another volume: the copy is not proven until checked.
    CopyFiles {
        node: String,
        group: String,
        kind: FileKind,
        from: String,
        to: String,
    },
    /// A rename within one volume: the same file, still proven.
    RenameFiles {
        node: String,
        group: String,
        kind: FileKind,
        from: String,
        to: String,
    },
    /// A copy checked (clean shutdown, lengths): proven.
    ProveFiles {
        node: String,
        group: String,
        kind: FileKind,
        path: String,
    },
    DeleteFiles {
        node: String,
        group: String,
        kind: FileKind,
        path: String,
    },
    /// A new storage group with its database, not yet mounted.
    CreateGroup {
        group: Group,
    },
    /// The database (holding no mailbox) dismounted and removed with its
    /// storage group; files stay on disk.
    RemoveGroup {
        group: String,
    },
    /// The CMS handed to another node.
    MoveCms {
        to: String,
    },
    StopCms,
    StartCms,
}

impl Action {
    /// The change in an operator's words, for `runsheet plan`.
    pub fn describe(&self, state: &State) -> String {
        let database = |group: &str| {
            state
                .groups
                .get(group)
                .map_or_else(|| group.to_owned(), |g| g.resource())
        };
        match self {
            Action::InstallFeature {
                node,
                feature,
                restart,
            } => format!(
                "{node}: {} installed{}",
                feature_name(*feature),
                if *restart {
                    ", may ask for a restart"
                } else {
                    ""
                }
            ),
            Action::Restart { node } => format!("{node} restarts"),
            Action::SetPolicy { node, policy } => {
                format!("{node}: execution policy set to {policy:?}")
            }
            Action::AllowScripts { node } => format!(
                "{node}: execution policy recorded, then RemoteSigned (or what allows more) so the window's scripts run"
            ),
            Action::RestorePolicy {
                node,
                keep_exchange_shell,
            } => format!(
                "{node}: execution policy set back to the recorded one{}",
                if *keep_exchange_shell {
                    ", RemoteSigned at least where Exchange is installed"
                } else {
                    ""
                }
            ),
            Action::CreateCluster { node } => {
                format!("cluster created with {node} (Node Majority until the quorum step)")
            }
            Action::AddNode { node } => format!("{node} joins the cluster"),
            Action::NameNetworks => "cluster networks named, roles set".to_owned(),
            Action::CreateWitnessShare => "witness folder and share created".to_owned(),
            Action::QuorumFileShare { share } => {
                format!("quorum set to Node and File Share Majority on {share}")
            }
            Action::InstallMailboxRole { node, restart } => format!(
                "{node}: Exchange mailbox role installed{}",
                if *restart { ", restart pending" } else { "" }
            ),
            Action::NewCms {
                node,
                name,
                restart,
                ..
            } => format!(
                "clustered mailbox server {name} created, online on {node}{}",
                if *restart {
                    "; setup may leave a restart pending"
                } else {
                    ""
                }
            ),
            Action::SeedPassive { node, restart } => format!(
                "{node}: passive mailbox role installed, every storage group seeded to it{}",
                if *restart {
                    "; setup may leave a restart pending"
                } else {
                    ""
                }
            ),
            Action::SuspendCopy { group } => format!("copy of {group} suspended by this window"),
            Action::ResumeCopy { group } => {
                format!("copy of {group} resumed (Initializing until a closed log arrives)")
            }
            Action::WaitHealthy { group } => format!("copy of {group} Healthy, queues drained"),
            Action::Dismount { group } => {
                format!("{} dismounted: users of it offline", database(group))
            }
            Action::Mount { group } => {
                format!("{} mounted: users of it back online", database(group))
            }
            Action::MoveConfiguration { group, .. } => {
                format!("paths of {group} changed in the configuration only (no file moves)")
            }
            Action::CopyFiles {
                node,
                group,
                kind,
                to,
                ..
            } => {
                format!(
                    "{node}: {} of {group} copied to {to}, source kept",
                    kind_name(*kind)
                )
            }
            Action::RenameFiles {
                node,
                group,
                kind,
                to,
                ..
            } => {
                format!(
                    "{node}: {} of {group} moved to {to} on the same volume",
                    kind_name(*kind)
                )
            }
            Action::ProveFiles {
                node,
                group,
                kind,
                path,
            } => {
                format!(
                    "{node}: {} of {group} at {path} checked complete",
                    kind_name(*kind)
                )
            }
            Action::DeleteFiles {
                node,
                group,
                kind,
                path,
            } => {
                format!("{node}: {} of {group} at {path} deleted", kind_name(*kind))
            }
            Action::CreateGroup { group } => format!(
                "storage group {} and database {} created",
                group.name, group.database
            ),
            Action::RemoveGroup { group } => {
                format!("storage group {group} and its database removed; files kept")
            }
            Action::MoveCms { to } => format!("clustered mailbox server moved to {to}"),
            Action::StopCms => "clustered mailbox server stopped: users offline".to_owned(),
            Action::StartCms => "clustered mailbox server started".to_owned(),
        }
    }

    /// The node this action restarts, if it is a restart.
    pub fn restarts(&self) -> Option<&str> {
        match self {
            Action::Restart { node } => Some(node),
            _ => None,
        }
    }

    /// Applies the action. `Err` says what the platform refused.
    pub fn apply(&self, state: &mut State) -> Result<(), String> {
        match self {
            Action::InstallFeature {
                node,
                feature,
                restart,
            } => {
                let target = node_mut(state, node)?;
                if target.features.insert(*feature) && *restart {
                    target.restart_pending = true;
                }
            }
            Action::Restart { node } => {
                // The node goes down and comes back: the invariants are held
                // by the prover at the moment it is down (see `prove.rs`).
                let target = node_mut(state, node)?;
                target.up = true;
                target.restart_pending = false;
            }
            Action::SetPolicy { node, policy } => node_mut(state, node)?.policy = *policy,
            Action::AllowScripts { node } => {
                let target = node_mut(state, node)?;
                if target.policy_before.is_none() {
                    target.policy_before = Some(target.policy);
                }
                if target.policy < Policy::RemoteSigned {
                    target.policy = Policy::RemoteSigned;
                }
            }
            Action::RestorePolicy {
                node,
                keep_exchange_shell,
            } => {
                let target = node_mut(state, node)?;
                let Some(before) = target.policy_before else {
                    return Err(format!(
                        "no execution policy of {node} was recorded by this window"
                    ));
                };
                target.policy = if *keep_exchange_shell && target.role == Role::Installed {
                    before.max(rules::EXCHANGE_SHELL_POLICY)
                } else {
                    before
                };
            }
            Action::CreateCluster { node } => {
                if state.cluster.is_none() {
                    require_feature(state, node, Feature::FailoverClustering)?;
                    state.cluster = Some(Cluster {
                        members: BTreeSet::from([node.clone()]),
                        // A new cluster of one or two nodes starts on Node
                        // Majority; the quorum step changes it.
                        quorum: Quorum::NodeMajority,
                        networks_named: false,
                    });
                }
            }
            Action::AddNode { node } => {
                require_feature(state, node, Feature::FailoverClustering)?;
                let cluster = state
                    .cluster
                    .as_mut()
                    .ok_or("a node cannot join a cluster that does not exist")?;
                cluster.members.insert(node.clone());
            }
            Action::NameNetworks => {
                state
                    .cluster
                    .as_mut()
                    .ok_or("no cluster to name networks in")?
                    .networks_named = true;
            }
            Action::CreateWitnessShare => {
                // The share grants the cluster's computer account, which the
                // create step makes.
                if state.cluster.is_none() {
                    return Err(
                        "the witness share grants the cluster account, which does not exist yet"
                            .to_owned(),
                    );
                }
                state.witness.share_ready = true;
            }
            Action::QuorumFileShare { share } => {
                if !state.witness.share_ready {
                    return Err("the witness share is not ready".to_owned());
                }
                state
                    .cluster
                    .as_mut()
                    .ok_or("no cluster to configure the quorum of")?
                    .quorum = Quorum::NodeAndFileShareMajority(share.clone());
            }
            Action::InstallMailboxRole { node, restart } => {
                let target = node_mut(state, node)?;
                if target.role != Role::Installed {
                    if target.restart_pending {
                        return Err(format!(
                            "Exchange setup refuses {node}: a restart is pending"
                        ));
                    }
                    target.role = Role::Installed;
                    target.restart_pending |= *restart;
                }
            }
            Action::NewCms {
                node,
                name,
                groups,
                restart,
            } => {
                if state.cms.is_none() {
                    if state.node(node).map(|n| n.role) != Some(Role::Installed) {
                        return Err(format!("the mailbox role is not installed on {node}"));
                    }
                    state.cms = Some(Cms {
                        name: name.clone(),
                        owner: node.clone(),
                        stopped: false,
                    });
                    for group in groups {
                        state.groups.insert(group.name.clone(), group.clone());
                        write_files(state, node, group);
                    }
                    node_mut(state, node)?.restart_pending |= *restart;
                }
            }
            Action::SeedPassive { node, restart } => {
                if state.node(node).map(|n| n.role) != Some(Role::Installed) {
                    let target = node_mut(state, node)?;
                    if target.restart_pending {
                        return Err(format!(
                            "Exchange setup refuses {node}: a restart is pending"
                        ));
                    }
                    target.role = Role::Installed;
                    target.restart_pending |= *restart;
                    let groups: Vec<Group> = state.groups.values().cloned().collect();
                    for group in &groups {
                        write_files(state, node, group);
                    }
                    for group in state.groups.values_mut() {
                        group.copy = CopyStatus::Healthy;
                    }
                }
            }
            Action::SuspendCopy { group } => {
                let target = group_mut(state, group)?;
                // Suspending a suspended copy changes nothing, and keeps
                // whoever suspended it (Suspend-StorageGroupCopy, aa998182).
                if !matches!(target.copy, CopyStatus::Suspended { .. }) {
                    target.copy = CopyStatus::Suspended { by_window: true };
                }
            }
            Action::ResumeCopy { group } => {
                let target = group_mut(state, group)?;
                match target.copy {
                    CopyStatus::Suspended { by_window: true } => target.copy = rules::RESUMED_COPY,
                    CopyStatus::Suspended { by_window: false } => {
                        return Err(format!(
                            "the copy of {group} was suspended by someone else, not this window: resuming it is not this window's to do"
                        ));
                    }
                    _ => {}
                }
            }
            Action::WaitHealthy { group } => {
                let passive = passive_node(state)?;
                let target = group_mut(state, group)?;
                match target.copy {
                    CopyStatus::Healthy => {}
                    CopyStatus::Initializing | CopyStatus::Seeding => {
                        target.copy = CopyStatus::Healthy;
                    }
                    other => {
                        return Err(format!(
                            "the copy of {group} is {other:?}, it never becomes Healthy by waiting"
                        ));
                    }
                }
                let configured = target.clone();
                write_files(state, &passive, &configured);
            }
            Action::Dismount { group } => group_mut(state, group)?.mounted = false,
            // Mounting a database whose file is not where the configuration
            // points offers to create an empty database (Mount-Database,
            // Exchange 2007); the windows never accept, so such a mount
            // fails. A database never mounted is created empty by its first
            // mount (New-MailboxDatabase: a new database must be mounted).
            Action::Mount { group } => {
                let active = state
                    .active_node()
                    .ok_or("no clustered mailbox server to mount a database on")?
                    .to_owned();
                let target = state
                    .groups
                    .get(group)
                    .ok_or_else(|| format!("no storage group {group}"))?
                    .clone();
                if !target.mounted {
                    let has_files = state
                        .files_of(&active, group, FileKind::Database)
                        .iter()
                        .any(|(at, _)| at.path == target.edb_path);
                    let fresh = !state.files.keys().any(|at| at.group == *group);
                    if fresh {
                        write_files(state, &active, &target);
                    } else if !has_files {
                        return Err(format!(
                            "{} is not at {} on {active}: Exchange offers an empty database instead",
                            target.database, target.edb_path
                        ));
                    }
                    group_mut(state, group)?.mounted = true;
                }
            }
            // With -ConfigurationOnly, Move-DatabasePath and
            // Move-StorageGroupPath change the configuration and no file; on
            // CCR they refuse to run without it ("Please use the
            // -ConfigurationOnly option and then manually move the files").
            Action::MoveConfiguration {
                group,
                log,
                system,
                edb,
            } => {
                let target = group_mut(state, group)?;
                if target.mounted {
                    return Err(format!(
                        "the database of {group} is mounted: a path moves only while it is dismounted"
                    ));
                }
                target.log_path = log.clone();
                target.system_path = system.clone();
                target.edb_path = edb.clone();
            }
            Action::CopyFiles {
                node,
                group,
                kind,
                from,
                to,
            } => {
                let target = at(node, group, *kind, to);
                if state.files.get(&target) != Some(&true) {
                    if !state.files.contains_key(&at(node, group, *kind, from)) {
                        return Err(format!(
                            "no {kind:?} file of {group} at {from} on {node} to copy"
                        ));
                    }
                    state.files.insert(target, false);
                }
            }
            Action::RenameFiles {
                node,
                group,
                kind,
                from,
                to,
            } => {
                if let Some(proven) = state.files.remove(&at(node, group, *kind, from)) {
                    state.files.insert(at(node, group, *kind, to), proven);
                } else if !state.files.contains_key(&at(node, group, *kind, to)) {
                    return Err(format!(
                        "no {kind:?} file of {group} at {from} or {to} on {node}"
                    ));
                }
            }
            Action::ProveFiles {
                node,
                group,
                kind,
                path,
            } => {
                let proven = state
                    .files
                    .get_mut(&at(node, group, *kind, path))
                    .ok_or_else(|| {
                        format!("no {kind:?} file of {group} at {path} on {node} to check")
                    })?;
                *proven = true;
            }
            Action::DeleteFiles {
                node,
                group,
                kind,
                path,
            } => {
                state.files.remove(&at(node, group, *kind, path));
            }
            Action::CreateGroup { group } => {
                state
                    .groups
                    .entry(group.name.clone())
                    .or_insert_with(|| group.clone());
            }
            // Remove-MailboxDatabase and Remove-StorageGroup remove the objects
            // from Active Directory and leave every file on disk
            // (Remove-StorageGroup, aa998295(v=exchg.80)).
            Action::RemoveGroup { group } => {
                // Dismounted, then removed, in one step that refuses a
                // database holding a mailbox: nobody loses one meanwhile.
                state.groups.remove(group);
            }
            Action::MoveCms { to } => {
                let cms = state
                    .cms
                    .as_ref()
                    .ok_or("no clustered mailbox server to move")?;
                if cms.owner != *to {
                    if !rules::handoff_allowed(state) {
                        return Err(
                            "Exchange refuses the handoff: a copy is not Healthy".to_owned()
                        );
                    }
                    if let Some(cms) = state.cms.as_mut() {
                        cms.owner = to.clone();
                    }
                }
            }
            Action::StopCms => {
                state
                    .cms
                    .as_mut()
                    .ok_or("no clustered mailbox server to stop")?
                    .stopped = true;
            }
            Action::StartCms => {
                state
                    .cms
                    .as_mut()
                    .ok_or("no clustered mailbox server to start")?
                    .stopped = false;
            }
        }
        Ok(())
    }
}

fn feature_name(feature: Feature) -> &'static str {
    match feature {
        Feature::FailoverClustering => "Failover Clustering",
        Feature::PowerShell => "Windows PowerShell",
        Feature::ExchangePrerequisites => "the Exchange 2007 prerequisites",
    }
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Database => "database file",
        FileKind::Logs => "logs",
        FileKind::Checkpoint => "checkpoint",
    }
}

fn at(node: &str, group: &str, kind: FileKind, path: &str) -> FileAt {
    FileAt {
        node: node.to_owned(),
        group: group.to_owned(),
        kind,
        path: path.to_owned(),
    }
}

/// The group's files at its configured paths on `node`, written by Exchange:
/// proven.
fn write_files(state: &mut State, node: &str, group: &Group) {
    for (kind, path) in [
        (FileKind::Database, &group.edb_path),
        (FileKind::Logs, &group.log_path),
        (FileKind::Checkpoint, &group.system_path),
    ] {
        state.files.insert(at(node, &group.name, kind, path), true);
    }
}

fn node_mut<'a>(state: &'a mut State, name: &str) -> Result<&'a mut super::Node, String> {
    state
        .node_mut(name)
        .ok_or_else(|| format!("no node {name} in the cluster"))
}

fn group_mut<'a>(state: &'a mut State, name: &str) -> Result<&'a mut Group, String> {
    state
        .groups
        .get_mut(name)
        .ok_or_else(|| format!("no storage group {name}"))
}

fn require_feature(state: &State, node: &str, feature: Feature) -> Result<(), String> {
    match state.node(node) {
        Some(found) if found.features.contains(&feature) => Ok(()),
        Some(_) => Err(format!("{feature:?} is not installed on {node}")),
        None => Err(format!("no node {node} in the cluster")),
    }
}

fn passive_node(state: &State) -> Result<String, String> {
    let active = state
        .active_node()
        .ok_or("no clustered mailbox server, so no passive copy")?;
    state
        .other_node(active)
        .map(str::to_owned)
        .ok_or_else(|| "no passive node".to_owned())
}
