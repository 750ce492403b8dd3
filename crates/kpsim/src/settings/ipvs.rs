//! The settings only IPVS mode reads: `--ipvs-scheduler`, `--ipvs-exclude-cidrs`,
//! `--ipvs-strict-arp`, the IPv6 ipset naming, and the node addresses kube-proxy's netlink
//! handle reports. Resolved here from the settings file's `ipvs` key, with every bad value a
//! diagnostic; what they change in the rules is `backend::ipvs`'s business.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::net::Cidr;

/// `--ipvs-scheduler`: the IPVS scheduling method of every virtual server.
///
/// kube-proxy's configuration accepts the classic kernel schedulers; `mh` (Maglev hashing)
/// is accepted too because the proxier gives it a flag of its own (spec ipvs §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    /// Round robin (the default).
    #[default]
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Lblcr,
    Sh,
    Dh,
    Sed,
    Nq,
    Mh,
}

impl Scheduler {
    pub const ALL: [Scheduler; 11] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Lblcr,
        Scheduler::Sh,
        Scheduler::Dh,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Mh,
    ];

    /// Reads a scheduler name; the empty string is kube-proxy's default, `rr`.
    pub fn parse(s: &str) -> Option<Scheduler> {
        if s.is_empty() {
            return Some(Scheduler::Rr);
        }
        Scheduler::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Sh => "sh",
            Scheduler::Dh => "dh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Mh => "mh",
        }
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The resolved IPVS settings (defaults: `rr`, no exclude CIDRs, no strict ARP, IPv6 set
/// names prefixed, node addresses from the node's interfaces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpvsSettings {
    pub scheduler: Scheduler,
    /// `--ipvs-exclude-cidrs`: virtual servers inside these are never garbage-collected.
    /// Only clean-up depends on it, so it changes nothing in the state after a sync.
    pub exclude_cidrs: Vec<Cidr>,
    /// `--ipvs-strict-arp`: sysctls only (spec ipvs §8).
    pub strict_arp: bool,
    /// IPv6 ipsets are named `KUBE-6-…` (real kube-proxy); `false` reproduces the unit tests'
    /// fake, which keeps the IPv4 names.
    pub ipset_names_use_family_prefix: bool,
    /// Interface → addresses, as kube-proxy's netlink handle reports them; `None`: the
    /// addresses of `nodeInterfaces`.
    pub netlink_local_addresses: Option<BTreeMap<String, Vec<IpAddr>>>,
}

impl IpvsSettings {
    /// Every address the netlink handle reports, on any interface (none when it is unset).
    pub fn netlink_addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.netlink_local_addresses.iter().flat_map(|m| m.values()).flatten().copied()
    }
}

impl Default for IpvsSettings {
    fn default() -> IpvsSettings {
        IpvsSettings {
            scheduler: Scheduler::Rr,
            exclude_cidrs: Vec::new(),
            strict_arp: false,
            ipset_names_use_family_prefix: true,
            netlink_local_addresses: None,
        }
    }
}

/// The settings file's `ipvs` key as written: every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IpvsFile {
    pub scheduler: Option<String>,
    #[serde(rename = "excludeCIDRs")]
    pub exclude_cidrs: Option<Vec<String>>,
    #[serde(rename = "strictARP")]
    pub strict_arp: Option<bool>,
    pub ipset_names_use_family_prefix: Option<bool>,
    pub netlink_local_addresses: Option<BTreeMap<String, Vec<String>>>,
}

impl IpvsFile {
    /// Resolves the file's values over the defaults; `bad(key, value, what)` reports a value
    /// that cannot be used (the default is kept for it).
    pub fn resolve(&self, bad: &mut dyn FnMut(&str, &str, &str)) -> IpvsSettings {
        let mut s = IpvsSettings::default();
        if let Some(name) = &self.scheduler {
            match Scheduler::parse(name.trim()) {
                Some(x) => s.scheduler = x,
                None => bad(
                    "ipvs.scheduler",
                    name,
                    "an IPVS scheduler (rr, wrr, lc, wlc, lblc, lblcr, sh, dh, sed, nq, mh)",
                ),
            }
        }
        if let Some(cidrs) = &self.exclude_cidrs {
            for c in cidrs {
                match Cidr::parse_sloppy(c.trim()) {
                    Some(x) => s.exclude_cidrs.push(x),
                    None => bad("ipvs.excludeCIDRs", c, "a CIDR"),
                }
            }
        }
        if let Some(v) = self.strict_arp {
            s.strict_arp = v;
        }
        if let Some(v) = self.ipset_names_use_family_prefix {
            s.ipset_names_use_family_prefix = v;
        }
        if let Some(ifaces) = &self.netlink_local_addresses {
            let mut out = BTreeMap::new();
            for (name, addrs) in ifaces {
                let mut parsed = Vec::new();
                for a in addrs {
                    // An address, or an address with its prefix length (the length is not
                    // used: kube-proxy's netlink handle reports bare addresses).
                    let ip = a.split('/').next().and_then(crate::net::parse_ip_sloppy);
                    match ip {
                        Some(ip) => parsed.push(ip),
                        None => {
                            bad(&format!("ipvs.netlinkLocalAddresses.{name}"), a, "an IP address")
                        }
                    }
                }
                out.insert(name.clone(), parsed);
            }
            s.netlink_local_addresses = Some(out);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_scheduler_is_round_robin_and_an_unknown_one_is_reported() {
        assert_eq!(Scheduler::parse(""), Some(Scheduler::Rr));
        assert_eq!(Scheduler::parse("mh"), Some(Scheduler::Mh));
        let file = IpvsFile { scheduler: Some("fastest".into()), ..IpvsFile::default() };
        let mut reported = Vec::new();
        let s = file.resolve(&mut |k, v, _| reported.push(format!("{k}={v}")));
        assert_eq!(s.scheduler, Scheduler::Rr);
        assert_eq!(reported, ["ipvs.scheduler=fastest"]);
    }

    #[test]
    fn bad_addresses_are_reported_and_good_ones_kept() {
        let file = IpvsFile {
            netlink_local_addresses: Some(BTreeMap::from([(
                "eth0".to_owned(),
                vec!["10.0.0.1".to_owned(), "nope".to_owned(), "10.0.0.2/24".to_owned()],
            )])),
            exclude_cidrs: Some(vec!["10.0.0.0/8".into(), "x".into()]),
            ..IpvsFile::default()
        };
        let mut reported = Vec::new();
        let s = file.resolve(&mut |k, _, _| reported.push(k.to_owned()));
        assert_eq!(reported, ["ipvs.excludeCIDRs", "ipvs.netlinkLocalAddresses.eth0"]);
        let eth0 = &s.netlink_local_addresses.unwrap()["eth0"];
        assert_eq!(eth0.len(), 2);
        assert_eq!(s.exclude_cidrs.len(), 1);
    }
}
