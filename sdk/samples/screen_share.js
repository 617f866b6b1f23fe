// Screen sharing sample: publish the camera, then share the screen alone or with the camera in
// a corner. Refusing the picker keeps the camera; "Stop sharing" in the browser brings it back.
import { webSocketUrl, byId, param, randomId, StatusLog, ErrorBoard, CONNECTION_ERRORS, CAPTURE_ERRORS } from './sample_ui.js';

/** @param {import('./sample_ui.js').Sdk} sdk */
export function startScreenShareSample(sdk) {
  const status = new StatusLog(byId('status'));
  const board = new ErrorBoard({
    list: byId('errors'),
    banner: byId('banner'),
    describe: sdk.describeError,
    definitions: ['screen_share_permission_denied', 'screen_share_stopped', ...CAPTURE_ERRORS, ...CONNECTION_ERRORS,
      'streamIdInUse', 'unauthorized_access'],
  });
  /** @type {HTMLInputElement} */ const streamId = byId('streamId');
  streamId.value = param('id', randomId('screen'));
  /** @type {HTMLButtonElement} */ const start = byId('start');
  const shareButtons = ['share', 'shareWithCamera', 'camera'].map((id) => /** @type {HTMLButtonElement} */ (byId(id)));

  const adaptor = new sdk.WebRTCAdaptor({
    websocket_url: webSocketUrl(),
    mediaConstraints: { video: true, audio: true },
    localVideoId: 'localVideo',
    callback: (info, obj) => {
      if (info === 'initialized') start.disabled = false;
      else if (info === 'publish_started') {
        status.add(`publishing ${obj.streamId}; watch it on the play page`);
        for (const b of shareButtons) b.disabled = false;
      } else if (info === 'screen_share_stopped') status.add('screen sharing stopped from the browser; camera back on');
      else if (info === 'browser_screen_share_supported') status.add('this browser can share the screen');
    },
  });
  adaptor.on('error', (e) => {
    status.add(`error ${e.definition}`);
    board.show(e);
  });

  const id = () => streamId.value.trim();
  start.addEventListener('click', () => {
    start.disabled = true;
    adaptor.publish(id());
  });
  byId('share').addEventListener('click', async () => {
    if (await adaptor.switchDesktopCapture(id())) status.add('sharing the screen');
  });
  byId('shareWithCamera').addEventListener('click', async () => {
    if (await adaptor.switchDesktopCaptureWithCamera(id())) status.add('sharing the screen with the camera');
  });
  byId('camera').addEventListener('click', async () => {
    if (await adaptor.switchVideoCameraCapture(id())) status.add('back to the camera');
  });

  Object.assign(window, { sample: { adaptor, board, status } });
}
