//! The few textual SDP edits and checks str0m does not do for us.

use str0m::media::{MediaKind, Mid};

/// A browser publisher offers `sendrecv` (it used `addTrack`); the server never
/// sends media back to a publisher, so the offer is read as `sendonly`, which makes
/// the answer `recvonly` as Ant Media's SDK requires (answering `sendrecv` makes it
/// crash reading `idMapping`).
pub fn publisher_offer_as_sendonly(offer: &str) -> String {
    let mut out = String::with_capacity(offer.len());
    let mut in_media = false;
    for line in offer.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\r', '\n']);
        if bare.starts_with("m=") {
            in_media = bare.starts_with("m=audio") || bare.starts_with("m=video");
        }
        if in_media && bare == "a=sendrecv" {
            out.push_str("a=sendonly");
            out.push_str(&line[bare.len()..]);
        } else {
            out.push_str(line);
        }
    }
    out
}

/// A publisher's offer sends simulcast layers (RFC 8853 `a=simulcast:send`).
pub fn offers_simulcast(offer: &str) -> bool {
    offer
        .lines()
        .any(|l| l.trim_end().starts_with("a=simulcast:send"))
}

/// An app with data channels off rejects the `m=application` section of its
/// answer (port 0, out of the BUNDLE group), so the browser's data channel
/// never opens and media is unaffected. (str0m accepts every section it can.)
pub fn reject_application(answer: &str) -> String {
    let mut app_mid = None;
    let mut in_app = false;
    for line in answer.lines() {
        if line.starts_with("m=") {
            in_app = line.starts_with("m=application");
        } else if in_app {
            if let Some(mid) = line.strip_prefix("a=mid:") {
                app_mid = Some(mid.trim().to_owned());
            }
        }
    }
    let mut out = String::with_capacity(answer.len());
    for line in answer.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\r', '\n']);
        let eol = &line[bare.len()..];
        if let Some(rest) = bare.strip_prefix("m=application ") {
            out.push_str("m=application 0 ");
            out.push_str(rest.split_once(' ').map_or("", |(_, t)| t));
        } else if let (Some(group), Some(mid)) = (bare.strip_prefix("a=group:BUNDLE"), &app_mid) {
            out.push_str("a=group:BUNDLE");
            for m in group.split_whitespace().filter(|m| m != mid) {
                out.push(' ');
                out.push_str(m);
            }
        } else {
            out.push_str(bare);
        }
        out.push_str(eol);
    }
    out
}

/// Kind and port of every m-line, in order.
fn m_lines(sdp: &str) -> Vec<(&str, &str)> {
    sdp.lines()
        .filter_map(|l| l.strip_prefix("m="))
        .map(|rest| {
            let mut parts = rest.split_whitespace();
            (parts.next().unwrap_or(""), parts.next().unwrap_or(""))
        })
        .collect()
}

/// The kinds of audio/video m-lines the offer wanted but the answer rejected
/// (port 0): no codec in common.
pub fn rejected_media(offer: &str, answer: &str) -> Vec<String> {
    let offered = m_lines(offer);
    let answered = m_lines(answer);
    offered
        .iter()
        .zip(answered.iter())
        .filter(|((kind, port), (_, aport))| {
            matches!(*kind, "audio" | "video") && *port != "0" && *aport == "0"
        })
        .map(|((kind, _), _)| (*kind).to_owned())
        .collect()
}

/// Mid and kind of every audio/video m-line of `sdp` that is not rejected
/// (port 0) and has direction `direction`, in order.
pub fn accepted_media(sdp: &str, direction: &str) -> Vec<(Mid, MediaKind)> {
    let mut out = Vec::new();
    for section in sdp.split("\nm=").skip(1) {
        let mut words = section.split_whitespace();
        let kind = match words.next() {
            Some("audio") => MediaKind::Audio,
            Some("video") => MediaKind::Video,
            _ => continue,
        };
        if words.next() == Some("0") {
            continue;
        }
        let attr = |name: &str| {
            section
                .lines()
                .find_map(|l| l.trim_end().strip_prefix(name).map(str::to_owned))
        };
        let sends = section
            .lines()
            .any(|l| l.trim_end() == format!("a={direction}"));
        if let (Some(mid), true) = (attr("a=mid:"), sends) {
            out.push((Mid::from(mid.as_str()), kind));
        }
    }
    out
}

/// Puts every audio/video track of `sdp` in one media stream named
/// `stream_id`, with Ant Media's track ids and one CNAME, so that a player
/// plays them together (lip sync is per stream). str0m gives each m-line of
/// an answer its own random stream.
pub fn one_media_stream(sdp: &str, stream_id: &str) -> String {
    let eol = if sdp.contains("\r\n") { "\r\n" } else { "\n" };
    let mut kind = "";
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.lines() {
        if let Some(rest) = line.strip_prefix("m=") {
            kind = rest.split_whitespace().next().unwrap_or("");
        }
        let track = match kind {
            "audio" => format!("ARDAMSa{stream_id}"),
            _ => format!("ARDAMSv{stream_id}"),
        };
        let media = matches!(kind, "audio" | "video");
        if line.starts_with("a=msid-semantic:") {
            out.push_str(&format!("a=msid-semantic: WMS {stream_id}"));
        } else if media && line.starts_with("a=msid:") {
            out.push_str(&format!("a=msid:{stream_id} {track}"));
        } else if let (true, Some(rest)) = (media, line.strip_prefix("a=ssrc:")) {
            let ssrc = rest.split_whitespace().next().unwrap_or("");
            match rest[ssrc.len()..].trim_start().split(':').next() {
                Some("cname") => out.push_str(&format!("a=ssrc:{ssrc} cname:{stream_id}")),
                Some("msid") => out.push_str(&format!("a=ssrc:{ssrc} msid:{stream_id} {track}")),
                _ => out.push_str(line),
            }
        } else {
            out.push_str(line);
        }
        out.push_str(eol);
    }
    out
}

/// The `a=mid` of the first m-line, which carries the bundled candidates.
pub fn first_mid(sdp: &str) -> String {
    sdp.lines()
        .find_map(|l| l.strip_prefix("a=mid:"))
        .unwrap_or("0")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sendrecv\r\n";

    #[test]
    fn every_track_goes_in_one_stream() {
        let answer = "v=0\r\na=msid-semantic: WMS x y\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
                      a=msid:x aaa\r\na=ssrc:1 cname:c1\r\na=ssrc:1 msid:x aaa\r\n\
                      m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=msid:y vvv\r\na=ssrc:2 cname:c2\r\n";
        let out = one_media_stream(answer, "s1");
        assert_eq!(
            out,
            "v=0\r\na=msid-semantic: WMS s1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
             a=msid:s1 ARDAMSas1\r\na=ssrc:1 cname:s1\r\na=ssrc:1 msid:s1 ARDAMSas1\r\n\
             m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=msid:s1 ARDAMSvs1\r\na=ssrc:2 cname:s1\r\n"
        );
    }

    #[test]
    fn only_media_sections_become_sendonly() {
        let out = publisher_offer_as_sendonly(OFFER);
        assert_eq!(out.matches("a=sendonly\r\n").count(), 2);
        assert!(out.ends_with("webrtc-datachannel\r\na=sendrecv\r\n"));
    }

    #[test]
    fn application_rejected_in_the_answer() {
        let answer = "v=0\r\na=group:BUNDLE 0 1 2\r\nm=audio 9 X 111\r\na=mid:0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n";
        let out = reject_application(answer);
        assert!(out.contains("a=group:BUNDLE 0 1\r\n"), "{out}");
        assert!(
            out.contains("m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n"),
            "{out}"
        );
        assert!(out.contains("m=audio 9 X 111\r\n"));
    }

    #[test]
    fn rejected_sections_are_named() {
        let answer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nm=video 0 UDP/TLS/RTP/SAVPF 0\r\nm=application 9 x\r\n";
        assert_eq!(rejected_media(OFFER, answer), vec!["video"]);
        assert!(rejected_media(OFFER, OFFER).is_empty());
    }
}
