// Plain words for the info callbacks, carried as `message` by "info" events.

/** @type {Record<string, string>} */
const INFO_WORDS = {
  initialized: 'Connected to the server.',
  closed: 'The connection to the server closed.',
  pong: 'The server answered the keep-alive.',
  publish_started: 'Publishing started.',
  publish_finished: 'Publishing finished.',
  play_started: 'Playing started.',
  play_finished: 'Playing finished.',
  session_restored: 'Publishing resumed after a reconnection.',
  streaming_started: 'The stream went live.',
  joined: 'Joined the peer-to-peer session.',
  leaved: 'Left the peer-to-peer session.',
  joinedTheRoom: 'Joined the room.',
  leavedFromRoom: 'Left the room.',
  server_will_stop: 'The server is shutting down; reconnecting.',
  newTrackAvailable: 'A remote track arrived.',
  newStreamAvailable: 'A remote track arrived.',
  data_channel_opened: 'The data channel is open.',
  data_channel_closed: 'The data channel closed.',
  data_received: 'A data-channel message arrived.',
  ice_connection_state_changed: 'The connection state changed.',
  reconnection_attempt_for_publisher: 'Publishing again after a connection problem.',
  reconnection_attempt_for_player: 'Playing again after a connection problem.',
  reconnection_stopped: 'Stopped retrying this stream.',
  available_devices: 'The list of cameras and microphones.',
  screen_share_stopped: 'Screen sharing stopped; the camera is back on.',
  browser_screen_share_supported: 'This browser can share the screen.',
  updated_stats: 'New connection statistics.',
  streamInformation: 'Stream information arrived.',
  roomInformation: 'Room information arrived.',
  trackList: 'The track list arrived.',
  peerMessageCommand: 'A message from the other peer arrived.',
  resolutionChangeInfo: 'The played quality changed.',
  bitrateMeasurement: 'The server measured the bitrate.',
};

/**
 * @param {string} definition
 * @returns {string}
 */
export function describeInfo(definition) {
  return INFO_WORDS[definition] ?? definition;
}
