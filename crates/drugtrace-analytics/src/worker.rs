//! Regulators' ad-hoc queries in a process of their own, so that no query can take the
//! server down or hold it.
//!
//! DataFusion cannot interrupt an operator that computes without yielding (a sort over a
//! cross join), its memory pool does not cover what scalar functions allocate
//! (`repeat('x', 3000000000)`), and a deeply nested expression overflows the stack of the
//! thread that plans it. Inside the server each of those stops the process, the gate with
//! it. In a worker process each stops only the worker:
//!
//! - the worker limits its own address space ([`WorkerRequest::memory_mb`]) before it opens
//!   anything, so an allocation past it ends the worker, not the machine;
//! - the server kills the worker when the query's time is up, which frees its core at once;
//! - a worker that dies (a stack overflow, an abort) is answered as a failed query.
//!
//! The protocol is one JSON request on the worker's standard input and one JSON answer on
//! its standard output ([`serve`]); [`run`] is the server's side.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{Analytics, AnalyticsError, QueryLimits, QueryResult, Warehouse};

/// Largest query text accepted: a regulator's query is a few lines; megabytes of SQL are
/// an attack on the parser.
pub const MAX_SQL_BYTES: usize = 64 * 1024;

/// The default address-space limit of a worker, in MiB: DataFusion's memory pool inside it
/// gets half of it, so sorts and aggregations spill before the limit is reached.
pub const DEFAULT_MEMORY_MB: u64 = 4096;

/// How to start a worker: a program and its arguments (the `drugtrace` binary runs
/// `drugtrace analytics sql-worker`).
#[derive(Debug, Clone)]
pub struct WorkerCommand {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// The worker's address-space limit, in MiB.
    pub memory_mb: u64,
}

/// What a worker is asked.
#[derive(Debug, Serialize, Deserialize)]
pub struct WorkerRequest {
    /// The warehouse's directory.
    pub warehouse: PathBuf,
    /// The imported settlement items' directory, if any.
    pub settlements: Option<PathBuf>,
    /// The query.
    pub sql: String,
    /// Rows returned at most.
    pub max_rows: usize,
    /// The query's time limit, in milliseconds (the server enforces it too, by killing).
    pub timeout_ms: u64,
    /// The worker's address-space limit, in MiB.
    pub memory_mb: u64,
}

/// What a worker answers.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum WorkerAnswer {
    Ok {
        columns: Vec<String>,
        rows: Vec<Vec<Option<String>>>,
        truncated: bool,
        elapsed_ms: u64,
    },
    /// The query is wrong (syntax, an unknown column, a forbidden statement…).
    Invalid { message: String },
    /// It ran past its time limit.
    Timeout,
    /// Anything else (no warehouse, a read failure).
    Failed { message: String },
}

/// The worker's side: reads one request from `input`, limits its own address space, runs
/// the query and writes the answer to `output`.
pub fn serve(input: impl Read, mut output: impl Write) -> std::io::Result<()> {
    let mut text = String::new();
    input
        .take(MAX_SQL_BYTES as u64 * 2 + 64 * 1024)
        .read_to_string(&mut text)?;
    let answer = match serde_json::from_str::<WorkerRequest>(&text) {
        Err(e) => WorkerAnswer::Failed {
            message: format!("not a worker request: {e}"),
        },
        Ok(req) => answer(req),
    };
    serde_json::to_writer(&mut output, &answer)?;
    output.flush()
}

fn answer(req: WorkerRequest) -> WorkerAnswer {
    // The limit is on top of what the process has mapped already (the program, its
    // allocator's reservations): `memory_mb` is what the query may take.
    let bytes = mapped_bytes().saturating_add(req.memory_mb.saturating_mul(1 << 20));
    if let Err(e) = rlimit::setrlimit(rlimit::Resource::AS, bytes, bytes) {
        return WorkerAnswer::Failed {
            message: format!("could not limit the worker's memory: {e}"),
        };
    }
    // The engine's pool takes half, so that it spills long before the hard limit (unless
    // DRUGTRACE_ANALYTICS_MEMORY_MB says otherwise).
    let pool = std::env::var_os("DRUGTRACE_ANALYTICS_MEMORY_MB")
        .is_none()
        .then(|| (req.memory_mb / 2).max(64) << 20);
    run_query(req, pool)
}

/// The process's virtual size now (`VmSize`), 0 where it cannot be read.
fn mapped_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmSize:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

fn run_query(req: WorkerRequest, pool_bytes: Option<u64>) -> WorkerAnswer {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            return WorkerAnswer::Failed {
                message: format!("no runtime: {e}"),
            };
        }
    };
    let limits = QueryLimits {
        max_rows: req.max_rows,
        timeout: Duration::from_millis(req.timeout_ms),
    };
    let mut warehouse = Warehouse::new(&req.warehouse);
    if let Some(s) = &req.settlements {
        warehouse = warehouse.with_settlements(s);
    }
    let result = runtime.block_on(async {
        let pool = pool_bytes.map(|b| usize::try_from(b).unwrap_or(usize::MAX));
        let analytics = Analytics::open_with_pool(&warehouse, pool).await?;
        analytics.query(&req.sql, limits).await
    });
    match result {
        Ok(r) => WorkerAnswer::Ok {
            columns: r.columns,
            rows: r.rows,
            truncated: r.truncated,
            elapsed_ms: u64::try_from(r.elapsed.as_millis()).unwrap_or(u64::MAX),
        },
        Err(AnalyticsError::Query(e)) => WorkerAnswer::Invalid {
            message: e.to_string(),
        },
        Err(AnalyticsError::Timeout(_)) => WorkerAnswer::Timeout,
        Err(e) => WorkerAnswer::Failed {
            message: e.to_string(),
        },
    }
}

/// Why a query sent to a worker has no result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// The query is wrong, or too long.
    #[error("{0}")]
    Invalid(String),
    /// It ran past its time limit; the worker was stopped.
    #[error("the query ran longer than {} s and was stopped", .0.as_secs_f64())]
    Timeout(Duration),
    /// The worker died while running it: it needed more than its memory, or nested too
    /// deeply for its stack.
    #[error(
        "the query stopped its worker ({0}): it needed more than the worker's {1} MiB of memory, or is nested too deeply"
    )]
    Crashed(String, u64),
    /// The warehouse could not be read, or the worker could not be started.
    #[error("{0}")]
    Failed(String),
}

/// The server's side: runs `sql` on `warehouse` in a new worker started by `command`, and
/// kills the worker once `limits.timeout` has passed.
pub async fn run(
    command: &WorkerCommand,
    warehouse: &Warehouse,
    sql: &str,
    limits: QueryLimits,
) -> Result<QueryResult, WorkerError> {
    if sql.len() > MAX_SQL_BYTES {
        return Err(WorkerError::Invalid(format!(
            "the query is {} bytes; at most {MAX_SQL_BYTES} are accepted",
            sql.len()
        )));
    }
    let request = WorkerRequest {
        warehouse: warehouse.root().to_path_buf(),
        settlements: warehouse.settlements_dir().map(|p| p.to_path_buf()),
        sql: sql.to_owned(),
        max_rows: limits.max_rows,
        timeout_ms: u64::try_from(limits.timeout.as_millis()).unwrap_or(u64::MAX),
        memory_mb: command.memory_mb,
    };
    let body = serde_json::to_vec(&request).map_err(|e| WorkerError::Failed(e.to_string()))?;
    let started = Instant::now();
    let mut child = tokio::process::Command::new(&command.program)
        .args(&command.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            WorkerError::Failed(format!(
                "could not start the query worker {}: {e}",
                command.program.display()
            ))
        })?;
    let (Some(mut stdin), Some(mut stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(WorkerError::Failed("the query worker has no pipes".into()));
    };
    let exchange = async {
        stdin.write_all(&body).await?;
        drop(stdin);
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).await?;
        let status = child.wait().await?;
        Ok::<_, std::io::Error>((out, status))
    };
    // A little past the worker's own limit, so that a worker that notices in time answers
    // itself; one that does not is killed (kill_on_drop) when this future is dropped.
    let grace = limits.timeout + Duration::from_secs(1);
    let (out, status) = match tokio::time::timeout(grace, exchange).await {
        Err(_) => return Err(WorkerError::Timeout(limits.timeout)),
        Ok(Err(e)) => return Err(WorkerError::Failed(format!("the query worker: {e}"))),
        Ok(Ok(done)) => done,
    };
    let answer: WorkerAnswer = match serde_json::from_slice(&out) {
        Ok(a) => a,
        Err(_) if !status.success() => {
            return Err(WorkerError::Crashed(exit_text(status), command.memory_mb));
        }
        Err(e) => {
            return Err(WorkerError::Failed(format!(
                "the query worker answered no result: {e}"
            )));
        }
    };
    match answer {
        WorkerAnswer::Ok {
            columns,
            rows,
            truncated,
            ..
        } => Ok(QueryResult {
            columns,
            rows,
            truncated,
            elapsed: started.elapsed(),
        }),
        WorkerAnswer::Invalid { message } => Err(WorkerError::Invalid(message)),
        WorkerAnswer::Timeout => Err(WorkerError::Timeout(limits.timeout)),
        WorkerAnswer::Failed { message } => Err(WorkerError::Failed(message)),
    }
}

fn exit_text(status: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            let name = match sig {
                6 => "SIGABRT",
                9 => "SIGKILL",
                11 => "SIGSEGV",
                _ => "a signal",
            };
            return format!("ended by {name} ({sig})");
        }
    }
    format!("exit status {}", status.code().unwrap_or(-1))
}
