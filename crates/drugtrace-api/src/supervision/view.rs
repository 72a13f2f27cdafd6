//! What every dashboard page needs from the server: its [`Ctx`], the HTML response with its
//! headers, the few labels the dashboard crate has no page for (login, errors, the notice
//! form), and the places where a page gets an alert or a form added.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use drugtrace_dashboard::html::Html;
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

/// A rendered dashboard page, with the sign-out button added to its header.
pub(crate) fn page(status: StatusCode, ctx: &Ctx, body: String) -> Response {
    html(status, with_logout(body, ctx))
}

/// A 303 to `to`: where a form's post leads.
/// A 303 to `to`. A target that is no valid header value (a CR or LF in it) leads to the
/// dashboard's start instead: `Redirect::to` would panic on it.
pub(crate) fn see_other(to: &str) -> Response {
    let location =
        HeaderValue::try_from(to).unwrap_or_else(|_| HeaderValue::from_static("/dashboard/"));
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// Labels of the pages and forms this crate adds.
#[derive(Clone, Copy)]
pub(crate) enum L {
    LoginTitle,
    LoginIntro,
    Key,
    SignIn,
    SignOut,
    UnknownKey,
    InstitutionKey,
    Back,
    PublishTitle,
    PublishIntro,
    NoticeTitle,
    Publish,
    PublishedNotices,
    NoticeNumber,
    NoticeCodes,
    NothingToPublish,
    ErrorTitle,
}

pub(crate) fn t(lang: Lang, l: L) -> &'static str {
    let (zh, en) = match l {
        L::LoginTitle => ("监管端登录", "Regulator sign-in"),
        L::LoginIntro => (
            "请输入医保部门的监管密钥（drugtrace key create --role regulator）。密钥只保存在本浏览器的 Cookie 中，且只发往 /dashboard。",
            "Enter an insurance bureau's regulator key (drugtrace key create --role regulator). It is kept in a cookie of this browser and sent only to /dashboard.",
        ),
        L::Key => ("API 密钥", "API key"),
        L::SignIn => ("登录", "Sign in"),
        L::SignOut => ("退出", "Sign out"),
        L::UnknownKey => ("密钥无效。", "This key is not known."),
        L::InstitutionKey => (
            "这是医药机构的密钥：监管端只接受医保部门的监管密钥。",
            "This is an institution's key: the dashboard takes only a regulator's key.",
        ),
        L::Back => ("返回总览", "Back to the overview"),
        L::PublishTitle => ("发布新公告", "Publish a notice"),
        L::PublishIntro => (
            "以当前“重复追溯码”报表中的全部追溯码发布一期公告；发布后，群众扫码查询这些追溯码时会看到提示。",
            "Publish every code of the current duplicated-codes report as a notice; patients who check one of these codes are then warned.",
        ),
        L::NoticeTitle => ("公告标题", "Title"),
        L::Publish => ("发布", "Publish"),
        L::PublishedNotices => ("已发布公告", "Published notices"),
        L::NoticeNumber => ("期号", "No."),
        L::NoticeCodes => ("追溯码数", "Codes"),
        L::NothingToPublish => (
            "当前报表中没有重复销售的追溯码，无可发布内容。",
            "The current report has no code sold twice: there is nothing to publish.",
        ),
        L::ErrorTitle => ("无法显示", "Cannot show this"),
    };
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// A page outside the dashboard's frame (sign-in, errors before a context exists): the
/// dashboard's stylesheet, a plain header, and what `body` writes.
pub(crate) fn standalone(lang: Lang, title: &str, body: impl FnOnce(&mut Html)) -> String {
    let mut h = Html::new();
    h.raw("<!doctype html>\n");
    h.open("html", &[("lang", Some(lang.html_lang()))]);
    h.el("head", &[], |h| {
        h.void("meta", &[("charset", Some("utf-8"))]);
        h.void(
            "meta",
            &[
                ("name", Some("viewport")),
                ("content", Some("width=device-width, initial-scale=1")),
            ],
        );
        h.void(
            "meta",
            &[("name", Some("robots")), ("content", Some("noindex"))],
        );
        h.el_text("title", &[], title);
        h.el("style", &[], |h| {
            h.raw(drugtrace_dashboard::stylesheet());
        });
    });
    h.open("body", &[]);
    h.el("header", &[("class", Some("top"))], |h| {
        h.el("div", &[("class", Some("inner"))], |h| {
            h.el("span", &[("class", Some("brand"))], |h| {
                h.el_text("b", &[], drugtrace_dashboard::T::Product.text(lang));
            });
        });
    });
    h.el("main", &[("id", Some("main"))], body);
    h.close("body");
    h.close("html");
    h.finish()
}

/// An error page: the status, and what went wrong.
pub(crate) fn error_page(lang: Lang, e: &ApiError) -> Response {
    let body = standalone(lang, t(lang, L::ErrorTitle), |h| {
        h.el("div", &[("class", Some("page-head"))], |h| {
            h.el_text("h1", &[], t(lang, L::ErrorTitle));
        });
        h.el_text(
            "p",
            &[("class", Some("notice")), ("role", Some("alert"))],
            e.message(),
        );
        let back = match lang {
            Lang::Zh => format!("{BASE}/"),
            Lang::En => format!("{BASE}/?lang=en"),
        };
        h.el_text(
            "a",
            &[("class", Some("btn")), ("href", Some(&back))],
            t(lang, L::Back),
        );
    });
    html(e.status(), body)
}

/// `page` with an alert at the top of its main content.
pub(crate) fn with_alert(page: String, message: &str) -> String {
    let mut h = Html::new();
    h.el_text(
        "div",
        &[("class", Some("notice")), ("role", Some("alert"))],
        message,
    );
    insert_after(page, "<main id=\"main\">", &h.finish())
}

/// `page` with `fragment` (markup built with [`Html`]) at the end of its main content.
pub(crate) fn with_section(page: String, fragment: &str) -> String {
    insert_before(page, "</main>", fragment)
}

/// `page` with the sign-out button at the end of its header.
fn with_logout(page: String, ctx: &Ctx) -> String {
    let mut h = Html::new();
    h.el(
        "form",
        &[
            ("method", Some("post")),
            ("action", Some(&format!("{BASE}/logout"))),
            ("class", Some("logout")),
        ],
        |h| {
            h.el_text(
                "button",
                &[
                    ("type", Some("submit")),
                    ("class", Some("btn-sm secondary")),
                ],
                t(ctx.lang, L::SignOut),
            );
        },
    );
    insert_before(page, "</div></header>", &h.finish())
}

fn insert_after(mut page: String, marker: &str, fragment: &str) -> String {
    if let Some(i) = page.find(marker) {
        page.insert_str(i + marker.len(), fragment);
    }
    page
}

fn insert_before(mut page: String, marker: &str, fragment: &str) -> String {
    if let Some(i) = page.find(marker) {
        page.insert_str(i, fragment);
    }
    page
}
