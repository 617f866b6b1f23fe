// Turns an RTCStatsReport into the flat "PeerStats" object apps written for the official SDK
// read (same field names), with bitrates computed against the previous sample.

/**
 * @typedef {object} InboundRtp
 * @property {string} kind
 * @property {string | undefined} trackIdentifier
 * @property {number} bytesReceived
 * @property {number} packetsReceived
 * @property {number} packetsLost
 * @property {number} jitter
 * @property {number} [framesDecoded]
 * @property {number} [framesDropped]
 * @property {number} [framesReceived]
 * @property {number} [frameWidth]
 * @property {number} [frameHeight]
 * @property {number} [framesPerSecond]
 */

/**
 * @typedef {object} PeerStats
 * @property {string} streamId
 * @property {number} currentTime ms timestamp of the sample
 * @property {number} totalBytesReceivedCount
 * @property {number} totalBytesSent
 * @property {number} totalBytesSentCount
 * @property {number} videoPacketsLost
 * @property {number} audioPacketsLost
 * @property {number} videoPacketsReceived
 * @property {number} audioPacketsReceived
 * @property {number} totalVideoPacketsSent
 * @property {number} totalAudioPacketsSent
 * @property {number} videoPacketsSent
 * @property {number} audioPacketsSent
 * @property {number} fractionLost
 * @property {number} totalFramesEncodedCount
 * @property {number} framesDecoded
 * @property {number} framesDropped
 * @property {number} framesReceived
 * @property {number} frameWidth inbound video width
 * @property {number} frameHeight inbound video height
 * @property {number} resWidth outbound video width
 * @property {number} resHeight outbound video height
 * @property {number} srcFps outbound frames per second
 * @property {string} qualityLimitationReason
 * @property {number} audioLevel
 * @property {number} videoJitter seconds
 * @property {number} audioJitter seconds
 * @property {number} videoRoundTripTime seconds
 * @property {number} audioRoundTripTime seconds
 * @property {number} currentRoundTripTime seconds (selected candidate pair)
 * @property {number} availableOutgoingBitrate kbps (Infinity when unknown)
 * @property {number} currentIncomingBitrate kbps since the previous sample
 * @property {number} currentOutgoingBitrate kbps since the previous sample
 * @property {InboundRtp[]} inboundRtpList
 */

/**
 * @param {unknown} v
 * @returns {number}
 */
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * @param {string} streamId
 * @param {RTCStatsReport | Map<string, any>} report
 * @param {PeerStats | null} previous the previous sample of the same peer connection
 * @returns {PeerStats}
 */
export function parseStats(streamId, report, previous) {
  /** @type {PeerStats} */
  const s = {
    streamId,
    currentTime: 0,
    totalBytesReceivedCount: 0,
    totalBytesSent: 0,
    totalBytesSentCount: 0,
    videoPacketsLost: 0,
    audioPacketsLost: 0,
    videoPacketsReceived: 0,
    audioPacketsReceived: 0,
    totalVideoPacketsSent: 0,
    totalAudioPacketsSent: 0,
    videoPacketsSent: 0,
    audioPacketsSent: 0,
    fractionLost: 0,
    totalFramesEncodedCount: 0,
    framesDecoded: 0,
    framesDropped: 0,
    framesReceived: 0,
    frameWidth: 0,
    frameHeight: 0,
    resWidth: 0,
    resHeight: 0,
    srcFps: 0,
    qualityLimitationReason: '',
    audioLevel: -1,
    videoJitter: 0,
    audioJitter: 0,
    videoRoundTripTime: 0,
    audioRoundTripTime: 0,
    currentRoundTripTime: 0,
    availableOutgoingBitrate: Infinity,
    currentIncomingBitrate: 0,
    currentOutgoingBitrate: 0,
    inboundRtpList: [],
  };
  report.forEach((/** @type {any} */ v) => {
    s.currentTime = Math.max(s.currentTime, num(v.timestamp));
    switch (v.type) {
      case 'inbound-rtp': {
        s.totalBytesReceivedCount += num(v.bytesReceived);
        s.fractionLost += num(v.fractionLost);
        /** @type {InboundRtp} */
        const row = {
          kind: v.kind,
          trackIdentifier: v.trackIdentifier,
          bytesReceived: num(v.bytesReceived),
          packetsReceived: num(v.packetsReceived),
          packetsLost: num(v.packetsLost),
          jitter: num(v.jitter),
        };
        if (v.kind === 'video') {
          s.videoPacketsLost += num(v.packetsLost);
          s.videoPacketsReceived += num(v.packetsReceived);
          s.videoJitter = num(v.jitter);
          s.framesDecoded += num(v.framesDecoded);
          s.framesDropped += num(v.framesDropped);
          s.framesReceived += num(v.framesReceived);
          s.frameWidth = num(v.frameWidth) || s.frameWidth;
          s.frameHeight = num(v.frameHeight) || s.frameHeight;
          Object.assign(row, {
            framesDecoded: num(v.framesDecoded),
            framesDropped: num(v.framesDropped),
            framesReceived: num(v.framesReceived),
            frameWidth: num(v.frameWidth),
            frameHeight: num(v.frameHeight),
            framesPerSecond: num(v.framesPerSecond),
          });
        } else if (v.kind === 'audio') {
          s.audioPacketsLost += num(v.packetsLost);
          s.audioPacketsReceived += num(v.packetsReceived);
          s.audioJitter = num(v.jitter);
        }
        s.inboundRtpList.push(row);
        break;
      }
      case 'outbound-rtp':
        s.totalBytesSent += num(v.bytesSent);
        if (v.kind === 'video') {
          s.totalVideoPacketsSent += num(v.packetsSent);
          s.totalFramesEncodedCount += num(v.framesEncoded);
          s.resWidth = num(v.frameWidth) || s.resWidth;
          s.resHeight = num(v.frameHeight) || s.resHeight;
          s.srcFps = num(v.framesPerSecond) || s.srcFps;
          if (typeof v.qualityLimitationReason === 'string') s.qualityLimitationReason = v.qualityLimitationReason;
        } else if (v.kind === 'audio') {
          s.totalAudioPacketsSent += num(v.packetsSent);
        }
        break;
      case 'remote-inbound-rtp':
        if (v.kind === 'video') s.videoRoundTripTime = num(v.roundTripTime);
        else if (v.kind === 'audio') s.audioRoundTripTime = num(v.roundTripTime);
        break;
      case 'media-source':
        if (v.kind === 'audio' && typeof v.audioLevel === 'number') s.audioLevel = v.audioLevel;
        break;
      case 'candidate-pair':
        if (v.nominated && v.state === 'succeeded') {
          s.currentRoundTripTime = num(v.currentRoundTripTime);
          if (typeof v.availableOutgoingBitrate === 'number') s.availableOutgoingBitrate = v.availableOutgoingBitrate / 1000;
        }
        break;
      default:
        break;
    }
  });
  s.totalBytesSentCount = s.totalBytesSent;
  s.videoPacketsSent = s.totalVideoPacketsSent;
  s.audioPacketsSent = s.totalAudioPacketsSent;
  if (previous && s.currentTime > previous.currentTime) {
    const seconds = (s.currentTime - previous.currentTime) / 1000;
    s.currentIncomingBitrate = Math.max(0, Math.round(((s.totalBytesReceivedCount - previous.totalBytesReceivedCount) * 8) / 1000 / seconds));
    s.currentOutgoingBitrate = Math.max(0, Math.round(((s.totalBytesSent - previous.totalBytesSent) * 8) / 1000 / seconds));
  }
  return s;
}
