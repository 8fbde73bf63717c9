//! Who is signing in, as far as throttling is concerned: the TCP peer's address, never a header
//! the client can write itself (`X-Forwarded-For`). Behind a reverse proxy every client shares
//! the proxy's address.

use std::net::{IpAddr, Ipv6Addr};

/// A peer's address, an IPv6 peer's /64 (one host can use any address in it, so counting single
/// IPv6 addresses would count nothing), or every peer whose address the server does not know
/// (only when the server was started without connect info).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientAddress {
    Address(IpAddr),
    Unknown,
}

impl ClientAddress {
    pub fn from_peer(peer: Option<IpAddr>) -> Self {
        match peer {
            None => Self::Unknown,
            Some(IpAddr::V4(v4)) => Self::Address(IpAddr::V4(v4)),
            Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::Address(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & (u128::MAX << 64);
                    Self::Address(IpAddr::V6(Ipv6Addr::from(prefix)))
                }
            },
        }
    }

    /// The text under which the repository keeps this address's records.
    pub fn key(&self) -> String {
        match self {
            Self::Address(IpAddr::V4(v4)) => v4.to_string(),
            Self::Address(IpAddr::V6(v6)) => format!("{v6}/64"),
            Self::Unknown => "unknown".to_owned(),
        }
    }
}
