//! The dashboard's pages, filled from the warehouse, the ledger, the clue book and the
//! notices, and the forms that change the clue book and the notices: one file per page,
//! and [`mapping`] for the rows several of them show.
//!
//! Every page handler takes a [`Page`], which lets in only a signed-in regulator and
//! carries the supervision and the page's [`Ctx`], and returns a [`PageResult`]: an error
//! becomes the error page in the request's language ([`error_pages`], the layer the page
//! routes have). A form's post answers 303 back to a page on success; on a refusal it shows
//! the page again with the reason on top and a 4xx status.

pub(crate) mod clues;
pub(crate) mod dossier;
pub(crate) mod institution;
pub(super) mod mapping;
pub(crate) mod models;
pub(crate) mod notices;
pub(crate) mod overview;
pub(crate) mod pack;
pub(crate) mod sql;

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use drugtrace_dashboard::{self as dash, Ctx, Lang};
use drugtrace_ledger::Store;

use super::Supervision;
use super::auth::DashboardUser;
use super::view;
use crate::{ApiError, AppState};

/// A request for a dashboard page, by a signed-in regulator: what every page handler
/// starts from.
///
/// Extracting it checks the sign-in exactly as [`DashboardUser`] does (no cookie, or a key
/// no longer in the key file, redirects to the sign-in form; an institution's key, or a
/// form sent from another site, is refused with the error page), then resolves the
/// supervision (its absence is the error page of [`AppState::supervision`]'s 503) and
/// builds the page's context: the language from `lang=`, the current URL, the deployment
/// and the models, signed in.
pub(crate) struct Page<S> {
    /// The server's state.
    pub state: AppState<S>,
    /// The supervision part of it.
    pub sup: Arc<Supervision>,
    /// What the page renders with.
    pub ctx: Ctx,
    /// The signed-in regulator, for audit trails: `regulator:` and the key's id.
    pub actor: String,
    /// The request's URI.
    pub uri: Uri,
}

impl<S: Store + Sync + 'static> FromRequestParts<AppState<S>> for Page<S> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<S>) -> Result<Self, Response> {
        let user = DashboardUser::from_request_parts(parts, state).await?;
        let sup = state
            .supervision()
            .map_err(|e| view::error_page(view::lang_of(&parts.uri), &e))?;
        Ok(Page {
            ctx: view::ctx(sup, &parts.uri),
            sup: Arc::clone(sup),
            state: state.clone(),
            actor: user.actor,
            uri: parts.uri.clone(),
        })
    }
}

impl<S> Page<S> {
    /// The page's language.
    pub(crate) fn lang(&self) -> Lang {
        self.ctx.lang
    }

    /// The page's context with `alert` (what went wrong with the request) on top.
    pub(crate) fn alerted(&self, alert: &str) -> Ctx {
        Ctx {
            alert: Some(alert.to_owned()),
            ..self.ctx.clone()
        }
    }

    /// The page `body`, rendered with this page's context, with `status`.
    pub(crate) fn html(&self, status: StatusCode, body: String) -> Response {
        view::page(status, &self.ctx, body)
    }
}

/// What a page handler answers: its page (or a redirect, or a download), or an error.
pub(crate) type PageResult = Result<Response, PageError>;

/// A page's error: answered as the error page with its status and message, in the
/// request's language. `?` turns an [`ApiError`] into one.
pub(crate) struct PageError(ApiError);

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> PageError {
        PageError(e)
    }
}

/// A page's error on its way to [`error_pages`], which renders it.
#[derive(Clone)]
struct Failed(Arc<ApiError>);

impl IntoResponse for PageError {
    /// Only the status and the error: the page is rendered by [`error_pages`], which knows
    /// the request's language.
    fn into_response(self) -> Response {
        let mut r = self.0.status().into_response();
        r.extensions_mut().insert(Failed(Arc::new(self.0)));
        r
    }
}

/// The layer of the page routes: a [`PageError`] becomes the error page in the language of
/// the request it answers.
pub(crate) async fn error_pages(request: Request, next: Next) -> Response {
    let lang = view::lang_of(request.uri());
    let mut r = next.run(request).await;
    match r.extensions_mut().remove::<Failed>() {
        Some(Failed(e)) => view::error_page(lang, &e),
        None => r,
    }
}

/// `url` in `lang`: with `lang=en` for English, as it is for Chinese (the default).
pub(super) fn with_lang(url: String, lang: Lang) -> String {
    match lang {
        Lang::Zh => url,
        Lang::En => dash::with_param(&url, "lang", Some("en")),
    }
}
