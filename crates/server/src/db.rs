//! The store as the server shares it between the hub task (signaling checks,
//! stream lifecycle) and the REST handlers.

use std::sync::{Arc, Mutex, MutexGuard};

use tern_store::Store;

/// One store behind one lock: every caller's read-then-write is atomic with
/// respect to every other's. Never hold the guard across an `.await`.
pub type SharedStore = Arc<Mutex<Box<dyn Store>>>;

pub fn shared(store: impl Store + 'static) -> SharedStore {
    Arc::new(Mutex::new(Box::new(store)))
}

/// Locks the store. A panic while holding the lock cannot leave a half-written
/// record (each store call is one transaction), so a poisoned lock is usable.
pub fn lock(store: &SharedStore) -> MutexGuard<'_, Box<dyn Store>> {
    store.lock().unwrap_or_else(|p| p.into_inner())
}

/// Milliseconds since the Unix epoch, the time unit of stored records.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
