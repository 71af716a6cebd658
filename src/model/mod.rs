//! The typed topology of `runsheet/v1`, and the loader that reads it.
//!
//! These types are the single source of the topology format: the JSON Schema
//! in `schemas/topology.schema.json` is generated from them (doc comments
//! become descriptions), and a validated tree deserializes into them. They
//! hold data only; the platform's rules live in `check`.

pub mod load;
mod net;

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use net::Ipv4Net;

/// NetBIOS computer name: 1 to 15 letters, digits or hyphens.
pub(crate) const NETBIOS_PATTERN: &str = "^[A-Za-z0-9-]{1,15}$";
/// An absolute local Windows path on a lettered drive.
pub(crate) const LOCAL_PATH_PATTERN: &str = r"^[A-Za-z]:\\";

/// A Windows mail estate: networks, hosts and the clusters built on them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "runsheet topology (runsheet/v1)")]
pub struct Topology {
    /// Format version of this file; always `runsheet/v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: ApiVersion,
    /// Estate name, used in script headers and runbook titles: lower-case
    /// letters, digits and hyphens, at most 63 characters.
    #[schemars(regex(pattern = "^[a-z0-9-]{1,63}$"), example = &"contoso-mail")]
    pub name: String,
    /// The Active Directory domain every host belongs to.
    pub domain: Domain,
    /// Versions of Windows and Exchange the estate runs.
    pub platform: Platform,
    /// IPv4 networks the hosts are attached to.
    pub networks: Vec<Network>,
    /// Every server the build touches: cluster nodes and witness hosts.
    pub hosts: Vec<Host>,
    /// The CCR clusters to build; an estate may hold several.
    pub clusters: Vec<Cluster>,
    /// Who to call during the window, printed on the runbook's cover:
    /// the change manager, the approver, the on-call engineers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<Contact>,
    /// Hosts by name, so that lookups stay constant-time on large estates.
    #[serde(skip)]
    #[schemars(skip)]
    host_index: HostIndex,
}

/// Someone the operator may call during the window; give a phone number,
/// an e-mail address, or both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// What they answer for during the window.
    #[schemars(regex(pattern = r"\S"), example = &"Change manager")]
    pub role: String,
    /// Their name.
    #[schemars(regex(pattern = r"\S"), example = &"Dana Whitfield")]
    pub name: String,
    /// Phone number, as dialled from where the operator works.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "[0-9]"), example = &"+1 425 555 0100")]
    pub phone: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[^@\s]+@[^@\s]+$"), example = &"dana@contoso.com")]
    pub email: Option<String>,
}

/// Host positions by ASCII-lower-case name, the first host of a name
/// winning; built on the first lookup. A cache: it takes no part in equality.
#[derive(Clone, Default)]
struct HostIndex(std::sync::OnceLock<HashMap<String, usize>>);

impl PartialEq for HostIndex {
    fn eq(&self, _: &HostIndex) -> bool {
        true
    }
}

impl std::fmt::Debug for HostIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostIndex")
    }
}

/// The only format version this build of runsheet reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ApiVersion {
    #[serde(rename = "runsheet/v1")]
    V1,
}

/// The Active Directory domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    /// DNS name of the domain.
    #[schemars(
        regex(
            pattern = r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
        ),
        example = &"contoso.local"
    )]
    pub fqdn: String,
    /// NetBIOS name of the domain (the `CONTOSO` of `CONTOSO\MAIL$`):
    /// 1 to 15 letters, digits or hyphens.
    #[schemars(regex(pattern = NETBIOS_PATTERN), example = &"CONTOSO")]
    pub netbios: String,
}

/// Operating system and Exchange versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    /// Windows Server release on every host.
    pub windows: Windows,
    /// Exchange Server release.
    pub exchange: Exchange,
}

/// Windows Server release. `2008` may be written unquoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Windows {
    /// Windows Server 2008 (RTM or SP2): cluster.exe, ServerManagerCmd, PowerShell 1.0.
    W2008,
    /// Windows Server 2008 R2: FailoverClusters module, PowerShell 2.0.
    W2008R2,
}

impl Windows {
    /// The spelling used in the topology file.
    pub fn as_str(self) -> &'static str {
        match self {
            Windows::W2008 => "2008",
            Windows::W2008R2 => "2008-r2",
        }
    }

    /// The `major.minor` that `Win32_OperatingSystem.Version` starts with.
    pub fn kernel_version(self) -> &'static str {
        match self {
            Windows::W2008 => "6.0",
            Windows::W2008R2 => "6.1",
        }
    }

    /// The name an operator knows the release by.
    pub fn display_name(self) -> &'static str {
        match self {
            Windows::W2008 => "Windows Server 2008",
            Windows::W2008R2 => "Windows Server 2008 R2",
        }
    }
}

impl Serialize for Windows {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Windows {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // YAML reads an unquoted `2008` as a number; users should not have to
        // know that, so both spellings mean the same release.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Number(2008) => Ok(Windows::W2008),
            Raw::Text(text) if text == "2008" => Ok(Windows::W2008),
            Raw::Text(text) if text == "2008-r2" => Ok(Windows::W2008R2),
            _ => Err(serde::de::Error::custom(
                "expected \"2008\" or \"2008-r2\" as the Windows release",
            )),
        }
    }
}

impl JsonSchema for Windows {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Windows".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Windows Server release: \"2008\" (PowerShell 1.0, cluster.exe) or \"2008-r2\" (PowerShell 2.0). An unquoted 2008 is accepted too.",
            "enum": ["2008", "2008-r2", 2008]
        })
    }
}

/// Exchange Server release: `2007-sp3` (Exchange Server 2007 Service Pack 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Exchange {
    #[serde(rename = "2007-sp3")]
    E2007Sp3,
}

/// An IPv4 network that hosts are attached to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Name the cluster network gets (matched by subnet); unique in the estate.
    #[schemars(length(min = 1, max = 64), example = &"Public")]
    pub name: String,
    /// The network in CIDR notation.
    pub subnet: Ipv4Net,
    /// Whether clients may connect through this network. The heartbeat network
    /// is `false`; cluster and mailbox server addresses live on a `true` one.
    pub clients: bool,
}

/// A server of the estate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// NetBIOS computer name: 1 to 15 letters, digits or hyphens; unique.
    #[schemars(regex(pattern = NETBIOS_PATTERN), example = &"MAIL1")]
    pub name: String,
    /// The host's IPv4 address on each network it is attached to, by network name.
    pub addresses: BTreeMap<String, Ipv4Addr>,
    /// Drive letters present on the host, without colon (`C`, `D`, …).
    pub drives: Vec<DriveLetter>,
}

/// A drive letter without colon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct DriveLetter(#[schemars(regex(pattern = "^[A-Za-z]$"))] pub String);

impl DriveLetter {
    /// The letter, upper-cased: Windows drive letters are case-insensitive.
    pub fn letter(&self) -> char {
        self.0.chars().next().unwrap_or('?').to_ascii_uppercase()
    }
}

/// One CCR cluster: two nodes, a file share witness and a clustered mailbox server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// Cluster network name (NetBIOS rules); its computer account is `NAME$`.
    #[schemars(regex(pattern = NETBIOS_PATTERN), example = &"MAIL")]
    pub name: String,
    /// Static IPv4 address of the cluster, on a client network of both nodes.
    pub address: Ipv4Addr,
    /// The two nodes, by host name. The first creates the cluster and becomes
    /// the active mailbox node.
    pub nodes: Vec<String>,
    /// The file share witness for the Node and File Share Majority quorum.
    pub witness: Witness,
    /// The clustered mailbox server (CMS) that runs on the cluster.
    pub mailbox: Mailbox,
}

/// File share witness: a folder shared on a server that is not a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Witness {
    /// Host that holds the share (ideally a Hub Transport server); not a node.
    #[schemars(example = &"HUB1")]
    pub host: String,
    /// Absolute local path of the witness folder on that host.
    #[schemars(regex(pattern = LOCAL_PATH_PATTERN), example = &r"C:\FSW_CCR_MAIL")]
    pub folder: String,
    /// Share name of the witness folder.
    #[schemars(
        regex(pattern = r#"^[^"/\\\[\]:|<>+=;,?*\x00-\x1f]{1,80}$"#),
        example = &"FSW_CCR_MAIL"
    )]
    pub share: String,
}

/// The clustered mailbox server (CMS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mailbox {
    /// CMS name (NetBIOS rules); must differ from the cluster name.
    #[schemars(regex(pattern = NETBIOS_PATTERN), example = &"CCRMAIL")]
    pub name: String,
    /// Static IPv4 address of the CMS; must differ from the cluster address.
    pub address: Ipv4Addr,
    /// Path of Exchange 2007 SP3 `Setup.com` on both nodes.
    #[schemars(regex(pattern = LOCAL_PATH_PATTERN), example = &r"D:\Exchange2007SP3\Setup.com")]
    pub setup: String,
    /// Exchange installation folder on both nodes; Setup's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = LOCAL_PATH_PATTERN))]
    pub install_path: Option<String>,
    /// Storage groups of the CMS. `First Storage Group` is created by setup and
    /// moved to the paths given here; every other one is created.
    #[serde(default)]
    pub storage_groups: Vec<StorageGroup>,
}

/// A storage group with its log and system folders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StorageGroup {
    /// Storage group name, unique within the CMS.
    #[schemars(length(min = 1, max = 64), example = &"First Storage Group")]
    pub name: String,
    /// Folder of the transaction logs (same path on both nodes).
    #[schemars(regex(pattern = LOCAL_PATH_PATTERN))]
    pub log_path: String,
    /// Folder of the checkpoint and system files; usually the log folder.
    #[schemars(regex(pattern = LOCAL_PATH_PATTERN))]
    pub system_path: String,
    /// The storage group's database; CCR allows exactly one.
    pub databases: Vec<Database>,
}

/// A mailbox database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// Database name, unique within the CMS.
    #[schemars(length(min = 1, max = 64), example = &"Mailbox Database")]
    pub name: String,
    /// Full path of the `.edb` file (same path on both nodes).
    #[schemars(regex(pattern = LOCAL_PATH_PATTERN))]
    pub edb_path: String,
}

/// The storage group that Exchange setup creates on a new mailbox server.
pub const FIRST_STORAGE_GROUP: &str = "First Storage Group";
/// The database that Exchange setup creates in the first storage group.
pub const FIRST_DATABASE: &str = "Mailbox Database";

impl Topology {
    /// The estate cut down to the named clusters (case-insensitive), with
    /// only the hosts they use; `Err` names the first unknown cluster.
    pub fn only_clusters(&self, names: &[String]) -> Result<Topology, String> {
        if let Some(unknown) = names.iter().find(|name| {
            !self
                .clusters
                .iter()
                .any(|cluster| cluster.name.eq_ignore_ascii_case(name))
        }) {
            return Err(unknown.clone());
        }
        let clusters: Vec<Cluster> = self
            .clusters
            .iter()
            .filter(|cluster| {
                names
                    .iter()
                    .any(|name| cluster.name.eq_ignore_ascii_case(name))
            })
            .cloned()
            .collect();
        let used = |host: &Host| {
            clusters.iter().any(|cluster| {
                cluster.witness.host.eq_ignore_ascii_case(&host.name)
                    || cluster
                        .nodes
                        .iter()
                        .any(|node| node.eq_ignore_ascii_case(&host.name))
            })
        };
        let hosts = self
            .hosts
            .iter()
            .filter(|host| used(host))
            .cloned()
            .collect();
        Ok(Topology {
            hosts,
            clusters,
            // The index of the full estate's hosts would point at the wrong hosts.
            host_index: HostIndex::default(),
            ..self.clone()
        })
    }

    /// The host of that name, compared as Windows compares computer names.
    pub fn host(&self, name: &str) -> Option<&Host> {
        let index = self.host_index.0.get_or_init(|| {
            let mut index = HashMap::with_capacity(self.hosts.len());
            for (position, host) in self.hosts.iter().enumerate() {
                index
                    .entry(host.name.to_ascii_lowercase())
                    .or_insert(position);
            }
            index
        });
        index
            .get(&name.to_ascii_lowercase())
            .and_then(|&position| self.hosts.get(position))
    }

    /// The network of that name (exact match: it is a key in `addresses`).
    pub fn network(&self, name: &str) -> Option<&Network> {
        self.networks.iter().find(|n| n.name == name)
    }
}

/// The JSON Schema of the topology format, as committed in `schemas/`.
pub fn schema() -> serde_json::Value {
    schemars::schema_for!(Topology).to_value()
}

/// The schema as the pretty-printed text committed to `schemas/topology.schema.json`.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}
