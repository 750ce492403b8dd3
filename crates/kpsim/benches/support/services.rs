//! The large cluster the mode benches share: 10,000 ClusterIP services, each with one
//! EndpointSlice of 10 endpoints spread over three nodes, as YAML.

use std::fmt::Write as _;

pub const SERVICES: usize = 10_000;
pub const ENDPOINTS: usize = 10;

/// Services and their EndpointSlices, as YAML.
pub fn manifests() -> String {
    let mut s = String::new();
    for i in 0..SERVICES {
        let (a, b) = (i / 250, i % 250);
        let _ = write!(
            s,
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc{i}, namespace: ns{}}}\nspec:\n  clusterIP: 172.30.{a}.{b}\n  ports: [{{name: p80, port: 80, protocol: TCP}}]\n",
            i % 100
        );
        let _ = write!(
            s,
            "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: svc{i}-1, namespace: ns{}, labels: {{kubernetes.io/service-name: svc{i}}}}}\naddressType: IPv4\nports: [{{name: p80, port: 8080, protocol: TCP}}]\nendpoints:\n",
            i % 100
        );
        for e in 0..ENDPOINTS {
            let _ =
                writeln!(s, "- addresses: [10.{}.{}.{}]\n  nodeName: node{}", 100 + e, a, b, e % 3);
        }
    }
    s
}
