// Peer-to-peer sample: two pages call each other directly; the server only relays their signaling.
import { webSocketUrl, byId, param, StatusLog, ErrorBoard, CONNECTION_ERRORS, CAPTURE_ERRORS } from './sample_ui.js';

/** @param {import('./sample_ui.js').Sdk} sdk */
export function startP2PSample(sdk) {
  const status = new StatusLog(byId('status'));
  const board = new ErrorBoard({
    list: byId('errors'),
    banner: byId('banner'),
    describe: sdk.describeError,
    definitions: ['no_peer_associated_before', 'noStreamNameSpecified', 'invalidStreamName', 'notSetLocalDescription',
      'notSetRemoteDescription', ...CAPTURE_ERRORS, ...CONNECTION_ERRORS],
  });
  /** @type {HTMLInputElement} */ const session = byId('session');
  /** @type {HTMLButtonElement} */ const join = byId('join');
  /** @type {HTMLButtonElement} */ const leave = byId('leave');
  /** @type {HTMLButtonElement} */ const hello = byId('hello');
  session.value = param('id', 'call1');

  const adaptor = new sdk.WebRTCAdaptor({
    websocket_url: webSocketUrl(),
    mediaConstraints: { video: true, audio: true },
    localVideoId: 'localVideo',
    remoteVideoId: 'remoteVideo',
    callback: (info, obj) => {
      if (info === 'initialized') join.disabled = false;
      else if (info === 'joined') status.add(`joined ${obj.streamId}; waiting for the other side`);
      else if (info === 'leaved') status.add(`left ${obj.streamId}`);
      else if (info === 'ice_connection_state_changed') {
        status.add(`call ${obj.state}`);
        hello.disabled = obj.state !== 'connected' && obj.state !== 'completed';
      } else if (info === 'peerMessageCommand') status.add(`the other side says: ${JSON.stringify(obj.data)}`);
      else if (info === 'data_received') status.add(`data channel: ${obj.data}`);
    },
  });
  adaptor.on('error', (e) => {
    status.add(`error ${e.definition}`);
    board.show(e);
  });

  join.addEventListener('click', () => {
    join.disabled = true;
    leave.disabled = false;
    adaptor.join(session.value.trim());
  });
  leave.addEventListener('click', () => {
    adaptor.leave(session.value.trim());
    join.disabled = false;
    leave.disabled = true;
    hello.disabled = true;
  });
  hello.addEventListener('click', () => {
    adaptor.peerMessage(session.value.trim(), 'greeting', `hello at ${new Date().toLocaleTimeString()}`);
    adaptor.sendData(session.value.trim(), 'hello over the data channel');
  });

  Object.assign(window, { sample: { adaptor, board, status } });
}
