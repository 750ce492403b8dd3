//! Properties of the iptables backend and tracer over arbitrary rulesets and inputs:
//! reading the restore text back gives the same typed ruleset; the `iptables-save` spelling
//! is a fixed point of read + save; the tracer never panics, whatever the rules (loops,
//! dangling jumps, random matches); the rendering does not depend on the order of the input.

use std::net::IpAddr;

use kpsim::backend::iptables::{
    self, AddrTypeSpec, Address, ChainName, CtState, MarkOp, Match, PortRange, ProtocolName,
    Recent, RecentAction, Rule, Ruleset, Statistic, TableName, Target,
};
use kpsim::net::{Cidr, IpFamily};
use kpsim::sim::{Choices, Packet, PacketProtocol};
use proptest::prelude::*;

const CHAINS: &[&str] = &[
    "INPUT",
    "FORWARD",
    "OUTPUT",
    "PREROUTING",
    "POSTROUTING",
    "KUBE-SERVICES",
    "KUBE-NODEPORTS",
    "KUBE-MARK-MASQ",
    "KUBE-SVC-AAAA",
    "KUBE-SEP-BBBB",
    "OTHER",
];

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        (0u8..4, 0u8..4).prop_map(|(a, b)| IpAddr::from([10, 0, a, b])),
        (0u8..4).prop_map(|a| IpAddr::from([192, 168, 0, a])),
        (0u16..4).prop_map(|a| IpAddr::from([0xfd00, 0, 0, 0, 0, 0, 0, a])),
    ]
}

fn address() -> impl Strategy<Value = Address> {
    prop_oneof![
        ip().prop_map(Address::host),
        (ip(), 0u8..=32).prop_map(|(ip, len)| {
            let len = if ip.is_ipv4() { len } else { len * 4 };
            Address::network(Cidr::new(ip, len).unwrap_or(Cidr::host(ip)))
        }),
    ]
}

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_.:/-]{0,8}"
}

fn comment() -> impl Strategy<Value = String> {
    prop_oneof![word(), "[ -~]{0,20}".prop_map(|s| s.to_string())]
}

fn ports() -> impl Strategy<Value = PortRange> {
    (1u16..100, 0u16..3).prop_map(|(a, d)| PortRange { first: a, last: a + d })
}

fn mark() -> impl Strategy<Value = String> {
    (any::<u16>(), proptest::option::of(any::<u16>())).prop_map(|(v, m)| match m {
        Some(m) => format!("0x{v:x}/0x{m:x}"),
        None => format!("0x{v:x}"),
    })
}

fn a_match() -> impl Strategy<Value = Match> {
    let proto = prop_oneof![Just("tcp"), Just("udp"), Just("sctp"), Just("icmp")];
    prop_oneof![
        (any::<bool>(), proto.clone())
            .prop_map(|(negated, p)| Match::Protocol { negated, protocol: ProtocolName::parse(p) }),
        (any::<bool>(), address())
            .prop_map(|(negated, address)| Match::Source { negated, address }),
        (any::<bool>(), address())
            .prop_map(|(negated, address)| Match::Destination { negated, address }),
        (any::<bool>(), "[a-z]{2,4}[0-9+]?")
            .prop_map(|(negated, name)| Match::InInterface { negated, name }),
        (any::<bool>(), "[a-z]{2,4}[0-9+]?")
            .prop_map(|(negated, name)| Match::OutInterface { negated, name }),
        prop_oneof![Just("tcp"), Just("udp"), Just("sctp")]
            .prop_map(|p| Match::PortModule { module: ProtocolName::parse(p) }),
        (any::<bool>(), ports())
            .prop_map(|(negated, ports)| Match::DestinationPort { negated, ports }),
        (any::<bool>(), ports()).prop_map(|(negated, ports)| Match::SourcePort { negated, ports }),
        comment().prop_map(|text| Match::Comment { text: text.into() }),
        (any::<bool>(), any::<bool>(), 0usize..3).prop_map(|(n1, n2, which)| {
            let spec =
                |negated| Some(Box::new(AddrTypeSpec { negated, types: vec!["LOCAL".into()] }));
            match which {
                0 => Match::AddrType { source: spec(n1), destination: None },
                1 => Match::AddrType { source: None, destination: spec(n2) },
                _ => Match::AddrType { source: spec(n1), destination: spec(n2) },
            }
        }),
        (
            any::<bool>(),
            proptest::sample::subsequence(
                vec![
                    CtState::Invalid,
                    CtState::New,
                    CtState::Related,
                    CtState::Established,
                    CtState::Dnat
                ],
                1..3
            )
        )
            .prop_map(|(negated, states)| Match::Conntrack { negated, states }),
        (any::<bool>(), mark()).prop_map(|(negated, mark)| Match::Mark { negated, mark }),
        (any::<bool>(), 0usize..4, proptest::option::of(1u32..20000), any::<bool>()).prop_map(
            |(negated, a, seconds, reap)| Match::Recent(Box::new(Recent {
                name: Some("KUBE-SEP-BBBB".into()),
                action: [
                    RecentAction::Set,
                    RecentAction::Rcheck,
                    RecentAction::Update,
                    RecentAction::Remove
                ][a],
                negated,
                seconds,
                hitcount: None,
                rttl: false,
                reap,
                mask: None,
                rsource: None,
            }))
        ),
        (1usize..10).prop_map(|n| Match::Statistic(Statistic::Random {
            negated: false,
            probability: iptables::probability(n).into(),
        })),
        (any::<bool>(), 1u32..5, 0u32..3).prop_map(|(negated, every, packet)| {
            Match::Statistic(Statistic::Nth { negated, every, packet })
        }),
        word().prop_map(|name| Match::Nfacct { name }),
        (
            prop_oneof![Just("multiport"), Just("limit"), Just("physdev")],
            proptest::collection::vec("[a-z0-9,]{1,5}", 0..3)
        )
            .prop_map(|(name, args)| Match::Module { name: name.into(), args: args.into() }),
        (
            any::<bool>(),
            prop_oneof![Just("syn"), Just("tcp-flags")],
            proptest::collection::vec("[A-Z,]{1,6}", 0..2)
        )
            .prop_map(|(negated, name, values)| Match::Option {
                negated,
                name: name.into(),
                values: values.into()
            }),
    ]
}

fn a_target() -> impl Strategy<Value = Option<Target>> {
    let chain = proptest::sample::select(CHAINS.to_vec()).prop_map(ChainName::from_static);
    proptest::option::of(prop_oneof![
        Just(Target::Accept),
        Just(Target::Drop),
        Just(Target::Return),
        proptest::option::of(Just("icmp-port-unreachable".to_owned()))
            .prop_map(|with| Target::Reject { with }),
        chain.clone().prop_map(|chain| Target::Jump { chain }),
        chain.prop_map(|chain| Target::Goto { chain }),
        (ip(), proptest::option::of(1u16..100)).prop_map(|(ip, port)| Target::Dnat { ip, port }),
        any::<bool>().prop_map(|random_fully| Target::Masquerade { random_fully, to_ports: None }),
        (0usize..5, any::<u16>()).prop_map(|(k, v)| {
            let v = format!("0x{v:x}");
            Target::Mark(match k {
                0 => MarkOp::Or(v),
                1 => MarkOp::Xor(v),
                2 => MarkOp::And(v),
                3 => MarkOp::Set(v),
                _ => MarkOp::SetX(v),
            })
        }),
        proptest::collection::vec("[a-z0-9-]{1,5}", 1..3)
            .prop_map(|args| Target::Other { name: "LOG".into(), args }),
    ])
}

fn a_ruleset() -> impl Strategy<Value = Ruleset> {
    // An unknown module's options and a following unknown option read the same
    // (`-m multiport --syn`): the text cannot tell them apart, so that pair is not generated.
    let matches =
        proptest::collection::vec(a_match(), 0..5).prop_filter("module then option", |m| {
            !m.windows(2)
                .any(|w| matches!((&w[0], &w[1]), (Match::Module { .. }, Match::Option { .. })))
        });
    let rule = (matches, a_target()).prop_map(|(m, t)| Rule::new(m, t));
    let chain = (
        proptest::sample::select(CHAINS.to_vec()).prop_map(ChainName::from_static),
        any::<bool>(),
        proptest::collection::vec(rule, 0..5),
    );
    let table = (
        prop_oneof![Just(TableName::Filter), Just(TableName::Nat), Just(TableName::Mangle)],
        proptest::collection::vec(chain, 0..6),
    );
    (any::<bool>(), proptest::collection::vec(table, 1..3)).prop_map(|(v6, tables)| {
        let mut rs = Ruleset::new(if v6 { IpFamily::V6 } else { IpFamily::V4 });
        for (name, chains) in tables {
            let t = rs.table_mut(name);
            for (chain, declared, rules) in chains {
                // A chain that is neither declared nor used has no text to come back from.
                if declared || rules.is_empty() {
                    t.declare(chain);
                }
                for r in rules {
                    t.append(chain, r);
                }
            }
        }
        rs
    })
}

fn a_packet() -> impl Strategy<Value = Packet> {
    let proto = prop_oneof![
        Just(PacketProtocol::Tcp),
        Just(PacketProtocol::Udp),
        Just(PacketProtocol::Sctp),
        Just(PacketProtocol::Icmp)
    ];
    (ip(), ip(), proto, 1u16..100)
        .prop_map(|(s, d, p, port)| Packet::new(s, d, p, p.transport().map(|_| port)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn reading_the_restore_text_gives_back_the_same_ruleset(rs in a_ruleset()) {
        let text = rs.to_string();
        let (back, diags) = iptables::parse(&text, rs.family);
        prop_assert!(diags.is_empty(), "{diags:?}\n{text}");
        prop_assert_eq!(back, rs, "{}", text);
    }

    #[test]
    fn the_save_spelling_reads_back_to_itself(rs in a_ruleset()) {
        let saved = rs.save().to_string();
        let (back, diags) = iptables::parse(&saved, rs.family);
        prop_assert!(diags.is_empty(), "{diags:?}\n{saved}");
        prop_assert_eq!(back.save().to_string(), saved);
    }

    #[test]
    fn the_tracer_never_panics(rs in a_ruleset(), packet in a_packet(), seed in any::<u64>()) {
        let settings = kpsim::settings::ProxySettings::for_node(
            &Default::default(), "n", kpsim::settings::Mode::Iptables, rs.family);
        for choices in [Choices::AllBranches, Choices::Seed(seed)] {
            let trace = kpsim::sim::iptables::trace(&rs, &settings, packet, choices);
            prop_assert!(!trace.paths.is_empty());
            let _ = trace.flow_output();
        }
    }
}

/// Shuffles the documents of a multi-document YAML text.
fn documents(text: &str) -> Vec<String> {
    text.split("\n---\n").map(|d| d.to_owned()).filter(|d| d.contains("kind:")).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn rendering_does_not_depend_on_input_order(order in Just(()).prop_perturb(|_, mut rng| rng.random::<u64>())) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/oracle/iptables");
        for case in ["TestOverallIPTablesRules", "TestClusterIPGeneral", "TestExternalTrafficPolicyLocal", "TestInternalExternalMasquerade/01-base"] {
            let dir = root.join(case);
            let text = std::fs::read_to_string(dir.join("input.yaml")).unwrap_or_default();
            let settings_text = std::fs::read_to_string(dir.join("settings.yaml")).unwrap_or_default();
            let render = |t: &str| {
                let m = kpsim::manifest::parse(t);
                let (cluster, _) = kpsim::model::build::build(&m, kpsim::model::Admission::AsGiven);
                let (file, _) = kpsim::settings::parse_settings_file(&settings_text);
                let settings = file.resolve(&cluster, &mut Vec::new());
                iptables::build(&kpsim::proxy::plan(&cluster, &settings)).to_string()
            };
            let mut docs = documents(&text);
            // A deterministic shuffle from the drawn number.
            let mut state = order;
            for i in (1..docs.len()).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let j = (state >> 33) as usize % (i + 1);
                docs.swap(i, j);
            }
            let shuffled = docs.join("\n---\n");
            prop_assert_eq!(render(&shuffled), render(&text), "{}", case);
        }
    }
}
