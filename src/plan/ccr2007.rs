//! Exchange Server 2007 SP3 CCR on Windows Server 2008 (and 2008 R2): the
//! blueprint that follows the seed tutorial, step by step, in the design
//! doc's fifteen phases, with one change of order: the Exchange prerequisites
//! and their restarts come before the cluster is formed. From cluster
//! creation until the quorum step a two-node cluster runs Node Majority,
//! which needs more than half of the votes: with two nodes, both. A node
//! restarted in that span stops the cluster. With the file share witness
//! each node may restart alone ("Failover Cluster Step-by-Step Guide:
//! Configuring the Quorum in a Failover Cluster", Windows Server 2008,
//! cc770620: Node Majority functions only with more than half of the votes;
//! "a cluster with an even number of nodes and a quorum configuration that
//! includes a witness ... can sustain failures of half the nodes", cc773510).
//! So no planned restart stands between create-cluster and quorum
//! (`tests/restarts.rs` holds that over every estate). Command facts come from
//! `reference/ccr-commands.md`; what it leaves unconfirmed is named in
//! `unconfirmed` and repeated in the runbook as "verify on first use".
//!
//! Every text here except the comments reaches the runbook: it speaks to the
//! operator (what to do, what to check), never about how the blueprint was
//! written. `tests/wording.rs` holds the words that must not appear.

use super::{ByDialect, DialectText, Kind, On, Phase, StepDef, TextField, When};

const PREFLIGHT: Phase = Phase {
    number: 1,
    title: "Pre-flight checks",
};
const CLUSTERING: Phase = Phase {
    number: 2,
    title: "Failover Clustering feature",
};
const PREREQUISITES: Phase = Phase {
    number: 3,
    title: "Exchange prerequisites",
};
const VALIDATE: Phase = Phase {
    number: 4,
    title: "Validate the cluster configuration",
};
const CREATE: Phase = Phase {
    number: 5,
    title: "Create the cluster",
};
const ADD_NODE: Phase = Phase {
    number: 6,
    title: "Add the second node",
};
const NETWORKS: Phase = Phase {
    number: 7,
    title: "Cluster networks",
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
        why: "Stop before any change if the host is not the one the topology describes: computer name, elevation, domain, addresses and drives; on cluster nodes also a full (not Server Core) installation of Enterprise or Datacenter, 64-bit, of the Windows release the topology names, an account in the Exchange Organization Administrators group, which Exchange setup of a clustered mailbox server needs, and the other node's registry and administrative shares answering from here, which later steps read.",
        expect: "One OK line per check, then PREFLIGHT OK.",
        verify: "The log beside the script lists every check as OK.",
        on_failure: "Do not continue on this host. Fix what the failed check names (wrong server, missing address or drive, Standard edition, Server Core, 32-bit, another Windows release, an account outside Exchange Organization Administrators: have it added, then log off and on again; the other node's registry or an administrative share out of reach: start the Remote Registry service there, or allow File and Printer Sharing in its Windows Firewall) or, if the server is right and the plan is wrong, have the runbook made again for the estate as it is.",
        after: &[],
        unconfirmed: Some(
            "on a cluster node, run `wmic os get OperatingSystemSKU,OSArchitecture,Version /value` once and check that it prints one `Name=value` line each (for example `OperatingSystemSKU=10`, `OSArchitecture=64-bit`, `Version=6.0.6002` on Windows Server 2008, `Version=6.1.7601` on 2008 R2); the pre-flight reads these lines",
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
        expect: "Each feature reports installed or already installed. Exit code 3010 means a restart is needed: a feature asked for one, or Windows shows one pending from an earlier run.",
        verify: "`ServerManagerCmd -query` lists Failover Clustering and Windows PowerShell as installed.",
        on_failure: "Exit code 4 is an unknown feature name, 5 a shell that is not elevated, 110 an answer file that cannot be read (the step uses none), 1004 another Server Manager wizard still open. If the step says to restart and run it again (ServerManagerCmd exited with 1001), restart the node and run this step again until it reports every feature installed or already installed. Read the ServerManager log in `%WINDIR%\\Temp` or `%WINDIR%\\logs`.",
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
        why: "A feature installation that ends with 3010 is finished only after a restart, and the restart must come before the cluster is formed: until the quorum step a two-node cluster stops when either node is down.",
        expect: "The server is back and you are logged on again.",
        verify: "The installation step, run again, ends with exit code 0: it reads Windows' pending-restart markers (`Component Based Servicing\\RebootPending`, `WindowsUpdate\\Auto Update\\RebootRequired`, `PendingFileRenameOperations`) and ends with 3010 while any is set.",
        on_failure: "If the server does not come back, use its remote console before going on.",
        after: &["install-failover-clustering"],
        unconfirmed: None,
    },
    StepDef {
        id: "execution-policy",
        phase: CLUSTERING,
        on: On::EachNode,
        kind: CMD,
        when: When::Always,
        title: "Allow the PowerShell steps to run",
        why: "Windows PowerShell runs no script file until its execution policy allows it (Restricted by default). This step records the policy in force in `execution-policy-before.txt` in this window's folder (a record of this window only: another window keeps its own), refuses script files marked as downloaded from the Internet, sets RemoteSigned and checks that it took effect. The last step of the window sets the recorded policy back, but never below RemoteSigned where Exchange is installed.",
        expect: "`OK   policy before the window recorded: <policy>`, then `Setting the execution policy from <policy> to RemoteSigned ...` and that the step is done; or that it is already done when the policy already lets the scripts run.",
        verify: "`powershell.exe -NoProfile -Command Get-ExecutionPolicy` prints RemoteSigned (or Unrestricted).",
        on_failure: "If a `.ps1` is marked as downloaded from the Internet, unblock every `.ps1` of the folder (right-click, Properties, Unblock) or copy the folder again from a file share, and run the step again. If the policy does not change, Group Policy sets it (Computer Configuration, Administrative Templates, Windows Components, Windows PowerShell, Turn on Script Execution): have it allow RemoteSigned scripts on this server, run `gpupdate /force` and run the step again. Do not start the `.ps1` files another way: each PowerShell step is run through its `.cmd`, which fails when Windows PowerShell refuses the script.",
        after: &["restart-if-asked"],
        unconfirmed: Some(
            "that Windows PowerShell changes the policy without asking (1.0 has no `-Force`; the step passes it to 2.0, which asks otherwise), and that a policy set by Group Policy shows in `Get-ExecutionPolicy`, is unconfirmed: the step reads the policy back and stops when it did not change. The check for files from the Internet reads each file's `Zone.Identifier` stream with `more <`; if a PowerShell step later fails saying the file is not digitally signed or cannot be loaded, unblock the files and run that step again. Each PowerShell step's `.cmd` starts Windows PowerShell with `-NonInteractive`, so that a question stops the step instead of waiting; check on a node of the dry run that `powershell.exe -?` lists `-NonInteractive`",
        ),
    },
    StepDef {
        id: "exchange-prerequisites",
        phase: PREREQUISITES,
        on: On::EachNode,
        kind: CMD,
        when: When::Always,
        title: "Install the Exchange 2007 prerequisites",
        why: "Exchange 2007 setup on Windows Server 2008 needs IIS with the ISAPI extensions, the IIS 6 metabase and management console, basic and Windows authentication.",
        expect: "Each role service reports installed or already installed. Exit code 3010 means a restart is needed: a role service asked for one, or Windows shows one pending from an earlier run.",
        verify: "`ServerManagerCmd -query` lists the Web Server role services as installed.",
        on_failure: "Exit code 4 is an unknown role service, 5 a shell that is not elevated, 110 an answer file that cannot be read (the step uses none), 1004 another Server Manager wizard still open. If the step says to restart and run it again (ServerManagerCmd exited with 1001), restart the node and run this step again until it reports every role service installed or already installed. Read the ServerManager log in `%WINDIR%\\Temp` or `%WINDIR%\\logs`.",
        after: &["install-failover-clustering", "restart-if-asked"],
        unconfirmed: None,
    },
    StepDef {
        id: "restart-after-prerequisites",
        phase: PREREQUISITES,
        on: On::EachNode,
        kind: MANUAL,
        when: When::Always,
        title: "Restart if the prerequisites installation asked for it",
        why: "A role service installation that ends with 3010 is finished only after a restart, and Exchange setup refuses a server with a restart pending. The restart comes before the cluster is formed: until the quorum step a two-node cluster stops when either node is down.",
        expect: "The server is back and you are logged on again.",
        verify: "The prerequisites step, run again, ends with exit code 0: it reads Windows' pending-restart markers (`Component Based Servicing\\RebootPending`, `WindowsUpdate\\Auto Update\\RebootRequired`, `PendingFileRenameOperations`) and ends with 3010 while any is set.",
        on_failure: "If the server does not come back, use its remote console before going on.",
        after: &["exchange-prerequisites"],
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
        expect: "Every test Passed and every warning read and understood; a failed test stops the window here until it is fixed and validated again.",
        verify: "The validation report is saved with the change record.",
        on_failure: "Read the failed test in the report, correct it (network, domain, updates) and validate again. Do not create the cluster on a failed validation.",
        after: &[
            "install-failover-clustering",
            "restart-if-asked",
            "execution-policy",
            "restart-after-prerequisites",
        ],
        unconfirmed: Some(
            "on Windows Server 2008 R2 the category string that `Test-Cluster -Ignore` accepts for the storage tests is unconfirmed: run `Test-Cluster -List` first. The script takes the report file Test-Cluster returns; a run with nothing to report passes, a `Test Result:` warning naming a failure (or a run that returns no report) fails the step, and other warnings let it pass with the advice to read them: continue only if the report shows no failed test",
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
        on_failure: "If the script says a restart is pending on a node, restart that node and run the step again: the cluster is created only when neither node owes a restart. Otherwise check that the name is not already used in the domain and the address is free (ping it). Read the cluster log with `cluster log /g`.",
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
        on_failure: "If the script says a restart is pending on the second node, restart it and run the step again. Otherwise check that the second node passed its pre-flight, has Failover Clustering installed and can reach the first node on every network.",
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
        expect: "`OK   <network>: role set to <role>` after each role it changes and `OK   <old name> renamed to <name>` after each rename; when every network is already right, the script says the step is already done.",
        verify: "Failover Cluster Manager, Networks: each network has its topology name; the heartbeat shows \"Internal\" use only.",
        on_failure: "A network that is not found means a node has no address on that subnet: check the adapters. The cluster provider needs an elevated shell on a node.",
        after: &["add-node"],
        unconfirmed: Some(
            "the script talks to the cluster's WMI provider (`root\\MSCluster`, class `MSCluster_Network`) with packet privacy, sets `Role` and saves it with `.psbase.Put()`, and renames with the `Rename` method; that Windows PowerShell 1.0 does all of this is unconfirmed. On a node of the dry run, run this step and check in Failover Cluster Manager that the names and the heartbeat's use changed",
        ),
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
        expect: "Setup runs its checks on this node and installs; the script then finds the CMS online and ends with exit code 0, or with 3010 when Windows shows a restart pending afterwards (then the next step restarts this node). Run again after a failure, it runs only what is missing: the whole setup while the Mailbox role is not completely installed, `Setup.com /NewCms` alone when the role is installed but no CMS exists; run again once everything is installed, it ends with 3010 while a restart is still pending.",
        verify: "Get-ClusteredMailboxServerStatus shows the CMS Online on this node.",
        on_failure: "If the script stops because a restart is pending before setup, restart this node (no clustered mailbox server exists yet, and the quorum lets one node restart) and run the step again. Otherwise read `C:\\ExchangeSetupLogs\\ExchangeSetup.log`, fix the cause and run the step again; setup resumes where it stopped.",
        after: &[
            "quorum",
            "exchange-prerequisites",
            "restart-after-prerequisites",
            "cluster-networks",
        ],
        unconfirmed: Some(
            "the CMS address switch is `/CMSIPv4Addresses`, the form documented since SP1 for clusters on the 2008 releases of Windows; confirm it with `Setup.com /?` on the SP3 media before the window (Windows 2003 used `/CMSIPAddress`). If one call with `/mode:Install /roles:Mailbox` and `/NewCms` is refused, run `Setup.com /mode:Install /roles:Mailbox` first and then this step again: it then runs `/NewCms` alone. The script reads the role's state from the registry key `HKLM\\SOFTWARE\\Microsoft\\Exchange\\v8.0\\MailboxRole` (`ConfiguredVersion` when installed, `Watermark` or `Action` while unfinished); check the key on the first node of the dry run. Before setup the script asks `cluster /cluster:CLUSTER /quorum` and looks for the words `File Share Witness`, as the quorum step does",
        ),
    },
    StepDef {
        id: "restart-active-node",
        phase: ACTIVE,
        on: On::FirstNode,
        kind: MANUAL,
        when: When::Always,
        title: "Restart the first node if setup asked for it",
        why: "Only a restart that Exchange setup left pending is made here. With Exchange on this node only, it is an outage: the clustered mailbox server is stopped with Stop-ClusteredMailboxServer first, so that the cluster does not bring it up on the other node, and started with Start-ClusteredMailboxServer afterwards, since a restart does not start a stopped clustered mailbox server.",
        expect: "The node comes back; the CMS group is on this node, and after Start-ClusteredMailboxServer the CMS is Online.",
        verify: "The setup step, run again, ends with exit code 0: it checks that the CMS is Online and reads Windows' pending-restart markers, and ends with 3010 while any is set. `Get-ClusteredMailboxServerStatus` shows State Online with this node active.",
        on_failure: "If the CMS group is owned by the other node, move the stopped group back with `cluster group <CMS> /move:<this node>` (Move-ClusteredMailboxServer needs Exchange on the target, which the other node does not have yet), then start it. If Start-ClusteredMailboxServer fails or the CMS stays Partially Online, read the application event log (MSExchangeIS, MSExchangeRepl, MSExchangeCluster) and do not install the passive node until the CMS is Online here.",
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
        expect: "Setup runs its checks on this node and installs the mailbox role; the script then finds the role installed with no unfinished setup left in the registry, and this node in the CMS's RedundantMachines. It ends with exit code 0, or with 3010 when Windows shows a restart pending afterwards (then the next step restarts this node).",
        verify: "`Get-MailboxServer <CMS> | Format-List RedundantMachines` lists both nodes; Get-ClusteredMailboxServerStatus lists both nodes in OperationalMachines.",
        on_failure: "If the script stops because a restart is pending on this node, restart it and run the step again; if one is pending on the first node, finish the first node's restart step. Otherwise read `C:\\ExchangeSetupLogs\\ExchangeSetup.log`. The CMS must be online on the first node before this step.",
        after: &["restart-active-node", "restart-after-prerequisites"],
        unconfirmed: Some(
            "the unattended switches for the passive role are unconfirmed: setup is run with `/mode:Install /roles:Mailbox` on the assumption that it detects the cluster; check `Setup.com /?` on the SP3 media. That the passive node appears in the CMS's `RedundantMachines` once its setup has finished, and the registry values `ConfiguredVersion`, `Watermark` and `Action` under `HKLM\\SOFTWARE\\Microsoft\\Exchange\\v8.0\\MailboxRole`, are to be checked on the second node of the dry run. Before setup the script asks `cluster /cluster:CLUSTER group CMS` for the CMS's group: check on the dry run that it prints one line with the group name, the node and the status `Online`",
        ),
    },
    StepDef {
        id: "restart-passive-node",
        phase: PASSIVE,
        on: On::SecondNode,
        kind: MANUAL,
        when: When::Always,
        title: "Restart the second node if setup asked for it",
        why: "Setup finishes its work after a restart when it leaves one pending. This node is passive: the clustered mailbox server stays online on the first node, and the quorum with the file share witness lets one node restart.",
        expect: "The node comes back and joins the cluster.",
        verify: "The setup step, run again, ends with exit code 0: it reads Windows' pending-restart markers and ends with 3010 while any is set. Failover Cluster Manager lists both nodes Up. The verification step that follows checks the markers on both nodes again.",
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
        why: "Before storage is touched the CMS must be online, every storage group copy healthy with nothing waiting to be copied or replayed, and neither node may still owe a restart.",
        expect: concat!(
            "The CMS is Online and every storage group copy passes the health gate: ",
            crate::health_gate!(),
            "."
        ),
        verify: "The script's log shows the status table.",
        on_failure: concat!(
            "Do not continue while the CMS is not Online or a copy fails the gate. The message names each copy and why. ",
            crate::health_initializing!(),
            " A copy that is `Seeding` is still being copied: wait. A copy whose queues stay above the gate: check the replication network and the Microsoft Exchange Replication service on the passive node. A copy that is `Failed`: ",
            crate::health_reseed!()
        ),
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
        expect: "The CMS status and every copy's status, then the current (old) paths; copy suspended, database dismounted, database and log paths changed in the configuration.",
        verify: "Get-StorageGroup and Get-MailboxDatabase show the new paths.",
        on_failure: "If the CMS is not Online, a copy is not Healthy, or the current paths are not setup's defaults, the script stops before it changes anything: fix that, or move that storage group by hand. If it stops after the dismount and before any path changed, mount the database (`Mount-Database`) and resume the copy (`Resume-StorageGroupCopy`). To back out once a path has changed (the old paths are in this step's log): on both nodes move any files back to the old folder, then run both configuration-only moves back to the old paths, `Move-DatabasePath <database> -EdbFilePath <old .edb> -ConfigurationOnly` and `Move-StorageGroupPath <storage group> -LogFolderPath <old folder> -SystemFolderPath <old folder> -ConfigurationOnly`, then mount the database and resume the copy. **Never accept an offer to create an empty database when mounting: it appears when the database file is not where the configuration points, and accepting it replaces every mailbox in that database with an empty one.**",
        after: &["verify-cms"],
        unconfirmed: Some(
            "in the Exchange Management Shell, run `Get-Help Move-StorageGroupPath -Full` and `Get-Help Move-DatabasePath -Full` and check that `-LogFolderPath`, `-SystemFolderPath`, `-EdbFilePath` and `-ConfigurationOnly` are listed. With `-ConfigurationOnly` they ask before they change anything; the script answers with `-Confirm:$false` and adds `-Force` only where the cmdlet has it, and Windows PowerShell runs non-interactive, so a question it cannot answer stops the step instead of waiting. Run this step on the dry-run system first",
        ),
    },
    StepDef {
        id: "move-database-files",
        phase: MOVE,
        on: On::EachNode,
        kind: PS1,
        when: When::MovesFirstStorageGroup,
        title: "Move the storage group files on this node",
        why: "With -ConfigurationOnly Exchange moves nothing: the logs, checkpoint and database file are moved by a script on the active and the passive node.",
        expect: "`OK   created <folder>` for each new folder it makes, then one line per file moved. A file moved within one volume is renamed. A file moved to another volume is copied by eseutil under a temporary name (.partial), its length checked, then renamed, and its original is kept in the old folder until the mount step has passed; a large file prints its size and time first (about a minute per 2 GB), then eseutil's progress: leave the window open. Then done; or \"already done\" when the files are in the new folders, or once the database is mounted. `LEFT` lines name what stays in the old folder on purpose (the store's `tmp.edb`, the content index `CatalogData-*`, replication's `IgnoredLogs` and `inspector`): delete them with the old folder once the build is accepted.",
        verify: "The new folders hold the .log, .chk and .edb files; a file copied to another volume also stays in the old folder until the mount step lists it as `KEPT`.",
        on_failure: "If the configuration does not hold all three new paths (database, logs, system files), the previous step did not finish: run it again. Do not mount the database while a file is missing: the message names it. If the step was interrupted, run it again: it deletes a half-made .partial copy and starts that file again, and does not copy a checked copy again. Never delete a database file by hand unless the message names which one.",
        after: &["suspend-and-move-paths"],
        unconfirmed: Some(
            "a file moved to another volume is copied with `eseutil /y <source> /d <destination>`, from the Bin folder of the Exchange install path that setup records as `MsiInstallPath` under `HKLM\\SOFTWARE\\Microsoft\\Exchange\\Setup`; before the build, run `eseutil /?` on a node and check that its copy file mode lists /y and /d, and copy a test file with it",
        ),
    },
    StepDef {
        id: "mount-and-resume",
        phase: MOVE,
        on: On::FirstNode,
        kind: PS1,
        when: When::MovesFirstStorageGroup,
        title: "Mount the database, resume replication and check health",
        why: "The database comes back at its new path once its files are in place on both nodes, every file in the old folder has a complete copy in the new one, and the database file at the new place reads Clean Shutdown; replication resumes and must become Healthy.",
        expect: concat!(
            "The checks of both nodes' files and `OK   <database file>: State: Clean Shutdown`, then database mounted, copy resumed, and the copy through the health gate: ",
            crate::health_gate!(),
            "; a log written after the mount must also have been copied and replayed on the passive node. Then one `KEPT` line per node naming the originals the file steps kept in the old folder: delete them with the old folder once the build is accepted."
        ),
        verify: "Get-StorageGroupCopyStatus for the moved storage group shows Healthy, Suspend False and both queues at 0.",
        on_failure: concat!(
            "If the files of either node are not in their new folders, or a file in the old folder has no complete copy in the new one, finish the file move on that node first: resuming would copy into an empty folder and force a full reseed. If the database file at the new place does not read Clean Shutdown, nothing was mounted: run `eseutil /mh` on it and on its original, kept in the old folder when it was copied; if only the copy fails, delete the copy and run the file step of that node again, which copies it anew; if the original fails too, do not mount: back out. The passive node's folders are read through its administrative share (`\\\\NODE\\D$` for its drive D:, and so on): the account needs to be an administrator there and the share reachable. ",
            crate::health_initializing!(),
            " If the copy fails: ",
            crate::health_reseed!()
        ),
        after: &["move-database-files"],
        unconfirmed: Some(
            "in the Exchange Management Shell, check that `Get-MailboxDatabase -Status | Format-List Name,Mounted` shows a `Mounted` value of True or False for each database. The database file is read with `eseutil /mh` from the Bin folder of the Exchange install path (`MsiInstallPath` under `HKLM\\SOFTWARE\\Microsoft\\Exchange\\Setup`) and must show `State: Clean Shutdown`; run it once on a dismounted test database to see that line",
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
        expect: "Each storage group and database created and mounted, or already present and mounted; a database found dismounted is mounted.",
        verify: "Get-StorageGroupCopyStatus lists the new storage groups; the final verification waits for them to pass the health gate.",
        on_failure: "If a folder is missing on either node, run that node's folder step again; the passive node's folders are read through its administrative share (`\\\\NODE\\D$` for its drive D:, and so on): the account needs to be an administrator there and the share reachable. Otherwise read the error, fix the path or name, and run the step again: existing storage groups are skipped.",
        after: &["create-storage-folders"],
        unconfirmed: Some(
            "in the Exchange Management Shell, run `Get-Help New-MailboxDatabase -Full` and check that `-EdbFilePath` is listed, and that `Get-MailboxDatabase -Status | Format-List Name,Mounted` shows a `Mounted` value of True or False for each database",
        ),
    },
    StepDef {
        id: "final-verification",
        phase: FINAL,
        on: On::EachNode,
        kind: PS1,
        when: When::Always,
        title: "Final verification",
        why: "Hand over only a cluster whose CMS is online and whose replication is healthy. Test-ReplicationHealth tests the node it runs on, so the step runs on each node.",
        expect: concat!(
            "CMS Online; every copy, new storage groups included, through the health gate (",
            crate::health_gate!(),
            "); every check of `Test-ReplicationHealth` on this node Passed."
        ),
        verify: "Attach the log of this step on each node to the change record.",
        on_failure: concat!(
            "Do not close the change: read which check failed and treat it before handover. ",
            crate::health_initializing!(),
            " A copy that fails: ",
            crate::health_reseed!()
        ),
        after: &["verify-cms", "mount-and-resume", "create-storage-groups"],
        unconfirmed: Some(
            "Test-ReplicationHealth in Exchange 2007 takes no `-Identity` and tests the node it runs on. The script reads each result's `Check` and `Result` properties and passes only the word `Passed`: on each node of the dry run, run `Test-ReplicationHealth | Format-List Check,Result` and check that both show, and that a healthy cluster says `Passed` for every check on both the active and the passive node (any other word, a warning too, fails the step)",
        ),
    },
    StepDef {
        id: "restore-execution-policy",
        phase: FINAL,
        on: On::EachNode,
        kind: CMD,
        when: When::Always,
        title: "Set the PowerShell execution policy back",
        why: "The window changed the execution policy so the PowerShell steps could run. The step first reads, in this window's folder on the node that ran it, the log of the verification it waits for, and goes on only when that verification's last run passed: until then PowerShell steps may have to run again. Then the server gets back the policy recorded in `execution-policy-before.txt`, with one exception: where Exchange is installed (or its setup unfinished) the policy never goes below RemoteSigned, because the Exchange Management Shell needs RemoteSigned (its shortcut runs the `Exchange.ps1` script, which Restricted refuses: Exchange 2007 \"Script Security\"). So a recorded Restricted or AllSigned leaves RemoteSigned on an Exchange node, and the step says so; RemoteSigned, Unrestricted or Bypass come back as recorded; a node without Exchange gets back whatever was recorded.",
        expect: "`OK   step <number> on <node> passed`; on a node with Exchange and a recorded Restricted or AllSigned, `OK   Exchange is installed here: the execution policy stays RemoteSigned ...` and that the step is already done; otherwise `Setting the execution policy from RemoteSigned to <policy> ...` and that the step is done, or that it is already done.",
        verify: "`powershell.exe -NoProfile -Command Get-ExecutionPolicy` prints RemoteSigned, Unrestricted or Bypass on a node with Exchange, and the policy in `execution-policy-before.txt` on a node without it; the Exchange Management Shell starts from its shortcut.",
        on_failure: "If the verification has not passed, treat what it reports and run it again first: the policy stays as it is until it passes. If the window is abandoned before the verification passes, this step will not run: set the recorded policy back by hand as the back-out of the step that allowed the scripts says, RemoteSigned at least where Exchange is installed. If the verification's log cannot be read, check that this window's folder on this node holds it (each node's restore reads the log of its own node's verification). If the record is missing, set by hand the policy the server had before the window, but RemoteSigned at least where Exchange is installed (`Set-ExecutionPolicy RemoteSigned` in an elevated Windows PowerShell). If the policy does not change, Group Policy decides it: note that in the change record.",
        after: &["final-verification"],
        unconfirmed: Some(
            "the step reads the verification's log, a Windows PowerShell transcript, with `type` (which reads a Unicode file as text) and `findstr`: on the dry run, check that `type <log> | findstr /b /c:\"Step\"` on a node prints the step's lines, including the one that ends its run with `: done.`",
        ),
    },
];

/// The texts Windows Server 2008 R2 words its own way (see [`DialectText`]).
pub const R2_TEXTS: &[DialectText] = &[
    DialectText {
        id: "preflight",
        field: TextField::Unconfirmed,
        w2008r2: "on a cluster node, run `wmic os get OperatingSystemSKU,OSArchitecture,Version /value` once and check that it prints one `Name=value` line each (for example `OperatingSystemSKU=10`, `OSArchitecture=64-bit`, `Version=6.1.7601` on Windows Server 2008 R2 SP1); the pre-flight reads these lines",
    },
    DialectText {
        id: "install-failover-clustering",
        field: TextField::Title,
        w2008r2: "Install Failover Clustering",
    },
    DialectText {
        id: "install-failover-clustering",
        field: TextField::Why,
        w2008r2: "CCR runs on a Windows failover cluster. The later network and Exchange steps are PowerShell scripts; Windows PowerShell 2.0 is part of Windows Server 2008 R2, so only the cluster feature is installed.",
    },
    DialectText {
        id: "install-failover-clustering",
        field: TextField::Expect,
        w2008r2: "The feature reports installed or already installed. Exit code 3010 means a restart is needed: the feature asked for one, or Windows shows one pending from an earlier run.",
    },
    DialectText {
        id: "install-failover-clustering",
        field: TextField::Verify,
        w2008r2: "`ServerManagerCmd -query` lists Failover Clustering as installed.",
    },
    DialectText {
        id: "execution-policy",
        field: TextField::Unconfirmed,
        w2008r2: "that Windows PowerShell 2.0 changes the policy without asking when the step passes `-Force`, and that a policy set by Group Policy shows in `Get-ExecutionPolicy`, is unconfirmed: the step reads the policy back and stops when it did not change. The check for files from the Internet reads each file's `Zone.Identifier` stream with `more <`; if a PowerShell step later fails saying the file is not digitally signed or cannot be loaded, unblock the files and run that step again. Each PowerShell step's `.cmd` starts Windows PowerShell with `-NonInteractive`, so that a question stops the step instead of waiting; check on a node of the dry run that `powershell.exe -?` lists `-NonInteractive`",
    },
    DialectText {
        id: "exchange-prerequisites",
        field: TextField::Why,
        w2008r2: "Exchange 2007 setup on Windows Server 2008 R2 needs IIS with the ISAPI extensions, the IIS 6 metabase and management console, basic and Windows authentication.",
    },
    DialectText {
        id: "create-cluster",
        field: TextField::Unconfirmed,
        w2008r2: "run `cluster /create /?` on a Windows Server 2008 R2 node and check that it accepts `/nodes:` and `/ipaddr:address/mask`; check also that `cluster /cluster:NAME node NODE` exits with 0 for a member and another code when the node or the cluster is unknown",
    },
    DialectText {
        id: "cluster-networks",
        field: TextField::Unconfirmed,
        w2008r2: "the script talks to the cluster's WMI provider (`root\\MSCluster`, class `MSCluster_Network`) with packet privacy, sets `Role` and saves it with `.psbase.Put()`, and renames with the `Rename` method; that Windows PowerShell 2.0 does all of this is unconfirmed. On a node of the dry run, run this step and check in Failover Cluster Manager that the names and the heartbeat's use changed",
    },
    DialectText {
        id: "quorum",
        field: TextField::Unconfirmed,
        w2008r2: "on Windows Server 2008 R2, check `cluster res /?` for `/create /group: /type: /priv` and `/online /wait:`; check that `cluster res \"File Share Witness\" /priv` prints a line with `SharePath` and the share path, that `cluster res \"File Share Witness\" /status` shows the word `Online` once it is online, and that `cluster /quorum` prints the name of the quorum resource",
    },
];
