//! The one table of `definition` strings the server sends (PROTOCOL.md §5, §6).
//! Nothing else in Tern spells these strings.

macro_rules! wire_table {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every variant, for tests and documentation.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The exact string sent on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)*
                }
            }
        }
    };
}

wire_table! {
    /// `{"command":"error","definition":…}` values.
    ErrorDef {
        /// A command that needs `streamId` came without one.
        NoStreamNameSpecified => "noStreamNameSpecified",
        /// `streamId` has characters outside `[A-Za-z0-9_.-]`.
        InvalidStreamName => "invalidStreamName",
        /// `play`/`getStreamInfo` of a stream that is not live.
        NoStreamExist => "no_stream_exist",
        /// Another session publishes (or prepares) this stream id.
        StreamIdInUse => "streamIdInUse",
        /// This session already publishes this stream id.
        AlreadyPublishing => "already_publishing",
        /// This session already plays this stream id.
        AlreadyPlaying => "already_playing",
        /// The server could not apply the client's SDP.
        NotSetRemoteDescription => "notSetRemoteDescription",
        /// The server could not build its own SDP (e.g. no codec in common).
        NotSetLocalDescription => "notSetLocalDescription",
        /// A required token, JWT, hash or TOTP code is missing, wrong, expired,
        /// for another stream or type, or already used.
        UnauthorizedAccess => "unauthorized_access",
        /// The app accepts only streams created through REST, and this one was not.
        NotAllowedUnregisteredStreams => "not_allowed_unregistered_streams",
        /// The broadcast's planned window does not contain now, or it expired.
        StreamNotActiveOrExpired => "stream_not_active_or_expired",
        /// The stream's WebRTC viewer limit is reached.
        ViewerLimitReached => "viewerLimitReached",
        /// The TOTP subscriber is blocked for this action.
        UserBlocked => "user_blocked",
        /// `joinRoom`, `leaveFromRoom` or `getRoomInfo` without `room`.
        NoRoomSpecified => "no_room_specified",
        /// `getRoomInfo` found no broadcasting participant other than the asker.
        NoActiveStreamsInRoom => "no_active_streams_in_room",
        /// The room's planned window does not contain now.
        RoomNotActiveOrExpired => "room_not_active_or_expired",
        /// A peer-to-peer relay message while this session has no partner.
        NoPeerAssociatedBefore => "no_peer_associated_before",
        /// A quality was forced on a stream with no adaptive layers.
        NoEncoderSettings => "no_encoder_settings",
        /// The publish did not reach media within `webRTCClientStartTimeoutMs`.
        PublishTimeoutError => "publishTimeoutError",
        /// The publisher stopped sending media (`dropWebRTCIngestIfNoPacketReceived`).
        NoPacketReceivedForTimeoutDuration => "noPacketReceivedForTimeoutDuration",
        /// A limit of this server was reached; `information` names it.
        LimitReached => "limit_reached",
        /// The data store cannot be read, so credentials cannot be checked; the
        /// request is refused rather than let through. See the server log.
        DataStoreNotAvailable => "data_store_not_available",
        /// The server is out of capacity for this request.
        HighResourceUsage => "highResourceUsage",
        /// The frame is not a JSON object with a string `command`, or a required
        /// field is missing; `information` says which. (Tern's addition: Ant Media
        /// drops such frames silently, which leaves clients guessing.)
        MalformedMessage => "malformed_message",
    }
}

wire_table! {
    /// `{"command":"notification","definition":…}` values.
    NotificationDef {
        PublishStarted => "publish_started",
        PublishFinished => "publish_finished",
        PlayStarted => "play_started",
        PlayFinished => "play_finished",
        StreamingStarted => "streaming_started",
        Joined => "joined",
        Leaved => "leaved",
        JoinedTheRoom => "joinedTheRoom",
        LeavedFromRoom => "leavedFromRoom",
        SubtrackAdded => "subtrackAdded",
        SubtrackRemoved => "subtrackRemoved",
        BroadcastObject => "broadcastObject",
        SubtrackList => "subtrackList",
        SubtrackCount => "subtrackCount",
        SubscriberCount => "subscriberCount",
        ResolutionChangeInfo => "resolutionChangeInfo",
        BitrateMeasurement => "bitrateMeasurement",
        SessionRestored => "session_restored",
        ServerWillStop => "server_will_stop",
    }
}

wire_table! {
    /// `eventType` values of JSON events the server writes on data channels
    /// (PROTOCOL.md §6.3).
    ChannelEvent {
        TrackListUpdated => "TRACK_LIST_UPDATED",
    }
}

/// `information` value of `no_stream_exist` that tells players the server keeps
/// them waiting for the stream (PROTOCOL.md §2.4).
pub const INFO_NOT_STREAMING: &str = "stream_not_exist_or_not_streaming";

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn wire_strings_are_unique() {
        let mut seen = HashSet::new();
        for d in ErrorDef::ALL {
            assert!(seen.insert(d.as_str()), "{d:?}");
        }
        for d in NotificationDef::ALL {
            assert!(seen.insert(d.as_str()), "{d:?}");
        }
    }

    #[test]
    fn protocol_spellings() {
        assert_eq!(ErrorDef::NoStreamExist.as_str(), "no_stream_exist");
        assert_eq!(ErrorDef::StreamIdInUse.as_str(), "streamIdInUse");
        assert_eq!(NotificationDef::PlayFinished.as_str(), "play_finished");
    }
}
