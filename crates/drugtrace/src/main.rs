//! `drugtrace`: the command line. It only glues the library crates together: parsing
//! arguments, opening the data directory, and printing what the libraries return.

mod analytics;
mod data_dir;
mod demo;
mod import;
mod migrate;
mod show;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use drugtrace_code::TraceCode;
use drugtrace_ingest::{Format, ParseContext};
use drugtrace_ledger::{
    Event, EventKind, InstitutionId, Lot, RebuildMode, Sale, SettlementId, Timestamp,
};
use drugtrace_money::Fen;

use data_dir::{
    CLUES_JOURNAL, Config, DataDir, FINDING_HOOKS_JOURNAL, KEYS_JOURNAL, NOTICES_JOURNAL,
};

/// mimalloc: the ledger and the store allocate many small objects per event, and it
/// measured about a third faster than the system allocator on the import benchmark.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Drug trace codes for medical insurance: the pack ledger and its sale gate.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The data directory.
    #[arg(
        long,
        global = true,
        env = "DRUGTRACE_DATA",
        default_value = "drugtrace-data"
    )]
    data: PathBuf,
    /// Keep the ledger's packs in this PostgreSQL database (a libpq connection string or a
    /// postgres:// URL; several hosts with target_session_attrs=read-write for a replicated
    /// cluster, as `scripts/cluster up` prints) instead of in the data directory's store/.
    /// Given to init, it is written to drugtrace.toml; given to any other command, it
    /// overrides the file's. `--store` is the same option.
    #[arg(
        long,
        visible_alias = "store",
        global = true,
        env = "DRUGTRACE_DATABASE"
    )]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a data directory: configuration, person-hash secret, identity provider's key,
    /// empty catalog and store.
    Init {
        /// Sales of codes no manufacturer issued: allow (and flag) or block.
        #[arg(long, default_value = "allow", value_parser = ["allow", "block"])]
        unknown_code: String,
        /// From this day (YYYY-MM-DD) settlement items without a trace code are blocked.
        #[arg(long)]
        no_scan_no_settlement_from: Option<String>,
        /// Minutes east of UTC of local time.
        #[arg(long, default_value_t = 480, allow_hyphen_values = true)]
        local_offset_minutes: i32,
    },
    /// The product catalog (the three-code mapping).
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Import chain events from a CSV or JSON Lines file.
    Import {
        /// The file.
        file: PathBuf,
        /// Its format, if its extension does not say.
        #[arg(long, value_parser = parse_format)]
        format: Option<Format>,
        /// Where bad lines go (default: FILE.rejects.csv).
        #[arg(long)]
        rejects: Option<PathBuf>,
        /// Events per durable commit.
        #[arg(long, default_value_t = 20_000)]
        batch: usize,
        /// How to show progress.
        #[arg(long, value_enum, default_value = "auto")]
        progress: import::Progress,
    },
    /// Show a pack: its product, state and history.
    Lookup {
        /// The trace code as scanned (20 digits, a GS1 element string or Digital Link).
        code: String,
    },
    /// Ask the gate about one sale and record it: allowed, or blocked with the reason.
    Sale {
        /// The trace code.
        code: String,
        /// The selling institution's code.
        #[arg(long)]
        institution: String,
        /// The settlement id (retries of one settlement are one sale).
        #[arg(long)]
        settlement: String,
        /// The buyer's identity (hashed at once; never stored).
        #[arg(long)]
        person: Option<String>,
        /// Units sold, for split sales (default: the whole pack).
        #[arg(long)]
        units: Option<u32>,
        /// The insurance code billed.
        #[arg(long)]
        insurance_code: Option<String>,
        /// The amount in yuan.
        #[arg(long, default_value = "0")]
        amount: String,
        /// When (default: now).
        #[arg(long)]
        at: Option<String>,
    },
    /// Copy the data directory's embedded store into a PostgreSQL database (resumable: run
    /// it again after an interruption), then verify the copy.
    Migrate {
        /// The database, as a libpq connection string.
        #[arg(long)]
        to: String,
    },
    /// Derive every pack's state from its log again.
    Rebuild {
        /// Only compare the derived states with the stored ones.
        #[arg(long)]
        check: bool,
    },
    /// Serve the HTTP API: chain events, the settlement gate and the patient query.
    ///
    /// Each setting comes from its flag, else its environment variable, else the `[serve]`
    /// table of drugtrace.toml, else its default.
    Serve {
        /// The address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "DRUGTRACE_LISTEN")]
        listen: Option<std::net::SocketAddr>,
        /// Patient queries a client may make at once [default: 30].
        #[arg(long, env = "DRUGTRACE_PATIENT_BURST")]
        patient_burst: Option<u32>,
        /// Patient queries per second a client may make on average [default: 5].
        #[arg(long, env = "DRUGTRACE_PATIENT_PER_SECOND")]
        patient_per_second: Option<f64>,
        /// A reverse proxy (address or network, e.g. 10.0.0.0/8) whose X-Forwarded-For
        /// names the client the patient limit counts; repeat it or separate with commas.
        /// Without one, the connection's peer is the client [default: none].
        #[arg(
            long = "trusted-proxy",
            env = "DRUGTRACE_TRUSTED_PROXIES",
            value_delimiter = ','
        )]
        trusted_proxies: Vec<String>,
        /// A PEM file of certificate authorities to trust for `https://` webhooks (EPCIS
        /// subscriptions) besides the system's, such as a bureau's own CA [default: none].
        #[arg(long, env = "DRUGTRACE_WEBHOOK_CA")]
        webhook_ca: Option<PathBuf>,
        /// Run the anomaly models this often while serving (`30s`, `15m`, `1h`; plain
        /// seconds too): each run exports the ledger, runs every model and sends the new
        /// findings to the finding webhooks, each once however many servers run them
        /// [default: never].
        #[arg(long, env = "DRUGTRACE_MODELS_EVERY", value_parser = parse_period)]
        models_every: Option<std::time::Duration>,
    },
    /// API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// The patient's identity: the key the identity provider signs assertions with
    /// (DIR/identity.key), and assertions signed with it.
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Supervision analytics: export the warehouse, run the anomaly models, evaluate them,
    /// run read-only SQL.
    #[command(subcommand)]
    Analytics(analytics::Command),
    /// The settlement system's drug items: the upload rate's denominator.
    #[command(subcommand)]
    Settlements(SettlementsCommand),
    /// Add institutions (code,name,kind,province,city,lat,lon) to the directory from CSV.
    Institutions {
        /// The CSV file.
        file: PathBuf,
    },
    /// Write a synthetic province (catalog, institutions, chain events with planted fraud
    /// and its ground truth) to a directory.
    Synth {
        /// Packs to generate.
        #[arg(long, default_value_t = 200_000)]
        packs: u64,
        /// The seed: the same seed and packs give the same files.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The output directory.
        #[arg(long)]
        out: PathBuf,
        /// Also write events.csv.
        #[arg(long)]
        csv: bool,
        /// Also write NHSA-shaped requests (nhsa/requests.jsonl).
        #[arg(long)]
        nhsa: bool,
        /// Share of packs with planted fraud.
        #[arg(long, default_value_t = 0.01)]
        fraud_rate: f64,
        /// Share of honest packs still in stock at the end (at most 0.985): a benchmark of
        /// the gate raises it, so that its sales are first sales, as most real ones are.
        #[arg(long, default_value_t = drugtrace_synth::DEFAULT_IN_STOCK)]
        in_stock: f64,
        /// Also plant the legitimate noise of real uploads that models must not flag
        /// (corrected sales and billings, restocked refunds, late intakes, re-sent returns,
        /// branch transfers of opened boxes, a maker that uploads no commissions), listed
        /// in noise.jsonl.
        #[arg(long)]
        upload_noise: bool,
        /// Also pack some makers' boxes into cases that travel as one code, and plant
        /// boxes sold where their case never arrived (case_box_diverted).
        #[arg(long)]
        packaging: bool,
    },
    /// The main job: synthesize a small province, import it, print what to open, an API
    /// key and a sample code for each case of the patient's query, and serve on loopback.
    Demo {
        /// Where (default: a new temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Packs to synthesize.
        #[arg(long, default_value_t = 200_000)]
        packs: u64,
        /// Where to serve.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Stop after printing instead of serving.
        #[arg(long)]
        no_serve: bool,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Make an API key and print it (once: only its hash is kept).
    Create {
        /// `manufacturer`, `distributor`, `hospital` or `pharmacy` (a party of the chain:
        /// submits as itself what its kind may, reads its own), `institution` (a party whose
        /// kind the directory of institutions says, else a hospital or pharmacy), or
        /// `regulator` (reads all, may recall).
        #[arg(long, value_parser = ["manufacturer", "distributor", "hospital", "pharmacy", "institution", "regulator"])]
        role: String,
        /// The institution's code, for a party's key.
        #[arg(long, required_if_eq_any([("role", "institution"), ("role", "manufacturer"), ("role", "distributor"), ("role", "hospital"), ("role", "pharmacy")]))]
        institution: Option<String>,
    },
}

#[derive(Subcommand)]
enum IdentityCommand {
    /// Create DIR/identity.key (32 random bytes, hex, mode 0600) in a data directory made
    /// before `init` wrote one; refuses to replace an existing key.
    Init,
    /// Print an identity assertion for a person, signed with DIR/identity.key: an HS256
    /// JWT for the patient query's `x-person-assertion` header or the patient page's
    /// `#assertion=` (the bridge to a real identity provider, and what demos and tests use).
    Token {
        /// The person's certificate or insured-person number, as the buyer was recorded.
        #[arg(long)]
        person: String,
        /// Minutes the assertion is valid.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1440))]
        minutes: u32,
    },
}

#[derive(Subcommand)]
enum SettlementsCommand {
    /// Add the settled items of a CSV export (settlement_id,institution,at,insurance_code,
    /// units,amount,fund_paid), all rows or none; items imported before are skipped.
    Import {
        /// The CSV file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Add products from a CSV file (all rows or none).
    Import {
        /// The CSV file.
        file: PathBuf,
    },
    /// Find a product by insurance code, drug identification code, GTIN or trace code.
    Lookup {
        /// The key.
        key: String,
    },
}

/// How `serve` starts the worker processes regulators' own queries run in: this binary's
/// hidden `analytics sql-worker`, with `DRUGTRACE_SQL_MEMORY_MB` (default 4096) of address
/// space each.
fn sql_worker() -> Result<drugtrace_analytics::worker::WorkerCommand> {
    let memory_mb = match std::env::var("DRUGTRACE_SQL_MEMORY_MB") {
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(mb) if mb >= 256 => mb,
            _ => bail!("DRUGTRACE_SQL_MEMORY_MB = {v:?}: expected a number of MiB, at least 256"),
        },
        Err(_) => drugtrace_analytics::worker::DEFAULT_MEMORY_MB,
    };
    Ok(drugtrace_analytics::worker::WorkerCommand {
        program: std::env::current_exe().context("finding this program for the SQL worker")?,
        args: vec!["analytics".into(), "sql-worker".into()],
        memory_mb,
    })
}

/// A period as `drugtrace serve --models-every` takes it: `30s`, `15m`, `2h`, or seconds.
fn parse_period(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a number with s, m or h (30s, 15m, 1h)"))?;
    let seconds = match unit.trim() {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        other => {
            return Err(format!(
                "{text:?}: unit {other:?}, expected s, m or h (30s, 15m, 1h)"
            ));
        }
    }
    .ok_or_else(|| format!("{text:?} is too long a period"))?;
    let period = std::time::Duration::from_secs(seconds);
    if period < drugtrace_api::MIN_MODELS_PERIOD {
        return Err(format!("{text:?}: at least one second"));
    }
    Ok(period)
}

/// Regulators' own queries' limits: `DRUGTRACE_SQL_TIMEOUT_SECONDS` (default 25, below the
/// server's request timeout) and 1,000 rows.
fn query_limits() -> Result<drugtrace_analytics::QueryLimits> {
    let mut limits = drugtrace_api::DEFAULT_QUERY_LIMITS;
    if let Ok(v) = std::env::var("DRUGTRACE_SQL_TIMEOUT_SECONDS") {
        match v.trim().parse::<u64>() {
            Ok(s) if (1..=25).contains(&s) => limits.timeout = std::time::Duration::from_secs(s),
            _ => bail!("DRUGTRACE_SQL_TIMEOUT_SECONDS = {v:?}: expected 1 to 25 seconds"),
        }
    }
    Ok(limits)
}

/// Serves the API until Ctrl-C or SIGTERM, then lets the requests in flight finish.
fn serve(
    dir: &DataDir,
    listen: std::net::SocketAddr,
    patient_limit: drugtrace_api::RateLimiter,
    truth: Option<PathBuf>,
    webhooks: Option<drugtrace_api::Webhooks>,
    models_every: Option<std::time::Duration>,
) -> Result<()> {
    // The log goes to stderr, never to stdout: `run` holds stdout's lock for the command's
    // whole run, so a worker that logged to stdout would wait on it for ever (issue 13: two
    // 5xx answers on two cores hung the server, SIGTERM included).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,fjall=warn,lsm_tree=warn")
            }),
        )
        .init();
    let opened = dir.open()?;
    let keys = drugtrace_api::Keys::load(&drugtrace_api::Keys::path(dir.root()))?;
    let settlements = dir.settlements(opened.database.as_ref());
    settlements
        .sync()
        .context("copying the database's settlement items")?;
    let paths = drugtrace_api::SupervisionPaths {
        truth,
        settlements: settlements.dir().to_path_buf(),
        ..drugtrace_api::SupervisionPaths::in_data_dir(dir.root())
    };
    // On a database, the keys, clues and notices are its journals, shared by every server
    // on it; the file keys of the directory are accepted besides.
    let (keys, supervision) = match &opened.database {
        Some(db) => (
            drugtrace_api::KeyRing::shared(keys, Arc::new(db.journal(KEYS_JOURNAL)))?,
            drugtrace_api::Supervision::open_shared(
                &paths,
                Arc::new(db.journal(CLUES_JOURNAL)),
                Arc::new(db.journal(NOTICES_JOURNAL)),
            )
            .and_then(|s| {
                drugtrace_api::FindingHooks::open(Arc::new(db.journal(FINDING_HOOKS_JOURNAL)))
                    .map(|hooks| s.with_finding_hooks(hooks))
                    .map_err(drugtrace_api::SupervisionError::Hooks)
            }),
        ),
        None => (
            drugtrace_api::KeyRing::fixed(keys),
            drugtrace_api::Supervision::open(&paths),
        ),
    };
    let shared = opened.database.is_some();
    let supervision = supervision
        .context("opening the clue book and the notices")?
        .with_sql_worker(sql_worker()?)
        .with_query_limits(query_limits()?);
    let state = drugtrace_api::AppState::new(
        opened.ledger,
        opened.person_key,
        opened.config.local_offset_minutes,
        drugtrace_api::Keys::default(),
        patient_limit,
    )
    .with_key_ring(keys);
    // The recalls and the EPCIS captures: the database's journals, shared by every server on
    // it, or the directory's files.
    let journal = |name: &str,
                   path: std::path::PathBuf|
     -> anyhow::Result<Arc<dyn drugtrace_durable::SharedJournal>> {
        Ok(match &opened.database {
            Some(db) => Arc::new(db.journal(name)),
            None => {
                let (journal, torn) = drugtrace_durable::FileJournal::open(&path)
                    .with_context(|| format!("opening {}", path.display()))?;
                if let Some(t) = torn {
                    tracing::warn!(
                        line = t.line,
                        bytes = t.bytes,
                        "cut off the torn last line of {} (a crash during a write, never acknowledged)",
                        path.display()
                    );
                }
                Arc::new(journal)
            }
        })
    };
    let state = state
        .with_recall_book(
            drugtrace_api::RecallBook::open(journal(
                data_dir::RECALLS_JOURNAL,
                dir.recalls_path(),
            )?)
            .context("reading the recalls")?,
        )
        .with_capture_book(
            drugtrace_api::CaptureBook::open(journal(
                data_dir::CAPTURES_JOURNAL,
                dir.captures_path(),
            )?)
            .context("reading the EPCIS captures")?,
        );
    // On a database, the catalog and the directory are its imports, followed as they come.
    let state = match opened.reference {
        Some(r) => state.with_shared_reference(r.catalog, r.directory),
        None => state.with_directory(dir.directory()?),
    }
    .with_supervision(supervision);
    // The live feed of blocked sales: a journal per day, the database's (every server on it
    // adds to and streams the same feed) or the directory's files under `live/`.
    let offset = opened.config.local_offset_minutes;
    let feed = match &opened.database {
        Some(db) => {
            let db = Arc::clone(db);
            drugtrace_api::Interceptions::open(
                Box::new(move |name| {
                    Ok(Arc::new(db.journal(name)) as Arc<dyn drugtrace_durable::SharedJournal>)
                }),
                offset,
            )
        }
        None => drugtrace_api::Interceptions::in_dir(&dir.root().join("live"), offset),
    }
    .map_err(|e| anyhow::anyhow!("opening the live feed of blocked sales: {e}"))?;
    let state = state.with_interceptions(feed);
    let state = match models_every {
        Some(every) => {
            tracing::info!(every = ?every, "the anomaly models run on a schedule");
            state.with_model_schedule(every)
        }
        None => state,
    };
    let state = match webhooks {
        Some(w) => state.with_webhooks(w),
        None => state,
    };
    let state = match dir.identity_key()? {
        Some(key) => state.with_identity_key(key),
        None => {
            tracing::warn!(
                "no {}: the patient query accepts no identity assertion (answers are anonymous); \
                 `drugtrace identity init` creates one",
                dir.identity_key_path().display()
            );
            state
        }
    };
    if shared {
        // What the other servers on the database wrote, read on about once a second.
        let state = state.clone();
        std::thread::Builder::new()
            .name("drugtrace-follow".into())
            .spawn(move || {
                let mut failing = false;
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    let read = state.refresh_shared().and(
                        settlements
                            .sync_if_free()
                            .map(|_| ())
                            .map_err(|e| format!("settlement items: {e}")),
                    );
                    match read {
                        Ok(()) if failing => {
                            tracing::info!("the shared journals are read again");
                            failing = false;
                        }
                        Ok(()) => {}
                        Err(e) if !failing => {
                            tracing::warn!(error = %e, "reading the shared journals failed; retrying");
                            failing = true;
                        }
                        Err(_) => {}
                    }
                }
            })
            .context("starting the thread that reads the shared journals")?;
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        tracing::info!(address = %listener.local_addr()?, "serving the drugtrace API");
        drugtrace_api::serve(listener, state, shutdown_signal()).await?;
        tracing::info!("stopped; every acknowledged event is durable");
        Ok(())
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn parse_format(s: &str) -> Result<Format, String> {
    match s {
        "csv" => Ok(Format::Csv),
        "jsonl" | "ndjson" | "json" => Ok(Format::JsonLines),
        _ => Err(format!("{s:?}: expected csv or jsonl")),
    }
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let dir = DataDir::new(&cli.data).with_database(cli.database.clone());
    let mut out = std::io::stdout().lock();
    match cli.command {
        Command::Init {
            unknown_code,
            no_scan_no_settlement_from,
            local_offset_minutes,
        } => {
            dir.init(&Config {
                unknown_code,
                no_scan_no_settlement_from,
                local_offset_minutes,
                late_upload_hours: None,
                database: cli.database.clone(),
                serve: Default::default(),
            })?;
            writeln!(out, "initialised {}", dir.root().display())?;
            writeln!(
                out,
                "the identity provider signs patients' assertions with {}",
                dir.identity_key_path().display()
            )?;
        }
        Command::Catalog(CatalogCommand::Import { file }) => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = file.display().to_string();
            let unchanged = || format!("importing {name}; the catalog is unchanged");
            match dir.open_database()? {
                // On a database, for every server on it: they read it on within a second.
                Some(db) => {
                    let shared = data_dir::Reference::open(&db)?.catalog;
                    let summary = shared.import(&bytes, &name).with_context(unchanged)?;
                    let n = shared.current().len();
                    writeln!(
                        out,
                        "{summary}; the database's catalog has {n} products, for every server on it"
                    )?;
                }
                None => {
                    let mut catalog = dir.catalog()?;
                    let summary = catalog
                        .import_csv(bytes.as_slice(), &name)
                        .with_context(unchanged)?;
                    catalog.save_csv_file(&dir.catalog_path())?;
                    writeln!(out, "{summary}; the catalog has {} products", catalog.len())?;
                }
            }
        }
        Command::Catalog(CatalogCommand::Lookup { key }) => {
            let (catalog, _) = dir.reference()?;
            match show::find_product(&catalog, &key)? {
                Some(p) => show::product(&mut out, p)?,
                None => bail!("no product in the catalog for {key}"),
            }
        }
        Command::Import {
            file,
            format,
            rejects,
            batch,
            progress,
        } => {
            let opened = dir.open()?;
            let ctx = ParseContext {
                person_key: opened.person_key.clone(),
                local_offset_minutes: opened.config.local_offset_minutes,
            };
            let summary = import::run(
                &opened.ledger,
                ctx,
                &import::Options {
                    input: file,
                    format,
                    rejects,
                    batch,
                    progress,
                },
            )?;
            import::print_summary(&summary, &mut out)?;
        }
        Command::Lookup { code } => {
            let opened = dir.open()?;
            let code = TraceCode::parse(&code).with_context(|| format!("{code:?}"))?;
            show::pack(
                &mut out,
                &opened.ledger,
                &code,
                opened.config.local_offset_minutes,
            )?;
        }
        Command::Sale {
            code,
            institution,
            settlement,
            person,
            units,
            insurance_code,
            amount,
            at,
        } => {
            let opened = dir.open()?;
            let offset = opened.config.local_offset_minutes;
            let code = TraceCode::parse(&code).with_context(|| format!("code {code:?}"))?;
            let now = Timestamp::now();
            let at = match at {
                Some(t) => Timestamp::parse(&t, offset)?,
                None => now,
            };
            drugtrace_ledger::Policy::check_claimed_time(at, now, offset)?;
            let event = Event {
                upload: None,
                pack: code.pack_key(),
                at,
                actor: InstitutionId::parse(&institution)?,
                lot: Lot::default(),
                kind: EventKind::Sale(Sale {
                    settlement: Some(SettlementId::parse(&settlement)?),
                    person: person.map(|p| opened.person_key.hash(&p)),
                    units,
                    pack_units: None,
                    product: insurance_code
                        .map(|c| drugtrace_catalog::InsuranceCode::parse(&c))
                        .transpose()?,
                    amount_fen: Fen::parse_paid(&amount)?.fen(),
                    fund_paid: true,
                    visit: None,
                }),
            };
            let d = opened.ledger.record(event)?;
            show::decision(&mut out, &d, offset)?;
        }
        Command::Migrate { to } => migrate::migrate(&dir, &to, &mut out)?,
        Command::Rebuild { check } => {
            let opened = dir.open()?;
            let mode = if check {
                RebuildMode::Check
            } else {
                RebuildMode::Write
            };
            let r = opened.ledger.rebuild(mode)?;
            writeln!(
                out,
                "{} packs, {} events; {} stored states differed from their logs{}",
                r.packs,
                r.events,
                r.mismatched_count,
                if check || r.mismatched_count == 0 {
                    ""
                } else {
                    " and were replaced"
                }
            )?;
            for k in r.mismatched.iter().take(20) {
                writeln!(out, "  {k}")?;
            }
            if check && r.mismatched_count > 0 {
                bail!("{} packs differ", r.mismatched_count);
            }
        }
        Command::Serve {
            listen,
            patient_burst,
            patient_per_second,
            trusted_proxies,
            webhook_ca,
            models_every,
        } => {
            let file = dir.config()?.serve;
            let models_every =
                match (models_every, file.models_every.as_deref()) {
                    (Some(every), _) => Some(every),
                    (None, Some(text)) => Some(parse_period(text).map_err(|e| {
                        anyhow::anyhow!("[serve] models_every in drugtrace.toml: {e}")
                    })?),
                    (None, None) => None,
                };
            let webhooks = match webhook_ca.or(file.webhook_ca) {
                None => None,
                Some(path) => {
                    let pem = std::fs::read(&path).with_context(|| {
                        format!("reading the webhook CA file {}", path.display())
                    })?;
                    Some(
                        drugtrace_api::Webhooks::new(Some(&pem))
                            .with_context(|| format!("the webhook CA file {}", path.display()))?,
                    )
                }
            };
            let proxies = if trusted_proxies.is_empty() {
                file.trusted_proxies.unwrap_or_default()
            } else {
                trusted_proxies
            };
            let proxies = drugtrace_api::TrustedProxies::parse(&proxies)?;
            let listen = listen
                .or(file.listen)
                .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 8080)));
            let burst = patient_burst.or(file.patient_burst).unwrap_or(30);
            let rate = patient_per_second
                .or(file.patient_per_second)
                .unwrap_or(5.0);
            if burst == 0 || rate.is_nan() || rate <= 0.0 {
                bail!("the patient query's limit needs a burst of at least 1 and a positive rate");
            }
            serve(
                &dir,
                listen,
                drugtrace_api::RateLimiter::new(burst, rate).behind(proxies),
                None,
                webhooks,
                models_every,
            )?
        }
        Command::Institutions { file } => {
            dir.config()?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = file.display().to_string();
            let unchanged = || format!("importing {name}; the directory is unchanged");
            match dir.open_database()? {
                Some(db) => {
                    let shared = data_dir::Reference::open(&db)?.directory;
                    let added = shared.import(&bytes, &name).with_context(unchanged)?;
                    let n = shared.current().len();
                    writeln!(
                        out,
                        "{added} new institutions; the database's directory has {n}, for every server on it"
                    )?;
                }
                None => {
                    let mut directory = dir.directory()?;
                    let added = directory
                        .import_csv(bytes.as_slice(), &name)
                        .with_context(unchanged)?;
                    directory.save_csv_file(&dir.institutions_path())?;
                    writeln!(
                        out,
                        "{added} new institutions; the directory has {}",
                        directory.len()
                    )?;
                }
            }
        }
        Command::Settlements(SettlementsCommand::Import { file }) => {
            let offset = dir.config()?.local_offset_minutes;
            let s = dir
                .settlements(dir.open_database()?.as_ref())
                .import(&file, offset)
                .with_context(|| {
                    format!("importing {}; no settled item was added", file.display())
                })?;
            writeln!(out, "{s}")?;
            if let Some(part) = &s.part {
                writeln!(out, "kept in {}", part.display())?;
            }
        }
        Command::Key(KeyCommand::Create { role, institution }) => {
            dir.config()?;
            use drugtrace_catalog::InstitutionKind as K;
            let kind = match role.as_str() {
                "manufacturer" => Some(K::Manufacturer),
                "distributor" => Some(K::Distributor),
                "hospital" => Some(K::Hospital),
                "pharmacy" => Some(K::Pharmacy),
                _ => None,
            };
            let role = match (role.as_str(), institution) {
                ("regulator", None) => drugtrace_api::Role::Regulator,
                ("regulator", Some(_)) => bail!("a regulator key belongs to no institution"),
                (_, Some(i)) => drugtrace_api::Role::Institution(InstitutionId::parse(&i)?),
                (r, None) => bail!("a {r} key needs --institution CODE"),
            };
            let key = match dir.open_database()? {
                Some(db) => {
                    drugtrace_api::Keys::create_shared(&db.journal(KEYS_JOURNAL), &role, kind)?
                }
                None => drugtrace_api::Keys::create(
                    &drugtrace_api::Keys::path(dir.root()),
                    &role,
                    kind,
                )?,
            };
            writeln!(out, "{key}")?;
            eprintln!("keep this key: only its hash is stored, it cannot be shown again");
        }
        Command::Identity(IdentityCommand::Init) => {
            dir.config()?;
            dir.create_identity_key()?;
            writeln!(
                out,
                "created {}; the identity provider signs patients' assertions with it",
                dir.identity_key_path().display()
            )?;
        }
        Command::Identity(IdentityCommand::Token { person, minutes }) => {
            dir.config()?;
            let key = dir.identity_key()?.with_context(|| {
                format!(
                    "{} has no identity key; `drugtrace identity init` creates one",
                    dir.root().display()
                )
            })?;
            if person.trim().is_empty() {
                bail!("--person is empty");
            }
            let now = Timestamp::now().millis().div_euclid(1000);
            let token = key.issue(&drugtrace_api::Claims::new(
                &person,
                now,
                i64::from(minutes) * 60,
            ));
            writeln!(out, "{token}")?;
        }
        Command::Synth {
            packs,
            seed,
            out: dest,
            csv,
            nhsa,
            fraud_rate,
            in_stock,
            upload_noise,
            packaging,
        } => {
            let mut opts = drugtrace_synth::SynthOptions::new(packs, seed, dest);
            opts.formats.csv = csv;
            opts.formats.nhsa = nhsa;
            opts.fraud_rate = fraud_rate;
            opts.in_stock = in_stock;
            opts.upload_noise = upload_noise;
            opts.packaging = packaging;
            let s = drugtrace_synth::generate(&opts)?;
            writeln!(
                out,
                "{} packs, {} events, {} products, {} institutions, {} persons in {:.1} s ({:.0} events/s, {:.0} MB) into {}",
                s.packs,
                s.events,
                s.products,
                s.institutions,
                s.persons,
                s.seconds,
                s.events as f64 / s.seconds.max(1e-9),
                s.bytes as f64 / 1e6,
                opts.out.display()
            )?;
            writeln!(
                out,
                "  {:>8} settled items, {} of them with no code uploaded",
                s.settled_items, s.missed_scans
            )?;
            for (kind, n) in &s.fraud_cases {
                writeln!(out, "  {n:>8} planted {kind}")?;
            }
        }
        Command::Analytics(command) => analytics::run(&dir, command, &mut out)?,
        Command::Demo {
            dir,
            packs,
            listen,
            no_serve,
        } => demo::run(
            demo::Options {
                dir,
                packs,
                listen,
                no_serve,
            },
            &mut out,
        )?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_period;
    use std::time::Duration;

    #[test]
    fn periods_read_with_their_unit_and_bad_ones_say_why() {
        assert_eq!(parse_period("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_period(" 15m "), Ok(Duration::from_secs(900)));
        assert_eq!(parse_period("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_period("45"), Ok(Duration::from_secs(45)));
        for (bad, says) in [
            ("0s", "at least one second"),
            ("15 minutes", "unit"),
            ("m", "expected a number"),
            ("-5m", "expected a number"),
            ("99999999999999999999h", "expected a number"),
            ("9999999999999999999h", "too long"),
        ] {
            let e = parse_period(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
