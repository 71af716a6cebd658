//! Exchange Server 2007 SP3 CCR on Windows Server 2008 (and 2008 R2): the
//! blueprint that follows the seed tutorial, step by step, in the order of the
//! design doc's fifteen phases. Command facts come from
//! `reference/ccr-commands.md`; what it leaves unconfirmed is named in
//! `unconfirmed` and repeated in the runbook as "verify on first use".
//!
//! Every text here except the comments reaches the runbook: it speaks to the
//! operator (what to do, what to check), never about how the blueprint was
//! written. `tests/wording.rs` holds the words that must not appear.

use super::{ByDialect, Kind, On, Phase, StepDef, When};

const PREFLIGHT: Phase = Phase {
    number: 1,
    title: "Pre-flight checks",
};
const CLUSTERING: Phase = Phase {
    number: 2,
    title: "Failover Clustering feature",
};
const VALIDATE: Phase = Phase {
    number: 3,
    title: "Validate the cluster configuration",
};
const CREATE: Phase = Phase {
    number: 4,
    title: "Create the cluster",
};
const ADD_NODE: Phase = Phase {
    number: 5,
    title: "Add the second node",
};
const NETWORKS: Phase = Phase {
    number: 6,
    title: "Cluster networks",
};
const PREREQUISITES: Phase = Phase {
    number: 7,
    title: "Exchange prerequisites",
};
const WITNESS: Phase = Phase {
    number: 8,
    title: "File share witness",
};
const QUORUM: Phase = Phase {
    number: 9,
    title: "Quorum: node and file share majority",
};
const ACTIVE: Phase = Phase {
    number: 10,
    title: "Exchange setup: active clustered mailbox role",
};
const PASSIVE: Phase = Phase {
    number: 11,
    title: "Exchange setup: passive clustered mailbox role",
};
const VERIFY: Phase = Phase {
    number: 12,
    title: "Verify the clustered mailbox server",
};
const MOVE: Phase = Phase {
    number: 13,
    title: "Move storage group and database paths",
};
const STORAGE: Phase = Phase {
    number: 14,
    title: "Create storage groups and databases",
};
const FINAL: Phase = Phase {
    number: 15,
    title: "Final verification and handover",
};

const CMD: ByDialect = ByDialect::same(Kind::Cmd);
const PS1: ByDialect = ByDialect::same(Kind::Ps1);
const MANUAL: ByDialect = ByDialect::same(Kind::Manual);

/// The build, in execution order.
pub const STEPS: &[StepDef] = &[
    StepDef {
        id: "preflight",
        phase: PREFLIGHT,
        on: On::EveryHost,
        kind: CMD,
        when: When::Always,
        title: "Pre-flight checks",
        why: "Stop before any change if the host is not the one the topology describes: computer name, elevation, domain, addresses and drives; on cluster nodes also a full (not Server Core) installation of Enterprise or Datacenter, 64-bit, of the Windows release the topology names.",
        expect: "One OK line per check, then PREFLIGHT OK.",
        verify: "The log beside the script lists every check as OK.",
        on_failure: "Do not continue on this host. Fix what the failed check names (wrong server, missing address or drive, Standard edition, Server Core, 32-bit or another Windows release) or correct the topology and rebuild the runbook.",
        after: &[],
        unconfirmed: Some(
            "on a cluster node, run `wmic os get OperatingSystemSKU,OSArchitecture,Version /value` once and check that it prints one `Name=value` line each (for example `OperatingSystemSKU=10`, `OSArchitecture=64-bit`, `Version=6.0.6002`); the pre-flight reads these lines",
        ),
    },
    StepDef {
        id: "install-failover-clustering",
        phase: CLUSTERING,
        on: On::EachNode,
        kind: CMD,
        when: When::Always,
        title: "Install Failover Clustering and Windows PowerShell",
        why: "CCR runs on a Windows failover cluster; the later network and Exchange steps are PowerShell scripts, and Windows Server 2008 does not install PowerShell by default.",
        expect: "Each feature reports installed or already installed. Exit code 3010 means a restart is needed.",
        verify: "ServerManagerCmd -query lists Failover Clustering and Windows PowerShell as installed.",
        on_failure: "Exit code 4 is an unknown feature name, 5 a shell that is not elevated, 1004 another Server Manager wizard still open. Read the ServerManager log in `%WINDIR%\\Temp` or `%WINDIR%\\logs`.",
        after: &["preflight"],
        unconfirmed: None,
    },
    StepDef {
        id: "restart-if-asked",
        phase: CLUSTERING,
        on: On::EachNode,
        kind: MANUAL,
        when: When::Always,
        title: "Restart if the feature installation asked for it",
        why: "A feature installation that ends with 3010 is finished only after a restart.",
        expect: "The server is back and you are logged on again.",
        verify: "Run the previous step again: it reports the features as already installed and exits 0.",
        on_failure: "If the server does not come back, use its remote console before going on.",
        after: &["install-failover-clustering"],
        unconfirmed: None,
    },
    StepDef {
        id: "validate-cluster",
        phase: VALIDATE,
        on: On::FirstNode,
        kind: ByDialect {
            w2008: Kind::Manual,
            w2008r2: Kind::Ps1,
        },
        when: When::Always,
        title: "Validate the configuration without storage tests",
        why: "Failover clustering supports only configurations that pass validation. CCR uses no shared storage, so the storage tests are left out.",
        expect: "Every test Passed; warnings are read and understood.",
        verify: "The validation report is saved with the change record.",
        on_failure: "Read the failed test in the report, correct it (network, domain, updates) and validate again. Do not create the cluster on a failed validation.",
        after: &["install-failover-clustering", "restart-if-asked"],
        unconfirmed: Some(
            "on Windows Server 2008 R2 the category string that `Test-Cluster -Ignore` accepts for the storage tests is unconfirmed: run `Test-Cluster -List` first",
        ),
    },
    StepDef {
        id: "create-cluster",
        phase: CREATE,
        on: On::FirstNode,
        kind: CMD,
        when: When::Always,
        title: "Create the cluster with the first node",
        why: "The cluster is created with the first node only, and the second node is added in the next step; the cluster gets its name and static address here.",
        expect: "\"Creating cluster ...\", then \"done, cluster ... answers with ... as a member\" (or \"already done, nothing changed\" on a rerun). cluster.exe's own output goes to the log beside the script.",
        verify: "Failover Cluster Manager shows the cluster with its name and address online.",
        on_failure: "Check that the name is not already used in the domain and the address is free (ping it). Read the cluster log with `cluster log /g`.",
        after: &["validate-cluster"],
        unconfirmed: Some(
            "run `cluster /create /?` on a Windows Server 2008 node and check that it accepts `/nodes:` and `/ipaddr:address/mask`; check also that `cluster /cluster:NAME node NODE` exits with 0 for a member and another code when the node or the cluster is unknown",
        ),
    },
    StepDef {
        id: "add-node",
        phase: ADD_NODE,
        on: On::FirstNode,
        kind: CMD,
        when: When::Always,
        title: "Add the second node",
        why: "A CCR cluster has exactly two nodes; the second one holds the passive copy.",
        expect: "\"Adding node ...\", then \"done, ... and ... are members of ...\" (or \"already done, nothing changed\" on a rerun). cluster.exe's own output goes to the log beside the script.",
        verify: "Failover Cluster Manager lists both nodes under Nodes, status Up.",
        on_failure: "Check that the second node passed its pre-flight, has Failover Clustering installed and can reach the first node on every network.",
        after: &["create-cluster"],
        unconfirmed: None,
    },
    StepDef {
        id: "cluster-networks",
        phase: NETWORKS,
        on: On::FirstNode,
        kind: PS1,
        when: When::Always,
        title: "Name the cluster networks and set their roles",
        why: "Named networks make troubleshooting possible; the heartbeat network must not carry client traffic (\"Allow clients to connect through this network\" unticked), client networks carry both.",
        expect: "A line for each network renamed or given its role; when every network is already right, the script says the step is already done.",
        verify: "Failover Cluster Manager, Networks: each network has its topology name; the heartbeat shows \"Internal\" use only.",
        on_failure: "A network that is not found means a node has no address on that subnet: check the adapters. The cluster provider needs an elevated shell on a node.",
        after: &["add-node"],
        unconfirmed: None,
    },
    StepDef {
        id: "exchange-prerequisites",
        phase: PREREQUISITES,
        on: On::EachNode,
        kind: CMD,
        when: When::Always,
        title: "Install the Exchange 2007 prerequisites",
        why: "Exchange 2007 setup on Windows Server 2008 needs IIS with the ISAPI extensions, the IIS 6 metabase and management console, basic and Windows authentication.",
        expect: "Each role service reports installed or already installed. Exit code 3010 means a restart is needed.",
        verify: "`ServerManagerCmd -query` lists the Web Server role services as installed.",
        on_failure: "Exit code 4 is an unknown role service, 5 a shell that is not elevated. Read the ServerManager log.",
        after: &["install-failover-clustering"],
        unconfirmed: None,
    },
    StepDef {
        id: "restart-after-prerequisites",
        phase: PREREQUISITES,
        on: On::EachNode,
        kind: MANUAL,
        when: When::Always,
        title: "Restart if the prerequisites installation asked for it",
        why: "A role service installation that ends with 3010 is finished only after a restart, and Exchange setup refuses a server with a restart pending.",
        expect: "The server is back and you are logged on again.",
        verify: "Run the previous step again: it reports every role service as already installed and exits 0.",
        on_failure: "If the server does not come back, use its remote console before going on.",
        after: &["exchange-prerequisites"],
        unconfirmed: None,
    },
    StepDef {
        id: "witness-share",
        phase: WITNESS,
        on: On::Witness,
        kind: CMD,
        when: When::Always,
        title: "Create the file share witness folder and share",
        why: "The quorum needs the share to exist, and the cluster's computer account to have full control of share and folder, before it is configured.",
        expect: "OK lines for the folder, its permissions (only Administrators and the cluster account, full control) and the share (the same two accounts), then done, or already done when all three were already exactly so.",
        verify: "`net share` on the witness host lists the share with only Administrators and the cluster account; `icacls` on the folder shows those two with full control and no inherited entry.",
        on_failure: "If granting to the cluster account fails, the cluster does not exist yet (the create step makes its computer account) or AD replication has not reached this server: wait and run again. If the folder keeps other permissions, remove them in its Security tab and run again.",
        after: &["preflight", "create-cluster"],
        unconfirmed: Some(
            "on the witness host, before the window: check that `icacls /?` lists `/inheritance:r` and `/grant:r`; share a test folder with two `/GRANT:` switches and check that `net share NAME` lists both accounts as `DOMAIN\\ACCOUNT, FULL`; check that `icacls` shows an entry as `DOMAIN\\ACCOUNT:(OI)(CI)(F)`. The script compares these lines",
        ),
    },
    StepDef {
        id: "quorum",
        phase: QUORUM,
        on: On::FirstNode,
        kind: CMD,
        when: When::Always,
        title: "Configure node and file share majority",
        why: "With two nodes the cluster needs a third vote; the file share witness gives it.",
        expect: "OK lines for the witness share path, the resource online (the script waits up to 120 seconds) and the quorum resource, then done, or already done when nothing had to change.",
        verify: "Failover Cluster Manager shows Quorum Configuration: Node and File Share Majority.",
        on_failure: "The witness resource fails to come online when the share is missing or the cluster account lacks permissions: repeat the witness step. If the script says the resource uses another share, correct its share path in Failover Cluster Manager.",
        after: &["add-node", "witness-share"],
        unconfirmed: Some(
            "on Windows Server 2008, check `cluster res /?` for `/create /group: /type: /priv` and `/online /wait:`; check that `cluster res \"File Share Witness\" /priv` prints a line with `SharePath` and the share path, that `cluster res \"File Share Witness\" /status` shows the word `Online` once it is online, and that `cluster /quorum` prints the name of the quorum resource",
        ),
    },
    StepDef {
        id: "setup-active-cms",
        phase: ACTIVE,
        on: On::FirstNode,
        kind: PS1,
        when: When::Always,
        title: "Install the active clustered mailbox role",
        why: "Exchange setup on the first node installs the mailbox role and creates the clustered mailbox server (CMS) with its own name and address, different from the cluster's.",
        expect: "Setup runs its checks and installs; the script then finds the CMS online.",
        verify: "Get-ClusteredMailboxServerStatus shows the CMS Online on this node.",
        on_failure: "Read `C:\\ExchangeSetupLogs\\ExchangeSetup.log`. Fix the cause and run the step again; setup resumes where it stopped.",
        after: &["quorum", "exchange-prerequisites", "cluster-networks"],
        unconfirmed: Some(
            "the CMS address switch is `/CMSIPv4Addresses` from the SP1 documentation for Windows Server 2008; confirm it with `Setup.com /?` on the SP3 media before the window (Windows 2003 used `/CMSIPAddress`). If one call with `/mode:Install /roles:Mailbox` and `/NewCms` is refused, run `Setup.com /mode:Install /roles:Mailbox` first and then the same line without those two switches",
        ),
    },
    StepDef {
        id: "restart-active-node",
        phase: ACTIVE,
        on: On::FirstNode,
        kind: MANUAL,
        when: When::Always,
        title: "Restart the first node",
        why: "Exchange setup finishes on the active node only after a restart.",
        expect: "The node comes back and the CMS is online again.",
        verify: "In Failover Cluster Manager the CMS group is online on the first node.",
        on_failure: "If the CMS stays offline, start it with Start-ClusteredMailboxServer and read the application event log.",
        after: &["setup-active-cms"],
        unconfirmed: None,
    },
    StepDef {
        id: "setup-passive-node",
        phase: PASSIVE,
        on: On::SecondNode,
        kind: PS1,
        when: When::Always,
        title: "Install the passive clustered mailbox role",
        why: "The second node gets the passive role; setup copies (seeds) every storage group from the active node.",
        expect: "Setup installs the mailbox role; the script then finds this node among the CMS's machines.",
        verify: "Get-ClusteredMailboxServerStatus lists both nodes in OperationalMachines.",
        on_failure: "Read `C:\\ExchangeSetupLogs\\ExchangeSetup.log`. The CMS must be online on the first node before this step.",
        after: &["restart-active-node"],
        unconfirmed: Some(
            "the unattended switches for the passive role are unconfirmed: setup is run with `/mode:Install /roles:Mailbox` on the assumption that it detects the cluster; check `Setup.com /?` on the SP3 media",
        ),
    },
    StepDef {
        id: "restart-passive-node",
        phase: PASSIVE,
        on: On::SecondNode,
        kind: MANUAL,
        when: When::Always,
        title: "Restart the second node",
        why: "Setup finishes its work after a restart.",
        expect: "The node comes back and joins the cluster.",
        verify: "Failover Cluster Manager lists both nodes Up.",
        on_failure: "If the node does not rejoin, check the cluster service and the heartbeat network.",
        after: &["setup-passive-node"],
        unconfirmed: None,
    },
    StepDef {
        id: "verify-cms",
        phase: VERIFY,
        on: On::FirstNode,
        kind: PS1,
        when: When::Always,
        title: "Check the CMS and replication",
        why: "Before storage is touched the CMS must be online and every storage group copy healthy.",
        expect: "The CMS is Online and every storage group copy reports Healthy.",
        verify: "The script's log shows the status tables.",
        on_failure: "A copy that stays Initializing or Failed may need a reseed (Update-StorageGroupCopy) on the passive node; do not continue while the CMS is not Online.",
        after: &["restart-passive-node"],
        unconfirmed: None,
    },
    StepDef {
        id: "check-cms-in-console",
        phase: VERIFY,
        on: On::FirstNode,
        kind: MANUAL,
        when: When::Always,
        title: "Check the CMS in the Exchange Management Console",
        why: "A check by eye: the console lists the clustered mailbox server, not the nodes, as the mailbox server.",
        expect: "Server Configuration > Mailbox lists the CMS; the node names are not listed.",
        verify: "Screenshot or note for the change record.",
        on_failure: "If the nodes are listed instead of the CMS, setup installed a plain mailbox server: stop and review the setup logs.",
        after: &["verify-cms"],
        unconfirmed: None,
    },
    StepDef {
        id: "suspend-and-move-paths",
        phase: MOVE,
        on: On::FirstNode,
        kind: PS1,
        when: When::MovesFirstStorageGroup,
        title: "Suspend replication and move the paths in the configuration",
        why: "On a CCR, paths change only with -ConfigurationOnly, after the copy is suspended and the database dismounted; the files are then moved on both nodes by the next steps.",
        expect: "Copy suspended, database dismounted, database and log paths changed in the configuration.",
        verify: "Get-StorageGroup and Get-MailboxDatabase show the new paths.",
        on_failure: "If the current paths are not setup's defaults, the script stops without changes: move that storage group by hand. If it stops after the dismount, mount the database again before leaving the window.",
        after: &["verify-cms"],
        unconfirmed: Some(
            "in the Exchange Management Shell, run `Get-Help Move-StorageGroupPath -Full` and `Get-Help Move-DatabasePath -Full` and check that `-LogFolderPath`, `-SystemFolderPath`, `-EdbFilePath` and `-ConfigurationOnly` are listed",
        ),
    },
    StepDef {
        id: "move-database-files",
        phase: MOVE,
        on: On::EachNode,
        kind: PS1,
        when: When::MovesFirstStorageGroup,
        title: "Move the storage group files on this node",
        why: "With -ConfigurationOnly Exchange moves nothing: the logs, checkpoint and database file are moved by hand on the active and the passive node.",
        expect: "Each file type moved to its new folder, or already there.",
        verify: "The new folders hold the .log, .chk and .edb files; the old folder is empty of them.",
        on_failure: "Do not mount the database while files are missing: find them in the old folder and move them by hand.",
        after: &["suspend-and-move-paths"],
        unconfirmed: None,
    },
    StepDef {
        id: "mount-and-resume",
        phase: MOVE,
        on: On::FirstNode,
        kind: PS1,
        when: When::MovesFirstStorageGroup,
        title: "Mount the database, resume replication and check health",
        why: "The move ends by mounting the database, resuming the copy and checking that replication is healthy.",
        expect: "Database mounted, copy resumed, status Healthy.",
        verify: "Get-StorageGroupCopyStatus shows Healthy for the moved storage group.",
        on_failure: "If the copy does not become Healthy, reseed it on the passive node with Update-StorageGroupCopy.",
        after: &["move-database-files"],
        unconfirmed: Some(
            "in the Exchange Management Shell, check that `Get-MailboxDatabase -Status | Format-List Name,Mounted` shows a `Mounted` value of True or False for each database",
        ),
    },
    StepDef {
        id: "create-storage-folders",
        phase: STORAGE,
        on: On::EachNode,
        kind: PS1,
        when: When::CreatesStorageGroups,
        title: "Create the storage folders on this node",
        why: "CCR keeps the same paths on both nodes; the folders must exist on each before the storage groups are created.",
        expect: "Each folder created or already present.",
        verify: "The folders exist on both nodes.",
        on_failure: "Check the drive letters on this node match the topology.",
        after: &["verify-cms"],
        unconfirmed: None,
    },
    StepDef {
        id: "create-storage-groups",
        phase: STORAGE,
        on: On::FirstNode,
        kind: PS1,
        when: When::CreatesStorageGroups,
        title: "Create the storage groups and databases",
        why: "Every storage group beyond the first is created at its declared paths, with its one database, and mounted.",
        expect: "Each storage group and database created and mounted, or already present.",
        verify: "Get-StorageGroupCopyStatus lists the new storage groups; they become Healthy after seeding.",
        on_failure: "Read the error, fix the path or name, and run the step again: existing storage groups are skipped.",
        after: &["create-storage-folders"],
        unconfirmed: Some(
            "in the Exchange Management Shell, run `Get-Help New-MailboxDatabase -Full` and check that `-EdbFilePath` is listed",
        ),
    },
    StepDef {
        id: "final-verification",
        phase: FINAL,
        on: On::FirstNode,
        kind: PS1,
        when: When::Always,
        title: "Final verification",
        why: "Hand over only a cluster whose CMS is online and whose replication is healthy.",
        expect: "CMS Online, every copy Healthy, replication health checks Passed.",
        verify: "Attach the log of this step to the change record.",
        on_failure: "Do not close the change: read which check failed and treat it before handover.",
        after: &["verify-cms", "mount-and-resume", "create-storage-groups"],
        unconfirmed: Some(
            "Test-ReplicationHealth is called with `-Identity` only, the one parameter confirmed for Exchange 2007",
        ),
    },
];
