//! Two validated models → the change set between them, the refusals, and the
//! plan of a change window. Pure: no file system, no templates.
//!
//! Objects are matched by identity, as Exchange and Windows match them:
//! clusters, CMSs, storage groups and databases by name, case-insensitively.
//! What a window can do safely (move a storage group's paths, add or remove
//! a storage group with its database) becomes a [`Change`]; everything else
//! that differs becomes a [`Refusal`] located in NEW. Values that describe the
//! estate but change nothing on it (the estate's name, the Setup.com path,
//! the drive lists) are not compared.

use serde_json::{Value, json};

use crate::check::same_name;
use crate::diag::{Code, Diagnostic, pointer_token};
use crate::model::{Cluster, FIRST_DATABASE, FIRST_STORAGE_GROUP, Mailbox, StorageGroup, Topology};
use crate::plan::{self, ByDialect, Kind, On, Phase, Plan, Step, StepDef, When};
use crate::render::context::DEFAULT_INSTALL_PATH;
use crate::render::escape::slug;

/// The folders and file of a storage group and its database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub log: String,
    pub system: String,
    /// The `.edb` file; none for a storage group without a database.
    pub edb: Option<String>,
}

impl Paths {
    fn of(group: &StorageGroup) -> Paths {
        Paths {
            log: group.log_path.clone(),
            system: group.system_path.clone(),
            edb: group.databases.first().map(|d| d.edb_path.clone()),
        }
    }
}

/// What happens to one storage group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeKind {
    /// Its log/system folders and/or its database file move.
    Move {
        old: Paths,
        new: Paths,
        /// OLD did not list `First Storage Group`: it sits in setup's folder.
        from_setup_default: bool,
    },
    /// Created at these paths, with its database.
    Add { paths: Paths },
    /// Removed; its files stay where they are.
    Remove { paths: Paths },
}

/// One supported change: a storage group of a CMS and what happens to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Index of the cluster in NEW.
    pub cluster: usize,
    pub cluster_name: String,
    pub cms: String,
    /// The storage group's name (as NEW writes it; as OLD did when removed).
    pub group: String,
    pub database: Option<String>,
    /// Where NEW states it (a removed group: the CMS's storage group list).
    pub pointer: String,
    pub kind: ChangeKind,
}

/// A difference no change window can make safely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The value in NEW that asks for it.
    pub pointer: String,
    /// One line for the change summary: `cluster MAIL: address 10.0.0.1 → 10.0.0.2`.
    pub summary: String,
    pub help: String,
}

impl Refusal {
    /// The located finding `change` prints.
    pub fn diagnostic(&self) -> Diagnostic {
        Diagnostic::error(
            Code::UnsupportedChange,
            self.pointer.clone(),
            format!("runsheet cannot change this in a window: {}", self.summary),
        )
        .with_help(self.help.clone())
    }
}

/// The differences between two models.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    pub changes: Vec<Change>,
    pub refusals: Vec<Refusal>,
}

impl Change {
    /// The storage group's Exchange identity, `CMS\Storage Group`.
    pub fn identity(&self) -> String {
        format!("{}\\{}", self.cms, self.group)
    }

    /// The summary lines of this change, one per path that moves.
    pub fn summary(&self) -> Vec<String> {
        let subject = format!("storage group {}", self.identity());
        match &self.kind {
            ChangeKind::Move { old, new, .. } => {
                let mut lines = Vec::new();
                if let (Some(from), Some(to)) = (&old.edb, &new.edb)
                    && !same_path(from, to)
                {
                    lines.push(format!("{subject}: database path {from} → {to}"));
                }
                if !same_path(&old.log, &new.log) {
                    lines.push(format!("{subject}: log path {} → {}", old.log, new.log));
                }
                if !same_path(&old.system, &new.system) {
                    lines.push(format!(
                        "{subject}: system path {} → {}",
                        old.system, new.system
                    ));
                }
                lines
            }
            ChangeKind::Add { paths } => vec![format!(
                "{subject}: added{}, logs {}",
                database_at(self.database.as_deref(), paths),
                paths.log
            )],
            ChangeKind::Remove { paths } => vec![format!(
                "{subject}: removed{}, files kept",
                database_at(self.database.as_deref(), paths)
            )],
        }
    }

    fn kind_name(&self) -> &'static str {
        match self.kind {
            ChangeKind::Move { .. } => "move",
            ChangeKind::Add { .. } => "add",
            ChangeKind::Remove { .. } => "remove",
        }
    }
}

fn database_at(database: Option<&str>, paths: &Paths) -> String {
    match (database, &paths.edb) {
        (Some(name), Some(edb)) => format!(" with database {name} at {edb}"),
        _ => String::new(),
    }
}

fn paths_json(paths: &Paths) -> Value {
    json!({ "log_path": paths.log, "system_path": paths.system, "edb_path": paths.edb })
}

impl ChangeSet {
    /// Whether OLD and NEW describe the same estate.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.refusals.is_empty()
    }

    /// The summary `change` prints before writing and `diff` before its
    /// file diffs: one line per change, refusals marked as unsupported.
    pub fn summary(&self) -> Vec<String> {
        let mut lines: Vec<String> = self.changes.iter().flat_map(Change::summary).collect();
        lines.extend(
            self.refusals
                .iter()
                .map(|r| format!("{} (unsupported)", r.summary)),
        );
        lines
    }

    /// The change set as `plan.json` and `diff --format json` carry it.
    pub fn to_json(&self) -> Value {
        let mut entries: Vec<Value> = self
            .changes
            .iter()
            .map(|change| {
                let (old, new) = match &change.kind {
                    ChangeKind::Move { old, new, .. } => (paths_json(old), paths_json(new)),
                    ChangeKind::Add { paths } => (Value::Null, paths_json(paths)),
                    ChangeKind::Remove { paths } => (paths_json(paths), Value::Null),
                };
                json!({
                    "kind": change.kind_name(),
                    "supported": true,
                    "cluster": change.cluster_name,
                    "cms": change.cms,
                    "storage_group": change.group,
                    "database": change.database,
                    "old": old,
                    "new": new,
                    "summary": change.summary(),
                })
            })
            .collect();
        entries.extend(self.refusals.iter().map(|refusal| {
            json!({
                "kind": "unsupported",
                "supported": false,
                "pointer": refusal.pointer,
                "summary": [refusal.summary],
                "help": refusal.help,
            })
        }));
        Value::Array(entries)
    }

    /// The clusters (indexes in NEW) that the changes touch, in NEW's order.
    pub fn clusters(&self) -> Vec<usize> {
        let mut clusters: Vec<usize> = self.changes.iter().map(|c| c.cluster).collect();
        clusters.sort_unstable();
        clusters.dedup();
        clusters
    }
}

/// Windows compares paths without regard to case.
fn same_path(a: &str, b: &str) -> bool {
    same_name(a.trim_end_matches('\\'), b.trim_end_matches('\\'))
}

fn find_by_name<'a, T>(items: &'a [T], name: &str, key: impl Fn(&T) -> &str) -> Option<&'a T> {
    items.iter().find(|item| same_name(key(item), name))
}

struct Refusals(Vec<Refusal>);

impl Refusals {
    fn add(&mut self, pointer: String, summary: String, help: &str) {
        self.0.push(Refusal {
            pointer,
            summary,
            help: help.to_owned(),
        });
    }

    /// A value that must stay as it is.
    fn compare(&mut self, pointer: String, subject: &str, old: &str, new: &str, help: &str) {
        if !same_name(old, new) {
            self.add(pointer, format!("{subject} {old} → {new}"), help);
        }
    }
}

const REBUILD_CLUSTER: &str = "rebuild the cluster: build the new estate with `runsheet build` and move the mailboxes to it; a window cannot change this in place";
const DOMAIN_HELP: &str = "a domain move is a migration, not a change window: build the estate in the new domain and move the mailboxes";
const PLATFORM_HELP: &str = "Windows and Exchange are not upgraded in place under a CCR cluster: build new nodes on the new release with `runsheet build` and move the mailboxes";
const NETWORK_HELP: &str = "cluster networks and addresses are changed by hand with Failover Cluster Manager and the network adapters; keep OLD's networks here and change them in a window of their own";
const HOST_HELP: &str = "a server is added to or removed from the estate by a build of its own; keep the hosts as OLD lists them";
const WITNESS_HELP: &str = "move the file share witness by hand (new share, then `cluster res \"File Share Witness\" /priv SharePath=...`), or rebuild the cluster; keep OLD's witness here";
const DATABASE_HELP: &str = "a CCR storage group holds one database: add a new storage group with the new database, move the mailboxes, then remove the old storage group in a later change";

/// The change set from OLD to NEW. Both must be validated: the comparison
/// trusts names to be unique and paths to be well formed.
pub fn change_set(old: &Topology, new: &Topology) -> ChangeSet {
    let mut refusals = Refusals(Vec::new());
    let mut changes = Vec::new();

    refusals.compare(
        "/domain/fqdn".into(),
        "domain",
        &old.domain.fqdn,
        &new.domain.fqdn,
        DOMAIN_HELP,
    );
    refusals.compare(
        "/domain/netbios".into(),
        "NetBIOS domain",
        &old.domain.netbios,
        &new.domain.netbios,
        DOMAIN_HELP,
    );
    if old.platform.windows != new.platform.windows {
        refusals.add(
            "/platform/windows".into(),
            format!(
                "Windows {} → {}",
                old.platform.windows.as_str(),
                new.platform.windows.as_str()
            ),
            PLATFORM_HELP,
        );
    }
    if old.platform.exchange != new.platform.exchange {
        refusals.add(
            "/platform/exchange".into(),
            "Exchange version".into(),
            PLATFORM_HELP,
        );
    }
    compare_networks(old, new, &mut refusals);
    compare_hosts(old, new, &mut refusals);

    for (index, cluster) in new.clusters.iter().enumerate() {
        let base = format!("/clusters/{index}");
        let by_name = find_by_name(&old.clusters, &cluster.name, |c| &c.name);
        let matched = by_name
            .or_else(|| find_by_name(&old.clusters, &cluster.mailbox.name, |c| &c.mailbox.name));
        let Some(before) = matched else {
            refusals.add(
                format!("{base}/name"),
                format!("cluster {} added", cluster.name),
                "build a new cluster with `runsheet build` on a topology of its own, then add it here once it runs",
            );
            continue;
        };
        compare_cluster(before, cluster, index, &mut refusals);
        compare_storage(before, cluster, index, &mut changes, &mut refusals);
    }
    for cluster in &old.clusters {
        let kept = new.clusters.iter().any(|c| {
            same_name(&c.name, &cluster.name) || same_name(&c.mailbox.name, &cluster.mailbox.name)
        });
        if !kept {
            refusals.add(
                "/clusters".into(),
                format!("cluster {} removed", cluster.name),
                "decommission a cluster by hand (move the mailboxes, uninstall Exchange, evict the nodes); keep it listed until then",
            );
        }
    }
    ChangeSet {
        changes,
        refusals: refusals.0,
    }
}

fn compare_networks(old: &Topology, new: &Topology, refusals: &mut Refusals) {
    for (index, network) in new.networks.iter().enumerate() {
        let base = format!("/networks/{index}");
        let Some(before) = find_by_name(&old.networks, &network.name, |n| &n.name) else {
            refusals.add(
                format!("{base}/name"),
                format!("network {} added", network.name),
                NETWORK_HELP,
            );
            continue;
        };
        refusals.compare(
            format!("{base}/subnet"),
            &format!("network {}: subnet", network.name),
            &before.subnet.to_string(),
            &network.subnet.to_string(),
            NETWORK_HELP,
        );
        if before.clients != network.clients {
            refusals.add(
                format!("{base}/clients"),
                format!(
                    "network {}: clients {} → {}",
                    network.name, before.clients, network.clients
                ),
                NETWORK_HELP,
            );
        }
    }
    for network in &old.networks {
        if find_by_name(&new.networks, &network.name, |n| &n.name).is_none() {
            refusals.add(
                "/networks".into(),
                format!("network {} removed", network.name),
                NETWORK_HELP,
            );
        }
    }
}

fn compare_hosts(old: &Topology, new: &Topology, refusals: &mut Refusals) {
    for (index, host) in new.hosts.iter().enumerate() {
        let base = format!("/hosts/{index}");
        let Some(before) = old.host(&host.name) else {
            refusals.add(
                format!("{base}/name"),
                format!("host {} added", host.name),
                HOST_HELP,
            );
            continue;
        };
        // Drives are inventory: a new disk for a database move is listed
        // here; the scripts check that it exists and has room.
        for (network, address) in &host.addresses {
            let pointer = format!("{base}/addresses/{}", pointer_token(network));
            match before.addresses.get(network) {
                Some(old_address) if old_address == address => {}
                Some(old_address) => refusals.add(
                    pointer,
                    format!(
                        "host {}: address on {network} {old_address} → {address}",
                        host.name
                    ),
                    NETWORK_HELP,
                ),
                None => refusals.add(
                    pointer,
                    format!("host {}: address on {network} added", host.name),
                    NETWORK_HELP,
                ),
            }
        }
        for network in before.addresses.keys() {
            if !host.addresses.contains_key(network) {
                refusals.add(
                    format!("{base}/addresses"),
                    format!("host {}: address on {network} removed", host.name),
                    NETWORK_HELP,
                );
            }
        }
    }
    for host in &old.hosts {
        if new.host(&host.name).is_none() {
            refusals.add(
                "/hosts".into(),
                format!("host {} removed", host.name),
                HOST_HELP,
            );
        }
    }
}

fn compare_cluster(old: &Cluster, new: &Cluster, index: usize, refusals: &mut Refusals) {
    let base = format!("/clusters/{index}");
    let subject = format!("cluster {}", new.name);
    refusals.compare(
        format!("{base}/name"),
        "cluster name",
        &old.name,
        &new.name,
        REBUILD_CLUSTER,
    );
    refusals.compare(
        format!("{base}/address"),
        &format!("{subject}: address"),
        &old.address.to_string(),
        &new.address.to_string(),
        REBUILD_CLUSTER,
    );
    let nodes_differ = old.nodes.len() != new.nodes.len()
        || old
            .nodes
            .iter()
            .zip(&new.nodes)
            .any(|(a, b)| !same_name(a, b));
    if nodes_differ {
        let position = (0..new.nodes.len()).find(|&i| {
            old.nodes
                .get(i)
                .is_none_or(|n| !same_name(n, &new.nodes[i]))
        });
        let pointer =
            position.map_or_else(|| format!("{base}/nodes"), |i| format!("{base}/nodes/{i}"));
        refusals.add(
            pointer,
            format!(
                "{subject}: nodes {} → {}",
                old.nodes.join(", "),
                new.nodes.join(", ")
            ),
            "nodes are not replaced or reordered in a change window (the first node is the active one): rebuild the cluster, or keep OLD's nodes in OLD's order",
        );
    }
    refusals.compare(
        format!("{base}/witness/host"),
        &format!("{subject}: witness host"),
        &old.witness.host,
        &new.witness.host,
        WITNESS_HELP,
    );
    refusals.compare(
        format!("{base}/witness/folder"),
        &format!("{subject}: witness folder"),
        &old.witness.folder,
        &new.witness.folder,
        WITNESS_HELP,
    );
    refusals.compare(
        format!("{base}/witness/share"),
        &format!("{subject}: witness share"),
        &old.witness.share,
        &new.witness.share,
        WITNESS_HELP,
    );
    refusals.compare(
        format!("{base}/mailbox/name"),
        &format!("{subject}: clustered mailbox server"),
        &old.mailbox.name,
        &new.mailbox.name,
        "a clustered mailbox server cannot be renamed: rebuild the cluster with the new name and move the mailboxes",
    );
    refusals.compare(
        format!("{base}/mailbox/address"),
        &format!("{subject}: clustered mailbox server address"),
        &old.mailbox.address.to_string(),
        &new.mailbox.address.to_string(),
        "the CMS address is changed by hand (stop the CMS, change its IP Address resource, start it) or by rebuilding the cluster; keep OLD's address here",
    );
    let install = |m: &Mailbox| {
        m.install_path
            .clone()
            .unwrap_or_else(|| DEFAULT_INSTALL_PATH.to_owned())
    };
    if !same_path(&install(&old.mailbox), &install(&new.mailbox)) {
        let pointer = if new.mailbox.install_path.is_some() {
            format!("{base}/mailbox/install_path")
        } else {
            format!("{base}/mailbox")
        };
        refusals.add(
            pointer,
            format!(
                "{subject}: Exchange install path {} → {}",
                install(&old.mailbox),
                install(&new.mailbox)
            ),
            "Exchange is not moved to another folder in place: rebuild the nodes, or keep OLD's install path",
        );
    }
}

fn compare_storage(
    old: &Cluster,
    new: &Cluster,
    index: usize,
    changes: &mut Vec<Change>,
    refusals: &mut Refusals,
) {
    let base = format!("/clusters/{index}/mailbox/storage_groups");
    let change = |group: &StorageGroup, pointer: String, kind: ChangeKind| Change {
        cluster: index,
        cluster_name: new.name.clone(),
        cms: new.mailbox.name.clone(),
        group: group.name.clone(),
        database: group.databases.first().map(|d| d.name.clone()),
        pointer,
        kind,
    };
    for (position, group) in new.mailbox.storage_groups.iter().enumerate() {
        let pointer = format!("{base}/{position}");
        let is_first = same_name(&group.name, FIRST_STORAGE_GROUP);
        let before = find_by_name(&old.mailbox.storage_groups, &group.name, |g| &g.name);
        if group.databases.is_empty() && before.is_none_or(|b| b != group) {
            refusals.add(
                format!("{pointer}/databases"),
                format!(
                    "storage group {}\\{} has no database",
                    new.mailbox.name, group.name
                ),
                "runsheet changes a storage group together with its one database: list the database",
            );
            continue;
        }
        match before {
            Some(before) => {
                let old_database = before.databases.first().map(|d| d.name.as_str());
                let new_database = group.databases.first().map(|d| d.name.as_str());
                let same_database = match (old_database, new_database) {
                    (Some(a), Some(b)) => same_name(a, b),
                    (None, None) => true,
                    _ => false,
                };
                if !same_database {
                    refusals.add(
                        format!("{pointer}/databases"),
                        format!(
                            "storage group {}\\{}: database {} → {}",
                            new.mailbox.name,
                            group.name,
                            old_database.unwrap_or("(none)"),
                            new_database.unwrap_or("(none)")
                        ),
                        DATABASE_HELP,
                    );
                    continue;
                }
                let (from, to) = (Paths::of(before), Paths::of(group));
                let moved = !same_path(&from.log, &to.log)
                    || !same_path(&from.system, &to.system)
                    || match (&from.edb, &to.edb) {
                        (Some(a), Some(b)) => !same_path(a, b),
                        _ => false,
                    };
                if moved {
                    changes.push(change(
                        group,
                        pointer,
                        ChangeKind::Move {
                            old: from,
                            new: to,
                            from_setup_default: false,
                        },
                    ));
                }
            }
            None if is_first => {
                // OLD left setup's storage group where setup put it.
                let database = group.databases.first().map(|d| d.name.as_str());
                if database.is_some_and(|name| !same_name(name, FIRST_DATABASE)) {
                    refusals.add(
                        format!("{pointer}/databases/0/name"),
                        format!(
                            "storage group {}\\{FIRST_STORAGE_GROUP}: database {FIRST_DATABASE} → {}",
                            new.mailbox.name,
                            database.unwrap_or_default()
                        ),
                        "setup names the first database `Mailbox Database`; keep that name here",
                    );
                    continue;
                }
                // Where setup put it: a platform fact, in one place.
                let setup = crate::platform::rules::setup_first_storage_group(
                    new.mailbox.install_path.as_deref(),
                );
                let from = Paths {
                    log: setup.log_path,
                    system: setup.system_path,
                    edb: Some(setup.edb_path),
                };
                changes.push(change(
                    group,
                    pointer,
                    ChangeKind::Move {
                        old: from,
                        new: Paths::of(group),
                        from_setup_default: true,
                    },
                ));
            }
            None => changes.push(change(
                group,
                pointer,
                ChangeKind::Add {
                    paths: Paths::of(group),
                },
            )),
        }
    }
    for group in &old.mailbox.storage_groups {
        if find_by_name(&new.mailbox.storage_groups, &group.name, |g| &g.name).is_some() {
            continue;
        }
        if group.databases.is_empty() {
            refusals.add(
                base.clone(),
                format!(
                    "storage group {}\\{} (without a database) removed",
                    new.mailbox.name, group.name
                ),
                "runsheet removes a storage group together with its one database; remove this one by hand",
            );
            continue;
        }
        if same_name(&group.name, FIRST_STORAGE_GROUP) {
            refusals.add(
                base.clone(),
                format!(
                    "storage group {}\\{} no longer listed",
                    new.mailbox.name, group.name
                ),
                "an unlisted First Storage Group means \"where setup put it\", not \"removed\": keep it listed with its current paths",
            );
            continue;
        }
        changes.push(change(
            group,
            base.clone(),
            ChangeKind::Remove {
                paths: Paths::of(group),
            },
        ));
    }
}

// ---------------------------------------------------------------------------
// The plan of a change window.

const PRECHECK: Phase = Phase {
    number: 1,
    title: "Pre-checks",
};
const MOVE: Phase = Phase {
    number: 2,
    title: "Move storage group paths",
};
const ADD: Phase = Phase {
    number: 3,
    title: "Add storage groups and databases",
};
const REMOVE: Phase = Phase {
    number: 4,
    title: "Remove storage groups and databases",
};
const VERIFY: Phase = Phase {
    number: 5,
    title: "Verify and hand over",
};

/// What every change step shares; each step states the rest.
const CHANGE_STEP: StepDef = StepDef {
    id: "",
    phase: PRECHECK,
    on: On::FirstNode,
    kind: ByDialect::same(Kind::Ps1),
    when: When::Always,
    title: "",
    why: "",
    expect: "",
    verify: "",
    on_failure: "",
    after: &[],
    unconfirmed: None,
};

const PRECHECK_STEP: StepDef = StepDef {
    id: "change-precheck",
    phase: PRECHECK,
    title: "Check the cluster before the change",
    why: "Nothing is touched unless the clustered mailbox server runs on this node, the copy of every storage group that moves is Healthy, the estate is as OLD describes it (or already as NEW does), and both nodes have room for the files that move.",
    expect: "One line per storage group the change touches: to do, already done, or what was found instead; the sizes to move and the free space on each node; then \"pre-checks passed\".",
    verify: "The log beside the script lists every storage group of the change.",
    on_failure: concat!(
        "Nothing was changed. A storage group \"found\" in neither OLD's nor NEW's state has drifted: correct the topology or the estate before the window. Free space: clear room on the volume or pick another. Files already at the new place: they are not this change's; move them away. Every copy the change touches must pass the health gate (",
        crate::health_gate!(),
        "); a copy that does not: treat replication first. A copy Suspended by someone else (the step prints its suspend comment) is not this change's: find out why it was suspended, resume it and let it pass the gate before the window. ",
        crate::health_initializing!(),
        " A copy that is `Failed`: ",
        crate::health_reseed!()
    ),
    unconfirmed: Some(
        "the active node is read from `OperationalMachines` of Get-ClusteredMailboxServerStatus (the entry marked `<Active`); the log prefix from the `LogFilePrefix` property of Get-StorageGroup; who suspended a copy from its `SuspendComment`; free space through WMI (`Win32_Volume`: the volume whose `Name`, a drive such as `E:\\` or a mount folder, is the longest start of the path) on both nodes; the WMI firewall rules must let this node read the other. The new place must hold no file of the storage group on either node. Run this step once on a test cluster or before the window to see that it reads them",
    ),
    ..CHANGE_STEP
};

/// The pre-check of a cluster whose changes move nothing: it reads no copy
/// status and no free space, and says so.
const PRECHECK_NO_MOVE: StepDef = StepDef {
    why: "Nothing is touched unless the clustered mailbox server runs on this node and the estate is as OLD describes it (or already as NEW does): a storage group to add does not exist yet and its folders hold no database, log or checkpoint on either node; a storage group to remove is at its OLD paths and its database holds no mailbox.",
    expect: "One line per storage group the change touches: to do, already done, or what was found instead; then \"pre-checks passed\".",
    on_failure: "Nothing was changed. A storage group \"found\" in neither OLD's nor NEW's state has drifted: correct the topology or the estate before the window. Files where a new storage group goes: an earlier storage group's, restore or move them away. A database to remove that still holds mailboxes: move them first.",
    unconfirmed: Some(
        "the active node is read from `OperationalMachines` of Get-ClusteredMailboxServerStatus (the entry marked `<Active`); the passive node's folders through its administrative share. Run this step once on a test cluster or before the window to see that it reads them",
    ),
    ..PRECHECK_STEP
};

/// What to confirm before the window about the path cmdlets; each move
/// names only the cmdlets its storage group's change runs.
macro_rules! configuration_unconfirmed {
    ($help:literal, $parameters:literal) => {
        concat!(
            "before the window, run ",
            $help,
            " on the first node and check that it lists ",
            $parameters,
            " and -ConfigurationOnly; then run this step once against a test storage group. The launcher runs Windows PowerShell -NonInteractive, so a question the cmdlet asks in spite of `-Confirm:$false` (and `-Force`, which the step passes where the cmdlet has it) fails the step after the dismount instead of waiting for an answer (the failure prints the command to run by hand). The dismount is checked with the `Mounted` property of `Get-MailboxDatabase -Status`"
        )
    };
}

const MOVE_CONFIGURATION: StepDef = StepDef {
    id: "change-move-configuration",
    phase: MOVE,
    title: "Suspend replication, dismount and move the paths in the configuration",
    why: "On a CCR cluster paths change only with -ConfigurationOnly, once the copy is suspended and the database dismounted; the files are moved by hand on both nodes in the next steps. The users of this storage group lose their mailboxes from here until the mount step.",
    expect: "Copy suspended, database dismounted, then one line per path changed in the configuration; or \"already done\" when the configuration holds the new paths.",
    verify: "Get-StorageGroup and Get-MailboxDatabase show the new paths; the database is dismounted.",
    on_failure: "If the error is about NonInteractive mode or a prompt, the path change asked a question the launcher cannot answer: the message prints the exact command; run it in an elevated Exchange Management Shell on this node, answer Y, then run this step again (it carries on). Otherwise, or to stop here, follow the back-out section for this storage group: the -ConfigurationOnly moves back to the old paths, mount, check, resume. Never accept an offer to create an empty database.",
    unconfirmed: Some(configuration_unconfirmed!(
        "`Get-Help Move-DatabasePath -Full` and `Get-Help Move-StorageGroupPath -Full`",
        "-EdbFilePath, -LogFolderPath, -SystemFolderPath"
    )),
    ..CHANGE_STEP
};

/// A move of the database file alone: Move-DatabasePath only.
const MOVE_CONFIGURATION_DATABASE: StepDef = StepDef {
    verify: "Get-MailboxDatabase shows the new database path; the database is dismounted.",
    on_failure: "If the error is about NonInteractive mode or a prompt, the path change asked a question the launcher cannot answer: the message prints the exact command; run it in an elevated Exchange Management Shell on this node, answer Y, then run this step again (it carries on). Otherwise, or to stop here, follow the back-out section for this storage group: the -ConfigurationOnly move of the database file back to its old path, mount, check, resume. Never accept an offer to create an empty database.",
    unconfirmed: Some(configuration_unconfirmed!(
        "`Get-Help Move-DatabasePath -Full`",
        "-EdbFilePath"
    )),
    ..MOVE_CONFIGURATION
};

/// A move of the log and system folders alone: Move-StorageGroupPath only.
const MOVE_CONFIGURATION_GROUP: StepDef = StepDef {
    verify: "Get-StorageGroup shows the new log and system folders; the database is dismounted.",
    on_failure: "If the error is about NonInteractive mode or a prompt, the path change asked a question the launcher cannot answer: the message prints the exact command; run it in an elevated Exchange Management Shell on this node, answer Y, then run this step again (it carries on). Otherwise, or to stop here, follow the back-out section for this storage group: the -ConfigurationOnly move of the log and system folders back to the old paths, mount, check, resume. Never accept an offer to create an empty database.",
    unconfirmed: Some(configuration_unconfirmed!(
        "`Get-Help Move-StorageGroupPath -Full`",
        "-LogFolderPath, -SystemFolderPath"
    )),
    ..MOVE_CONFIGURATION
};

const MOVE_FILES: StepDef = StepDef {
    id: "change-move-files",
    phase: MOVE,
    on: On::EachNode,
    title: "Move the storage group's files on this node",
    why: "With -ConfigurationOnly Exchange moves nothing: the database file, the logs and the checkpoint are moved by a script on each node, the active and the passive one. The two file steps wait only for the configuration step and touch different nodes: they may run at the same time, which halves the outage when files are copied.",
    expect: "One line per file moved. A file moved within one volume is renamed. A file moved to another volume is copied by eseutil under a temporary name (.partial), its length checked, then renamed, and its original is kept until the mount step has passed; a large file prints its size and time first (about a minute per 2 GB), then eseutil's progress: leave the window open. Then done; or \"already done\" when the files are in the new folders. `LEFT` lines name what stays at the old place on purpose, beside the files this step moves: delete it with the old folders once the change is accepted.",
    verify: "Each file this change moves is at its new place on this node (the change summary lists them); an original copied to another volume stays at its old place, on purpose, until the mount step has passed and lists it as `KEPT`; a file renamed within a volume is only at its new place.",
    on_failure: "Do not mount while a file is missing: the message names it. If the step was interrupted, run it again: it deletes a half-made .partial copy and starts that file again, or finishes a checked copy. Never delete a database file by hand unless the message names which one.",
    unconfirmed: Some(
        "a file moved to another volume is copied with `eseutil /y <source> /d <destination>`, from the Bin folder of the Exchange install path that setup records as `MsiInstallPath` under `HKLM\\SOFTWARE\\Microsoft\\Exchange\\Setup`; before the window, run `eseutil /?` on a node and check that its copy file mode lists /y and /d, and copy a test file with it",
    ),
    ..CHANGE_STEP
};

const MOUNT_AND_RESUME: StepDef = StepDef {
    id: "change-mount-and-resume",
    phase: MOVE,
    title: "Mount the database, resume replication and check health",
    why: "The database comes back at its new path once its files are in place on both nodes, every file at the old place has a complete copy at the new one, and the database file at the new place reads Clean Shutdown; replication resumes and must become Healthy. Users can reach their mailboxes again from here.",
    expect: concat!(
        "Database mounted, copy resumed, then the copy through the health gate (",
        crate::health_gate!(),
        "), with a log written after the mount copied and replayed on the passive node, then one `KEPT` line per node naming the originals the file steps kept; or \"already done\"."
    ),
    verify: "Get-StorageGroupCopyStatus for this storage group shows Healthy, Suspend False and both queues at 0; a test mailbox opens.",
    on_failure: concat!(
        "The database is mounted once the step has said so: users have their mailboxes back even when the copy still fails the gate. ",
        crate::health_initializing!(),
        " If the copy fails, understand the cause first (the message prints the copy's state and its FailedMessage). ",
        crate::health_reseed!(),
        " Never accept an offer to create an empty database."
    ),
    unconfirmed: Some(
        "the passive node's files are checked through its administrative share (`\\\\NODE\\D$` for its drive D:, and so on); if those shares are disabled the step stops and says so. A moved database file is read with `eseutil /mh` from the Bin folder of the Exchange install path (`MsiInstallPath` under `HKLM\\SOFTWARE\\Microsoft\\Exchange\\Setup`) and must show `State: Clean Shutdown`; run it once on a dismounted test database to see that line",
    ),
    ..CHANGE_STEP
};

const ADD_FOLDERS: StepDef = StepDef {
    id: "create-storage-folders",
    phase: ADD,
    on: On::EachNode,
    title: "Create the folders of the new storage groups on this node",
    why: "CCR keeps the same paths on both nodes; the folders must exist on each before the storage groups are created.",
    expect: "Each folder created, or \"already done\".",
    verify: "The folders exist on both nodes.",
    on_failure: "Check that the drive exists on this node.",
    ..CHANGE_STEP
};

const ADD_GROUPS: StepDef = StepDef {
    id: "create-storage-groups",
    phase: ADD,
    title: "Create the new storage groups and databases",
    why: "Each new storage group is created at its paths with its database, and the database mounted.",
    expect: "Each storage group and database created and mounted, or \"already done\".",
    verify: "Get-StorageGroupCopyStatus lists the new storage groups; the verify step waits for them to become Healthy.",
    on_failure: "Read the error, fix the cause and run the step again: what exists is not created twice.",
    unconfirmed: Some(
        "`-EdbFilePath` places the database file when New-MailboxDatabase creates it, as in Exchange 2007 (New-MailboxDatabase, Exchange Server 2007 SP1-SP3); `Get-Help New-MailboxDatabase -Parameter EdbFilePath` on a node shows it before the window",
    ),
    ..CHANGE_STEP
};

const CONFIRM_REMOVAL: StepDef = StepDef {
    id: "change-confirm-removal",
    phase: REMOVE,
    kind: ByDialect::same(Kind::Manual),
    title: "Confirm the storage group may go",
    why: "A storage group and its database are removed only once nobody needs what is in them.",
    expect: "Every box ticked.",
    verify: "The change record names who confirmed.",
    on_failure: "If any box cannot be ticked, skip this storage group's removal: leave the next step unrun.",
    ..CHANGE_STEP
};

const REMOVE_GROUP: StepDef = StepDef {
    id: "change-remove-storage-group",
    phase: REMOVE,
    title: "Remove the storage group and its database",
    why: "The database is dismounted and removed, then its storage group; Exchange deletes no file, so the files stay for deletion after the change is accepted.",
    expect: "The mailbox count (0), then the database and the storage group removed; or \"already done\".",
    verify: "Get-StorageGroup no longer lists the storage group.",
    on_failure: "A database that still holds mailboxes is refused: move them (Move-Mailbox) and run the step again.",
    unconfirmed: Some(
        "removing a storage group of a CCR cluster with Remove-MailboxDatabase and Remove-StorageGroup, without disabling replication first, and that Exchange leaves the database and log files in place on both nodes, follow the Exchange 2007 procedure for clustered storage groups; check both on a test cluster. The step finds the storage group and its database in the lists of `Get-StorageGroup -Server <CMS>` and `Get-MailboxDatabase -Server <CMS>` by their identity (`CMS\\Group`, `CMS\\Group\\Database`); run the pre-check once before the window to see that it lists them",
    ),
    ..CHANGE_STEP
};

const VERIFY_STEP: StepDef = StepDef {
    id: "verify-cms",
    phase: VERIFY,
    title: "Check the CMS and replication after the change",
    why: "Hand back only a clustered mailbox server that is online with every storage group copy Healthy, new ones included once seeded.",
    expect: concat!(
        "The CMS is Online and every storage group copy, new ones included, passes the health gate: ",
        crate::health_gate!(),
        "."
    ),
    verify: "Attach the log of this step to the change record.",
    on_failure: concat!(
        "Do not close the change while the CMS is not Online or a copy fails the gate. ",
        crate::health_initializing!(),
        " A copy that is `Failed`: ",
        crate::health_reseed!()
    ),
    ..CHANGE_STEP
};

/// The configuration step of a move, naming only the cmdlets it runs.
fn configuration_def(change: &Change) -> &'static StepDef {
    let ChangeKind::Move { old, new, .. } = &change.kind else {
        return &MOVE_CONFIGURATION;
    };
    let edb = match (&old.edb, &new.edb) {
        (Some(a), Some(b)) => !same_path(a, b),
        _ => false,
    };
    let group = !same_path(&old.log, &new.log) || !same_path(&old.system, &new.system);
    match (edb, group) {
        (true, false) => &MOVE_CONFIGURATION_DATABASE,
        (false, true) => &MOVE_CONFIGURATION_GROUP,
        _ => &MOVE_CONFIGURATION,
    }
}

/// Every step a change window may have, for the window facts' test.
pub const STEP_DEFS: &[&StepDef] = &[
    &PRECHECK_STEP,
    &PRECHECK_NO_MOVE,
    &MOVE_CONFIGURATION,
    &MOVE_CONFIGURATION_DATABASE,
    &MOVE_CONFIGURATION_GROUP,
    &MOVE_FILES,
    &MOUNT_AND_RESUME,
    &ADD_FOLDERS,
    &ADD_GROUPS,
    &CONFIRM_REMOVAL,
    &REMOVE_GROUP,
    &VERIFY_STEP,
];

/// The plan of a change window, and for each step the change it serves.
#[derive(Debug, Clone)]
pub struct ChangePlan {
    pub plan: Plan,
    /// Index into `ChangeSet::changes` of each step's change, by step.
    pub change_of: Vec<Option<usize>>,
}

struct Builder<'a> {
    topology: &'a Topology,
    steps: Vec<Step>,
    change_of: Vec<Option<usize>>,
}

impl Builder<'_> {
    /// Adds a step of `def` on `host` for a cluster, and returns its id.
    fn push(
        &mut self,
        def: &StepDef,
        cluster: usize,
        host: &str,
        change: Option<(usize, &Change)>,
        after: Vec<String>,
    ) -> String {
        let Some(cluster_value) = self.topology.clusters.get(cluster) else {
            return String::new();
        };
        let host = self
            .topology
            .host(host)
            .map_or(host, |h| h.name.as_str())
            .to_owned();
        let mut id = format!("change.{}.{}", slug(&cluster_value.name), def.id);
        let mut file = def.id.trim_start_matches("change-").to_owned();
        if let Some((_, change)) = change {
            id.push('.');
            id.push_str(&slug(&change.group));
            file.push('-');
            file.push_str(&slug(&change.group));
        }
        if def.on == On::EachNode {
            id.push('.');
            id.push_str(&slug(&host));
        }
        let kind = def.kind.on(self.topology.platform.windows);
        let mut step = plan::make(
            def,
            kind,
            &host,
            Some((cluster, cluster_value)),
            id.clone(),
            "",
        );
        plan::speak_dialect(&mut step, self.topology.platform.windows);
        step.file = kind.extension().map(|ext| format!("{file}.{ext}"));
        step.subject = change.map(|(_, change)| change.identity());
        step.after = after;
        self.steps.push(step);
        self.change_of.push(change.map(|(index, _)| index));
        id
    }
}

/// The steps that take the estate from OLD to NEW, on the nodes of the
/// clusters the changes touch, numbered in one sequence. `new` is NEW.
pub fn plan(new: &Topology, set: &ChangeSet) -> ChangePlan {
    let mut builder = Builder {
        topology: new,
        steps: Vec::new(),
        change_of: Vec::new(),
    };
    let clusters = set.clusters();
    let nodes = |cluster: usize| -> Vec<String> {
        new.clusters
            .get(cluster)
            .map(|c| c.nodes.clone())
            .unwrap_or_default()
    };
    let first = |cluster: usize| nodes(cluster).first().cloned().unwrap_or_default();
    let of_cluster = |cluster: usize| {
        set.changes
            .iter()
            .enumerate()
            .filter(move |(_, change)| change.cluster == cluster)
    };

    // The build's own policy steps: PowerShell may run the change's scripts
    // from the first step on, and gets its policy back at the end, once the
    // change's verification has passed, and never below RemoteSigned on
    // these nodes, where Exchange is installed: the Exchange Management
    // Shell needs RemoteSigned (Exchange 2007 "Script Security"). The
    // record is this window's own, in its folder, not the build's.
    let from_build = |id: &str, phase: Phase| {
        plan::ccr2007::STEPS
            .iter()
            .find(|def| def.id == id)
            .map(|def| StepDef { phase, ..*def })
    };
    let allow = from_build("execution-policy", PRECHECK);
    let restore = from_build("restore-execution-policy", VERIFY);
    let mut prechecks = Vec::new();
    for &cluster in &clusters {
        let mut allowed = Vec::new();
        if let Some(def) = &allow {
            for node in nodes(cluster) {
                allowed.push(builder.push(def, cluster, &node, None, Vec::new()));
            }
        }
        let moves = of_cluster(cluster).any(|(_, c)| matches!(c.kind, ChangeKind::Move { .. }));
        let precheck = if moves {
            &PRECHECK_STEP
        } else {
            &PRECHECK_NO_MOVE
        };
        prechecks.push(builder.push(precheck, cluster, &first(cluster), None, allowed));
    }
    let mut last: Vec<Vec<String>> = vec![Vec::new(); clusters.len()];
    for (position, &cluster) in clusters.iter().enumerate() {
        for (index, change) in of_cluster(cluster) {
            if !matches!(change.kind, ChangeKind::Move { .. }) {
                continue;
            }
            let subject = Some((index, change));
            let configure = builder.push(
                configuration_def(change),
                cluster,
                &first(cluster),
                subject,
                vec![prechecks[position].clone()],
            );
            let files: Vec<String> = nodes(cluster)
                .iter()
                .map(|node| {
                    builder.push(&MOVE_FILES, cluster, node, subject, vec![configure.clone()])
                })
                .collect();
            let mount = builder.push(&MOUNT_AND_RESUME, cluster, &first(cluster), subject, files);
            last[position].push(mount);
        }
    }
    for (position, &cluster) in clusters.iter().enumerate() {
        let adds = of_cluster(cluster).any(|(_, c)| matches!(c.kind, ChangeKind::Add { .. }));
        if !adds {
            continue;
        }
        let folders: Vec<String> = nodes(cluster)
            .iter()
            .map(|node| {
                builder.push(
                    &ADD_FOLDERS,
                    cluster,
                    node,
                    None,
                    vec![prechecks[position].clone()],
                )
            })
            .collect();
        let create = builder.push(&ADD_GROUPS, cluster, &first(cluster), None, folders);
        last[position].push(create);
    }
    for (position, &cluster) in clusters.iter().enumerate() {
        for (index, change) in of_cluster(cluster) {
            if !matches!(change.kind, ChangeKind::Remove { .. }) {
                continue;
            }
            let subject = Some((index, change));
            let confirm = builder.push(
                &CONFIRM_REMOVAL,
                cluster,
                &first(cluster),
                subject,
                vec![prechecks[position].clone()],
            );
            let remove = builder.push(
                &REMOVE_GROUP,
                cluster,
                &first(cluster),
                subject,
                vec![confirm],
            );
            last[position].push(remove);
        }
    }
    for (position, &cluster) in clusters.iter().enumerate() {
        let after = std::mem::take(&mut last[position]);
        let verify = builder.push(&VERIFY_STEP, cluster, &first(cluster), None, after);
        if let Some(def) = &restore {
            for node in nodes(cluster) {
                builder.push(def, cluster, &node, None, vec![verify.clone()]);
            }
        }
    }

    let Builder {
        mut steps,
        change_of,
        ..
    } = builder;
    // Phases are numbered without gaps there: a change without removals has
    // no empty "remove" phase.
    plan::number_steps(&mut steps);
    ChangePlan {
        plan: Plan { steps },
        change_of,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> Topology {
        let checked = crate::check::check(crate::cli::INIT_EXAMPLE);
        checked
            .validated()
            .expect("the seed is valid")
            .topology
            .clone()
    }

    #[test]
    fn the_same_model_is_no_change_whatever_the_case_of_names_and_paths() {
        let old = seed();
        let mut new = old.clone();
        let group = &mut new.clusters[0].mailbox.storage_groups[0];
        group.name = group.name.to_uppercase();
        group.log_path = group.log_path.to_lowercase();
        new.clusters[0].mailbox.setup = r"E:\Media\Setup.com".into();
        assert!(change_set(&old, &new).is_empty());
    }

    #[test]
    fn a_renamed_cluster_is_found_by_its_cms_and_refused_at_its_name() {
        let old = seed();
        let mut new = old.clone();
        new.clusters[0].name = "MAILX".into();
        let set = change_set(&old, &new);
        assert_eq!(set.refusals.len(), 1, "{:?}", set.refusals);
        assert_eq!(set.refusals[0].pointer, "/clusters/0/name");
        assert_eq!(set.refusals[0].summary, "cluster name MAIL → MAILX");
    }

    #[test]
    fn clusters_and_hosts_added_or_removed_are_refused() {
        let old = seed();
        let mut new = old.clone();
        new.clusters.clear();
        new.hosts.pop();
        let set = change_set(&old, &new);
        let summaries: Vec<&str> = set.refusals.iter().map(|r| r.summary.as_str()).collect();
        assert_eq!(summaries, ["host HUB1 removed", "cluster MAIL removed"]);
        let back = change_set(&new, &old);
        let pointers: Vec<&str> = back.refusals.iter().map(|r| r.pointer.as_str()).collect();
        assert_eq!(pointers, ["/hosts/2/name", "/clusters/0/name"]);
    }

    #[test]
    fn the_first_storage_group_listed_anew_moves_from_setup_defaults() {
        let mut old = seed();
        let new = seed();
        old.clusters[0].mailbox.storage_groups.clear();
        let set = change_set(&old, &new);
        assert!(set.refusals.is_empty());
        let ChangeKind::Move {
            old: from,
            from_setup_default,
            ..
        } = &set.changes[0].kind
        else {
            panic!("a move: {:?}", set.changes);
        };
        assert!(from_setup_default);
        assert_eq!(
            from.edb.as_deref(),
            Some(
                r"C:\Program Files\Microsoft\Exchange Server\Mailbox\First Storage Group\Mailbox Database.edb"
            )
        );
        // The other way round is not a removal: it is refused.
        let back = change_set(&new, &old);
        assert!(back.changes.is_empty());
        assert_eq!(
            back.refusals[0].pointer,
            "/clusters/0/mailbox/storage_groups"
        );
    }

    #[test]
    fn a_plan_numbers_steps_and_phases_without_gaps() {
        let old = seed();
        let mut new = old.clone();
        new.clusters[0].mailbox.storage_groups[0].log_path = r"E:\Logs".into();
        new.clusters[0].mailbox.storage_groups[0].system_path = r"E:\Logs".into();
        let set = change_set(&old, &new);
        let change_plan = plan(&new, &set);
        let numbers: Vec<u32> = change_plan.plan.steps.iter().map(|s| s.number).collect();
        assert_eq!(numbers, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
        let phases: Vec<u8> = change_plan.plan.steps.iter().map(|s| s.phase).collect();
        assert_eq!(phases, [1, 1, 1, 2, 2, 2, 2, 3, 3, 3]);
        let ids: Vec<&str> = change_plan.plan.steps.iter().map(|s| s.def_id).collect();
        assert_eq!(ids[0], "execution-policy");
        assert_eq!(ids[9], "restore-execution-policy");
        assert_eq!(change_plan.change_of[3], Some(0));
    }
}
