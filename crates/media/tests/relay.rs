//! The relay between two media workers' SFUs, driven by hand: a publisher on
//! one, its mirror and a player on the other.

use std::time::Instant;

use str0m::media::{MediaKind, Mid, Rid};
use tern_core::{
    MediaCommand, MediaEvent, MediaProfile, PeerId, PlayerData, SessionId, Source, StreamKey,
};
use tern_media::{LocalAddrs, Relay, Sfu, SfuOutput};

const OFFER: &str = include_str!("fixtures/chrome_offer.sdp");
const PUBLISHER: PeerId = PeerId(1);
const PLAYER: PeerId = PeerId(2);

fn profile() -> MediaProfile {
    MediaProfile {
        vp8: true,
        h264: false,
        prefer_h264: false,
        data_channel: true,
        player_data: PlayerData::All,
        no_media_timeout: None,
        full_ice: false,
        local: None,
        whole_gop: false,
        all_layers: false,
    }
}

fn sfu(index: usize, port: u16) -> Sfu {
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    Sfu::new(LocalAddrs::new(vec![addr]).unwrap())
        .unwrap()
        .with_worker_index(index)
}

fn stream() -> StreamKey {
    StreamKey {
        app: "LiveApp".into(),
        id: "s".into(),
    }
}

/// Worker 0 with a publisher of the Chrome offer.
fn home() -> Sfu {
    let mut sfu = sfu(0, 5000);
    sfu.handle_command(
        Instant::now(),
        MediaCommand::OpenPublisher {
            peer: PUBLISHER,
            session: SessionId(1),
            stream: stream(),
            group: "s".into(),
            profile: profile(),
            offer: OFFER.to_owned(),
        },
    );
    drain(&mut sfu);
    sfu
}

fn drain(sfu: &mut Sfu) -> Vec<SfuOutput> {
    std::iter::from_fn(|| sfu.poll_output()).collect()
}

fn relays(out: Vec<SfuOutput>) -> Vec<(usize, Relay)> {
    out.into_iter()
        .filter_map(|o| match o {
            SfuOutput::Relay { worker, relay } => Some((worker, relay)),
            _ => None,
        })
        .collect()
}

fn source_epoch(r: &Relay) -> u64 {
    match r {
        Relay::Source { epoch, .. } => *epoch,
        other => panic!("not a mirror: {other:?}"),
    }
}

#[test]
fn a_mirror_lets_another_worker_negotiate_a_player_and_its_end_reaches_home() {
    let mut home = home();
    assert!(home.mirror_to(PUBLISHER, 1));
    assert!(!home.mirror_to(PUBLISHER, 0), "not to itself");
    assert!(!home.mirror_to(PeerId(99), 1), "no such publisher");
    let mut sent = relays(drain(&mut home));
    assert_eq!(sent.len(), 1);
    let (to, source) = sent.remove(0);
    assert_eq!(to, 1);
    let Relay::Source {
        home: from, epoch, ..
    } = source
    else {
        panic!("{source:?}")
    };
    assert_eq!(from, 0);
    // A publisher lists its tracks once DTLS is up, which needs a browser:
    // this mirror says what a connected one would.
    let source = Relay::Source {
        source: PUBLISHER,
        home: 0,
        epoch,
        tracks: vec![
            (Mid::from("0"), MediaKind::Audio),
            (Mid::from("1"), MediaKind::Video),
        ],
        simulcast: false,
        rids: Vec::new(),
    };

    // The other worker offers the player both of the publisher's tracks.
    let mut other = sfu(1, 5001);
    other.handle_relay(Instant::now(), source);
    let offer = player_offer(&mut other, profile());
    assert!(
        offer.contains("m=audio") && offer.contains("m=video"),
        "{offer}"
    );
    assert!(offer.contains("127.0.0.1 5001"), "its own worker's port");

    // Its last player gone, the other worker tells home to stop, for this mirror.
    other.handle_command(Instant::now(), MediaCommand::Close { peer: PLAYER });
    let back = relays(drain(&mut other));
    assert!(
        matches!(back.as_slice(), [(0, Relay::Unmirror { source, worker: 1, epoch: e })]
            if *source == PUBLISHER && *e == epoch),
        "{back:?}"
    );
    for (_, r) in back {
        home.handle_relay(Instant::now(), r);
    }
    // Nothing mirrored any more: the publisher's end tells nobody.
    home.handle_command(Instant::now(), MediaCommand::Close { peer: PUBLISHER });
    assert!(relays(drain(&mut home)).is_empty());
}

#[test]
fn a_stale_unmirror_leaves_a_newer_mirror_running() {
    let mut home = home();
    home.mirror_to(PUBLISHER, 1);
    let first = source_epoch(&relays(drain(&mut home))[0].1);
    // A new player arrives for worker 1 while its "no players left" is on the way.
    home.mirror_to(PUBLISHER, 1);
    let second = source_epoch(&relays(drain(&mut home))[0].1);
    assert!(second > first);
    home.handle_relay(
        Instant::now(),
        Relay::Unmirror {
            source: PUBLISHER,
            worker: 1,
            epoch: first,
        },
    );
    // Still relayed: the publisher's end reaches worker 1.
    home.handle_command(Instant::now(), MediaCommand::Close { peer: PUBLISHER });
    let gone = relays(drain(&mut home));
    assert!(
        matches!(gone.as_slice(), [(1, Relay::Gone { source })] if *source == PUBLISHER),
        "{gone:?}"
    );
}

/// Opens the player of the publisher (mirrored on `sfu`) and returns its offer.
fn player_offer(sfu: &mut Sfu, profile: MediaProfile) -> String {
    sfu.handle_command(
        Instant::now(),
        MediaCommand::OpenPlayer {
            peer: PLAYER,
            session: SessionId(2),
            stream: stream(),
            sources: vec![Source {
                peer: PUBLISHER,
                stream_id: "s".into(),
            }],
            profile,
            offer: None,
        },
    );
    drain(sfu)
        .into_iter()
        .find_map(|o| match o {
            SfuOutput::Event(MediaEvent::Offer { sdp, .. }) => Some(sdp),
            _ => None,
        })
        .expect("an offer from the mirror")
}

/// The offer a worker makes to a player of a mirrored simulcast source.
fn offer_for(all_layers: bool) -> String {
    let mut other = sfu(1, 5001);
    other.handle_relay(
        Instant::now(),
        Relay::Source {
            source: PUBLISHER,
            home: 0,
            epoch: 1,
            tracks: vec![
                (Mid::from("0"), MediaKind::Audio),
                (Mid::from("1"), MediaKind::Video),
            ],
            simulcast: true,
            rids: ["q", "h", "f"].into_iter().map(Rid::from).collect(),
        },
    );
    player_offer(
        &mut other,
        MediaProfile {
            all_layers,
            ..profile()
        },
    )
}

#[test]
fn a_player_of_every_layer_is_offered_each_rid_of_the_source_to_send() {
    let offer = offer_for(true);
    let video = offer
        .split("m=video")
        .nth(1)
        .and_then(|v| v.split("m=application").next())
        .expect("a video section");
    assert!(video.contains("a=simulcast:send q;h;f"), "{video}");
    for rid in ["q", "h", "f"] {
        assert!(video.contains(&format!("a=rid:{rid} send")), "{video}");
    }
    assert_eq!(offer.matches("m=video").count(), 1, "one m-line: {offer}");
    // An ordinary player gets one chosen layer: no simulcast in its offer.
    assert!(!offer_for(false).contains("a=simulcast"));
}
