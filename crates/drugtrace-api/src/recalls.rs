//! Recalls of a batch and withdrawals of a product (`POST /v1/recalls`, `GET /v1/recalls`):
//! records of their own, kept in a journal (the data directory's `recalls.jsonl`, or the
//! database's journal `recalls` for every server on it), which the gate reads beside the
//! catalog ([`drugtrace_ledger::Recalls`]).
//!
//! A regulator records any recall; a manufacturer recalls its own products only, as the
//! catalog's `manufacturer_code` says. A recall is in force on the server that recorded it
//! before its answer is sent, and on every other server on the database within about a
//! second (they read the journal on, as they read the keys). The same product and batch
//! recalled again records nothing and is answered with the recall already in force. A recall
//! is never withdrawn.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use drugtrace_catalog::{Catalog, InsuranceCode};
use drugtrace_code::{DrugId, Gtin};
use drugtrace_durable::{Fold, FoldError, Folded, SharedError, SharedJournal};
use drugtrace_ledger::{Authority, Batch, Recall, RecalledProduct, Recalls, Store, Timestamp};
use serde::{Deserialize, Serialize};

use crate::access::Caller;
use crate::keys::Role;
use crate::{ApiError, AppState};

/// The longest reason kept, in characters.
const MAX_REASON: usize = 500;

/// Why the recalls could not be read or added to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecallError {
    /// The journal could not be read or written.
    #[error(transparent)]
    Shared(#[from] SharedError),
    /// A record of the journal does not read: nothing past it is applied.
    #[error("record {at} of the recall journal: {message}")]
    Corrupt {
        /// The record's number.
        at: u64,
        /// What is wrong with it.
        message: String,
    },
}

/// A product as a record and an answer name it: `{"insurance_code": …}`, `{"drug_id": …}`
/// or `{"gtin": …}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ProductRef {
    InsuranceCode(String),
    DrugId(String),
    Gtin(String),
}

impl ProductRef {
    fn of(p: &RecalledProduct) -> ProductRef {
        match p {
            RecalledProduct::Insurance(c) => ProductRef::InsuranceCode(c.to_string()),
            RecalledProduct::DrugId(d) => ProductRef::DrugId(d.to_string()),
            RecalledProduct::Gtin(g) => ProductRef::Gtin(g.to_gtin14()),
        }
    }

    fn parse(&self) -> Result<RecalledProduct, String> {
        Ok(match self {
            ProductRef::InsuranceCode(c) => {
                RecalledProduct::Insurance(InsuranceCode::parse(c).map_err(|e| e.to_string())?)
            }
            ProductRef::DrugId(d) => {
                RecalledProduct::DrugId(DrugId::parse(d).map_err(|e| e.to_string())?)
            }
            ProductRef::Gtin(g) => {
                RecalledProduct::Gtin(Gtin::parse(g).map_err(|e| e.to_string())?)
            }
        })
    }
}

/// One recall as the journal keeps it, a JSON line.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    product: ProductRef,
    batch: Option<String>,
    by: String,
    reason: String,
    at_ms: i64,
}

/// The recalls as their journal folds them, shared with the ledger that judges by them.
#[derive(Clone, Default)]
struct Folding(Arc<Recalls>);

impl Fold for Folding {
    type Applied = Recall;
    type Error = String;
    fn apply(&mut self, bytes: &[u8]) -> Result<Recall, String> {
        let r: Record = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let product = r.product.parse()?;
        let batch = r
            .batch
            .as_deref()
            .map(Batch::parse)
            .transpose()
            .map_err(|e| e.to_string())?;
        Ok(Arc::make_mut(&mut self.0)
            .add(
                product,
                batch,
                r.by,
                r.reason,
                Timestamp::from_millis(r.at_ms),
            )
            .clone())
    }
}

impl From<FoldError<String>> for RecallError {
    fn from(e: FoldError<String>) -> Self {
        match e {
            FoldError::Shared(e) => RecallError::Shared(e),
            FoldError::Corrupt { at, message } => RecallError::Corrupt { at, message },
            // A record this server wrote itself: it always reads.
            FoldError::Refused(message) => RecallError::Corrupt { at: 0, message },
        }
    }
}

/// The recalls, folded from their journal.
#[derive(Debug)]
pub struct RecallBook {
    folded: Folded<Folding>,
}

impl RecallBook {
    /// Folds every recall `journal` holds.
    pub fn open(journal: Arc<dyn SharedJournal>) -> Result<RecallBook, RecallError> {
        Ok(RecallBook {
            folded: Folded::open(journal)?,
        })
    }

    /// Recalls kept in this process only, lost when it ends: for tests, and for a state
    /// made without a journal.
    pub fn in_memory() -> RecallBook {
        RecallBook::open(Arc::new(drugtrace_durable::MemoryJournal::default()))
            .expect("an empty journal folds")
    }

    /// The recalls in force as folded so far.
    pub fn current(&self) -> Arc<Recalls> {
        Arc::clone(&self.folded.current().0)
    }

    /// Reads on and folds what other servers recorded; whether there was anything.
    pub fn refresh(&self) -> Result<bool, RecallError> {
        Ok(self.folded.refresh()?)
    }

    /// Records a recall, or finds the same one in force already (then `false`).
    fn record(
        &self,
        product: RecalledProduct,
        batch: Option<Batch>,
        by: String,
        reason: String,
        at: Timestamp,
    ) -> Result<(Recall, bool), RecallError> {
        let line = serde_json::to_vec(&Record {
            product: ProductRef::of(&product),
            batch: batch.as_ref().map(|b| b.as_str().to_owned()),
            by,
            reason,
            at_ms: at.millis(),
        })
        .expect("a record serializes");
        Ok(self.folded.append(&line, |folded| {
            folded.0.same_as(&product, batch.as_ref()).cloned()
        })?)
    }
}

/// `POST /v1/recalls`: the product by exactly one of its three names, the batch unless the
/// whole product is withdrawn, and why.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecallRequest {
    insurance_code: Option<String>,
    drug_id: Option<String>,
    gtin: Option<String>,
    batch: Option<String>,
    reason: String,
}

/// A recall as the API shows it.
#[derive(Serialize)]
pub struct RecallView {
    number: u64,
    product: ProductRef,
    /// The product's generic name, when the catalog knows it.
    product_name: Option<String>,
    /// `batch` for a batch recall, `product` for a withdrawal of the whole product.
    scope: &'static str,
    batch: Option<String>,
    by: String,
    reason: String,
    at: String,
}

/// The catalog product a recall names, if the catalog has it.
fn named<'a>(catalog: &'a Catalog, p: &RecalledProduct) -> Option<&'a drugtrace_catalog::Product> {
    match p {
        RecalledProduct::Insurance(c) => catalog.by_insurance_code(c),
        RecalledProduct::DrugId(d) => catalog.by_drug_id(*d),
        RecalledProduct::Gtin(g) => catalog.by_gtin(*g),
    }
}

/// The view of `r`, with local times `offset` minutes east of UTC.
pub fn view(r: &Recall, catalog: &Catalog, offset: i32) -> RecallView {
    RecallView {
        number: r.number,
        product: ProductRef::of(&r.product),
        product_name: named(catalog, &r.product).map(|p| p.generic_name().to_owned()),
        scope: if r.batch.is_some() {
            "batch"
        } else {
            "product"
        },
        batch: r.batch.as_ref().map(|b| b.as_str().to_owned()),
        by: r.by.clone(),
        reason: r.reason.clone(),
        at: r.at.to_rfc3339(offset),
    }
}

#[derive(Serialize)]
pub struct RecordAnswer {
    /// `false` when the same product and batch were recalled already: that recall is shown.
    recorded: bool,
    recall: RecallView,
}

pub async fn post<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    caller: Caller,
    body: Result<Json<RecallRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<RecordAnswer>), ApiError> {
    let Json(req) = body?;
    let (recall, recorded) = record(&state, req, &caller, None).await?;
    let catalog = state.inner.ledger.catalog();
    let offset = state.inner.local_offset_minutes;
    let status = if recorded {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(RecordAnswer {
            recorded,
            recall: view(&recall, &catalog, offset),
        }),
    ))
}

/// A recall request from the dashboard's form: the product by the code `named_by` says.
#[derive(Deserialize)]
pub(crate) struct RecallForm {
    #[serde(default)]
    named_by: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    batch: String,
    #[serde(default)]
    reason: String,
}

impl RecallForm {
    /// The request the form makes.
    pub(crate) fn request(self) -> Result<RecallRequest, ApiError> {
        let product = Some(self.product.trim().to_owned()).filter(|p| !p.is_empty());
        let mut req = RecallRequest {
            insurance_code: None,
            drug_id: None,
            gtin: None,
            batch: Some(self.batch.trim().to_owned()).filter(|b| !b.is_empty()),
            reason: self.reason,
        };
        match self.named_by.as_str() {
            "insurance_code" => req.insurance_code = product,
            "drug_id" => req.drug_id = product,
            "gtin" => req.gtin = product,
            other => {
                return Err(ApiError::field(
                    "named_by",
                    format!("{other:?}: insurance_code, drug_id or gtin"),
                ));
            }
        }
        Ok(req)
    }
}

/// Records the recall `req` asks for on behalf of `caller` (a regulator, or the product's
/// manufacturer as the catalog names it), authored by `author` when given (a dashboard
/// user), else by the caller; or finds the same one in force already (then `false`).
pub(crate) async fn record<S: Store + Sync + 'static>(
    state: &AppState<S>,
    req: RecallRequest,
    caller: &Caller,
    author: Option<String>,
) -> Result<(Recall, bool), ApiError> {
    let names: Vec<(&str, &String)> = [
        ("insurance_code", &req.insurance_code),
        ("drug_id", &req.drug_id),
        ("gtin", &req.gtin),
    ]
    .into_iter()
    .filter_map(|(n, v)| v.as_ref().map(|v| (n, v)))
    .collect();
    let (field, value) = match names.as_slice() {
        [one] => *one,
        [] => {
            return Err(ApiError::bad_request(
                "name the product: insurance_code, drug_id (the first 7 digits of its Chinese codes) or gtin",
            ));
        }
        _ => {
            return Err(ApiError::bad_request(
                "name the product once: only one of insurance_code, drug_id and gtin",
            ));
        }
    };
    let product = match field {
        "insurance_code" => ProductRef::InsuranceCode(value.clone()),
        "drug_id" => ProductRef::DrugId(value.clone()),
        _ => ProductRef::Gtin(value.clone()),
    }
    .parse()
    .map_err(|e| ApiError::field(field, e))?;
    let batch = req
        .batch
        .as_deref()
        .map(|b| Batch::parse(b.trim()))
        .transpose()
        .map_err(|e| ApiError::field("batch", e.to_string()))?;
    let reason = req.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(ApiError::field(
            "reason",
            format!("say why in 1 to {MAX_REASON} characters"),
        ));
    }
    let catalog = state.inner.ledger.catalog();
    let product_entry = named(&catalog, &product);
    if matches!(product, RecalledProduct::Insurance(_)) && product_entry.is_none() {
        return Err(ApiError::field(
            field,
            format!(
                "no product in the catalog has insurance code {value}: import it into the catalog first, or name the product by drug_id or gtin"
            ),
        ));
    }
    let by = match (&caller.0, caller.authority()) {
        (Role::Regulator, _) => "regulator".to_owned(),
        (
            Role::Institution(me),
            Authority::Party(drugtrace_catalog::InstitutionKind::Manufacturer),
        ) => {
            let maker = product_entry.and_then(|p| p.manufacturer_code());
            if maker != Some(me.as_str()) {
                return Err(ApiError::forbidden(
                    Some(field.to_owned()),
                    match maker {
                        Some(m) => format!(
                            "the catalog names {m} as this product's manufacturer, not {me}: a manufacturer recalls its own products, a regulator any"
                        ),
                        None => "the catalog names no manufacturer for this product: a regulator records its recall".to_owned(),
                    },
                ));
            }
            me.to_string()
        }
        (Role::Institution(_), _) => {
            return Err(ApiError::forbidden(
                None,
                "only a regulator or the product's manufacturer records a recall",
            ));
        }
    };
    let by = author.unwrap_or(by);
    let at = Timestamp::now();
    let reason = reason.to_owned();
    state
        .blocking(move |inner| {
            let (recall, recorded) = inner
                .recalls
                .record(product, batch, by, reason, at)
                .map_err(ApiError::internal)?;
            // In force here before the answer says it is recorded.
            inner.ledger.set_recalls(inner.recalls.current());
            Ok((recall, recorded))
        })
        .await
}

#[derive(Serialize)]
pub struct ListAnswer {
    recalls: Vec<RecallView>,
}

/// `GET /v1/recalls`: every recall in force, newest first. Public: a recall is a notice.
pub async fn list<S: Store + Sync + 'static>(State(state): State<AppState<S>>) -> Json<ListAnswer> {
    let catalog = state.inner.ledger.catalog();
    let offset = state.inner.local_offset_minutes;
    let recalls = state.inner.ledger.recalls();
    Json(ListAnswer {
        recalls: recalls
            .iter()
            .rev()
            .map(|r| view(r, &catalog, offset))
            .collect(),
    })
}
