//! What every dashboard page needs from the server: its [`Ctx`] and the HTML response with
//! its headers. Every page, form, alert and error is rendered by `drugtrace-dashboard`.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use drugtrace_dashboard::{Ctx, Lang, ModelLabel};

use super::Supervision;
use crate::ApiError;

/// Where the dashboard is mounted.
pub(crate) const BASE: &str = "/dashboard";

/// `GET /dashboard`: the overview is at `/dashboard/`.
pub(crate) async fn to_dashboard() -> Redirect {
    Redirect::permanent("/dashboard/")
}

/// The value of query parameter `name` of `uri`.
pub(crate) fn param(uri: &Uri, name: &str) -> Option<String> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri)
        .ok()?
        .0
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The page's language, from `lang=` (Chinese by default).
pub(crate) fn lang_of(uri: &Uri) -> Lang {
    Lang::from_param(param(uri, "lang").as_deref())
}

/// The context a page of this request renders with.
pub(crate) fn ctx(sup: &Supervision, uri: &Uri) -> Ctx {
    let current = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    let mut ctx = Ctx::new(lang_of(uri), BASE, current, sup.deployment()).with_models(
        drugtrace_analytics::models()
            .iter()
            .map(|m| ModelLabel {
                name: m.name.clone(),
                title_zh: m.title_zh.clone(),
                title_en: m.title_en.clone(),
            })
            .collect(),
    );
    ctx.utc_offset_minutes = sup.offset_minutes;
    ctx.signed_in = true;
    ctx
}

/// The pages load nothing from elsewhere and run no inline script: the one script, the
/// overview's live ticker, is this server's file, and it connects only back to it. The policy
/// says so, and keeps them out of frames. They show confidential figures, so nothing keeps a
/// copy.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
                   script-src 'self'; connect-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// An HTML page with `status`.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

/// A dashboard page rendered with `ctx` (for a signed-in regulator: its header carries the
/// sign-out button).
pub(crate) fn page(status: StatusCode, ctx: &Ctx, body: String) -> Response {
    debug_assert!(
        ctx.signed_in,
        "a dashboard page is for a signed-in regulator"
    );
    html(status, body)
}

/// A 303 to `to`: where a form's post leads.
/// A 303 to `to`. A target that is no valid header value (a CR or LF in it) leads to the
/// dashboard's start instead: `Redirect::to` would panic on it.
pub(crate) fn see_other(to: &str) -> Response {
    let location =
        HeaderValue::try_from(to).unwrap_or_else(|_| HeaderValue::from_static("/dashboard/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// An error page: the status, and what went wrong.
pub(crate) fn error_page(lang: Lang, e: &ApiError) -> Response {
    html(
        e.status(),
        drugtrace_dashboard::render_error(lang, BASE, e.message()),
    )
}
