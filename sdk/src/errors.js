// The error catalogue: every error definition the SDK raises itself, the sentence a person
// reads for it, the mapping from browser exceptions (DOMException names) to definitions, and
// plain words for the errors the server sends. Nothing else in the SDK spells these strings.
//
// Raised errors reach the app twice (see ERRORS.md): `callbackError(definition, message)` and
// an "error" event `{definition, message, streamId, data}`.

/** Definitions raised by the SDK itself. */
export const ErrorDefinition = Object.freeze({
  /** The page has no WebSocket, or a call needs signaling after closeWebSocket(). */
  WebSocketNotSupported: 'WebSocketNotSupported',
  /** The socket failed (server unreachable or connection lost); the SDK retries by itself. */
  WebSocketNotConnected: 'WebSocketNotConnected',
  /** getUserMedia/getDisplayMedia aborted for a reason other than permission or a busy device. */
  AbortError: 'AbortError',
  /** The user, the browser or the OS denied camera/microphone. */
  NotAllowedError: 'NotAllowedError',
  /** No device of the requested kind exists. */
  NotFoundError: 'NotFoundError',
  /** No device can satisfy the constraints. */
  OverconstrainedError: 'OverconstrainedError',
  /** Camera/microphone are disabled for this document (permissions policy). */
  SecurityError: 'SecurityError',
  /** startAudio() while a live microphone track exists. */
  AudioAlreadyActive: 'AudioAlreadyActive',
  /** startVideo() while a live camera or screen track exists. */
  VideoAlreadyActive: 'VideoAlreadyActive',
  /** The device is busy (another process holds it). */
  NotReadableError: 'NotReadableError',
  /** Media capture needs a secure context and the page is not one. */
  NotSupportedError: 'NotSupportedError',
  /** Mute/camera controls were used while there is no local stream. */
  NoActiveConnection: 'NoActiveConnection',
  /** createOffer/createAnswer/setLocalDescription failed (the server sends the same name for its own SDP). */
  notSetLocalDescription: 'notSetLocalDescription',
  /** setRemoteDescription rejected the server's SDP (the server sends the same name for the client's SDP). */
  notSetRemoteDescription: 'notSetRemoteDescription',
  /** The user refused the screen-share picker; the camera stays on. */
  screen_share_permission_denied: 'screen_share_permission_denied',
  /** The user pressed the browser's "Stop sharing"; the camera is switched back on. */
  screen_share_stopped: 'screen_share_stopped',
  /** A data channel reported an error while open. */
  data_channel_error: 'data_channel_error',
  /** Capture failed for a reason no other definition describes; the message carries the browser's words. */
  media_capture_failed: 'media_capture_failed',
});

/** The message ERRORS.md fixes for NotReadableError. */
export const NOT_READABLE_MESSAGE = 'Camera or Mic is being used by some other process that does not let read the devices';

/**
 * An error the SDK reports. `data` is what the classic callbackError receives as its second
 * argument when that is not the sentence itself (the server's message object for server errors).
 */
export class TernError extends Error {
  /**
   * @param {string} definition
   * @param {string} message a sentence a person can act on
   * @param {{streamId?: string, data?: unknown, cause?: unknown}} [extra]
   */
  constructor(definition, message, extra = {}) {
    super(message);
    this.name = 'TernError';
    this.definition = definition;
    this.streamId = extra.streamId;
    this.data = extra.data;
    if (extra.cause !== undefined) this.cause = extra.cause;
  }
}

/**
 * What a capture request asked for; used to word messages.
 * @typedef {'camera' | 'microphone' | 'camera and microphone' | 'screen'} DeviceKind
 */

/**
 * The device words for a getUserMedia constraints object.
 * @param {MediaStreamConstraints} constraints
 * @returns {DeviceKind}
 */
export function deviceKindOf(constraints) {
  const video = constraints.video != null && constraints.video !== false;
  const audio = constraints.audio != null && constraints.audio !== false;
  if (video && audio) return 'camera and microphone';
  if (video) return 'camera';
  return 'microphone';
}

// Browser exception names (standard and Chrome's legacy ones) → the definition they raise.
/** @type {Record<string, string>} */
const CAPTURE_NAMES = {
  NotAllowedError: ErrorDefinition.NotAllowedError,
  PermissionDeniedError: ErrorDefinition.NotAllowedError,
  NotFoundError: ErrorDefinition.NotFoundError,
  DevicesNotFoundError: ErrorDefinition.NotFoundError,
  NotReadableError: ErrorDefinition.NotReadableError,
  TrackStartError: ErrorDefinition.NotReadableError,
  OverconstrainedError: ErrorDefinition.OverconstrainedError,
  ConstraintNotSatisfiedError: ErrorDefinition.OverconstrainedError,
  SecurityError: ErrorDefinition.SecurityError,
  AbortError: ErrorDefinition.AbortError,
};

/**
 * @param {unknown} err
 * @returns {{name: string, message: string, constraint: string | undefined}}
 */
function exceptionParts(err) {
  if (err && typeof err === 'object') {
    const e = /** @type {{name?: unknown, message?: unknown, constraint?: unknown}} */ (err);
    return {
      name: typeof e.name === 'string' ? e.name : 'Error',
      message: typeof e.message === 'string' ? e.message : '',
      constraint: typeof e.constraint === 'string' && e.constraint !== '' ? e.constraint : undefined,
    };
  }
  return { name: 'Error', message: err == null ? '' : String(err), constraint: undefined };
}

/**
 * The value the app asked for under a constraint name, for the OverconstrainedError message.
 * @param {MediaStreamConstraints | undefined} constraints
 * @param {string} name
 */
function requestedValue(constraints, name) {
  if (!constraints) return undefined;
  for (const kind of /** @type {const} */ (['video', 'audio'])) {
    const c = constraints[kind];
    if (c && typeof c === 'object' && name in c) {
      return JSON.stringify(/** @type {Record<string, unknown>} */ (c)[name]);
    }
  }
  return undefined;
}

/**
 * Turn a rejected getUserMedia/getDisplayMedia into the error the app receives.
 * @param {unknown} err what the browser rejected with
 * @param {object} request
 * @param {DeviceKind} request.device what was asked for
 * @param {MediaStreamConstraints} [request.constraints]
 * @param {boolean} request.secure whether the page is a secure context
 * @returns {TernError}
 */
export function captureError(err, { device, constraints, secure }) {
  const { name, message, constraint } = exceptionParts(err);
  const browserSaid = message ? ` (the browser said: ${message})` : '';
  const data = { name, message, constraint };
  const make = (/** @type {string} */ def, /** @type {string} */ text) => new TernError(def, text, { data, cause: err });

  if (device === 'screen') {
    if (name === 'NotAllowedError' || name === 'PermissionDeniedError') {
      return make(ErrorDefinition.screen_share_permission_denied,
        'Screen sharing was not allowed: the picker was cancelled or screen capture is blocked for this page. '
        + 'The camera stays on. Choose a screen, window or tab to share, or allow screen capture in the browser settings.');
    }
    if (name === 'NotReadableError' || name === 'TrackStartError') {
      return make(ErrorDefinition.media_capture_failed,
        `The screen could not be captured: the operating system or another application blocked it${browserSaid}. `
        + 'Check the OS screen-recording permission for the browser and try again.');
    }
  }

  if (name === 'NotSupportedError') {
    if (!secure) return insecureContextError();
    return make(ErrorDefinition.media_capture_failed,
      `This browser cannot capture the ${device} with these settings${browserSaid}. Try another browser or simpler constraints.`);
  }

  const def = CAPTURE_NAMES[name];
  switch (def) {
    case ErrorDefinition.NotAllowedError:
      return make(def, `Access to the ${device} was denied by the user, the browser or the operating system. `
        + `Allow the ${device} for this site (the camera icon in the address bar, and the OS privacy settings), then try again.`);
    case ErrorDefinition.NotFoundError:
      return make(def, device === 'screen'
        ? 'No screen, window or tab is available to share. Open something to share and try again.'
        : `No ${device} was found. Connect one (or enable it in the operating system), then try again; `
          + 'the devices the browser sees are listed in the "available_devices" callback.');
    case ErrorDefinition.NotReadableError:
      return make(def, NOT_READABLE_MESSAGE);
    case ErrorDefinition.OverconstrainedError: {
      const c = constraint ?? 'unknown';
      const asked = requestedValue(constraints, c);
      return make(def, `No ${device} can satisfy the constraint "${c}"${asked ? ` = ${asked}` : ''}. `
        + 'Relax or remove that constraint in mediaConstraints and try again.');
    }
    case ErrorDefinition.SecurityError:
      return make(def, device === 'screen'
        ? 'Screen capture is disabled for this document. Check the page\'s Permissions-Policy (display-capture).'
        : `Use of the ${device} is disabled for this document by its permissions policy. If the page runs in an iframe, `
          + 'add allow="camera; microphone" to the iframe; otherwise check the Permissions-Policy header.');
    case ErrorDefinition.AbortError:
      return make(def, `The ${device} could not be started: the browser aborted the request${browserSaid}. `
        + `Close other applications or tabs that might use the ${device}, then try again.`);
    default:
      // Other exceptions (TypeError for invalid constraints, InvalidStateError, OperationError, …)
      // keep their own name, as the official SDK does.
      return make(name === 'Error' ? ErrorDefinition.media_capture_failed : name,
        `The ${device} could not be started${browserSaid}. Check mediaConstraints and try again.`);
  }
}

/** NotSupportedError: the page is not a secure context, so the browser hides media capture. */
export function insecureContextError() {
  return new TernError(ErrorDefinition.NotSupportedError,
    'Camera, microphone and screen capture only work on secure pages. Open this page over https:// '
    + '(or from http://localhost while developing).');
}

/**
 * SecurityError raised before asking the browser, when the document's permissions policy
 * disables the requested devices (the browser would only say "Permission denied").
 * @param {DeviceKind} device
 * @param {string[]} features the blocked policy features, e.g. ["camera"]
 */
export function policyBlockedError(device, features) {
  return new TernError(ErrorDefinition.SecurityError,
    `Use of the ${device} is disabled for this document by its permissions policy (${features.join(', ')}). `
    + 'If the page runs in an iframe, add allow="camera; microphone" to the iframe; otherwise check the Permissions-Policy header.',
    { data: { blockedFeatures: features } });
}

/**
 * @param {'audio' | 'video'} kind
 * @param {string} label the live track's label
 */
export function alreadyActiveError(kind, label) {
  return kind === 'audio'
    ? new TernError(ErrorDefinition.AudioAlreadyActive,
      `A microphone track is already live${label ? ` ("${label}")` : ''}. Use switchAudioInputSource() to change it, `
      + 'or stop it before starting audio again.', { data: { label } })
    : new TernError(ErrorDefinition.VideoAlreadyActive,
      `A video track is already live${label ? ` ("${label}")` : ''}. Use switchVideoCameraCapture() to change the camera, `
      + 'or stop it before starting video again.', { data: { label } });
}

/**
 * WebSocketNotSupported.
 * @param {'missing' | 'closed'} why missing: the page has no WebSocket; closed: closeWebSocket() was called
 * @param {string} [call] the method that needed the connection
 */
export function webSocketNotSupportedError(why, call) {
  return why === 'missing'
    ? new TernError(ErrorDefinition.WebSocketNotSupported,
      'This browser (or page) has no WebSocket, which Tern needs to talk to the server. Use a current browser '
      + 'and make sure no script removes window.WebSocket.')
    : new TernError(ErrorDefinition.WebSocketNotSupported,
      `${call ? `${call}() needs` : 'This call needs'} the connection to the server, which was closed with closeWebSocket(). `
      + 'Create a new WebRTCAdaptor to connect again.', { data: { call } });
}

/**
 * WebSocketNotConnected: the socket failed or dropped; the SDK keeps retrying.
 * @param {string} url
 * @param {unknown} event the browser's error event
 */
export function webSocketNotConnectedError(url, event) {
  return new TernError(ErrorDefinition.WebSocketNotConnected,
    `Could not reach the server at ${url}. Check the address and the network; the SDK keeps retrying with growing delays.`,
    { data: event });
}

/**
 * @param {'notSetLocalDescription' | 'notSetRemoteDescription'} def
 * @param {string} streamId
 * @param {unknown} err
 */
export function descriptionError(def, streamId, err) {
  const { name, message } = exceptionParts(err);
  const said = message ? `${name}: ${message}` : name;
  const text = def === ErrorDefinition.notSetLocalDescription
    ? `The browser could not create or apply its own session description for stream "${streamId}" (${said}). `
      + 'The SDK will retry; if it keeps failing, check the media constraints and the browser\'s codec support.'
    : `The browser rejected the server's session description for stream "${streamId}" (${said}). `
      + 'This usually means no codec in common; check the server\'s codec settings.';
  return new TernError(def, text, { streamId, data: { streamId, name, message }, cause: err });
}

/** NoActiveConnection: a local-media control was used with no local stream. */
export function noLocalStreamError(/** @type {string} */ call) {
  return new TernError(ErrorDefinition.NoActiveConnection,
    `${call}() needs a local camera or microphone, and there is none. Start one first (startVideo(), startAudio() or publish()).`,
    { data: { call } });
}

/** screen_share_stopped: the display track ended. */
export function screenShareStoppedError() {
  return new TernError(ErrorDefinition.screen_share_stopped,
    'Screen sharing was stopped from the browser ("Stop sharing", or the shared window or tab closed). '
    + 'The camera is switched back on; start sharing again to resume.');
}

/**
 * @param {string} streamId
 * @param {unknown} event
 */
export function dataChannelError(streamId, event) {
  return new TernError(ErrorDefinition.data_channel_error,
    `The data channel of stream "${streamId}" reported an error. Messages may have been lost; the channel reopens when the stream reconnects.`,
    { streamId, data: { streamId, error: event } });
}

// Plain words for the errors the server sends (PROTOCOL.md §5.1, ERRORS.md).
/** @type {Record<string, string>} */
const SERVER_WORDS = {
  noStreamNameSpecified: 'The server needs a stream id for this request, and none was given. Pass a non-empty stream id.',
  invalidStreamName: 'The stream id may only use letters, digits, "_", "." and "-". Choose another id.',
  not_allowed_unregistered_streams: 'This server only accepts streams that were created beforehand (REST API), and this id was not. '
    + 'Create the stream first or use a registered id.',
  no_room_specified: 'Joining a room needs a room name, and none was given.',
  unauthorized_access: 'The server refused the request: the token or TOTP code is missing, wrong, expired, for another stream or already used. '
    + 'Get a fresh token for this stream and action.',
  no_encoder_settings: 'This stream has no alternative qualities to choose from, so the requested quality cannot be forced.',
  no_peer_associated_before: 'There is no other peer in this peer-to-peer session yet; wait for the other side to join.',
  notSetLocalDescription: 'The server could not build its session description for this stream (for example, no codec in common).',
  notSetRemoteDescription: 'The server could not use this browser\'s session description (usually no codec in common).',
  no_stream_exist: 'This stream is not live. Playback starts by itself when it goes live.',
  streamIdInUse: 'Another publisher is already using this stream id. Choose another id or stop the other publisher.',
  already_publishing: 'This connection is already publishing this stream.',
  already_playing: 'This connection is already playing this stream.',
  viewerLimitReached: 'This stream has reached its viewer limit. Try again later.',
  stream_not_active_or_expired: 'This stream is outside its scheduled time window or has expired.',
  room_not_active_or_expired: 'This room is outside its scheduled time window or has expired.',
  highResourceUsage: 'The server is overloaded right now. Try again in a moment.',
  user_blocked: 'This subscriber is blocked for this action.',
  no_active_streams_in_room: 'Nobody is publishing in this room yet.',
  main_track_has_max_subtrack_count__not_allowed_to_add_more_subtracks: 'The room is full.',
  publishTimeoutError: 'The server did not receive media in time; the SDK publishes again by itself.',
  malformed_message: 'The server could not understand a message from this page (this is a bug in the SDK or the page).',
  not_initialized_yet: 'The server application is still starting. Try again in a moment.',
  data_store_not_available: 'The server\'s data store is not available. Try again later.',
  no_codec_enabled_in_the_server: 'The server has no video codec enabled.',
  server_error_check_logs: 'The server hit an internal error; its logs say more.',
};

// Plain words for the SDK's own definitions (used by describe()).
/** @type {Record<string, string>} */
const SDK_WORDS = {
  WebSocketNotSupported: 'The page cannot talk to the server: the browser has no WebSocket, or the connection was closed with closeWebSocket().',
  WebSocketNotConnected: 'The server cannot be reached right now; the page keeps retrying.',
  AbortError: 'The camera, microphone or screen could not be started for a reason the browser did not explain.',
  NotAllowedError: 'Camera or microphone access was denied (by you, the browser or the operating system).',
  NotFoundError: 'No camera or microphone was found.',
  OverconstrainedError: 'No camera or microphone matches the requested settings (resolution, device…).',
  SecurityError: 'Camera and microphone are disabled for this page (for example, inside an iframe without permission).',
  AudioAlreadyActive: 'The microphone is already on.',
  VideoAlreadyActive: 'The camera is already on.',
  NotReadableError: NOT_READABLE_MESSAGE + '.',
  NotSupportedError: 'Camera, microphone and screen sharing need a secure (https) page.',
  NoActiveConnection: 'There is no local camera or microphone to control.',
  screen_share_permission_denied: 'Screen sharing was not allowed; the camera stays on.',
  screen_share_stopped: 'Screen sharing was stopped from the browser; the camera is back on.',
  data_channel_error: 'The data channel reported an error.',
  media_capture_failed: 'The camera, microphone or screen could not be captured.',
};

/**
 * Plain words for any error definition (the SDK's or the server's), for showing to people.
 * @param {string} definition
 */
export function describe(definition) {
  if (definition === 'notSetLocalDescription') {
    return 'A session description could not be created (in the browser or on the server); the stream is retried.';
  }
  if (definition === 'notSetRemoteDescription') {
    return 'A session description was rejected (usually no codec in common).';
  }
  return SDK_WORDS[definition] ?? SERVER_WORDS[definition] ?? `The server reported "${definition}".`;
}

/**
 * The sentence for an error the server sent.
 * @param {{definition?: unknown, streamId?: unknown, room?: unknown, information?: unknown}} msg
 */
export function serverErrorSentence(msg) {
  const def = typeof msg.definition === 'string' ? msg.definition : 'error';
  const words = SERVER_WORDS[def] ?? `The server reported "${def}"${typeof msg.information === 'string' && msg.information ? ` (${msg.information})` : ''}.`;
  const about = typeof msg.streamId === 'string' && msg.streamId ? ` [stream "${msg.streamId}"]`
    : typeof msg.room === 'string' && msg.room ? ` [room "${msg.room}"]` : '';
  return words + about;
}
