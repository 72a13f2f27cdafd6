//! The one error type of the API: client errors name the field and the problem; internal
//! errors reach the client as an opaque 500 and are logged in full.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    field: Option<String>,
    message: String,
    retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    message: &'a str,
}

impl ApiError {
    /// A 400 about one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_field",
            field: Some(field.into()),
            message: message.into(),
            retry_after: None,
        }
    }

    /// A 400 about the request as a whole.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            field: None,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A 401: no key, or a key nobody issued.
    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code,
            field: None,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A 403: the key may not do this.
    pub fn forbidden(field: Option<String>, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            field,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A 429: the client asked too often.
    pub fn too_many(retry_after: u64) -> ApiError {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "rate_limited",
            field: None,
            message: format!("too many queries from this client; try again in {retry_after} s"),
            retry_after: Some(retry_after),
        }
    }

    /// A 413: the body is larger than the limit.
    pub fn too_large(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "body_too_large",
            field: None,
            message: message.into(),
            retry_after: None,
        }
    }

    /// Any other client error, or a 503: `code` is the machine-readable name.
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            field: None,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The answer's status.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// What the client is told.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// A 500: the details go to the log, not to the client.
    pub fn internal<E: std::fmt::Display + 'static>(e: E) -> ApiError {
        if unavailable(&e) {
            tracing::warn!(error = %e, "storage unavailable");
            return ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "storage_unavailable",
                field: None,
                message: "the ledger's storage cannot be reached now; nothing was decided, send the request again".into(),
                retry_after: Some(1),
            };
        }
        tracing::error!(error = %e, "internal error");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            field: None,
            message: "internal error; it has been logged".into(),
            retry_after: None,
        }
    }
}

/// Whether `e` says the storage cannot be reached now ([`StoreError::Unavailable`], also
/// inside a ledger or commit error): a retryable 503, not a 500.
pub(crate) fn unavailable(e: &dyn std::any::Any) -> bool {
    use drugtrace_ledger::{CommitError, LedgerError, StoreError};
    let store = |s: &StoreError| matches!(s, StoreError::Unavailable(_));
    if let Some(s) = e.downcast_ref::<StoreError>() {
        return store(s);
    }
    if let Some(LedgerError::Store(s)) = e.downcast_ref::<LedgerError>() {
        return store(s);
    }
    if let Some(CommitError::Store(s)) = e.downcast_ref::<CommitError>() {
        return store(s);
    }
    if let Some(f) = e.downcast_ref::<crate::batcher::GateFailure>() {
        return f.unavailable;
    }
    // A shared journal (the clue book's, the notices', the keys') out of reach.
    use drugtrace_durable::{OpenError, SharedError, StorageError};
    let shared = |s: &SharedError| matches!(s, SharedError::Unavailable(_));
    let storage = |s: &StorageError| matches!(s, StorageError::Shared(s) if shared(s));
    let open = |s: &OpenError| matches!(s, OpenError::Shared(s) if shared(s));
    if let Some(crate::RecallError::Shared(s)) = e.downcast_ref::<crate::RecallError>() {
        return shared(s);
    }
    if let Some(e) = e.downcast_ref::<drugtrace_clues::IssueError>() {
        return matches!(e, drugtrace_clues::IssueError::Storage(s) if storage(s));
    }
    if let Some(e) = e.downcast_ref::<drugtrace_clues::UpdateError>() {
        return matches!(e, drugtrace_clues::UpdateError::Storage(s) if storage(s));
    }
    if let Some(e) = e.downcast_ref::<drugtrace_clues::NoticeError>() {
        use drugtrace_clues::NoticeError;
        return match e {
            NoticeError::Write(s) => storage(s),
            NoticeError::Journal(s) => open(s),
            _ => false,
        };
    }
    false
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                field: self.field.as_deref(),
                message: &self.message,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        let (status, code) = match &r {
            JsonRejection::MissingJsonContentType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            JsonRejection::BytesRejection(_) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
            }
            _ => (StatusCode::BAD_REQUEST, "malformed_json"),
        };
        ApiError {
            status,
            code,
            field: None,
            message: r.body_text(),
            retry_after: None,
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> ApiError {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(r.body_text())
        } else {
            ApiError::bad_request(r.body_text())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drugtrace_ledger::{LedgerError, StoreError};

    /// A storage that cannot be reached now decided nothing: a retryable 503, however deep
    /// the error is wrapped; any other storage failure stays a 500.
    #[test]
    fn unreachable_storage_is_a_retryable_503() {
        let down = || StoreError::Unavailable("PostgreSQL: connection closed".into());
        for e in [
            ApiError::internal(down()),
            ApiError::internal(LedgerError::Store(down())),
            ApiError::internal(drugtrace_ledger::CommitError::Store(down())),
        ] {
            assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(e.code, "storage_unavailable");
            assert_eq!(e.retry_after, Some(1));
        }
        let broken = ApiError::internal(StoreError::Corrupt("bad bytes".into()));
        assert_eq!(broken.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
