//! The warehouse's tables as Arrow schemas, and the builder that turns recorded events into
//! rows of the `events` table.
//!
//! Times are the deployment's local wall-clock time (UTC+08:00 in China) without a zone,
//! as regulators read them; `at_s` is the same instant as seconds since the Unix epoch, for
//! arithmetic that must not depend on a SQL dialect's interval rules.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Int16Builder, Int32Builder, Int64Builder,
    StringBuilder, TimestampMillisecondBuilder, UInt32Builder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::RecordBatch;
use drugtrace_ledger::{EventKind, Recorded};

fn local_ts() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, None)
}

/// The `events` table: one row per recorded event, rejected attempts included.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `code` | text | the pack's code: 20 digits, or `(01)GTIN(21)SERIAL` |
/// | `seq` | int | the event's place in the pack's log, from 0 |
/// | `at` | timestamp | when it happened (local time) |
/// | `at_s` | bigint | the same instant, seconds since the Unix epoch |
/// | `day` | date | the local date of `at` |
/// | `recorded_at` | timestamp | when the ledger recorded it (local time) |
/// | `actor` | text | the reporting institution |
/// | `kind` | text | `commission`, `ship`, `receive`, `intake`, `stock_change`, `sale`, `sale_return`, `destroy`, `recall`, `void`, `pack_into`, `fill`, `unpack`, `open` |
/// | `outcome` | text | `accepted`, `flagged` or `rejected` |
/// | `reason` | text | why flagged or rejected (`already_sold`, `expired`, …) |
/// | `batch`, `expiry` | text, date | the lot the scan carried |
/// | `counterparty` | text | ship: to; receive: from; intake: the supplier |
/// | `product` | text | the insurance code billed (sale) or delivered (intake) |
/// | `code_product` | text | the insurance code the trace code itself belongs to, by the catalog |
/// | `stock_change` | smallint | the national stock-change type, 101–111 |
/// | `settlement` | text | sale: its settlement; return: the returned sale's settlement |
/// | `person` | text | the buyer, as the keyed hash (hex) |
/// | `units`, `pack_units` | int | units sold or returned; units in the whole pack |
/// | `amount_fen` | bigint | the sale's amount in fen |
/// | `fund_paid` | boolean | whether the insurance fund pays the sale |
/// | `upload` | text | the upload batch the actor sent it in (`{inv_data_type}/{fixmedins_bchno}`), if named; for a `void`, the batch it voids |
/// | `voided` | boolean | whether a later `void` of its upload batch covers it: it stays as evidence, but no longer counts as applied |
/// | `voids` | int | for a `void`: how many records it covers; for a `fill`, how many boxes went in |
/// | `case_code` | text | for a `pack_into`: the case the pack was packed into |
pub fn events_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(vec![
            Field::new("code", DataType::Utf8, false),
            Field::new("seq", DataType::UInt32, false),
            Field::new("at", local_ts(), false),
            Field::new("at_s", DataType::Int64, false),
            Field::new("day", DataType::Date32, false),
            Field::new("recorded_at", local_ts(), false),
            Field::new("actor", DataType::Utf8, false),
            Field::new("kind", DataType::Utf8, false),
            Field::new("outcome", DataType::Utf8, false),
            Field::new("reason", DataType::Utf8, true),
            Field::new("batch", DataType::Utf8, true),
            Field::new("expiry", DataType::Date32, true),
            Field::new("counterparty", DataType::Utf8, true),
            Field::new("product", DataType::Utf8, true),
            Field::new("code_product", DataType::Utf8, true),
            Field::new("stock_change", DataType::Int16, true),
            Field::new("settlement", DataType::Utf8, true),
            Field::new("person", DataType::Utf8, true),
            Field::new("units", DataType::Int32, true),
            Field::new("pack_units", DataType::Int32, true),
            Field::new("amount_fen", DataType::Int64, true),
            Field::new("fund_paid", DataType::Boolean, true),
            Field::new("upload", DataType::Utf8, true),
            Field::new("voided", DataType::Boolean, false),
            Field::new("voids", DataType::Int32, true),
            Field::new("case_code", DataType::Utf8, true),
        ]))
    });
    SCHEMA.clone()
}

/// The `movements` table: stock movements reported without trace codes (a record naming its
/// product but no pack), one row each.
///
/// | column | type | meaning |
/// |---|---|---|
/// | `institution` | text | the reporting institution |
/// | `product` | text | the insurance code |
/// | `at`, `at_s`, `day` | timestamp, bigint, date | when (local), as seconds, its local date |
/// | `kind` | text | `intake`, `stock_change`, `sale`, `sale_return` |
/// | `stock_change` | smallint | the national stock-change type, 101–111 |
/// | `direction` | int | `1` into the institution's stock, `-1` out of it |
/// | `quantity` | double | as reported: packs, or units when `split` |
/// | `split` | boolean | the quantity counts the smallest units (拆零) |
/// | `amount_fen` | bigint | a sale's amount in fen |
/// | `fund_paid` | boolean | a sale paid by the insurance fund |
/// | `settlement` | text | the settlement, when named |
/// | `upload` | text | the upload batch (`{inv_data_type}/{fixmedins_bchno}`) |
/// | `revision` | int | 0, or how often the same record was voided before it was sent again |
/// | `voided` | boolean | voided by a 3507 of its batch: kept as evidence, counted nowhere else |
/// | `voided_at` | timestamp | when it was voided (local) |
pub fn movements_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("institution", DataType::Utf8, false),
        Field::new("product", DataType::Utf8, false),
        Field::new("at", local_ts(), false),
        Field::new("at_s", DataType::Int64, false),
        Field::new("day", DataType::Date32, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("stock_change", DataType::Int16, true),
        Field::new("direction", DataType::Int32, false),
        Field::new("quantity", DataType::Float64, false),
        Field::new("split", DataType::Boolean, false),
        Field::new("amount_fen", DataType::Int64, false),
        Field::new("fund_paid", DataType::Boolean, false),
        Field::new("settlement", DataType::Utf8, true),
        Field::new("upload", DataType::Utf8, true),
        Field::new("revision", DataType::Int32, false),
        Field::new("voided", DataType::Boolean, false),
        Field::new("voided_at", local_ts(), true),
    ]))
}

/// The rows of the `movements` table, each movement with its void if it has one, with local
/// times `offset_minutes` east of UTC.
pub fn movements_batch(
    movements: &[(
        drugtrace_ledger::Movement,
        Option<drugtrace_ledger::MovementVoid>,
    )],
    offset_minutes: i32,
) -> Result<RecordBatch, ArrowError> {
    use datafusion::arrow::array::Float64Builder;
    let offset_ms = i64::from(offset_minutes) * 60_000;
    let mut institution = StringBuilder::new();
    let mut product = StringBuilder::new();
    let mut at = TimestampMillisecondBuilder::new();
    let mut at_s = Int64Builder::new();
    let mut day = Date32Builder::new();
    let mut kind = StringBuilder::new();
    let mut stock_change = Int16Builder::new();
    let mut direction = Int32Builder::new();
    let mut quantity = Float64Builder::new();
    let mut split = BooleanBuilder::new();
    let mut amount = Int64Builder::new();
    let mut fund_paid = BooleanBuilder::new();
    let mut settlement = StringBuilder::new();
    let mut upload = StringBuilder::new();
    let mut revision = Int32Builder::new();
    let mut voided = BooleanBuilder::new();
    let mut voided_at = TimestampMillisecondBuilder::new();
    for (m, void) in movements {
        let ms = m.at.millis();
        let local = ms + offset_ms;
        institution.append_value(m.institution.as_str());
        product.append_value(m.product.as_str());
        at.append_value(local);
        at_s.append_value(ms.div_euclid(1000));
        day.append_value(local.div_euclid(DAY_MS) as i32);
        kind.append_value(m.kind.as_str());
        stock_change.append_option(match m.kind {
            drugtrace_ledger::MovementKind::StockChange(c) => Some(c.code() as i16),
            _ => None,
        });
        direction.append_value(m.kind.direction() as i32);
        quantity.append_value(m.quantity_milli as f64 / 1000.0);
        split.append_value(m.split);
        amount.append_value(m.amount_fen);
        fund_paid.append_value(m.fund_paid);
        settlement.append_option(m.settlement.as_ref().map(|s| s.as_str()));
        upload.append_option(m.upload.as_ref().map(|u| u.as_str()));
        revision.append_value(i32::try_from(m.revision).unwrap_or(i32::MAX));
        voided.append_value(void.is_some());
        voided_at.append_option(void.as_ref().map(|v| v.at.millis() + offset_ms));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(institution.finish()),
        Arc::new(product.finish()),
        Arc::new(at.finish()),
        Arc::new(at_s.finish()),
        Arc::new(day.finish()),
        Arc::new(kind.finish()),
        Arc::new(stock_change.finish()),
        Arc::new(direction.finish()),
        Arc::new(quantity.finish()),
        Arc::new(split.finish()),
        Arc::new(amount.finish()),
        Arc::new(fund_paid.finish()),
        Arc::new(settlement.finish()),
        Arc::new(upload.finish()),
        Arc::new(revision.finish()),
        Arc::new(voided.finish()),
        Arc::new(voided_at.finish()),
    ];
    RecordBatch::try_new(movements_schema(), columns)
}

/// The `institutions` table: the directory (`code, name, kind, province, city, lat, lon`).
pub fn institutions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("code", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("province", DataType::Utf8, false),
        Field::new("city", DataType::Utf8, false),
        Field::new("lat", DataType::Float64, true),
        Field::new("lon", DataType::Float64, true),
    ]))
}

/// The `products` table: the catalog, one row per insurance code, with its drug
/// identification prefixes and GTINs joined by `;`.
pub fn products_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("insurance_code", DataType::Utf8, false),
        Field::new("generic_name", DataType::Utf8, false),
        Field::new("trade_name", DataType::Utf8, false),
        Field::new("specification", DataType::Utf8, false),
        Field::new("manufacturer", DataType::Utf8, false),
        Field::new("approval_number", DataType::Utf8, false),
        Field::new("units_per_pack", DataType::UInt32, false),
        Field::new("drug_id_prefixes", DataType::Utf8, false),
        Field::new("gtins", DataType::Utf8, false),
    ]))
}

/// The `settlements` table: the settlement system's drug items that need a trace code,
/// imported by [`crate::import_settlements`], one row per (`settlement_id`, `institution`,
/// `insurance_code`).
///
/// | column | type | meaning |
/// |---|---|---|
/// | `settlement_id` | text | the settlement; a sale of the item carries it too |
/// | `institution` | text | the institution that settled it |
/// | `at` | timestamp | when it was settled (local time) |
/// | `at_s` | bigint | the same instant, seconds since the Unix epoch |
/// | `insurance_code` | text | the product billed |
/// | `units` | int | units, for split sales (`NULL`: the whole pack) |
/// | `amount_fen` | bigint | the item's amount in fen |
/// | `fund_paid` | boolean | whether the insurance fund pays it |
pub fn settlements_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(vec![
            Field::new("settlement_id", DataType::Utf8, false),
            Field::new("institution", DataType::Utf8, false),
            Field::new("at", local_ts(), false),
            Field::new("at_s", DataType::Int64, false),
            Field::new("insurance_code", DataType::Utf8, false),
            Field::new("units", DataType::Int32, true),
            Field::new("amount_fen", DataType::Int64, false),
            Field::new("fund_paid", DataType::Boolean, false),
        ]))
    });
    SCHEMA.clone()
}

/// The `findings` table: every model's findings, with the model's name and version.
///
/// | column | meaning |
/// |---|---|
/// | `model`, `version` | which model found it |
/// | `severity` | `high`, `medium` or `low` |
/// | `code` | the pack (empty for institution-level findings) |
/// | `institution` | the institution the finding is against |
/// | `related_institution` | the other party (the first seller, the origin of a flow) |
/// | `person` | the buyer implicated (keyed hash) |
/// | `product` | the insurance code concerned |
/// | `at` | when the offending event happened (local time) |
/// | `amount_fen` | the fund amount at risk |
/// | `evidence` | the `seq`s of the pack's events the finding rests on, a list (`NULL` for a finding about an institution) |
/// | `detail` | one line of explanation |
pub fn findings_schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        Arc::new(Schema::new(vec![
            Field::new("model", DataType::Utf8, false),
            Field::new("version", DataType::Int32, false),
            Field::new("severity", DataType::Utf8, false),
            Field::new("code", DataType::Utf8, true),
            Field::new("institution", DataType::Utf8, true),
            Field::new("related_institution", DataType::Utf8, true),
            Field::new("person", DataType::Utf8, true),
            Field::new("product", DataType::Utf8, true),
            Field::new("at", local_ts(), true),
            Field::new("amount_fen", DataType::Int64, true),
            Field::new("evidence", DataType::new_list(DataType::UInt32, true), true),
            Field::new("detail", DataType::Utf8, true),
        ]))
    });
    SCHEMA.clone()
}

/// The columns every model's query must return, in this order (`model` and `version` are
/// added by the runner).
pub const MODEL_COLUMNS: [&str; 10] = [
    "severity",
    "code",
    "institution",
    "related_institution",
    "person",
    "product",
    "at",
    "amount_fen",
    "evidence",
    "detail",
];

/// Rows of the `events` table being built.
pub struct EventRows {
    offset_ms: i64,
    code: StringBuilder,
    seq: UInt32Builder,
    at: TimestampMillisecondBuilder,
    at_s: Int64Builder,
    day: Date32Builder,
    recorded_at: TimestampMillisecondBuilder,
    actor: StringBuilder,
    kind: StringBuilder,
    outcome: StringBuilder,
    reason: StringBuilder,
    batch: StringBuilder,
    expiry: Date32Builder,
    counterparty: StringBuilder,
    product: StringBuilder,
    code_product: StringBuilder,
    stock_change: Int16Builder,
    settlement: StringBuilder,
    person: StringBuilder,
    units: Int32Builder,
    pack_units: Int32Builder,
    amount_fen: Int64Builder,
    fund_paid: BooleanBuilder,
    upload: StringBuilder,
    voided: BooleanBuilder,
    voids: Int32Builder,
    case_code: StringBuilder,
    len: usize,
}

const DAY_MS: i64 = 86_400_000;

impl EventRows {
    /// An empty set of rows; local times are `offset_minutes` east of UTC.
    pub fn new(offset_minutes: i32) -> EventRows {
        EventRows {
            offset_ms: i64::from(offset_minutes) * 60_000,
            code: StringBuilder::new(),
            seq: UInt32Builder::new(),
            at: TimestampMillisecondBuilder::new(),
            at_s: Int64Builder::new(),
            day: Date32Builder::new(),
            recorded_at: TimestampMillisecondBuilder::new(),
            actor: StringBuilder::new(),
            kind: StringBuilder::new(),
            outcome: StringBuilder::new(),
            reason: StringBuilder::new(),
            batch: StringBuilder::new(),
            expiry: Date32Builder::new(),
            counterparty: StringBuilder::new(),
            product: StringBuilder::new(),
            code_product: StringBuilder::new(),
            stock_change: Int16Builder::new(),
            settlement: StringBuilder::new(),
            person: StringBuilder::new(),
            units: Int32Builder::new(),
            pack_units: Int32Builder::new(),
            amount_fen: Int64Builder::new(),
            fund_paid: BooleanBuilder::new(),
            upload: StringBuilder::new(),
            voided: BooleanBuilder::new(),
            voids: Int32Builder::new(),
            case_code: StringBuilder::new(),
            len: 0,
        }
    }

    /// Rows so far.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds one pack's log: the pack's code reads `code` and its product, by the catalog, is
    /// `code_product`.
    pub fn push_log(&mut self, code: &str, code_product: Option<&str>, log: &[Recorded]) {
        let voided = drugtrace_ledger::voided(log);
        for r in log {
            self.push(code, code_product, r, voided.contains(&r.index));
        }
    }

    /// Adds one recorded event of the pack whose code reads `code` and whose product, by the
    /// catalog, is `code_product`; `voided` when a later void covers it.
    fn push(&mut self, code: &str, code_product: Option<&str>, r: &Recorded, voided: bool) {
        let e = &r.event;
        let at_ms = e.at.millis();
        let local = at_ms + self.offset_ms;
        self.code.append_value(code);
        self.seq.append_value(r.index);
        self.at.append_value(local);
        self.at_s.append_value(at_ms.div_euclid(1000));
        self.day.append_value(local.div_euclid(DAY_MS) as i32);
        self.recorded_at
            .append_value(r.recorded_at.millis() + self.offset_ms);
        self.actor.append_value(e.actor.as_str());
        self.outcome.append_value(r.outcome.as_str());
        self.reason
            .append_option(r.outcome.reason().map(|x| x.as_str()));
        self.batch
            .append_option(e.lot.batch.as_ref().map(|b| b.as_str()));
        self.expiry
            .append_option(e.lot.expiry.map(|d| d.days_since_epoch()));
        self.code_product.append_option(code_product);

        let mut counterparty = None;
        let mut product = None;
        let mut stock_change = None;
        let mut settlement = None;
        let mut person = None;
        let mut units = None;
        let mut pack_units = None;
        let mut amount = None;
        let mut fund_paid = None;
        let mut voids = None;
        let mut upload = e.upload.as_ref().map(|u| u.as_str());
        let mut case_code = None;
        let kind = match &e.kind {
            EventKind::Commission => "commission",
            EventKind::Ship { to } => {
                counterparty = to.as_ref().map(|i| i.as_str());
                "ship"
            }
            EventKind::Receive { from } => {
                counterparty = from.as_ref().map(|i| i.as_str());
                "receive"
            }
            EventKind::Intake(i) => {
                counterparty = i.supplier.as_ref().map(|i| i.as_str());
                product = i.product.as_ref().map(|p| p.as_str());
                "intake"
            }
            EventKind::StockChange(c) => {
                stock_change = Some(c.code() as i16);
                "stock_change"
            }
            EventKind::Sale(s) => {
                settlement = s.settlement.as_ref().map(|x| x.as_str());
                person = s.person.as_ref().map(|p| p.to_hex());
                units = s.units.map(|u| u as i32);
                pack_units = s.pack_units.map(|u| u as i32);
                product = s.product.as_ref().map(|p| p.as_str());
                amount = Some(s.amount_fen);
                fund_paid = Some(s.fund_paid);
                "sale"
            }
            EventKind::SaleReturn(s) => {
                settlement = s.settlement.as_ref().map(|x| x.as_str());
                units = s.units.map(|u| u as i32);
                "sale_return"
            }
            EventKind::Destroy => "destroy",
            EventKind::Recall => "recall",
            EventKind::Void(v) => {
                voids = Some(v.voids.len() as i32);
                upload = Some(v.upload.as_str());
                "void"
            }
            EventKind::PackInto { case } => {
                case_code = Some(case.to_string());
                "pack_into"
            }
            EventKind::Fill { boxes } => {
                voids = Some(boxes.len() as i32);
                "fill"
            }
            EventKind::Unpack => "unpack",
            EventKind::Open => "open",
        };
        self.kind.append_value(kind);
        self.counterparty.append_option(counterparty);
        self.product.append_option(product);
        self.stock_change.append_option(stock_change);
        self.settlement.append_option(settlement);
        self.person.append_option(person);
        self.units.append_option(units);
        self.pack_units.append_option(pack_units);
        self.amount_fen.append_option(amount);
        self.fund_paid.append_option(fund_paid);
        self.upload.append_option(upload);
        self.voided.append_value(voided);
        self.voids.append_option(voids);
        self.case_code.append_option(case_code);
        self.len += 1;
    }

    /// The rows as a record batch; the builder is empty again afterwards.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        self.len = 0;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.code.finish()),
            Arc::new(self.seq.finish()),
            Arc::new(self.at.finish()),
            Arc::new(self.at_s.finish()),
            Arc::new(self.day.finish()),
            Arc::new(self.recorded_at.finish()),
            Arc::new(self.actor.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.outcome.finish()),
            Arc::new(self.reason.finish()),
            Arc::new(self.batch.finish()),
            Arc::new(self.expiry.finish()),
            Arc::new(self.counterparty.finish()),
            Arc::new(self.product.finish()),
            Arc::new(self.code_product.finish()),
            Arc::new(self.stock_change.finish()),
            Arc::new(self.settlement.finish()),
            Arc::new(self.person.finish()),
            Arc::new(self.units.finish()),
            Arc::new(self.pack_units.finish()),
            Arc::new(self.amount_fen.finish()),
            Arc::new(self.fund_paid.finish()),
            Arc::new(self.upload.finish()),
            Arc::new(self.voided.finish()),
            Arc::new(self.voids.finish()),
            Arc::new(self.case_code.finish()),
        ];
        RecordBatch::try_new(events_schema(), columns)
    }
}
