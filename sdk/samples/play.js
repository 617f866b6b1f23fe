// Play sample: watch a stream published by the publish sample (or any Ant Media SDK page).
import { webSocketUrl, byId, param, StatusLog, ErrorBoard, CONNECTION_ERRORS } from './sample_ui.js';

/** @param {import('./sample_ui.js').Sdk} sdk */
export function startPlaySample(sdk) {
  const status = new StatusLog(byId('status'));
  const board = new ErrorBoard({
    list: byId('errors'),
    banner: byId('banner'),
    describe: sdk.describeError,
    definitions: ['no_stream_exist', 'noStreamNameSpecified', 'invalidStreamName', 'unauthorized_access', 'already_playing',
      'no_encoder_settings', 'notSetLocalDescription', 'notSetRemoteDescription', ...CONNECTION_ERRORS],
  });
  /** @type {HTMLInputElement} */
  const streamId = byId('streamId');
  streamId.value = param('id', '');
  /** @type {HTMLButtonElement} */ const play = byId('play');
  /** @type {HTMLButtonElement} */ const stop = byId('stop');
  /** @type {HTMLSelectElement} */ const quality = byId('quality');

  const adaptor = new sdk.WebRTCAdaptor({
    websocket_url: webSocketUrl(),
    isPlayMode: true,
    remoteVideoId: 'remoteVideo',
    callback: (info, obj) => {
      if (info === 'initialized') {
        status.add('connected to the server');
        play.disabled = false;
        if (param('autoplay', '') === '1' && streamId.value) play.click();
      } else if (info === 'play_started') {
        status.add(`playing ${obj.streamId}`);
        board.clear();
        adaptor.getStreamInfo(obj.streamId);
      } else if (info === 'play_finished') {
        status.add(`${obj.streamId} ended`);
        play.disabled = false;
        stop.disabled = true;
      } else if (info === 'streamInformation') {
        const heights = [...new Set(obj.streamInfo.map((/** @type {{streamHeight: number}} */ s) => s.streamHeight))];
        quality.replaceChildren(new Option('automatic', '0'), ...heights.map((h) => new Option(`${h}p`, String(h))));
        status.add(`qualities: ${heights.map((h) => `${h}p`).join(', ')}`);
      } else if (info === 'resolutionChangeInfo') {
        status.add(`now playing ${obj.streamHeight}p`);
      } else if (info === 'reconnection_attempt_for_player') {
        status.add(`connection problem: playing ${obj} again`);
      } else if (info === 'data_received') {
        status.add(`data: ${typeof obj.data === 'string' ? obj.data : `${obj.data.byteLength} bytes`}`);
      }
    },
  });
  adaptor.on('error', (e) => {
    if (e.definition === 'no_stream_exist') status.add(`${e.streamId} is not live yet; it starts by itself when it is`);
    else status.add(`error ${e.definition}`);
    board.show(e);
  });

  play.addEventListener('click', () => {
    play.disabled = true;
    stop.disabled = false;
    adaptor.play(streamId.value.trim());
  });
  stop.addEventListener('click', () => {
    adaptor.stop(streamId.value.trim());
    play.disabled = false;
    stop.disabled = true;
  });
  quality.addEventListener('change', () => adaptor.forceStreamQuality(streamId.value.trim(), Number(quality.value)));

  Object.assign(window, { sample: { adaptor, board, status } });
}
