//! The link layer of the simulation: how one message crosses one hop (packets, losses,
//! retransmissions, airtime) and the transmitters that carry it (one per direction of
//! a full-duplex link, one per shared medium), with their per-link accounting.
//!
//! The request logic in [`super::inference`] only asks a [`LinkModel`] what sending
//! `bytes` over a link costs ([`Transmission`]); another link model (bursty losses,
//! adaptive rates) is a new implementation of that trait, the request logic unchanged.

use crate::network::{Link, Network};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::collections::VecDeque;

/// Most retransmissions of one packet (IEEE 802.15.4's largest `macMaxFrameRetries`):
/// a packet lost once more is given up, and its request dropped.
pub const MAX_RETRANSMISSIONS: u64 = 7;

/// What sending one message over one hop costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmission {
    /// Packets sent, first transmissions only.
    pub packets: u64,
    /// Retransmissions of lost packets.
    pub retransmissions: u64,
    /// Bytes on the wire: payload and headers of every packet sent, retransmissions
    /// included.
    pub wire_bytes: u64,
    /// Transmitter busy time, ns.
    pub airtime_ns: u64,
    /// A packet was lost more than [`MAX_RETRANSMISSIONS`] times: the packets after it
    /// were never sent, and the message (its request) is lost.
    pub lost: bool,
}

/// How a message crosses a link.
pub trait LinkModel: std::fmt::Debug + Send + Sync {
    /// Sends `bytes` over `link` whose bandwidth is scaled by `bandwidth_factor`,
    /// drawing losses from `rng`.
    fn send(
        &self,
        link: &Link,
        bytes: u64,
        bandwidth_factor: f64,
        rng: &mut ChaCha8Rng,
    ) -> Transmission;
}

/// The default link model: the message is cut into packets of `mtu − header` payload
/// bytes plus a header; each transmission of a packet is lost independently with
/// probability `loss` and sent again, at most [`MAX_RETRANSMISSIONS`] times; airtime
/// is the wire bytes at the link's bandwidth, rounded up to the nanosecond.
#[derive(Debug, Clone, Copy, Default)]
pub struct PacketLoss;

impl LinkModel for PacketLoss {
    fn send(
        &self,
        link: &Link,
        bytes: u64,
        bandwidth_factor: f64,
        rng: &mut ChaCha8Rng,
    ) -> Transmission {
        let all_packets = link.packets(bytes);
        let mut packets = all_packets;
        let mut wire = link.wire_bytes(bytes);
        let mut retransmissions = 0u64;
        let mut lost = false;
        if link.loss > 0.0 {
            let payload = link.payload_per_packet();
            let header = link.header_bytes as u64;
            'packets: for p in 0..all_packets {
                let pkt = if p + 1 < all_packets {
                    payload
                } else {
                    bytes - payload * (all_packets - 1)
                } + header;
                let mut tries = 0;
                while rng.random::<f64>() < link.loss {
                    if tries == MAX_RETRANSMISSIONS {
                        // the link layer gives up: the packets after this one are
                        // never sent, the request is dropped at the end of the attempt
                        lost = true;
                        packets = p + 1;
                        wire = (bytes.min(packets * payload) + packets * header)
                            + (wire - link.wire_bytes(bytes));
                        break 'packets;
                    }
                    wire += pkt;
                    retransmissions += 1;
                    tries += 1;
                }
            }
        }
        Transmission {
            packets,
            retransmissions,
            wire_bytes: wire,
            airtime_ns: link.airtime_ns_wire(wire, bandwidth_factor),
            lost,
        }
    }
}

/// The frame a transmitter has in the air.
#[derive(Debug, Clone, Copy)]
pub(super) struct TxCur {
    pub req: u32,
    pub link: u32,
    pub from: u32,
    pub to: u32,
    /// Frame number on this transmitter (matches its `Ev::TxDone`).
    pub seq: u32,
    /// Scheduled end of transmission (its `TxDone` time).
    pub end: u64,
    /// The message was lost ([`Transmission::lost`]): the request is dropped at the end.
    pub lost: bool,
}

/// One transmitter: its queue of requests waiting to send, the frame in the air.
#[derive(Debug, Default)]
pub(super) struct TxState {
    pub queue: VecDeque<u32>,
    pub current: Option<TxCur>,
    /// Number of frames started so far (the next frame's `seq`, wrapping).
    pub seq: u32,
    pub busy_ns: u64,
    pub max_queue: usize,
}

/// What crossed one link.
#[derive(Debug, Default, Clone)]
pub(super) struct LinkAcc {
    pub bytes: u64,
    pub wire_bytes: u64,
    pub messages: u64,
    pub packets: u64,
    pub retransmissions: u64,
    pub airtime_ns: u64,
}

impl LinkAcc {
    /// Counts one message of `bytes` sent as `t`.
    pub fn record(&mut self, bytes: u64, t: &Transmission) {
        self.bytes += bytes;
        self.wire_bytes += t.wire_bytes;
        self.messages += 1;
        self.packets += t.packets + t.retransmissions;
        self.retransmissions += t.retransmissions;
        self.airtime_ns += t.airtime_ns;
    }
}

/// One idle transmitter per index of [`Network::transmitter`].
pub(super) fn transmitters(net: &Network) -> Vec<TxState> {
    (0..net.transmitters())
        .map(|_| TxState::default())
        .collect()
}

/// The transmitters of link `i` (its medium's, or its two directions').
pub(super) fn link_transmitters<'a>(
    net: &Network,
    txs: &'a [TxState],
    i: usize,
) -> Vec<&'a TxState> {
    let l = &net.links()[i];
    match l.medium {
        Some(_) => vec![&txs[net.transmitter(i, l.a)]],
        None => vec![&txs[net.transmitter(i, l.a)], &txs[net.transmitter(i, l.b)]],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::tests::link;
    use rand::SeedableRng;

    #[test]
    fn a_lossless_message_by_hand() {
        // mtu 100, header 20: 160 B = 2 packets of 80 B, 200 B on the wire;
        // 1600 bits at 1 Mb/s × 0.5 = 3.2 ms
        let l = link(0, 1, 1e6, 1.0);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let t = PacketLoss.send(&l, 160, 0.5, &mut rng);
        assert_eq!(
            t,
            Transmission {
                packets: 2,
                retransmissions: 0,
                wire_bytes: 200,
                airtime_ns: 3_200_000,
                lost: false,
            }
        );
        let mut acc = LinkAcc::default();
        acc.record(160, &t);
        acc.record(160, &t);
        assert_eq!(
            (acc.bytes, acc.wire_bytes, acc.messages, acc.packets),
            (320, 400, 2, 4)
        );
    }

    #[test]
    fn a_packet_lost_eight_times_loses_the_message() {
        // loss just below 1: every try fails; the first packet is sent 1 + 7 times
        let mut l = link(0, 1, 1e6, 1.0);
        l.loss = 1.0 - 1e-12;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let t = PacketLoss.send(&l, 160, 1.0, &mut rng);
        assert!(t.lost);
        assert_eq!((t.packets, t.retransmissions), (1, MAX_RETRANSMISSIONS));
        // 8 tries of the first 100-byte frame
        assert_eq!(t.wire_bytes, 8 * 100);
    }
}
