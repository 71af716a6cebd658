//! How Windows Server 2008, its failover cluster and Exchange 2007 SP3
//! behave, as far as the windows depend on it. Each rule is written once,
//! with the page it comes from: derived values and thresholds here, which
//! conditions, actions and the prover ask; what one action does to the state
//! (a configuration-only move changes no file, a mount without its file
//! fails, a removal keeps the files) at that action's arm in `action.rs`.

use super::{CopyStatus, Group, Policy, Quorum, State};

/// The state of a clustered mailbox server as `Get-ClusteredMailboxServerStatus`
/// reports it in `State`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmsState {
    Online,
    /// Some resources are not online; the status names them. A dismounted
    /// database is such a resource, named `Storage group\Database`.
    PartiallyOnline(Vec<String>),
    Offline,
}

impl CmsState {
    pub fn describe(&self) -> String {
        match self {
            CmsState::Online => "Online".to_owned(),
            CmsState::PartiallyOnline(offline) => {
                format!("Partially Online (offline: {})", offline.join(", "))
            }
            CmsState::Offline => "Offline".to_owned(),
        }
    }
}

/// The CMS's state, derived from its resources.
///
/// Get-ClusteredMailboxServerStatus, Exchange 2007 SP1–SP3
/// (aa998632(v=exchg.80)): Online when every resource is online; Partially
/// Online when one or more resources of the server are not online, a
/// dismounted database among them; Offline when the server is stopped.
/// Stop-ClusteredMailboxServer (aa997179(v=exchg.80)): a stopped CMS stays
/// offline, a restart of its node does not start it; only
/// Start-ClusteredMailboxServer does. While the node it runs on restarts,
/// nothing of it is online.
pub fn cms_state(state: &State) -> Option<CmsState> {
    let cms = state.cms.as_ref()?;
    let owner_up = state.node(&cms.owner).is_some_and(|node| node.up);
    if cms.stopped || !owner_up {
        return Some(CmsState::Offline);
    }
    let offline: Vec<String> = state
        .groups
        .values()
        .filter(|group| !group.mounted)
        .map(|group| group.resource())
        .collect();
    if offline.is_empty() {
        Some(CmsState::Online)
    } else {
        Some(CmsState::PartiallyOnline(offline))
    }
}

/// Whether the cluster keeps quorum with `node` down.
///
/// Node Majority "can sustain failures of half the nodes (rounding up)
/// minus one", so a two-node cluster survives no node down; Node and File
/// Share Majority counts the witness share as a vote, so a two-node cluster
/// survives one node down while the other node and the share are up
/// (sys.dm_hadr_cluster, quorum_type, hh212952(v=sql.110); Set-ClusterQuorum
/// for Windows Server 2008 R2, ee461013(v=technet.10): "the quorum
/// configuration ... determines the number of failures that the cluster can
/// sustain"). A node outside the cluster takes no vote with it.
pub fn quorum_survives_node_down(state: &State, node: &str) -> bool {
    let Some(cluster) = &state.cluster else {
        return true;
    };
    if !cluster.members.contains(node) {
        return true;
    }
    let others_up = cluster
        .members
        .iter()
        .filter(|member| member.as_str() != node)
        .filter(|member| state.node(member).is_some_and(|n| n.up))
        .count();
    let votes_left = match &cluster.quorum {
        Quorum::NodeMajority => others_up,
        Quorum::NodeAndFileShareMajority(_) => others_up + usize::from(state.witness.share_ready),
    };
    let votes_total = match &cluster.quorum {
        Quorum::NodeMajority => cluster.members.len(),
        Quorum::NodeAndFileShareMajority(_) => cluster.members.len() + 1,
    };
    votes_left * 2 > votes_total
}

/// The least execution policy under which the Exchange Management Shell
/// starts: its shortcut runs `Exchange.ps1`, which Restricted refuses.
/// Exchange 2007 "Script Security" (the command reference, section 15): the
/// shell needs RemoteSigned; about_Execution_Policies (dd347641(v=technet.10)):
/// Restricted, the default, runs no script.
pub const EXCHANGE_SHELL_POLICY: Policy = Policy::RemoteSigned;

/// The status of a copy that replication resumes. "Managing Cluster
/// Continuous Replication" (aa997676(v=exchg.80)) and
/// Get-StorageGroupCopyStatus (aa997246(v=exchg.80)): a resumed or new copy
/// reports Initializing until a closed log arrives, then Healthy.
pub const RESUMED_COPY: CopyStatus = CopyStatus::Initializing;

/// Whether Exchange lets the CMS move between nodes: the Exchange tools run
/// health checks and refuse the handoff while replication is unhealthy
/// (Move-ClusteredMailboxServer, SP1–SP3, and "How to move a clustered
/// mailbox server between nodes": the command reference, section 14).
pub fn handoff_allowed(state: &State) -> bool {
    state
        .groups
        .values()
        .all(|group| group.copy == CopyStatus::Healthy)
}

/// Where Exchange 2007 setup installs when no folder is given.
pub const DEFAULT_INSTALL_PATH: &str = r"C:\Program Files\Microsoft\Exchange Server";

/// The storage group that setup creates on a new mailbox server, with its
/// one database, in `<install path>\Mailbox\First Storage Group`
/// (Exchange 2007 setup; the build moves it where the topology says).
pub fn setup_first_storage_group(install_path: Option<&str>) -> Group {
    let folder = format!(
        "{}\\Mailbox\\{}",
        install_path.unwrap_or(DEFAULT_INSTALL_PATH),
        crate::model::FIRST_STORAGE_GROUP
    );
    Group {
        name: crate::model::FIRST_STORAGE_GROUP.to_owned(),
        database: crate::model::FIRST_DATABASE.to_owned(),
        log_path: folder.clone(),
        system_path: folder.clone(),
        edb_path: format!("{folder}\\{}.edb", crate::model::FIRST_DATABASE),
        mounted: true,
        // No passive copy until the second node's setup seeds one.
        copy: CopyStatus::Seeding,
    }
}
