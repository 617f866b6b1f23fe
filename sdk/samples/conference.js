// Conference sample (multitrack room): everyone publishes into the room and plays the room,
// which carries every other participant's tracks on one connection.
import { webSocketUrl, byId, param, randomId, StatusLog, ErrorBoard, CONNECTION_ERRORS, CAPTURE_ERRORS } from './sample_ui.js';

/** @param {import('./sample_ui.js').Sdk} sdk */
export function startConferenceSample(sdk) {
  const status = new StatusLog(byId('status'));
  const board = new ErrorBoard({
    list: byId('errors'),
    banner: byId('banner'),
    describe: sdk.describeError,
    definitions: ['no_room_specified', 'unauthorized_access', 'room_not_active_or_expired',
      'main_track_has_max_subtrack_count__not_allowed_to_add_more_subtracks', 'streamIdInUse', ...CAPTURE_ERRORS, ...CONNECTION_ERRORS],
  });
  /** @type {HTMLInputElement} */ const roomInput = byId('room');
  /** @type {HTMLInputElement} */ const nameInput = byId('name');
  /** @type {HTMLButtonElement} */ const join = byId('join');
  /** @type {HTMLButtonElement} */ const leave = byId('leave');
  const tiles = byId('participants');
  roomInput.value = param('room', 'room1');
  nameInput.value = param('name', randomId('guest'));
  let room = '';
  let myId = '';
  /** participant id → its tile */
  const byParticipant = new Map();

  /**
   * @param {string} participant
   * @param {MediaStream} stream
   */
  function showParticipant(participant, stream) {
    let tile = byParticipant.get(participant);
    if (!tile) {
      tile = document.createElement('div');
      tile.className = 'tile';
      tile.dataset.participant = participant;
      const video = document.createElement('video');
      video.autoplay = true;
      video.playsInline = true;
      const label = document.createElement('span');
      label.textContent = participant;
      tile.append(video, label);
      tiles.append(tile);
      byParticipant.set(participant, tile);
      status.add(`${participant} is here`);
    }
    const video = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
    if (video.srcObject !== stream) video.srcObject = stream;
    stream.onremovetrack = () => {
      if (stream.getTracks().length === 0) removeParticipant(participant);
    };
  }

  /** @param {string} participant */
  function removeParticipant(participant) {
    byParticipant.get(participant)?.remove();
    if (byParticipant.delete(participant)) status.add(`${participant} left`);
  }

  const adaptor = new sdk.WebRTCAdaptor({
    websocket_url: webSocketUrl(),
    mediaConstraints: { video: true, audio: true },
    localVideoId: 'localVideo',
    callback: (info, obj) => {
      if (info === 'initialized') {
        join.disabled = false;
      } else if (info === 'joinedTheRoom') {
        myId = obj.streamId;
        status.add(`joined ${room} as ${myId}`);
        adaptor.publish(myId, undefined, undefined, undefined, nameInput.value, room, JSON.stringify({ name: nameInput.value }));
        adaptor.play({ streamId: room, roomId: room });
      } else if (info === 'publish_started') {
        status.add('you are on air');
      } else if (info === 'play_started') {
        status.add('receiving the room');
      } else if (info === 'newTrackAvailable') {
        // Track ids are "ARDAMSv<participant>" / "ARDAMSa<participant>".
        const participant = String(obj.trackId).slice('ARDAMSx'.length);
        if (participant && participant !== myId) showParticipant(participant, obj.stream);
        obj.track.onended = () => { if (obj.stream.getTracks().every((/** @type {MediaStreamTrack} */ t) => t.readyState === 'ended')) removeParticipant(participant); };
      } else if (info === 'leavedFromRoom') {
        status.add('left the room');
      }
    },
  });
  adaptor.on('error', (e) => {
    status.add(`error ${e.definition}`);
    board.show(e);
  });

  join.addEventListener('click', () => {
    room = roomInput.value.trim();
    join.disabled = true;
    leave.disabled = false;
    adaptor.joinRoom(room, randomId(`${nameInput.value.replace(/[^A-Za-z0-9_.-]/g, '')}_`));
  });
  leave.addEventListener('click', () => {
    adaptor.leaveFromRoom(room, myId);
    for (const p of [...byParticipant.keys()]) removeParticipant(p);
    join.disabled = false;
    leave.disabled = true;
  });

  Object.assign(window, { sample: { adaptor, board, status, participants: () => [...byParticipant.keys()] } });
}
