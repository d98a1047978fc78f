//! Key material named by the configuration, loaded while it is validated so
//! a bad file is a configuration problem, not a start-up surprise.

use std::fmt;
use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey};

/// A PEM public key (`auth.public_key_pem_file`) and the algorithms its
/// type allows.
#[derive(Clone)]
pub struct PemKey {
    /// The verification key.
    pub key: DecodingKey,
    /// The JWT algorithms tokens signed with it may name.
    pub algorithms: Vec<Algorithm>,
}

impl fmt::Debug for PemKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PemKey").field("algorithms", &self.algorithms).finish_non_exhaustive()
    }
}

impl PemKey {
    /// Reads an RSA, EC (P-256) or Ed25519 public key in PEM form.
    pub fn load(path: &Path) -> Result<Self, String> {
        let pem = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
            return Ok(Self { key, algorithms: vec![Algorithm::RS256] });
        }
        if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
            return Ok(Self { key, algorithms: vec![Algorithm::ES256] });
        }
        if let Ok(key) = DecodingKey::from_ed_pem(&pem) {
            return Ok(Self { key, algorithms: vec![Algorithm::EdDSA] });
        }
        Err(format!("{} holds no RSA, EC (P-256) or Ed25519 public key in PEM form", path.display()))
    }
}
