//! AAC from an RTMP publisher into Opus for WebRTC players, sans-IO: raw AAC
//! access units with their FLV times in, 20 ms Opus packets at 48 kHz with
//! their 48 kHz ticks out.
//!
//! The chain is `decode` (AAC-LC, symphonia) → `resample` (to 48 kHz, rubato)
//! → `encode` (libopus), with `clock` keeping the output on the input's
//! clock. Packet ticks follow the FLV times to within a millisecond or two:
//! the first packet's ticks are the first unit's time × 48; packets then
//! advance 960 ticks each. The resampler's and the Opus encoder's delays are
//! dropped from the front of the audio at each anchor, so the sample a player
//! decodes at tick `t` is the one the publisher stamped `t / 48` ms.
//!
//! Peer bytes are safe to pass to [`AacToOpus::new`] and [`AacToOpus::push`]:
//! what is not AAC-LC mono or stereo at a standard rate is refused with an
//! error, and a unit that does not decode is skipped; the next one goes on.

mod clock;
mod config;
mod decode;
mod encode;
mod error;
mod resample;

pub use clock::JUMP_MS;
pub use config::AacConfig;
pub use encode::PACKET_FRAMES;
pub use error::AudioError;

use clock::{Clock, Place};
use decode::Decoder;
use encode::Encode;
use resample::Resample;

/// One Opus packet (one 20 ms frame; RFC 7587's RTP payload as it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpusPacket {
    pub data: Vec<u8>,
    /// 48 kHz ticks of its first sample, on the input's clock (FLV ms × 48).
    /// They go up by 960 a packet, and jump where the input's clock jumped by
    /// more than [`JUMP_MS`] (either way).
    pub ticks: u64,
}

/// An AAC → Opus transcoder for one audio track.
pub struct AacToOpus {
    config: AacConfig,
    decoder: Decoder,
    resample: Resample,
    encode: Encode,
    clock: Clock,
    /// Frames of 48 kHz audio to drop at an anchor: the resampler's and the
    /// encoder's delays, so that ticks count from the audio's true start.
    lead_in: usize,
    /// Resampled samples on their way to the encoder (kept for its memory).
    pcm: Vec<f32>,
    /// Packets finished in a call that then failed, for the next call.
    ready: Vec<OpusPacket>,
}

impl AacToOpus {
    /// From the AudioSpecificConfig (the FLV AAC sequence header's payload,
    /// 2 bytes or more). AAC-LC, mono or stereo, 7350 to 96000 Hz; HE-AAC
    /// (v1, v2) is taken and its AAC-LC core decoded (see [`AacConfig`]).
    pub fn new(audio_specific_config: &[u8]) -> Result<AacToOpus, AudioError> {
        let config = config::parse(audio_specific_config)?;
        let channels = usize::from(config.channels);
        let decoder = Decoder::new(&config)?;
        let resample = Resample::new(config.sample_rate, channels)?;
        let mut encode = Encode::new(channels)?;
        let lead_in = resample.delay() + encode.lookahead()?;
        Ok(AacToOpus {
            config,
            decoder,
            resample,
            encode,
            clock: Clock::new(config.sample_rate),
            lead_in,
            pcm: Vec::new(),
            ready: Vec::new(),
        })
    }

    /// What the config said (the core's rate and channels for HE-AAC).
    pub fn config(&self) -> AacConfig {
        self.config
    }

    /// Opus channels: the source's, 1 or 2.
    pub fn channels(&self) -> u8 {
        self.config.channels
    }

    /// One raw AAC access unit (no ADTS header) with its presentation time
    /// in milliseconds (the FLV clock). Returns the Opus packets complete now
    /// (none for the first unit or two: the chain fills first). On an error
    /// the unit is lost and nothing else: push the next one.
    pub fn push(&mut self, access_unit: &[u8], pts_ms: u64) -> Result<Vec<OpusPacket>, AudioError> {
        let place = self.clock.place(pts_ms);
        if place == Place::Anchor {
            // The last unit's overlap belongs to the audio before the jump.
            self.decoder.reset();
        }
        // Decoded before anything else changes, so that a unit that does
        // not decode moves no clock.
        let planes = self.decoder.decode(access_unit)?;
        let mut trim = 0;
        match place {
            Place::Anchor => {
                self.clock.anchor(pts_ms);
                self.pcm.clear();
                self.resample.reset();
                self.encode.restart(self.lead_in)?;
            }
            Place::Fill(frames) => {
                if frames > 0 {
                    self.resample.push_silence(frames, &mut self.pcm)?;
                    self.clock.count(frames);
                }
            }
            Place::Trim(frames) => trim = frames,
        }
        let frames = planes.first().map_or(0, Vec::len);
        let trim = trim.min(frames);
        let kept: Vec<&[f32]> = planes.iter().map(|p| &p[trim..]).collect();
        self.resample.push(&kept, &mut self.pcm)?;
        self.clock.count(frames - trim);

        self.encode.push(&self.pcm);
        self.pcm.clear();
        let mut packets = std::mem::take(&mut self.ready);
        let mut failed = None;
        while let Some(packet) = self.encode.next_packet() {
            // A frame that failed still takes its time, so the packets after
            // it keep theirs.
            let ticks = self.clock.next_packet();
            match packet {
                Ok(data) => packets.push(OpusPacket { data, ticks }),
                Err(e) => failed = Some(e),
            }
        }
        match failed {
            Some(e) => {
                self.ready = packets;
                Err(e)
            }
            None => Ok(packets),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transcoder_can_move_to_another_thread() {
        fn send<T: Send>() {}
        send::<AacToOpus>();
    }

    #[test]
    fn nothing_comes_out_before_a_whole_packet_is_in() {
        // 44.1 kHz stereo; a unit of only a terminator element decodes to
        // 1024 frames of silence.
        let mut t = AacToOpus::new(&[0x12, 0x10]).unwrap();
        assert_eq!(t.push(&[0xe0], 500), Ok(Vec::new()));
        let packets: Vec<_> = (1..4)
            .flat_map(|n| t.push(&[0xe0], 500 + n * 23).unwrap())
            .collect();
        assert_eq!(packets.first().map(|p| p.ticks), Some(500 * 48));
    }
}
