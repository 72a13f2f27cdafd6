//! The data directory: its layout, its configuration file, and opening what it holds.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use drugtrace_analytics::{Settlements, SharedSettlements};
use drugtrace_catalog::{Catalog, Directory, SharedImports};
use std::sync::Arc;

use drugtrace_ledger::{Date, Ledger, PersonKey, Policy, Store, UnknownCodePolicy};
use drugtrace_store_fjall::FjallStore;
use drugtrace_store_postgres::PostgresStore;
use serde::{Deserialize, Serialize};

const CONFIG: &str = "drugtrace.toml";
const SECRET: &str = "person.key";
const IDENTITY_KEY: &str = "identity.key";
const CATALOG: &str = "catalog.csv";
const INSTITUTIONS: &str = "institutions.csv";
const SETTLEMENTS: &str = "settlements";
const SHARED_SETTLEMENTS: &str = "settlements.shared";
const RECALLS: &str = "recalls.jsonl";
const CAPTURES: &str = "epcis.jsonl";
const STORE: &str = "store";

/// `drugtrace.toml`: the policy the gate applies.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `allow` (flag) or `block` sales of codes never issued.
    pub unknown_code: String,
    /// From this day (`YYYY-MM-DD`), settlement items without a trace code are blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_scan_no_settlement_from: Option<String>,
    /// Minutes east of UTC of local time (China: 480).
    pub local_offset_minutes: i32,
    /// How many hours late an upload is still judged at its own time (default 72); the
    /// gate judges anything claiming an earlier time as at that edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_upload_hours: Option<u32>,
    /// A PostgreSQL connection string (`host=… port=… user=… dbname=…`, several hosts with
    /// `target_session_attrs=read-write` for a replicated cluster): the ledger's packs live
    /// in that database instead of in `store/`. `--database` (`DRUGTRACE_DATABASE`)
    /// overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// `drugtrace serve`'s settings; its flags and environment variables override them.
    #[serde(default, skip_serializing_if = "ServeConfig::is_empty")]
    pub serve: ServeConfig,
}

/// The `[serve]` table of `drugtrace.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// The address to listen on.
    pub listen: Option<std::net::SocketAddr>,
    /// Patient queries a client may make at once.
    pub patient_burst: Option<u32>,
    /// Patient queries per second a client may make on average.
    pub patient_per_second: Option<f64>,
    /// Reverse proxies (addresses or networks) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Option<Vec<String>>,
    /// A PEM file of certificate authorities trusted for `https://` webhooks besides the
    /// system's (a bureau's own CA).
    pub webhook_ca: Option<PathBuf>,
    /// How often the anomaly models run while serving (`15m`).
    pub models_every: Option<String>,
}

impl ServeConfig {
    fn is_empty(&self) -> bool {
        self.listen.is_none()
            && self.patient_burst.is_none()
            && self.patient_per_second.is_none()
            && self.trusted_proxies.is_none()
            && self.webhook_ca.is_none()
            && self.models_every.is_none()
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            unknown_code: "allow".into(),
            no_scan_no_settlement_from: None,
            local_offset_minutes: 480,
            late_upload_hours: None,
            database: None,
            serve: ServeConfig::default(),
        }
    }
}

impl Config {
    /// The gate policy this configuration describes.
    pub fn policy(&self) -> Result<Policy> {
        let unknown_code = match self.unknown_code.as_str() {
            "allow" => UnknownCodePolicy::Allow,
            "block" => UnknownCodePolicy::Block,
            other => bail!("unknown_code = {other:?}: expected \"allow\" or \"block\""),
        };
        let no_scan_no_settlement_from = self
            .no_scan_no_settlement_from
            .as_deref()
            .map(Date::parse)
            .transpose()
            .context("no_scan_no_settlement_from")?;
        if !(-1439..=1439).contains(&self.local_offset_minutes) {
            bail!(
                "local_offset_minutes = {}: expected -1439 to 1439",
                self.local_offset_minutes
            );
        }
        Ok(Policy {
            unknown_code,
            no_scan_no_settlement_from,
            local_offset_minutes: self.local_offset_minutes,
            late_upload_hours: self
                .late_upload_hours
                .unwrap_or(Policy::DEFAULT_LATE_UPLOAD_HOURS),
        })
    }
}

/// An initialised data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
    /// A PostgreSQL connection string that overrides the configuration's.
    database: Option<String>,
}

/// Everything a command needs, opened.
pub struct Opened {
    /// The ledger over its store: fjall in `store/`, or PostgreSQL when configured.
    pub ledger: Ledger<Arc<dyn Store>>,
    /// The person-hash secret.
    pub person_key: PersonKey,
    /// The configuration.
    pub config: Config,
    /// The database, when the packs live in one: the keys, the clue book and the notices
    /// are then its shared journals, so every server on it sees the same.
    pub database: Option<Arc<PostgresStore>>,
    /// On a database, its catalog (the one the ledger was opened with) and directory.
    pub reference: Option<Reference>,
}

impl DataDir {
    /// The directory at `root`; [`DataDir::init`] or [`DataDir::open`] it next.
    pub fn new(root: &Path) -> DataDir {
        DataDir {
            root: root.to_path_buf(),
            database: None,
        }
    }

    /// The same directory, its ledger in the PostgreSQL database `database` when given
    /// (overriding `database` in drugtrace.toml).
    pub fn with_database(mut self, database: Option<String>) -> DataDir {
        self.database = database.filter(|d| !d.trim().is_empty());
        self
    }

    /// The directory's path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The catalog file.
    pub fn catalog_path(&self) -> PathBuf {
        self.root.join(CATALOG)
    }

    /// Creates a new data directory: configuration, a new person-hash secret, a new
    /// identity provider's key, an empty catalog and an empty store. Refuses to touch a
    /// directory that already has one.
    pub fn init(&self, config: &Config) -> Result<()> {
        config.policy()?;
        if self.root.join(CONFIG).exists() {
            bail!(
                "{} is already a drugtrace data directory (it has {CONFIG}); \
                 use another directory or remove this one",
                self.root.display()
            );
        }
        fs::create_dir_all(&self.root)
            .with_context(|| format!("creating {}", self.root.display()))?;
        let key = PersonKey::generate().context("the operating system gave no random bytes")?;
        match &config.database {
            Some(conninfo) => {
                // Every server on one database hashes buyers and checks patients' assertions
                // with the same secrets: the database's, if another server set them already.
                let db =
                    PostgresStore::connect(conninfo).context("opening the PostgreSQL store")?;
                let person = db.shared_secret(SECRET, key.as_bytes())?;
                write_new(&self.root.join(SECRET), &person, true)?;
                let identity = drugtrace_api::IdentityKey::generate()?;
                let hex = db.shared_secret(IDENTITY_KEY, identity.to_hex().as_bytes())?;
                let hex = String::from_utf8(hex).context("the database's identity key")?;
                drugtrace_api::IdentityKey::from_hex(&hex)
                    .context("the database's identity key")?;
                write_new(
                    &self.identity_key_path(),
                    format!("{}\n", hex.trim()).as_bytes(),
                    true,
                )?;
            }
            None => {
                write_new(&self.root.join(SECRET), key.as_bytes(), true)?;
                self.create_identity_key()?;
                FjallStore::open(&self.root.join(STORE)).context("creating the store")?;
            }
        }
        Catalog::default()
            .save_csv_file(&self.catalog_path())
            .context("writing the empty catalog")?;
        let text = toml::to_string_pretty(config).context("writing the configuration")?;
        // The configuration is written last: its presence marks a complete directory.
        write_new(&self.root.join(CONFIG), text.as_bytes(), false)?;
        Ok(())
    }

    /// The configuration file.
    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG)
    }

    /// The configuration.
    pub fn config(&self) -> Result<Config> {
        let path = self.root.join(CONFIG);
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "{} is not a drugtrace data directory (no {CONFIG}); run `drugtrace init` first",
                self.root.display()
            )
        })?;
        toml::from_str(&text).with_context(|| format!("reading {}", path.display()))
    }

    /// The person-hash secret.
    pub fn person_key(&self) -> Result<PersonKey> {
        let path = self.root.join(SECRET);
        let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            anyhow::anyhow!(
                "{} holds {} bytes, a person-hash secret has 32",
                path.display(),
                b.len()
            )
        })?;
        Ok(PersonKey::from_bytes(key))
    }

    /// The identity provider's key file: the HS256 secret, as hex, that the patient's
    /// signed identity assertions (`x-person-assertion`) are checked with.
    pub fn identity_key_path(&self) -> PathBuf {
        self.root.join(IDENTITY_KEY)
    }

    /// The identity provider's key, or `None` when the directory has none (one made before
    /// the key existed): then the patient query accepts no identity assertion.
    pub fn identity_key(&self) -> Result<Option<drugtrace_api::IdentityKey>> {
        let path = self.identity_key_path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        drugtrace_api::IdentityKey::from_hex(&text)
            .map(Some)
            .with_context(|| format!("reading {}", path.display()))
    }

    /// Creates a new random identity provider's key (32 bytes, hex, readable by the owner
    /// only); refuses to replace one.
    pub fn create_identity_key(&self) -> Result<drugtrace_api::IdentityKey> {
        let path = self.identity_key_path();
        if path.exists() {
            bail!(
                "{} exists: the identity provider signs with it, so it is never replaced here",
                path.display()
            );
        }
        let key = drugtrace_api::IdentityKey::generate()?;
        write_new(&path, format!("{}\n", key.to_hex()).as_bytes(), true)?;
        Ok(key)
    }

    /// The recalls' journal file, when the packs live in the directory.
    pub fn recalls_path(&self) -> PathBuf {
        self.root.join(RECALLS)
    }

    /// The journal of EPCIS captures (`epcis.jsonl`).
    pub fn captures_path(&self) -> PathBuf {
        self.root.join(CAPTURES)
    }

    /// The directory of institutions' file.
    pub fn institutions_path(&self) -> PathBuf {
        self.root.join(INSTITUTIONS)
    }

    /// The settlement items imported from the settlement system (kept beside the
    /// warehouse, never in it: an export replaces the warehouse whole).
    pub fn settlements_path(&self) -> PathBuf {
        self.root.join(SETTLEMENTS)
    }

    /// The settlement items: the directory's own parts, or, on `database`, the database's,
    /// which every server on it shares (a copy of them kept in `settlements.shared/`).
    pub fn settlements(&self, database: Option<&Arc<PostgresStore>>) -> Settlements {
        match database {
            Some(db) => Settlements::Shared(SharedSettlements::new(
                Arc::new(db.journal(SETTLEMENTS_JOURNAL)),
                self.root.join(SHARED_SETTLEMENTS),
            )),
            None => Settlements::Directory(self.settlements_path()),
        }
    }

    /// The directory's own file of institutions (empty until one is imported); on a
    /// database, [`Reference::open`]'s is the one that counts.
    pub fn directory(&self) -> Result<Directory> {
        Directory::load_csv_file(&self.institutions_path())
            .with_context(|| format!("reading {}", self.institutions_path().display()))
    }

    /// The directory's own catalog file; on a database, [`Reference::open`]'s is the one
    /// that counts.
    pub fn catalog(&self) -> Result<Catalog> {
        Catalog::load_csv_file(&self.catalog_path())
            .with_context(|| format!("reading {}", self.catalog_path().display()))
    }

    /// The catalog and the directory of institutions as they are now: the database's when
    /// the packs live in one, else this directory's files.
    pub fn reference(&self) -> Result<(Arc<Catalog>, Arc<Directory>)> {
        match self.open_database()? {
            Some(db) => {
                let r = Reference::open(&db)?;
                Ok((r.catalog.current(), r.directory.current()))
            }
            None => Ok((Arc::new(self.catalog()?), Arc::new(self.directory()?))),
        }
    }

    /// Gives the database `db` this directory's secrets (the person-hash key, the identity
    /// key), for `drugtrace migrate`; refuses a database set up with other ones.
    pub fn share_secrets(&self, db: &PostgresStore) -> Result<()> {
        self.check_person_secret(db, &self.person_key()?)?;
        if let Some(identity) = self.identity_key()? {
            let hex = identity.to_hex();
            if db.shared_secret(IDENTITY_KEY, hex.as_bytes())?.as_slice() != hex.as_bytes() {
                bail!(
                    "the database already has another identity key than {}",
                    self.identity_key_path().display()
                );
            }
        }
        Ok(())
    }

    /// Refuses a database whose person-hash secret is not `person_key` (and gives it that one
    /// when it has none): a server hashing buyers with another secret than the database's
    /// would make one person look like two.
    fn check_person_secret(&self, db: &PostgresStore, person_key: &PersonKey) -> Result<()> {
        let shared = db.shared_secret(SECRET, person_key.as_bytes())?;
        if shared.as_slice() != person_key.as_bytes() {
            bail!(
                "{} differs from the person-hash secret of the database this directory \
                 names: the database belongs to another installation (or was set up \
                 with another data directory); use that installation's {SECRET}",
                self.root.join(SECRET).display()
            );
        }
        Ok(())
    }

    /// What opening the ledger needs besides its store and catalog, read and checked.
    fn parts(&self) -> Result<(Config, Policy, PersonKey)> {
        let config = self.config()?;
        let policy = config.policy()?;
        Ok((config, policy, self.person_key()?))
    }

    /// Opens the ledger on the data directory's own embedded store, whatever the
    /// configuration names (for `drugtrace migrate`, which copies it).
    pub fn open_embedded(&self) -> Result<Opened> {
        let (config, policy, person_key) = self.parts()?;
        let catalog = self.catalog()?;
        let path = self.root.join(STORE);
        if !path.is_dir() {
            bail!(
                "{} has no embedded store ({} is missing): its packs are in a database already",
                self.root.display(),
                path.display()
            );
        }
        let store: Arc<dyn Store> = Arc::new(FjallStore::open(&path).context("opening the store")?);
        Ok(Opened {
            ledger: Ledger::new(store, catalog, policy),
            person_key,
            config,
            database: None,
            reference: None,
        })
    }

    /// The database the configuration (or `--database`) names, opened and checked against
    /// this directory's person-hash secret; none when the packs live in the directory.
    pub fn open_database(&self) -> Result<Option<Arc<PostgresStore>>> {
        self.connect_database(&self.config()?, &self.person_key()?)
    }

    /// [`DataDir::open_database`] with the configuration and the secret already read.
    fn connect_database(
        &self,
        config: &Config,
        person_key: &PersonKey,
    ) -> Result<Option<Arc<PostgresStore>>> {
        let Some(conninfo) = self.database.clone().or_else(|| config.database.clone()) else {
            return Ok(None);
        };
        let db = PostgresStore::connect(&conninfo).context("opening the PostgreSQL store")?;
        self.check_person_secret(&db, person_key)?;
        Ok(Some(Arc::new(db)))
    }

    /// Opens the ledger and what goes with it.
    pub fn open(&self) -> Result<Opened> {
        let (config, policy, person_key) = self.parts()?;
        let database = self.connect_database(&config, &person_key)?;
        let (store, reference): (Arc<dyn Store>, _) = match &database {
            Some(db) => (Arc::clone(db) as Arc<dyn Store>, Some(Reference::open(db)?)),
            None => (
                Arc::new(FjallStore::open(&self.root.join(STORE)).context("opening the store")?),
                None,
            ),
        };
        let catalog = match &reference {
            Some(r) => r.catalog.current(),
            None => Arc::new(self.catalog()?),
        };
        Ok(Opened {
            ledger: Ledger::new(store, catalog, policy),
            person_key,
            config,
            database,
            reference,
        })
    }
}

/// The catalog and the directory of institutions of a database: the fold of the imports
/// made into it, the same for every server on it.
pub struct Reference {
    /// The catalog.
    pub catalog: Arc<SharedImports<Catalog>>,
    /// The directory of institutions.
    pub directory: Arc<SharedImports<Directory>>,
}

impl Reference {
    /// Reads the catalog and the directory `db` holds.
    pub fn open(db: &Arc<PostgresStore>) -> Result<Reference> {
        let catalog = SharedImports::open(Arc::new(db.journal(CATALOG_JOURNAL)))
            .context("reading the database's catalog")?;
        let directory = SharedImports::open(Arc::new(db.journal(INSTITUTIONS_JOURNAL)))
            .context("reading the database's directory of institutions")?;
        Ok(Reference {
            catalog: Arc::new(catalog),
            directory: Arc::new(directory),
        })
    }
}

/// The shared journal of the API keys, on a database.
pub const KEYS_JOURNAL: &str = "keys";
/// The shared journal of the clue book, on a database.
pub const CLUES_JOURNAL: &str = "clues";
/// The shared journal of the finding webhooks and the scheduled model runs, on a database.
pub const FINDING_HOOKS_JOURNAL: &str = "finding-hooks";
/// The shared journal of the public notices, on a database.
pub const NOTICES_JOURNAL: &str = "notices";
/// The shared journal of the settlement items' parts, on a database.
pub const SETTLEMENTS_JOURNAL: &str = "settlements";
/// The shared journal of the recalls, on a database.
pub const RECALLS_JOURNAL: &str = "recalls";
/// The shared journal of EPCIS captures, on a database.
pub const CAPTURES_JOURNAL: &str = "epcis";
/// The shared journal of the catalog's imports, on a database.
pub const CATALOG_JOURNAL: &str = "catalog";
/// The shared journal of the directory of institutions' imports, on a database.
pub const INSTITUTIONS_JOURNAL: &str = "institutions";

/// Writes a file that must not exist yet, durably (see [`drugtrace_durable::create_new`]);
/// `secret` files are readable by the owner only.
fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<()> {
    drugtrace_durable::create_new(path, bytes, secret)
        .with_context(|| format!("creating {}", path.display()))
}
