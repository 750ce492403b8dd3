//! The virtual servers as `ipvsadm -Ln` lists them, after the layout of spec ipvs §9.
//!
//! That layout is *illustrative* in the spec (no kernel with `ip_vs` was available to print
//! one), and so is this view:
//! - services are sorted by address, port and protocol, and real servers by address and
//!   port — the kernel lists them in its own (hash) order;
//! - `ActiveConn`/`InActConn` are 0: no connection has been simulated;
//! - trailing spaces are trimmed, as in the spec's example;
//! - kube-proxy's "source hash" flag (0x10, the kernel's second scheduler flag) is shown
//!   the way `ipvsadm` names that flag for the scheduler, in parentheses before
//!   `persistent`: `mh (mh-port)` (`sh-port` for `sh`, `flag-2` for the others).

use std::fmt;
use std::net::IpAddr;

use super::ruleset::{ServiceFlags, VirtualServer};
use crate::settings::Scheduler;

/// `ipvsadm -Ln` of a list of virtual servers.
#[derive(Debug, Clone, Copy)]
pub struct Ipvsadm<'a>(pub &'a [VirtualServer]);

fn host_port(ip: IpAddr, port: u16) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

impl fmt::Display for Ipvsadm<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "IP Virtual Server version 1.2.1 (size=4096)")?;
        writeln!(f, "Prot LocalAddress:Port Scheduler Flags")?;
        writeln!(f, "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn")?;
        for vs in self.0 {
            let mut line = format!(
                "{:<4} {} {}",
                vs.protocol.as_k8s(),
                host_port(vs.address, vs.port),
                vs.scheduler
            );
            if vs.flags.contains(ServiceFlags::SOURCE_HASH) {
                let name = match vs.scheduler {
                    Scheduler::Mh => "mh-port",
                    Scheduler::Sh => "sh-port",
                    _ => "flag-2",
                };
                line.push_str(&format!(" ({name})"));
            }
            if vs.flags.contains(ServiceFlags::PERSISTENT) {
                line.push_str(&format!(" persistent {}", vs.timeout));
            }
            writeln!(f, "{line}")?;
            for rs in &vs.real_servers {
                let line = format!(
                    "  -> {:<28} {:<7} {:<6} {:<10} {}",
                    host_port(rs.address, rs.port),
                    "Masq",
                    rs.weight,
                    0,
                    0
                );
                writeln!(f, "{}", line.trim_end())?;
            }
        }
        Ok(())
    }
}
