//! Names that must be unique: computer names across the estate, network
//! names, and storage group and database names within one CMS.

use crate::diag::{Code, Diagnostic};
use crate::model::Topology;

use std::collections::HashMap;

struct Named<'a> {
    name: &'a str,
    pointer: String,
    what: &'static str,
    /// The cluster a CMS belongs to, or the cluster itself.
    cluster: Option<usize>,
}

pub(super) fn check(topology: &Topology, found: &mut Vec<Diagnostic>) {
    // Hosts, clusters and CMSs are all computer accounts in one domain, so
    // they share one namespace.
    let mut computers: Vec<Named<'_>> = Vec::new();
    for (i, host) in topology.hosts.iter().enumerate() {
        computers.push(Named {
            name: &host.name,
            pointer: format!("/hosts/{i}/name"),
            what: "host",
            cluster: None,
        });
    }
    for (i, cluster) in topology.clusters.iter().enumerate() {
        computers.push(Named {
            name: &cluster.name,
            pointer: format!("/clusters/{i}/name"),
            what: "cluster",
            cluster: Some(i),
        });
        computers.push(Named {
            name: &cluster.mailbox.name,
            pointer: format!("/clusters/{i}/mailbox/name"),
            what: "clustered mailbox server",
            cluster: Some(i),
        });
    }
    report_duplicates(&computers, found, |first, second| {
        if first.cluster.is_some() && first.cluster == second.cluster {
            Diagnostic::error(
                Code::CmsNameIsClusterName,
                second.pointer.clone(),
                format!(
                    "the clustered mailbox server is named `{}`, like its cluster",
                    second.name
                ),
            )
            .with_related(first.pointer.clone(), "the cluster's name")
            .with_help(format!(
                "give the CMS a name of its own; `{}` is the cluster's computer account",
                first.name
            ))
        } else {
            duplicate(
                first,
                second,
                "every host, cluster and CMS is a computer account and needs its own name",
            )
        }
    });

    let networks: Vec<Named<'_>> = topology
        .networks
        .iter()
        .enumerate()
        .map(|(i, network)| Named {
            name: &network.name,
            pointer: format!("/networks/{i}/name"),
            what: "network",
            cluster: None,
        })
        .collect();
    report_duplicates(&networks, found, |first, second| {
        duplicate(first, second, "rename one of the two networks")
    });

    for (i, cluster) in topology.clusters.iter().enumerate() {
        let base = format!("/clusters/{i}/mailbox/storage_groups");
        let groups: Vec<Named<'_>> = cluster
            .mailbox
            .storage_groups
            .iter()
            .enumerate()
            .map(|(j, group)| Named {
                name: &group.name,
                pointer: format!("{base}/{j}/name"),
                what: "storage group",
                cluster: None,
            })
            .collect();
        report_duplicates(&groups, found, |first, second| {
            duplicate(
                first,
                second,
                "storage group names are unique within a clustered mailbox server",
            )
        });
        let databases: Vec<Named<'_>> = cluster
            .mailbox
            .storage_groups
            .iter()
            .enumerate()
            .flat_map(|(j, group)| {
                let base = &base;
                group
                    .databases
                    .iter()
                    .enumerate()
                    .map(move |(k, database)| Named {
                        name: &database.name,
                        pointer: format!("{base}/{j}/databases/{k}/name"),
                        what: "database",
                        cluster: None,
                    })
            })
            .collect();
        report_duplicates(&databases, found, |first, second| {
            duplicate(
                first,
                second,
                "database names are unique within a clustered mailbox server",
            )
        });
    }
}

fn duplicate(first: &Named<'_>, second: &Named<'_>, help: &str) -> Diagnostic {
    let message = if first.what == second.what {
        format!("{} `{}` is already defined", second.what, second.name)
    } else {
        format!(
            "{} `{}` has the name of a {}",
            second.what, second.name, first.what
        )
    };
    Diagnostic::error(Code::DuplicateName, second.pointer.clone(), message)
        .with_related(
            first.pointer.clone(),
            "first defined here; names compare case-insensitively",
        )
        .with_help(help)
}

fn report_duplicates(
    items: &[Named<'_>],
    found: &mut Vec<Diagnostic>,
    make: impl Fn(&Named<'_>, &Named<'_>) -> Diagnostic,
) {
    // The first item of each name, by its case-folded name (as `same_name` compares).
    let mut first_of: HashMap<String, usize> = HashMap::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let first = *first_of.entry(item.name.to_lowercase()).or_insert(index);
        if first != index {
            found.push(make(&items[first], item));
        }
    }
}
