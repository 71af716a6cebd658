//! IPv4 networks in CIDR notation.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An IPv4 network such as `192.168.10.0/24`.
///
/// Host bits are kept as written (`192.168.10.5/24`) so that a check can point
/// at the mistake instead of the loader failing without a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Net {
    address: Ipv4Addr,
    prefix: u8,
}

/// Why a CIDR string is not a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("expected an IPv4 network like 192.168.10.0/24")]
    Syntax,
    #[error("prefix length {0} is not between 1 and 30")]
    Prefix(u8),
}

impl Ipv4Net {
    /// The network address (all host bits zero).
    pub fn network(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.address) & self.mask_bits())
    }

    /// Whether the address as written had host bits set.
    pub fn has_host_bits(self) -> bool {
        self.network() != self.address
    }

    /// The prefix length.
    pub fn prefix(self) -> u8 {
        self.prefix
    }

    fn mask_bits(self) -> u32 {
        u32::MAX << (32 - u32::from(self.prefix))
    }

    /// The subnet mask in dotted form, as cluster.exe wants it.
    pub fn mask(self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask_bits())
    }

    /// The broadcast address.
    pub fn broadcast(self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.network()) | !self.mask_bits())
    }

    /// Whether the address lies inside the network (network and broadcast included).
    pub fn contains(self, address: Ipv4Addr) -> bool {
        u32::from(address) & self.mask_bits() == u32::from(self.network())
    }
}

impl FromStr for Ipv4Net {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = text.split_once('/').ok_or(CidrError::Syntax)?;
        let address: Ipv4Addr = address.parse().map_err(|_| CidrError::Syntax)?;
        if prefix.is_empty() || prefix.len() > 2 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CidrError::Syntax);
        }
        let prefix: u8 = prefix.parse().map_err(|_| CidrError::Syntax)?;
        // /31 and /32 leave no room for two nodes plus cluster and CMS addresses.
        if !(1..=30).contains(&prefix) {
            return Err(CidrError::Prefix(prefix));
        }
        Ok(Ipv4Net { address, prefix })
    }
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

impl Serialize for Ipv4Net {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ipv4Net {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Dotted quad with no leading zeros, then a prefix of 1 to 30.
pub(crate) const CIDR_PATTERN: &str = r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/([1-9]|[12][0-9]|30)$";

impl JsonSchema for Ipv4Net {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Ipv4Net".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "IPv4 network in CIDR notation, prefix 1 to 30, host bits zero (192.168.10.0/24).",
            "type": "string",
            "pattern": CIDR_PATTERN,
            "examples": ["192.168.10.0/24"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_network_and_knows_its_edges() {
        let net: Ipv4Net = "192.168.10.0/24".parse().unwrap();
        assert_eq!(net.mask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(net.broadcast(), Ipv4Addr::new(192, 168, 10, 255));
        assert!(net.contains(Ipv4Addr::new(192, 168, 10, 21)));
        assert!(!net.contains(Ipv4Addr::new(192, 168, 11, 21)));
    }

    #[test]
    fn host_bits_are_kept_for_the_checks_to_report() {
        let net: Ipv4Net = "192.168.10.5/24".parse().unwrap();
        assert!(net.has_host_bits());
        assert_eq!(net.network(), Ipv4Addr::new(192, 168, 10, 0));
        assert_eq!(net.to_string(), "192.168.10.5/24");
    }

    #[test]
    fn malformed_networks_are_refused() {
        for bad in [
            "192.168.10.0",
            "192.168.10.0/",
            "192.168.10.0/33",
            "300.1.1.0/24",
            "1.2.3.0/+8",
            "1.2.3.0/0",
        ] {
            assert!(bad.parse::<Ipv4Net>().is_err(), "{bad}");
        }
    }
}
