import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  captureError, ErrorDefinition, NOT_READABLE_MESSAGE, deviceKindOf, describe, serverErrorSentence,
  webSocketNotSupportedError, alreadyActiveError, policyBlockedError, insecureContextError, descriptionError,
} from '../src/errors.js';

// Every DOMException name in WebIDL, plus Chrome's legacy getUserMedia names.
const DOM_EXCEPTION_NAMES = [
  'IndexSizeError', 'HierarchyRequestError', 'WrongDocumentError', 'InvalidCharacterError', 'NoModificationAllowedError',
  'NotFoundError', 'NotSupportedError', 'InUseAttributeError', 'InvalidStateError', 'SyntaxError', 'InvalidModificationError',
  'NamespaceError', 'InvalidAccessError', 'TypeMismatchError', 'SecurityError', 'NetworkError', 'AbortError',
  'URLMismatchError', 'QuotaExceededError', 'TimeoutError', 'InvalidNodeTypeError', 'DataCloneError', 'EncodingError',
  'NotReadableError', 'UnknownError', 'ConstraintError', 'DataError', 'TransactionInactiveError', 'ReadOnlyError',
  'VersionError', 'OperationError', 'NotAllowedError', 'OptOutError',
];
const LEGACY = { PermissionDeniedError: 'NotAllowedError', DevicesNotFoundError: 'NotFoundError', TrackStartError: 'NotReadableError', ConstraintNotSatisfiedError: 'OverconstrainedError' };

/** What getUserMedia failing with `name` must raise on a secure page. */
function expectedForUserMedia(name) {
  if (LEGACY[name]) return LEGACY[name];
  if (name === 'NotSupportedError') return ErrorDefinition.media_capture_failed;
  return name; // the ERRORS.md rows map to themselves; other names pass through as the official SDK does
}

function checkSentence(msg, ctx) {
  assert.equal(typeof msg, 'string', ctx);
  // NotReadableError's message is fixed by ERRORS.md (no final stop).
  assert.ok(msg === NOT_READABLE_MESSAGE || (msg.length > 20 && /[.!]$/.test(msg.trim())), `${ctx}: not a sentence: ${msg}`);
  assert.doesNotMatch(msg, /undefined|\[object|at .*\.js:\d+/, `${ctx}: leaks internals: ${msg}`);
}

test('getUserMedia: every DOMException name maps to its definition with an actionable sentence', () => {
  for (const name of [...DOM_EXCEPTION_NAMES, ...Object.keys(LEGACY)]) {
    const err = captureError(new DOMException('browser text', name), { device: 'camera', secure: true });
    assert.equal(err.definition, expectedForUserMedia(name), name);
    checkSentence(err.message, name);
    assert.equal(err.data.name, name);
  }
});

test('the ERRORS.md rows get their exact wording rules', () => {
  const nr = captureError(new DOMException('Could not start video source', 'NotReadableError'), { device: 'camera and microphone', secure: true });
  assert.equal(nr.message, NOT_READABLE_MESSAGE);
  const legacy = captureError({ name: 'TrackStartError', message: '' }, { device: 'microphone', secure: true });
  assert.equal(legacy.definition, 'NotReadableError');
  assert.equal(legacy.message, NOT_READABLE_MESSAGE);

  const abort = captureError(new DOMException('Timeout starting video source', 'AbortError'), { device: 'camera', secure: true });
  assert.match(abort.message, /\bcamera\b/, 'AbortError names the device kind');
  assert.match(abort.message, /Timeout starting video source/);
  const abortMic = captureError(new DOMException('', 'AbortError'), { device: 'microphone', secure: true });
  assert.match(abortMic.message, /\bmicrophone\b/);

  const over = captureError({ name: 'OverconstrainedError', constraint: 'width', message: '' },
    { device: 'camera', constraints: { video: { width: { exact: 99999 } } }, secure: true });
  assert.equal(over.definition, 'OverconstrainedError');
  assert.match(over.message, /"width" = \{"exact":99999\}/);
  const overId = captureError({ name: 'OverconstrainedError', constraint: 'deviceId', message: '' }, { device: 'camera', secure: true });
  assert.match(overId.message, /"deviceId"/);

  const denied = captureError(new DOMException('Permission denied', 'NotAllowedError'), { device: 'camera and microphone', secure: true });
  assert.match(denied.message, /camera and microphone/);
  const notFound = captureError(new DOMException('Requested device not found', 'NotFoundError'), { device: 'camera', secure: true });
  assert.match(notFound.message, /No camera was found/);
  assert.match(notFound.message, /available_devices/);
});

test('NotSupportedError is raised only for insecure pages', () => {
  const insecure = captureError(new DOMException('', 'NotSupportedError'), { device: 'camera', secure: false });
  assert.equal(insecure.definition, 'NotSupportedError');
  assert.match(insecure.message, /https:\/\//);
  const secure = captureError(new DOMException('Not supported', 'NotSupportedError'), { device: 'camera', secure: true });
  assert.notEqual(secure.definition, 'NotSupportedError');
  assert.equal(insecureContextError().definition, 'NotSupportedError');
});

test('getDisplayMedia: every DOMException name maps; a refused picker is screen_share_permission_denied', () => {
  for (const name of [...DOM_EXCEPTION_NAMES, ...Object.keys(LEGACY)]) {
    const err = captureError(new DOMException('browser text', name), { device: 'screen', secure: true });
    let expected = expectedForUserMedia(name);
    if (name === 'NotAllowedError' || name === 'PermissionDeniedError') expected = 'screen_share_permission_denied';
    if (name === 'NotReadableError' || name === 'TrackStartError') expected = ErrorDefinition.media_capture_failed;
    assert.equal(err.definition, expected, name);
    checkSentence(err.message, `screen ${name}`);
    assert.doesNotMatch(err.message, /Camera or Mic/, 'a screen failure does not blame the camera');
  }
  const denied = captureError(new DOMException('Permission denied by user', 'NotAllowedError'), { device: 'screen', secure: true });
  assert.match(denied.message, /camera stays on/i);
});

test('non-DOMException rejections (TypeError, strings, nothing) still give a definition and a sentence', () => {
  const t = captureError(new TypeError('At least one of audio and video must be requested'), { device: 'camera', secure: true });
  assert.equal(t.definition, 'TypeError');
  assert.match(t.message, /At least one of audio and video/);
  for (const weird of ['boom', null, undefined, 42, {}]) {
    const e = captureError(weird, { device: 'microphone', secure: true });
    assert.equal(typeof e.definition, 'string');
    checkSentence(e.message, String(weird));
  }
});

test('deviceKindOf words the request', () => {
  assert.equal(deviceKindOf({ video: true, audio: true }), 'camera and microphone');
  assert.equal(deviceKindOf({ video: { width: 640 } }), 'camera');
  assert.equal(deviceKindOf({ audio: true, video: false }), 'microphone');
});

test('SDK-side constructors: definitions and sentences', () => {
  const missing = webSocketNotSupportedError('missing');
  assert.equal(missing.definition, 'WebSocketNotSupported');
  const closed = webSocketNotSupportedError('closed', 'publish');
  assert.equal(closed.definition, 'WebSocketNotSupported');
  assert.match(closed.message, /publish\(\) needs the connection/);
  assert.match(closed.message, /new WebRTCAdaptor/);
  assert.equal(alreadyActiveError('audio', 'Mic 1').definition, 'AudioAlreadyActive');
  assert.equal(alreadyActiveError('video', '').definition, 'VideoAlreadyActive');
  const policy = policyBlockedError('camera and microphone', ['camera', 'microphone']);
  assert.equal(policy.definition, 'SecurityError');
  assert.match(policy.message, /allow="camera; microphone"/);
  const sld = descriptionError('notSetLocalDescription', 's1', new DOMException('bad sdp', 'InvalidModificationError'));
  assert.equal(sld.definition, 'notSetLocalDescription');
  assert.equal(sld.streamId, 's1');
  assert.match(sld.message, /"s1".*InvalidModificationError: bad sdp/);
  for (const e of [missing, closed, policy, sld]) checkSentence(e.message, e.definition);
});

test('server errors: plain words for every ERRORS.md server row, and the stream named', () => {
  for (const def of ['noStreamNameSpecified', 'not_allowed_unregistered_streams', 'no_room_specified', 'unauthorized_access',
    'no_encoder_settings', 'no_peer_associated_before', 'notSetLocalDescription']) {
    const s = serverErrorSentence({ command: 'error', definition: def, streamId: 'cam7' });
    checkSentence(s.replace(/ \[stream "cam7"\]$/, ''), def);
    assert.match(s, /\[stream "cam7"\]$/);
    assert.doesNotMatch(describe(def), /The server reported/, `${def} has its own words`);
  }
  assert.match(serverErrorSentence({ definition: 'no_room_specified' }), /room name/);
  assert.match(serverErrorSentence({ definition: 'brand_new_error', information: 'details' }), /"brand_new_error" \(details\)/);
  assert.match(serverErrorSentence({ definition: 'no_active_streams_in_room', room: 'r1' }), /\[room "r1"\]/);
});

test('describe() has words for every SDK definition', () => {
  for (const def of Object.values(ErrorDefinition)) {
    assert.doesNotMatch(describe(def), /The server reported/, def);
  }
});
