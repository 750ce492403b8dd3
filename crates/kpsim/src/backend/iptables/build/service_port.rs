//! The rules of one service port (spec §4.2), in two steps: [`ServicePortRules::new`] writes
//! its rules in the chains every service shares (`KUBE-SERVICES`, `KUBE-NODEPORTS`,
//! `KUBE-EXTERNAL-SERVICES`, `KUBE-PROXY-FIREWALL`) and lists the chains it owns
//! (`KUBE-SVC/SVL/EXT/FW/SEP-…`); [`ServicePortRules::own_chain`] builds one of those later.
//!
//! The builder makes the owned chains of all service ports in name order, the order the
//! restore text lists them in: a ruleset of 100,000 chains is then laid out in memory in the
//! order it is written and freed, instead of scattered by hash.
//!
//! This file does not decide the chains shared by all services, nor the jump rules from the
//! built-in chains: that is [`super`]'s and [`super::super::jumps`]' job.

use std::net::IpAddr;
use std::sync::Arc;

use super::{
    KUBE_EXTERNAL_SERVICES, KUBE_MARK_MASQ, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL, KUBE_SERVICES,
    LOCALHOST_NODEPORTS_ACCEPTED, cidr, comment, commented_port_match, detector, jump, port_match,
    probability, with,
};
use crate::backend::iptables::chain_name::ChainName;
use crate::backend::iptables::rule::{
    AddrTypeSpec, Address, Match, PortRange, Recent, RecentAction, Rule, Statistic, Target,
};
use crate::backend::iptables::ruleset::{Chain, Ruleset, TableName};
use crate::naming::{self, ServicePortChains};
use crate::net::{IpFamily, Protocol, write_host_port};
use crate::proxy::{ProxyPlan, ServicePortPlan};

/// A chain a service port owns, to be built by [`ServicePortRules::own_chain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OwnChain {
    pub name: ChainName,
    /// Position of the service port in the plan.
    pub port: usize,
    pub kind: OwnChainKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OwnChainKind {
    /// `KUBE-SVC-…` (`local: false`) or `KUBE-SVL-…`: the internal masquerade rule when this
    /// is the internal policy's chain, then the endpoint dispatch when it has endpoints.
    Dispatch { local: bool },
    /// `KUBE-EXT-…`
    External,
    /// `KUBE-FW-…`
    Firewall,
    /// `KUBE-SEP-…`, with what its rules need (so that making the 100,000 endpoint chains of
    /// a large cluster reads this list in order and nothing else).
    Endpoint(EndpointChain),
}

/// What the `KUBE-SEP-…` chain of one endpoint is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EndpointChain {
    ip: IpAddr,
    port: u16,
    protocol: Protocol,
    /// Session affinity is on (the chain records the client in its `recent` list).
    affinity: bool,
}

/// What one service port's owned chains need, computed once while its shared-chain rules are
/// written.
#[derive(Debug)]
pub(super) struct ServicePortRules<'p> {
    sp: &'p ServicePortPlan,
    /// `ns/name:port`
    name: String,
    /// `ns/name:port` as a comment (NodePort and endpoint rules).
    name_comment: Arc<str>,
    /// `ns/name:port cluster IP`
    cluster_ip_comment: Arc<str>,
    chains: ServicePortChains,
    /// The endpoint chain of every endpoint that gets rules.
    seps: Vec<Option<ChainName>>,
    uses_cluster_chain: bool,
    uses_local_chain: bool,
    uses_ext: bool,
    uses_fw: bool,
}

impl<'p> ServicePortRules<'p> {
    /// Writes the service port's rules in the shared chains of `rs`.
    pub(super) fn new(
        rs: &mut Ruleset,
        plan: &ProxyPlan,
        sp: &'p ServicePortPlan,
    ) -> ServicePortRules<'p> {
        let s = &plan.settings;
        let v4 = s.family == IpFamily::V4;
        let name = sp.name_string();
        let name_comment: Arc<str> = Arc::from(name.as_str());
        let proto = sp.protocol;
        let cat = &sp.categorized;
        let has_endpoints = cat.has_any_endpoints;
        let chains = ServicePortChains::new(&sp.name);
        let ServicePortChains { svc: svc_chain, svl: svl_chain, ext: ext_chain, fw: fw_chain } =
            chains;

        let internal_chain = if sp.internal_policy_local { svl_chain } else { svc_chain };
        let has_internal = sp.has_internal();
        let has_external = sp.has_external();
        let uses_fw = has_endpoints
            && !sp.load_balancer_vips.is_empty()
            && !sp.load_balancer_source_ranges.is_empty();
        let lb_chain = if uses_fw { fw_chain } else { ext_chain };

        let (internal_filter, external_filter) = if !has_endpoints {
            let c: Arc<str> = format!("{name} has no endpoints").into();
            let reject = Target::Reject { with: None };
            (Some((c.clone(), reject.clone())), Some((c, reject)))
        } else if has_internal && has_external {
            (None, None)
        } else {
            let c: Arc<str> = format!("{name} has no local endpoints").into();
            (
                (!has_internal).then_some((c.clone(), Target::Drop)),
                (!has_external).then_some((c, Target::Drop)),
            )
        };

        // Capture the ClusterIP.
        let cluster_ip_comment: Arc<str> = format!("{name} cluster IP").into();
        let cluster_match =
            |text: Arc<str>| commented_port_match(text, proto, Some(sp.cluster_ip), sp.port, 0);
        if has_internal {
            rs.table_mut(TableName::Nat).append(
                KUBE_SERVICES,
                Rule::new(cluster_match(cluster_ip_comment.clone()), jump(internal_chain)),
            );
        } else if let Some((c, t)) = &internal_filter {
            rs.table_mut(TableName::Filter)
                .append(KUBE_SERVICES, Rule::new(cluster_match(c.clone()), Some(t.clone())));
        }

        // `-A KUBE-SERVICES -m comment --comment "ns/svc:port WHAT" … -d IP --dport P -j TO`,
        // for the external IPs and load-balancer VIPs of a service port with endpoints.
        let capture = |rs: &mut Ruleset, ip: IpAddr, what: &str, to: ChainName| {
            if has_endpoints {
                rs.table_mut(TableName::Nat).append(
                    KUBE_SERVICES,
                    Rule::new(
                        with(
                            vec![comment(format!("{name} {what}"))],
                            port_match(proto, Some(ip), sp.port),
                        ),
                        jump(to),
                    ),
                );
            }
        };

        // External IPs.
        for ip in &sp.external_ips {
            capture(rs, *ip, "external IP", ext_chain);
            let m = port_match(proto, Some(*ip), sp.port);
            if let Some((c, t)) = external_filter.as_ref().filter(|_| !has_external) {
                rs.table_mut(TableName::Filter).append(
                    KUBE_EXTERNAL_SERVICES,
                    Rule::new(with(vec![comment(c.clone())], m), Some(t.clone())),
                );
            }
        }

        // Load-balancer VIPs.
        for ip in &sp.load_balancer_vips {
            capture(rs, *ip, "loadbalancer IP", lb_chain);
            let m = port_match(proto, Some(*ip), sp.port);
            if uses_fw {
                rs.table_mut(TableName::Filter).append(
                    KUBE_PROXY_FIREWALL,
                    Rule::new(
                        with(
                            vec![comment(format!("{name} traffic not accepted by {fw_chain}"))],
                            m,
                        ),
                        Some(Target::Drop),
                    ),
                );
            }
        }
        if let Some((c, t)) = external_filter.as_ref().filter(|_| !has_external) {
            for ip in &sp.load_balancer_vips {
                rs.table_mut(TableName::Filter).append(
                    KUBE_EXTERNAL_SERVICES,
                    Rule::new(
                        with(vec![comment(c.clone())], port_match(proto, Some(*ip), sp.port)),
                        Some(t.clone()),
                    ),
                );
            }
        }

        // NodePort.
        if let Some(np) = sp.node_port {
            if has_endpoints {
                let nat = rs.table_mut(TableName::Nat);
                if v4
                    && s.localhost_node_ports
                    && s.nfacct_counters.contains(LOCALHOST_NODEPORTS_ACCEPTED)
                {
                    let mut m = vec![
                        comment(name_comment.clone()),
                        Match::PortModule { module: proto.into() },
                        Match::Protocol { negated: false, protocol: proto.into() },
                    ];
                    if let Some(lo) = cidr("127.0.0.0/8") {
                        m.push(Match::Destination { negated: false, address: lo });
                    }
                    m.push(Match::DestinationPort { negated: false, ports: PortRange::single(np) });
                    m.push(Match::Nfacct { name: LOCALHOST_NODEPORTS_ACCEPTED.into() });
                    nat.append(KUBE_NODEPORTS, Rule::new(m, jump(ext_chain)));
                }
                nat.append(
                    KUBE_NODEPORTS,
                    Rule::new(
                        commented_port_match(name_comment.clone(), proto, None, np, 0),
                        jump(ext_chain),
                    ),
                );
            }
            if let Some((c, t)) = external_filter.as_ref().filter(|_| !has_external) {
                let m = with(
                    vec![
                        comment(c.clone()),
                        Match::AddrType {
                            source: None,
                            destination: Some(Box::new(AddrTypeSpec {
                                negated: false,
                                types: vec!["LOCAL".into()],
                            })),
                        },
                    ],
                    port_match(proto, None, np),
                );
                rs.table_mut(TableName::Filter)
                    .append(KUBE_EXTERNAL_SERVICES, Rule::new(m, Some(t.clone())));
            }
        }

        // Health-check NodePort.
        if let Some(hc) = sp.health_check_node_port {
            rs.table_mut(TableName::Filter).append(
                KUBE_NODEPORTS,
                Rule::new(
                    commented_port_match(
                        format!("{name} health check node port"),
                        Protocol::Tcp,
                        None,
                        hc,
                        0,
                    ),
                    Some(Target::Accept),
                ),
            );
        }

        // Endpoint chain names, hashed once per endpoint that gets rules.
        let mut seps: Vec<Option<ChainName>> = vec![None; sp.endpoints.len()];
        for &i in cat.reachable.iter().chain(&cat.cluster).chain(&cat.local) {
            if seps[i].is_none() {
                let e = &sp.endpoints[i];
                seps[i] = Some(naming::sep_chain_of(&sp.name, e.ip, e.port));
            }
        }

        ServicePortRules {
            sp,
            name,
            name_comment,
            cluster_ip_comment,
            chains,
            seps,
            uses_cluster_chain: !cat.cluster.is_empty() && sp.uses_cluster_endpoints(),
            uses_local_chain: !cat.local.is_empty() && sp.uses_local_endpoints(),
            uses_ext: has_endpoints && sp.externally_accessible(),
            uses_fw,
        }
    }

    /// `ns/name:port`, the comment of the NodePort and endpoint rules.
    pub(super) fn name_comment(&self) -> Arc<str> {
        self.name_comment.clone()
    }

    /// Whether the internal masquerade rule is written (into the internal policy's chain).
    fn masquerades_internal(&self, plan: &ProxyPlan) -> bool {
        let s = &plan.settings;
        self.sp.has_internal()
            && (s.masquerade_all || detector(&s.local_traffic_detector).is_some())
    }

    /// Lists the chains this service port owns (`port`: its position in the plan).
    pub(super) fn own_chains(&self, plan: &ProxyPlan, port: usize, out: &mut Vec<OwnChain>) {
        let sp = self.sp;
        let c = &self.chains;
        let internal_local = sp.internal_policy_local;
        let masq = self.masquerades_internal(plan);
        let mut own = |name, kind| out.push(OwnChain { name, port, kind });
        if self.uses_cluster_chain || (masq && !internal_local) {
            own(c.svc, OwnChainKind::Dispatch { local: false });
        }
        if self.uses_local_chain || (masq && internal_local) {
            own(c.svl, OwnChainKind::Dispatch { local: true });
        }
        if self.uses_ext {
            own(c.ext, OwnChainKind::External);
        }
        if self.uses_fw {
            own(c.fw, OwnChainKind::Firewall);
        }
        for &i in &sp.categorized.reachable {
            if let Some(sep) = self.seps[i] {
                let e = &sp.endpoints[i];
                own(
                    sep,
                    OwnChainKind::Endpoint(EndpointChain {
                        ip: e.ip,
                        port: e.port,
                        protocol: sp.protocol,
                        affinity: sp.session_affinity_timeout.is_some(),
                    }),
                );
            }
        }
    }

    /// Builds one of the chains [`ServicePortRules::own_chains`] listed.
    pub(super) fn own_chain(
        &self,
        plan: &ProxyPlan,
        own: &OwnChain,
        large: bool,
        probabilities: &mut Probabilities,
    ) -> Chain {
        match own.kind {
            OwnChainKind::Dispatch { local } => {
                self.dispatch_chain(plan, local, large, probabilities)
            }
            OwnChainKind::External => self.external_chain(plan),
            OwnChainKind::Firewall => self.firewall_chain(plan),
            OwnChainKind::Endpoint(e) => e.chain(own.name, (!large).then(|| self.name_comment())),
        }
    }

    /// `KUBE-SVC-…`/`KUBE-SVL-…`: the internal masquerade rule when this is the internal
    /// policy's chain, then the endpoint dispatch (declared only when it has one).
    fn dispatch_chain(
        &self,
        plan: &ProxyPlan,
        local: bool,
        large: bool,
        probabilities: &mut Probabilities,
    ) -> Chain {
        let s = &plan.settings;
        let sp = self.sp;
        let (name, dispatch, endpoints) = if local {
            (self.chains.svl, self.uses_local_chain, &sp.categorized.local)
        } else {
            (self.chains.svc, self.uses_cluster_chain, &sp.categorized.cluster)
        };
        let mut chain = Chain::new(name, dispatch);
        let affinity = usize::from(sp.session_affinity_timeout.is_some());
        chain.rules.reserve_exact(1 + endpoints.len() * (1 + affinity));
        if sp.internal_policy_local == local && sp.has_internal() {
            let head = |extra| {
                commented_port_match(
                    self.cluster_ip_comment.clone(),
                    sp.protocol,
                    Some(sp.cluster_ip),
                    sp.port,
                    extra,
                )
            };
            if s.masquerade_all {
                chain.rules.push(Rule::new(head(0), jump(KUBE_MARK_MASQ)));
            } else if let Some((_, if_not_local)) = detector(&s.local_traffic_detector) {
                let mut m = head(1);
                m.push(if_not_local);
                chain.rules.push(Rule::new(m, jump(KUBE_MARK_MASQ)));
            }
        }
        if dispatch {
            self.endpoint_dispatch(&mut chain, endpoints, large, probabilities);
        }
        chain
    }

    /// `writeServiceToEndpointRules`: affinity checks first, then one probability rule per
    /// endpoint (the last one unconditional).
    fn endpoint_dispatch(
        &self,
        chain: &mut Chain,
        endpoints: &[usize],
        large: bool,
        probabilities: &mut Probabilities,
    ) {
        let sp = self.sp;
        // `ns/name:port -> ip:port`, in a vector with room for the affinity or statistic match.
        let head = |i: usize| {
            let mut m = Vec::with_capacity(2);
            if !large {
                let e = &sp.endpoints[i];
                let mut text = String::with_capacity(self.name.len() + 4 + 48);
                text.push_str(&self.name);
                text.push_str(" -> ");
                let _ = write_host_port(&mut text, e.ip, e.port);
                m.push(comment(text));
            }
            m
        };
        let endpoints: Vec<(usize, ChainName)> =
            endpoints.iter().filter_map(|&i| Some((i, self.seps[i]?))).collect();
        if let Some(timeout) = sp.session_affinity_timeout {
            for &(i, sep) in &endpoints {
                let mut m = head(i);
                m.push(Match::Recent(Box::new(Recent {
                    seconds: Some(timeout),
                    reap: true,
                    ..Recent::new(Some(sep.to_string()), RecentAction::Rcheck)
                })));
                chain.rules.push(Rule::new(m, jump(sep)));
            }
        }
        let n = endpoints.len();
        for (k, &(i, sep)) in endpoints.iter().enumerate() {
            let mut m = head(i);
            if k + 1 < n {
                m.push(Match::Statistic(Statistic::Random {
                    negated: false,
                    probability: probabilities.one_in(n - k),
                }));
            }
            chain.rules.push(Rule::new(m, jump(sep)));
        }
    }

    /// `KUBE-EXT-…`: masquerade external traffic (or, with the Local external policy, route
    /// pods' and the node's own traffic), then on to the external policy's chain.
    fn external_chain(&self, plan: &ProxyPlan) -> Chain {
        let s = &plan.settings;
        let sp = self.sp;
        let name = &self.name;
        let svc_chain = self.chains.svc;
        let mut chain = Chain::new(self.chains.ext, true);
        let rules = &mut chain.rules;
        if !sp.external_policy_local {
            rules.push(Rule::new(
                vec![comment(format!("masquerade traffic for {name} external destinations"))],
                jump(KUBE_MARK_MASQ),
            ));
        } else {
            if let Some((if_local, _)) = detector(&s.local_traffic_detector) {
                rules.push(Rule::new(
                    vec![
                        comment(format!("pod traffic for {name} external destinations")),
                        if_local,
                    ],
                    jump(svc_chain),
                ));
            }
            let local_src = || Match::AddrType {
                source: Some(Box::new(AddrTypeSpec {
                    negated: false,
                    types: vec!["LOCAL".into()],
                })),
                destination: None,
            };
            rules.push(Rule::new(
                vec![
                    comment(format!("masquerade LOCAL traffic for {name} external destinations")),
                    local_src(),
                ],
                jump(KUBE_MARK_MASQ),
            ));
            rules.push(Rule::new(
                vec![
                    comment(format!("route LOCAL traffic for {name} external destinations")),
                    local_src(),
                ],
                jump(svc_chain),
            ));
        }
        if sp.has_external() {
            let policy_chain =
                if sp.external_policy_local { self.chains.svl } else { self.chains.svc };
            rules.push(Rule::new(vec![], jump(policy_chain)));
        }
        chain
    }

    /// `KUBE-FW-…`: the allowed source ranges (and the node itself when a range holds it) go
    /// on to the external chain; the last rule only counts what `KUBE-PROXY-FIREWALL` drops.
    fn firewall_chain(&self, plan: &ProxyPlan) -> Chain {
        let s = &plan.settings;
        let sp = self.sp;
        let name = &self.name;
        let ext_chain = self.chains.ext;
        let mut chain = Chain::new(self.chains.fw, true);
        let rules = &mut chain.rules;
        let head: Arc<str> = format!("{name} loadbalancer IP").into();
        let mut allow_from_node = false;
        for range in &sp.load_balancer_source_ranges {
            rules.push(Rule::new(
                vec![
                    comment(head.clone()),
                    Match::Source { negated: false, address: Address::network(*range) },
                ],
                jump(ext_chain),
            ));
            if s.node_ip.is_some_and(|ip| range.contains(ip)) {
                allow_from_node = true;
            }
        }
        if allow_from_node {
            for ip in &sp.load_balancer_vips {
                rules.push(Rule::new(
                    vec![
                        comment(head.clone()),
                        Match::Source { negated: false, address: Address::host(*ip) },
                    ],
                    jump(ext_chain),
                ));
            }
        }
        rules.push(Rule::new(
            vec![comment(format!(
                "other traffic to {name} will be dropped by KUBE-PROXY-FIREWALL"
            ))],
            None,
        ));
        chain
    }
}

impl EndpointChain {
    /// `KUBE-SEP-…`: mark hairpin traffic for masquerading, then DNAT to the endpoint; each
    /// rule commented with `comment` when given (kube-proxy leaves it out in large clusters).
    pub(super) fn chain(&self, sep: ChainName, comment: Option<Arc<str>>) -> Chain {
        let head = |capacity: usize| {
            let mut m = Vec::with_capacity(capacity + usize::from(comment.is_some()));
            if let Some(c) = &comment {
                m.push(Match::Comment { text: c.clone() });
            }
            m
        };
        let mut masq = head(1);
        masq.push(Match::Source { negated: false, address: Address::host(self.ip) });
        let mut m = head(3 + usize::from(self.affinity));
        if self.affinity {
            m.push(Match::Recent(Box::new(Recent::new(Some(sep.to_string()), RecentAction::Set))));
        }
        m.push(Match::PortModule { module: self.protocol.into() });
        m.push(Match::Protocol { negated: false, protocol: self.protocol.into() });
        let mut chain = Chain::new(sep, true);
        chain.rules.reserve_exact(2);
        chain.rules.push(Rule::new(masq, jump(KUBE_MARK_MASQ)));
        chain.rules.push(Rule::new(m, Some(Target::Dnat { ip: self.ip, port: Some(self.port) })));
        chain
    }
}

/// The `1/n` probabilities written so far, spelled once each and shared by every rule that
/// writes them (every service chain of a 10-endpoint service writes the same nine).
#[derive(Debug, Default)]
pub(super) struct Probabilities(Vec<Option<Arc<str>>>);

impl Probabilities {
    fn one_in(&mut self, n: usize) -> Arc<str> {
        if self.0.len() <= n {
            self.0.resize(n + 1, None);
        }
        self.0[n].get_or_insert_with(|| probability(n).into()).clone()
    }
}
