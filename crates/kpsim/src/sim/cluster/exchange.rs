//! One connection end to end: the client sends, the walk carries the request to where it
//! ends, a socket answers (or the kernel refuses: a reset, an ICMP error; or a node's REJECT
//! or failed ARP sends an ICMP error back), the answer walks back, and the client judges it —
//! an answer whose addresses are not those it connected to is not its connection, and it
//! keeps waiting.
//!
//! Not here: moving packets (the walk's), resolving names and sources (`resolve`).

use super::hop::{Actor, Direction, Hop, HopKind, IcmpError, Message};
use super::sockets;
use super::walk::{End, FlowState, Netns, Pkt, Position, Session, side};
use super::{Flow, Outcome};
use crate::sim::conntrack::Tuple;
use crate::sim::trace::{Choices, Packet, PacketProtocol};

fn icmp(src: std::net::IpAddr, dst: std::net::IpAddr) -> Packet {
    Packet { src, dst, protocol: PacketProtocol::Icmp, sport: None, dport: None, mark: 0 }
}

fn reversed(p: &Packet) -> Packet {
    Tuple::of(p).reversed().packet()
}

fn who(netns: &Netns<'_>) -> String {
    match netns {
        Netns::Pod(p) => p.pod.name.clone(),
        Netns::Node(n) => n.name.clone(),
        Netns::Outside(ip) => format!("the client {ip}"),
    }
}

/// `a tcp SYN`, `an ICMP echo request`.
fn with_article(what: &str) -> String {
    // Said aloud: "an ICMP", "an sctp" ("ess"), but "a udp" ("you").
    let vowel =
        what.starts_with(['a', 'e', 'i', 'o', 'A', 'E', 'I', 'O']) || what.starts_with("sctp");
    format!("{} {what}", if vowel { "an" } else { "a" })
}

fn port_of(p: &Packet) -> String {
    format!("{}/{}", side(p.dst, p.dport), p.protocol.as_lower().to_uppercase())
}

impl<'n> Session<'n> {
    /// Traces one connection from `client`, starting with `first`.
    pub(super) fn connect(&self, client: Netns<'n>, first: Packet, choices: Choices) -> Vec<Flow> {
        self.reset_flows();
        let mut st = FlowState::new();
        let pkt = Pkt { packet: first, message: Message::Request, direction: Direction::Request };
        st.hops.push(Hop::new(
            HopKind::Send,
            Direction::Request,
            Actor::Application,
            client.place(),
            Message::Request,
            first,
            format!(
                "{} sends {} from {} to {}",
                who(&client),
                with_article(&Message::Request.describe(first.protocol)),
                side(first.src, first.sport),
                side(first.dst, first.dport)
            ),
        ));
        let start = match client {
            Netns::Pod(p) => Position::PodSends(p),
            Netns::Node(n) => Position::NodeSends(n),
            Netns::Outside(_) => Position::FromOutside,
        };
        self.travel(st, start, pkt, choices, client)
            .into_iter()
            .map(|(st, end)| self.answer(st, end, client, first))
            .collect()
    }

    fn answer(&self, mut st: FlowState, end: End<'n>, client: Netns<'n>, first: Packet) -> Flow {
        match end {
            End::Local(netns, pkt) => {
                let served = pkt.packet;
                let listener = match netns {
                    Netns::Pod(p) => sockets::in_pod(self.net, p, &served),
                    Netns::Node(n) => sockets::on_node(self.net, n, &served),
                    Netns::Outside(_) => None,
                };
                let start = match netns {
                    Netns::Pod(p) => Position::PodSends(p),
                    Netns::Node(n) => Position::NodeSends(n),
                    Netns::Outside(_) => return finish(st, Outcome::Timeout, None, first),
                };
                let place = netns.place();
                match listener {
                    Some(l) => {
                        let actor = if served.protocol == PacketProtocol::Icmp {
                            Actor::Kernel
                        } else {
                            Actor::Application
                        };
                        st.hops.push(Hop::new(
                            HopKind::Deliver,
                            Direction::Request,
                            actor,
                            place,
                            pkt.message,
                            served,
                            format!("{}: {} takes it and answers", l.what, l.owner),
                        ));
                        let reply = Pkt {
                            packet: reversed(&served),
                            message: Message::Reply,
                            direction: Direction::Reply,
                        };
                        st.reason = Some(format!(
                            "{} answered on {}",
                            l.owner,
                            side(served.dst, served.dport)
                        ));
                        self.back(st, start, reply, client, first, Some(l.owner))
                    }
                    None => {
                        let (reply, how) = match served.protocol {
                            PacketProtocol::Udp | PacketProtocol::Icmp => (
                                Pkt {
                                    packet: icmp(served.dst, served.src),
                                    message: Message::Icmp {
                                        error: IcmpError::PortUnreachable,
                                        quoted: served,
                                    },
                                    direction: Direction::Reply,
                                },
                                "an ICMP port unreachable",
                            ),
                            PacketProtocol::Tcp | PacketProtocol::Sctp => (
                                Pkt {
                                    packet: reversed(&served),
                                    message: Message::Reset,
                                    direction: Direction::Reply,
                                },
                                if served.protocol == PacketProtocol::Tcp {
                                    "a TCP reset"
                                } else {
                                    "an SCTP ABORT"
                                },
                            ),
                        };
                        st.hops.push(Hop::new(
                            HopKind::Refuse,
                            Direction::Request,
                            Actor::Kernel,
                            place.clone(),
                            pkt.message,
                            served,
                            format!(
                                "nothing listens on {}: the kernel answers with {how}",
                                port_of(&served)
                            ),
                        ));
                        st.reason =
                            Some(format!("nothing listens on {} in {place}", port_of(&served)));
                        self.back(st, start, reply, client, first, None)
                    }
                }
            }
            End::NodeError { node, error, quoted } => {
                let src = node.source_for(quoted.src).unwrap_or(quoted.dst);
                let pkt = Pkt {
                    packet: icmp(src, quoted.src),
                    message: Message::Icmp { error, quoted },
                    direction: Direction::Reply,
                };
                st.hops.push(Hop::new(
                    if error == IcmpError::PortUnreachable {
                        HopKind::Refuse
                    } else {
                        HopKind::Unreachable
                    },
                    Direction::Reply,
                    Actor::Kernel,
                    Netns::Node(node).place(),
                    pkt.message,
                    pkt.packet,
                    format!("{} sends an {} to {}", node.name, error.as_str(), quoted.src),
                ));
                self.back(st, Position::NodeSends(node), pkt, client, first, None)
            }
            End::SenderError(error) => {
                let outcome = match error {
                    IcmpError::PortUnreachable => Outcome::Refused,
                    _ => Outcome::Unreachable,
                };
                finish(st, outcome, None, first)
            }
            End::Outside(_) | End::Lost => finish(st, Outcome::Timeout, None, first),
        }
    }

    /// Walks an answer back and lets the client judge it.
    fn back(
        &self,
        st: FlowState,
        start: Position<'n>,
        pkt: Pkt,
        client: Netns<'n>,
        first: Packet,
        delivered_to: Option<String>,
    ) -> Flow {
        let mut ends = self.travel(st, start, pkt, Choices::Seed(0), client).into_iter();
        let Some((mut st, end)) = ends.next() else {
            return finish(FlowState::new(), Outcome::Timeout, None, first);
        };
        let received = match end {
            End::Local(netns, pkt) if netns.same(&client) => Some(pkt),
            End::Outside(pkt) if matches!(client, Netns::Outside(ip) if ip == pkt.packet.dst) => {
                Some(pkt)
            }
            End::Local(netns, _) => {
                st.reason =
                    Some(format!("the answer went to {}, not to the client", netns.place()));
                None
            }
            _ => {
                let why = st.reason.take().unwrap_or_default();
                st.reason = Some(format!("the answer never made it back ({why})"));
                None
            }
        };
        let Some(pkt) = received else { return finish(st, Outcome::Timeout, None, first) };
        let expected = Tuple::of(&first).reversed();
        let (ok, outcome, errno) = match pkt.message {
            Message::Reply => (Tuple::of(&pkt.packet) == expected, Outcome::Delivered, ""),
            Message::Reset => {
                (Tuple::of(&pkt.packet) == expected, Outcome::Refused, ": Connection refused")
            }
            Message::Icmp { error, quoted } => {
                let (outcome, errno) = match error {
                    IcmpError::PortUnreachable => (Outcome::Refused, ": Connection refused"),
                    IcmpError::HostUnreachable => (Outcome::Unreachable, ": No route to host"),
                    IcmpError::NetUnreachable => (Outcome::Unreachable, ": Network is unreachable"),
                };
                (Tuple::of(&quoted) == Tuple::of(&first), outcome, errno)
            }
            Message::Request => (false, Outcome::Timeout, ""),
        };
        let what = pkt.message.describe(pkt.packet.protocol);
        let from = side(pkt.packet.src, pkt.packet.sport);
        let text = if !ok {
            format!(
                "{} gets {} from {from}, but it talked to {}: not its connection, so it ignores it and keeps waiting",
                who(&client),
                with_article(&what),
                side(first.dst, first.dport)
            )
        } else if matches!(pkt.message, Message::Icmp { .. }) {
            format!(
                "{} gets an {what} about its packet to {}{errno}",
                who(&client),
                side(first.dst, first.dport)
            )
        } else if from == side(first.dst, first.dport) {
            format!(
                "{} gets the {what} from {from}, the address it connected to{errno}",
                who(&client)
            )
        } else {
            format!("{} gets the {what} from {from}{errno}", who(&client))
        };
        st.hops.push(Hop::new(
            HopKind::Receive,
            Direction::Reply,
            Actor::Kernel,
            client.place(),
            pkt.message,
            pkt.packet,
            text,
        ));
        if !ok {
            st.reason = Some(format!(
                "the answer came from {from}, not from {}, so the client does not recognise it",
                side(first.dst, first.dport)
            ));
            return finish(st, Outcome::Timeout, None, first);
        }
        if outcome == Outcome::Delivered {
            let why = st.reason.take().unwrap_or_default();
            st.reason = Some(format!("{why}, and the reply reached the client from {from}"));
        } else {
            let why = st.reason.take().unwrap_or_default();
            st.reason = Some(format!("{why}{errno}"));
        }
        finish(st, outcome, delivered_to.filter(|_| outcome == Outcome::Delivered), first)
    }
}

fn finish(st: FlowState, outcome: Outcome, delivered_to: Option<String>, first: Packet) -> Flow {
    let reason = st.reason.unwrap_or_else(|| "nothing answered".to_owned());
    let summary = match outcome {
        Outcome::Timeout if !reason.contains("nothing answers") => {
            format!("{outcome}: {reason}; nothing answers")
        }
        _ => format!("{outcome}: {reason}"),
    };
    Flow {
        probability: st.probability,
        packet: first,
        outcome,
        delivered_to,
        summary,
        hops: st.hops,
        node_traces: st.traces,
        conntrack: st.conntrack.entries,
    }
}
