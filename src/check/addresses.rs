//! IPv4 addresses: unique, inside their subnet, and on the right network.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::diag::{Code, Diagnostic, pointer_token};
use crate::model::{Ipv4Net, Topology};

use super::schema::closest;

pub(super) fn check(topology: &Topology, found: &mut Vec<Diagnostic>) {
    for (i, network) in topology.networks.iter().enumerate() {
        if network.subnet.has_host_bits() {
            found.push(
                Diagnostic::error(
                    Code::SubnetHostBits,
                    format!("/networks/{i}/subnet"),
                    format!("subnet `{}` has host bits set", network.subnet),
                )
                .with_help(format!(
                    "write the network address: {}/{}",
                    network.subnet.network(),
                    network.subnet.prefix()
                )),
            );
        }
    }
    host_addresses(topology, found);
    duplicates(topology, found);
    cluster_addresses(topology, found);
}

fn host_addresses(topology: &Topology, found: &mut Vec<Diagnostic>) {
    let network_names: Vec<String> = topology.networks.iter().map(|n| n.name.clone()).collect();
    for (i, host) in topology.hosts.iter().enumerate() {
        for (network_name, address) in &host.addresses {
            let pointer = format!("/hosts/{i}/addresses/{}", pointer_token(network_name));
            match topology.network(network_name) {
                None => {
                    let help = match closest(network_name, &network_names) {
                        Some(guess) => {
                            format!("did you mean `{guess}`? networks are matched by exact name")
                        }
                        None => format!(
                            "define network `{network_name}` under `networks`, or use one of: {}",
                            network_names.join(", ")
                        ),
                    };
                    found.push(
                        Diagnostic::error(
                            Code::UnknownNetwork,
                            pointer,
                            format!(
                                "host {} has an address on unknown network `{network_name}`",
                                host.name
                            ),
                        )
                        .at_key()
                        .with_help(help),
                    );
                }
                Some(network) => {
                    if let Some(diagnostic) =
                        placement(*address, network.subnet, &network.name, &pointer)
                    {
                        found.push(diagnostic);
                    }
                }
            }
        }
    }
}

/// An address must be a usable host address of its subnet.
fn placement(
    address: Ipv4Addr,
    subnet: Ipv4Net,
    network: &str,
    pointer: &str,
) -> Option<Diagnostic> {
    if !subnet.contains(address) {
        return Some(
            Diagnostic::error(
                Code::AddressOutsideSubnet,
                pointer,
                format!(
                    "{address} is outside network {network} ({}/{})",
                    subnet.network(),
                    subnet.prefix()
                ),
            )
            .with_help(format!(
                "use an address between {} and {}",
                first_host(subnet),
                last_host(subnet)
            )),
        );
    }
    if address == subnet.network() || address == subnet.broadcast() {
        let which = if address == subnet.network() {
            "network"
        } else {
            "broadcast"
        };
        return Some(
            Diagnostic::error(
                Code::ReservedAddress,
                pointer,
                format!("{address} is the {which} address of network {network}"),
            )
            .with_help(format!(
                "use an address between {} and {}",
                first_host(subnet),
                last_host(subnet)
            )),
        );
    }
    None
}

fn first_host(subnet: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(subnet.network()).saturating_add(1))
}

fn last_host(subnet: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(subnet.broadcast()).saturating_sub(1))
}

struct Use {
    address: Ipv4Addr,
    pointer: String,
    /// The cluster, for the cluster and CMS addresses.
    cluster: Option<(usize, bool)>,
}

fn duplicates(topology: &Topology, found: &mut Vec<Diagnostic>) {
    let mut uses: Vec<Use> = Vec::new();
    for (i, host) in topology.hosts.iter().enumerate() {
        for (network, address) in &host.addresses {
            uses.push(Use {
                address: *address,
                pointer: format!("/hosts/{i}/addresses/{}", pointer_token(network)),
                cluster: None,
            });
        }
    }
    for (i, cluster) in topology.clusters.iter().enumerate() {
        uses.push(Use {
            address: cluster.address,
            pointer: format!("/clusters/{i}/address"),
            cluster: Some((i, false)),
        });
        uses.push(Use {
            address: cluster.mailbox.address,
            pointer: format!("/clusters/{i}/mailbox/address"),
            cluster: Some((i, true)),
        });
    }
    let mut first_use: HashMap<Ipv4Addr, usize> = HashMap::with_capacity(uses.len());
    for (index, item) in uses.iter().enumerate() {
        let first = &uses[*first_use.entry(item.address).or_insert(index)];
        if std::ptr::eq(first, item) {
            continue;
        }
        let own_cms =
            matches!((first.cluster, item.cluster), (Some((a, false)), Some((b, true))) if a == b);
        let diagnostic = if own_cms {
            Diagnostic::error(
                Code::CmsAddressIsClusterAddress,
                item.pointer.clone(),
                format!(
                    "the clustered mailbox server has the cluster's address {}",
                    item.address
                ),
            )
            .with_related(first.pointer.clone(), "the cluster's address")
            .with_help("give the CMS an address of its own on the same client network")
        } else {
            Diagnostic::error(
                Code::DuplicateAddress,
                item.pointer.clone(),
                format!("address {} is already in use", item.address),
            )
            .with_related(first.pointer.clone(), "first used here")
            .with_help("every host, cluster and CMS address must be unique")
        };
        found.push(diagnostic);
    }
}

fn cluster_addresses(topology: &Topology, found: &mut Vec<Diagnostic>) {
    for (i, cluster) in topology.clusters.iter().enumerate() {
        let nodes: Vec<_> = cluster
            .nodes
            .iter()
            .filter_map(|name| topology.host(name))
            .collect();
        if nodes.len() != cluster.nodes.len() || nodes.is_empty() {
            // Unknown nodes are reported by the cluster rules; nothing to compare against.
            continue;
        }
        let shared_client_networks: Vec<_> = topology
            .networks
            .iter()
            .filter(|network| {
                network.clients
                    && nodes
                        .iter()
                        .all(|node| node.addresses.contains_key(&network.name))
            })
            .collect();
        let candidates = [
            (
                cluster.address,
                format!("/clusters/{i}/address"),
                format!("cluster {}", cluster.name),
            ),
            (
                cluster.mailbox.address,
                format!("/clusters/{i}/mailbox/address"),
                format!("clustered mailbox server {}", cluster.mailbox.name),
            ),
        ];
        for (address, pointer, what) in candidates {
            match shared_client_networks
                .iter()
                .find(|network| network.subnet.contains(address))
            {
                Some(network) => {
                    if let Some(diagnostic) =
                        placement(address, network.subnet, &network.name, &pointer)
                    {
                        found.push(diagnostic);
                    }
                }
                None => {
                    let help = if shared_client_networks.is_empty() {
                        "no network with `clients: true` joins both nodes; attach both nodes to the public network".to_owned()
                    } else {
                        let names: Vec<String> = shared_client_networks
                            .iter()
                            .map(|n| {
                                format!("{} ({}/{})", n.name, n.subnet.network(), n.subnet.prefix())
                            })
                            .collect();
                        format!("use a free address on {}", names.join(" or "))
                    };
                    found.push(
                        Diagnostic::error(
                            Code::AddressNotOnClientNetwork,
                            pointer,
                            format!("the address {address} of {what} is not on a client network that both nodes have"),
                        )
                        .with_help(help),
                    );
                }
            }
        }
    }
}
