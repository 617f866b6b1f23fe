// Small fakes of the browser APIs the SDK uses, and a manual clock. Each test builds its own
// world with makeWorld(): nothing here is shared between tests.

/** A clock whose timers run only when the test advances it. */
export class FakeClock {
  constructor() {
    this.t = 1_000_000;
    this.seq = 0;
    /** @type {Map<number, {at: number, fn: () => void, every: number | null}>} */
    this.timers = new Map();
  }

  now() { return this.t; }

  setTimeout(fn, ms) {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn, every: null });
    return id;
  }

  setInterval(fn, ms) {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(1, ms), fn, every: Math.max(1, ms) });
    return id;
  }

  clear(id) { this.timers.delete(id); }

  /** Run every timer due within `ms`, in time order, flushing promise jobs after each. */
  async advance(ms) {
    const end = this.t + ms;
    for (;;) {
      let nextId = null;
      let next = null;
      for (const [id, timer] of this.timers) {
        if (timer.at <= end && (next === null || timer.at < next.at)) { next = timer; nextId = id; }
      }
      if (next === null) break;
      this.t = next.at;
      if (next.every) next.at += next.every; else this.timers.delete(nextId);
      next.fn();
      await flush();
    }
    this.t = end;
    await flush();
  }

  /** Delays of pending one-shot timers, relative to now (for backoff assertions). */
  pendingDelays() {
    return [...this.timers.values()].filter((x) => x.every === null).map((x) => x.at - this.t).sort((a, b) => a - b);
  }
}

/** Let pending promise jobs run. */
export async function flush() {
  for (let i = 0; i < 5; i += 1) await new Promise((r) => setImmediate(r));
}

let trackSeq = 0;

export class FakeTrack extends EventTarget {
  constructor(kind, label = `${kind} device`) {
    super();
    this.kind = kind;
    this.label = label;
    this.id = `${kind}-${++trackSeq}`;
    this.readyState = 'live';
    this.enabled = true;
    this.stopped = false;
  }

  stop() { this.readyState = 'ended'; this.stopped = true; }

  /** What the browser does when the user ends a capture: the track ends and fires "ended". */
  endByBrowser() {
    this.readyState = 'ended';
    this.dispatchEvent(new Event('ended'));
  }
}

export class FakeMediaStream {
  constructor(tracks = []) {
    this.id = `stream-${++trackSeq}`;
    this.tracks = [...tracks];
  }

  getTracks() { return [...this.tracks]; }
  getAudioTracks() { return this.tracks.filter((t) => t.kind === 'audio'); }
  getVideoTracks() { return this.tracks.filter((t) => t.kind === 'video'); }
  addTrack(t) { this.tracks.push(t); }
}

/** navigator.mediaDevices: succeeds unless the test sets `fail` or `failDisplay`. */
export class FakeMediaDevices {
  constructor() {
    /** @type {null | ((constraints: any) => Error | null)} returns the error to reject with */
    this.fail = null;
    /** @type {null | Error} */
    this.failDisplay = null;
    this.calls = [];
    this.displayCalls = 0;
    this.devices = [
      { kind: 'videoinput', deviceId: 'cam1', label: 'Camera 1', groupId: 'g1' },
      { kind: 'audioinput', deviceId: 'mic1', label: 'Mic 1', groupId: 'g1' },
      { kind: 'audiooutput', deviceId: 'spk1', label: 'Speaker', groupId: 'g1' },
    ];
    this.lastDisplayTrack = null;
  }

  async getUserMedia(constraints) {
    this.calls.push(constraints);
    const err = this.fail ? this.fail(constraints) : null;
    if (err) throw err;
    const tracks = [];
    if (constraints.audio) tracks.push(new FakeTrack('audio', 'Mic 1'));
    if (constraints.video) tracks.push(new FakeTrack('video', 'Camera 1'));
    return new FakeMediaStream(tracks);
  }

  async getDisplayMedia() {
    this.displayCalls += 1;
    if (this.failDisplay) throw this.failDisplay;
    this.lastDisplayTrack = new FakeTrack('video', 'screen:0:0');
    return new FakeMediaStream([this.lastDisplayTrack]);
  }

  async enumerateDevices() { return this.devices.map((d) => ({ ...d })); }
}

class FakeElement {
  constructor(tag) {
    this.tagName = tag;
    this.srcObject = null;
    this.muted = false;
    this.width = 0;
    this.height = 0;
    this.videoWidth = 640;
    this.videoHeight = 480;
    this.playsInline = false;
  }

  play() { return Promise.resolve(); }

  getContext() {
    return { fillStyle: '', fillRect() {}, drawImage() {} };
  }

  captureStream() { return new FakeMediaStream([new FakeTrack('video', 'canvas')]); }
}

export class FakeDocument {
  constructor() {
    this.elements = new Map([['localVideo', new FakeElement('video')], ['remoteVideo', new FakeElement('video')]]);
    /** features the permissions policy forbids */
    this.blocked = new Set();
    this.featurePolicy = { allowsFeature: (f) => !this.blocked.has(f) };
  }

  getElementById(id) { return this.elements.get(id) ?? null; }
  createElement(tag) { return new FakeElement(tag); }
}

let pcSeq = 0;

export class FakeDataChannel {
  constructor(label, opts = {}) {
    this.label = label;
    this.ordered = opts.ordered;
    this.readyState = 'connecting';
    this.binaryType = 'blob';
    this.sent = [];
    this.onopen = null;
    this.onclose = null;
    this.onmessage = null;
    this.onerror = null;
  }

  send(data) {
    if (this.readyState !== 'open') throw new Error('InvalidStateError: channel not open');
    this.sent.push(data);
  }

  close() { this.readyState = 'closed'; }
  open() { this.readyState = 'open'; this.onopen?.(); }
  receive(data) { this.onmessage?.({ data }); }
}

/** A peer connection that records what the SDK does with it. */
export class FakePeerConnection {
  /** @param {any} config */
  constructor(config, world) {
    this.config = config;
    this.world = world;
    this.id = ++pcSeq;
    this.transceivers = [];
    this.channels = [];
    this.localDescription = null;
    this.remoteDescription = null;
    this.candidates = [];
    this.iceConnectionState = 'new';
    this.signalingState = 'stable';
    this.closed = false;
    this.onicecandidate = null;
    this.oniceconnectionstatechange = null;
    this.ontrack = null;
    this.ondatachannel = null;
    world.pcs.push(this);
  }

  makeTransceiver(kind, track, direction, init = {}) {
    const t = {
      mid: String(this.transceivers.length),
      direction,
      /** what addTransceiver was given (streams left out) */
      init: { direction: init.direction, sendEncodings: init.sendEncodings },
      sender: {
        track,
        // The browser starts a sender with the encodings it was given (one, unlayered, by default).
        params: { encodings: init.sendEncodings ? JSON.parse(JSON.stringify(init.sendEncodings)) : [{}] },
        replaceTrack: async (nt) => { t.sender.track = nt; },
        getParameters: () => JSON.parse(JSON.stringify(t.sender.params)),
        setParameters: async (p) => { t.sender.params = p; },
      },
      receiver: { track: { kind } },
    };
    this.transceivers.push(t);
    return t;
  }

  addTransceiver(track, init) { return this.makeTransceiver(track.kind, track, init.direction, init); }

  addTrack(track) {
    const free = this.transceivers.find((t) => t.receiver.track.kind === track.kind && !t.sender.track);
    if (free) { free.sender.track = track; free.direction = 'sendrecv'; return free.sender; }
    return this.makeTransceiver(track.kind, track, 'sendrecv').sender;
  }

  getTransceivers() { return this.transceivers; }
  getSenders() { return this.transceivers.map((t) => t.sender); }

  createDataChannel(label, opts) {
    const ch = new FakeDataChannel(label, opts);
    this.channels.push(ch);
    return ch;
  }

  sdpText(type) {
    const lines = ['v=0', `o=- ${this.id} 2 IN IP4 127.0.0.1`, 's=-'];
    for (const t of this.transceivers) {
      lines.push(`m=${t.receiver.track.kind} 9 UDP/TLS/RTP/SAVPF 96`, `a=mid:${t.mid}`, `a=${t.direction}`);
      if (t.receiver.track.kind === 'audio') lines.push('a=fmtp:111 minptime=10;useinbandfec=1');
    }
    if (this.channels.length) lines.push('m=application 9 UDP/DTLS/SCTP webrtc-datachannel');
    return `${lines.join('\r\n')}\r\n`.replace('v=0', `v=0\r\na=fake-${type}`);
  }

  async createOffer() {
    if (this.world.failCreateOffer) throw new DOMException('createOffer failed', 'OperationError');
    return { type: 'offer', sdp: this.sdpText('offer') };
  }

  async createAnswer() { return { type: 'answer', sdp: this.sdpText('answer') }; }

  async setLocalDescription(desc) {
    if (this.world.failSetLocal) throw new DOMException('Failed to set local description', 'InvalidModificationError');
    this.localDescription = desc;
  }

  async setRemoteDescription(desc) {
    if (this.world.failSetRemote) throw new DOMException('Failed to set remote offer sdp', 'InvalidAccessError');
    this.remoteDescription = desc;
    if (desc.type === 'offer') {
      // Make one recvonly transceiver per m-line of the offer, as the browser does.
      let mid = 0;
      for (const m of desc.sdp.split('\n').filter((l) => l.startsWith('m=audio') || l.startsWith('m=video'))) {
        const kind = m.startsWith('m=audio') ? 'audio' : 'video';
        if (!this.transceivers.some((t) => t.mid === String(mid))) {
          const t = this.makeTransceiver(kind, null, 'recvonly');
          t.mid = String(mid);
        }
        mid += 1;
      }
    }
  }

  async addIceCandidate(c) { this.candidates.push(c); }

  async getStats() {
    return new Map([
      ['in-v', { type: 'inbound-rtp', kind: 'video', timestamp: this.world.clock.now(), bytesReceived: 1000, packetsReceived: 10, packetsLost: 1, framesDecoded: 5, frameWidth: 640, frameHeight: 480 }],
      ['in-a', { type: 'inbound-rtp', kind: 'audio', timestamp: this.world.clock.now(), bytesReceived: 200, packetsReceived: 8, packetsLost: 0 }],
    ]);
  }

  close() { this.closed = true; this.signalingState = 'closed'; }

  // --- test helpers
  setIce(state) {
    this.iceConnectionState = state;
    this.oniceconnectionstatechange?.();
  }

  emitCandidate(candidate, sdpMLineIndex = 0, sdpMid = '0') {
    this.onicecandidate?.({ candidate: candidate === null ? null : { candidate, sdpMLineIndex, sdpMid } });
  }

  emitTrack(kind, mid, withStream = true) {
    const track = new FakeTrack(kind, `remote ${kind}`);
    const stream = withStream ? new FakeMediaStream([track]) : null;
    this.ontrack?.({ track, streams: stream ? [stream] : [], transceiver: { mid } });
    return { track, stream };
  }

  emitDataChannel(label) {
    const ch = new FakeDataChannel(label);
    this.ondatachannel?.({ channel: ch });
    return ch;
  }
}

/** A WebSocket the test opens, feeds and drops by hand. */
export class FakeSocket {
  constructor(url, world) {
    this.url = url;
    this.world = world;
    this.sent = [];
    this.readyState = 0;
    this.closedWith = null;
    this.onopen = null;
    this.onmessage = null;
    this.onerror = null;
    this.onclose = null;
    world.sockets.push(this);
  }

  send(text) {
    if (this.readyState !== 1) throw new Error('InvalidStateError: socket not open');
    const msg = JSON.parse(text);
    this.sent.push(msg);
    // A live server answers the keep-alive (tests of a silent server turn this off).
    if (msg.command === 'ping' && this.world.autoPong) this.receive({ command: 'pong' });
  }

  close(code, reason) {
    this.closedWith = { code, reason };
    this.readyState = 3;
  }

  // --- test helpers
  open() { this.readyState = 1; this.onopen?.({}); }
  receive(msg) { this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) }); }
  /** The connection fails before opening (server unreachable). */
  fail() { this.readyState = 3; this.onerror?.({ type: 'error' }); this.onclose?.({ type: 'close', code: 1006 }); }
  /** An open connection drops. */
  drop() { this.readyState = 3; this.onclose?.({ type: 'close', code: 1006, reason: '' }); }
  /** Messages sent, ping left out. */
  commands() { return this.sent.filter((m) => m.command !== 'ping'); }
}

/**
 * A fresh fake browser.
 * @param {object} [opts]
 * @param {boolean} [opts.secure]
 * @param {boolean} [opts.webSocket] whether the page has a WebSocket
 */
export function makeWorld({ secure = true, webSocket = true } = {}) {
  const clock = new FakeClock();
  const world = {
    clock,
    sockets: [],
    pcs: [],
    devices: new FakeMediaDevices(),
    document: new FakeDocument(),
    failSetLocal: false,
    failSetRemote: false,
    failCreateOffer: false,
    /** whether fake sockets answer ping with pong */
    autoPong: true,
    randomValue: 0.5,
    /** log lines the SDK wrote, as [level, text] */
    logLines: [],
    get socket() { return world.sockets[world.sockets.length - 1]; },
    get pc() { return world.pcs[world.pcs.length - 1]; },
  };
  const line = (level) => (...args) => world.logLines.push([level, args.map(String).join(' ')]);
  world.logSink = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
  const Socket = function Socket(url) { return new FakeSocket(url, world); };
  const PC = function PC(config) { return new FakePeerConnection(config, world); };
  world.platform = {
    WebSocket: webSocket ? /** @type {any} */ (Socket) : undefined,
    RTCPeerConnection: /** @type {any} */ (PC),
    MediaStream: /** @type {any} */ (FakeMediaStream),
    mediaDevices: secure ? /** @type {any} */ (world.devices) : undefined,
    isSecureContext: secure,
    document: /** @type {any} */ (world.document),
    setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimeout: (id) => clock.clear(id),
    setInterval: (fn, ms) => clock.setInterval(fn, ms),
    clearInterval: (id) => clock.clear(id),
    now: () => clock.now(),
    random: () => world.randomValue,
    console: world.logSink,
  };
  return world;
}

/** Options for an adaptor that records everything it raises into `log`. */
export function recordingOptions(log, extra = {}) {
  return {
    websocket_url: 'ws://tern.example:5080/LiveApp/websocket',
    callback: (info, obj) => log.push({ kind: 'info', name: info, data: obj }),
    callbackError: (def, message) => log.push({ kind: 'error', name: def, data: message }),
    ...extra,
  };
}

/** A quiet logger sink for tests. */
export const quietSink = { debug() {}, info() {}, warn() {}, error() {} };
