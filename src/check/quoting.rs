//! Values that a generated script could not carry safely are refused here,
//! with a position, rather than mangled later in a template.
//!
//! What reaches `.cmd` files (host, cluster and CMS names, network names,
//! witness folder and share, setup and install paths) must be printable
//! ASCII without `"` or a trailing `\`. Storage group and database names and
//! paths reach PowerShell only, where escaping carries anything but control
//! characters; names also refuse the characters that break Exchange identities.

use crate::diag::{Code, Diagnostic};
use crate::model::Topology;
use crate::render::escape::{cmd_refusal, name_refusal, path_refusal, ps_refusal};

pub(super) fn check(topology: &Topology, found: &mut Vec<Diagnostic>) {
    let mut refuse = |pointer: String, what: &str, reason: Option<String>, help: &str| {
        if let Some(reason) = reason {
            found.push(
                Diagnostic::error(
                    Code::UnsafeValue,
                    pointer,
                    format!("{what} contains {reason}"),
                )
                .with_help(help),
            );
        }
    };
    const CMD_HELP: &str = "values used in cmd scripts must be printable ASCII, without `\"` and without a trailing `\\`";

    for (i, network) in topology.networks.iter().enumerate() {
        refuse(
            format!("/networks/{i}/name"),
            "the network name",
            cmd_refusal(&network.name),
            CMD_HELP,
        );
    }
    for (i, cluster) in topology.clusters.iter().enumerate() {
        let base = format!("/clusters/{i}");
        let witness = &cluster.witness;
        refuse(
            format!("{base}/witness/folder"),
            "the witness folder",
            path_refusal(&witness.folder).or_else(|| cmd_refusal(&witness.folder)),
            CMD_HELP,
        );
        refuse(
            format!("{base}/witness/share"),
            "the witness share name",
            cmd_refusal(&witness.share),
            CMD_HELP,
        );
        let mailbox = &cluster.mailbox;
        refuse(
            format!("{base}/mailbox/setup"),
            "the setup path",
            path_refusal(&mailbox.setup).or_else(|| cmd_refusal(&mailbox.setup)),
            CMD_HELP,
        );
        if let Some(install) = &mailbox.install_path {
            refuse(
                format!("{base}/mailbox/install_path"),
                "the install path",
                path_refusal(install).or_else(|| cmd_refusal(install)),
                CMD_HELP,
            );
        }
        const NAME_HELP: &str = "remove `\\`, `/`, `\"` and control characters from the name";
        const PATH_HELP: &str = "use a path Windows accepts: no control characters, no `<`, `>`, `\"`, `|`, `?` or `*`, and `:` only after the drive letter";
        for (j, group) in mailbox.storage_groups.iter().enumerate() {
            let group_base = format!("{base}/mailbox/storage_groups/{j}");
            refuse(
                format!("{group_base}/name"),
                "the storage group name",
                name_refusal(&group.name),
                NAME_HELP,
            );
            refuse(
                format!("{group_base}/log_path"),
                "the log path",
                path_refusal(&group.log_path).or_else(|| ps_refusal(&group.log_path)),
                PATH_HELP,
            );
            refuse(
                format!("{group_base}/system_path"),
                "the system path",
                path_refusal(&group.system_path).or_else(|| ps_refusal(&group.system_path)),
                PATH_HELP,
            );
            for (k, database) in group.databases.iter().enumerate() {
                let database_base = format!("{group_base}/databases/{k}");
                refuse(
                    format!("{database_base}/name"),
                    "the database name",
                    name_refusal(&database.name),
                    NAME_HELP,
                );
                refuse(
                    format!("{database_base}/edb_path"),
                    "the database path",
                    path_refusal(&database.edb_path).or_else(|| ps_refusal(&database.edb_path)),
                    PATH_HELP,
                );
            }
        }
    }
}
