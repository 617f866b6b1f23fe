// Data-channel chat: one page opens a chat (publishes a data-only stream), others join it
// (play that stream). Everything sent reaches everyone in the chat; no camera is used.
import { webSocketUrl, byId, param, StatusLog, ErrorBoard, CONNECTION_ERRORS } from './sample_ui.js';

/** @param {import('./sample_ui.js').Sdk} sdk */
export function startChatSample(sdk) {
  const status = new StatusLog(byId('status'));
  const board = new ErrorBoard({
    list: byId('errors'),
    banner: byId('banner'),
    describe: sdk.describeError,
    definitions: ['no_stream_exist', 'streamIdInUse', 'noStreamNameSpecified', 'invalidStreamName', 'data_channel_error',
      ...CONNECTION_ERRORS],
  });
  /** @type {HTMLInputElement} */ const chatId = byId('chatId');
  /** @type {HTMLInputElement} */ const nick = byId('nick');
  /** @type {HTMLInputElement} */ const text = byId('text');
  /** @type {HTMLButtonElement} */ const send = byId('send');
  const log = byId('chat');
  chatId.value = param('id', 'chat1');
  nick.value = param('nick', `user${Math.floor(Math.random() * 1000)}`);
  /** @type {import('../src/webrtc_adaptor.js').WebRTCAdaptor | null} */
  let adaptor = null;

  /**
   * @param {string} line
   * @param {boolean} mine
   */
  function show(line, mine) {
    const p = document.createElement('div');
    p.textContent = line;
    if (mine) p.className = 'mine';
    log.append(p);
    log.scrollTop = log.scrollHeight;
  }

  /** @param {'open' | 'join'} role */
  function connect(role) {
    const id = chatId.value.trim();
    byId('open').setAttribute('disabled', '');
    byId('joinChat').setAttribute('disabled', '');
    const a = new sdk.WebRTCAdaptor({
      websocket_url: webSocketUrl(),
      onlyDataChannel: role === 'open',
      isPlayMode: role === 'join',
      callback: (info, obj) => {
        if (info === 'initialized') {
          if (role === 'open') a.publish(id); else a.play(id);
        } else if (info === 'data_channel_opened') {
          status.add(`chat ${obj} is open`);
          send.disabled = false;
        } else if (info === 'data_channel_closed') {
          status.add('chat closed');
          send.disabled = true;
        } else if (info === 'data_received') {
          show(typeof obj.data === 'string' ? obj.data : `(${obj.data.byteLength} bytes)`, false);
        }
      },
    });
    a.on('error', (e) => {
      status.add(e.definition === 'no_stream_exist' ? `nobody has opened chat ${id} yet; waiting` : `error ${e.definition}`);
      board.show(e);
    });
    adaptor = a;
    Object.assign(window, { sample: { adaptor: a, board, status } });
  }

  byId('open').addEventListener('click', () => connect('open'));
  byId('joinChat').addEventListener('click', () => connect('join'));
  byId('compose').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!adaptor || !text.value) return;
    const line = `${nick.value}: ${text.value}`;
    if (adaptor.sendData(chatId.value.trim(), line)) show(line, true);
    text.value = '';
  });
  Object.assign(window, { sample: { adaptor, board, status } });
}
