//! The rows several pages show, mapped from the warehouse's findings and reports, the
//! ledger's logs, the directory, the catalogue and the clue book.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::http::StatusCode;
use drugtrace_analytics::Table;
use drugtrace_clues::{Clue, Date};
use drugtrace_dashboard::jiff::Timestamp as Instant;
use drugtrace_dashboard::{self as dash};
use drugtrace_ledger::{EventKind, Recorded};
use drugtrace_money::Fen;

use crate::ApiError;
use crate::supervision::{Finding, Findings, Loaded, Supervision};

/// Findings shown at most on an institution's or a clue's page.
const FINDINGS_LIMIT: usize = 200;

pub(super) fn instant(ms: i64) -> Instant {
    Instant::from_millisecond(ms).unwrap_or(Instant::UNIX_EPOCH)
}

pub(super) fn system_instant(t: std::time::SystemTime) -> Option<Instant> {
    Instant::try_from(t).ok()
}

fn finding_row(f: &Finding) -> dash::FindingRow {
    dash::FindingRow {
        model: f.model.clone(),
        severity: f.severity,
        code: f.code.clone(),
        at: instant(f.at_ms.unwrap_or(0)),
        amount_fen: f.amount_fen,
        detail: f.detail.clone(),
    }
}

/// Newest first, at most `FINDINGS_LIMIT`.
pub(super) fn latest<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<dash::FindingRow> {
    let mut all: Vec<&Finding> = findings.collect();
    all.sort_by_key(|f| std::cmp::Reverse(f.at_ms));
    all.into_iter()
        .take(FINDINGS_LIMIT)
        .map(finding_row)
        .collect()
}

/// Findings per model with their amount, largest first.
pub(super) fn per_model<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<dash::ModelCount> {
    let mut by: BTreeMap<&str, (u64, Fen)> = BTreeMap::new();
    for f in findings {
        let e = by.entry(f.model.as_str()).or_default();
        e.0 += 1;
        e.1 = e.1.saturating_add(f.amount_fen);
    }
    let mut rows: Vec<dash::ModelCount> = by
        .into_iter()
        .map(|(m, (n, fen))| dash::ModelCount {
            model: m.to_owned(),
            findings: n,
            amount_fen: fen,
        })
        .collect();
    rows.sort_by(|a, b| b.findings.cmp(&a.findings).then(a.model.cmp(&b.model)));
    rows
}

/// An `upload_rate` cell: `NULL` when no settled item is known.
pub(super) fn rate(v: &drugtrace_analytics::Value) -> Option<f64> {
    (!v.is_null()).then(|| v.float())
}

/// Institution `code` as a row of the `institutions` report names it: its name (the code
/// when the report has none), kind and place.
pub(super) fn reported_institution(
    r: &drugtrace_analytics::Record<'_>,
    code: &str,
) -> dash::InstitutionInfo {
    dash::InstitutionInfo {
        code: code.to_owned(),
        name: Some(r.text("name"))
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| code.to_owned()),
        kind: drugtrace_catalog::InstitutionKind::parse(&r.text("kind")),
        province: r.text("province"),
        city: r.text("city"),
    }
}

/// Per-day rows (`day, scans, sales, interceptions, intercepted_fen`, sales counting
/// refused attempts too) as chart points, with sales that went through.
pub(super) fn day_points(t: &Table) -> Vec<dash::DayPoint> {
    t.records()
        .filter_map(|r| {
            let interceptions = r.int("interceptions").max(0) as u64;
            Some(dash::DayPoint {
                date: r.date("day")?,
                scans: r.int("scans").max(0) as u64,
                sales: (r.int("sales").max(0) as u64).saturating_sub(interceptions),
                interceptions,
                intercepted_fen: Fen::new(r.int("intercepted_fen")),
            })
        })
        .collect()
}

pub(super) fn period(points: &[dash::DayPoint], today: Date) -> dash::Period {
    dash::Period {
        from: points.first().map_or(today, |p| p.date),
        to: points.last().map_or(today, |p| p.date),
    }
}

/// An event of a pack's log as evidence; `party` names an institution by its code.
pub(super) fn evidence(
    r: &Recorded,
    cited: &BTreeSet<u32>,
    party: &dyn Fn(&str) -> String,
    name: &dyn Fn(&str) -> String,
) -> dash::EvidenceEvent {
    let e = &r.event;
    let mut d = dash::EventDetails::default();
    match &e.kind {
        EventKind::Ship { to: Some(i) } | EventKind::Receive { from: Some(i) } => {
            d.counterparty = Some(party(i.as_str()));
        }
        EventKind::Intake(i) => d.counterparty = i.supplier.as_ref().map(|i| party(i.as_str())),
        EventKind::Sale(s) => {
            d.settlement = s.settlement.as_ref().map(|x| x.as_str().to_owned());
            d.person_hash_prefix = s.person.as_ref().map(|p| p.to_hex()[..8].to_owned());
            d.units = s.units;
            d.pack_units = s.pack_units;
            d.amount_fen = Some(Fen::new(s.amount_fen));
            d.fund_paid = Some(s.fund_paid);
        }
        EventKind::SaleReturn(s) => {
            d.settlement = s.settlement.as_ref().map(|x| x.as_str().to_owned());
            d.units = s.units;
        }
        EventKind::Void(v) => d.units = Some(v.voids.len() as u32),
        EventKind::PackInto { case } => d.counterparty = Some(case.to_string()),
        EventKind::Fill { boxes } => d.units = Some(boxes.len() as u32),
        EventKind::Commission
        | EventKind::Ship { to: None }
        | EventKind::Receive { from: None }
        | EventKind::StockChange(_)
        | EventKind::Destroy
        | EventKind::Recall
        | EventKind::Unpack
        | EventKind::Open => {}
    }
    dash::EvidenceEvent {
        seq: r.index,
        at: instant(e.at.millis()),
        recorded_at: instant(r.recorded_at.millis()),
        actor_code: e.actor.to_string(),
        actor_name: name(e.actor.as_str()),
        kind: e.kind.clone(),
        outcome: r.outcome,
        details: d,
        highlighted: cited.contains(&r.index),
    }
}

/// An institution's name from the directory, empty when it is not there.
pub(super) fn name_of(directory: &drugtrace_catalog::Directory, code: &str) -> String {
    directory
        .get(code)
        .map(|i| i.name.clone())
        .unwrap_or_default()
}

/// An institution as `name (code)`, or its code when the directory does not know it.
pub(super) fn party_of(directory: &drugtrace_catalog::Directory, code: &str) -> String {
    match directory.get(code) {
        Some(i) => format!("{} ({code})", i.name),
        None => code.to_owned(),
    }
}

/// The product of pack `key`, if the catalogue knows it.
pub(super) fn product_info(
    catalog: &drugtrace_catalog::Catalog,
    key: &drugtrace_code::PackKey,
) -> Option<dash::ProductInfo> {
    catalog
        .by_product_key(key.product_key())
        .map(|p| dash::ProductInfo {
            generic_name: p.generic_name().to_owned(),
            trade_name: p.trade_name().to_owned(),
            specification: p.specification().to_owned(),
            manufacturer: p.manufacturer().to_owned(),
            insurance_code: Some(p.insurance_code().to_string()),
            approval_number: Some(p.approval_number().to_owned()).filter(|a| !a.is_empty()),
        })
}

/// institution, the note from its result or its latest annotated change.
/// Clue `id` as its pages show it: its detail and audit trail, every finding, and its row
/// (batch title, findings counted) as of `today`; a 404 for a clue the book does not hold.
pub(super) async fn clue_of(
    sup: &Supervision,
    loaded: &Loaded,
    id: drugtrace_clues::ClueId,
    today: Date,
) -> Result<(drugtrace_clues::ClueDetail, Arc<Findings>, dash::ClueRow), ApiError> {
    let book = sup.clues();
    let detail = book.clue(id).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_clue",
            format!("no clue {id}"),
        )
    })?;
    let findings = loaded.findings().await?;
    let batch = book
        .batch(detail.clue.batch)
        .map(|b| b.title)
        .unwrap_or_default();
    let row = clue_row(sup, &detail.clue, &batch, &findings, today);
    Ok((detail, findings, row))
}

/// A clue as a row of the list: the models behind it come from the findings at its
/// institution, the note from its result or its latest annotated change.
pub(super) fn clue_row(
    sup: &Supervision,
    c: &Clue,
    batch: &str,
    findings: &Findings,
    today: Date,
) -> dash::ClueRow {
    let note = match &c.result {
        Some(r) => r.note.clone(),
        None => sup
            .clues()
            .audit_for_clue(c.id)
            .iter()
            .rev()
            .find_map(|a| a.note.clone())
            .unwrap_or_default(),
    };
    dash::ClueRow {
        id: c.id.to_string(),
        batch: batch.to_owned(),
        institution_code: c.institution.clone(),
        institution_name: Some(c.name.clone())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| c.institution.clone()),
        province: c.province.clone(),
        city: c.city.clone(),
        assigned_to: c.assigned_to.clone(),
        models: per_model(findings.of_institution(&c.institution))
            .into_iter()
            .map(|m| m.model)
            .collect(),
        findings: c.findings,
        amount_fen: c.amount_fen,
        deadline: c.deadline,
        state: c.state,
        overdue: c.is_overdue(today),
        note,
        recovered_fen: c.result.as_ref().and_then(|r| r.recovered_fen),
        transitions: drugtrace_clues::ClueState::ALL
            .into_iter()
            .filter(|to| c.state.can_move_to(*to))
            .collect(),
    }
}

/// A step of a clue's history as the pages show it.
pub(super) fn audit_entry(a: &drugtrace_clues::AuditEntry) -> dash::AuditEntry {
    dash::AuditEntry {
        at: instant(a.at_ms),
        actor: a.actor.clone(),
        from: a.from,
        to: a.to,
        note: a.note.clone().unwrap_or_default(),
        recovered_fen: a.recovered_fen,
    }
}
