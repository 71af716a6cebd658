//! The values a template sees, as JSON: derived once from the topology and
//! the plan, so templates hold no logic beyond loops and conditions.
//! Nothing here is escaped: that happens in the templates, through helpers;
//! except whole command lines a runbook prints for the operator to type
//! ([`cms_commands`]), built with the command language's escaping and then
//! escaped for Markdown by the template, like the change back-out's.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use serde_json::{Map, Value, json};

use crate::model::{Cluster, FIRST_DATABASE, FIRST_STORAGE_GROUP, Network, Topology, Windows};
use crate::plan::window::{self, duration};
use crate::plan::{Kind, Plan, Step};
use crate::render::escape;

/// Under it, `<estate>\\<window>` is where the operator copies a host's
/// scripts for one window; the runbook says so.
pub const STAGING_ROOT: &str = r"C:\runsheet";

/// Exchange setup's default installation folder (a platform fact: `rules`).
pub use crate::platform::rules::DEFAULT_INSTALL_PATH;

/// The Setup.com switch that gives the CMS its address on Windows Server 2008.
/// Unconfirmed by the reference (section 9): kept in one place to change.
pub const CMS_ADDRESS_SWITCH: &str = "/CMSIPv4Addresses:";

/// Facts about the run that every artifact repeats.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub generator: String,
    pub version: String,
    /// The topology the artifacts build, or the one a change leads to.
    pub topology_sha256: String,
    /// For a change: the topology it starts from.
    pub from_topology_sha256: Option<String>,
}

impl Provenance {
    pub fn new(topology_sha256: String) -> Provenance {
        Provenance {
            generator: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            topology_sha256,
            from_topology_sha256: None,
        }
    }

    /// The provenance of a change from one topology to another.
    pub fn change(from_sha256: String, to_sha256: String) -> Provenance {
        Provenance {
            from_topology_sha256: Some(from_sha256),
            ..Provenance::new(to_sha256)
        }
    }

    /// The name of the window these files belong to: see [`window_name`].
    pub fn window(&self) -> String {
        match &self.from_topology_sha256 {
            Some(from) => window_name("change", &[from, &self.topology_sha256]),
            None => window_name("build", &[&self.topology_sha256]),
        }
    }
}

/// The folder of one window on each host (`C:\runsheet\<estate>\<window>`):
/// its kind and a short hash of what it was generated from, so that no file
/// of one window (the execution-policy record, transcripts, logs) is ever
/// reused by another. `hashes` are the sha256 (hex) of the inputs: one
/// gives its first 8 hex digits (`build-1a2b3c4d`), several the first 8 of
/// the sha256 over them, one per line (`change-…` over OLD and NEW).
pub fn window_name(kind: &str, hashes: &[&str]) -> String {
    let digest = match hashes {
        [one] => (*one).to_ascii_lowercase(),
        _ => {
            let mut text = String::new();
            for hash in hashes {
                text.push_str(hash);
                text.push('\n');
            }
            crate::artifact::sha256_hex(text.as_bytes())
        }
    };
    let short: String = digest.chars().take(8).collect();
    format!("{kind}-{short}")
}

/// Where a window's files go on each host, for the templates: `window` its
/// name, `folder` the full path.
pub(crate) fn staging(topology: &Topology, window: &str) -> Value {
    json!({
        "window": window,
        "folder": window_folder(topology, window),
    })
}

fn window_folder(topology: &Topology, window: &str) -> String {
    format!("{STAGING_ROOT}\\{}\\{window}", topology.name)
}

/// The folder of a window on `host`, as another host reaches it: through
/// the administrative share of the drive [`STAGING_ROOT`] is on.
fn admin_share_folder(topology: &Topology, window: &str, host: &str) -> String {
    let folder = window_folder(topology, window);
    match folder.split_once(":\\") {
        Some((drive, rest)) => format!("\\\\{host}\\{drive}$\\{rest}"),
        None => folder,
    }
}

pub(crate) fn estate(topology: &Topology) -> Value {
    json!({
        "name": topology.name,
        "fqdn": topology.domain.fqdn,
        "netbios": topology.domain.netbios,
        "windows": topology.platform.windows.as_str(),
        "windows_name": topology.platform.windows.display_name(),
        "windows_2008": topology.platform.windows == Windows::W2008,
        "os_version": topology.platform.windows.kernel_version(),
        "os_version_prefix": format!("{}.", topology.platform.windows.kernel_version()),
        "exchange_name": "Exchange Server 2007 SP3",
        "health": crate::plan::health::value(),
    })
}

/// The command line that runs a step on its host, from the folder of its
/// window: its `.cmd`, which for a PowerShell step is the launcher beside
/// the script.
pub fn command_line(topology: &Topology, window: &str, step: &Step) -> Option<String> {
    let file = match step.kind {
        Kind::Cmd => step.file.as_deref()?,
        Kind::Ps1 => step.launcher.as_deref()?,
        Kind::Manual => return None,
    };
    let name = file.rsplit('/').next().unwrap_or(file);
    Some(format!("{}\\{name}", window_folder(topology, window)))
}

/// The heading of a step, word for word the same in the contents.
pub fn step_heading(step: &Step) -> String {
    let cluster = step
        .cluster_name
        .as_deref()
        .map(|name| format!(" ({name})"))
        .unwrap_or_default();
    format!(
        "Step {}: {}{cluster} on {}",
        step.label(),
        step.title,
        step.host
    )
}

fn step_value(topology: &Topology, lookup: &Lookup<'_>, step: &Step) -> Value {
    let after: Vec<Value> = step
        .after
        .iter()
        .filter_map(|id| lookup.step(id))
        .map(|other| {
            // The log the step it waits for writes beside its `.cmd` (a
            // PowerShell step's transcript too), in this window's folder
            // on that host: on another host through its administrative
            // share; on this one by its name, from this window's folder.
            // A PowerShell step that passed ends with `done_line`
            // (`Stop-Step 0`), one that failed with `failed_line` (`Fail`).
            let log = [other.launcher.as_deref(), other.file.as_deref()]
                .into_iter()
                .flatten()
                .next()
                .and_then(|file| file.rsplit('/').next())
                .and_then(|name| name.rsplit_once('.'))
                .map(|(stem, _)| format!("{stem}.log"));
            let log_path = log.as_ref().map(|log| {
                if other.host.eq_ignore_ascii_case(&step.host) {
                    log.clone()
                } else {
                    format!(
                        "{}\\{log}",
                        admin_share_folder(topology, &lookup.window, &other.host)
                    )
                }
            });
            let label = format!("Step {} ({})", other.label(), other.id);
            json!({
                "number": other.label(),
                "id": other.id,
                "host": other.host,
                "title": other.title,
                "log": log,
                "log_path": log_path,
                "done_line": format!("{label}: done."),
                "failed_line": format!("{label} FAILED:"),
                "label_line": label.clone(),
            })
        })
        .collect();
    let window = crate::plan::window::step(step.def_id);
    json!({
        "number": step.label(),
        "id": step.id,
        "title": step.title,
        "subject": step.subject,
        "heading": step_heading(step),
        "time": step_time(step.def_id, window),
        "outage": crate::plan::window::outage(step).map_or_else(|| "No.".to_owned(), |what| format!("Yes: {what}")),
        "back_out": window.map_or("Not known: find out during the dry run.", |w| w.back_out),
        "phase": step.phase,
        "phase_title": step.phase_title,
        "host": step.host,
        "kind": step.kind,
        "why": step.why,
        "expect": step.expect,
        "verify": step.verify,
        "on_failure": step.on_failure,
        "unconfirmed": step.unconfirmed,
        "file": step.file,
        "script_name": step.file.as_deref().map(|file| file.rsplit('/').next().unwrap_or(file)),
        "launcher": step.launcher,
        "command": command_line(topology, &lookup.window, step),
        "after": after,
        "label": format!("Step {} ({})", step.label(), step.id),
    })
}

/// The step's time from the window table; the build's file step also copies
/// what goes to another volume, which takes time by the size of the files.
fn step_time(def_id: &str, window: Option<&crate::plan::window::StepWindow>) -> String {
    let Some(window) = window else {
        return "not estimated: time it during the dry run".to_owned();
    };
    let mut time = format!("about {}", duration(window.minutes));
    if def_id == "move-database-files" {
        time.push_str(", plus the copy of files moved to another volume: about a minute per 2 GB of the database and logs; to estimate, add up the sizes of the database file and the logs in the old folder on this node; the step prints the size and minutes of each file of 1 GB or more before it copies it");
    }
    time
}

fn host_value(topology: &Topology, nodes: &HashSet<String>, name: &str) -> Value {
    let Some(host) = topology.host(name) else {
        return Value::Null;
    };
    let is_node = nodes.contains(&host.name.to_ascii_lowercase());
    let addresses: Vec<Value> = topology
        .networks
        .iter()
        .filter_map(|network| {
            host.addresses
                .get(&network.name)
                .map(|address| (network, address))
        })
        .map(
            |(network, address)| json!({ "network": network.name, "address": address.to_string() }),
        )
        .collect();
    let drives: Vec<String> = host.drives.iter().map(|d| d.letter().to_string()).collect();
    // The other node of its cluster: the window reads its registry (pending
    // restarts) and its administrative shares (the storage steps).
    let peer = topology
        .clusters
        .iter()
        .find(|cluster| {
            cluster
                .nodes
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&host.name))
        })
        .and_then(|cluster| {
            cluster
                .nodes
                .iter()
                .find(|n| !n.eq_ignore_ascii_case(&host.name))
        })
        .and_then(|peer| topology.host(peer));
    let peer_value = peer.map(|peer| {
        let shares: Vec<String> = peer
            .drives
            .iter()
            .map(|d| format!("\\\\{}\\{}$", peer.name, d.letter()))
            .collect();
        json!({ "name": peer.name, "registry": format!("\\\\{}\\HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion", peer.name), "shares": shares })
    });
    json!({ "name": host.name, "is_node": is_node, "addresses": addresses, "drives": drives, "peer": peer_value })
}

/// Adds a step's number to the numbers of its blueprint id, in snake case,
/// for messages such as "finish step 040 first"; a blueprint step on several
/// hosts reads "040 and 050".
fn add_step_number(numbers: &mut Map<String, Value>, step: &Step) {
    add_number(numbers, step.def_id.replace('-', "_"), step);
}

/// Adds a step's number under `key`: "040", or "040 and 050".
pub(crate) fn add_number(numbers: &mut Map<String, Value>, key: String, step: &Step) {
    let entry = numbers
        .entry(key)
        .or_insert_with(|| Value::String(String::new()));
    if let Value::String(text) = entry {
        if !text.is_empty() {
            text.push_str(" and ");
        }
        text.push_str(&step.label());
    }
}

/// The cluster network role (`MSCluster_Network.Role`) a network gets:
/// 1 cluster traffic only, for the heartbeat; 3 cluster and client.
fn cluster_role(network: &Network) -> (&'static str, &'static str) {
    if network.clients {
        ("3", "cluster and client")
    } else {
        ("1", "cluster only")
    }
}

pub(crate) fn parent_folder(path: &str) -> String {
    path.rsplit_once('\\')
        .map_or_else(|| path.to_owned(), |(head, _)| head.to_owned())
}

fn file_name(path: &str) -> String {
    path.rsplit_once('\\')
        .map_or_else(|| path.to_owned(), |(_, tail)| tail.to_owned())
}

fn cluster_value(topology: &Topology, cluster: &Cluster) -> Value {
    let first = cluster.nodes.first().cloned().unwrap_or_default();
    let second = cluster.nodes.get(1).cloned().unwrap_or_default();
    let nodes: Vec<_> = cluster
        .nodes
        .iter()
        .filter_map(|n| topology.host(n))
        .collect();
    let networks: Vec<Value> = topology
        .networks
        .iter()
        .filter(|network| {
            !nodes.is_empty()
                && nodes
                    .iter()
                    .all(|node| node.addresses.contains_key(&network.name))
        })
        .map(|network| {
            json!({
                "name": network.name,
                "subnet": network.subnet.to_string(),
                "address": network.subnet.network().to_string(),
                "mask": network.subnet.mask().to_string(),
                "role": cluster_role(network).0,
            })
        })
        .collect();
    let mask = topology
        .networks
        .iter()
        .find(|network| network.clients && network.subnet.contains(cluster.address))
        .map(|network| network.subnet.mask().to_string())
        .unwrap_or_default();
    let mailbox = &cluster.mailbox;
    let install = mailbox
        .install_path
        .clone()
        .unwrap_or_else(|| DEFAULT_INSTALL_PATH.to_owned());
    let identity = |group: &str| format!("{}\\{group}", mailbox.name);

    let mut first_group = Value::Null;
    let mut new_groups = Vec::new();
    let mut folders: Vec<String> = Vec::new();
    for group in &mailbox.storage_groups {
        let databases: Vec<Value> = group
            .databases
            .iter()
            .map(|database| {
                json!({
                    "name": database.name,
                    "identity": format!("{}\\{}", identity(&group.name), database.name),
                    "edb_path": database.edb_path,
                    "edb_folder": parent_folder(&database.edb_path),
                    "edb_file": file_name(&database.edb_path),
                })
            })
            .collect();
        let value = json!({
            "name": group.name,
            "identity": identity(&group.name),
            "log_path": group.log_path,
            "system_path": group.system_path,
            "databases": databases,
        });
        if group.name.eq_ignore_ascii_case(FIRST_STORAGE_GROUP) {
            let setup_default = crate::platform::rules::setup_first_storage_group(Some(&install));
            let default_folder = setup_default.log_path;
            let database = group.databases.first();
            first_group = json!({
                "group": value,
                "database_name": database.map_or(FIRST_DATABASE, |d| d.name.as_str()),
                "database_identity": format!("{}\\{}", identity(FIRST_STORAGE_GROUP), database.map_or(FIRST_DATABASE, |d| d.name.as_str())),
                "edb_path": database.map(|d| d.edb_path.clone()),
                "edb_folder": database.map(|d| parent_folder(&d.edb_path)),
                "default_folder": default_folder,
                "default_edb": setup_default.edb_path,
            });
        } else {
            for folder in [group.log_path.clone(), group.system_path.clone()]
                .into_iter()
                .chain(group.databases.iter().map(|d| parent_folder(&d.edb_path)))
            {
                if !folders
                    .iter()
                    .any(|known| known.eq_ignore_ascii_case(&folder))
                {
                    folders.push(folder);
                }
            }
            new_groups.push(value);
        }
    }
    json!({
        "name": cluster.name,
        "address": cluster.address.to_string(),
        "mask": mask,
        "account": format!("{}\\{}$", topology.domain.netbios, cluster.name),
        // How icacls lists the account's entry, and how net share grants and lists it.
        "account_ace": format!("{}\\{}$:(OI)(CI)(F)", topology.domain.netbios, cluster.name),
        "account_share_grant": format!("{}\\{}$,FULL", topology.domain.netbios, cluster.name),
        "account_share_entry": format!("{}\\{}$, FULL", topology.domain.netbios, cluster.name),
        "first_node": first,
        "second_node": second,
        "nodes": cluster.nodes,
        "networks": networks,
        "witness": {
            "host": cluster.witness.host,
            "folder": cluster.witness.folder,
            "share": cluster.witness.share,
            "unc": format!("\\\\{}\\{}", cluster.witness.host, cluster.witness.share),
            "remark": format!("File share witness for cluster {}", cluster.name),
        },
        "cms": {
            "name": mailbox.name,
            "address": mailbox.address.to_string(),
            "setup": mailbox.setup,
            "install_path": mailbox.install_path,
            "target_dir": install,
            "name_switch": format!("/CMSName:{}", mailbox.name),
            "address_switch": format!("{CMS_ADDRESS_SWITCH}{}", mailbox.address),
            "target_dir_switch": mailbox.install_path.as_ref().map(|path| format!("/TargetDir:{path}")),
            "commands": cms_commands(cluster),
        },
        "first_storage_group": first_group,
        "new_storage_groups": new_groups,
        "folders": folders,
    })
}

/// The command lines the restart of the active node prints: stop the CMS
/// before the restart, find its group's owner, move the stopped group back
/// to the first node, start it. Stop-ClusteredMailboxServer needs
/// -StopReason; a restart does not start a stopped CMS, only
/// Start-ClusteredMailboxServer does (Exchange 2007 SP1-SP3, aa997179 and
/// bb124258; Confirm defaults to $true). `null` when a name cannot be
/// written, which validation has already refused.
fn cms_commands(cluster: &Cluster) -> Value {
    let cms = &cluster.mailbox.name;
    let first = cluster.nodes.first().map_or("", String::as_str);
    let (Ok(identity), Ok(group), Ok(cluster_name), Ok(node)) = (
        escape::ps_literal(cms),
        escape::cmd_arg(cms),
        escape::cmd_arg(&cluster.name),
        escape::cmd_arg(first),
    ) else {
        return Value::Null;
    };
    json!({
        "stop": format!("Stop-ClusteredMailboxServer -Identity {identity} -StopReason 'Restart that Exchange setup asked for' -Confirm:$false"),
        "start": format!("Start-ClusteredMailboxServer -Identity {identity} -Confirm:$false"),
        "status": format!("Get-ClusteredMailboxServerStatus -Identity {identity} | Format-List State,OperationalMachines"),
        "group": format!("cluster /cluster:{cluster_name} group {group}"),
        "move_back": format!("cluster /cluster:{cluster_name} group {group} /move:{node}"),
    })
}

/// The keys of a step's context that [`Lookup::fill_step`] sets.
pub const STEP_KEYS: &[&str] = &["exchange_step", "step", "host", "host_steps"];

/// What the step contexts look up, built in one pass over the plan, so that
/// building every context is linear in the number of steps.
pub struct Lookup<'a> {
    topology: &'a Topology,
    plan: &'a Plan,
    /// Step position by id.
    by_id: HashMap<&'a str, usize>,
    /// Per cluster: the numbers of its steps by blueprint id.
    cluster_steps: Vec<Map<String, Value>>,
    /// Per cluster and host: the numbers of the cluster's steps on that host.
    host_steps: HashMap<(usize, &'a str), Map<String, Value>>,
    /// Per cluster and blueprint id: the number of its first step.
    first_step: HashMap<(usize, &'static str), String>,
    /// Per cluster: the cluster's values.
    clusters: Vec<Value>,
    /// Per host name of a step: the host's values.
    hosts: HashMap<&'a str, Value>,
    /// The window the steps belong to ([`window_name`]).
    window: String,
    /// Where its files go on each host ([`staging`]).
    staging: Value,
}

impl<'a> Lookup<'a> {
    pub fn new(topology: &'a Topology, plan: &'a Plan, window: &str) -> Lookup<'a> {
        let mut lookup = Lookup {
            topology,
            plan,
            by_id: HashMap::with_capacity(plan.steps.len()),
            cluster_steps: vec![Map::new(); topology.clusters.len()],
            host_steps: HashMap::new(),
            first_step: HashMap::new(),
            clusters: topology
                .clusters
                .par_iter()
                .map(|cluster| cluster_value(topology, cluster))
                .collect(),
            hosts: HashMap::new(),
            window: window.to_owned(),
            staging: staging(topology, window),
        };
        let nodes: HashSet<String> = topology
            .clusters
            .iter()
            .flat_map(|cluster| cluster.nodes.iter().map(|n| n.to_ascii_lowercase()))
            .collect();
        for (position, step) in plan.steps.iter().enumerate() {
            lookup.by_id.entry(step.id.as_str()).or_insert(position);
            lookup
                .hosts
                .entry(step.host.as_str())
                .or_insert_with(|| host_value(topology, &nodes, &step.host));
            let Some(cluster) = step.cluster.filter(|&c| c < topology.clusters.len()) else {
                continue;
            };
            add_step_number(&mut lookup.cluster_steps[cluster], step);
            add_step_number(
                lookup
                    .host_steps
                    .entry((cluster, step.host.as_str()))
                    .or_default(),
                step,
            );
            lookup
                .first_step
                .entry((cluster, step.def_id))
                .or_insert_with(|| step.label());
        }
        lookup
    }

    /// The step with that id.
    fn step(&self, id: &str) -> Option<&'a Step> {
        self.by_id.get(id).and_then(|&i| self.plan.steps.get(i))
    }
}

impl Lookup<'_> {
    /// What every step of a cluster (or, for `None`, of no cluster) shares
    /// in its context: provenance, the estate, the cluster and the numbers
    /// of its steps. Built once per cluster and batch of steps; each step
    /// then adds its own values with [`Lookup::fill_step`].
    pub fn shared_context(
        &self,
        cluster: Option<usize>,
        provenance: &Provenance,
    ) -> Map<String, Value> {
        let cluster = cluster.filter(|&index| index < self.topology.clusters.len());
        let mut context = Map::new();
        context.insert("exchange_step".into(), Value::Null);
        context.insert("generator".into(), provenance.generator.clone().into());
        context.insert("version".into(), provenance.version.clone().into());
        context.insert(
            "topology_sha256".into(),
            provenance.topology_sha256.clone().into(),
        );
        context.insert(
            "from_topology_sha256".into(),
            provenance.from_topology_sha256.clone().into(),
        );
        context.insert("estate".into(), estate(self.topology));
        context.insert("staging".into(), self.staging.clone());
        context.insert("step".into(), Value::Null);
        context.insert("host".into(), Value::Null);
        context.insert(
            "cluster".into(),
            cluster.map_or(Value::Null, |i| self.clusters[i].clone()),
        );
        context.insert(
            "steps".into(),
            cluster.map_or(Value::Null, |i| {
                Value::Object(self.cluster_steps[i].clone())
            }),
        );
        context.insert("host_steps".into(), Value::Null);
        context
    }

    /// Puts the step's own values ([`STEP_KEYS`]) into a context that
    /// [`Lookup::shared_context`] made for the step's cluster.
    pub fn fill_step(&self, step: &Step, context: &mut Map<String, Value>) {
        let topology = self.topology;
        let cluster_index = step
            .cluster
            .filter(|&index| index < topology.clusters.len());
        let cluster = cluster_index.and_then(|index| topology.clusters.get(index));
        // The step that installs Exchange on this host, for "finish step N first".
        let exchange_step = cluster_index.zip(cluster).and_then(|(index, cluster)| {
            let active = cluster
                .nodes
                .first()
                .is_some_and(|node| node.eq_ignore_ascii_case(&step.host));
            let def = if active {
                "setup-active-cms"
            } else {
                "setup-passive-node"
            };
            self.first_step.get(&(index, def)).cloned()
        });
        context.insert("exchange_step".into(), exchange_step.into());
        context.insert("step".into(), step_value(topology, self, step));
        context.insert(
            "host".into(),
            self.hosts
                .get(step.host.as_str())
                .cloned()
                .unwrap_or(Value::Null),
        );
        context.insert(
            "host_steps".into(),
            cluster_index.map_or(Value::Null, |i| {
                Value::Object(
                    self.host_steps
                        .get(&(i, step.host.as_str()))
                        .cloned()
                        .unwrap_or_default(),
                )
            }),
        );
    }
}

/// The context of the runbook: the estate, its tables, and every step with
/// its rendered manual text.
pub fn runbook_context(
    topology: &Topology,
    plan: &Plan,
    provenance: &Provenance,
    warnings: Vec<Value>,
) -> Value {
    let hosts: Vec<Value> = topology
        .hosts
        .iter()
        .map(|host| {
            let mut roles: Vec<String> = Vec::new();
            for cluster in &topology.clusters {
                if let Some(position) = cluster.nodes.iter().position(|n| n.eq_ignore_ascii_case(&host.name)) {
                    let role = if position == 0 { "first node (active)" } else { "second node (passive)" };
                    roles.push(format!("{role} of {}", cluster.name));
                }
                if cluster.witness.host.eq_ignore_ascii_case(&host.name) {
                    roles.push(format!("witness of {}", cluster.name));
                }
            }
            let addresses: Vec<String> = topology
                .networks
                .iter()
                .map(|network| host.addresses.get(&network.name).map_or_else(|| "-".to_owned(), ToString::to_string))
                .collect();
            let drives: Vec<String> = host.drives.iter().map(|d| format!("{}:", d.letter())).collect();
            json!({ "name": host.name, "roles": roles.join("; "), "addresses": addresses, "drives": drives.join(" ") })
        })
        .collect();
    let networks: Vec<Value> = topology
        .networks
        .iter()
        .map(|network| {
            let (code, role) = cluster_role(network);
            json!({
                "name": network.name,
                "subnet": network.subnet.to_string(),
                "mask": network.subnet.mask().to_string(),
                "clients": if network.clients { "yes" } else { "no (heartbeat)" },
                "role": format!("{role} ({code})"),
            })
        })
        .collect();
    let clusters: Vec<Value> = topology
        .clusters
        .iter()
        .map(|cluster| cluster_value(topology, cluster))
        .collect();
    let storage: Vec<Value> = topology
        .clusters
        .iter()
        .flat_map(|cluster| {
            cluster
                .mailbox
                .storage_groups
                .iter()
                .flat_map(move |group| {
                    let action = if group.name.eq_ignore_ascii_case(FIRST_STORAGE_GROUP) {
                        "moved"
                    } else {
                        "created"
                    };
                    group.databases.iter().map(move |database| {
                        json!({
                            "cms": cluster.mailbox.name,
                            "group": group.name,
                            "log_path": group.log_path,
                            "system_path": group.system_path,
                            "database": database.name,
                            "edb_path": database.edb_path,
                            "action": action,
                        })
                    })
                })
        })
        .collect();
    let dry_run = dry_run(plan);
    let network_names: Vec<&str> = topology.networks.iter().map(|n| n.name.as_str()).collect();
    let has_storage = !storage.is_empty();
    json!({
        "generator": provenance.generator,
        "version": provenance.version,
        "topology_sha256": provenance.topology_sha256,
        "estate": estate(topology),
        "staging": staging(topology, &provenance.window()),
        "network_names": network_names,
        "hosts": hosts,
        "networks": networks,
        "clusters": clusters,
        "storage": storage,
        "has_storage": has_storage,
        "dry_run": dry_run,
        "warnings": warnings,
        "step_count": plan.steps.len().to_string(),
        "contacts": contacts_value(topology),
        "window": window_value(plan),
        "first": plan.steps.first().map(Step::label),
        "last": plan.steps.last().map(Step::label),
    })
}

/// The estate's contacts; a missing phone or e-mail is null.
pub fn contacts_value(topology: &Topology) -> Value {
    topology
        .contacts
        .iter()
        .map(|contact| {
            json!({
                "role": contact.role,
                "name": contact.name,
                "phone": contact.phone,
                "email": contact.email,
            })
        })
        .collect()
}

/// Time, outage, gates and point of no return of the whole plan, and per phase.
pub fn window_value(plan: &Plan) -> Value {
    let summary = window::summary(plan);
    let mut phases: Vec<Value> = Vec::new();
    let mut start = 0;
    while let Some(first) = plan.steps.get(start) {
        let end = plan.steps[start..]
            .iter()
            .position(|step| step.phase != first.phase)
            .map_or(plan.steps.len(), |offset| start + offset);
        let steps = &plan.steps[start..end];
        let minutes: u32 = steps.iter().map(|step| window::minutes(step.def_id)).sum();
        let outage: u32 = steps
            .iter()
            .filter(|step| !step.offline.is_empty())
            .map(|step| window::minutes(step.def_id))
            .sum();
        let last = steps.last().map_or_else(String::new, Step::label);
        phases.push(json!({
            "number": first.phase.to_string(),
            "title": first.phase_title,
            "steps": if steps.len() == 1 { first.label() } else { format!("{} to {last}", first.label()) },
            "time": duration(minutes),
            "outage": if outage == 0 { "no".to_owned() } else { format!("yes, {}", duration(outage)) },
        }));
        start = end;
    }
    let gates: Vec<Value> = window::gates(plan)
        .into_iter()
        .map(|(gate, step)| json!({ "title": gate.title, "why": gate.why, "next": step.label() }))
        .collect();
    json!({
        "total": duration(summary.minutes),
        "outage": summary.outage_text(),
        "outage_total": duration(summary.outage_minutes),
        "gates": gates,
        "no_return": window::no_return(plan).map(|(_, step)| step.label()),
        "phases": phases,
    })
}

/// One entry per blueprint step that has unconfirmed command facts, with
/// every step number it has in this plan, in plan order: the runbook's
/// "Confirm during the dry run" list.
pub(crate) fn dry_run(plan: &Plan) -> Vec<Value> {
    let mut dry_run: Vec<(&str, Vec<String>, &str, &str)> = Vec::new();
    for step in &plan.steps {
        let Some(text) = step.unconfirmed else {
            continue;
        };
        match dry_run.iter_mut().find(|(id, ..)| *id == step.def_id) {
            Some((_, numbers, ..)) => numbers.push(step.label()),
            None => dry_run.push((step.def_id, vec![step.label()], step.title, text)),
        }
    }
    dry_run
        .into_iter()
        .map(|(_, numbers, title, text)| {
            let label = if numbers.len() == 1 { "Step" } else { "Steps" };
            json!({ "steps": format!("{label} {}", numbers.join(", ")), "title": title, "text": text })
        })
        .collect()
}
