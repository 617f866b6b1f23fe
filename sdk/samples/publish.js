// Publish sample: the camera and microphone go out as one stream.
import { webSocketUrl, byId, param, randomId, StatusLog, ErrorBoard, CONNECTION_ERRORS, CAPTURE_ERRORS } from './sample_ui.js';

/** @param {import('./sample_ui.js').Sdk} sdk */
export function startPublishSample(sdk) {
  const status = new StatusLog(byId('status'));
  const board = new ErrorBoard({
    list: byId('errors'),
    banner: byId('banner'),
    describe: sdk.describeError,
    definitions: [...CAPTURE_ERRORS, 'AudioAlreadyActive', 'VideoAlreadyActive', ...CONNECTION_ERRORS,
      'noStreamNameSpecified', 'invalidStreamName', 'streamIdInUse', 'unauthorized_access', 'not_allowed_unregistered_streams',
      'notSetLocalDescription', 'notSetRemoteDescription'],
  });
  /** @type {HTMLInputElement} */
  const streamId = byId('streamId');
  streamId.value = param('id', randomId('stream'));
  /** @type {HTMLButtonElement} */ const start = byId('start');
  /** @type {HTMLButtonElement} */ const stop = byId('stop');
  /** @type {HTMLButtonElement} */ const mute = byId('mute');
  /** @type {HTMLButtonElement} */ const camera = byId('camera');
  let muted = false;
  let cameraOff = false;

  const adaptor = new sdk.WebRTCAdaptor({
    websocket_url: webSocketUrl(),
    mediaConstraints: { video: true, audio: true },
    localVideoId: 'localVideo',
    callback: (info, obj) => {
      if (info === 'initialized') {
        status.add('connected to the server');
        start.disabled = false;
      } else if (info === 'publish_started' || info === 'session_restored') {
        status.add(`publishing ${obj.streamId}${info === 'session_restored' ? ' (resumed)' : ''}`);
        board.clear();
        start.disabled = true;
        stop.disabled = false;
      } else if (info === 'publish_finished') {
        status.add(`stopped publishing ${obj.streamId}`);
        start.disabled = false;
        stop.disabled = true;
      } else if (info === 'reconnection_attempt_for_publisher') {
        status.add(`connection problem: publishing ${obj} again`);
      } else if (info === 'ice_connection_state_changed') {
        status.add(`connection ${obj.state}`);
      } else if (info === 'closed') {
        status.add('connection to the server closed; reconnecting');
      }
    },
  });
  adaptor.on('error', (e) => {
    status.add(`error ${e.definition}`);
    board.show(e);
    if (!adaptor.localStream) start.disabled = false;
  });

  start.addEventListener('click', () => {
    start.disabled = true;
    adaptor.publish(streamId.value.trim());
  });
  stop.addEventListener('click', () => {
    adaptor.stop(streamId.value.trim());
    stop.disabled = true;
    start.disabled = false;
  });
  mute.addEventListener('click', () => {
    muted = !muted;
    if (muted) adaptor.muteLocalMic(); else adaptor.unmuteLocalMic();
    mute.textContent = muted ? 'Unmute microphone' : 'Mute microphone';
  });
  camera.addEventListener('click', async () => {
    cameraOff = !cameraOff;
    if (cameraOff) await adaptor.turnOffLocalCamera(streamId.value); else await adaptor.turnOnLocalCamera(streamId.value);
    camera.textContent = cameraOff ? 'Turn camera on' : 'Turn camera off';
  });
  byId('startAudio').addEventListener('click', () => { adaptor.startAudio(); });
  byId('startVideo').addEventListener('click', () => { adaptor.startVideo(); });

  Object.assign(window, { sample: { adaptor, board, status } });
}
