//! Turning generator events into text: JSON Lines and CSV records exactly as
//! `drugtrace import` reads them, and NHSA-shaped request envelopes. Every writer appends to
//! a byte buffer by hand, because formatting is most of the generator's work and serde or
//! `format!` per line would cost several times as much.
//!
//! The values written are ASCII letters, digits and a few punctuation marks that need no
//! JSON or CSV escaping (codes, identifiers, numbers), except the NHSA names, which are
//! Chinese text without quotes or backslashes.

use crate::catalog::Catalog;
use crate::event::{Ev, Kind, NONE, Pack, push_code};
use crate::fmt::{DAY, push_date, push_local, push_padded, push_rfc3339, push_u64, push_yuan};
use crate::world::{World, push_person_id, push_person_name};

/// The CSV header: the importer's field names, in its order.
pub(crate) const CSV_HEADER: &str = "type,code,at,institution,batch,expiry,to,from,supplier,insurance_code,change,settlement_id,person,units,amount,fund_paid\n";

/// The header of `settlements.csv`: the settlement system's drug items.
pub(crate) const SETTLEMENTS_HEADER: &str =
    "settlement_id,institution,at,insurance_code,units,amount,fund_paid\n";

/// What the writers need to name things.
pub(crate) struct Names<'a> {
    pub world: &'a World,
    pub catalog: &'a Catalog,
    /// Whether CSV rows end with a `case` column (with packaging only, so that files
    /// without cases keep their columns).
    pub case_column: bool,
}

/// The CSV header's `case` column, after [`CSV_HEADER`]'s, with packaging.
pub(crate) const CSV_CASE_COLUMN: &str = ",case";

/// Appends a settlement id: `SETL` and 16 digits.
pub(crate) fn push_settlement(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(b"SETL");
    push_padded(out, u128::from(n), 16);
}

fn push_batch(out: &mut Vec<u8>, batch: u32) {
    push_padded(out, u128::from(batch), 8);
}

impl Names<'_> {
    fn inst(&self, i: u32) -> &[u8] {
        self.world.code(i).as_bytes()
    }

    fn insurance(&self, p: u32) -> &[u8] {
        self.catalog.products[p as usize].insurance_code.as_bytes()
    }

    /// Appends `ev` as one JSON line; `case` is the case a `pack` event packs into.
    pub(crate) fn json(&self, out: &mut Vec<u8>, ev: &Ev, pack: &Pack, case: Option<&Pack>) {
        out.extend_from_slice(b"{\"type\":\"");
        out.extend_from_slice(ev.kind.as_str().as_bytes());
        out.extend_from_slice(b"\",\"code\":\"");
        push_code(out, pack);
        out.extend_from_slice(b"\",\"at\":\"");
        push_rfc3339(out, ev.at);
        out.extend_from_slice(b"\",\"institution\":\"");
        out.extend_from_slice(self.inst(ev.inst));
        out.push(b'"');
        if ev.lot {
            out.extend_from_slice(b",\"batch\":\"");
            push_batch(out, pack.batch);
            out.extend_from_slice(b"\",\"expiry\":\"");
            push_date(out, pack.expiry);
            out.push(b'"');
        }
        let field = |out: &mut Vec<u8>, name: &[u8], value: &[u8]| {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(name);
            out.extend_from_slice(b"\":\"");
            out.extend_from_slice(value);
            out.push(b'"');
        };
        match ev.kind {
            Kind::Ship => field(out, b"to", self.inst(ev.other)),
            Kind::Receive => field(out, b"from", self.inst(ev.other)),
            Kind::Intake => {
                field(out, b"supplier", self.inst(ev.other));
                field(out, b"insurance_code", self.insurance(ev.product));
            }
            Kind::StockChange => {
                out.extend_from_slice(b",\"change\":");
                push_u64(out, u64::from(ev.change));
            }
            Kind::Sale => {
                out.extend_from_slice(b",\"settlement_id\":\"");
                push_settlement(out, ev.settlement);
                out.extend_from_slice(b"\",\"person\":\"");
                push_person_id(out, ev.person);
                out.push(b'"');
                if ev.units > 0 {
                    out.extend_from_slice(b",\"units\":");
                    push_u64(out, u64::from(ev.units));
                }
                field(out, b"insurance_code", self.insurance(ev.product));
                out.extend_from_slice(b",\"amount\":\"");
                push_yuan(out, ev.amount_fen);
                out.extend_from_slice(if ev.fund_paid {
                    b"\",\"fund_paid\":true"
                } else {
                    b"\",\"fund_paid\":false"
                });
            }
            Kind::SaleReturn => {
                out.extend_from_slice(b",\"settlement_id\":\"");
                push_settlement(out, ev.settlement);
                out.push(b'"');
                if ev.units > 0 {
                    out.extend_from_slice(b",\"units\":");
                    push_u64(out, u64::from(ev.units));
                }
            }
            Kind::Pack => {
                out.extend_from_slice(b",\"case\":\"");
                push_code(out, case.expect("a packing names its case"));
                out.push(b'"');
            }
            Kind::Commission | Kind::Destroy | Kind::Recall | Kind::Open => {}
        }
        out.extend_from_slice(b"}\n");
    }

    /// Appends sale `ev` as the settlement system's item, one row under
    /// [`SETTLEMENTS_HEADER`], with the sale's own fields.
    pub(crate) fn settlement(&self, out: &mut Vec<u8>, ev: &Ev) {
        push_settlement(out, ev.settlement);
        out.push(b',');
        out.extend_from_slice(self.inst(ev.inst));
        out.push(b',');
        push_rfc3339(out, ev.at);
        out.push(b',');
        out.extend_from_slice(self.insurance(ev.product));
        out.push(b',');
        if ev.units > 0 {
            push_u64(out, u64::from(ev.units));
        }
        out.push(b',');
        push_yuan(out, ev.amount_fen);
        out.extend_from_slice(if ev.fund_paid {
            b",true\n"
        } else {
            b",false\n"
        });
    }

    /// Appends `ev` as one CSV row under [`CSV_HEADER`] (and [`CSV_CASE_COLUMN`] with
    /// [`Names::case_column`]); `case` is the case a `pack` event packs into.
    pub(crate) fn csv(&self, out: &mut Vec<u8>, ev: &Ev, pack: &Pack, case: Option<&Pack>) {
        out.extend_from_slice(ev.kind.as_str().as_bytes());
        out.push(b',');
        push_code(out, pack);
        out.push(b',');
        push_rfc3339(out, ev.at);
        out.push(b',');
        out.extend_from_slice(self.inst(ev.inst));
        out.push(b',');
        if ev.lot {
            push_batch(out, pack.batch);
            out.push(b',');
            push_date(out, pack.expiry);
        } else {
            out.push(b',');
        }
        out.push(b',');
        let other = |out: &mut Vec<u8>, kind| {
            if ev.kind == kind && ev.other != NONE {
                out.extend_from_slice(self.inst(ev.other));
            }
            out.push(b',');
        };
        other(out, Kind::Ship);
        other(out, Kind::Receive);
        other(out, Kind::Intake);
        if ev.product != NONE && matches!(ev.kind, Kind::Intake | Kind::Sale) {
            out.extend_from_slice(self.insurance(ev.product));
        }
        out.push(b',');
        if ev.kind == Kind::StockChange {
            push_u64(out, u64::from(ev.change));
        }
        out.push(b',');
        if matches!(ev.kind, Kind::Sale | Kind::SaleReturn) {
            push_settlement(out, ev.settlement);
        }
        out.push(b',');
        if ev.kind == Kind::Sale {
            push_person_id(out, ev.person);
        }
        out.push(b',');
        if ev.units > 0 {
            push_u64(out, u64::from(ev.units));
        }
        out.push(b',');
        if ev.kind == Kind::Sale {
            push_yuan(out, ev.amount_fen);
            out.extend_from_slice(if ev.fund_paid { b",true" } else { b",false" });
        } else {
            out.push(b',');
        }
        if self.case_column {
            out.push(b',');
            if let Some(case) = case {
                push_code(out, case);
            }
        }
        out.push(b'\n');
    }

    /// Appends the NHSA request for `ev` (3503 intake, 3505 sale, 3506 sale return; other
    /// events have none and append nothing). `msg` numbers the message within its second.
    pub(crate) fn nhsa(&self, out: &mut Vec<u8>, ev: &Ev, pack: &Pack, msg: u64) {
        let (infno, section) = match ev.kind {
            Kind::Intake => ("3503", "purcinfo"),
            Kind::Sale => ("3505", "selinfo"),
            Kind::SaleReturn => ("3506", "selinfo"),
            _ => return,
        };
        let product = if ev.product == NONE {
            &self.catalog.products[pack.product as usize]
        } else {
            &self.catalog.products[ev.product as usize]
        };
        let inst = self.inst(ev.inst);
        let s = |out: &mut Vec<u8>, name: &str, value: &[u8]| {
            out.push(b'"');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":\"");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\",");
        };
        out.extend_from_slice(b"{\"infno\":\"");
        out.extend_from_slice(infno.as_bytes());
        out.extend_from_slice(b"\",\"msgid\":\"");
        out.extend_from_slice(inst);
        crate::fmt::push_compact(out, ev.at);
        push_padded(out, u128::from(msg % 10_000), 4);
        out.extend_from_slice(b"\",\"fixmedins_code\":\"");
        out.extend_from_slice(inst);
        out.extend_from_slice(b"\",\"fixmedins_name\":\"");
        out.extend_from_slice(self.world.institutions[ev.inst as usize].name.as_bytes());
        out.extend_from_slice(b"\",\"inf_time\":\"");
        push_local(out, ev.at);
        out.extend_from_slice(b"\",\"input\":{\"");
        out.extend_from_slice(section.as_bytes());
        out.extend_from_slice(b"\":{");
        s(out, "med_list_codg", product.insurance_code.as_bytes());
        // The institution's own catalogue item: its code for the product is the product's
        // drug identification prefix, as hospital systems key their catalogues.
        let mut item = Vec::with_capacity(16);
        item.extend_from_slice(b"YP");
        push_padded(&mut item, u128::from(product.drug_id), 7);
        s(out, "fixmedins_hilist_id", &item);
        s(
            out,
            "fixmedins_hilist_name",
            product.generic_name.as_bytes(),
        );
        let mut bchno = Vec::with_capacity(24);
        push_settlement(&mut bchno, ev.settlement);
        if ev.kind == Kind::Intake {
            bchno.clear();
            bchno.extend_from_slice(b"RK");
            crate::fmt::push_compact(&mut bchno, ev.at);
            push_padded(&mut bchno, u128::from(msg % 10_000), 4);
        }
        s(out, "fixmedins_bchno", &bchno);
        let mut tmp = Vec::with_capacity(24);
        push_batch(&mut tmp, pack.batch);
        s(out, "manu_lotnum", &tmp);
        tmp.clear();
        push_date(&mut tmp, pack.made);
        s(out, "manu_date", &tmp);
        tmp.clear();
        push_date(&mut tmp, pack.expiry);
        s(out, "expy_end", &tmp);
        s(out, "rx_flag", if product.rx { b"1" } else { b"0" });
        let count = if ev.units > 0 { ev.units } else { 1 };
        match ev.kind {
            Kind::Intake => {
                s(
                    out,
                    "spler_name",
                    self.world.institutions[ev.other as usize].name.as_bytes(),
                );
                s(
                    out,
                    "prodentp_name",
                    self.world.institutions[product.maker as usize]
                        .name
                        .as_bytes(),
                );
                s(out, "aprvno", product.approval_number.as_bytes());
                tmp.clear();
                push_yuan(&mut tmp, product.price_fen * 92 / 100);
                s(out, "finl_trns_pric", &tmp);
                s(out, "purc_retn_cnt", b"1");
                tmp.clear();
                push_local(&mut tmp, ev.at);
                s(out, "purc_retn_stoin_time", &tmp);
            }
            Kind::Sale => {
                tmp.clear();
                push_settlement(&mut tmp, ev.settlement);
                s(out, "setl_id", &tmp);
                tmp.clear();
                tmp.extend_from_slice(b"3500");
                push_padded(&mut tmp, u128::from(ev.person), 16);
                s(out, "psn_no", &tmp);
                s(out, "psn_cert_type", b"01");
                tmp.clear();
                push_person_id(&mut tmp, ev.person);
                s(out, "certno", &tmp);
                tmp.clear();
                push_person_name(&mut tmp, ev.person);
                s(out, "psn_name", &tmp);
                s(out, "trdn_flag", if ev.units > 0 { b"1" } else { b"0" });
                tmp.clear();
                push_yuan(&mut tmp, ev.amount_fen / i64::from(count));
                s(out, "finl_trns_pric", &tmp);
                tmp.clear();
                push_u64(&mut tmp, u64::from(count));
                tmp.extend_from_slice(b".00");
                s(out, "sel_retn_cnt", &tmp);
                tmp.clear();
                push_local(&mut tmp, ev.at);
                s(out, "sel_retn_time", &tmp);
                s(
                    out,
                    "mdtrt_setl_type",
                    if ev.fund_paid { b"1" } else { b"2" },
                );
                tmp.clear();
                push_padded(&mut tmp, u128::from(product.gtin), 13);
                s(out, "drug_prod_barc", &tmp);
            }
            _ => {
                tmp.clear();
                push_settlement(&mut tmp, ev.settlement);
                s(out, "setl_id", &tmp);
                s(out, "medins_prod_sel_no", &tmp);
                s(out, "trdn_flag", if ev.units > 0 { b"1" } else { b"0" });
                tmp.clear();
                push_u64(&mut tmp, u64::from(count));
                tmp.extend_from_slice(b".00");
                s(out, "sel_retn_cnt", &tmp);
                tmp.clear();
                push_local(&mut tmp, ev.at);
                s(out, "sel_retn_time", &tmp);
            }
        }
        out.extend_from_slice(b"\"drugtracinfo\":[{\"drug_trac_codg\":\"");
        push_code(out, pack);
        out.extend_from_slice(b"\"}]}}}\n");
    }
}

/// The day of a local instant.
pub(crate) fn day_of(secs: i64) -> i64 {
    secs.div_euclid(DAY)
}
