//! What packets experience in the nftables scenarios, checked against the spec (the golden
//! files of every scenario and mode are in `tests/scenarios.rs`).

mod support {
    pub mod nftables;
}
use support::nftables::load;

/// What the spec says packets experience in the match-all / bridge-detector scenario.
#[test]
fn match_all_node_ports_and_the_bridge_detector_behave_as_the_spec_says() {
    use kpsim::sim::{Choices, Packet, PacketProtocol, nftables as tracer};
    let dir = support::nftables::data().join("scenarios/match-all-nodeports-bridge");
    let (ruleset, settings) = load(&dir);
    let run = |src: &str, dst: &str, protocol: PacketProtocol, port: Option<u16>| {
        let p = Packet::new(src.parse().unwrap(), dst.parse().unwrap(), protocol, port);
        let t = tracer::trace(
            &ruleset,
            &settings,
            p,
            tracer::entry_for(&settings, p.src),
            Choices::AllBranches,
        );
        (t.flow_output(), t.masquerade())
    };
    let tcp = PacketProtocol::Tcp;
    // eTP=Local NodePort from outside: local endpoints only, source kept.
    assert_eq!(
        run("198.51.100.1", "10.240.0.11", tcp, Some(30080)),
        ("10.244.1.10:8080, 10.244.1.11:8080".to_owned(), false)
    );
    // From a pod behind cni0: short-circuited to every endpoint, not masqueraded.
    let (out, masq) = run("10.244.1.7", "10.240.0.11", tcp, Some(30080));
    assert_eq!((out.split(", ").count(), masq), (17, false));
    // From the node itself: every endpoint, masqueraded.
    let (out, masq) = run("10.240.0.11", "10.240.0.11", tcp, Some(30080));
    assert_eq!((out.split(", ").count(), masq), (17, true));
    // NodePorts are never served on loopback.
    assert_eq!(run("127.0.0.1", "127.0.0.1", tcp, Some(30080)), (String::new(), false));
    // ClusterIP from the node: not from cni0, so masqueraded.
    assert_eq!(
        run("10.240.0.11", "10.96.0.10", PacketProtocol::Udp, Some(53)),
        ("10.244.1.3:53, 10.244.2.3:53".to_owned(), true)
    );
    // Only terminating endpoints: they are used.
    assert_eq!(
        run("10.244.1.7", "10.96.7.7", tcp, Some(8080)),
        ("10.244.2.40:8080".to_owned(), false)
    );
    // Ping a ClusterIP: rejected; unallocated addresses of either ServiceCIDR: dropped.
    assert_eq!(run("10.244.1.7", "10.96.0.10", PacketProtocol::Icmp, None).0, "REJECT");
    assert_eq!(run("10.244.1.7", "10.96.9.9", tcp, Some(80)).0, "DROP");
    assert_eq!(run("10.244.1.7", "10.100.9.9", tcp, Some(80)).0, "DROP");
    assert_eq!(run("10.244.1.7", "10.101.9.9", tcp, Some(80)).0, "");
}
