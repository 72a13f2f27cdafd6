//! Who may supervise: a regulator's API key, sent as `Authorization: Bearer` to the JSON API,
//! or by a browser in the dashboard's cookie.
//!
//! Browsers cannot add a Bearer header to a link or a form, so `/dashboard/login` takes the
//! key in a form and, when it is a regulator's, sets it as a cookie that is `HttpOnly` (no
//! script reads it), `SameSite=Strict` (no other site's page or form sends it) and limited to
//! `Path=/dashboard`. Every dashboard request checks the cookie's key against the key file
//! exactly as a Bearer key is checked, so a key removed from the file stops working at once.
//! A form post whose `Origin` is another site is refused besides.

use axum::Form;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use drugtrace_dashboard::html::url_encode;
use drugtrace_dashboard::{Lang, T};
use drugtrace_ledger::Store;
use serde::Deserialize;

use super::view::{self, BASE};
use crate::keys::{Role, key_id};
use crate::{ApiError, AppState};

/// The cookie that carries the key.
pub(crate) const COOKIE: &str = "drugtrace_key";

/// How long a sign-in lasts: a working day.
const COOKIE_MAX_AGE_S: u32 = 12 * 3600;

/// A regulator calling the JSON API.
pub(crate) struct Regulator {
    /// Who, for audit trails: `regulator:` and the key's id.
    pub actor: String,
}

fn actor(key: &str) -> String {
    format!("regulator:{}", key_id(key))
}

impl<S: Store + Sync + 'static> FromRequestParts<AppState<S>> for Regulator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<S>) -> Result<Self, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::unauthorized(
                "missing_key",
                "send `Authorization: Bearer <API key>` with a regulator's key",
            )
        })?;
        let key = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "missing_key",
                    "the Authorization header is not `Bearer <API key>`",
                )
            })?;
        match state.inner.keys.role(key) {
            None => Err(ApiError::unauthorized(
                "unknown_key",
                "this API key is not known",
            )),
            Some(Role::Institution(_)) => Err(ApiError::forbidden(
                None,
                "supervision needs a regulator's key; an institution's key submits and reads only its own",
            )),
            Some(Role::Regulator) => Ok(Regulator { actor: actor(key) }),
        }
    }
}

/// A regulator signed in to the dashboard.
pub(crate) struct DashboardUser {
    /// Who, for audit trails: `regulator:` and the key's id.
    pub actor: String,
}

/// The value of the request's cookie `name`.
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.trim().to_owned())
}

/// The key in the request's dashboard cookie.
fn cookie_key(parts: &Parts) -> Option<String> {
    cookie(&parts.headers, COOKIE)
}

/// Whether a state-changing request comes from a page of this server: a browser sends
/// `Origin` with every form post, and it must name the host the request was sent to.
fn same_origin(parts: &Parts) -> bool {
    if matches!(parts.method, Method::GET | Method::HEAD) {
        return true;
    }
    let Some(origin) = parts.headers.get(header::ORIGIN) else {
        // Not a browser (or one old enough to send none): the SameSite cookie still holds.
        return true;
    };
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .map(|(_, rest)| rest);
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

impl<S: Store + Sync + 'static> FromRequestParts<AppState<S>> for DashboardUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState<S>) -> Result<Self, Response> {
        let lang = view::lang_of(&parts.uri);
        let key = cookie_key(parts);
        match key.as_deref().map(|k| (k, state.inner.keys.role(k))) {
            Some((key, Some(Role::Regulator))) => {
                if !same_origin(parts) {
                    return Err(view::error_page(
                        lang,
                        &ApiError::forbidden(None, "this form was sent from another site"),
                    ));
                }
                Ok(DashboardUser { actor: actor(key) })
            }
            Some((_, Some(Role::Institution(_)))) => Err(view::error_page(
                lang,
                &ApiError::forbidden(None, T::LoginInstitutionKey.text(lang)),
            )),
            // No cookie, or a key that is no longer in the key file.
            _ => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map_or(BASE, |p| p.as_str())
                    .to_owned();
                let next = if parts.method == Method::GET {
                    next
                } else {
                    format!("{BASE}/")
                };
                Err(view::see_other(&format!(
                    "{BASE}/login?next={}{}",
                    url_encode(&next),
                    match lang {
                        Lang::Zh => "",
                        Lang::En => "&lang=en",
                    }
                )))
            }
        }
    }
}

/// Where a sign-in may lead: a dashboard page of this server, nothing else. Only visible
/// ASCII passes: a CR or LF would split the `Location` header.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with(&format!("{BASE}/"))
                && n.bytes().all(|b| b.is_ascii_graphic())
                && !n.contains("//")
                && !n.contains('\\')
                && !n.starts_with(&format!("{BASE}/login")) =>
        {
            n.to_owned()
        }
        _ => format!("{BASE}/"),
    }
}

/// `GET /dashboard/login`: the sign-in form.
pub(crate) async fn login_page(uri: Uri) -> Response {
    let lang = view::lang_of(&uri);
    let next = safe_next(view::param(&uri, "next").as_deref());
    view::html(StatusCode::OK, login_form(lang, &next, None))
}

fn login_form(lang: Lang, next: &str, error: Option<T>) -> String {
    drugtrace_dashboard::render_login(
        &drugtrace_dashboard::LoginPage {
            base: BASE,
            next,
            error,
        },
        lang,
    )
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub(crate) struct LoginForm {
    key: String,
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

/// Whether `key` can stand in a cookie as it is (keys `drugtrace key create` makes always can).
fn cookie_safe(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\'))
}

/// `POST /dashboard/login`: a regulator's key becomes the cookie; any other is refused.
pub(crate) async fn login<S: Store + Sync + 'static>(
    State(state): State<AppState<S>>,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = Lang::from_param(form.lang.as_deref());
    let next = safe_next(form.next.as_deref());
    let key = form.key.trim();
    let refuse =
        |status: StatusCode, message: T| view::html(status, login_form(lang, &next, Some(message)));
    match state.inner.keys.role(key) {
        Some(Role::Regulator) if cookie_safe(key) => {
            let cookie = format!(
                "{COOKIE}={key}; Path={BASE}; HttpOnly; SameSite=Strict; Max-Age={COOKIE_MAX_AGE_S}"
            );
            let mut r = view::see_other(&next);
            match HeaderValue::from_str(&cookie) {
                Ok(v) => {
                    r.headers_mut().insert(header::SET_COOKIE, v);
                    r
                }
                Err(_) => refuse(StatusCode::UNAUTHORIZED, T::LoginUnknownKey),
            }
        }
        Some(Role::Institution(_)) => refuse(StatusCode::FORBIDDEN, T::LoginInstitutionKey),
        _ => refuse(StatusCode::UNAUTHORIZED, T::LoginUnknownKey),
    }
}

/// `POST /dashboard/logout`: the cookie is cleared.
pub(crate) async fn logout(uri: Uri) -> Response {
    let lang = view::lang_of(&uri);
    let mut r = view::see_other(&match lang {
        Lang::Zh => format!("{BASE}/login"),
        Lang::En => format!("{BASE}/login?lang=en"),
    });
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "drugtrace_key=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0",
        ),
    );
    r.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_leads_only_to_dashboard_pages() {
        assert_eq!(
            safe_next(Some("/dashboard/clues?state=issued")),
            "/dashboard/clues?state=issued"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/dashboard/",
            "/dashboard//evil",
            "/dashboardx",
            "/dashboard/login?next=/x",
            "/v1/sql",
            "/dashboard/\\evil",
            "/dashboard/\r\nX-Injected: 1",
            "/dashboard/\nX",
            "/dashboard/a b",
            "/dashboard/\u{7f}",
            "/dashboard/页",
        ] {
            assert_eq!(safe_next(Some(bad)), "/dashboard/", "{bad}");
        }
        assert_eq!(safe_next(None), "/dashboard/");
    }

    #[test]
    fn only_plain_keys_become_cookies() {
        assert!(cookie_safe("dtk_0123abcd"));
        for bad in ["", "a b", "a;b", "a,b", "a\"b", "k\u{7f}", "密钥"] {
            assert!(!cookie_safe(bad), "{bad:?}");
        }
    }
}
