import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOptions, withTarget, DEFAULT_SIMULCAST_LAYERS } from '../src/options.js';

const URL_ = 'wss://media.example:5443/LiveApp/websocket';

test('defaults match the official SDK where apps rely on them', () => {
  const o = parseOptions({ websocket_url: URL_ });
  assert.equal(o.websocketUrl, URL_);
  assert.deepEqual(o.mediaConstraints, { video: true, audio: true });
  assert.equal(o.publishMode, 'camera');
  assert.equal(o.isPlayMode, false);
  assert.equal(o.onlyDataChannel, false);
  assert.equal(o.dataChannelEnabled, true);
  assert.equal(o.bandwidth, 1200);
  assert.equal(o.debug, false);
  assert.equal(o.reconnect, true);
  assert.equal(o.userDefinedIceServers, false);
  assert.deepEqual(o.peerconnectionConfig, { iceServers: [] });
  assert.equal(o.pingIntervalMs, 3000);
  assert.equal(o.degradationPreference, 'maintain-resolution');
  assert.deepEqual(o.reconnectBackoff, { baseMs: 500, maxMs: 10_000, maxAttempts: Infinity });
});

test('official option names are read, including websocketURL and the element variants', () => {
  const cb = () => {};
  const el = /** @type {any} */ ({ tagName: 'VIDEO' });
  const o = parseOptions({
    websocketURL: URL_, localVideoId: 'local', remoteVideoElement: el, isPlayMode: true, onlyDataChannel: true,
    dataChannelEnabled: false, bandwidth: 'unlimited', debug: true, callback: cb, callbackError: cb,
    reconnectIfRequiredFlag: false, peerconnection_config: { iceServers: [{ urls: 'stun:stun.example:3478' }], sdpSemantics: 'unified-plan' },
  });
  assert.equal(o.websocketUrl, URL_);
  assert.equal(o.localVideoId, 'local');
  assert.equal(o.remoteVideoElement, el);
  assert.equal(o.isPlayMode, true);
  assert.equal(o.onlyDataChannel, true);
  assert.equal(o.dataChannelEnabled, false);
  assert.equal(o.bandwidth, 'unlimited');
  assert.equal(o.callback, cb);
  assert.equal(o.reconnect, false);
  assert.equal(o.userDefinedIceServers, true);
  assert.deepEqual(o.peerconnectionConfig, { iceServers: [{ urls: 'stun:stun.example:3478' }] }, 'sdpSemantics is dropped');
});

test('an explicit empty iceServers list counts as defined by the app', () => {
  assert.equal(parseOptions({ websocket_url: URL_, peerconnection_config: { iceServers: [] } }).userDefinedIceServers, true);
  assert.equal(parseOptions({ websocket_url: URL_, peerconnection_config: { bundlePolicy: 'max-bundle' } }).userDefinedIceServers, false);
});

test('video "screen" and "screen+camera" select the publish mode', () => {
  for (const mode of ['screen', 'screen+camera']) {
    const o = parseOptions({ websocket_url: URL_, mediaConstraints: { video: mode, audio: true } });
    assert.equal(o.publishMode, mode);
    assert.equal(o.mediaConstraints.video, true);
  }
  const cam = parseOptions({ websocket_url: URL_, mediaConstraints: { video: 'camera', audio: false } });
  assert.equal(cam.publishMode, 'camera');
  assert.deepEqual(cam.mediaConstraints, { video: true, audio: false });
  const obj = parseOptions({ websocket_url: URL_, mediaConstraints: { video: { width: 1280 }, audio: { echoCancellation: true } } });
  assert.deepEqual(obj.mediaConstraints, { video: { width: 1280 }, audio: { echoCancellation: true } });
});

test('programming errors throw a TypeError naming the option', () => {
  const cases = [
    [{}, /websocket_url/],
    [{ websocket_url: 'http://x/LiveApp/websocket' }, /ws:\/\/ or wss:\/\//],
    [{ websocket_url: URL_, isPlayMode: 'yes' }, /isPlayMode/],
    [{ websocket_url: URL_, bandwidth: -5 }, /bandwidth/],
    [{ websocket_url: URL_, callback: 'f' }, /callback/],
    [{ websocket_url: URL_, mediaConstraints: { video: 'tv' } }, /mediaConstraints\.video/],
    [{ websocket_url: URL_, mediaConstraints: 'all' }, /mediaConstraints/],
    [{ websocket_url: URL_, peerconnection_config: { iceServers: 'stun:x' } }, /iceServers/],
    [{ websocket_url: URL_, degradationPreference: 'fast' }, /degradationPreference/],
    [{ websocket_url: URL_, reconnectBackoff: { baseMs: 10 } }, /reconnectBackoff\.baseMs/],
    [{ websocket_url: URL_, pingIntervalMs: 5 }, /pingIntervalMs/],
  ];
  for (const [input, re] of cases) assert.throws(() => parseOptions(/** @type {any} */ (input)), (e) => e instanceof TypeError && re.test(e.message), JSON.stringify(input));
  assert.throws(() => parseOptions(/** @type {any} */ (undefined)), TypeError);
});

test('unknown options are collected (they are logged in debug mode), not fatal', () => {
  const o = parseOptions(/** @type {any} */ ({ websocket_url: URL_, candidateTypes: ['udp'], sdp_constraints: {} }));
  assert.deepEqual(o.ignored.sort(), ['candidateTypes', 'sdp_constraints']);
});

test('pong timeout defaults to three ping periods and at least 10 s', () => {
  assert.equal(parseOptions({ websocket_url: URL_ }).pongTimeoutMs, 10_000);
  assert.equal(parseOptions({ websocket_url: URL_, pingIntervalMs: 5000 }).pongTimeoutMs, 15_000);
});

test('simulcast is off by default; on, it brings three layers lowest first, capped only by a bandwidth the app gives', () => {
  const off = parseOptions({ websocket_url: URL_ });
  assert.equal(off.simulcastLayers, null);
  assert.equal(off.bandwidth, 1200);

  const on = parseOptions({ websocket_url: URL_, simulcast: true });
  assert.deepEqual(on.simulcastLayers, [
    { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
    { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
    { rid: 'f', maxBitrate: 1_500_000 },
  ]);
  assert.equal(on.bandwidthGiven, false, 'each layer keeps its own maxBitrate');
  const capped = parseOptions({ websocket_url: URL_, simulcast: true, bandwidth: 900 });
  assert.deepEqual([capped.bandwidth, capped.bandwidthGiven], [900, true]);
  assert.deepEqual(on.ignored, []);

  // The defaults are shared and frozen: what an adaptor gets is its own copy.
  on.simulcastLayers[0].maxBitrate = 1;
  assert.equal(DEFAULT_SIMULCAST_LAYERS[0].maxBitrate, 150_000);
  assert.ok(Object.isFrozen(DEFAULT_SIMULCAST_LAYERS) && Object.isFrozen(DEFAULT_SIMULCAST_LAYERS[2]));
});

test('simulcastLayers replaces the default list and is copied', () => {
  const layers = [{ rid: 'lo', scaleResolutionDownBy: 2, maxBitrate: 300_000, maxFramerate: 15 }, { rid: 'hi' }];
  const o = parseOptions({ websocket_url: URL_, simulcast: true, simulcastLayers: layers });
  assert.deepEqual(o.simulcastLayers, layers);
  layers[1].rid = 'changed';
  assert.equal(/** @type {any[]} */ (o.simulcastLayers)[1].rid, 'hi');
  assert.deepEqual(parseOptions({ websocket_url: URL_, simulcast: true, simulcastLayers: [{ rid: 'only' }] }).simulcastLayers, [{ rid: 'only' }]);
});

test('wrong simulcast options throw a TypeError naming the option', () => {
  const sc = (simulcastLayers) => ({ websocket_url: URL_, simulcast: true, simulcastLayers });
  const cases = [
    [{ websocket_url: URL_, simulcast: 'yes' }, /option simulcast must be true or false/],
    [{ websocket_url: URL_, simulcastLayers: [{ rid: 'a' }] }, /simulcastLayers needs simulcast: true/],
    [sc([]), /1 to 3 layers/],
    [sc([{ rid: 'a' }, { rid: 'b' }, { rid: 'c' }, { rid: 'd' }]), /1 to 3 layers/],
    [sc({ rid: 'a' }), /1 to 3 layers/],
    [sc([{ rid: 'a' }, { rid: 'a' }]), /rid "a" twice/],
    [sc([{ rid: '' }]), /simulcastLayers\[0\]\.rid/],
    [sc([{ scaleResolutionDownBy: 2 }]), /simulcastLayers\[0\]\.rid/],
    [sc([{ rid: 'a' }, { rid: 'bad-rid' }]), /simulcastLayers\[1\]\.rid must be 1 to 16 letters or digits/],
    [sc([{ rid: 'x'.repeat(17) }]), /simulcastLayers\[0\]\.rid/],
    [sc([null]), /simulcastLayers\[0\] must be an object/],
    [sc([{ rid: 'a', scaleResolutionDownBy: 0.5 }]), /simulcastLayers\[0\]\.scaleResolutionDownBy/],
    [sc([{ rid: 'a', maxBitrate: Infinity }]), /simulcastLayers\[0\]\.maxBitrate/],
    [sc([{ rid: 'a', maxFramerate: '30' }]), /simulcastLayers\[0\]\.maxFramerate/],
    [sc([{ rid: 'a', scaleResolution: 2 }]), /unknown keys scaleResolution/],
  ];
  for (const [input, re] of cases) assert.throws(() => parseOptions(/** @type {any} */ (input)), (e) => e instanceof TypeError && re.test(e.message), JSON.stringify(input));
});

test('withTarget adds target=origin for publishers and edge for players, keeps a given one', () => {
  assert.equal(withTarget('ws://h:5080/LiveApp/websocket', false), 'ws://h:5080/LiveApp/websocket?target=origin');
  assert.equal(withTarget('ws://h:5080/LiveApp/websocket', true), 'ws://h:5080/LiveApp/websocket?target=edge');
  assert.equal(withTarget('ws://h:5080/LiveApp/websocket?target=edge&x=1', false), 'ws://h:5080/LiveApp/websocket?target=edge&x=1');
  assert.equal(withTarget('ws://h:5080/LiveApp/websocket?target=other', true), 'ws://h:5080/LiveApp/websocket?target=edge');
});
