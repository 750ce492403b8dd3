//! The match modules only kube-proxy's IPVS mode writes into its iptables skeleton: `-m set`
//! (an ipset lookup), `-m physdev --physdev-is-in` and `-m ipvs` (the IPVS connection a
//! packet belongs to), with their restore spelling.
//!
//! What a set holds is IPVS state (`backend::ipvs::IpSet`), not part of the rule: this file
//! only names the set and the packet fields looked up in it.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;

use crate::net::{Protocol, write_decimal, write_ip};

/// One packet field of a `--match-set` lookup: the `dst`/`src` of `dst,dst,src`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SetDirection {
    Src,
    Dst,
}

impl SetDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            SetDirection::Src => "src",
            SetDirection::Dst => "dst",
        }
    }

    pub fn parse(s: &str) -> Option<SetDirection> {
        match s {
            "src" => Some(SetDirection::Src),
            "dst" => Some(SetDirection::Dst),
            _ => None,
        }
    }
}

/// `-m set [!] --match-set NAME DIR[,DIR…]`: the packet's fields, taken in order
/// (address, then port, then a second address or network), are looked up in the set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SetMatch {
    pub negated: bool,
    pub name: String,
    pub directions: Vec<SetDirection>,
}

impl SetMatch {
    pub fn new(name: &str, directions: &[SetDirection]) -> SetMatch {
        SetMatch { negated: false, name: name.to_owned(), directions: directions.to_vec() }
    }

    /// `dst,dst,src`.
    pub fn directions_text(&self) -> String {
        let words: Vec<&str> = self.directions.iter().map(|d| d.as_str()).collect();
        words.join(",")
    }

    /// Reads `dst,dst,src`.
    pub fn parse_directions(s: &str) -> Option<Vec<SetDirection>> {
        s.split(',').map(SetDirection::parse).collect()
    }

    pub(crate) fn write_to<W: fmt::Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        w.write_str("-m set ")?;
        if self.negated {
            w.write_str("! ")?;
        }
        w.write_str("--match-set ")?;
        w.write_str(&self.name)?;
        w.write_char(' ')?;
        for (i, d) in self.directions.iter().enumerate() {
            if i > 0 {
                w.write_char(',')?;
            }
            w.write_str(d.as_str())?;
        }
        Ok(())
    }
}

/// `-m ipvs --vaddr ADDR --vproto PROTO --vport PORT`: the packet belongs to an IPVS
/// connection of that virtual server (kube-proxy's `KUBE-IPVS-OUT-FILTER` rules).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct IpvsMatch {
    pub vaddr: IpAddr,
    pub vproto: Protocol,
    pub vport: u16,
}

impl IpvsMatch {
    pub(crate) fn write_to<W: fmt::Write + ?Sized>(&self, w: &mut W) -> fmt::Result {
        w.write_str("-m ipvs --vaddr ")?;
        write_ip(w, self.vaddr)?;
        w.write_str(" --vproto ")?;
        w.write_str(self.vproto.as_lower())?;
        w.write_str(" --vport ")?;
        write_decimal(w, u32::from(self.vport))
    }
}

/// `-m physdev [!] --physdev-is-in`: the packet came in through a bridge port.
pub(crate) fn write_physdev_is_in<W: fmt::Write + ?Sized>(w: &mut W, negated: bool) -> fmt::Result {
    w.write_str("-m physdev ")?;
    if negated {
        w.write_str("! ")?;
    }
    w.write_str("--physdev-is-in")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_match_is_written_as_kube_proxy_writes_it() {
        let m = SetMatch::new(
            "KUBE-LOOP-BACK",
            &[SetDirection::Dst, SetDirection::Dst, SetDirection::Src],
        );
        let mut s = String::new();
        m.write_to(&mut s).unwrap();
        assert_eq!(s, "-m set --match-set KUBE-LOOP-BACK dst,dst,src");
        assert_eq!(SetMatch::parse_directions("dst,dst,src"), Some(m.directions));
    }
}
