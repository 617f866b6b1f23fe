// The RTCPeerConnections of one adaptor, one per stream id, and the SDP/ICE exchange with the
// server. Three roles:
//   publish: this page offers, send-only (the server answers recvonly; PROTOCOL.md §9);
//   play:    the server offers (with idMapping: mid → track id), this page answers, receive-only;
//   p2p:     two pages through the server's relay; the one told "start" offers, both send and receive.
// Data channels: the publisher and the P2P offerer create one labelled with the stream id; players
// and the P2P answerer receive theirs from the other side.
// Simulcast: with layers configured, a publish connection sends its video track as RID layers
// (sendEncodings); audio, players and P2P are never layered.

import { TernError, ErrorDefinition, descriptionError } from './errors.js';
import { BinaryReassembler, frameBinary } from './data_framing.js';
import { parseStats } from './stats.js';

/** @typedef {'publish' | 'play' | 'p2p'} PeerRole */

/**
 * @typedef {object} PeerHooks
 * @property {(msg: Record<string, unknown>) => void} send a message to the server
 * @property {(streamId: string, state: RTCIceConnectionState) => void} iceState
 * @property {(streamId: string, event: RTCTrackEvent, trackId: string) => void} track a remote track arrived
 * @property {(streamId: string) => void} channelOpen
 * @property {(streamId: string) => void} channelClose
 * @property {(streamId: string, data: string | ArrayBuffer) => void} data
 * @property {(streamId: string, event: unknown) => void} channelError
 */

/**
 * @typedef {object} PeerEntry
 * @property {string} streamId
 * @property {PeerRole} role
 * @property {RTCPeerConnection} pc
 * @property {RTCDataChannel | null} channel the open (or opening) data channel
 * @property {boolean} channelOpen whether data_channel_opened was raised for it
 * @property {boolean} remoteSet
 * @property {RTCIceCandidateInit[]} pending candidates that came before the remote description
 * @property {Record<string, string>} idMapping mid → track id, from the server's offers
 * @property {BinaryReassembler} reassembler
 * @property {import('./stats.js').PeerStats | null} lastStats
 * @property {boolean} closed
 */

const MAX_EARLY_CANDIDATES = 64;

export class PeerManager {
  /**
   * @param {object} opts
   * @param {import('./platform.js').Platform} opts.platform
   * @param {import('./logger.js').Logger} opts.log
   * @param {() => RTCConfiguration} opts.config read when a connection is created (ICE servers may change)
   * @param {boolean} opts.dataChannelEnabled
   * @param {RTCDegradationPreference} opts.degradationPreference
   * @param {import('./options.js').SimulcastLayer[] | null} [opts.simulcastLayers] video layers of publish connections
   * @param {() => MediaStream | null} opts.localStream
   * @param {PeerHooks} opts.hooks
   */
  constructor({ platform, log, config, dataChannelEnabled, degradationPreference, simulcastLayers = null, localStream, hooks }) {
    this.platform = platform;
    this.log = log;
    this.config = config;
    this.dataChannelEnabled = dataChannelEnabled;
    this.degradationPreference = degradationPreference;
    this.simulcastLayers = simulcastLayers;
    this.localStream = localStream;
    this.hooks = hooks;
    /** @type {Map<string, PeerEntry>} */
    this.entries = new Map();
    /** Candidates that arrived before their connection existed. @type {Map<string, RTCIceCandidateInit[]>} */
    this.early = new Map();
  }

  /** @param {string} streamId */
  get(streamId) {
    return this.entries.get(streamId);
  }

  ids() {
    return [...this.entries.keys()];
  }

  /**
   * Create the connection for a stream (closing any previous one).
   * @param {string} streamId
   * @param {PeerRole} role
   * @param {{offerer?: boolean}} [opts] p2p only: whether this side offers
   * @returns {PeerEntry}
   */
  open(streamId, role, { offerer = false } = {}) {
    this.close(streamId);
    const RPC = this.platform.RTCPeerConnection;
    if (!RPC) throw new TernError(ErrorDefinition.notSetLocalDescription, 'This browser has no WebRTC (RTCPeerConnection). Use a current browser.', { streamId });
    const pc = new RPC(this.config());
    /** @type {PeerEntry} */
    const entry = {
      streamId, role, pc, channel: null, channelOpen: false, remoteSet: false, pending: [], idMapping: {},
      reassembler: new BinaryReassembler(this.log), lastStats: null, closed: false,
    };
    this.entries.set(streamId, entry);

    pc.onicecandidate = (e) => {
      if (entry.closed || !e.candidate || !e.candidate.candidate) return;
      this.hooks.send({
        command: 'takeCandidate',
        streamId,
        label: e.candidate.sdpMLineIndex,
        id: e.candidate.sdpMid,
        candidate: e.candidate.candidate,
      });
    };
    pc.oniceconnectionstatechange = () => {
      if (!entry.closed) this.hooks.iceState(streamId, pc.iceConnectionState);
    };
    pc.ontrack = (e) => {
      if (entry.closed) return;
      const mid = e.transceiver ? e.transceiver.mid : null;
      const trackId = (mid != null && entry.idMapping[mid]) || e.track.id;
      this.hooks.track(streamId, e, trackId);
    };
    pc.ondatachannel = (e) => {
      if (!entry.closed) this.attachChannel(entry, e.channel);
    };

    const stream = this.localStream();
    if (role === 'publish' && stream) {
      for (const track of stream.getTracks()) {
        /** @type {RTCRtpTransceiverInit} */
        const init = { direction: 'sendonly', streams: [stream] };
        if (track.kind === 'video' && this.simulcastLayers) init.sendEncodings = this.simulcastLayers.map((l) => ({ ...l }));
        pc.addTransceiver(track, init);
      }
    } else if (role === 'p2p' && offerer && stream) {
      for (const track of stream.getTracks()) pc.addTrack(track, stream);
    }
    if (this.dataChannelEnabled && (role === 'publish' || (role === 'p2p' && offerer))) {
      this.attachChannel(entry, pc.createDataChannel(streamId, { ordered: true }));
    }

    const early = this.early.get(streamId);
    if (early) {
      this.early.delete(streamId);
      entry.pending.push(...early);
    }
    return entry;
  }

  /**
   * Create and send an offer (publish after "start"; the P2P offerer).
   * @param {string} streamId
   */
  async offer(streamId) {
    const entry = this.entries.get(streamId);
    if (!entry) throw new Error(`no peer connection for ${streamId}`);
    let desc;
    try {
      desc = await entry.pc.createOffer();
      if (entry.closed) return;
      await entry.pc.setLocalDescription(desc);
    } catch (e) {
      if (entry.closed) return;
      throw descriptionError(ErrorDefinition.notSetLocalDescription, streamId, e);
    }
    if (entry.closed) return;
    this.hooks.send({ command: 'takeConfiguration', streamId, type: 'offer', sdp: entry.pc.localDescription?.sdp ?? desc.sdp });
  }

  /**
   * Apply the remote description; for an offer, answer it.
   * @param {string} streamId
   * @param {'offer' | 'answer'} type
   * @param {string} sdp
   * @param {Record<string, string> | undefined} idMapping
   */
  async takeDescription(streamId, type, sdp, idMapping) {
    const entry = this.entries.get(streamId);
    if (!entry) throw new Error(`no peer connection for ${streamId}`);
    if (idMapping && typeof idMapping === 'object') entry.idMapping = { ...idMapping };
    try {
      await entry.pc.setRemoteDescription({ type, sdp });
    } catch (e) {
      if (entry.closed) return;
      throw descriptionError(ErrorDefinition.notSetRemoteDescription, streamId, e);
    }
    if (entry.closed) return;
    entry.remoteSet = true;
    const queued = entry.pending;
    entry.pending = [];
    for (const c of queued) this.addCandidateNow(entry, c);
    if (type !== 'offer') return;

    if (entry.role === 'p2p') {
      // Answerer: send our tracks on the transceivers the offer created.
      const stream = this.localStream();
      const senders = entry.pc.getSenders();
      if (stream) {
        for (const track of stream.getTracks()) {
          if (!senders.some((s) => s.track === track)) entry.pc.addTrack(track, stream);
        }
      }
    }
    let answer;
    try {
      answer = await entry.pc.createAnswer();
      if (entry.closed) return;
      // Ask for stereo Opus, as Ant Media's players do.
      const munged = typeof answer.sdp === 'string' ? answer.sdp.replace('useinbandfec=1', 'useinbandfec=1; stereo=1') : answer.sdp;
      await entry.pc.setLocalDescription({ type: 'answer', sdp: munged });
    } catch (e) {
      if (entry.closed) return;
      throw descriptionError(ErrorDefinition.notSetLocalDescription, streamId, e);
    }
    if (entry.closed) return;
    this.hooks.send({ command: 'takeConfiguration', streamId, type: 'answer', sdp: entry.pc.localDescription?.sdp ?? answer.sdp });
  }

  /**
   * A candidate from the server. `label` (m-line index) is what Ant Media servers fill in
   * reliably; `mid` is used only when there is no label.
   * @param {string} streamId
   * @param {unknown} label
   * @param {unknown} mid
   * @param {unknown} candidate
   */
  takeCandidate(streamId, label, mid, candidate) {
    if (typeof candidate !== 'string' || candidate === '') return;
    /** @type {RTCIceCandidateInit} */
    const init = typeof label === 'number' ? { candidate, sdpMLineIndex: label }
      : { candidate, sdpMid: typeof mid === 'string' ? mid : '0' };
    const entry = this.entries.get(streamId);
    if (!entry) {
      const list = this.early.get(streamId) ?? [];
      if (list.length < MAX_EARLY_CANDIDATES) list.push(init);
      this.early.set(streamId, list);
      return;
    }
    if (!entry.remoteSet) {
      if (entry.pending.length < MAX_EARLY_CANDIDATES) entry.pending.push(init);
      return;
    }
    this.addCandidateNow(entry, init);
  }

  /**
   * @param {PeerEntry} entry
   * @param {RTCIceCandidateInit} init
   */
  addCandidateNow(entry, init) {
    entry.pc.addIceCandidate(init).catch((e) => {
      if (!entry.closed) this.log.warn(`stream ${entry.streamId}: the browser refused an ICE candidate from the server:`, e);
    });
  }

  /**
   * Close one connection. Returns whether there was one.
   * @param {string} streamId
   */
  close(streamId) {
    this.early.delete(streamId);
    const entry = this.entries.get(streamId);
    if (!entry) return false;
    this.entries.delete(streamId);
    entry.closed = true;
    try {
      entry.channel?.close();
    } catch (e) {
      this.log.debug('dataChannel.close threw', e);
    }
    if (entry.pc.signalingState !== 'closed') entry.pc.close();
    if (entry.channelOpen) this.hooks.channelClose(streamId);
    return true;
  }

  closeAll() {
    for (const id of this.ids()) this.close(id);
    this.early.clear();
  }

  /**
   * Put a new local track on every connection that sends (publish and P2P).
   * @param {'audio' | 'video'} kind
   * @param {MediaStreamTrack | null} track
   */
  async replaceTrack(kind, track) {
    const jobs = [];
    for (const entry of this.entries.values()) {
      if (entry.role === 'play') continue;
      const t = entry.pc.getTransceivers().find((x) => x.receiver.track && x.receiver.track.kind === kind && x.direction !== 'inactive'
        && x.direction !== 'recvonly' && x.direction !== 'stopped');
      if (!t) {
        this.log.info(`stream ${entry.streamId} has no ${kind} sender; the new ${kind} track is sent from the next publish`);
        continue;
      }
      jobs.push(t.sender.replaceTrack(track).catch((e) => this.log.warn(`stream ${entry.streamId}: replaceTrack(${kind}) failed:`, e)));
    }
    await Promise.all(jobs);
  }

  /**
   * Cap the video bitrate of a sending connection (every simulcast layer at the lower of its own
   * maxBitrate and the cap), and set its degradation preference.
   * @param {string} streamId
   * @param {number | 'unlimited'} kbps
   */
  async applySenderLimits(streamId, kbps) {
    const entry = this.entries.get(streamId);
    if (!entry || entry.role === 'play') return false;
    const sender = entry.pc.getSenders().find((s) => s.track && s.track.kind === 'video');
    if (!sender) return false;
    const params = sender.getParameters();
    if (!params.encodings || params.encodings.length === 0) return false;
    const layers = entry.role === 'publish' ? this.simulcastLayers : null;
    for (const enc of params.encodings) {
      // A simulcast layer keeps its own limit, lowered to the cap when the cap is lower.
      const own = layers?.find((l) => l.rid === enc.rid)?.maxBitrate;
      const cap = kbps === 'unlimited' ? undefined : Math.round(kbps * 1000);
      const limit = own === undefined ? cap : cap === undefined ? own : Math.min(own, cap);
      if (limit === undefined) delete enc.maxBitrate;
      else enc.maxBitrate = limit;
    }
    /** @type {any} */ (params).degradationPreference = this.degradationPreference;
    try {
      await sender.setParameters(params);
      return true;
    } catch (e) {
      this.log.warn(`stream ${streamId}: could not set the video bitrate limit:`, e);
      return false;
    }
  }

  /**
   * Send on a stream's data channel: text as is, binary in Ant Media's framing.
   * @param {string} streamId
   * @param {string | ArrayBuffer | ArrayBufferView} data
   * @returns {'sent' | 'no-connection' | 'not-open'}
   */
  send(streamId, data) {
    const entry = this.entries.get(streamId);
    if (!entry) return 'no-connection';
    const ch = entry.channel;
    if (!ch || ch.readyState !== 'open') return 'not-open';
    if (typeof data === 'string') {
      ch.send(data);
    } else {
      const token = Math.floor(this.platform.random() * 0x7fffffff);
      for (const frame of frameBinary(data, token)) ch.send(frame);
    }
    return 'sent';
  }

  /**
   * @param {string} streamId
   * @returns {Promise<import('./stats.js').PeerStats | null>}
   */
  async stats(streamId) {
    const entry = this.entries.get(streamId);
    if (!entry) return null;
    const report = await entry.pc.getStats();
    const s = parseStats(streamId, report, entry.lastStats);
    entry.lastStats = s;
    return s;
  }

  /**
   * @param {PeerEntry} entry
   * @param {RTCDataChannel} channel
   */
  attachChannel(entry, channel) {
    const { streamId } = entry;
    channel.binaryType = 'arraybuffer';
    entry.channel = channel;
    channel.onopen = () => {
      if (entry.closed || entry.channel !== channel) return;
      entry.channelOpen = true;
      this.hooks.channelOpen(streamId);
    };
    channel.onclose = () => {
      if (entry.closed || entry.channel !== channel || !entry.channelOpen) return;
      entry.channelOpen = false;
      this.hooks.channelClose(streamId);
    };
    channel.onerror = (e) => {
      if (!entry.closed && channel.readyState !== 'closed') this.hooks.channelError(streamId, e);
    };
    channel.onmessage = (e) => {
      if (entry.closed) return;
      if (typeof e.data === 'string') {
        this.hooks.data(streamId, e.data);
      } else if (e.data instanceof ArrayBuffer) {
        const whole = entry.reassembler.push(e.data);
        if (whole) this.hooks.data(streamId, whole);
      } else {
        this.log.warn(`stream ${streamId}: ignored a data-channel message of an unexpected type`);
      }
    };
  }
}
