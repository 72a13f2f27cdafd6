//! The pages outside the dashboard's frame, for a request no regulator is signed in to (or
//! that failed before a page could be chosen): the sign-in form and the error page.

use crate::Lang;
use crate::html::{Html, url_encode};
use crate::i18n::T;
use crate::layout;

/// The sign-in form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginPage<'a> {
    /// Where the dashboard is mounted (`/dashboard`).
    pub base: &'a str,
    /// Where to go once signed in (a path under `base`).
    pub next: &'a str,
    /// Why the last attempt was refused, if one was.
    pub error: Option<T>,
}

/// A page outside the frame: the stylesheet, a plain header, and what `body` writes.
fn standalone(lang: Lang, title: &str, body: impl FnOnce(&mut Html)) -> String {
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
            h.raw(layout::stylesheet());
        });
    });
    h.open("body", &[]);
    h.el("header", &[("class", Some("top"))], |h| {
        h.el("div", &[("class", Some("inner"))], |h| {
            h.el("span", &[("class", Some("brand"))], |h| {
                h.el_text("b", &[], T::Product.text(lang));
            });
        });
    });
    h.el("main", &[("id", Some("main"))], body);
    h.close("body");
    h.close("html");
    h.finish()
}

/// The sign-in form in `lang`.
pub fn render_login(page: &LoginPage<'_>, lang: Lang) -> String {
    standalone(lang, T::LoginTitle.text(lang), |h| {
        h.el("div", &[("class", Some("page-head"))], |h| {
            h.el("div", &[], |h| {
                h.el_text("h1", &[], T::LoginTitle.text(lang));
                h.el_text("p", &[("class", Some("sub"))], T::LoginIntro.text(lang));
            });
            let other = lang.other();
            let switch = format!(
                "{}/login?next={}&lang={}",
                page.base,
                url_encode(page.next),
                other.code()
            );
            h.el_text(
                "a",
                &[
                    ("class", Some("btn secondary")),
                    ("href", Some(&switch)),
                    ("lang", Some(other.html_lang())),
                ],
                T::SwitchLanguage.text(lang),
            );
        });
        if let Some(e) = page.error {
            h.el_text(
                "p",
                &[("class", Some("notice")), ("role", Some("alert"))],
                e.text(lang),
            );
        }
        h.el(
            "div",
            &[("class", Some("card")), ("style", Some("max-width:560px"))],
            |h| {
                h.el(
                    "form",
                    &[
                        ("method", Some("post")),
                        ("action", Some(&format!("{}/login", page.base))),
                        ("class", Some("form-grid")),
                    ],
                    |h| {
                        h.void(
                            "input",
                            &[
                                ("type", Some("hidden")),
                                ("name", Some("next")),
                                ("value", Some(page.next)),
                            ],
                        );
                        h.void(
                            "input",
                            &[
                                ("type", Some("hidden")),
                                ("name", Some("lang")),
                                ("value", Some(lang.code())),
                            ],
                        );
                        h.el("label", &[("class", Some("field wide"))], |h| {
                            h.el_text("span", &[], T::LoginKey.text(lang));
                            h.void(
                                "input",
                                &[
                                    ("type", Some("password")),
                                    ("name", Some("key")),
                                    ("id", Some("key")),
                                    ("autocomplete", Some("off")),
                                    ("required", Some("")),
                                    ("autofocus", Some("")),
                                ],
                            );
                        });
                        h.el("div", &[], |h| {
                            h.el_text(
                                "button",
                                &[("type", Some("submit")), ("id", Some("sign-in"))],
                                T::SignIn.text(lang),
                            );
                        });
                    },
                );
            },
        );
    })
}

/// The error page in `lang`: what went wrong, and the way back to the overview under `base`.
pub fn render_error(lang: Lang, base: &str, message: &str) -> String {
    standalone(lang, T::ErrorTitle.text(lang), |h| {
        h.el("div", &[("class", Some("page-head"))], |h| {
            h.el_text("h1", &[], T::ErrorTitle.text(lang));
        });
        h.el_text(
            "p",
            &[("class", Some("notice")), ("role", Some("alert"))],
            message,
        );
        let back = match lang {
            Lang::Zh => format!("{base}/"),
            Lang::En => format!("{base}/?lang=en"),
        };
        h.el_text(
            "a",
            &[("class", Some("btn")), ("href", Some(&back))],
            T::BackToOverview.text(lang),
        );
    })
}
