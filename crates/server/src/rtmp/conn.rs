//! One RTMP connection: handshake, `connect`, `publish`, then media. The
//! protocol itself (handshake, chunks, AMF commands) is `rml_rtmp`'s sans-IO
//! session; this task does the IO and speaks to the session logic as a
//! headless signaling session, so every rule of a WebSocket publisher holds.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rml_rtmp::handshake::{Handshake, HandshakeProcessResult, PeerType};
use rml_rtmp::sessions::{
    ServerSession, ServerSessionConfig, ServerSessionEvent as Event, ServerSessionResult,
};
use tern_ingest::frames::FlvToFrames;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::key;
use super::status;
use super::RtmpState;
use crate::encoder::{EncoderPublish, Refusal};

/// How long a client gets from connecting to its `publish`.
const PUBLISH_WITHIN: Duration = Duration::from_secs(15);
/// A publisher that sends nothing for this long is gone (its stream waits
/// in the restore window).
const MEDIA_TIMEOUT: Duration = Duration::from_secs(10);
/// What a publisher that sends B-frames is told (log and status).
const B_FRAMES_ADVICE: &str = "WebRTC players show them out of order; set the encoder to no B-frames (x264: bframes=0, OBS: profile baseline)";
/// Largest read at once.
const READ_CHUNK: usize = 64 * 1024;

/// Why a connection ended.
#[derive(Debug)]
pub enum ConnError {
    /// The client closed the connection.
    Closed,
    /// Nothing arrived in time (handshake, publish, or media).
    Timeout(&'static str),
    /// The socket failed.
    Io(std::io::Error),
    /// The client broke the RTMP protocol (handshake, chunks, AMF).
    Protocol(String),
    /// The publish was refused (status code sent to the client), or the
    /// stream could not go on.
    Refused(String),
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Closed => write!(f, "the client closed the connection"),
            Self::Timeout(what) => write!(f, "timed out waiting for {what}"),
            Self::Io(e) => write!(f, "socket error: {e}"),
            Self::Protocol(e) => write!(f, "RTMP protocol error: {e}"),
            Self::Refused(why) => write!(f, "{why}"),
        }
    }
}

impl From<std::io::Error> for ConnError {
    fn from(e: std::io::Error) -> Self {
        ConnError::Io(e)
    }
}

/// A publish in progress.
struct Publishing {
    publish: EncoderPublish,
    frames: FlvToFrames,
    told_b_frames: bool,
    /// Tracks announced in `onMetaData` (audio, video), when it came first.
    announced: Option<(bool, bool)>,
}

struct Conn<'a> {
    tcp: TcpStream,
    peer: SocketAddr,
    state: &'a RtmpState,
    session: Option<ServerSession>,
    /// The query of `connect`'s application (`App?token=...`).
    app_query: HashMap<String, String>,
    publishing: Option<Publishing>,
    buf: Vec<u8>,
}

pub async fn serve(tcp: TcpStream, peer: SocketAddr, state: RtmpState) {
    let _ = tcp.set_nodelay(true);
    let mut conn = Conn {
        tcp,
        peer,
        state: &state,
        session: None,
        app_query: HashMap::new(),
        publishing: None,
        buf: vec![0; READ_CHUNK],
    };
    let result = conn.run().await;
    let stream = conn
        .publishing
        .as_ref()
        .map(|p| p.publish.stream_id.clone());
    match &result {
        Ok(()) => tracing::info!(%peer, stream, "RTMP publish finished"),
        Err(ConnError::Closed) if stream.is_none() => {
            tracing::debug!(%peer, "RTMP connection closed before publishing")
        }
        Err(e) => tracing::info!(%peer, stream, "RTMP connection ended: {e}"),
    }
    if let Some(p) = conn.publishing.take() {
        // A clean unpublish, or a stream Tern cannot take, ends the stream;
        // a dropped connection leaves it to the restore window, as a dropped
        // WebSocket does.
        let clean = matches!(result, Ok(()) | Err(ConnError::Refused(_)));
        p.publish.end(clean).await;
    }
}

impl Conn<'_> {
    async fn read(&mut self, within: Duration, what: &'static str) -> Result<usize, ConnError> {
        let n = tokio::time::timeout(within, self.tcp.read(&mut self.buf))
            .await
            .map_err(|_| ConnError::Timeout(what))??;
        if n == 0 {
            return Err(ConnError::Closed);
        }
        Ok(n)
    }

    async fn run(&mut self) -> Result<(), ConnError> {
        let deadline = Instant::now() + PUBLISH_WITHIN;
        let left = self.handshake(deadline).await?;
        let config = ServerSessionConfig::new();
        let (session, results) =
            ServerSession::new(config).map_err(|e| ConnError::Protocol(e.to_string()))?;
        self.session = Some(session);
        if self.results(results).await? {
            return Ok(());
        }
        if self.input(&left).await? {
            return Ok(());
        }
        loop {
            let within = match &self.publishing {
                Some(_) => MEDIA_TIMEOUT,
                None => deadline.saturating_duration_since(Instant::now()),
            };
            let ended = self.publishing.as_ref().map(|p| p.publish.ended.clone());
            let n = match ended {
                Some(mut ended) => tokio::select! {
                    n = self.read(within, "media") => n?,
                    _ = ended.wait_for(|e| *e) => {
                        return Err(ConnError::Refused("the server ended the publish".into()));
                    }
                },
                None => self.read(within, "a publish").await?,
            };
            let data = self.buf[..n].to_vec();
            if self.input(&data).await? {
                return Ok(());
            }
        }
    }

    /// The handshake; the bytes that came after it.
    async fn handshake(&mut self, deadline: Instant) -> Result<Vec<u8>, ConnError> {
        let mut hs = Handshake::new(PeerType::Server);
        loop {
            let within = deadline.saturating_duration_since(Instant::now());
            let n = self.read(within, "the handshake").await?;
            let result = hs
                .process_bytes(&self.buf[..n])
                .map_err(|e| ConnError::Protocol(format!("handshake: {e}")))?;
            match result {
                HandshakeProcessResult::InProgress { response_bytes } => {
                    self.tcp.write_all(&response_bytes).await?;
                }
                HandshakeProcessResult::Completed {
                    response_bytes,
                    remaining_bytes,
                } => {
                    self.tcp.write_all(&response_bytes).await?;
                    return Ok(remaining_bytes);
                }
            }
        }
    }

    fn session(&mut self) -> Result<&mut ServerSession, ConnError> {
        self.session
            .as_mut()
            .ok_or_else(|| ConnError::Protocol("no session".into()))
    }

    /// Bytes from the client. True when the publish ended cleanly.
    async fn input(&mut self, data: &[u8]) -> Result<bool, ConnError> {
        if data.is_empty() {
            return Ok(false);
        }
        let session = self.session()?;
        // rml_rtmp panics on some malformed chunk streams (a message length
        // that shrinks under data already read overflows); such a client
        // loses its connection, never more.
        let results =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| session.handle_input(data)))
                .map_err(|_| ConnError::Protocol("malformed chunk stream".into()))?
                .map_err(|e| ConnError::Protocol(e.to_string()))?;
        self.results(results).await
    }

    /// Sends the session's packets and acts on its events, in order.
    async fn results(&mut self, results: Vec<ServerSessionResult>) -> Result<bool, ConnError> {
        for r in results {
            match r {
                ServerSessionResult::OutboundResponse(packet) => {
                    self.tcp.write_all(&packet.bytes).await?;
                }
                ServerSessionResult::RaisedEvent(e) => {
                    if self.event(e).await? {
                        return Ok(true);
                    }
                }
                ServerSessionResult::UnhandleableMessageReceived(_) => {}
            }
        }
        Ok(false)
    }

    /// Answers for a request: accepted, or refused with a status code.
    async fn answer(
        &mut self,
        request: u32,
        refusal: Option<(&str, &str)>,
    ) -> Result<(), ConnError> {
        let results = match refusal {
            None => self.session()?.accept_request(request),
            Some((code, why)) => self.session()?.reject_request(request, code, why),
        }
        .map_err(|e| ConnError::Protocol(e.to_string()))?;
        for r in results {
            if let ServerSessionResult::OutboundResponse(packet) = r {
                self.tcp.write_all(&packet.bytes).await?;
            }
        }
        self.tcp.flush().await?;
        Ok(())
    }

    /// True when the publish ended cleanly.
    async fn event(&mut self, e: Event) -> Result<bool, ConnError> {
        match e {
            Event::ConnectionRequested {
                request_id,
                app_name,
            } => {
                let (app, query) = key::split(&app_name);
                let app = app.trim_end_matches('/').to_owned();
                self.app_query = query;
                if self.state.apps.get(&app).is_none() {
                    let why = format!("no application named {app:?} on this server");
                    self.answer(request_id, Some(("NetConnection.Connect.Rejected", &why)))
                        .await?;
                    return Err(ConnError::Refused(why));
                }
                self.answer(request_id, None).await?;
            }
            Event::PublishStreamRequested {
                request_id,
                app_name,
                stream_key,
                ..
            } => self.publish(request_id, &app_name, &stream_key).await?,
            Event::PublishStreamFinished { .. } => return Ok(true),
            Event::StreamMetadataChanged { metadata, .. } => {
                if let Some(p) = self.publishing.as_mut() {
                    if !p.publish.is_open() && p.announced.is_none() {
                        p.announced = Some((
                            metadata.audio_codec_id.is_some(),
                            metadata.video_codec_id.is_some(),
                        ));
                    }
                }
            }
            Event::VideoDataReceived {
                data, timestamp, ..
            } => self.media(true, &data, timestamp.value).await?,
            Event::AudioDataReceived {
                data, timestamp, ..
            } => self.media(false, &data, timestamp.value).await?,
            Event::PlayStreamRequested { request_id, .. } => {
                let why = "Tern takes RTMP publishers only; play over WebRTC, WHEP or HLS";
                self.answer(request_id, Some(("NetStream.Play.Failed", why)))
                    .await?;
                return Err(ConnError::Refused(why.into()));
            }
            _ => {}
        }
        Ok(false)
    }

    async fn publish(&mut self, request: u32, app: &str, raw_key: &str) -> Result<(), ConnError> {
        let (app, _) = key::split(app);
        let app = app.trim_end_matches('/').to_owned();
        let k = key::parse(&self.app_query, raw_key);
        if self.publishing.is_some() {
            let why = "this connection publishes already";
            self.answer(request, Some(("NetStream.Publish.BadName", why)))
                .await?;
            return Err(ConnError::Refused(why.into()));
        }
        let outcome = match self.state.apps.get(&app) {
            None => Err(Refusal {
                wire: "no_such_application".into(),
                why: format!("no application named {app:?}"),
            }),
            Some(_) if !tern_signal::stream_id::is_valid(&k.stream_id) => Err(Refusal {
                wire: "invalidStreamName".into(),
                why: format!("{:?}: ids are 1 to 256 of A-Z a-z 0-9 _ . -", k.stream_id),
            }),
            Some(settings) => {
                EncoderPublish::open(
                    &self.state.hub,
                    &app,
                    settings,
                    &k.stream_id,
                    &k.query,
                    "RTMP",
                )
                .await
            }
        };
        match outcome {
            Ok(publish) => {
                tracing::info!(peer = %self.peer, app, stream = publish.stream_id, session = %publish.session, "RTMP publish");
                self.publishing = Some(Publishing {
                    publish,
                    frames: FlvToFrames::default(),
                    told_b_frames: false,
                    announced: None,
                });
                self.answer(request, None).await
            }
            Err(refusal) => {
                let code = match refusal.wire.as_str() {
                    "streamIdInUse"
                    | "alreadyPublishing"
                    | "invalidStreamName"
                    | "no_such_application" => "NetStream.Publish.BadName",
                    _ => "NetStream.Publish.Denied",
                };
                let why = refusal.to_string();
                tracing::info!(peer = %self.peer, app, stream = k.stream_id, code, why, "RTMP publish refused");
                self.answer(request, Some((code, &why))).await?;
                Err(ConnError::Refused(format!("publish refused: {why}")))
            }
        }
    }

    /// One audio or video tag of the publish.
    async fn media(&mut self, video: bool, tag: &[u8], ms: u32) -> Result<(), ConnError> {
        let Some(p) = self.publishing.as_mut() else {
            return Ok(()); // media before publish: nothing to feed
        };
        if !p.publish.is_open() {
            let (audio, video) = p.announced.unwrap_or((true, true));
            p.publish
                .open_media(audio, video)
                .await
                .map_err(|e| ConnError::Refused(e.to_string()))?;
        }
        let now = Instant::now();
        let frames = if video {
            p.frames
                .handle_video(now, tag, ms)
                .map(|f| f.into_iter().collect())
        } else {
            p.frames.handle_audio(now, tag, ms)
        };
        let frames: Vec<_> = match frames {
            Ok(f) => f,
            Err(e) if e.is_fatal() => {
                tracing::warn!(peer = %self.peer, app = p.publish.app, stream = p.publish.stream_id, "RTMP publish refused: {e}");
                return Err(ConnError::Refused(e.to_string()));
            }
            Err(e) => {
                tracing::debug!(peer = %self.peer, stream = p.publish.stream_id, "tag skipped: {e}");
                Vec::new()
            }
        };
        let tell = p.frames.b_frames() && !std::mem::replace(&mut p.told_b_frames, true);
        if tell {
            tracing::warn!(peer = %self.peer, app = p.publish.app, stream = p.publish.stream_id,
                "the encoder sends B-frames: {B_FRAMES_ADVICE}");
        }
        p.publish
            .send(frames)
            .map_err(|e| ConnError::Refused(e.to_string()))?;
        if tell {
            // Once, to the publisher's status too (OBS and FFmpeg log it).
            let chunk = ServerSessionConfig::new().chunk_size;
            let why = format!("B-frames: {B_FRAMES_ADVICE}");
            match status::warning(status::B_FRAMES, &why, chunk) {
                Ok(bytes) => self.tcp.write_all(&bytes).await?,
                Err(e) => tracing::debug!(peer = %self.peer, "no B-frames status: {e}"),
            }
        }
        Ok(())
    }
}
