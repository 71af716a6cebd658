//! Storage: drives that exist on both nodes, the shape of a CCR storage
//! group, and the seed's advice on spindles.

use crate::diag::{Code, Diagnostic};
use crate::model::{Host, Topology};

use super::same_name;

/// Exchange 2007 Enterprise allows 50 storage groups per mailbox server.
const MAX_STORAGE_GROUPS: usize = 50;

/// The drive letter of an absolute local path (`E:\…`).
pub(crate) fn drive_of(path: &str) -> Option<char> {
    let mut chars = path.chars();
    let letter = chars.next()?;
    (letter.is_ascii_alphabetic() && chars.next() == Some(':')).then(|| letter.to_ascii_uppercase())
}

fn has_drive(host: &Host, letter: char) -> bool {
    host.drives.iter().any(|drive| drive.letter() == letter)
}

pub(super) fn check(topology: &Topology, found: &mut Vec<Diagnostic>) {
    for (i, cluster) in topology.clusters.iter().enumerate() {
        let nodes: Vec<&Host> = cluster
            .nodes
            .iter()
            .filter_map(|name| topology.host(name))
            .collect();
        let mailbox = &cluster.mailbox;
        let base = format!("/clusters/{i}/mailbox");

        let mut paths: Vec<(String, &str)> = vec![(format!("{base}/setup"), &mailbox.setup)];
        if let Some(install) = &mailbox.install_path {
            paths.push((format!("{base}/install_path"), install));
        }
        for (j, group) in mailbox.storage_groups.iter().enumerate() {
            let group_base = format!("{base}/storage_groups/{j}");
            paths.push((format!("{group_base}/log_path"), &group.log_path));
            paths.push((format!("{group_base}/system_path"), &group.system_path));
            for (k, database) in group.databases.iter().enumerate() {
                paths.push((
                    format!("{group_base}/databases/{k}/edb_path"),
                    &database.edb_path,
                ));
            }
        }
        for (pointer, path) in &paths {
            let Some(letter) = drive_of(path) else {
                continue;
            };
            for node in &nodes {
                if !has_drive(node, letter) {
                    found.push(
                        Diagnostic::error(Code::DriveMissing, pointer.clone(), format!("drive {letter}: is not among the drives of node {}", node.name))
                            .with_help(format!(
                                "CCR needs the same drive letters on both nodes; add {letter} to the drives of {} or use a drive both nodes have",
                                node.name
                            )),
                    );
                }
            }
        }

        if let (Some(witness), Some(letter)) = (
            topology.host(&cluster.witness.host),
            drive_of(&cluster.witness.folder),
        ) && !has_drive(witness, letter)
        {
            found.push(
                Diagnostic::error(
                    Code::DriveMissing,
                    format!("/clusters/{i}/witness/folder"),
                    format!(
                        "drive {letter}: is not among the drives of witness host {}",
                        witness.name
                    ),
                )
                .with_help(format!(
                    "put the witness folder on a drive {} has, or add {letter} to its drives",
                    witness.name
                )),
            );
        }

        if mailbox.storage_groups.len() > MAX_STORAGE_GROUPS {
            found.push(
                Diagnostic::error(
                    Code::TooManyStorageGroups,
                    format!("{base}/storage_groups/{MAX_STORAGE_GROUPS}"),
                    format!(
                        "{} storage groups on {}; Exchange 2007 allows {MAX_STORAGE_GROUPS}",
                        mailbox.storage_groups.len(),
                        mailbox.name
                    ),
                )
                .with_help("spread the databases over another clustered mailbox server"),
            );
        }

        for (j, group) in mailbox.storage_groups.iter().enumerate() {
            let group_base = format!("{base}/storage_groups/{j}");
            if group.databases.len() > 1 {
                found.push(
                    Diagnostic::error(
                        Code::TooManyDatabases,
                        format!("{group_base}/databases/1"),
                        format!(
                            "storage group `{}` has {} databases; in CCR a storage group holds one",
                            group.name,
                            group.databases.len()
                        ),
                    )
                    .with_help("give each further database a storage group of its own"),
                );
            }
            if !same_name(&group.system_path, &group.log_path) {
                found.push(
                    Diagnostic::warning(
                        Code::SystemPathDiffers,
                        format!("{group_base}/system_path"),
                        "system files are not in the log folder",
                    )
                    .with_help(format!(
                        "Exchange keeps the checkpoint with the logs; use `{}` unless you mean it",
                        group.log_path
                    )),
                );
            }
            for (k, database) in group.databases.iter().enumerate() {
                let pointer = format!("{group_base}/databases/{k}/edb_path");
                if !database.edb_path.to_ascii_lowercase().ends_with(".edb") {
                    found.push(
                        Diagnostic::error(
                            Code::DatabaseExtension,
                            pointer.clone(),
                            format!("database path of `{}` does not end in .edb", database.name),
                        )
                        .with_help(format!(
                            "give the full file path, such as `{}\\{}.edb`",
                            database.edb_path.trim_end_matches('\\'),
                            database.name
                        )),
                    );
                }
                if drive_of(&database.edb_path).is_some()
                    && drive_of(&database.edb_path) == drive_of(&group.log_path)
                {
                    found.push(
                        Diagnostic::warning(
                            Code::LogsWithDatabase,
                            pointer,
                            format!("database `{}` and its logs are on the same drive", database.name),
                        )
                        .with_help("put the database and its logs on separate spindles for performance and recovery"),
                    );
                }
            }
        }
    }
}
