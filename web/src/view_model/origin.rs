//! Badges for values the user did not write: defaulted by the API server, allocated by an
//! allocator or the scheduler, or derived from other values. Each says who filled it in.
//!
//! Not responsible for deciding what was filled in: the core marks every value with its
//! [`Origin`].

use kpsim::model::{Marked, Origin};

/// The field a value belongs to: decides the tooltip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    ServiceType,
    ClusterIp,
    Protocol,
    TargetPort,
    NodePort,
    HealthCheckNodePort,
    TrafficPolicy,
    SessionAffinity,
    PodIp,
    NodeName,
    Ready,
    Phase,
    PodCidr,
}

/// A small label beside a value, with a tooltip saying who filled it in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    /// `default`, `allocated`, `derived`.
    pub label: &'static str,
    pub tooltip: String,
    /// CSS class: `badge-defaulted`, `badge-allocated`, `badge-derived`.
    pub class: &'static str,
}

/// A value as text with its badge (none when the user wrote it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Valued {
    pub text: String,
    pub badge: Option<Badge>,
}

impl Valued {
    /// A value written in the input (or one that needs no badge).
    pub fn plain(text: impl Into<String>) -> Valued {
        Valued { text: text.into(), badge: None }
    }

    /// A marked value, shown with `show`.
    pub fn of<T>(marked: &Marked<T>, field: Field, show: impl FnOnce(&T) -> String) -> Valued {
        Valued { text: show(&marked.value), badge: badge(field, marked.origin) }
    }
}

/// The badge for a value of `field` that came from `origin`; `None` for given values.
pub fn badge(field: Field, origin: Origin) -> Option<Badge> {
    let (label, class) = match origin {
        Origin::Given => return None,
        Origin::Defaulted => ("default", "badge-defaulted"),
        Origin::Allocated => ("allocated", "badge-allocated"),
        Origin::Derived => ("derived", "badge-derived"),
    };
    let tooltip = match (field, origin) {
        (Field::ClusterIp, Origin::Allocated) => {
            "allocated by the API server from the service CIDR"
        }
        (Field::NodePort | Field::HealthCheckNodePort, Origin::Allocated) => {
            "allocated by the API server from the node port range 30000-32767"
        }
        (Field::PodIp, Origin::Allocated) => {
            "assigned by the CNI from the pod CIDR of the pod's node"
        }
        (Field::PodIp, Origin::Derived) => "the node's IP: the pod uses the host network",
        (Field::NodeName, Origin::Allocated) => "chosen by the scheduler",
        (Field::NodeName, _) => "the node whose pod CIDR holds the pod IP",
        (Field::PodCidr, Origin::Allocated) => {
            "allocated by the node IPAM controller from the cluster CIDR"
        }
        (Field::Ready, _) => "assumed: the pod has no status, so it is taken as running and ready",
        (Field::Phase, _) => "assumed: the pod has no status, so it is taken as running",
        (Field::TargetPort, Origin::Derived) => "resolved from the pod's named container port",
        (Field::TargetPort, _) => "defaulted by the API server to the Service port",
        (Field::Protocol, _) => "defaulted by the API server to TCP",
        (Field::ServiceType, _) => "defaulted by the API server to ClusterIP",
        (Field::TrafficPolicy, _) => "defaulted by the API server to Cluster",
        (Field::SessionAffinity, _) => "defaulted by the API server to None",
        (_, Origin::Derived) => "derived from other values",
        (_, _) => "defaulted by the API server",
    };
    Some(Badge { label, tooltip: tooltip.to_owned(), class })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_values_have_no_badge() {
        assert_eq!(badge(Field::ClusterIp, Origin::Given), None);
        assert_eq!(Valued::of(&Marked::given(80u16), Field::NodePort, u16::to_string).badge, None);
    }

    #[test]
    fn an_allocated_cluster_ip_says_the_api_server_allocated_it() {
        let b = badge(Field::ClusterIp, Origin::Allocated).expect("badge");
        assert_eq!(b.label, "allocated");
        assert_eq!(b.class, "badge-allocated");
        assert!(b.tooltip.starts_with("allocated by the API server"), "{}", b.tooltip);
    }

    #[test]
    fn defaulted_and_derived_values_say_so() {
        let b = badge(Field::Protocol, Origin::Defaulted).expect("badge");
        assert_eq!(
            (b.label, b.tooltip.as_str()),
            ("default", "defaulted by the API server to TCP")
        );
        let v = Valued::of(&Marked::derived(true), Field::Ready, |r| r.to_string());
        assert_eq!(v.text, "true");
        assert_eq!(v.badge.map(|b| b.label), Some("derived"));
    }
}
