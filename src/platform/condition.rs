//! What a guard checks: a small typed vocabulary of conditions on the state.
//! A step's `requires` and `done_when` are lists of these; each evaluates on
//! a [`State`] and, when it does not hold, says what was found instead.

use super::rules::{self, CmsState};
use super::{CopyStatus, Feature, FileKind, Policy, Quorum, Role, State};

/// Which copy statuses a condition accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyAllowed {
    Healthy,
    /// Suspended with this window's comment (a rerun, or a back-out).
    SuspendedByWindow,
    /// Resumed or new, waiting for a closed log.
    Initializing,
}

impl CopyAllowed {
    fn admits(self, status: CopyStatus) -> bool {
        match self {
            CopyAllowed::Healthy => status == CopyStatus::Healthy,
            CopyAllowed::SuspendedByWindow => status == CopyStatus::Suspended { by_window: true },
            CopyAllowed::Initializing => status == CopyStatus::Initializing,
        }
    }
}

/// One condition on the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    NodeUp(String),
    RestartPending(String, bool),
    FeatureInstalled(String, Feature),
    PolicyAtLeast(String, Policy),
    ExchangeRole(String, Role),
    ClusterExists(bool),
    ClusterMember(String),
    NetworksNamed,
    WitnessShareReady,
    /// Node and File Share Majority (true) or Node Majority (false).
    QuorumFileShare(bool),
    CmsExists(bool),
    /// The CMS is Online, or Partially Online with no offline resource but
    /// the databases of the named storage groups.
    CmsServing {
        offline_allowed: Vec<String>,
    },
    ActiveOn(String),
    GroupExists(String, bool),
    DatabaseMounted(String, bool),
    CopyIs(String, Vec<CopyAllowed>),
    /// Exchange's configuration holds these paths for the group.
    PathsConfigured {
        group: String,
        log: String,
        system: String,
        edb: String,
    },
    /// The group's files of that kind are at `path` on `node`; `proven`
    /// asks that they are proven too.
    FilesAt {
        node: String,
        group: String,
        kind: FileKind,
        path: String,
        proven: bool,
    },
    /// No file of the group of that kind is at `path` on `node`.
    NoFilesAt {
        node: String,
        group: String,
        kind: FileKind,
        path: String,
    },
}

impl Condition {
    /// `Ok` when the condition holds; otherwise what was found.
    pub fn check(&self, state: &State) -> Result<(), String> {
        let node_field = |name: &str| {
            state
                .node(name)
                .ok_or_else(|| format!("no node {name} in the cluster"))
        };
        let group_field = |name: &str| {
            state
                .groups
                .get(name)
                .ok_or_else(|| format!("no storage group {name}"))
        };
        let expect = |holds: bool, found: String| if holds { Ok(()) } else { Err(found) };
        match self {
            Condition::NodeUp(name) => {
                let node = node_field(name)?;
                expect(node.up, format!("{name} is restarting"))
            }
            Condition::RestartPending(name, pending) => {
                let node = node_field(name)?;
                expect(
                    node.restart_pending == *pending,
                    format!(
                        "{name} {} a restart pending",
                        if node.restart_pending {
                            "has"
                        } else {
                            "has no"
                        }
                    ),
                )
            }
            Condition::FeatureInstalled(name, feature) => {
                let node = node_field(name)?;
                expect(
                    node.features.contains(feature),
                    format!("{feature:?} is not installed on {name}"),
                )
            }
            Condition::PolicyAtLeast(name, policy) => {
                let node = node_field(name)?;
                expect(
                    node.policy >= *policy,
                    format!("the execution policy of {name} is {:?}", node.policy),
                )
            }
            Condition::ExchangeRole(name, role) => {
                let node = node_field(name)?;
                expect(
                    node.role == *role,
                    format!("the mailbox role on {name} is {:?}", node.role),
                )
            }
            Condition::ClusterExists(exists) => expect(
                state.cluster.is_some() == *exists,
                format!(
                    "the cluster {}",
                    if state.cluster.is_some() {
                        "exists"
                    } else {
                        "does not exist"
                    }
                ),
            ),
            Condition::ClusterMember(name) => expect(
                state
                    .cluster
                    .as_ref()
                    .is_some_and(|cluster| cluster.members.contains(name)),
                format!("{name} is not a member of the cluster"),
            ),
            Condition::NetworksNamed => expect(
                state.cluster.as_ref().is_some_and(|c| c.networks_named),
                "the cluster networks are not named".to_owned(),
            ),
            Condition::WitnessShareReady => expect(
                state.witness.share_ready,
                "the witness share is not ready".to_owned(),
            ),
            Condition::QuorumFileShare(wanted) => {
                let file_share = state.cluster.as_ref().is_some_and(|cluster| {
                    matches!(cluster.quorum, Quorum::NodeAndFileShareMajority(_))
                });
                expect(
                    file_share == *wanted,
                    format!(
                        "the quorum is {}",
                        if file_share {
                            "Node and File Share Majority"
                        } else {
                            "not Node and File Share Majority"
                        }
                    ),
                )
            }
            Condition::CmsExists(exists) => expect(
                state.cms.is_some() == *exists,
                format!(
                    "the clustered mailbox server {}",
                    if state.cms.is_some() {
                        "exists"
                    } else {
                        "does not exist"
                    }
                ),
            ),
            Condition::CmsServing { offline_allowed } => match rules::cms_state(state) {
                None => Err("the clustered mailbox server does not exist".to_owned()),
                Some(CmsState::Online) => Ok(()),
                Some(CmsState::PartiallyOnline(offline)) => {
                    let allowed: Vec<String> = offline_allowed
                        .iter()
                        .filter_map(|group| state.groups.get(group).map(|g| g.resource()))
                        .collect();
                    expect(
                        offline.iter().all(|resource| allowed.contains(resource)),
                        format!(
                            "the clustered mailbox server is {}",
                            CmsState::PartiallyOnline(offline.clone()).describe()
                        ),
                    )
                }
                Some(other) => Err(format!(
                    "the clustered mailbox server is {}",
                    other.describe()
                )),
            },
            Condition::ActiveOn(name) => expect(
                state.active_node() == Some(name.as_str()),
                format!(
                    "the clustered mailbox server runs on {}",
                    state.active_node().unwrap_or("no node")
                ),
            ),
            Condition::GroupExists(name, exists) => expect(
                state.groups.contains_key(name) == *exists,
                format!(
                    "the storage group {name} {}",
                    if state.groups.contains_key(name) {
                        "exists"
                    } else {
                        "does not exist"
                    }
                ),
            ),
            Condition::DatabaseMounted(name, mounted) => {
                let group = group_field(name)?;
                expect(
                    group.mounted == *mounted,
                    format!(
                        "the database of {name} is {}",
                        if group.mounted {
                            "mounted"
                        } else {
                            "dismounted"
                        }
                    ),
                )
            }
            Condition::CopyIs(name, allowed) => {
                let group = group_field(name)?;
                expect(
                    allowed.iter().any(|a| a.admits(group.copy)),
                    format!("the copy of {name} is {:?}", group.copy),
                )
            }
            Condition::PathsConfigured {
                group,
                log,
                system,
                edb,
            } => {
                let found = group_field(group)?;
                expect(
                    found.log_path == *log
                        && found.system_path == *system
                        && found.edb_path == *edb,
                    format!(
                        "{group} is configured at {}, {}, {}",
                        found.log_path, found.system_path, found.edb_path
                    ),
                )
            }
            Condition::FilesAt {
                node,
                group,
                kind,
                path,
                proven,
            } => {
                let found = state
                    .files_of(node, group, *kind)
                    .into_iter()
                    .find(|(at, _)| at.path == *path);
                match found {
                    None => Err(format!("no {kind:?} file of {group} at {path} on {node}")),
                    Some((_, is_proven)) => expect(
                        is_proven || !proven,
                        format!("the {kind:?} file of {group} at {path} on {node} is not proven"),
                    ),
                }
            }
            Condition::NoFilesAt {
                node,
                group,
                kind,
                path,
            } => expect(
                !state
                    .files_of(node, group, *kind)
                    .iter()
                    .any(|(at, _)| at.path == *path),
                format!("{kind:?} files of {group} are still at {path} on {node}"),
            ),
        }
    }

    /// The condition in words, for findings.
    pub fn describe(&self) -> String {
        match self {
            Condition::CmsServing { offline_allowed } if offline_allowed.is_empty() => {
                "the clustered mailbox server Online".to_owned()
            }
            Condition::CmsServing { offline_allowed } => format!(
                "the clustered mailbox server Online, or Partially Online with only the databases of {} offline",
                offline_allowed.join(", ")
            ),
            other => format!("{other:?}"),
        }
    }
}
