// Binary data-channel messages in the framing Ant Media's SDKs use, so Tern pages and pages on
// the official SDK can exchange binary data: first an 8-byte header [token, totalLength]
// (two little-endian int32), then chunks of [token] + at most 16000 payload bytes. Text
// messages are sent as they are. The receiver treats a binary message whose token it does
// not know as a header.

export const CHUNK_BYTES = 16000;
const MAX_PENDING = 32;
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Split one binary message into the frames to send.
 * @param {ArrayBuffer | ArrayBufferView} data
 * @param {number} token an int32 that names this message
 * @returns {ArrayBuffer[]}
 */
export function frameBinary(data, token) {
  const bytes = data instanceof ArrayBuffer
    ? new Uint8Array(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const header = new ArrayBuffer(8);
  const hv = new DataView(header);
  hv.setInt32(0, token, true);
  hv.setInt32(4, bytes.byteLength, true);
  const frames = [header];
  for (let sent = 0; sent < bytes.byteLength; sent += CHUNK_BYTES) {
    const part = bytes.subarray(sent, Math.min(sent + CHUNK_BYTES, bytes.byteLength));
    const frame = new Uint8Array(4 + part.byteLength);
    new DataView(frame.buffer).setInt32(0, token, true);
    frame.set(part, 4);
    frames.push(frame.buffer);
  }
  return frames;
}

/** Reassembles framed binary messages received on one data channel. */
export class BinaryReassembler {
  /** @param {{warn: (...args: unknown[]) => void}} log */
  constructor(log) {
    this.log = log;
    /** @type {Map<number, {size: number, received: number, bytes: Uint8Array}>} */
    this.pending = new Map();
  }

  /**
   * Feed one received binary frame. Returns the whole message when this frame completes one.
   * @param {ArrayBuffer} frame
   * @returns {ArrayBuffer | null}
   */
  push(frame) {
    if (frame.byteLength < 4) {
      this.log.warn(`ignored a ${frame.byteLength}-byte binary data-channel frame`);
      return null;
    }
    const view = new DataView(frame);
    const token = view.getInt32(0, true);
    const msg = this.pending.get(token);
    if (!msg) {
      if (frame.byteLength < 8) {
        this.log.warn('ignored a binary data-channel frame with an unknown token and no length');
        return null;
      }
      const size = view.getInt32(4, true);
      if (size < 0 || size > MAX_MESSAGE_BYTES) {
        this.log.warn(`ignored a binary data-channel message of ${size} bytes`);
        return null;
      }
      if (size === 0) return new ArrayBuffer(0);
      if (this.pending.size >= MAX_PENDING) {
        const oldest = this.pending.keys().next().value;
        if (oldest !== undefined) this.pending.delete(oldest);
        this.log.warn('too many unfinished binary data-channel messages; dropped the oldest');
      }
      this.pending.set(token, { size, received: 0, bytes: new Uint8Array(size) });
      return null;
    }
    const payload = new Uint8Array(frame, 4);
    if (msg.received + payload.byteLength > msg.size) {
      this.pending.delete(token);
      this.log.warn('a binary data-channel message was longer than its header said; dropped it');
      return null;
    }
    msg.bytes.set(payload, msg.received);
    msg.received += payload.byteLength;
    if (msg.received < msg.size) return null;
    this.pending.delete(token);
    return /** @type {ArrayBuffer} */ (msg.bytes.buffer);
  }
}
