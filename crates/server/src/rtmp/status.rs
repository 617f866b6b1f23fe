//! An `onStatus` warning Tern sends a publisher on its own (rml_rtmp sends
//! only the answers to requests): built and chunked by rml_rtmp, then put on
//! a chunk stream of its own, so that the session's header compression on
//! its streams stays as the client last saw it.

use rml_rtmp::chunk_io::ChunkSerializer;
use rml_rtmp::messages::RtmpMessage;
use rml_rtmp::rml_amf0::Amf0Value;
use rml_rtmp::time::RtmpTimestamp;

/// The status code of the B-frames warning (Tern's own; RTMP has none).
pub const B_FRAMES: &str = "NetStream.Publish.BFrames";

/// A chunk stream id rml_rtmp never uses (it takes 2 to 6).
const OWN_CSID: u8 = 9;
/// The message stream of the publish: the first `createStream` gets 1 from
/// rml_rtmp, and encoders create one stream.
const PUBLISH_STREAM: u32 = 1;

/// The bytes of one `onStatus` with level "warning", in one chunk of at
/// most `chunk_size` bytes (the session's outbound chunk size).
pub fn warning(code: &str, description: &str, chunk_size: u32) -> Result<Vec<u8>, String> {
    let info = [
        ("level", "warning"),
        ("code", code),
        ("description", description),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Amf0Value::Utf8String(v.to_owned())))
    .collect();
    let message = RtmpMessage::Amf0Command {
        command_name: "onStatus".into(),
        transaction_id: 0.0,
        command_object: Amf0Value::Null,
        additional_arguments: vec![Amf0Value::Object(info)],
    };
    let payload = message
        .into_message_payload(RtmpTimestamp::new(0), PUBLISH_STREAM)
        .map_err(|e| e.to_string())?;
    if payload.data.len() > chunk_size as usize {
        return Err(format!("status of {} bytes", payload.data.len()));
    }
    let mut serializer = ChunkSerializer::new();
    serializer
        .set_max_chunk_size(chunk_size, RtmpTimestamp::new(0))
        .map_err(|e| e.to_string())?;
    let mut bytes = serializer
        .serialize(&payload, true, false)
        .map_err(|e| e.to_string())?
        .bytes;
    // One chunk with a full (type 0) header and a one-byte basic header.
    match bytes.first_mut() {
        Some(b) if *b & 0xc0 == 0 && (2..64).contains(&(*b & 0x3f)) => *b = OWN_CSID,
        _ => return Err("unexpected chunk header".into()),
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rml_rtmp::chunk_io::ChunkDeserializer;

    #[test]
    fn a_client_reads_it_as_one_message_on_the_publish_stream() {
        let bytes = warning(B_FRAMES, "no B-frames, please", 4096).unwrap();
        assert_eq!(bytes[0], OWN_CSID);
        let mut reader = ChunkDeserializer::new();
        reader.set_max_chunk_size(4096).unwrap();
        let payload = reader.get_next_message(&bytes).unwrap().unwrap();
        assert_eq!(payload.message_stream_id, PUBLISH_STREAM);
        match payload.to_rtmp_message().unwrap() {
            RtmpMessage::Amf0Command {
                command_name,
                additional_arguments,
                ..
            } => {
                assert_eq!(command_name, "onStatus");
                let Amf0Value::Object(info) = &additional_arguments[0] else {
                    panic!("{additional_arguments:?}");
                };
                assert_eq!(info["code"], Amf0Value::Utf8String(B_FRAMES.into()));
                assert_eq!(info["level"], Amf0Value::Utf8String("warning".into()));
            }
            other => panic!("{other:?}"),
        }
        assert!(warning(B_FRAMES, &"x".repeat(200), 128).is_err());
    }
}
