//! MPEG-TS packets into whole PES packets of the H.264 and AAC (ADTS)
//! streams, with mpeg2ts-reader doing the transport stream (PAT, PMT, PES
//! headers, continuity).

use mpeg2ts_reader::demultiplex::{
    self, DemuxContext, FilterChangeset, FilterRequest, NullPacketFilter, PatPacketFilter,
    PmtPacketFilter,
};
use mpeg2ts_reader::pes::{self, ElementaryStreamConsumer, PesContents, PesHeader, PtsDts};
use mpeg2ts_reader::{packet_filter_switch, psi, StreamType};

/// Which elementary stream a PES packet is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    H264,
    Adts,
}

/// One whole PES packet, its times in 90 kHz ticks (33 bits).
#[derive(Debug)]
pub struct Pes {
    pub kind: Kind,
    pub pts: Option<u64>,
    pub dts: Option<u64>,
    pub data: Vec<u8>,
}

const SYNC: u8 = 0x47;
const PACKET: usize = 188;

/// Largest PES packet kept: a bigger one is dropped, not grown without end.
const MAX_PES: usize = 4 << 20;

packet_filter_switch! {
    Filters<Ctx> {
        Pes: pes::PesPacketFilter<Ctx, Collect>,
        Pat: PatPacketFilter<Ctx>,
        Pmt: PmtPacketFilter<Ctx>,
        Null: NullPacketFilter<Ctx>,
    }
}

/// The demultiplexer's context: its filters, and the PES packets completed.
pub struct Ctx {
    changeset: FilterChangeset<Filters>,
    pub done: Vec<Pes>,
    /// Stream types of the program that Tern does not take (HEVC, MP3...).
    pub ignored: Vec<u8>,
}

impl DemuxContext for Ctx {
    type F = Filters;

    fn filter_changeset(&mut self) -> &mut FilterChangeset<Self::F> {
        &mut self.changeset
    }

    fn construct(&mut self, req: FilterRequest<'_, '_>) -> Self::F {
        match req {
            FilterRequest::ByPid(psi::pat::PAT_PID) => Filters::Pat(PatPacketFilter::default()),
            FilterRequest::ByPid(_) => Filters::Null(NullPacketFilter::default()),
            FilterRequest::ByStream { stream_type, .. } => {
                let kind = match stream_type {
                    StreamType::H264 => Kind::H264,
                    StreamType::ADTS => Kind::Adts,
                    other => {
                        if !self.ignored.contains(&other.0) {
                            self.ignored.push(other.0);
                        }
                        return Filters::Null(NullPacketFilter::default());
                    }
                };
                Filters::Pes(pes::PesPacketFilter::new(Collect {
                    kind,
                    current: None,
                }))
            }
            FilterRequest::Pmt {
                pid,
                program_number,
            } => Filters::Pmt(PmtPacketFilter::new(pid, program_number)),
            FilterRequest::Nit { .. } => Filters::Null(NullPacketFilter::default()),
        }
    }
}

/// Gathers one stream's PES packets.
pub struct Collect {
    kind: Kind,
    current: Option<Pes>,
}

impl ElementaryStreamConsumer<Ctx> for Collect {
    fn start_stream(&mut self, _ctx: &mut Ctx) {}

    fn begin_packet(&mut self, ctx: &mut Ctx, header: PesHeader<'_>) {
        self.end_packet(ctx);
        let (pts, dts, data) = match header.contents() {
            PesContents::Parsed(Some(parsed)) => {
                let (pts, dts) = match parsed.pts_dts() {
                    Ok(PtsDts::PtsOnly(Ok(p))) => (Some(p.value()), None),
                    Ok(PtsDts::Both {
                        pts: Ok(p),
                        dts: Ok(d),
                    }) => (Some(p.value()), Some(d.value())),
                    _ => (None, None),
                };
                (pts, dts, parsed.payload())
            }
            PesContents::Parsed(None) => (None, None, &[][..]),
            PesContents::Payload(p) => (None, None, p),
        };
        self.current = Some(Pes {
            kind: self.kind,
            pts,
            dts,
            data: data.to_vec(),
        });
    }

    fn continue_packet(&mut self, _ctx: &mut Ctx, data: &[u8]) {
        if let Some(p) = self.current.as_mut() {
            if p.data.len() + data.len() > MAX_PES {
                self.current = None;
            } else {
                p.data.extend_from_slice(data);
            }
        }
    }

    fn end_packet(&mut self, ctx: &mut Ctx) {
        if let Some(p) = self.current.take() {
            if !p.data.is_empty() {
                ctx.done.push(p);
            }
        }
    }

    fn continuity_error(&mut self, _ctx: &mut Ctx) {
        // Part of this packet is lost: drop it rather than pass on a hole.
        self.current = None;
    }
}

/// A transport stream's demultiplexer.
pub struct Demux {
    ctx: Ctx,
    demux: demultiplex::Demultiplex<Ctx>,
    /// Bytes of a 188-byte packet cut by the transport.
    partial: Vec<u8>,
}

impl Default for Demux {
    fn default() -> Self {
        let mut ctx = Ctx {
            changeset: FilterChangeset::default(),
            done: Vec::new(),
            ignored: Vec::new(),
        };
        let demux = demultiplex::Demultiplex::new(&mut ctx);
        Demux {
            ctx,
            demux,
            partial: Vec::new(),
        }
    }
}

impl Demux {
    /// Transport stream bytes (any cut); the PES packets they completed.
    pub fn push(&mut self, data: &[u8]) -> Vec<Pes> {
        self.partial.extend_from_slice(data);
        // Lost sync (garbage, a cut packet): skip to a sync byte that has
        // another one packet later.
        let synced =
            |b: &[u8], at: usize| b[at] == SYNC && b.get(at + PACKET).is_none_or(|&x| x == SYNC);
        match (0..self.partial.len()).find(|&at| synced(&self.partial, at)) {
            Some(0) => {}
            Some(at) => {
                self.partial.drain(..at);
            }
            None => self.partial.clear(),
        }
        let whole = self.partial.len() / PACKET * PACKET;
        if whole > 0 {
            self.demux.push(&mut self.ctx, &self.partial[..whole]);
            self.partial.drain(..whole);
        }
        std::mem::take(&mut self.ctx.done)
    }

    /// Stream types seen in the program and not taken.
    pub fn ignored(&self) -> &[u8] {
        &self.ctx.ignored
    }
}
