//! `drugtrace demo`: the main job. It synthesizes a small province, imports it, makes API
//! keys, finds a sample code for every case of the patient's query, prints what to open
//! (the "mine" and "not mine" cases with an identity assertion signed by the directory's
//! identity key, as the NHSA app would hand it over), and serves the API and pages on
//! loopback until Ctrl-C.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use drugtrace_api::{Keys, RateLimiter, Role};
use drugtrace_ingest::ParseContext;
use drugtrace_ledger::{InstitutionId, PackState, Reason, Store, Timestamp};

use crate::data_dir::{Config, DataDir};
use crate::import;

/// How long the demo's identity assertions are valid: a working day of showing the demo.
const ASSERTION_HOURS: i64 = 12;

/// Options of the demonstration.
pub struct Options {
    /// Where (default: a new directory under the system's temporary one).
    pub dir: Option<PathBuf>,
    /// Packs to synthesize.
    pub packs: u64,
    /// Where to serve.
    pub listen: SocketAddr,
    /// Stop after printing instead of serving.
    pub no_serve: bool,
}

/// Sample codes for the patient's cases.
#[derive(Default)]
struct Samples {
    no_sale: Option<String>,
    one_sale: Option<(String, Option<String>)>,
    multiple_sales: Option<String>,
}

/// Finds a pack for each case by walking the stored states.
fn find_samples<S: Store>(store: &S) -> Result<Samples> {
    let mut samples = Samples::default();
    let mut one_sale = None;
    store.scan_states(&mut |key, state: PackState| {
        let again = state
            .blocked
            .iter()
            .any(|b| b.reason == Reason::AlreadySold);
        if samples.no_sale.is_none()
            && state.is_issued()
            && state.sales.is_empty()
            && !state.recalled
        {
            samples.no_sale = Some(key.to_string());
        }
        if one_sale.is_none() && state.sales.len() == 1 && !again && state.sales[0].person.is_some()
        {
            one_sale = Some(key.to_string());
        }
        if samples.multiple_sales.is_none() && again && !state.sales.is_empty() {
            samples.multiple_sales = Some(key.to_string());
        }
        Ok(())
    })?;
    samples.one_sale = one_sale.map(|c| (c, None));
    Ok(samples)
}

/// The raw buyer identity on the sale line of `code` in the synthesized events, so the demo
/// can show the "sold once, to you" case. (The store holds only its hash.)
fn buyer_of(events: &Path, code: &str) -> Result<Option<String>> {
    let needle = format!("\"code\":\"{code}\"");
    let file = std::fs::File::open(events)?;
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        if line.contains("\"type\":\"sale\"") && line.contains(&needle) {
            let v: serde_json::Value = serde_json::from_str(&line)?;
            return Ok(v["person"].as_str().map(str::to_owned));
        }
    }
    Ok(None)
}

/// Runs the demonstration.
pub fn run(opts: Options, out: &mut impl Write) -> Result<()> {
    let root = opts.dir.unwrap_or_else(|| {
        let stamp = Timestamp::now().millis();
        std::env::temp_dir().join(format!("drugtrace-demo-{}-{stamp}", std::process::id()))
    });
    let data = DataDir::new(&root.join("data"));
    data.init(&Config::default())?;
    writeln!(out, "== data directory: {}", data.root().display())?;

    let province = root.join("province");
    let s = drugtrace_synth::generate(&drugtrace_synth::SynthOptions::new(
        opts.packs,
        1,
        province.clone(),
    ))
    .context("synthesizing the province")?;
    writeln!(
        out,
        "== synthesized {} packs, {} events, {} products, {} institutions in {:.1} s",
        s.packs, s.events, s.products, s.institutions, s.seconds
    )?;
    for (kind, n) in &s.fraud_cases {
        writeln!(out, "   {n:>6} planted {kind}")?;
    }

    let mut catalog = data.catalog()?;
    let c = catalog
        .import_csv(
            std::io::BufReader::new(std::fs::File::open(province.join("catalog.csv"))?),
            "catalog.csv",
        )
        .context("importing the synthesized catalog")?;
    catalog.save_csv_file(&data.catalog_path())?;
    writeln!(out, "== catalog: {c}")?;
    let mut directory = data.directory()?;
    let n = directory
        .import_csv(
            std::io::BufReader::new(std::fs::File::open(province.join("institutions.csv"))?),
            "institutions.csv",
        )
        .context("importing the synthesized institutions")?;
    directory.save_csv_file(&data.institutions_path())?;
    writeln!(out, "== institutions: {n}")?;

    let opened = data.open()?;
    let offset = opened.config.local_offset_minutes;
    let events = province.join("events.jsonl");
    writeln!(out, "== import {}", events.display())?;
    let summary = import::run(
        &opened.ledger,
        ParseContext {
            person_key: opened.person_key.clone(),
            local_offset_minutes: offset,
        },
        &import::Options {
            input: events.clone(),
            format: None,
            rejects: None,
            batch: 20_000,
            progress: import::Progress::Auto,
        },
    )?;
    import::print_summary(&summary, out)?;

    // The settlement system's items: the upload rate counts those with an uploaded sale.
    let settlements = province.join("settlements.csv");
    writeln!(out, "== settlements {}", settlements.display())?;
    let s = data
        .settlements(opened.database.as_ref())
        .import(&settlements, offset)
        .context("importing the synthesized settlements")?;
    writeln!(out, "   {s}")?;

    writeln!(out, "== analytics: export the warehouse, run the models")?;
    crate::analytics::export_warehouse(&data, &opened, out)?;
    crate::analytics::run_models(&data, false, out)?;

    let key_file = Keys::path(data.root());
    let regulator = Keys::create(&key_file, &Role::Regulator, None)?;
    let pharmacy = InstitutionId::parse("P35010200017")?;
    let institution = Keys::create(
        &key_file,
        &Role::Institution(pharmacy.clone()),
        Some(drugtrace_catalog::InstitutionKind::Pharmacy),
    )?;

    let mut samples = find_samples(opened.ledger.store())?;
    if let Some((code, person)) = &mut samples.one_sale {
        *person = buyer_of(&events, code)?;
    }
    let base = format!("http://{}", opts.listen);
    writeln!(out, "\n== open")?;
    writeln!(out, "   patient page   {base}/")?;
    writeln!(
        out,
        "   API docs       {base}/docs   (OpenAPI: {base}/openapi.json)"
    )?;
    writeln!(out, "   metrics        {base}/metrics")?;
    writeln!(
        out,
        "   dashboard      {base}/dashboard/   (sign in with the regulator key below)"
    )?;
    writeln!(
        out,
        "\n== API keys (shown once; only their hashes are stored)"
    )?;
    writeln!(out, "   regulator                  {regulator}")?;
    writeln!(out, "   institution {pharmacy}   {institution}")?;
    writeln!(
        out,
        "\n== one sample code for each case of the patient's query"
    )?;
    let show = |out: &mut dyn Write, case: &str, code: &Option<String>, frag: &str| -> Result<()> {
        match code {
            Some(c) => writeln!(out, "   {case:<18} {base}/?code={c}{frag}")?,
            None => writeln!(out, "   {case:<18} (none in this province)")?,
        }
        Ok(())
    };
    show(out, "no_sale", &samples.no_sale, "")?;
    let one = samples.one_sale.as_ref().map(|(c, _)| c.clone());
    let buyer = samples.one_sale.as_ref().and_then(|(_, p)| p.clone());
    show(out, "one_sale", &one, "")?;
    match &buyer {
        Some(p) => {
            // The identity provider's part: assertions signed with the directory's key.
            let key = data
                .identity_key()?
                .context("the demo's data directory has no identity key")?;
            let now = Timestamp::now().millis().div_euclid(1000);
            let assertion = |person: &str| {
                key.issue(&drugtrace_api::Claims::new(
                    person,
                    now,
                    ASSERTION_HOURS * 3600,
                ))
            };
            show(
                out,
                "one_sale_mine",
                &one,
                &format!("#assertion={}", assertion(p)),
            )?;
            show(
                out,
                "one_sale_not_mine",
                &one,
                &format!("#assertion={}", assertion("110105194912310021")),
            )?;
            writeln!(
                out,
                "   (their identity assertions are valid {ASSERTION_HOURS} hours; more: drugtrace --data {} identity token --person ID)",
                data.root().display()
            )?;
        }
        None => writeln!(out, "   one_sale_mine      (no sale with a buyer found)")?,
    }
    show(out, "multiple_sales", &samples.multiple_sales, "")?;
    writeln!(
        out,
        "\n   the gate:  curl -s -H 'Authorization: Bearer {institution}' -H 'content-type: application/json' \\\n              -d '{{\"settlement_id\":\"DEMO-1\",\"institution\":\"{pharmacy}\",\"items\":[{{\"code\":\"{}\"}}]}}' {base}/v1/gate/sale",
        one.as_deref().unwrap_or("81000010000000000001")
    )?;
    out.flush()?;
    if opts.no_serve {
        return Ok(());
    }
    drop(opened);
    writeln!(out, "\n== serving on {base} (Ctrl-C to stop)")?;
    out.flush()?;
    crate::serve(
        &data,
        opts.listen,
        RateLimiter::new(30, 5.0),
        Some(province.join("truth.jsonl")),
        None,
        None,
    )
}
