//! Properties of the nftables backend over generated rulesets: `nft list` text parses back
//! to the ruleset as loaded, the tracer never panics (nor loops) on a parsed ruleset, and the
//! built ruleset does not depend on the order of the input documents.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use kpsim::backend::nftables::{
    AddrField, AddrType, AnonSet, BaseChain, Chain, ChainType, CtState, DataType, Element, Family,
    Hook, Integer, L4Proto, Map, MarkUpdate, Match, Op, Operand, Policy, Rule, Ruleset, Selector,
    Separator, Set, SetFlag, Statement, Table, Value, Verdict, VmapSource, parse_list,
};
use kpsim::model::Admission;
use kpsim::net::{Cidr, IpFamily};
use kpsim::sim::{Choices, Packet, PacketProtocol, nftables as tracer};
use proptest::prelude::*;
use proptest::sample::select;

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,8}(/[a-z0-9]{1,4}){0,2}"
}

fn comment() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[A-Za-z0-9 ,:/@-]{0,20}")
}

fn ip(family: IpFamily) -> BoxedStrategy<IpAddr> {
    match family {
        IpFamily::V4 => {
            (0u8..4, any::<u8>()).prop_map(|(a, b)| IpAddr::V4(Ipv4Addr::new(10, a, 0, b))).boxed()
        }
        IpFamily::V6 => (0u16..4, any::<u16>())
            .prop_map(|(a, b)| IpAddr::V6(Ipv6Addr::new(0xfd00, a, 0, 0, 0, 0, 0, b)))
            .boxed(),
    }
}

fn addr_value(family: IpFamily) -> BoxedStrategy<Value> {
    let bits: u8 = if family == IpFamily::V4 { 32 } else { 128 };
    prop_oneof![
        ip(family).prop_map(Value::Addr),
        (ip(family), 8..=bits).prop_map(|(ip, len)| Value::Prefix(Cidr::new(ip, len).unwrap())),
    ]
    .boxed()
}

fn proto() -> impl Strategy<Value = L4Proto> {
    select(vec![L4Proto::TCP, L4Proto::UDP, L4Proto::SCTP])
}

fn value_of(t: &DataType, family: IpFamily) -> BoxedStrategy<Value> {
    match t {
        DataType::Ipv4Addr | DataType::Ipv6Addr => ip(family).prop_map(Value::Addr).boxed(),
        DataType::InetProto => proto().prop_map(Value::Proto).boxed(),
        _ => any::<u16>().prop_map(Value::Port).boxed(),
    }
}

fn key_types(family: IpFamily) -> impl Strategy<Value = Vec<DataType>> {
    let addr = DataType::addr(family);
    select(vec![
        vec![addr.clone()],
        vec![addr, DataType::InetProto, DataType::InetService],
        vec![DataType::InetProto, DataType::InetService],
        vec![DataType::InetService],
    ])
}

fn key(types: Vec<DataType>, family: IpFamily) -> BoxedStrategy<Vec<Value>> {
    let parts: Vec<BoxedStrategy<Value>> = types.iter().map(|t| value_of(t, family)).collect();
    parts.prop_map(|v| v).boxed()
}

fn verdict(chains: Vec<String>) -> BoxedStrategy<Verdict> {
    prop_oneof![
        Just(Verdict::Drop),
        Just(Verdict::Accept),
        Just(Verdict::Return),
        select(chains.clone()).prop_map(Verdict::Jump),
        select(chains).prop_map(Verdict::Goto),
    ]
    .boxed()
}

fn set(family: IpFamily) -> impl Strategy<Value = Set> {
    (
        name(),
        key_types(family),
        any::<bool>(),
        proptest::option::of(1u64..100_000),
        proptest::option::of(1u32..70_000),
        comment(),
    )
        .prop_flat_map(move |(name, types, dynamic, timeout, size, comment)| {
            let elements =
                proptest::collection::vec(key(types.clone(), family).prop_map(Element::key), 0..5);
            (Just((name, types, dynamic, timeout, size, comment)), elements)
        })
        .prop_map(|((name, types, dynamic, timeout, size, comment), elements)| {
            let mut s = Set::new(format!("s-{name}"), types);
            if dynamic {
                s.flags = vec![SetFlag::Dynamic, SetFlag::Timeout];
                s.timeout_ms = timeout.map(|t| t * 1000);
            }
            s.size = size;
            s.comment = comment;
            s.elements = elements;
            s
        })
}

fn map(family: IpFamily, chains: Vec<String>) -> impl Strategy<Value = Map> {
    (name(), key_types(family), comment()).prop_flat_map(move |(name, types, map_comment)| {
        let element = (key(types.clone(), family), verdict(chains.clone()), comment())
            .prop_map(|(k, v, c)| Element { comment: c, ..Element::mapping(k, v) });
        proptest::collection::vec(element, 0..5).prop_map(move |elements| {
            let mut m = Map::new(format!("m-{name}"), types.clone(), DataType::Verdict);
            m.comment = map_comment.clone();
            m.elements = elements;
            m
        })
    })
}

fn statement(
    family: IpFamily,
    chains: Vec<String>,
    sets: Vec<Set>,
    maps: Vec<Map>,
) -> BoxedStrategy<Vec<Statement>> {
    let saddr = Selector::Addr { family, field: AddrField::Saddr };
    let daddr = Selector::Addr { family, field: AddrField::Daddr };
    let addr_sets: Vec<String> =
        sets.iter().filter(|s| s.key == [DataType::addr(family)]).map(|s| s.name.clone()).collect();
    let service_maps: Vec<String> =
        maps.iter().filter(|m| m.key.len() == 3).map(|m| m.name.clone()).collect();
    let mut options: Vec<BoxedStrategy<Vec<Statement>>> = vec![
        (select(vec![saddr, daddr]), any::<bool>(), addr_value(family), verdict(chains.clone()))
            .prop_map(|(sel, ne, v, verdict)| {
                let op = if ne { Op::Ne } else { Op::Eq };
                vec![
                    Statement::Match(Match {
                        left: vec![sel],
                        mask: None,
                        op,
                        right: Operand::Value(v),
                    }),
                    Statement::Verdict(verdict),
                ]
            })
            .boxed(),
        (
            proptest::collection::vec(addr_value(family), 1..5),
            any::<bool>(),
            verdict(chains.clone()),
        )
            .prop_map(move |(elements, bare, verdict)| {
                let separator = if bare { Separator::Bare } else { Separator::Spaced };
                let set = Operand::Set(AnonSet { elements, separator });
                vec![Statement::Match(Match::ne(saddr, set)), Statement::Verdict(verdict)]
            })
            .boxed(),
        select(chains.clone())
            .prop_map(|c| {
                vec![
                    Statement::Match(Match::eq(
                        Selector::CtState,
                        Operand::Value(Value::CtState(CtState::New)),
                    )),
                    Statement::Verdict(Verdict::Jump(c)),
                ]
            })
            .boxed(),
        (1u32..5, select(chains.clone()))
            .prop_map(|(n, c)| {
                let elements = (0..n)
                    .map(|i| {
                        Element::mapping(
                            vec![Value::Integer(Integer::decimal(i))],
                            Verdict::Goto(c.clone()),
                        )
                    })
                    .collect();
                vec![Statement::Vmap {
                    key: vec![Selector::NumgenRandom { modulus: n }],
                    map: VmapSource::Anonymous(elements),
                }]
            })
            .boxed(),
        (any::<u32>(), 1u8..=8)
            .prop_map(|(v, d)| {
                vec![Statement::SetMark(MarkUpdate::Or(Integer { value: v, hex_digits: Some(d) }))]
            })
            .boxed(),
        any::<u32>()
            .prop_map(|v| {
                let m = Match {
                    left: vec![Selector::Mark],
                    mask: Some(Integer::decimal(v)),
                    op: Op::Eq,
                    right: Operand::Value(Value::Integer(Integer::decimal(0))),
                };
                vec![Statement::Match(m), Statement::Verdict(Verdict::Return)]
            })
            .boxed(),
        (proto(), ip(family), proptest::option::of(any::<u16>()))
            .prop_map(|(p, ip, port)| {
                vec![
                    Statement::Match(Match::eq(Selector::L4Proto, Operand::Value(Value::Proto(p)))),
                    Statement::Dnat { addr: ip, port },
                ]
            })
            .boxed(),
        any::<bool>().prop_map(|fully_random| vec![Statement::Masquerade { fully_random }]).boxed(),
        select(chains.clone())
            .prop_map(|c| {
                vec![
                    Statement::Match(Match::eq(
                        Selector::FibType(AddrField::Saddr),
                        Operand::Value(Value::AddrType(AddrType::Local)),
                    )),
                    Statement::Verdict(Verdict::Jump(c)),
                ]
            })
            .boxed(),
        ("[a-z]{1,6}\\*?", select(chains))
            .prop_map(|(ifname, c)| {
                vec![
                    Statement::Match(Match::ne(
                        Selector::Iifname,
                        Operand::Value(Value::Ifname(ifname)),
                    )),
                    Statement::Verdict(Verdict::Goto(c)),
                ]
            })
            .boxed(),
        (any::<u32>(), any::<u32>())
            .prop_map(|(p, b)| {
                vec![Statement::Counter { packets: u64::from(p), bytes: u64::from(b) }]
            })
            .boxed(),
    ];
    if !addr_sets.is_empty() {
        options.push(
            select(addr_sets.clone())
                .prop_map(move |s| {
                    vec![
                        Statement::Match(Match::eq(saddr, Operand::Named(s.clone()))),
                        Statement::Verdict(Verdict::Drop),
                    ]
                })
                .boxed(),
        );
        options.push(
            select(addr_sets)
                .prop_map(move |s| vec![Statement::Update { set: s, key: vec![saddr] }])
                .boxed(),
        );
    }
    if !service_maps.is_empty() {
        options.push(
            select(service_maps)
                .prop_map(move |m| {
                    vec![Statement::Vmap {
                        key: vec![daddr, Selector::L4Proto, Selector::ThDport],
                        map: VmapSource::Named(m),
                    }]
                })
                .boxed(),
        );
    }
    proptest::strategy::Union::new(options).boxed()
}

fn table() -> impl Strategy<Value = Table> {
    (select(vec![Family::Ip, Family::Ip6]), "[a-z][a-z-]{0,8}", comment(), 1usize..5)
        .prop_flat_map(|(family, tname, tcomment, n_chains)| {
            let ipf = if family == Family::Ip { IpFamily::V4 } else { IpFamily::V6 };
            let chains: Vec<String> = (0..n_chains).map(|i| format!("c{i}")).collect();
            let sets = proptest::collection::vec(set(ipf), 0..3);
            let maps = proptest::collection::vec(map(ipf, chains.clone()), 0..3);
            (Just((family, ipf, tname, tcomment, chains)), sets, maps)
        })
        .prop_flat_map(|((family, ipf, tname, tcomment, chains), mut sets, mut maps)| {
            // Names must be unique within the table.
            for (i, s) in sets.iter_mut().enumerate() {
                s.name = format!("{}-{i}", s.name);
            }
            for (i, m) in maps.iter_mut().enumerate() {
                m.name = format!("{}-{i}", m.name);
            }
            let chain = |cname: String| {
                let base = proptest::option::of((
                    select(vec![ChainType::Filter, ChainType::Nat]),
                    select(vec![
                        Hook::Prerouting,
                        Hook::Input,
                        Hook::Forward,
                        Hook::Output,
                        Hook::Postrouting,
                    ]),
                    -400i32..400,
                    select(vec![Policy::Accept, Policy::Drop]),
                ));
                let rules = proptest::collection::vec(
                    (statement(ipf, chains.clone(), sets.clone(), maps.clone()), comment())
                        .prop_map(|(statements, comment)| Rule { statements, comment }),
                    0..4,
                );
                (base, comment(), rules).prop_map(move |(base, comment, rules)| Chain {
                    name: cname.clone(),
                    base: base.map(|(chain_type, hook, priority, policy)| BaseChain {
                        chain_type,
                        hook,
                        priority,
                        policy,
                    }),
                    comment,
                    rules,
                })
            };
            let chain_strategies: Vec<_> = chains.iter().cloned().map(chain).collect();
            (Just((family, tname, tcomment, sets, maps)), chain_strategies)
        })
        .prop_map(|((family, name, comment, sets, maps), chains)| Table {
            family,
            name,
            comment,
            sets,
            maps,
            chains,
        })
}

fn ruleset() -> impl Strategy<Value = Ruleset> {
    proptest::collection::vec(table(), 1..3).prop_map(|tables| Ruleset { tables })
}

fn settings() -> kpsim::settings::ProxySettings {
    let text = include_str!("data/oracle/nftables/overall-nftables-rules/settings.yaml");
    kpsim::settings::parse_settings_file(text).0.resolve(&Default::default(), &mut Vec::new())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn parsing_the_list_view_gives_the_ruleset_as_loaded(r in ruleset()) {
        let text = r.list_view().to_string();
        let parsed = parse_list(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(parsed, r.as_loaded(), "{}", text);
    }

    #[test]
    fn the_tracer_never_panics_on_a_parsed_ruleset(
        r in ruleset(),
        v4 in any::<bool>(),
        b in any::<u8>(),
        port in proptest::option::of(any::<u16>()),
        protocol in select(vec![PacketProtocol::Tcp, PacketProtocol::Udp, PacketProtocol::Sctp, PacketProtocol::Icmp]),
        seed in any::<u64>(),
    ) {
        let parsed = parse_list(&r.list_view().to_string()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let s = settings();
        let (src, dst): (IpAddr, IpAddr) = if v4 {
            (IpAddr::V4(Ipv4Addr::new(10, 0, 0, b)), "192.168.0.2".parse().unwrap())
        } else {
            (IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, u16::from(b))), "2001:db8::1".parse().unwrap())
        };
        let port = if protocol == PacketProtocol::Icmp { None } else { port };
        for (src, dst) in [(src, dst), (dst, src)] {
            let p = Packet::new(src, dst, protocol, port);
            let entry = tracer::entry_for(&s, src);
            for choices in [Choices::AllBranches, Choices::Seed(seed)] {
                let t = tracer::trace(&parsed, &s, p, entry, choices);
                prop_assert!(!t.paths.is_empty());
            }
        }
    }

    #[test]
    fn the_built_ruleset_does_not_depend_on_document_order(seed in any::<u64>()) {
        let input = include_str!("data/oracle/nftables/overall-nftables-rules/input.yaml");
        let settings_text = include_str!("data/oracle/nftables/overall-nftables-rules/settings.yaml");
        let build = |text: &str| {
            let (cluster, _) = kpsim::model::build::build(&kpsim::manifest::parse(text), Admission::AsGiven);
            let s = kpsim::settings::parse_settings_file(settings_text).0.resolve(&cluster, &mut Vec::new());
            kpsim::backend::nftables::build(&kpsim::proxy::plan(&cluster, &s)).transaction().to_string()
        };
        let mut docs: Vec<&str> = input.split("\n---\n").collect();
        let mut rng = kpsim::sim::trace::SeededRng::new(seed);
        for i in (1..docs.len()).rev() {
            let j = usize::try_from(rng.below(i as u64 + 1)).unwrap();
            docs.swap(i, j);
        }
        prop_assert_eq!(build(&docs.join("\n---\n")), build(input));
    }
}
