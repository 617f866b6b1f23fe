//! A WebRTC publisher's incoming packets, read once into the [`Ingress`] every
//! sink of its stream shares.

use std::time::Instant;

use str0m::media::MediaKind;
use str0m::rtp::{ExtensionValues, RtpPacket};

use crate::peer::Peer;
use crate::rtp::packet::Ingress;
use crate::rtp::packet_info::inspect;

/// Reads one incoming packet of a publisher: its track and layer, codec,
/// keyframe start and frame size, counted in the source's stats.
pub fn ingress(now: Instant, peer: &mut Peer, packet: RtpPacket) -> Option<Ingress> {
    // Padding (bandwidth probes) carries no media.
    if packet.payload.is_empty() {
        return None;
    }
    let (mid, rid) = peer.ingest_stream(packet.header.ssrc)?;
    let pt = packet.header.payload_type;
    let params = *peer.rtc.codec_config().find(|p| p.pt() == pt)?;
    let codec = params.spec().codec;
    let kind = if codec.is_audio() {
        MediaKind::Audio
    } else {
        MediaKind::Video
    };
    let info = inspect(codec, &packet.payload);
    let len = packet.payload.len();
    peer.stats.on_packet(now, kind, codec, rid, len, info.size);
    if kind == MediaKind::Video && packet.header.marker {
        peer.stats.on_frame_end(rid);
    }
    let layers = match rid {
        Some(_) => peer.stats.layers(now),
        None => Vec::new(),
    };
    peer.last_media = Some(now);
    if let Some(rid) = rid {
        // `TERN_LOG=tern::frames=trace` records simulcast ingest.
        tracing::trace!(target: "tern::frames", %rid, ticks = packet.time.numer(),
            seq = *packet.seq_no, key = info.keyframe, marker = packet.header.marker, len, "packet");
    }
    Some(Ingress {
        mid,
        rid,
        kind,
        params,
        info,
        layers,
        seq: *packet.seq_no,
        ticks: packet.time.numer(),
        hz: packet.time.denom(),
        marker: packet.header.marker,
        arrived: packet.timestamp,
        ext: relayed_extensions(&packet.header.ext_vals),
        payload: packet.payload,
        whole_gop: peer.profile.whole_gop,
    })
}

/// The header extensions a player gets from the publisher's packet; the rest
/// (transport-wide sequence numbers, mid, rid) are the player's own.
fn relayed_extensions(from: &ExtensionValues) -> ExtensionValues {
    ExtensionValues {
        audio_level: from.audio_level,
        voice_activity: from.voice_activity,
        video_orientation: from.video_orientation,
        ..Default::default()
    }
}
