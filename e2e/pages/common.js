// Shared by the test pages: query parameters, event recording (SDK callbacks, fetches), RTCPeerConnection stats.
// Loaded as a classic script; everything it exposes lives on window.TernPage.
(function () {
  'use strict';

  window.events = [];

  // Turn an SDK callback argument into something JSON-safe (it may be a CloseEvent, MediaStream, ...).
  function plain(obj) {
    if (obj === undefined || obj === null) return obj ?? null;
    if (typeof obj !== 'object') return obj;
    if (typeof Event !== 'undefined' && obj instanceof Event) {
      const out = { eventType: obj.type };
      if ('code' in obj) out.code = obj.code;
      if ('reason' in obj) out.reason = obj.reason;
      return out;
    }
    try {
      return JSON.parse(JSON.stringify(obj, (key, value) => {
        if (value instanceof MediaStream) return { mediaStream: value.id };
        if (value instanceof MediaStreamTrack) return { track: value.id, kind: value.kind };
        if (value instanceof ArrayBuffer) return { arrayBufferBytes: value.byteLength };
        return value;
      }));
    } catch (e) {
      return String(obj);
    }
  }

  function params() {
    const q = new URLSearchParams(location.search);
    const out = {};
    for (const [k, v] of q) out[k] = v;
    if (!out.ws) throw new Error('page needs ?ws=<tern websocket url>');
    if (!out.id) throw new Error('page needs ?id=<stream id>');
    return out;
  }

  function record(kind, name, obj) {
    // "pong" arrives every 3 s and "updated_stats" on every getStats call: keep them out of the log.
    if (name === 'pong' || name === 'updated_stats') return;
    window.events.push({ t: performance.now(), kind, name, data: plain(obj) });
  }

  // Inbound video/audio figures of one RTCPeerConnection (null when there is none).
  async function inboundStats(pc) {
    if (!pc) return null;
    const report = await pc.getStats();
    const out = { video: null, audio: null, iceState: pc.iceConnectionState, connectionState: pc.connectionState };
    const codecs = {};
    report.forEach((s) => { if (s.type === 'codec') codecs[s.id] = s.mimeType; });
    // The server's media port this connection uses (each media worker has its own).
    report.forEach((s) => {
      if (s.type !== 'transport' || !s.selectedCandidatePairId) return;
      const pair = report.get(s.selectedCandidatePairId);
      const remote = pair && report.get(pair.remoteCandidateId);
      if (remote) out.serverPort = remote.port;
    });
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') {
        out.video = {
          framesDecoded: s.framesDecoded ?? 0,
          frameWidth: s.frameWidth ?? 0,
          frameHeight: s.frameHeight ?? 0,
          packetsReceived: s.packetsReceived ?? 0,
          packetsLost: s.packetsLost ?? 0,
          keyFramesDecoded: s.keyFramesDecoded ?? 0,
          codec: codecs[s.codecId] ?? null,
        };
      } else if (s.kind === 'audio') {
        out.audio = {
          packetsReceived: s.packetsReceived ?? 0,
          totalSamplesReceived: s.totalSamplesReceived ?? 0,
          packetsLost: s.packetsLost ?? 0,
          codec: codecs[s.codecId] ?? null,
        };
      }
    });
    return out;
  }

  // Record every fetch() of the page as kind 'http', named by its method: the request's URL, content type,
  // If-Match and (for trickle ICE) body; the status, the response headers a cross-origin page can read (what
  // a WHIP/WHEP library sees) and, for a refusal, the start of the body. A fetch that rejects (e.g. refused
  // by CORS) is recorded as kind 'error', name 'fetch'.
  function recordFetches() {
    const original = window.fetch.bind(window);
    window.fetch = async (input, init = {}) => {
      const method = (init.method || 'GET').toUpperCase();
      const url = String(input instanceof Request ? input.url : input);
      const sent = new Headers(init.headers || {});
      const request = { url, contentType: sent.get('content-type'), ifMatch: sent.get('if-match') };
      // A trickle fragment is short: keep it whole.
      if (request.contentType === 'application/trickle-ice-sdpfrag') request.fragment = String(init.body);
      try {
        const res = await original(input, init);
        const h = {};
        for (const name of ['content-type', 'location', 'etag', 'link', 'retry-after']) {
          if (res.headers.has(name)) h[name] = res.headers.get(name);
        }
        const body = res.ok ? undefined : (await res.clone().text().catch(() => '')).slice(0, 300);
        record('http', method, { ...request, status: res.status, headers: h, body });
        return res;
      } catch (e) {
        record('error', 'fetch', { ...request, method, message: String(e) });
        throw e;
      }
    };
  }

  /**
   * The official SDK's peerconnection_config for query `p`: no ICE servers (host candidates only), unless
   * ice=server (then the SDK takes the server's from getIceServerConfig) or servers=<JSON list>; relay=1 allows
   * relayed candidates only.
   */
  function peerConfig(p) {
    const cfg = { sdpSemantics: 'unified-plan' };
    // servers=<JSON list>: these ICE servers (a benchmark picks one TURN transport this way).
    if (p.servers) cfg.iceServers = JSON.parse(p.servers);
    else if (p.ice !== 'server') cfg.iceServers = [];
    if (p.relay === '1') cfg.iceTransportPolicy = 'relay';
    return cfg;
  }

  window.TernPage = { params, record, plain, inboundStats, recordFetches, peerConfig };
})();
