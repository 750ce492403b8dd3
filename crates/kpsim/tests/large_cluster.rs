//! iptables large-cluster mode, on an input generated from a template (the scenario goldens
//! of every mode are in `tests/scenarios.rs`).

use std::fmt::Write as _;

use kpsim::backend::iptables::{self, Ruleset, TableName};
use kpsim::model::{Admission, Cluster};
use kpsim::net::IpFamily;
use kpsim::settings::{Mode, ProxySettings};

fn cluster_of(text: &str) -> Cluster {
    let m = kpsim::manifest::parse(text);
    kpsim::model::build::build(&m, Admission::Auto).0
}

/// `services` Services with `per_service` endpoints each, from one template.
fn generated(services: usize, per_service: usize) -> String {
    let mut s = String::new();
    for i in 0..services {
        let _ = write!(
            s,
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc{i}, namespace: big}}\nspec:\n  clusterIP: 10.96.{}.{}\n  ports: [{{name: http, port: 80, protocol: TCP}}]\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: svc{i}-1, namespace: big, labels: {{kubernetes.io/service-name: svc{i}}}}}\naddressType: IPv4\nports: [{{name: http, port: 8080, protocol: TCP}}]\nendpoints:\n",
            i / 200,
            i % 200
        );
        for e in 0..per_service {
            let _ = writeln!(s, "- addresses: [10.{}.{}.{}]", 100 + i / 200, i % 200, e);
        }
    }
    s
}

fn render(text: &str) -> Ruleset {
    let cluster = cluster_of(text);
    let mut settings = ProxySettings::for_node(&cluster, "node-a", Mode::Iptables, IpFamily::V4);
    settings.node_name = "node-a".into();
    settings.local_traffic_detector = kpsim::settings::LocalTrafficDetector::ClusterCidr(
        kpsim::net::Cidr::parse_sloppy("10.244.0.0/16").expect("cidr"),
    );
    iptables::build(&kpsim::proxy::plan(&cluster, &settings))
}

/// Lines of every KUBE-SVC/KUBE-SEP chain.
fn endpoint_rules(rs: &Ruleset) -> Vec<String> {
    let nat = rs.table(TableName::Nat).expect("nat table");
    nat.chains()
        .into_iter()
        .filter(|c| c.name.starts_with("KUBE-SVC-") || c.name.starts_with("KUBE-SEP-"))
        .flat_map(|c| c.rules.iter().map(|r| r.line(&c.name).to_string()).collect::<Vec<_>>())
        .collect()
}

#[test]
fn large_cluster_mode_drops_per_endpoint_comments_past_1000_endpoints() {
    // 10 × 100 = 1000 endpoints: not yet large.
    let small = render(&generated(10, 100));
    let rules = endpoint_rules(&small);
    assert!(rules.iter().filter(|r| r.contains("-j KUBE-SEP-")).all(|r| r.contains(" -> ")));
    assert!(rules.iter().filter(|r| r.contains("DNAT")).all(|r| r.contains("--comment big/svc")));
    // 1001 endpoints: large-cluster mode.
    let large = render(&generated(11, 91));
    let rules = endpoint_rules(&large);
    let dispatch: Vec<&String> = rules.iter().filter(|r| r.contains("-j KUBE-SEP-")).collect();
    assert_eq!(dispatch.len(), 1001);
    assert!(dispatch.iter().all(|r| !r.contains("--comment")), "{:?}", dispatch.first());
    let sep: Vec<&String> = rules.iter().filter(|r| r.starts_with("-A KUBE-SEP-")).collect();
    assert_eq!(sep.len(), 2002);
    assert!(sep.iter().all(|r| !r.contains("--comment")));
    // Service-level comments stay: the ClusterIP rules and the masquerade rules.
    let services = large.chain_lines(TableName::Nat, "KUBE-SERVICES");
    assert!(services[0].contains("--comment \"big/svc0:http cluster IP\""), "{}", services[0]);
    assert!(rules.iter().any(|r| r.contains("cluster IP\" -m tcp -p tcp -d 10.96.0.0 --dport 80")));
    // The endpoint rules are exactly kube-proxy's, minus the comment.
    assert!(sep.iter().any(|r| r.ends_with(" -s 10.100.0.0 -j KUBE-MARK-MASQ")));
    assert!(
        sep.iter().any(|r| r.ends_with(" -m tcp -p tcp -j DNAT --to-destination 10.100.0.0:8080"))
    );
}
