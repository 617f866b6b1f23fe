//! Sealing RTP for one peer under its DTLS-SRTP keys: the AEAD-AES-GCM
//! profiles (RFC 7714), which browsers and str0m pick first.
//!
//! Session keys come from the master key and salt through the AES-CM key
//! derivation of RFC 3711 §4.3 (key derivation rate 0).

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};
use aws_lc_rs::cipher::{EncryptingKey, EncryptionContext, UnboundCipherKey, AES_128, AES_256};
use str0m_proto::crypto::dtls::SrtpProfile;

use super::keys::SrtpKeys;

/// GCM authentication tag, appended to every packet.
pub(crate) const TAG_LEN: usize = 16;
/// Salt of the GCM profiles (RFC 7714 §12).
const SALT_LEN: usize = 12;
/// RFC 3711 §4.3.1 labels.
const LABEL_RTP_KEY: u8 = 0x00;
const LABEL_RTP_SALT: u8 = 0x02;
const LABEL_RTCP_KEY: u8 = 0x03;
const LABEL_RTCP_SALT: u8 = 0x05;
/// The E flag and SRTCP index that end every SRTCP packet (RFC 3711 §3.4).
pub(crate) const SRTCP_INDEX_LEN: usize = 4;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SealerError {
    /// AES-CM with HMAC-SHA1 is not sealed here (str0m still sends those).
    UnsupportedProfile,
    /// Keying material of the wrong length for its profile.
    BadKeyingMaterial,
    /// An RTP header shorter than 12 bytes, or longer than the packet.
    BadHeader,
    Crypto,
}

/// One peer's outgoing SRTP.
pub(crate) struct SrtpSealer {
    key: LessSafeKey,
    salt: [u8; SALT_LEN],
    rtcp_key: LessSafeKey,
    rtcp_salt: [u8; SALT_LEN],
    /// The next SRTCP index (31 bits).
    rtcp_index: u32,
}

impl std::fmt::Debug for SrtpSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpSealer").finish()
    }
}

impl SrtpSealer {
    pub fn new(keys: &SrtpKeys) -> Result<Self, SealerError> {
        let key_len = match keys.profile {
            SrtpProfile::AEAD_AES_128_GCM => 16,
            SrtpProfile::AEAD_AES_256_GCM => 32,
            _ => return Err(SealerError::UnsupportedProfile),
        };
        let m = &keys.material;
        if m.len() != 2 * (key_len + SALT_LEN) {
            return Err(SealerError::BadKeyingMaterial);
        }
        // The client's half first, then the server's (RFC 5764 §4.2).
        let side = usize::from(!keys.active);
        let master_key = &m[side * key_len..(side + 1) * key_len];
        let salts = &m[2 * key_len..];
        let master_salt = &salts[side * SALT_LEN..(side + 1) * SALT_LEN];
        let aead = if key_len == 16 {
            &AES_128_GCM
        } else {
            &AES_256_GCM
        };
        let session = |key_label: u8, salt_label: u8| {
            let mut key = vec![0u8; key_len];
            derive(master_key, master_salt, key_label, &mut key)?;
            let mut salt = [0u8; SALT_LEN];
            derive(master_key, master_salt, salt_label, &mut salt)?;
            let key = UnboundKey::new(aead, &key).map_err(|_| SealerError::Crypto)?;
            Ok::<_, SealerError>((LessSafeKey::new(key), salt))
        };
        let (key, salt) = session(LABEL_RTP_KEY, LABEL_RTP_SALT)?;
        let (rtcp_key, rtcp_salt) = session(LABEL_RTCP_KEY, LABEL_RTCP_SALT)?;
        Ok(SrtpSealer {
            key,
            salt,
            rtcp_key,
            rtcp_salt,
            rtcp_index: 0,
        })
    }

    /// Seals the RTP packet at the end of `buf`, from `start` (its header is
    /// the first `header_len` bytes, extensions included), in place and
    /// appends the tag. `roc` is the rollover counter of its SSRC: the
    /// writer's extended sequence number over 2^16, as str0m counts it.
    pub fn seal_rtp(
        &mut self,
        buf: &mut Vec<u8>,
        start: usize,
        header_len: usize,
        roc: u32,
    ) -> Result<(), SealerError> {
        let packet = buf.get_mut(start..).ok_or(SealerError::BadHeader)?;
        if header_len < 12 || header_len > packet.len() {
            return Err(SealerError::BadHeader);
        }
        let seq = u16::from_be_bytes([packet[2], packet[3]]);
        let ssrc = u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]);
        // RFC 7714 §8.1: 00 00 | SSRC | ROC | SEQ, XOR the session salt.
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&ssrc.to_be_bytes());
        iv[6..10].copy_from_slice(&roc.to_be_bytes());
        iv[10..12].copy_from_slice(&seq.to_be_bytes());
        for (b, s) in iv.iter_mut().zip(self.salt) {
            *b ^= s;
        }
        let (header, body) = packet.split_at_mut(header_len);
        let tag = self
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(&*header), body)
            .map_err(|_| SealerError::Crypto)?;
        buf.extend_from_slice(tag.as_ref());
        Ok(())
    }
}

impl SrtpSealer {
    /// Seals the (compound) RTCP packet at the end of `buf`, from `start`, in
    /// place: the first 8 bytes stay clear, then the tag and the E flag with
    /// the SRTCP index (RFC 7714 §9.1, §17).
    pub fn seal_rtcp(&mut self, buf: &mut Vec<u8>, start: usize) -> Result<(), SealerError> {
        let packet = buf.get_mut(start..).ok_or(SealerError::BadHeader)?;
        if packet.len() < 8 {
            return Err(SealerError::BadHeader);
        }
        let index = self.rtcp_index;
        self.rtcp_index = (index + 1) & 0x7fff_ffff;
        let e_index = (0x8000_0000 | index).to_be_bytes();
        // 00 00 | SSRC | 00 00 | index, XOR the session salt.
        let mut iv = [0u8; 12];
        iv[2..6].copy_from_slice(&packet[4..8]);
        iv[8..12].copy_from_slice(&index.to_be_bytes());
        for (b, s) in iv.iter_mut().zip(self.rtcp_salt) {
            *b ^= s;
        }
        let mut aad = [0u8; 12];
        aad[..8].copy_from_slice(&packet[..8]);
        aad[8..].copy_from_slice(&e_index);
        let (_, body) = packet.split_at_mut(8);
        let tag = self
            .rtcp_key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(&aad), body)
            .map_err(|_| SealerError::Crypto)?;
        buf.extend_from_slice(tag.as_ref());
        buf.extend_from_slice(&e_index);
        Ok(())
    }
}

/// RFC 3711 §4.3.1 with key derivation rate 0: AES-CM keystream under the
/// master key, IV = (master salt XOR label at byte 7) padded with zeros.
fn derive(
    master_key: &[u8],
    master_salt: &[u8],
    label: u8,
    out: &mut [u8],
) -> Result<(), SealerError> {
    let mut iv = [0u8; 16];
    iv[..master_salt.len()].copy_from_slice(master_salt);
    iv[7] ^= label;
    let alg = if master_key.len() == 16 {
        &AES_128
    } else {
        &AES_256
    };
    let key = UnboundCipherKey::new(alg, master_key).map_err(|_| SealerError::Crypto)?;
    let key = EncryptingKey::ctr(key).map_err(|_| SealerError::Crypto)?;
    out.fill(0);
    key.less_safe_encrypt(out, EncryptionContext::Iv128(iv.into()))
        .map_err(|_| SealerError::Crypto)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    use str0m::change::SdpOffer;
    use str0m::media::{Direction, MediaKind};
    use str0m::net::{Protocol, Receive};
    use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

    use super::*;
    use crate::egress::keys;

    fn peer(now: Instant, addr: SocketAddr) -> Rtc {
        let mut rtc = RtcConfig::new()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_vp8(true)
            .build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        rtc
    }

    /// RTP a peer got: sequence number and payload.
    type Got = Vec<(u16, Vec<u8>)>;

    /// Runs `rtc` until its next timeout: (datagrams it sends, RTP it got).
    fn drain(rtc: &mut Rtc, now: Instant) -> (Vec<Vec<u8>>, Got) {
        let (mut sent, mut rtp) = (Vec::new(), Vec::new());
        loop {
            match rtc.poll_output().unwrap() {
                Output::Timeout(t) if t <= now => rtc.handle_input(Input::Timeout(now)).unwrap(),
                Output::Timeout(_) => return (sent, rtp),
                Output::Transmit(t) => sent.push(t.contents.to_vec()),
                Output::Event(Event::RtpPacket(p)) => {
                    rtp.push((p.header.sequence_number, p.payload.to_vec()))
                }
                Output::Event(_) => {}
            }
        }
    }

    fn deliver(rtc: &mut Rtc, now: Instant, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        let input = Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: from,
                destination: to,
                contents: data.try_into().unwrap(),
            },
        );
        rtc.handle_input(input).unwrap();
    }

    /// The sealer's packets, under keys taken from a real handshake, are
    /// accepted by a str0m receiver, across a sequence-number wrap.
    #[test]
    fn a_str0m_receiver_opens_what_the_sealer_seals() {
        crate::shared_dtls::install();
        let mut now = Instant::now();
        let (s_addr, c_addr): (SocketAddr, SocketAddr) = (
            "10.0.0.1:5000".parse().unwrap(),
            "10.0.0.2:6000".parse().unwrap(),
        );
        let mut server = peer(now, s_addr);
        let slot = keys::take_last().expect("the server's DTLS has a key slot");
        let mut client = peer(now, c_addr);
        let mut api = client.sdp_api();
        let mid = api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        let (offer, pending) = api.apply().unwrap();
        let offer = SdpOffer::from_sdp_string(&offer.to_sdp_string()).unwrap();
        let answer = server.sdp_api().accept_offer(offer).unwrap();
        client.sdp_api().accept_answer(pending, answer).unwrap();
        for _ in 0..200 {
            if server.is_connected() && client.is_connected() && slot.get().is_some() {
                break;
            }
            now += Duration::from_millis(5);
            for d in drain(&mut client, now).0 {
                deliver(&mut server, now, c_addr, s_addr, &d);
            }
            for d in drain(&mut server, now).0 {
                deliver(&mut client, now, s_addr, c_addr, &d);
            }
        }
        let keys = slot.get().expect("keys once DTLS is up");
        assert!(matches!(
            keys.profile,
            SrtpProfile::AEAD_AES_256_GCM | SrtpProfile::AEAD_AES_128_GCM
        ));
        let mut sealer = SrtpSealer::new(&keys).unwrap();
        let ssrc = *server
            .direct_api()
            .stream_tx_by_mid(mid, None)
            .unwrap()
            .ssrc();
        let pt = *server.media(mid).unwrap().remote_pts()[0];

        let mut got = Vec::new();
        for (i, ext) in (65_533u64..65_539).enumerate() {
            let seq = ext as u16;
            // Sealed behind a datagram already waiting, as in an outbox.
            let mut packet = vec![0xee; 3];
            packet.extend_from_slice(&[0x80, pt]);
            packet.extend_from_slice(&seq.to_be_bytes());
            packet.extend_from_slice(&(i as u32 * 3000).to_be_bytes());
            packet.extend_from_slice(&ssrc.to_be_bytes());
            let payload: Vec<u8> = (0..200).map(|b| (b + i) as u8).collect();
            packet.extend_from_slice(&payload);
            sealer
                .seal_rtp(&mut packet, 3, 12, (ext >> 16) as u32)
                .unwrap();
            assert_eq!(packet.len(), 3 + 12 + 200 + TAG_LEN);
            assert_eq!(packet[..3], [0xee; 3], "what came before is untouched");
            now += Duration::from_millis(1);
            deliver(&mut client, now, s_addr, c_addr, &packet[3..]);
            got.extend(drain(&mut client, now).1);
            assert_eq!(
                got.last().map(|(s, p)| (*s, p.clone())),
                Some((seq, payload))
            );
        }
        assert_eq!(got.len(), 6);
    }

    #[test]
    fn wrong_profiles_and_material_are_refused() {
        let mut keys = SrtpKeys {
            profile: SrtpProfile::AES128_CM_SHA1_80,
            material: vec![0; 60],
            active: false,
        };
        assert_eq!(
            SrtpSealer::new(&keys).unwrap_err(),
            SealerError::UnsupportedProfile
        );
        keys.profile = SrtpProfile::AEAD_AES_256_GCM;
        assert_eq!(
            SrtpSealer::new(&keys).unwrap_err(),
            SealerError::BadKeyingMaterial
        );
        keys.material = vec![0; 88];
        let mut s = SrtpSealer::new(&keys).unwrap();
        let mut short = vec![0x80; 11];
        assert_eq!(
            s.seal_rtp(&mut short, 0, 12, 0),
            Err(SealerError::BadHeader)
        );
        assert_eq!(
            s.seal_rtp(&mut short, 20, 12, 0),
            Err(SealerError::BadHeader)
        );
        assert_eq!(s.seal_rtcp(&mut short, 4), Err(SealerError::BadHeader));
    }
}
