//! DTLS instances that share one checked configuration.
//!
//! str0m's aws-lc-rs backend builds a fresh `dimpl::Config` for every peer,
//! and dimpl checks its crypto provider on every build: key exchanges and
//! signature verifications on P-256, P-384 and X25519, some 11 million
//! instructions (milliseconds) per peer, on the media worker, before the
//! peer's own handshake starts. The configuration depends only on the MTU, so
//! it is built (and checked) once per MTU and shared.

use std::sync::{Arc, Mutex, Once, PoisonError};
use std::time::Instant;

use str0m::crypto::dtls::{
    DtlsCert, DtlsImplError, DtlsInstance, DtlsOutput, DtlsProvider, DtlsVersion, ProtocolVersion,
};
use str0m::crypto::CryptoProvider;
use str0m_proto::crypto::CryptoError;

use crate::egress::keys::{self, KeySlot, SrtpKeys};

static INSTALL: Once = Once::new();

/// Makes the process's str0m crypto the aws-lc-rs provider with shared DTLS
/// configurations. Idempotent; every `Rtc` built afterwards uses it.
pub(crate) fn install() {
    INSTALL.call_once(|| provider().install_process_default());
}

/// The aws-lc-rs provider, with [`SharedConfigDtls`] for DTLS.
fn provider() -> CryptoProvider {
    static DTLS: SharedConfigDtls = SharedConfigDtls {
        configs: Mutex::new(Vec::new()),
    };
    let mut p = str0m::crypto::from_feature_flags();
    p.dtls_provider = &DTLS;
    p
}

/// Creates dimpl DTLS instances from one configuration per MTU.
struct SharedConfigDtls {
    configs: Mutex<Vec<(Option<usize>, Arc<dimpl::Config>)>>,
}

impl std::fmt::Debug for SharedConfigDtls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedConfigDtls").finish()
    }
}

impl SharedConfigDtls {
    fn config(&self, mtu: Option<usize>) -> Result<Arc<dimpl::Config>, CryptoError> {
        // A poisoned lock still holds valid, immutable configurations.
        let mut configs = self.configs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, c)) = configs.iter().find(|(m, _)| *m == mtu) {
            return Ok(c.clone());
        }
        // The same settings as str0m's own backend: ICE has already checked
        // that the peer answers at its address, so no server cookie.
        let mut builder = dimpl::Config::builder().use_server_cookie(false);
        if let Some(mtu) = mtu {
            builder = builder.mtu(mtu);
        }
        let config = builder
            .build()
            .map(Arc::new)
            .map_err(|e| CryptoError::Other(format!("DTLS configuration refused: {e}")))?;
        configs.push((mtu, config.clone()));
        Ok(config)
    }
}

impl DtlsProvider for SharedConfigDtls {
    fn generate_certificate(&self) -> Option<DtlsCert> {
        str0m::crypto::from_feature_flags()
            .dtls_provider
            .generate_certificate()
    }

    fn new_dtls(
        &self,
        cert: &DtlsCert,
        now: Instant,
        version: DtlsVersion,
        mtu: Option<usize>,
    ) -> Result<Box<dyn DtlsInstance>, CryptoError> {
        let config = self.config(mtu)?;
        let cert = cert.clone();
        let dtls = match version {
            DtlsVersion::Dtls12 => dimpl::Dtls::new_12(config, cert, now),
            DtlsVersion::Dtls13 => dimpl::Dtls::new_13(config, cert, now),
            DtlsVersion::Auto => dimpl::Dtls::new_auto(config, cert, now),
            other => {
                return Err(CryptoError::Other(format!(
                    "DTLS version {other} unsupported"
                )))
            }
        };
        Ok(Box::new(Instance {
            dtls,
            keys: keys::new_slot(),
        }))
    }
}

/// One peer's DTLS: dimpl's, as str0m drives it, leaving the SRTP keys it
/// makes in the peer's slot as well (`egress/keys.rs`).
struct Instance {
    dtls: dimpl::Dtls,
    keys: KeySlot,
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").finish()
    }
}

impl DtlsInstance for Instance {
    fn set_active(&mut self, active: bool) {
        self.dtls.set_active(active);
    }

    fn handle_packet(&mut self, packet: &[u8]) -> Result<(), DtlsImplError> {
        self.dtls.handle_packet(packet)
    }

    fn poll_output<'a>(&mut self, buf: &'a mut [u8]) -> DtlsOutput<'a> {
        let out = self.dtls.poll_output(buf);
        if let DtlsOutput::KeyingMaterial(material, profile) = &out {
            self.keys.fill(SrtpKeys {
                profile: *profile,
                material: material.to_vec(),
                active: self.dtls.is_active(),
            });
        }
        out
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<(), DtlsImplError> {
        self.dtls.handle_timeout(now)
    }

    fn send_application_data(&mut self, data: &[u8]) -> Result<usize, DtlsImplError> {
        self.dtls.send_application_data(data)
    }

    fn is_active(&self) -> bool {
        self.dtls.is_active()
    }

    fn protocol_version(&self) -> Option<ProtocolVersion> {
        self.dtls.protocol_version()
    }

    fn is_closing(&self) -> bool {
        self.dtls.is_closing()
    }

    fn is_closed(&self) -> bool {
        self.dtls.is_closed()
    }

    fn close(&mut self) -> Result<(), DtlsImplError> {
        self.dtls.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `dtls` until its timeout: its records, and whether it got keys.
    fn pump(dtls: &mut dyn DtlsInstance, keyed: &mut bool) -> Vec<Vec<u8>> {
        let mut buf = vec![0u8; 2048];
        let mut records = Vec::new();
        loop {
            match dtls.poll_output(&mut buf) {
                DtlsOutput::Packet(p) => records.push(p.to_vec()),
                DtlsOutput::KeyingMaterial(..) => *keyed = true,
                DtlsOutput::Timeout(_) => return records,
                _ => {}
            }
        }
    }

    #[test]
    fn peers_share_one_checked_configuration_and_still_shake_hands() {
        let dtls = SharedConfigDtls {
            configs: Mutex::new(Vec::new()),
        };
        let cert = dtls.generate_certificate().expect("a certificate");
        let now = Instant::now();
        let mut client = dtls
            .new_dtls(&cert, now, DtlsVersion::Auto, Some(1150))
            .unwrap();
        let mut server = dtls
            .new_dtls(&cert, now, DtlsVersion::Auto, Some(1150))
            .unwrap();
        // One configuration for the MTU both asked for; another MTU, another.
        assert_eq!(dtls.configs.lock().unwrap().len(), 1);
        dtls.new_dtls(&cert, now, DtlsVersion::Dtls12, None)
            .unwrap();
        assert_eq!(dtls.configs.lock().unwrap().len(), 2);

        client.set_active(true);
        server.set_active(false);
        client.handle_timeout(now).unwrap();
        server.handle_timeout(now).unwrap();
        let (mut client_keyed, mut server_keyed) = (false, false);
        for _ in 0..20 {
            for r in pump(client.as_mut(), &mut client_keyed) {
                server.handle_packet(&r).unwrap();
            }
            for r in pump(server.as_mut(), &mut server_keyed) {
                client.handle_packet(&r).unwrap();
            }
            if client_keyed && server_keyed {
                break;
            }
        }
        assert!(client_keyed && server_keyed, "both ends derive SRTP keys");
    }
}
