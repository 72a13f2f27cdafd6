//! Printing packs, products and decisions for a person at a terminal.

use std::io::Write;

use anyhow::Result;
use drugtrace_catalog::{Catalog, InsuranceCode, Product};
use drugtrace_code::{DrugId, Gtin, TraceCode};
use drugtrace_ledger::{Decision, EventKind, Ledger, Recorded, Store};
use drugtrace_money::Fen;

/// Finds a product by any of its codes, or by a trace code of one of its packs.
pub fn find_product<'a>(catalog: &'a Catalog, key: &str) -> Result<Option<&'a Product>> {
    let key = key.trim();
    if let Ok(code) = InsuranceCode::parse(key) {
        return Ok(catalog.by_insurance_code(&code));
    }
    if let Ok(id) = DrugId::parse(key) {
        return Ok(catalog.by_drug_id(id));
    }
    if let Ok(gtin) = Gtin::parse(key) {
        return Ok(catalog.by_gtin(gtin));
    }
    match TraceCode::parse(key) {
        Ok(code) => Ok(catalog.by_product_key(code.product_key())),
        Err(e) => anyhow::bail!(
            "{key:?} is no insurance code, drug identification code, GTIN or trace code ({e})"
        ),
    }
}

/// A product's facts.
pub fn product(out: &mut impl Write, p: &Product) -> Result<()> {
    writeln!(out, "insurance code   {}", p.insurance_code())?;
    writeln!(out, "generic name     {}", p.generic_name())?;
    writeln!(out, "trade name       {}", p.trade_name())?;
    writeln!(out, "specification    {}", p.specification())?;
    writeln!(out, "manufacturer     {}", p.manufacturer())?;
    writeln!(out, "approval number  {}", p.approval_number())?;
    writeln!(out, "units per pack   {}", p.units_per_pack())?;
    let ids: Vec<String> = p.drug_ids().iter().map(ToString::to_string).collect();
    let gtins: Vec<String> = p.gtins().iter().map(ToString::to_string).collect();
    writeln!(out, "trace prefixes   {}", ids.join(", "))?;
    writeln!(out, "GTINs            {}", gtins.join(", "))?;
    Ok(())
}

/// A pack: product, state and history.
pub fn pack<S: Store>(
    out: &mut impl Write,
    ledger: &Ledger<S>,
    code: &TraceCode,
    offset: i32,
) -> Result<()> {
    let key = code.pack_key();
    writeln!(out, "pack             {key}")?;
    match ledger.catalog().by_product_key(key.product_key()) {
        Some(p) => product(out, p)?,
        None => writeln!(
            out,
            "product          not in the catalog ({})",
            key.product_key()
        )?,
    }
    let Some(state) = ledger.pack(&key)? else {
        writeln!(out, "state            no event recorded for this pack")?;
        return Ok(());
    };
    match &state.issue {
        Some(i) => writeln!(
            out,
            "issued           by {} at {}",
            i.by,
            i.at.to_rfc3339(offset)
        )?,
        None => writeln!(
            out,
            "issued           never (no manufacturer issued this code)"
        )?,
    }
    if let Some(b) = &state.batch {
        writeln!(out, "batch            {b}")?;
    }
    if let Some(x) = state.expiry {
        writeln!(out, "expiry           {x}")?;
    }
    if let Some(h) = &state.holder {
        writeln!(out, "last holder      {h}")?;
    }
    let left = state.units_left().map_or("whole pack".to_owned(), |u| {
        format!("{u} of {}", state.pack_units.unwrap_or(1))
    });
    writeln!(out, "units left       {left}")?;
    writeln!(
        out,
        "sales            {} ({} blocked attempts){}{}",
        state.sales.len(),
        state.blocked_count,
        if state.recalled { "; RECALLED" } else { "" },
        if state.destroyed { "; DESTROYED" } else { "" }
    )?;
    writeln!(out, "history")?;
    for r in ledger.history(&key)? {
        history_line(out, &r, offset)?;
    }
    Ok(())
}

fn history_line(out: &mut impl Write, r: &Recorded, offset: i32) -> Result<()> {
    let e = &r.event;
    let what = match &e.kind {
        EventKind::Commission => "commission".to_owned(),
        EventKind::Ship { to } => match to {
            Some(t) => format!("ship to {t}"),
            None => "ship".to_owned(),
        },
        EventKind::Receive { from } => match from {
            Some(f) => format!("receive from {f}"),
            None => "receive".to_owned(),
        },
        EventKind::Intake(i) => match &i.supplier {
            Some(s) => format!("intake from {s}"),
            None => "intake".to_owned(),
        },
        EventKind::StockChange(c) => format!("stock change {}", c.code()),
        EventKind::Sale(s) => format!(
            "sale {} units, settlement {}, {} yuan{}",
            s.units.unwrap_or(0),
            s.settlement.as_ref().map_or("none", |x| x.as_str()),
            Fen::new(s.amount_fen),
            if s.fund_paid { ", fund paid" } else { "" }
        ),
        EventKind::SaleReturn(ret) => format!("return {} units", ret.units.unwrap_or(0)),
        EventKind::Destroy => "destroy".to_owned(),
        EventKind::Recall => "recall".to_owned(),
        EventKind::Void(v) => format!("void of upload {} ({} records)", v.upload, v.voids.len()),
        EventKind::PackInto { case } => format!("packed into case {case}"),
        EventKind::Fill { boxes } => format!("filled with {} boxes", boxes.len()),
        EventKind::Unpack => "taken out of its case".to_owned(),
        EventKind::Open => "case opened".to_owned(),
    };
    writeln!(
        out,
        "  #{:<3} {}  {:<14} {what}  [{}]",
        r.index,
        e.at.to_rfc3339(offset),
        e.actor.as_str(),
        r.outcome
    )?;
    Ok(())
}

/// A gate decision.
pub fn decision(out: &mut impl Write, d: &Decision, offset: i32) -> Result<()> {
    let verdict = if d.allows_payment() { "ALLOW" } else { "BLOCK" };
    writeln!(
        out,
        "{verdict}: {}{}",
        d.outcome,
        if d.replayed {
            " (a repeat of a settlement already decided; nothing new recorded)"
        } else {
            ""
        }
    )?;
    for s in &d.prior_sales {
        writeln!(
            out,
            "  prior sale at {} by {} (settlement {}, {} units{})",
            s.at.to_rfc3339(offset),
            s.institution,
            s.settlement.as_ref().map_or("none", |x| x.as_str()),
            s.units,
            if s.fund_paid { ", fund paid" } else { "" }
        )?;
    }
    Ok(())
}
