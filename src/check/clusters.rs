//! Cluster shape: two known nodes, a witness elsewhere, a heartbeat between them.

use std::collections::{BTreeSet, HashMap};

use crate::diag::{Code, Diagnostic};
use crate::model::Topology;

use super::same_name;
use super::schema::closest;

pub(super) fn check(topology: &Topology, found: &mut Vec<Diagnostic>) {
    let host_names: Vec<String> = topology.hosts.iter().map(|h| h.name.clone()).collect();
    let unknown_host = |name: &str, pointer: String, role: &str| {
        let help = match closest(name, &host_names) {
            Some(guess) => format!("did you mean `{guess}`?"),
            None => format!(
                "add `{name}` under `hosts`, or name one of: {}",
                host_names.join(", ")
            ),
        };
        Diagnostic::error(
            Code::UnknownHost,
            pointer,
            format!("{role} `{name}` is not among the hosts"),
        )
        .with_help(help)
    };

    // The first cluster each node name belongs to, among the clusters seen so far.
    let mut cluster_of_node: HashMap<String, usize> = HashMap::new();
    for (i, cluster) in topology.clusters.iter().enumerate() {
        if cluster.nodes.len() != 2 {
            found.push(
                Diagnostic::error(
                    Code::NodeCount,
                    format!("/clusters/{i}/nodes"),
                    format!(
                        "cluster {} has {} node(s); a CCR cluster has exactly two",
                        cluster.name,
                        cluster.nodes.len()
                    ),
                )
                .with_help("list the two nodes: the first creates the cluster and becomes active"),
            );
        }
        for (j, node) in cluster.nodes.iter().enumerate() {
            let pointer = format!("/clusters/{i}/nodes/{j}");
            if topology.host(node).is_none() {
                found.push(unknown_host(node, pointer, "node"));
            } else if cluster.nodes[..j]
                .iter()
                .any(|earlier| same_name(earlier, node))
            {
                found.push(
                    Diagnostic::error(
                        Code::DuplicateName,
                        pointer,
                        format!(
                            "`{node}` is listed twice as a node of cluster {}",
                            cluster.name
                        ),
                    )
                    .with_related(format!("/clusters/{i}/nodes/0"), "first listed here")
                    .with_help("a CCR cluster needs two different servers"),
                );
            } else if let Some((k, other)) = cluster_of_node
                .get(&node.to_lowercase())
                .and_then(|&k| topology.clusters.get(k).map(|other| (k, other)))
            {
                found.push(
                    Diagnostic::error(
                        Code::NodeInTwoClusters,
                        pointer,
                        format!("{node} is already a node of cluster {}", other.name),
                    )
                    .with_related(format!("/clusters/{k}/name"), "that cluster")
                    .with_help(
                        "a server belongs to one failover cluster; give this cluster its own nodes",
                    ),
                );
            }
        }

        for node in &cluster.nodes {
            cluster_of_node.entry(node.to_lowercase()).or_insert(i);
        }

        let witness = &cluster.witness.host;
        let witness_pointer = format!("/clusters/{i}/witness/host");
        if topology.host(witness).is_none() {
            found.push(unknown_host(witness, witness_pointer, "witness host"));
        } else if let Some(node) = cluster.nodes.iter().find(|node| same_name(node, witness)) {
            found.push(
                Diagnostic::error(Code::WitnessOnNode, witness_pointer, format!("the witness host {witness} is a node of cluster {}", cluster.name))
                    .with_help(format!(
                        "{node} is a node of cluster {}; the witness must be on a third server, such as a Hub Transport server",
                        cluster.name
                    )),
            );
        }

        node_networks(topology, i, found);
    }
}

/// Both nodes on the same networks, with a heartbeat among them.
fn node_networks(topology: &Topology, i: usize, found: &mut Vec<Diagnostic>) {
    let cluster = &topology.clusters[i];
    let [first, second] = cluster.nodes.as_slice() else {
        return;
    };
    let (Some(first), Some(second)) = (topology.host(first), topology.host(second)) else {
        return;
    };
    if same_name(&first.name, &second.name) {
        return;
    }
    let on =
        |host: &crate::model::Host| host.addresses.keys().cloned().collect::<BTreeSet<String>>();
    let (first_networks, second_networks) = (on(first), on(second));
    if first_networks != second_networks {
        let only: Vec<String> = first_networks
            .symmetric_difference(&second_networks)
            .map(|name| {
                let owner = if first_networks.contains(name) {
                    &first.name
                } else {
                    &second.name
                };
                format!("{name} (only {owner})")
            })
            .collect();
        found.push(
            Diagnostic::error(
                Code::NodeNetworksDiffer,
                format!("/clusters/{i}/nodes"),
                format!(
                    "nodes {} and {} are not on the same networks: {}",
                    first.name,
                    second.name,
                    only.join(", ")
                ),
            )
            .with_help("give both nodes an address on every cluster network"),
        );
    }
    let heartbeat = topology.networks.iter().any(|network| {
        !network.clients
            && first_networks.contains(&network.name)
            && second_networks.contains(&network.name)
    });
    if !heartbeat {
        found.push(
            Diagnostic::error(
                Code::NoHeartbeat,
                format!("/clusters/{i}/nodes"),
                format!(
                    "no heartbeat network joins {} and {}",
                    first.name, second.name
                ),
            )
            .with_help("add a network with `clients: false` and give both nodes an address on it"),
        );
    }
}
