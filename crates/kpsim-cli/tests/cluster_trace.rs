//! `kpsim trace` across the cluster, run as a user runs it: the walkthrough's experiments
//! through the real binary, their JSON contract (`outcome`, `delivered_to`, `hops`, the first
//! node pass's `verdict`/`destinations`/`masquerade`/`steps`), the story in text, and the
//! node-level form still chosen for two IPs.

use std::path::Path;
use std::process::Command;

fn walkthrough() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../kpsim/tests/data/examples/kube-proxy.yaml")
        .display()
        .to_string()
}

/// Runs `kpsim` and returns (stdout, stderr, exit code).
fn kpsim(args: &[&str]) -> (String, String, i32) {
    let out = Command::new(env!("CARGO_BIN_EXE_kpsim")).args(args).output().expect("kpsim runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// `kpsim trace … --output json <walkthrough>`, parsed.
fn trace_json(args: &[&str]) -> serde_json::Value {
    let file = walkthrough();
    let mut all = vec!["trace"];
    all.extend_from_slice(args);
    all.extend(["--output", "json", &file]);
    let (out, err, code) = kpsim(&all);
    assert_eq!(code, 0, "{all:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{all:?}: {e}\n{out}"))
}

fn outcome(v: &serde_json::Value) -> &str {
    v["outcome"].as_str().unwrap_or_default()
}

#[test]
fn curl_from_pod_client_to_the_service_is_delivered_to_a_server_pod_in_both_modes() {
    for mode in ["iptables", "nftables"] {
        for to in ["service:8080", "svc/default/service", "service.default.svc.cluster.local:8080"]
        {
            let v = trace_json(&["--from", "pod-client", "--to", to, "--mode", mode]);
            assert_eq!(outcome(&v), "delivered", "{mode} {to}");
            let to_pod = v["delivered_to"].as_str().unwrap_or_default();
            assert!(to_pod.starts_with("default/server-pod-"), "{mode} {to}: {to_pod}");
            assert_eq!(v["verdict"], "dnat", "{mode} {to}: the first node pass DNATs");
            assert_eq!(v["masquerade"], false, "{mode} {to}");
            let hops = v["hops"].as_array().expect("hops");
            let last = hops.last().expect("a hop");
            assert_eq!(last["kind"], "receive");
            assert_eq!(last["after"]["src"], "10.100.253.115", "{mode}: reply from the ClusterIP");
            assert!(v["steps"].as_array().is_some_and(|s| !s.is_empty()));
        }
    }
}

#[test]
fn seeds_pick_endpoints_and_all_branches_lists_both() {
    let v = trace_json(&["--from", "pod-client", "--to", "service", "--all-branches"]);
    let mut got: Vec<&str> = v["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .map(|f| f["delivered_to"].as_str().unwrap_or_default())
        .collect();
    got.sort();
    assert_eq!(got, ["default/server-pod-1", "default/server-pod-2"]);
    let seeds: Vec<String> = (0..8)
        .map(|s| {
            let v =
                trace_json(&["--from", "pod-client", "--to", "service", "--seed", &s.to_string()]);
            v["delivered_to"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert!(seeds.iter().any(|d| d.ends_with("-1")) && seeds.iter().any(|d| d.ends_with("-2")));
}

#[test]
fn without_kube_proxy_the_service_times_out_but_pod_to_pod_is_delivered() {
    for switch in [&["--no-kube-proxy"][..], &["--no-kube-proxy-on", "minikube"][..]] {
        for mode in ["iptables", "nftables"] {
            let mut args =
                vec!["--from", "pod-client", "--to", "10.100.253.115:8080", "--mode", mode];
            args.extend_from_slice(switch);
            let v = trace_json(&args);
            assert_eq!(outcome(&v), "timeout", "{switch:?} {mode}");
            assert_eq!(v["delivered_to"], serde_json::Value::Null);
            let mut args =
                vec!["--from", "pod-client", "--to", "pod/server-pod-2:80", "--mode", mode];
            args.extend_from_slice(switch);
            let v = trace_json(&args);
            assert_eq!(outcome(&v), "delivered", "{switch:?} {mode}");
            assert_eq!(v["delivered_to"], "default/server-pod-2");
        }
    }
}

#[test]
fn pinging_the_cluster_ip_times_out_with_iptables_and_is_refused_with_nftables() {
    let args = ["--from", "pod-client", "--to", "service", "--proto", "icmp", "--mode"];
    let mut ipt = args.to_vec();
    ipt.push("iptables");
    assert_eq!(outcome(&trace_json(&ipt)), "timeout");
    let mut nft = args.to_vec();
    nft.push("nftables");
    let v = trace_json(&nft);
    assert_eq!(outcome(&v), "refused");
    assert_eq!(v["verdict"], "reject");
}

#[test]
fn the_text_output_tells_the_story_hop_by_hop() {
    let file = walkthrough();
    let (out, err, code) =
        kpsim(&["trace", "--from", "default/pod-client", "--to", "service:8080", &file]);
    assert_eq!(code, 0, "{err}");
    for needle in [
        "name lookup: service through cluster DNS",
        "pod-client sends a tcp SYN from 10.244.0.3:40000 to 10.100.253.115:8080",
        "DNAT 10.100.253.115:8080 → 10.244.",
        "-j DNAT --to-destination 10.244.",
        "over the node network",
        "takes it and answers",
        "(DNAT undone)",
        "pod-client gets the tcp SYN-ACK from 10.100.253.115:8080",
        "outcome: delivered to default/server-pod-",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
}

#[test]
fn connections_prints_the_distribution_over_the_server_pods() {
    let file = walkthrough();
    let (out, err, code) =
        kpsim(&["trace", "--from", "pod-client", "--to", "service", "--connections", "50", &file]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("50 connections (seeds 0 to 49)"), "{out}");
    assert!(out.contains("default/server-pod-1") && out.contains("default/server-pod-2"), "{out}");
    assert!(out.contains("outcomes: delivered 50"), "{out}");
}

#[test]
fn two_ips_keep_the_node_level_trace_and_names_ask_for_the_cluster_trace() {
    let v = trace_json(&["--from", "10.244.0.3", "--to", "10.100.253.115:8080"]);
    assert!(v.get("outcome").is_none(), "two IPs: the node-level form");
    assert_eq!(v["node"], "minikube");
    assert_eq!(v["verdict"], "dnat");
    let v = trace_json(&["--from", "10.244.0.3", "--to", "10.100.253.115:8080", "--cluster"]);
    assert_eq!(outcome(&v), "delivered", "--cluster: the cluster form");
    assert_eq!(v["source"]["name"], "default/pod-client");
}

#[test]
fn mistakes_are_reported_with_what_exists() {
    let file = walkthrough();
    let (_, err, code) = kpsim(&["trace", "--from", "nosuch", "--to", "service", &file]);
    assert_eq!(code, 1);
    assert!(err.contains("no pod or node `nosuch`") && err.contains("default/pod-client"), "{err}");
    let (_, err, code) =
        kpsim(&["trace", "--from", "pod-client", "--to", "svc/default/nope", &file]);
    assert_eq!(code, 1);
    assert!(err.contains("no Service `default/nope`"), "{err}");
    let (_, err, code) =
        kpsim(&["trace", "--from", "pod-client", "--to", "service", "--rules", "x.rules", &file]);
    assert_eq!(code, 1);
    assert!(err.contains("--rules belongs to the node-level trace"), "{err}");
    let (_, err, code) =
        kpsim(&["trace", "--from", "pod-client", "--to", "pod/server-pod-1", &file]);
    assert_eq!(code, 1);
    assert!(err.contains("needs a port"), "{err}");
}

#[test]
fn frozen_rules_not_ready_pods_and_missing_routes_are_switches() {
    let newer = std::env::temp_dir().join(format!("kpsim-cli-{}-newer.yaml", std::process::id()));
    std::fs::write(
        &newer,
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: newer\nspec:\n  selector:\n    app.kubernetes.io/name: server\n  ports:\n  - port: 9090\n    targetPort: 80\n",
    )
    .expect("write");
    let newer_s = newer.display().to_string();
    let file = walkthrough();
    let run = |extra: &[&str]| {
        let mut args = vec!["trace", "--from", "pod-client", "--output", "json"];
        args.extend_from_slice(extra);
        args.extend([file.as_str(), newer_s.as_str()]);
        let (out, err, code) = kpsim(&args);
        assert_eq!(code, 0, "{args:?}: {err}");
        serde_json::from_str::<serde_json::Value>(&out).expect("json")
    };
    assert_eq!(outcome(&run(&["--to", "svc/default/newer"])), "delivered");
    // kube-proxy stopped after syncing the walkthrough alone: it never learnt `newer`.
    let frozen = run(&["--to", "svc/default/newer", "--frozen-from", &file]);
    assert_ne!(outcome(&frozen), "delivered");
    assert_eq!(
        outcome(&run(&["--to", "svc/default/service", "--frozen-from", &file])),
        "delivered"
    );
    let one_ready = run(&["--to", "service", "--not-ready", "server-pod-1", "--seed", "3"]);
    assert_eq!(one_ready["delivered_to"], "default/server-pod-2");
    let none_ready = run(&[
        "--to",
        "service",
        "--not-ready",
        "server-pod-1",
        "--not-ready",
        "default/server-pod-2",
    ]);
    assert_eq!(outcome(&none_ready), "refused");
    let no_routes = run(&["--to", "pod/server-pod-2:80", "--no-routes-on", "minikube"]);
    assert_eq!(outcome(&no_routes), "timeout");
    let _ = std::fs::remove_file(&newer);
}
