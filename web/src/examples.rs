//! The examples gallery: manifests compiled into the page (never fetched), each with a title
//! and one sentence saying what to try.
//!
//! The walkthrough and the two-pods example are the core's (`crates/kpsim/tests/data/examples/`,
//! with goldens there); the others live in `web/examples/`, and the tests below check that
//! each reads without errors or warnings. Not responsible for reading them:
//! that is the core's job, as for anything the user types.

/// One example of the gallery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example {
    /// Stable id, saved in the state and in share links.
    pub id: &'static str,
    pub title: &'static str,
    /// One sentence: what to try with it.
    pub try_this: &'static str,
    pub text: &'static str,
}

/// A manifest of the core's examples (`crates/kpsim/tests/data/examples/`).
macro_rules! core_example {
    ($name:literal) => {
        include_str!(concat!("../../crates/kpsim/tests/data/examples/", $name))
    };
}

/// A manifest of the gallery's own (`web/examples/`).
macro_rules! gallery_example {
    ($name:literal) => {
        include_str!(concat!("../examples/", $name))
    };
}

/// The walkthrough: a client pod, two nginx pods and a ClusterIP Service. The page opens
/// with it.
pub const WALKTHROUGH: Example = Example {
    id: "walkthrough",
    title: "Walkthrough: a client, two nginx pods and a Service",
    try_this: "Trace pod-client to service:8080 with all branches to see both server pods, then switch the mode to nftables or IPVS and trace again.",
    text: core_example!("kube-proxy.yaml"),
};

/// Every example, in gallery order.
pub const ALL: [Example; 11] = [
    WALKTHROUGH,
    Example {
        id: "two-pods",
        title: "Two pods, no Service",
        try_this: "Trace from pod-1 to pod-2 with protocol icmp: no kube-proxy rule touches pod-to-pod traffic, which is the CNI's job.",
        text: core_example!("two-pods-connectivity.yaml"),
    },
    Example {
        id: "nodeport",
        title: "NodePort",
        try_this: "Trace from the external IP 192.168.49.1 to 192.168.49.2:30080 and see the packet masqueraded and sent to a pod on another node.",
        text: gallery_example!("nodeport.yaml"),
    },
    Example {
        id: "load-balancer",
        title: "LoadBalancer with source ranges",
        try_this: "Trace to 192.168.49.200:80 from 203.0.113.7 (allowed) and from 198.51.100.7 (dropped by the KUBE-FW chain).",
        text: gallery_example!("load-balancer.yaml"),
    },
    Example {
        id: "headless",
        title: "Headless Service",
        try_this: "See that the Rules panel has no chain for db, then trace pod-client to the DNS name db:5432, which answers a pod IP.",
        text: gallery_example!("headless.yaml"),
    },
    Example {
        id: "external-name",
        title: "ExternalName",
        try_this: "Trace pod-client to search:443: DNS answers a CNAME and the connection leaves the cluster without any kube-proxy rule.",
        text: gallery_example!("external-name.yaml"),
    },
    Example {
        id: "traffic-policy-local",
        title: "externalTrafficPolicy / internalTrafficPolicy Local",
        try_this: "Trace pod-client (on minikube) to internal:80: dropped, no local endpoint; then pick node minikube-m02 in Endpoints to see the one it would use.",
        text: gallery_example!("traffic-policy-local.yaml"),
    },
    Example {
        id: "session-affinity",
        title: "Session affinity (ClientIP)",
        try_this: "Open the KUBE-SEP chains in Rules to see the `recent` matches that pin a client to the server pod it first reached.",
        text: gallery_example!("session-affinity.yaml"),
    },
    Example {
        id: "not-ready-pod",
        title: "A pod that is not ready",
        try_this: "See server-pod-2 listed as not ready in Endpoints, then change its Ready status to \"True\" and watch its KUBE-SEP chain appear.",
        text: gallery_example!("not-ready-pod.yaml"),
    },
    Example {
        id: "deployment",
        title: "A Deployment",
        try_this: "Change replicas from 3 to 5 and watch the new pods get scheduled, allocated IPs and KUBE-SEP chains.",
        text: gallery_example!("deployment.yaml"),
    },
    Example {
        id: "kubectl-list",
        title: "Pasted `kubectl get pods,services -o yaml`",
        try_this: "Replace it with the output of `kubectl get pods,services -o yaml` from your own cluster.",
        text: gallery_example!("kubectl-get-list.yaml"),
    },
];

/// The example with this id.
pub fn find(id: &str) -> Option<&'static Example> {
    ALL.iter().find(|e| e.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kpsim::diagnostic::Severity;
    use kpsim::model::Admission;

    #[test]
    fn every_example_analyzes_without_errors_or_warnings() {
        for example in ALL {
            let analysis = kpsim::analyze(example.text, Admission::Auto);
            let problems: Vec<String> = analysis
                .diagnostics
                .iter()
                .filter(|d| d.severity != Severity::Info)
                .map(ToString::to_string)
                .collect();
            assert_eq!(problems, Vec::<String>::new(), "example {}", example.id);
            assert!(!analysis.cluster.pods.is_empty(), "example {} has no pod", example.id);
        }
    }

    #[test]
    fn ids_are_unique_and_found() {
        for example in ALL {
            assert_eq!(find(example.id).map(|e| e.title), Some(example.title));
            assert_eq!(ALL.iter().filter(|e| e.id == example.id).count(), 1);
        }
        assert_eq!(find("nope"), None);
    }

    #[test]
    fn every_example_says_what_to_try_in_one_sentence() {
        for example in ALL {
            let sentence = example.try_this.trim_end_matches('.');
            assert!(!sentence.is_empty(), "{}", example.id);
            assert!(example.try_this.ends_with('.'), "{}", example.id);
            assert!(!sentence.contains(". "), "{}: more than one sentence", example.id);
        }
    }
}
