//! What every page needs to know about the request and the deployment: the language, where
//! the dashboard is mounted, the request's own URL (for the language switch), and the
//! analysis models (for their titles and colours).

use crate::html::url_encode;
use crate::i18n::{Lang, T};

/// The request and deployment a page is rendered for.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Ctx {
    /// The page's language.
    pub lang: Lang,
    /// Where the dashboard is mounted, without a trailing slash: `/dashboard`. Every link
    /// the pages make is under it (see [`Ctx::overview_url`] and the other `*_url` methods
    /// for the routes the server must answer).
    pub base: String,
    /// The current request's path and query, `/dashboard/clues?state=issued`: the language
    /// switch links to it with `lang` replaced.
    pub current: String,
    /// The deployment's title in the header, e.g. `福建省医疗保障局`.
    pub deployment: String,
    /// The time zone instants are shown in, minutes east of UTC (China: 480).
    pub utc_offset_minutes: i32,
    /// The analysis models in a fixed order (the registry's). A model's colour is its place
    /// here, so it is the same in every chart and on every page; its title comes from here
    /// too. A model missing from the list is shown by name, in a colour derived from it.
    pub models: Vec<ModelLabel>,
    /// Whether a regulator is signed in: the header then carries the sign-out button.
    pub signed_in: bool,
    /// What went wrong with the request the page answers (a form refused), shown on top.
    pub alert: Option<String>,
}

/// An analysis model's name and its titles in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ModelLabel {
    /// The model's stable name, `secondary_sale`.
    pub name: String,
    /// Its title in Chinese, `药品二次销售`.
    pub title_zh: String,
    /// Its title in English, `Secondary sale`.
    pub title_en: String,
}

/// The categorical palette models are coloured from (Tableau 10, distinguishable in print and
/// for most colour-blind readers).
pub const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f",
    "#e15759", "#bab0ac",
];

impl Ctx {
    /// A context in `lang` for the dashboard at `base`, rendering the request `current`, in
    /// China's time zone and with no models registered.
    pub fn new(
        lang: Lang,
        base: impl Into<String>,
        current: impl Into<String>,
        deployment: impl Into<String>,
    ) -> Ctx {
        let base: String = base.into();
        Ctx {
            lang,
            base: base.trim_end_matches('/').to_owned(),
            current: current.into(),
            deployment: deployment.into(),
            utc_offset_minutes: 480,
            models: Vec::new(),
            signed_in: false,
            alert: None,
        }
    }

    /// The context with `models` registered.
    pub fn with_models(mut self, models: Vec<ModelLabel>) -> Ctx {
        self.models = models;
        self
    }

    /// A label in the page's language.
    pub fn t(&self, key: T) -> &'static str {
        key.text(self.lang)
    }

    /// The overview: `{base}/`.
    pub fn overview_url(&self) -> String {
        self.href(&format!("{}/", self.base))
    }

    /// The clue list: `{base}/clues`.
    pub fn clues_url(&self) -> String {
        self.href(&format!("{}/clues", self.base))
    }

    /// One clue: `{base}/clues/{id}`.
    pub fn clue_url(&self, id: &str) -> String {
        self.href(&format!("{}/clues/{}", self.base, url_encode(id)))
    }

    /// A clue's inspection dossier: `{base}/clues/{id}/dossier`.
    pub fn dossier_url(&self, id: &str) -> String {
        self.href(&format!("{}/clues/{}/dossier", self.base, url_encode(id)))
    }

    /// An institution's drill-down: `{base}/institutions/{code}`.
    pub fn institution_url(&self, code: &str) -> String {
        self.href(&format!("{}/institutions/{}", self.base, url_encode(code)))
    }

    /// A pack's evidence chain: `{base}/packs/{code}`.
    pub fn pack_url(&self, code: &str) -> String {
        self.href(&format!("{}/packs/{}", self.base, url_encode(code)))
    }

    /// The models: `{base}/models`.
    pub fn models_url(&self) -> String {
        self.href(&format!("{}/models", self.base))
    }

    /// The SQL console: `{base}/sql`.
    pub fn sql_url(&self) -> String {
        self.href(&format!("{}/sql", self.base))
    }

    /// The public notices: `{base}/notices`.
    pub fn notices_url(&self) -> String {
        self.href(&format!("{}/notices", self.base))
    }

    /// `url` carrying the page's language: with `lang=en` added for English, unchanged for
    /// Chinese (the default), so following a link keeps the language.
    pub fn href(&self, url: &str) -> String {
        match self.lang {
            Lang::Zh => url.to_owned(),
            Lang::En => with_param(url, "lang", Some("en")),
        }
    }

    /// The language switch's target: the current path and query with `lang` set to the
    /// other language.
    pub fn switch_url(&self) -> String {
        with_param(&self.current, "lang", Some(self.lang.other().code()))
    }

    /// A model's title in the page's language, or its name when it is not registered.
    pub fn model_title<'a>(&'a self, name: &'a str) -> &'a str {
        match self.models.iter().find(|m| m.name == name) {
            Some(m) => match self.lang {
                Lang::Zh => &m.title_zh,
                Lang::En => &m.title_en,
            },
            None => name,
        }
    }

    /// A model's colour: its place among the registered models, or a colour derived from its
    /// name when it is not registered.
    pub fn model_color(&self, name: &str) -> &'static str {
        let index = match self.models.iter().position(|m| m.name == name) {
            Some(i) => i,
            None => name.bytes().fold(0x811c_9dc5_u32, |h, b| {
                (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
            }) as usize,
        };
        PALETTE[index % PALETTE.len()]
    }
}

/// `url` with every `name=` query parameter removed and, if `value` is given, `name=value`
/// appended. A fragment is dropped.
pub fn with_param(url: &str, name: &str, value: Option<&str>) -> String {
    let url = url.split('#').next().unwrap_or_default();
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(name))
        .map(str::to_owned)
        .collect();
    if let Some(value) = value {
        pairs.push(format!("{}={}", url_encode(name), url_encode(value)));
    }
    if pairs.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", pairs.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(lang: Lang, current: &str) -> Ctx {
        Ctx::new(lang, "/dashboard/", current, "测试")
    }

    #[test]
    fn the_switch_keeps_page_and_query_and_replaces_lang() {
        let c = ctx(Lang::Zh, "/dashboard/clues?state=issued&province=%E7%A6%8F");
        assert_eq!(
            c.switch_url(),
            "/dashboard/clues?state=issued&province=%E7%A6%8F&lang=en"
        );
        let c = ctx(Lang::En, "/dashboard/clues?lang=en&state=issued#top");
        assert_eq!(c.switch_url(), "/dashboard/clues?state=issued&lang=zh");
        let c = ctx(Lang::Zh, "/dashboard/");
        assert_eq!(c.switch_url(), "/dashboard/?lang=en");
        // `language=` is another parameter, not `lang`.
        let c = ctx(Lang::Zh, "/dashboard/?language=x");
        assert_eq!(c.switch_url(), "/dashboard/?language=x&lang=en");
    }

    #[test]
    fn links_keep_english_and_encode_segments() {
        let zh = ctx(Lang::Zh, "/dashboard/");
        assert_eq!(zh.pack_url("0104/5?x"), "/dashboard/packs/0104%2F5%3Fx");
        assert_eq!(zh.overview_url(), "/dashboard/");
        let en = ctx(Lang::En, "/dashboard/");
        assert_eq!(en.clue_url("C-1"), "/dashboard/clues/C-1?lang=en");
        assert_eq!(en.href("/x?a=1"), "/x?a=1&lang=en");
    }

    #[test]
    fn models_keep_their_colour_and_fall_back_to_their_name() {
        let c = ctx(Lang::En, "/").with_models(vec![
            ModelLabel {
                name: "a".into(),
                title_zh: "甲".into(),
                title_en: "A".into(),
            },
            ModelLabel {
                name: "b".into(),
                title_zh: "乙".into(),
                title_en: "B".into(),
            },
        ]);
        assert_eq!(c.model_color("a"), PALETTE[0]);
        assert_eq!(c.model_color("b"), PALETTE[1]);
        assert_eq!(c.model_color("zzz"), c.model_color("zzz"));
        assert_eq!(c.model_title("b"), "B");
        assert_eq!(c.model_title("zzz"), "zzz");
    }
}
