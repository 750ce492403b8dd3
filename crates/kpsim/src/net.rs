//! Addresses, prefixes, protocols and ports: the network vocabulary every stage shares.
//!
//! Parsing here is *sloppy* the way kube-proxy's `netutils.ParseIPSloppy` is: IPv4 octets
//! with leading zeros are read as decimal (`172.30.0.041` is `172.30.0.41`). Whether such a
//! value is acceptable to an API server is the model's business, not this module's.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An IP family, as kube-proxy runs one proxier per family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum IpFamily {
    #[serde(rename = "IPv4")]
    V4,
    #[serde(rename = "IPv6")]
    V6,
}

impl IpFamily {
    /// The family of an address.
    pub fn of(ip: IpAddr) -> IpFamily {
        match ip {
            IpAddr::V4(_) => IpFamily::V4,
            IpAddr::V6(_) => IpFamily::V6,
        }
    }

    /// Parses the Kubernetes spelling (`IPv4`, `IPv6`).
    pub fn from_k8s(s: &str) -> Option<IpFamily> {
        match s {
            "IPv4" => Some(IpFamily::V4),
            "IPv6" => Some(IpFamily::V6),
            _ => None,
        }
    }

    /// The Kubernetes spelling.
    pub fn as_k8s(self) -> &'static str {
        match self {
            IpFamily::V4 => "IPv4",
            IpFamily::V6 => "IPv6",
        }
    }

    /// The loopback address of the family.
    pub fn loopback(self) -> IpAddr {
        match self {
            IpFamily::V4 => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpFamily::V6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        }
    }
}

impl fmt::Display for IpFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_k8s())
    }
}

/// Parses an IP address the way kube-proxy does (`ParseIPSloppy`): IPv4 octets may carry
/// leading zeros and are read as decimal. Surrounding whitespace is not accepted.
pub fn parse_ip_sloppy(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = IpAddr::from_str(s) {
        return Some(ip);
    }
    parse_ipv4_sloppy(s).map(IpAddr::V4)
}

fn parse_ipv4_sloppy(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse::<u8>().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// True when `s` is an IP an API server would accept as written (canonical, no leading zeros).
pub fn is_strict_ip(s: &str) -> bool {
    IpAddr::from_str(s).is_ok()
}

/// An address with a prefix length, normalised to its network (`10.244.1.7/16` is kept as
/// the network `10.244.0.0/16`; use [`IfaceAddr`] to keep the host part).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// A prefix from an address and a length, masking the host bits. `None` when the length
    /// is too long for the family.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Cidr> {
        let max = max_prefix(IpFamily::of(addr));
        if prefix > max {
            return None;
        }
        Some(Cidr { network: mask(addr, prefix), prefix })
    }

    /// The single-address prefix (`/32` or `/128`).
    pub fn host(addr: IpAddr) -> Cidr {
        Cidr { network: addr, prefix: max_prefix(IpFamily::of(addr)) }
    }

    /// Parses `a.b.c.d/n` or `x::y/n` sloppily (leading zeros in IPv4 octets and the prefix
    /// length are accepted, as kube-proxy's `ParseCIDRSloppy` does). Host bits are masked.
    pub fn parse_sloppy(s: &str) -> Option<Cidr> {
        let (addr, len) = s.split_once('/')?;
        let addr = parse_ip_sloppy(addr)?;
        if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Cidr::new(addr, len.parse().ok()?)
    }

    /// Parses strictly: canonical address and no host bits set.
    pub fn parse_strict(s: &str) -> Option<Cidr> {
        let (addr, len) = s.split_once('/')?;
        let addr = IpAddr::from_str(addr).ok()?;
        let prefix: u8 = len.parse().ok()?;
        let cidr = Cidr::new(addr, prefix)?;
        (cidr.network == addr).then_some(cidr)
    }

    pub fn network(&self) -> IpAddr {
        self.network
    }

    pub fn prefix_len(&self) -> u8 {
        self.prefix
    }

    pub fn family(&self) -> IpFamily {
        IpFamily::of(self.network)
    }

    /// True when `ip` lies inside this prefix (false across families).
    pub fn contains(&self, ip: IpAddr) -> bool {
        IpFamily::of(ip) == self.family() && mask(ip, self.prefix) == self.network
    }

    /// True when the whole of `other` lies inside this prefix.
    pub fn contains_cidr(&self, other: &Cidr) -> bool {
        other.prefix >= self.prefix && self.contains(other.network)
    }

    /// The `n`-th address of the prefix (0 is the network address), if it exists.
    pub fn nth(&self, n: u128) -> Option<IpAddr> {
        let size_bits = u32::from(max_prefix(self.family()) - self.prefix);
        if size_bits < 128 && n >= (1u128 << size_bits) {
            return None;
        }
        Some(match self.network {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a).checked_add(n as u32)?)),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a).checked_add(n)?)),
        })
    }

    /// Number of addresses in the prefix, saturating at `u128::MAX`.
    pub fn size(&self) -> u128 {
        let bits = u32::from(max_prefix(self.family()) - self.prefix);
        if bits >= 128 { u128::MAX } else { 1u128 << bits }
    }

    /// The position of `ip` inside this prefix.
    pub fn offset_of(&self, ip: IpAddr) -> Option<u128> {
        if !self.contains(ip) {
            return None;
        }
        Some(ip_to_u128(ip) - ip_to_u128(self.network))
    }
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Serialize for IfaceAddr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// An address configured on an interface: host address plus prefix length
/// (`192.168.0.2/24`), as `ip addr` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IfaceAddr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IfaceAddr {
    /// Parses `addr/len` (or a bare address, taken as a host route).
    pub fn parse(s: &str) -> Option<IfaceAddr> {
        match s.split_once('/') {
            Some((addr, len)) => {
                let addr = parse_ip_sloppy(addr.trim())?;
                let prefix: u8 = len.trim().parse().ok()?;
                (prefix <= max_prefix(IpFamily::of(addr))).then_some(IfaceAddr { addr, prefix })
            }
            None => {
                let addr = parse_ip_sloppy(s.trim())?;
                Some(IfaceAddr { addr, prefix: max_prefix(IpFamily::of(addr)) })
            }
        }
    }

    /// The connected network of this address.
    pub fn network(&self) -> Cidr {
        Cidr::new(self.addr, self.prefix).unwrap_or_else(|| Cidr::host(self.addr))
    }
}

impl fmt::Display for IfaceAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn max_prefix(family: IpFamily) -> u8 {
    match family {
        IpFamily::V4 => 32,
        IpFamily::V6 => 128,
    }
}

fn ip_to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let m = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            IpAddr::V4(Ipv4Addr::from(u32::from(a) & m))
        }
        IpAddr::V6(a) => {
            let m = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
            IpAddr::V6(Ipv6Addr::from(u128::from(a) & m))
        }
    }
}

/// A transport protocol of a Service port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Protocol {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
    #[serde(rename = "SCTP")]
    Sctp,
}

impl Protocol {
    /// Parses the Kubernetes spelling (`TCP`, `UDP`, `SCTP`).
    pub fn from_k8s(s: &str) -> Option<Protocol> {
        match s {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    /// `TCP`, `UDP`, `SCTP`.
    pub fn as_k8s(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    /// The IP protocol number (`6`, `17`, `132`): how `iptables-save` prints some modules'
    /// protocol options.
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    /// `tcp`, `udp`, `sctp`: how rules spell it.
    pub fn as_lower(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_k8s())
    }
}

/// `ip:port`, with IPv6 addresses bracketed (`[fd00::1]:80`), as kube-proxy writes endpoints.
pub fn join_host_port(ip: IpAddr, port: u16) -> String {
    let mut out = String::with_capacity(24);
    let _ = write_host_port(&mut out, ip, port);
    out
}

/// Writes `ip:port` / `[ip6]:port` (see [`join_host_port`]).
pub(crate) fn write_host_port<W: fmt::Write + ?Sized>(
    w: &mut W,
    ip: IpAddr,
    port: u16,
) -> fmt::Result {
    if ip.is_ipv6() {
        w.write_char('[')?;
        write_ip(w, ip)?;
        w.write_char(']')?;
    } else {
        write_ip(w, ip)?;
    }
    w.write_char(':')?;
    write_decimal(w, u32::from(port))
}

/// Writes an address exactly as its `Display` does; IPv4 digit by digit, without the
/// formatting machinery (rule texts write hundreds of thousands of addresses).
pub(crate) fn write_ip<W: fmt::Write + ?Sized>(w: &mut W, ip: IpAddr) -> fmt::Result {
    match ip {
        IpAddr::V4(a) => {
            let [a, b, c, d] = a.octets();
            write_decimal(w, u32::from(a))?;
            w.write_char('.')?;
            write_decimal(w, u32::from(b))?;
            w.write_char('.')?;
            write_decimal(w, u32::from(c))?;
            w.write_char('.')?;
            write_decimal(w, u32::from(d))
        }
        IpAddr::V6(a) => write!(w, "{a}"),
    }
}

/// `000001002…999`: every number below 1000 in three digits, so that writing one is slicing
/// this text (rule texts write millions of octets and ports).
const THREE_DIGITS: &str = {
    const BYTES: [u8; 3000] = {
        let mut b = [0; 3000];
        let mut n = 0;
        while n < 1000 {
            b[3 * n] = b'0' + (n / 100) as u8;
            b[3 * n + 1] = b'0' + (n / 10 % 10) as u8;
            b[3 * n + 2] = b'0' + (n % 10) as u8;
            n += 1;
        }
        b
    };
    match std::str::from_utf8(&BYTES) {
        Ok(s) => s,
        Err(_) => panic!("digits are ASCII"),
    }
};

/// Writes a number in decimal, as its `Display` does.
pub(crate) fn write_decimal<W: fmt::Write + ?Sized>(w: &mut W, n: u32) -> fmt::Result {
    let low = (n % 1000) as usize;
    let digits = &THREE_DIGITS[3 * low..3 * low + 3];
    if n < 1000 {
        let skip = if low < 10 {
            2
        } else if low < 100 {
            1
        } else {
            0
        };
        return w.write_str(&digits[skip..]);
    }
    write_decimal(w, n / 1000)?;
    w.write_str(digits)
}

/// Splits `ip:port` / `[ip6]:port`.
pub fn split_host_port(s: &str) -> Option<(IpAddr, u16)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, port) = rest.split_once("]:")?;
        return Some((IpAddr::V6(ip.parse().ok()?), port.parse().ok()?));
    }
    let (ip, port) = s.rsplit_once(':')?;
    Some((IpAddr::V4(parse_ipv4_sloppy(ip)?), port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_written_as_display_writes_them() {
        for n in (0..20_000).chain([65_535, 99_999, 100_000, 1_000_000, 1_000_001, u32::MAX]) {
            let mut s = String::new();
            write_decimal(&mut s, n).unwrap();
            assert_eq!(s, n.to_string());
        }
    }

    #[test]
    fn sloppy_ipv4_reads_leading_zeros_as_decimal() {
        assert_eq!(parse_ip_sloppy("172.30.0.041"), Some("172.30.0.41".parse().unwrap()));
        assert_eq!(parse_ip_sloppy("10.180.00.001"), Some("10.180.0.1".parse().unwrap()));
        assert_eq!(parse_ip_sloppy("1.2.3.256"), None);
        assert_eq!(parse_ip_sloppy("1.2.3"), None);
        assert!(!is_strict_ip("172.30.0.041"));
    }

    #[test]
    fn cidr_parse_masks_and_normalises() {
        let c = Cidr::parse_sloppy("203.0.113.000/025").unwrap();
        assert_eq!(c.to_string(), "203.0.113.0/25");
        assert!(c.contains("203.0.113.7".parse().unwrap()));
        assert!(!c.contains("203.0.113.200".parse().unwrap()));
        assert_eq!(Cidr::parse_strict("10.0.0.1/8"), None);
        assert_eq!(
            Cidr::parse_sloppy("10.96.0.0/12").unwrap().nth(10).unwrap().to_string(),
            "10.96.0.10"
        );
        assert_eq!(Cidr::parse_sloppy("fd00::/64").unwrap().to_string(), "fd00::/64");
    }

    #[test]
    fn host_port_round_trip() {
        let v6: IpAddr = "fd00:10:180::2:1".parse().unwrap();
        assert_eq!(join_host_port(v6, 80), "[fd00:10:180::2:1]:80");
        assert_eq!(split_host_port("[fd00:10:180::2:1]:80"), Some((v6, 80)));
        assert_eq!(split_host_port("10.0.0.1:53"), Some(("10.0.0.1".parse().unwrap(), 53)));
    }
}
