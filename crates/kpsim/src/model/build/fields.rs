//! Reading single field values (addresses, prefixes, ports, protocols) with a located
//! diagnostic for every value that cannot be used as written.
//!
//! Knows nothing about which object a field belongs to beyond the [`Object`] it locates in.

use std::net::IpAddr;

use crate::diagnostic::{Diagnostic, DiagnosticKind, Location, Severity};
use crate::manifest::{Manifests, Object};
use crate::model::{Marked, SourceSpan};
use crate::net::{Cidr, Protocol, is_strict_ip, parse_ip_sloppy};

/// Default `sessionAffinityConfig.clientIP.timeoutSeconds`.
pub const DEFAULT_AFFINITY_TIMEOUT: u32 = 10800;

/// Collects diagnostics for one object, locating field paths in its document.
pub(crate) struct ObjectDiagnostics<'a> {
    pub manifests: &'a Manifests,
    pub object: &'a Object,
    pub out: &'a mut Vec<Diagnostic>,
}

impl ObjectDiagnostics<'_> {
    pub fn location(&self, path: &str) -> Location {
        self.manifests.locate(self.object, path)
    }

    pub fn push(&mut self, diagnostic: Diagnostic, path: &str) {
        let location = self.location(path);
        let d = diagnostic
            .at(location)
            .on(self.object.resource.object_ref())
            .field(self.object.field_path(path));
        self.out.push(d);
    }

    pub fn span(&self) -> SourceSpan {
        SourceSpan {
            document: Some(self.object.location.document),
            line: self.object.location.line,
        }
    }

    /// Parses an address sloppily, warning when only the sloppy reading accepts it and
    /// erroring when nothing does.
    pub fn ip(&mut self, s: &str, path: &str) -> Option<IpAddr> {
        match parse_ip_sloppy(s) {
            Some(ip) if is_strict_ip(s) => Some(ip),
            Some(ip) => {
                self.push(
                    Diagnostic::warning(
                        DiagnosticKind::InvalidAddress,
                        format!("`{s}` is not a canonical IP (leading zeros); kube-proxy reads it as {ip}"),
                    )
                    .hint(format!("write {ip}; an API server rejects the leading zeros")),
                    path,
                );
                Some(ip)
            }
            None => {
                self.push(
                    Diagnostic::error(
                        DiagnosticKind::InvalidAddress,
                        format!("`{s}` is not an IP address"),
                    )
                    .hint("write an IPv4 (10.96.0.10) or IPv6 (fd00::a) address"),
                    path,
                );
                None
            }
        }
    }

    /// Parses a CIDR sloppily (after trimming whitespace, as kube-proxy does for source
    /// ranges), warning when the text is not canonical.
    pub fn cidr(&mut self, s: &str, path: &str) -> Option<Cidr> {
        let trimmed = s.trim();
        match Cidr::parse_sloppy(trimmed) {
            Some(c) if Cidr::parse_strict(trimmed) == Some(c) && trimmed == s => Some(c),
            Some(c) => {
                self.push(
                    Diagnostic::warning(
                        DiagnosticKind::InvalidAddress,
                        format!("`{s}` is not a canonical CIDR; it is read as {c}"),
                    )
                    .hint(format!("write {c}")),
                    path,
                );
                Some(c)
            }
            None => {
                self.push(
                    Diagnostic::error(
                        DiagnosticKind::InvalidAddress,
                        format!("`{s}` is not a CIDR"),
                    )
                    .hint("write an address and prefix length, like 203.0.113.0/24"),
                    path,
                );
                None
            }
        }
    }

    /// An entry of a list kube-proxy filters one by one (`externalIPs`,
    /// `loadBalancerSourceRanges`, ingress IPs). Through an API server an unparsable entry
    /// rejects the object (an error); taken as given, kube-proxy skips just that entry and
    /// goes on, so it is a warning saying so.
    pub fn list_entry<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Option<T>,
        as_given: bool,
    ) -> Option<T> {
        let before = self.out.len();
        let value = read(self);
        if value.is_none() && as_given {
            for d in &mut self.out[before..] {
                if d.severity == Severity::Error {
                    d.severity = Severity::Warning;
                    d.message.push_str("; kube-proxy skips this entry");
                }
            }
        }
        value
    }

    /// A port number 1..=65535.
    pub fn port(&mut self, value: i32, path: &str) -> Option<u16> {
        match u16::try_from(value) {
            Ok(p) if p > 0 => Some(p),
            _ => {
                self.push(
                    Diagnostic::error(
                        DiagnosticKind::InvalidValue,
                        format!("port {value} is outside 1-65535"),
                    )
                    .hint("use a port number between 1 and 65535"),
                    path,
                );
                None
            }
        }
    }

    pub fn protocol(&mut self, value: Option<&str>, path: &str) -> Marked<Protocol> {
        match value {
            None => Marked::defaulted(Protocol::Tcp),
            Some(s) => match Protocol::from_k8s(s) {
                Some(p) => Marked::given(p),
                None => {
                    self.push(
                        Diagnostic::error(
                            DiagnosticKind::InvalidValue,
                            format!("protocol `{s}` is not one of TCP, UDP, SCTP; TCP is used"),
                        )
                        .hint("write TCP, UDP or SCTP in capitals"),
                        path,
                    );
                    Marked::defaulted(Protocol::Tcp)
                }
            },
        }
    }
}
