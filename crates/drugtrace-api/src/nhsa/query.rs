//! 3513 sale-trace query (销售药品追溯信息查询): a pack's sales, by its trace code.

use drugtrace_code::TraceCode;
use drugtrace_ledger::{
    Date, EventKind, InstitutionId, Lookup, PackState, SettlementId, Store, VisitId,
};
use serde::Serialize;
use serde_json::Value;

use super::Failure;
use super::read::{Fault, Obj, local_time};
use super::record::{setl_type, visit_ids};
use crate::keys::Role;
use crate::{ApiError, AppState};

/// Sale records shown at most, latest first.
const SHOWN: usize = 100;

#[derive(Serialize)]
struct QueryOutput {
    /// The code, as the ledger reads it (a query by code).
    #[serde(skip_serializing_if = "Option::is_none")]
    drug_trac_codg: Option<String>,
    /// The product the code belongs to, from the catalog.
    med_list_codg: Option<String>,
    /// Its generic name.
    med_list_name: Option<String>,
    /// Sales that went through (a split pack's partial sales each count).
    sel_cnt: usize,
    /// Sale attempts the gate blocked.
    blocked_cnt: usize,
    /// The sales and blocked attempts, latest first.
    data: Vec<SaleRow>,
}

/// One sale or blocked attempt. The buyer is never shown; the settlement only to its own
/// institution and to regulators.
#[derive(Serialize)]
struct SaleRow {
    /// The pack sold.
    drug_trac_codg: String,
    fixmedins_code: String,
    setl_id: Option<String>,
    sel_retn_time: String,
    sel_retn_cnt: u32,
    /// Units since returned (3506).
    retn_cnt: u32,
    /// The amount per unit, in yuan.
    finl_trns_pric: String,
    mdtrt_setl_type: &'static str,
    /// The insurance code the sale was billed as.
    med_list_codg: Option<String>,
    /// `accepted`, `flagged` or `rejected` (blocked: not paid).
    outcome: &'static str,
    reason: Option<&'static str>,
}

/// What a 3513 asks for.
enum Asked {
    /// One pack's sales, by its code.
    Code(TraceCode),
    /// A buyer's sales (`certno`, `psn_no`: each identity sent, hashed).
    Person(Vec<drugtrace_ledger::PersonHash>),
    /// One settlement's sales at the institution (`setl_id`).
    Settlement(SettlementId),
    /// One visit's sales at the institution (`mdtrt_id`, `mdtrt_sn`: each id sent).
    Visit(Vec<VisitId>),
}

/// Packs a person or settlement query looks at, at most.
const PACKS: usize = 500;

/// Answers a 3513 from `input.data`: by `drug_trac_codg` (a pack's every sale), else by
/// `setl_id` (the institution's sales under that settlement), else by `mdtrt_id` /
/// `mdtrt_sn` (the institution's sales of that visit), else by `certno` / `psn_no`
/// (a buyer's sales: at the caller's own institution, or anywhere for a regulator; a buyer
/// recorded under one identity is not found by the other). `begndate` and `enddate` narrow
/// the sales by local day; `med_list_codg`, with a code, is checked against the catalog.
pub async fn sale_trace<S: Store + Sync + 'static>(
    state: &AppState<S>,
    role: &Role,
    input: &Obj<'_>,
    me: &InstitutionId,
    offset: i32,
) -> Result<(Value, Option<String>), Failure> {
    let data = input.object("data")?;
    let data = data.obj();
    let asked = if let Some(code) = data.parsed("drug_trac_codg", TraceCode::parse)? {
        Asked::Code(code)
    } else if let Some(id) = data.parsed("setl_id", SettlementId::parse)? {
        Asked::Settlement(id)
    } else if let visits @ [_, ..] = &visit_ids(&data)?[..] {
        Asked::Visit(visits.to_vec())
    } else {
        let key = &state.inner.person_key;
        let ids: Vec<_> = [data.text("certno")?, data.text("psn_no")?]
            .into_iter()
            .flatten()
            .map(|i| key.hash(&i))
            .collect();
        if ids.is_empty() {
            return Err(Fault::at(
                &data.field_path("drug_trac_codg"),
                "is required, or setl_id (a settlement's sales), or mdtrt_id / mdtrt_sn (a visit's), or certno / psn_no (a buyer's)",
            )
            .into());
        }
        Asked::Person(ids)
    };
    let from = data.parsed("begndate", |t| Date::parse(t.get(..10).unwrap_or(t)))?;
    let to = data.parsed("enddate", |t| Date::parse(t.get(..10).unwrap_or(t)))?;
    let product_asked = data.text("med_list_codg")?;
    let sees_all = matches!(role, Role::Regulator);
    let viewer = me.clone();
    let sees = move |i: &InstitutionId| sees_all || *i == viewer;
    let lookup = match &asked {
        Asked::Code(_) => None,
        // The caller's own settlement; a regulator names the institution as the envelope's
        // `fixmedins_code`.
        Asked::Settlement(id) => Some(vec![Lookup::Settlement(me.clone(), id.clone())]),
        Asked::Visit(ids) => Some(
            ids.iter()
                .map(|v| Lookup::Visit(me.clone(), v.clone()))
                .collect(),
        ),
        Asked::Person(ids) => Some(ids.iter().map(|p| Lookup::Person(*p)).collect()),
    };
    let code_key = match &asked {
        Asked::Code(c) => Some(c.pack_key()),
        _ => None,
    };
    let logs = state
        .blocking(move |inner| {
            let keys = match (code_key, lookup) {
                (Some(k), _) => vec![k],
                (None, Some(lookups)) => {
                    let mut keys = Vec::new();
                    for l in &lookups {
                        keys.extend(
                            inner
                                .ledger
                                .packs_by(l, PACKS)
                                .map_err(ApiError::internal)?,
                        );
                    }
                    keys.sort();
                    keys.dedup();
                    keys.truncate(PACKS);
                    keys
                }
                (None, None) => Vec::new(),
            };
            keys.into_iter()
                .map(|k| Ok((k, inner.ledger.history(&k).map_err(ApiError::internal)?)))
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .await?;
    let catalog = state.inner.ledger.catalog();
    let mut rows: Vec<(drugtrace_ledger::Timestamp, SaleRow)> = Vec::new();
    for (key, history) in &logs {
        let pack = PackState::fold(history);
        let code = key.to_string();
        for r in history {
            let EventKind::Sale(s) = &r.event.kind else {
                continue;
            };
            let wanted = match &asked {
                Asked::Code(_) => true,
                Asked::Settlement(id) => s.settlement.as_ref() == Some(id) && r.event.actor == *me,
                Asked::Visit(ids) => {
                    s.visit.as_ref().is_some_and(|v| ids.contains(v)) && r.event.actor == *me
                }
                Asked::Person(ids) => {
                    s.person.is_some_and(|p| ids.contains(&p)) && sees(&r.event.actor)
                }
            };
            let day = r.event.at.local_date(offset);
            if !wanted || from.is_some_and(|f| day < f) || to.is_some_and(|t| day > t) {
                continue;
            }
            let units = s.units.unwrap_or(1);
            let returned = pack
                .sales
                .iter()
                .find(|x| x.index == r.index)
                .map_or(0, |x| x.returned);
            rows.push((
                r.event.at,
                SaleRow {
                    drug_trac_codg: code.clone(),
                    fixmedins_code: r.event.actor.to_string(),
                    setl_id: s
                        .settlement
                        .as_ref()
                        .filter(|_| sees(&r.event.actor))
                        .map(|x| x.to_string()),
                    sel_retn_time: local_time(r.event.at, offset),
                    sel_retn_cnt: units,
                    retn_cnt: returned,
                    finl_trns_pric: unit_price(s.amount_fen, units),
                    mdtrt_setl_type: setl_type(s.fund_paid),
                    med_list_codg: s.product.as_ref().map(|p| p.as_str().to_owned()),
                    outcome: r.outcome.as_str(),
                    reason: r.outcome.reason().map(|x| x.as_str()),
                },
            ));
        }
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    let sel_cnt = rows.iter().filter(|(_, r)| r.outcome != "rejected").count();
    let blocked_cnt = rows.iter().filter(|(_, r)| r.outcome == "rejected").count();
    let data: Vec<SaleRow> = rows.into_iter().take(SHOWN).map(|(_, r)| r).collect();
    let (output, warn) = match &asked {
        Asked::Code(code) => {
            let product = catalog.by_product_key(code.pack_key().product_key());
            let warn = match (&product_asked, product) {
                (Some(a), Some(p)) if a != p.insurance_code().as_str() => Some(format!(
                    "the code belongs to {}, not to med_list_codg {a}",
                    p.insurance_code().as_str()
                )),
                _ => None,
            };
            let out = QueryOutput {
                drug_trac_codg: Some(code.to_string()),
                med_list_codg: product.map(|p| p.insurance_code().as_str().to_owned()),
                med_list_name: product.map(|p| p.generic_name().to_owned()),
                sel_cnt,
                blocked_cnt,
                data,
            };
            (out, warn)
        }
        _ => (
            QueryOutput {
                drug_trac_codg: None,
                med_list_codg: None,
                med_list_name: None,
                sel_cnt,
                blocked_cnt,
                data,
            },
            None,
        ),
    };
    let output = serde_json::to_value(output).map_err(ApiError::internal)?;
    Ok((output, warn))
}

/// The price of one unit in yuan, to at most four decimals (at least two): a sale's amount
/// is kept in fen, and a split unit may cost a fraction of a fen.
fn unit_price(amount_fen: i64, units: u32) -> String {
    let units = i128::from(units.max(1));
    // In 10⁻⁴ yuan, rounded half up.
    let v = (i128::from(amount_fen) * 100 * 2 + units) / (2 * units);
    let (sign, v) = if v < 0 { ("-", -v) } else { ("", v) };
    let mut s = format!("{sign}{}.{:04}", v / 10_000, v % 10_000);
    while s.ends_with('0') && s.len() - s.find('.').unwrap_or(0) > 3 {
        s.pop();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::unit_price;

    #[test]
    fn unit_prices() {
        assert_eq!(unit_price(1850, 1), "18.50");
        assert_eq!(unit_price(375, 10), "0.375");
        assert_eq!(unit_price(100, 3), "0.3333");
        assert_eq!(unit_price(0, 0), "0.00");
    }
}
