//! API keys: who may call what. A key is shown once when it is made; only its SHA-256 is
//! kept (keys are 256 random bits, so a plain hash cannot be guessed back), in
//! `keys.jsonl` in the data directory, one key per line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use drugtrace_catalog::InstitutionKind;
use drugtrace_durable::{SharedError, SharedJournal};
use drugtrace_ledger::{InstitutionId, Timestamp};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A hospital, pharmacy, distributor or manufacturer: submits as itself, reads its own.
    Institution(InstitutionId),
    /// An insurance bureau: reads everything.
    Regulator,
}

/// Why keys could not be loaded or made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file could not be opened or read.
    #[error(transparent)]
    Journal(drugtrace_durable::OpenError),
    /// The key could not be written to the key file; it was not made.
    #[error(transparent)]
    Write(drugtrace_durable::StorageError),
    /// A line of the key file is damaged.
    #[error("{path} line {line}: {reason}")]
    Corrupt {
        /// The key file.
        path: PathBuf,
        /// The line.
        line: usize,
        /// Why.
        reason: String,
    },
    /// The shared key journal could not be read or written.
    #[error("the shared key journal: {0}")]
    Shared(SharedError),
    /// The random generator failed.
    #[error("no random bytes for a key: {0}")]
    Random(String),
}

#[derive(Serialize, Deserialize)]
struct Line {
    id: String,
    role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    institution: Option<String>,
    sha256: String,
    created_at: String,
}

/// The keys an API server accepts, each with its role and, for a party of the chain, the
/// kind of party it acts as (`manufacturer`, `distributor`, `hospital`, `pharmacy`). A key
/// file's older role `institution` names no kind: the directory of institutions then says
/// it, and an institution the directory does not list acts as a hospital or pharmacy.
#[derive(Debug, Default, Clone)]
pub struct Keys {
    by_hash: HashMap<[u8; 32], (Role, Option<InstitutionKind>)>,
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A key's public id: the `id` of its line in the key file (12 hex digits of its hash), for
/// audit trails that must say who acted without keeping the key.
pub(crate) fn key_id(key: &str) -> String {
    hex(&digest(key)[..6])
}

impl Keys {
    /// The file the keys of a data directory live in.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("keys.jsonl")
    }

    /// Loads the keys of a key file (none if it does not exist). A torn last line, a key
    /// whose creation a crash interrupted before it was acknowledged, is left out (and cut
    /// off by the next [`Keys::create`]).
    pub fn load(path: &Path) -> Result<Keys, KeyError> {
        let text = match drugtrace_durable::read_lines(path) {
            Ok(Some(read)) => read.contents,
            Ok(None) => return Ok(Keys::default()),
            Err(e) => return Err(KeyError::Journal(e)),
        };
        let text = String::from_utf8(text).map_err(|e| KeyError::Corrupt {
            path: path.to_path_buf(),
            line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            reason: "not UTF-8".into(),
        })?;
        let mut keys = Keys::default();
        for (i, raw) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            keys.add_line(raw.as_bytes(), path, i + 1)?;
        }
        Ok(keys)
    }

    /// Adds the key of one line of a key file (or record of a shared key journal);
    /// `source` and `line` name it when it is damaged.
    fn add_line(&mut self, raw: &[u8], source: &Path, line: usize) -> Result<(), KeyError> {
        let corrupt = |reason: String| KeyError::Corrupt {
            path: source.to_path_buf(),
            line,
            reason,
        };
        let line: Line = serde_json::from_slice(raw).map_err(|e| corrupt(e.to_string()))?;
        let party = |code: &str| {
            InstitutionId::parse(code)
                .map(Role::Institution)
                .map_err(|e| corrupt(e.to_string()))
        };
        let (role, kind) = match (line.role.as_str(), line.institution.as_deref()) {
            ("regulator", None) => (Role::Regulator, None),
            ("institution", Some(code)) => (party(code)?, None),
            (r, Some(code)) => match kind_named(r) {
                Some(k) => (party(code)?, Some(k)),
                None => {
                    return Err(corrupt(format!("role {r:?} with that institution field")));
                }
            },
            (r, None) => return Err(corrupt(format!("role {r:?} without an institution"))),
        };
        let mut hash = [0u8; 32];
        if line.sha256.len() != 64 || !line.sha256.is_ascii() {
            return Err(corrupt("sha256 is not 64 hex digits".into()));
        }
        for (j, b) in hash.iter_mut().enumerate() {
            *b = u8::from_str_radix(&line.sha256[2 * j..2 * j + 2], 16)
                .map_err(|_| corrupt("sha256 is not hex".into()))?;
        }
        self.by_hash.insert(hash, (role, kind));
        Ok(())
    }

    /// A new key for `role` and the line that keeps its hash.
    fn make(role: &Role, kind: Option<InstitutionKind>) -> Result<(String, String), KeyError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| KeyError::Random(e.to_string()))?;
        let key = format!("dtk_{}", hex(&secret));
        let (role_name, institution) = match role {
            Role::Regulator => ("regulator", None),
            Role::Institution(i) => (
                kind.map_or("institution", InstitutionKind::as_str),
                Some(i.to_string()),
            ),
        };
        let line = Line {
            id: key_id(&key),
            role: role_name.into(),
            institution,
            sha256: hex(&digest(&key)),
            created_at: Timestamp::now().to_rfc3339(0),
        };
        let text = serde_json::to_string(&line).expect("a key line serializes");
        Ok((key, text))
    }

    /// Makes a new key for `role` and appends its hash to `journal`, which every server on
    /// one database shares; returns the key (shown once).
    pub fn create_shared(
        journal: &dyn SharedJournal,
        role: &Role,
        kind: Option<InstitutionKind>,
    ) -> Result<String, KeyError> {
        let (key, text) = Keys::make(role, kind)?;
        // Keys do not depend on each other: any free number will do.
        let mut at = journal.read_from(0).map_err(KeyError::Shared)?.len() as u64;
        loop {
            match journal.append(at, text.as_bytes()) {
                Ok(()) => return Ok(key),
                Err(SharedError::Stale { .. }) => at += 1,
                Err(e) => return Err(KeyError::Shared(e)),
            }
        }
    }

    /// Makes a new key for `role` (of party kind `kind`, for an institution's key), appends
    /// its hash to the key file durably, and returns the key (shown once; it cannot be
    /// recovered from the file).
    pub fn create(
        path: &Path,
        role: &Role,
        kind: Option<InstitutionKind>,
    ) -> Result<String, KeyError> {
        let (key, text) = Keys::make(role, kind)?;
        let mut journal = drugtrace_durable::Journal::open(path, drugtrace_durable::Lock::Wait)
            .map_err(KeyError::Journal)?
            .journal;
        journal.append(text.as_bytes()).map_err(KeyError::Write)?;
        Ok(key)
    }

    /// Adds a key in memory (for servers built in code, such as tests), with no party kind.
    pub fn insert(&mut self, key: &str, role: Role) {
        self.by_hash.insert(digest(key), (role, None));
    }

    /// Adds an institution's key of party kind `kind` in memory.
    pub fn insert_party(&mut self, key: &str, institution: InstitutionId, kind: InstitutionKind) {
        self.by_hash
            .insert(digest(key), (Role::Institution(institution), Some(kind)));
    }

    /// The role of a presented key.
    pub fn role(&self, key: &str) -> Option<&Role> {
        self.by_hash.get(&digest(key)).map(|(r, _)| r)
    }

    /// The role of a presented key and the party kind it names, if it names one.
    pub fn entry(&self, key: &str) -> Option<&(Role, Option<InstitutionKind>)> {
        self.by_hash.get(&digest(key))
    }
}

/// The keys a running server accepts: fixed ones (a key file, keys made in code) and, for
/// servers sharing a database, those of the shared key journal, which [`KeyRing::refresh`]
/// reads on, so that a key made on one server is accepted by all.
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: RwLock<Keys>,
    shared: Option<(Arc<dyn SharedJournal>, Mutex<u64>)>,
}

impl KeyRing {
    /// The ring of `keys`, which never change.
    pub fn fixed(keys: Keys) -> KeyRing {
        KeyRing {
            keys: RwLock::new(keys),
            shared: None,
        }
    }

    /// The ring of `keys` and those of `journal`, read now and on every refresh.
    pub fn shared(keys: Keys, journal: Arc<dyn SharedJournal>) -> Result<KeyRing, KeyError> {
        let ring = KeyRing {
            keys: RwLock::new(keys),
            shared: Some((journal, Mutex::new(0))),
        };
        ring.refresh()?;
        Ok(ring)
    }

    /// Adds the keys made on other servers since the last look; returns how many.
    pub fn refresh(&self) -> Result<usize, KeyError> {
        let Some((journal, read)) = &self.shared else {
            return Ok(0);
        };
        let mut read = read.lock();
        let records = journal.read_from(*read).map_err(KeyError::Shared)?;
        if records.is_empty() {
            return Ok(0);
        }
        let source = Path::new("the shared key journal");
        let mut keys = self.keys.read().clone();
        for (i, r) in records.iter().enumerate() {
            keys.add_line(r, source, *read as usize + i + 1)?;
        }
        *self.keys.write() = keys;
        *read += records.len() as u64;
        Ok(records.len())
    }

    /// The role of a presented key and the party kind it names, if it names one.
    pub fn entry(&self, key: &str) -> Option<(Role, Option<InstitutionKind>)> {
        self.keys.read().entry(key).cloned()
    }

    /// The role of a presented key.
    pub fn role(&self, key: &str) -> Option<Role> {
        self.keys.read().role(key).cloned()
    }
}

/// The party kind a key file's role names.
fn kind_named(role: &str) -> Option<InstitutionKind> {
    [
        InstitutionKind::Manufacturer,
        InstitutionKind::Distributor,
        InstitutionKind::Hospital,
        InstitutionKind::Pharmacy,
    ]
    .into_iter()
    .find(|k| k.as_str() == role)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_key_line_does_not_stop_the_keys_loading_and_the_next_key_cuts_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = Keys::path(dir.path());
        let regulator = Keys::create(&path, &Role::Regulator, None).unwrap();
        // A crash in the middle of writing a second key: it was never shown to anyone.
        let whole = std::fs::read(&path).unwrap();
        let mut torn = whole.clone();
        torn.extend_from_slice(&whole[..whole.len() / 2]);
        std::fs::write(&path, &torn).unwrap();

        let keys = Keys::load(&path).unwrap();
        assert_eq!(keys.role(&regulator), Some(&Role::Regulator));

        let pharmacy = InstitutionId::parse("P1").unwrap();
        let key = Keys::create(
            &path,
            &Role::Institution(pharmacy.clone()),
            Some(InstitutionKind::Pharmacy),
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2, "the torn line is gone: {text}");
        let keys = Keys::load(&path).unwrap();
        assert_eq!(keys.role(&key), Some(&Role::Institution(pharmacy)));
        assert_eq!(keys.role(&regulator), Some(&Role::Regulator));
    }

    #[test]
    fn a_damaged_whole_key_line_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = Keys::path(dir.path());
        Keys::create(&path, &Role::Regulator, None).unwrap();
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"id\":\"x\"}\n");
        std::fs::write(&path, text).unwrap();
        let e = Keys::load(&path).unwrap_err();
        assert!(matches!(e, KeyError::Corrupt { line: 2, .. }), "{e}");
    }
}
