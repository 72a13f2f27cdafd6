//! The record model shared by both file formats: named text fields, turned into an event.

use std::borrow::Cow;
use std::fmt;

use drugtrace_catalog::InsuranceCode;
use drugtrace_code::TraceCode;
use drugtrace_ledger::{
    Batch, Date, Event, EventKind, InstitutionId, Intake, Lot, PersonKey, Policy, Sale, SaleReturn,
    SettlementId, StockChange, Timestamp, VisitId,
};
use drugtrace_money::Fen;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// The fields a record may have, in the order CSV files conventionally list them.
pub const FIELDS: &[&str] = &[
    "type",
    "code",
    "at",
    "institution",
    "batch",
    "expiry",
    "to",
    "from",
    "supplier",
    "insurance_code",
    "change",
    "settlement_id",
    "person",
    "units",
    "amount",
    "fund_paid",
    "visit_id",
    "case",
];

const PERSON: usize = 12;

/// Which fields beyond the common ones (type, code, at, institution, batch, expiry) each
/// event type takes. A field given for a type that does not take it is an error: it is
/// usually a column shifted by one or a record of the wrong type.
fn extra_fields(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "commission" | "destroy" | "recall" => &[],
        "ship" => &["to"],
        "receive" => &["from"],
        "intake" => &["supplier", "insurance_code"],
        "stock_change" => &["change"],
        "sale" => &[
            "settlement_id",
            "person",
            "units",
            "insurance_code",
            "amount",
            "fund_paid",
            "visit_id",
        ],
        "sale_return" => &["settlement_id", "units"],
        "pack" => &["case"],
        "unpack" | "open" => &[],
        _ => return None,
    })
}

const TYPES: &str = "commission, ship, receive, intake, stock_change, sale, sale_return, destroy, \
                     recall, pack, unpack, open";

/// What parsing needs besides the record: the secret person identities are hashed with, and
/// the time zone of times written without one.
#[derive(Debug, Clone)]
pub struct ParseContext {
    /// The installation's person-hash secret.
    pub person_key: PersonKey,
    /// Offset east of UTC, in minutes, of times without an offset (China: 480).
    pub local_offset_minutes: i32,
}

/// A `units` field: how many of the pack's units a sale or return took, at least 1.
pub(crate) fn units(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{s:?} is not a whole number of units")),
    }
}

/// A `fund_paid` field: `true`, `1`, `yes`, `false`, `0` or `no`, in any case.
pub(crate) fn fund_paid(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(format!("{s:?} is not true or false")),
    }
}

/// Why a record is not an event: the field and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// The field at fault, if one is.
    pub field: Option<&'static str>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(f, "field `{field}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for RecordError {}

fn err(field: &'static str, message: impl fmt::Display) -> RecordError {
    RecordError {
        field: Some(field),
        message: message.to_string(),
    }
}

/// One record's fields as text; empty values count as absent.
#[derive(Debug, Default)]
pub(crate) struct Record<'a> {
    values: [Option<Cow<'a, str>>; FIELDS.len()],
}

impl<'a> Record<'a> {
    /// The index of field `name`.
    pub(crate) fn field_index(name: &str) -> Option<usize> {
        FIELDS.iter().position(|f| *f == name)
    }

    /// Sets field `i` (empty text counts as absent).
    pub(crate) fn set(&mut self, i: usize, value: Cow<'a, str>) {
        self.values[i] = (!value.trim().is_empty()).then_some(value);
    }

    fn get(&self, name: &'static str) -> Option<&str> {
        let i = Self::field_index(name).expect("a known field");
        self.values[i].as_deref().map(str::trim)
    }

    fn req(&self, name: &'static str) -> Result<&str, RecordError> {
        self.get(name).ok_or_else(|| err(name, "is required"))
    }

    fn parse<T, E: fmt::Display>(
        &self,
        name: &'static str,
        f: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, RecordError> {
        self.get(name)
            .map(|v| f(v).map_err(|e| err(name, e)))
            .transpose()
    }

    /// The record as compact JSON with the person's identity replaced, for a reject file.
    pub(crate) fn redacted_json(&self) -> String {
        let mut map = serde_json::Map::new();
        for (i, v) in self.values.iter().enumerate() {
            if let Some(v) = v {
                let v = if i == PERSON { "<redacted>" } else { v };
                map.insert(
                    FIELDS[i].to_owned(),
                    serde_json::Value::String(v.to_owned()),
                );
            }
        }
        serde_json::Value::Object(map).to_string()
    }

    /// Turns the record into an event.
    pub(crate) fn to_event(&self, ctx: &ParseContext) -> Result<Event, RecordError> {
        let kind = self.req("type")?;
        let extra = extra_fields(kind)
            .ok_or_else(|| err("type", format!("{kind:?} is not one of: {TYPES}")))?;
        for (i, v) in self.values.iter().enumerate().skip(6) {
            if v.is_some() && !extra.contains(&FIELDS[i]) {
                return Err(err(FIELDS[i], format!("does not apply to a {kind} event")));
            }
        }
        // A carton's or pallet's SSCC stands where a case may: in its packing, opening and
        // movements; never in a commission, a sale or a return (an SSCC names no pack).
        let raw_code = self.req("code")?;
        let (code, key) = match TraceCode::parse(raw_code) {
            Ok(c) => {
                let key = c.pack_key();
                (Some(c), key)
            }
            Err(drugtrace_code::ParseError::LogisticsLabel { sscc })
                if !matches!(kind, "commission" | "sale" | "sale_return") =>
            {
                (None, sscc.pack_key())
            }
            Err(e) => return Err(err("code", e)),
        };
        let at = Timestamp::parse(self.req("at")?, ctx.local_offset_minutes)
            .map_err(|e| err("at", e))?;
        // The file's history may run past today (a synthetic province's does); an edge that
        // takes clients' records checks their times against its clock as well.
        Policy::check_not_too_early(at, ctx.local_offset_minutes).map_err(|e| err("at", e))?;
        let actor =
            InstitutionId::parse(self.req("institution")?).map_err(|e| err("institution", e))?;
        let lot = self.lot(code.as_ref(), at)?;
        let institution = |name| self.parse(name, InstitutionId::parse);
        let insurance = || self.parse("insurance_code", InsuranceCode::parse);
        let units = |rec: &Self| rec.parse("units", units);
        let kind = match kind {
            "commission" => EventKind::Commission,
            "ship" => EventKind::Ship {
                to: institution("to")?,
            },
            "receive" => EventKind::Receive {
                from: institution("from")?,
            },
            "intake" => EventKind::Intake(Intake {
                supplier: institution("supplier")?,
                product: insurance()?,
            }),
            "stock_change" => {
                let change = self.req("change")?;
                EventKind::StockChange(
                    change
                        .parse::<u16>()
                        .ok()
                        .and_then(StockChange::from_code)
                        .ok_or_else(|| {
                            err(
                                "change",
                                format!("{change:?} is not a stock change type 101 to 111"),
                            )
                        })?,
                )
            }
            "sale" => EventKind::Sale(Sale {
                settlement: self.parse("settlement_id", SettlementId::parse)?,
                person: self
                    .get("person")
                    .filter(|p| !p.is_empty())
                    .map(|p| ctx.person_key.hash(p)),
                units: units(self)?,
                pack_units: None,
                product: insurance()?,
                amount_fen: self.parse("amount", Fen::parse_paid)?.map_or(0, Fen::fen),
                fund_paid: self.parse("fund_paid", fund_paid)?.unwrap_or(true),
                visit: self.parse("visit_id", VisitId::parse)?,
            }),
            "sale_return" => EventKind::SaleReturn(SaleReturn {
                settlement: self.parse("settlement_id", SettlementId::parse)?,
                units: units(self)?,
            }),
            "destroy" => EventKind::Destroy,
            "pack" => {
                let case =
                    drugtrace_code::parse_case(self.req("case")?).map_err(|e| err("case", e))?;
                EventKind::PackInto { case }
            }
            "unpack" => EventKind::Unpack,
            "open" => EventKind::Open,
            _ => EventKind::Recall,
        };
        Ok(Event {
            upload: None,
            pack: key,
            at,
            actor,
            lot,
            kind,
        })
    }

    /// Batch and expiry from the record's fields and from the code itself (GS1 codes carry
    /// both, and maybe a secondary serial and a signature); when both say one, they must
    /// agree.
    fn lot(&self, code: Option<&TraceCode>, at: Timestamp) -> Result<Lot, RecordError> {
        let batch = self.parse("batch", Batch::parse)?;
        let expiry = self.parse("expiry", Date::parse)?;
        let of_code = code.map(|c| Lot::of_code(c, at)).unwrap_or_default();
        let (code_batch, code_expiry) = (of_code.batch.clone(), of_code.expiry);
        if let (Some(a), Some(b)) = (&batch, &code_batch)
            && a != b
        {
            return Err(err(
                "batch",
                format!("{a} differs from the code's batch {b}"),
            ));
        }
        if let (Some(a), Some(b)) = (expiry, code_expiry)
            && a != b
        {
            return Err(err(
                "expiry",
                format!("{a} differs from the code's expiry {b}"),
            ));
        }
        Ok(Lot {
            batch: batch.or(code_batch),
            expiry: expiry.or(code_expiry),
            ..of_code
        })
    }
}

/// A JSON value read as text: strings as they are, numbers and booleans as JSON writes them.
struct Text<'a>(Option<Cow<'a, str>>);

impl<'de> serde::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number, boolean or null")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v))))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(if v { "true" } else { "false" }))))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> serde::Deserialize<'de> for Record<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Record<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object with event fields")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut rec = Record::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    let i = Record::field_index(&key)
                        .ok_or_else(|| de::Error::custom(format!("unknown field `{key}`")))?;
                    if let Text(Some(v)) = map.next_value::<Text<'de>>()? {
                        rec.set(i, v);
                    }
                }
                Ok(rec)
            }
        }
        d.deserialize_map(V)
    }
}

/// Parses one JSON event record (an object with the fields of [`FIELDS`]), for callers that
/// receive records one by one, such as an HTTP API. The error names the field and the
/// problem; its record, if any, has the person's identity redacted.
pub fn parse_json_event(text: &str, ctx: &ParseContext) -> Result<Event, crate::LineError> {
    let record: Record<'_> = serde_json::from_str(text).map_err(|e| crate::LineError {
        reason: format!("not a JSON event record: {e}"),
        record: None,
    })?;
    record.to_event(ctx).map_err(|e| crate::LineError {
        reason: e.to_string(),
        record: Some(record.redacted_json()),
    })
}
