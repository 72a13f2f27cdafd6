//! What the dashboard's forms and the JSON API share about clues: reading a list's filter,
//! issuing a batch from the ranking, and moving a clue, with the clue book's errors as
//! answers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;
use drugtrace_clues::{
    AuditEntry, BatchId, Change, Clue, ClueId, ClueQuery, ClueState, ClueTarget, Date, Filter,
    Institution, IssueError, IssueRequest, Issued, UpdateError, rank,
};
use drugtrace_money::Fen;
use serde::Deserialize;

use super::{Findings, Loaded, Supervision, blocking, valid_institution};
use crate::ApiError;

/// The clue list's filter as query parameters (the dashboard's form and `GET /v1/clues`);
/// empty values mean no restriction, as a form sends them.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ClueParams {
    #[serde(default)]
    pub batch: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub province: Option<String>,
    #[serde(default)]
    pub institution: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub overdue: Option<String>,
    #[serde(default)]
    pub q: Option<String>,
}

/// A filter read and checked.
#[derive(Debug, Default)]
pub(crate) struct Selection {
    pub query: ClueQuery,
    pub model: Option<String>,
    pub q: Option<String>,
}

fn given(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl ClueParams {
    /// The filter, or a 400 naming the parameter that is wrong.
    pub(crate) fn selection(&self) -> Result<Selection, ApiError> {
        let batch = given(&self.batch)
            .map(|b| b.parse::<BatchId>())
            .transpose()
            .map_err(|e| ApiError::field("batch", e.to_string()))?;
        let state = given(&self.state)
            .map(|s| {
                ClueState::parse(&s).ok_or_else(|| {
                    ApiError::field(
                        "state",
                        format!(
                            "{s:?} is not a state (issued, under_verification, confirmed, dismissed)"
                        ),
                    )
                })
            })
            .transpose()?;
        let overdue = match given(&self.overdue).as_deref() {
            None => None,
            Some("1" | "true" | "on") => Some(true),
            Some("0" | "false") => Some(false),
            Some(other) => {
                return Err(ApiError::field(
                    "overdue",
                    format!("{other:?} is not 1/true or 0/false"),
                ));
            }
        };
        let institution = given(&self.institution);
        if let Some(i) = &institution
            && !valid_institution(i)
        {
            return Err(ApiError::field(
                "institution",
                "an institution code is letters and digits",
            ));
        }
        let model = given(&self.model);
        if let Some(m) = &model {
            known_model(m)?;
        }
        Ok(Selection {
            query: ClueQuery {
                batch,
                state,
                overdue,
                province: given(&self.province),
                institution,
                assigned_to: None,
            },
            model,
            q: given(&self.q),
        })
    }
}

/// A 400 unless `name` is a model's name.
pub(crate) fn known_model(name: &str) -> Result<(), ApiError> {
    if drugtrace_analytics::model(name).is_some() {
        return Ok(());
    }
    let names: Vec<_> = drugtrace_analytics::models()
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    Err(ApiError::field(
        "model",
        format!("no model {name:?}; the models are {}", names.join(", ")),
    ))
}

/// The clues `sel` selects on `today`. A model filter keeps the clues about institutions
/// that model found something at, so it needs the findings.
pub(crate) fn select(
    sup: &Supervision,
    sel: &Selection,
    today: Date,
    findings: Option<&Findings>,
) -> Vec<Clue> {
    let q = sel.q.as_ref().map(|q| q.to_lowercase());
    sup.clues()
        .list(&sel.query, today)
        .into_iter()
        .filter(|c| match (&sel.model, findings) {
            (Some(m), Some(f)) => f.of_institution(&c.institution).any(|x| &x.model == m),
            (Some(_), None) => false,
            (None, _) => true,
        })
        .filter(|c| {
            q.as_ref().is_none_or(|q| {
                c.id.to_string().to_lowercase() == *q
                    || c.institution.to_lowercase().contains(q)
                    || c.name.to_lowercase().contains(q)
            })
        })
        .collect()
}

/// Today in the server's time zone (deadlines are days there).
pub(crate) fn today(offset_minutes: i32) -> Date {
    drugtrace_dashboard::format::local_date(
        drugtrace_dashboard::jiff::Timestamp::now(),
        offset_minutes,
    )
}

/// A batch to issue: the top institutions of the ranking under a filter.
#[derive(Debug)]
pub(crate) struct BatchSpec {
    pub title: String,
    pub deadline: Date,
    pub top_n: usize,
    pub province: Option<String>,
    pub city: Option<String>,
    pub product: Option<String>,
    pub models: Option<Vec<String>>,
    pub min_findings: u64,
}

/// The most clues one batch may hold.
pub(crate) const MAX_TOP_N: usize = 10_000;

impl BatchSpec {
    /// Reads the new-batch form's text fields.
    pub(crate) fn from_form(
        title: &str,
        deadline: &str,
        top_n: &str,
        province: &str,
        model: &str,
        min_findings: &str,
    ) -> Result<BatchSpec, ApiError> {
        let top_n = top_n
            .trim()
            .parse::<usize>()
            .map_err(|_| ApiError::field("top_n", "is not a whole number"))?;
        let min_findings = match min_findings.trim() {
            "" => 0,
            n => n
                .parse::<u64>()
                .map_err(|_| ApiError::field("min_findings", "is not a whole number"))?,
        };
        let model = Some(model.trim()).filter(|m| !m.is_empty());
        BatchSpec::new(
            title,
            deadline,
            top_n,
            Some(province.trim())
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
            None,
            None,
            model.map(|m| vec![m.to_owned()]),
            min_findings,
        )
    }

    /// Checks the fields of a batch.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        title: &str,
        deadline: &str,
        top_n: usize,
        province: Option<String>,
        city: Option<String>,
        product: Option<String>,
        models: Option<Vec<String>>,
        min_findings: u64,
    ) -> Result<BatchSpec, ApiError> {
        if title.trim().is_empty() {
            return Err(ApiError::field("title", "is required"));
        }
        let deadline = deadline
            .trim()
            .parse::<Date>()
            .map_err(|_| ApiError::field("deadline", "is not a date (YYYY-MM-DD)"))?;
        if !(1..=MAX_TOP_N).contains(&top_n) {
            return Err(ApiError::field(
                "top_n",
                format!("must be from 1 to {MAX_TOP_N}"),
            ));
        }
        if let Some(models) = &models {
            for m in models {
                known_model(m)?;
            }
        }
        Ok(BatchSpec {
            title: title.trim().to_owned(),
            deadline,
            top_n,
            province,
            city,
            product,
            models,
            min_findings,
        })
    }
}

/// Ranks the institutions by their findings under the batch's filter and issues a clue for
/// each of the first `top_n` with at least `min_findings`, durably.
pub(crate) async fn issue(
    sup: &Arc<Supervision>,
    loaded: &Loaded,
    directory: &drugtrace_catalog::Directory,
    spec: BatchSpec,
    actor: String,
) -> Result<Issued, ApiError> {
    let findings = loaded.findings().await?;
    let report = loaded.report("institutions").await?;
    let scans: HashMap<String, u64> = report
        .records()
        .map(|r| (r.text("institution"), r.int("scans").max(0) as u64))
        .collect();
    let institutions: Vec<Institution> = directory
        .iter()
        .map(|i| Institution {
            code: i.code.clone(),
            name: i.name.clone(),
            province: i.province.clone(),
            city: i.city.clone(),
            scans: scans.get(&i.code).copied().unwrap_or(0),
        })
        .collect();
    let filter = Filter {
        product: spec.product,
        province: spec.province,
        city: spec.city,
        from_ms: None,
        to_ms: None,
        models: spec.models,
    };
    let ranked: Vec<_> = rank(&findings.for_ranking(), &institutions, &filter)
        .into_iter()
        .filter(|r| r.findings >= spec.min_findings)
        .collect();
    if ranked.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_institutions",
            "no institution has findings under this filter: there is nothing to issue",
        ));
    }
    let request = IssueRequest {
        title: spec.title,
        issued_by: actor,
        deadline: spec.deadline,
        filter,
        institutions: ClueTarget::top(&ranked, spec.top_n),
    };
    let sup = Arc::clone(sup);
    blocking(move || sup.clues().issue(request).map_err(issue_error)).await
}

fn issue_error(e: IssueError) -> ApiError {
    if e.is_client_error() {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_batch",
            e.to_string(),
        )
    } else {
        ApiError::internal(e)
    }
}

/// A clue id from a path, or a 400.
pub(crate) fn clue_id(id: &str) -> Result<ClueId, ApiError> {
    id.parse::<ClueId>()
        .map_err(|e| ApiError::field("id", e.to_string()))
}

/// Reads the amount recovered typed into a clue's form (`126`, `126.5`, `126.50`: yuan as
/// [`Fen::parse_yuan`] reads them), or a 400 naming the form's field and what is wrong. An
/// empty field is no amount. A negative one is refused here, in the form's words, rather
/// than by the clue book in fen.
pub(crate) fn recovered_from_form(text: &str) -> Result<Option<Fen>, ApiError> {
    const FIELD: &str = "recovered_yuan";
    if text.trim().is_empty() {
        return Ok(None);
    }
    let fen = Fen::parse_yuan(text).map_err(|e| ApiError::field(FIELD, e.to_string()))?;
    if fen.is_negative() {
        return Err(ApiError::field(
            FIELD,
            format!(
                "amount {:?} is negative: the amount recovered is what came back to the fund",
                text.trim()
            ),
        ));
    }
    Ok(Some(fen))
}

/// Moves clue `id` to state `to` with the note and amount recovered given, durably.
pub(crate) async fn transition(
    sup: &Arc<Supervision>,
    id: ClueId,
    to: &str,
    note: Option<String>,
    recovered_fen: Option<Fen>,
    actor: String,
) -> Result<AuditEntry, ApiError> {
    let to = ClueState::parse(to).ok_or_else(|| {
        ApiError::field(
            "to",
            format!("{to:?} is not a state (under_verification, confirmed, dismissed)"),
        )
    })?;
    let change = Change {
        actor,
        note: note.filter(|n| !n.trim().is_empty()),
        recovered_fen,
    };
    let sup = Arc::clone(sup);
    blocking(move || sup.clues().transition(id, to, change).map_err(update_error)).await
}

fn update_error(e: UpdateError) -> ApiError {
    match &e {
        UpdateError::UnknownClue(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "unknown_clue", e.to_string())
        }
        UpdateError::IllegalTransition { .. } => {
            ApiError::new(StatusCode::CONFLICT, "illegal_transition", e.to_string())
        }
        UpdateError::NoteRequired { .. } | UpdateError::EmptyNote(_) => {
            ApiError::field("note", e.to_string())
        }
        UpdateError::RecoveredNotAllowed { .. } | UpdateError::NegativeRecovered { .. } => {
            ApiError::field("recovered", e.to_string())
        }
        _ if e.is_client_error() => ApiError::bad_request(e.to_string()),
        _ => ApiError::internal(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovered_amount_is_yuan_never_negative() {
        let fen = |s: &str| recovered_from_form(s).unwrap().map(Fen::fen);
        assert_eq!(fen("126"), Some(12_600));
        assert_eq!(fen(" 126.5 "), Some(12_650));
        assert_eq!(fen("0.07"), Some(7));
        assert_eq!(fen("  "), None);
        for bad in [
            "-1",
            "1.234",
            "1e3",
            "abc",
            ".5",
            "1.-2",
            "99999999999999999999",
        ] {
            let e = recovered_from_form(bad).unwrap_err();
            assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{bad}");
            assert!(
                e.message().contains(&format!("{bad:?}")),
                "{bad}: {}",
                e.message()
            );
        }
        assert!(
            recovered_from_form("-1")
                .unwrap_err()
                .message()
                .contains("is negative")
        );
    }

    #[test]
    fn a_filter_names_its_wrong_parameter() {
        let p = ClueParams {
            state: Some("closed".into()),
            ..ClueParams::default()
        };
        let e = p.selection().unwrap_err();
        assert!(e.message().contains("closed"), "{}", e.message());
        let p = ClueParams {
            institution: Some("P1' OR 1=1".into()),
            ..ClueParams::default()
        };
        assert!(p.selection().is_err());
        let p = ClueParams {
            batch: Some(String::new()),
            overdue: Some("1".into()),
            ..ClueParams::default()
        };
        let s = p.selection().unwrap();
        assert_eq!(s.query.batch, None);
        assert_eq!(s.query.overdue, Some(true));
    }
}
