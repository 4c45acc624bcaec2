//! Encryption of secrets at rest (tokens), with ChaCha20-Poly1305.
//!
//! Each value is sealed with a fresh random nonce and bound, as associated data, to the
//! tree and key it is stored under, so a ciphertext copied to another connection's slot
//! fails to open instead of silently handing over someone else's token.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

/// Name of the environment variable that can hold the key (base64 of 32 bytes).
pub(crate) const KEY_ENV: &str = "ADSYNC_SECRET_KEY";
/// Name of the key file created in the data directory when the variable is unset.
pub(crate) const KEY_FILE: &str = "secret.key";

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;

/// Why a key could not be had or a value not opened.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The key in the environment or key file is malformed.
    #[error(
        "{source_name}: the secret key must be 32 bytes, base64-encoded (generate one with `openssl rand -base64 32`)"
    )]
    BadKey {
        /// Where the key came from.
        source_name: String,
    },
    /// The key file could not be read or created.
    #[error("key file {path}: {source}")]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A stored value does not open with this key: wrong key or tampered data.
    #[error("a stored secret cannot be decrypted: the secret key differs from the one it was written with, or the store was tampered with")]
    Open,
}

/// The 32-byte key that seals secrets.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

impl SecretKey {
    /// A key from its base64 text (standard or URL-safe alphabet).
    pub(crate) fn from_base64(text: &str, source_name: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        let bytes = STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
            .map_err(|_| CryptoError::BadKey {
                source_name: source_name.into(),
            })?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey {
            source_name: source_name.into(),
        })?;
        Ok(Self(key))
    }

    /// A fresh random key.
    /// A separate key for `purpose`, derived with HMAC-SHA256, so one secret serves token
    /// sealing and link signing without either use weakening the other.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// A fresh random key.
    pub(crate) fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        Self(key)
    }

    /// The key from `ADSYNC_SECRET_KEY`, else from `data_dir/secret.key`, created with mode
    /// 0600 on first use.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, CryptoError> {
        if let Ok(text) = std::env::var(KEY_ENV) {
            if !text.trim().is_empty() {
                return Self::from_base64(&text, KEY_ENV);
            }
        }
        let path = data_dir.join(KEY_FILE);
        let key_file_error = |source| CryptoError::KeyFile {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(key_file_error)?;
                let key = Self::generate();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(&path).map_err(key_file_error)?;
                writeln!(file, "{}", STANDARD.encode(key.0)).map_err(key_file_error)?;
                file.sync_all().map_err(key_file_error)?;
                Ok(key)
            }
            Err(e) => Err(key_file_error(e)),
        }
    }
}

/// Seals and opens values under one key.
#[derive(Clone)]
pub struct Cipher(ChaCha20Poly1305);

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher(***)")
    }
}

impl Cipher {
    /// A cipher for `key`.
    pub(crate) fn new(key: &SecretKey) -> Self {
        Self(ChaCha20Poly1305::new(Key::from_slice(&key.0)))
    }

    /// Encrypts `plain`, bound to `context` (tree and key name).
    pub(crate) fn seal(&self, context: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .0
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context,
                },
            )
            .expect("ChaCha20-Poly1305 encryption cannot fail for in-memory buffers");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypts what [`Cipher::seal`] produced for the same `context`.
    pub(crate) fn open(&self, context: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != FORMAT_V1 {
            return Err(CryptoError::Open);
        }
        let (nonce, body) = sealed[1..].split_at(NONCE_LEN);
        self.0
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: context,
                },
            )
            .map_err(|_| CryptoError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_value_opens_only_in_its_own_context() {
        let cipher = Cipher::new(&SecretKey::generate());
        let sealed = cipher.seal(b"tokens/meta", b"EAAB-secret-token");
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(cipher.open(b"tokens/meta", &sealed).unwrap(), b"EAAB-secret-token");
        assert!(cipher.open(b"tokens/other", &sealed).is_err());
    }

    #[test]
    fn another_key_cannot_open() {
        let sealed = Cipher::new(&SecretKey::generate()).seal(b"c", b"v");
        assert!(Cipher::new(&SecretKey::generate()).open(b"c", &sealed).is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = SecretKey::load_or_create(dir.path()).unwrap();
        let second = SecretKey::load_or_create(dir.path()).unwrap();
        assert_eq!(first.0, second.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn malformed_key_is_a_clear_error() {
        let err = SecretKey::from_base64("too-short", KEY_ENV).unwrap_err().to_string();
        assert!(err.contains("32 bytes"), "{err}");
    }
}
