//! A peer's SRTP keying material, as its DTLS handshake ends.
//!
//! str0m keeps its SRTP contexts private, but the keys pass through the DTLS
//! provider Tern installs (`shared_dtls.rs`). Each DTLS instance gets a
//! [`KeySlot`]; the instance fills it when the handshake yields keys. The
//! provider is called from inside `RtcConfig::build`, so the worker takes the
//! slot of the `Rtc` it just built with [`take_last`], on the same thread.

use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError};

use str0m_proto::crypto::dtls::SrtpProfile;

/// What DTLS-SRTP exported (RFC 5764 §4.2), and which side this peer is.
#[derive(Clone)]
pub(crate) struct SrtpKeys {
    pub profile: SrtpProfile,
    /// client key | server key | client salt | server salt.
    pub material: Vec<u8>,
    /// This end was the DTLS client: it sends with the client's key and salt.
    pub active: bool,
}

impl std::fmt::Debug for SrtpKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the material itself.
        f.debug_struct("SrtpKeys")
            .field("profile", &self.profile)
            .field("active", &self.active)
            .finish()
    }
}

/// Where one DTLS instance leaves its keys.
#[derive(Clone, Default)]
pub(crate) struct KeySlot(Arc<Mutex<Option<SrtpKeys>>>);

impl KeySlot {
    pub fn fill(&self, keys: SrtpKeys) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(keys);
    }

    /// The keys, once the handshake has made them.
    pub fn get(&self) -> Option<SrtpKeys> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

thread_local! {
    /// The slot of the DTLS instance made last on this thread.
    static LAST: RefCell<Option<KeySlot>> = const { RefCell::new(None) };
}

/// A new slot for a DTLS instance being made on this thread.
pub(crate) fn new_slot() -> KeySlot {
    let slot = KeySlot::default();
    LAST.with(|l| *l.borrow_mut() = Some(slot.clone()));
    slot
}

/// The slot of the DTLS instance made last on this thread (once).
pub(crate) fn take_last() -> Option<KeySlot> {
    LAST.with(|l| l.borrow_mut().take())
}
