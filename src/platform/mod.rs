//! The platform model: the state of one CCR cluster as the windows see it,
//! and the rules by which Windows, the cluster and Exchange change it.
//!
//! The pipeline's `prove` arrow lives here (plan → prove → render): every
//! step of a window declares what it requires, when it is already done and
//! what it does ([`StepSpec`]); [`prove`](prove::prove) runs the plan over a
//! [`State`] built from the topology, interrupts every step after every
//! action and runs it again, and holds the safety invariants at every
//! boundary. Nothing here reads a file or renders text.
//!
//! Layout, one job a file:
//! - `mod.rs`: [`State`] and its parts, plain data;
//! - `rules.rs`: how the platform behaves (derived values such as the
//!   clustered mailbox server's state, quorum survival, the policy the
//!   Exchange shell needs), each rule with the Microsoft page it comes from;
//! - `condition.rs`: [`Condition`], what a guard checks, evaluated on a state;
//! - `action.rs`: [`Action`], one change to the state, made by a script or
//!   an operator, and what it does to the state;
//! - `prove.rs`: the prover and its findings.
//!
//! Where this differs from the design sketch (`prover.md`): the state is per
//! cluster, not per estate, because no step of one cluster reads or changes
//! another's (the witness host serves each cluster with its own share), so
//! each cluster is proven on its own and a finding names its cluster.

pub mod action;
pub mod condition;
pub mod prove;
pub mod rules;

use std::collections::{BTreeMap, BTreeSet};

pub use action::{Action, Actor};
pub use condition::Condition;
pub use prove::{Finding, Proof, StepSpec, prove};

/// A Windows feature or role service a step installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Feature {
    FailoverClustering,
    PowerShell,
    /// The IIS role services Exchange 2007 needs on Windows Server 2008.
    ExchangePrerequisites,
}

/// A PowerShell execution policy, in the order of what it lets run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Policy {
    Restricted,
    AllSigned,
    RemoteSigned,
    Unrestricted,
}

/// The Exchange mailbox role on a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    None,
    /// Setup ran and stopped before it finished.
    Unfinished,
    /// The clustered mailbox role is installed (active or passive is where
    /// the CMS runs, not a property of the node).
    Installed,
}

/// One cluster node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    /// False while the node restarts.
    pub up: bool,
    pub restart_pending: bool,
    pub features: BTreeSet<Feature>,
    pub role: Role,
    /// The update rollup the node's Exchange runs (0: none).
    pub rollup: u32,
    pub policy: Policy,
    /// The policy recorded before this window changed it, if it did.
    pub policy_before: Option<Policy>,
}

/// How the cluster keeps quorum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quorum {
    NodeMajority,
    /// Node and File Share Majority, with the witness share's UNC path.
    NodeAndFileShareMajority(String),
}

/// The failover cluster, once created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub members: BTreeSet<String>,
    pub quorum: Quorum,
    /// Networks named and their roles set as the topology says.
    pub networks_named: bool,
}

/// The file share witness on its host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Witness {
    pub share_ready: bool,
}

/// The state of a storage group copy, as `Get-StorageGroupCopyStatus`
/// reports it in `SummaryCopyStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyStatus {
    Healthy,
    /// Suspended; `by_window` when this window's comment is on it.
    Suspended {
        by_window: bool,
    },
    /// Resumed or new, waiting for a closed log.
    Initializing,
    Seeding,
    Failed,
}

/// A storage group and its one database (CCR allows one per group).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub database: String,
    /// The paths Exchange's configuration holds.
    pub log_path: String,
    pub system_path: String,
    pub edb_path: String,
    pub mounted: bool,
    pub copy: CopyStatus,
}

impl Group {
    /// The database as Exchange names its cluster resource:
    /// `Storage group\Database`.
    pub fn resource(&self) -> String {
        format!("{}\\{}", self.name, self.database)
    }
}

/// The clustered mailbox server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cms {
    pub name: String,
    /// The node it runs on.
    pub owner: String,
    /// Stopped with Stop-ClusteredMailboxServer: offline until started.
    pub stopped: bool,
}

/// Which of a storage group's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileKind {
    /// The `.edb`.
    Database,
    /// The transaction logs.
    Logs,
    /// The checkpoint (`.chk`) in the system folder.
    Checkpoint,
}

/// Where a storage group's file of one kind lies on one node.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileAt {
    pub node: String,
    pub group: String,
    pub kind: FileKind,
    /// The `.edb` path, or the folder of logs or checkpoint.
    pub path: String,
}

/// The state of one cluster of the estate as the windows see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub cluster_name: String,
    pub nodes: BTreeMap<String, Node>,
    pub cluster: Option<Cluster>,
    pub witness: Witness,
    pub cms: Option<Cms>,
    pub groups: BTreeMap<String, Group>,
    /// Files on disk, and whether each is proven: written by Exchange
    /// (the active copy, or a passive copy replicated by a Healthy copy),
    /// or checked after a copy (clean shutdown, `eseutil /mh`).
    pub files: BTreeMap<FileAt, bool>,
}

impl State {
    /// The node named `name`; the prover builds states only with the nodes
    /// its steps name, so a missing node is a bug in a declaration and is
    /// reported by the caller.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.get(name)
    }

    pub fn node_mut(&mut self, name: &str) -> Option<&mut Node> {
        self.nodes.get_mut(name)
    }

    /// The node the CMS runs on, if it exists.
    pub fn active_node(&self) -> Option<&str> {
        self.cms.as_ref().map(|cms| cms.owner.as_str())
    }

    /// The other node of the two.
    pub fn other_node(&self, node: &str) -> Option<&str> {
        self.nodes
            .keys()
            .map(String::as_str)
            .find(|name| *name != node)
    }

    /// Bare servers: what a build starts from.
    pub fn bare(cluster_name: &str, nodes: &[&str]) -> State {
        State {
            cluster_name: cluster_name.to_owned(),
            nodes: nodes
                .iter()
                .map(|name| {
                    (
                        (*name).to_owned(),
                        Node {
                            name: (*name).to_owned(),
                            up: true,
                            restart_pending: false,
                            features: BTreeSet::new(),
                            role: Role::None,
                            rollup: 0,
                            // A new Windows Server 2008 installs no script
                            // policy: Restricted (about_Execution_Policies).
                            policy: Policy::Restricted,
                            policy_before: None,
                        },
                    )
                })
                .collect(),
            cluster: None,
            witness: Witness::default(),
            cms: None,
            groups: BTreeMap::new(),
            files: BTreeMap::new(),
        }
    }

    /// The groups' files where the configuration puts them, on both nodes,
    /// proven: the state of a healthy cluster before a window.
    pub fn place_files_as_configured(&mut self) {
        let nodes: Vec<String> = self.nodes.keys().cloned().collect();
        let groups: Vec<Group> = self.groups.values().cloned().collect();
        for node in &nodes {
            for group in &groups {
                for (kind, path) in [
                    (FileKind::Database, &group.edb_path),
                    (FileKind::Logs, &group.log_path),
                    (FileKind::Checkpoint, &group.system_path),
                ] {
                    self.files.insert(
                        FileAt {
                            node: node.clone(),
                            group: group.name.clone(),
                            kind,
                            path: path.clone(),
                        },
                        true,
                    );
                }
            }
        }
    }

    /// The files of a group of one kind on one node, whatever their path.
    pub fn files_of(&self, node: &str, group: &str, kind: FileKind) -> Vec<(&FileAt, bool)> {
        self.files
            .iter()
            .filter(|(at, _)| at.node == node && at.group == group && at.kind == kind)
            .map(|(at, proven)| (at, *proven))
            .collect()
    }
}
