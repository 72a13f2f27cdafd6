//! Every page, rendered from the sample data and from hostile and empty data: the key
//! elements are there, the markup is balanced, data is escaped, and the language holds.

use drugtrace_dashboard::jiff::civil::date;
use drugtrace_dashboard::*;

const HOSTILE: &str = "<script>alert('x')</script>&\"";

/// Checks that start and end tags nest properly (outside `<style>`), and returns the
/// sequence of start-tag names.
fn check_balanced(html: &str) -> Vec<String> {
    const VOID: [&str; 6] = ["meta", "input", "br", "hr", "img", "link"];
    let mut stack: Vec<String> = Vec::new();
    let mut opened = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let end = rest.find('>').expect("an unterminated tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let top = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(top, name, "</{name}> closes <{top}>");
            continue;
        }
        let name = tag
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap()
            .to_owned();
        opened.push(name.clone());
        if tag.ends_with('/') || VOID.contains(&name.as_str()) {
            continue;
        }
        if name == "style" {
            let close = rest.find("</style>").expect("an unclosed <style>");
            rest = &rest[close + "</style>".len()..];
            continue;
        }
        stack.push(name);
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    opened
}

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

#[test]
fn every_page_is_a_complete_balanced_document_in_both_languages() {
    for lang in Lang::ALL {
        for (name, html) in sample::render_all(lang) {
            assert!(html.starts_with("<!doctype html>"), "{name}");
            let tags = check_balanced(&html);
            for required in [
                "html", "head", "title", "style", "body", "header", "nav", "main", "footer",
            ] {
                assert!(
                    tags.iter().any(|t| t == required),
                    "{name} has no <{required}>"
                );
            }
            assert!(
                html.contains(&format!("<html lang=\"{}\">", lang.html_lang())),
                "{name}"
            );
            assert!(html.contains("<meta name=\"viewport\""), "{name}");
            // The one script is the live ticker's file, on the overview; no page runs
            // inline script.
            let live = "<script src=\"/dashboard/live.js\" defer=\"\"></script>";
            assert_eq!(
                html.matches(live).count(),
                usize::from(name == "overview"),
                "{name}: the live ticker's script"
            );
            assert!(
                !html.replace(live, "").contains("<script"),
                "{name} must not need script"
            );
            assert!(
                !html.contains("http://")
                    || html.matches("http://").count()
                        == html.matches("http://www.w3.org/2000/svg").count(),
                "{name} loads nothing"
            );
            assert!(!html.contains("https://"), "{name} loads nothing");
            assert!(!html.contains("NaN") && !html.contains("inf<"), "{name}");
            assert!(
                html.contains("WenQuanYi Micro Hei") && html.contains("Noto Sans CJK SC"),
                "{name}"
            );
            // Every table has headers.
            assert_eq!(
                html.matches("<table>").count(),
                html.matches("<thead>").count(),
                "{name}"
            );
            assert!(!html.contains("<th>"), "{name}: headers carry scope");
        }
    }
}

#[test]
fn the_language_switch_keeps_page_and_query() {
    for (name, html) in sample::render_all(Lang::Zh) {
        assert!(html.contains("class=\"lang\""), "{name}");
        assert!(html.contains(">English</a>"), "{name}");
    }
    let zh = render_clue_list(
        &sample::clue_list(),
        &sample::ctx(Lang::Zh, "/dashboard/clues?state=issued&lang=zh"),
    );
    assert!(zh.contains("href=\"/dashboard/clues?state=issued&amp;lang=en\""));
    let en = render_clue_list(
        &sample::clue_list(),
        &sample::ctx(Lang::En, "/dashboard/clues?lang=en&state=issued"),
    );
    assert!(en.contains("href=\"/dashboard/clues?state=issued&amp;lang=zh\""));
    assert!(en.contains(">中文</a>"));
}

#[test]
fn english_pages_keep_english_in_their_links_and_show_no_chinese_labels() {
    for (name, html) in sample::render_all(Lang::En) {
        assert!(
            html.contains("href=\"/dashboard/?lang=en\""),
            "{name}: the overview link keeps English"
        );
        for &key in T::ALL {
            let (zh, _) = key.pair();
            // A label is an element's whole text; the same words inside Chinese data are
            // not labels.
            if has_cjk(zh) && key != T::SwitchLanguage {
                let element = format!(">{zh}<");
                assert!(
                    !html.contains(&element),
                    "{name} shows {key:?} in Chinese: {zh}"
                );
            }
        }
    }
    for (name, html) in sample::render_all(Lang::Zh) {
        // Only the switch itself leads to English.
        assert_eq!(
            html.matches("lang=en\"").count(),
            1,
            "{name}: Chinese links carry no lang=en"
        );
    }
}

#[test]
fn overview_has_tiles_charts_rankings_and_regions() {
    let ctx = sample::ctx(Lang::Zh, "/dashboard/");
    let html = render_overview(&sample::overview(), &ctx);
    for text in [
        "监管总览",
        "统计期间 2025-05-01 至 2025-05-31",
        "class=\"kpis\"",
        "拦截金额（元）",
        "已逾期 7",
        "每日扫码与销售",
        "每日拦截重复结算",
        "各模型疑点数",
        "疑点集中机构",
        "href=\"/dashboard/institutions/H35010200417\"",
        "地区分布",
        "class=\"bar-cell\"",
        "class=\"num rate-low\"",
        "<tfoot>",
        "18,204,377",
    ] {
        assert!(html.contains(text), "overview lacks {text}");
    }
    // Charts: accessible, responsive (a wide and a narrow drawing each).
    assert_eq!(html.matches("<svg xmlns").count(), 6);
    assert_eq!(html.matches("<desc id=").count(), 6);
    assert_eq!(html.matches("role=\"img\"").count(), 6);
    // A model has one colour on every chart and chip.
    let color = ctx.model_color("repeat_settlement");
    assert!(html.contains(&format!("fill=\"{color}\"")));
    assert!(html.contains(&format!("background:{color}")));
}

#[test]
fn clue_list_has_filters_workflow_forms_issue_form_and_exports() {
    let html = render_clue_list(
        &sample::clue_list(),
        &sample::ctx(Lang::Zh, "/dashboard/clues"),
    );
    for text in [
        "<form class=\"filters\" method=\"get\" action=\"/dashboard/clues\">",
        "name=\"batch\"",
        "name=\"state\"",
        "name=\"province\"",
        "name=\"model\"",
        "name=\"overdue\"",
        "name=\"q\"",
        "<option value=\"福建省\" selected=\"\">福建省</option>",
        "action=\"/dashboard/clues/C301/transition\"",
        "<select name=\"to\" required=\"\">",
        "<option value=\"confirmed\">已确认违规</option>",
        "name=\"note\"",
        "method=\"post\" action=\"/dashboard/clues/batches\"",
        "name=\"title\"",
        "name=\"deadline\"",
        "name=\"top_n\"",
        "name=\"min_findings\"",
        "href=\"/dashboard/clues.csv\"",
        "href=\"/dashboard/clues.parquet\"",
        "<span class=\"badge overdue\">逾期</span>",
        "<span class=\"badge confirmed\">已确认违规</span>",
        "显示 6 条，共 65 条",
        "name=\"recovered_yuan\"",
        "<td class=\"num\">12,034.00</td>",
        "href=\"/dashboard/clues?batch=B3\"",
    ] {
        assert!(html.contains(text), "clue list lacks {text}");
    }
    // Concluded clues get no workflow form.
    assert_eq!(html.matches("/transition\"").count(), 4);
}

#[test]
fn english_forms_keep_the_language() {
    let html = render_clue_list(
        &sample::clue_list(),
        &sample::ctx(Lang::En, "/dashboard/clues?lang=en"),
    );
    assert!(html.contains("<input type=\"hidden\" name=\"lang\" value=\"en\">"));
    assert!(html.contains("action=\"/dashboard/clues/C301/transition?lang=en\""));
    assert!(html.contains("action=\"/dashboard/clues/batches?lang=en\""));
}

#[test]
fn clue_detail_has_facts_workflow_and_audit_trail() {
    let html = render_clue_detail(
        &sample::clue_detail(),
        &sample::ctx(Lang::Zh, "/dashboard/clues/C301"),
    );
    for text in [
        "线索详情",
        "href=\"/dashboard/clues\"",
        "处理记录",
        "福州市医保局 林某",
        "2025-06-03 14:26:41",
        "<span class=\"badge issued\">已下发</span> → <span class=\"badge under_verification\">核查中</span>",
        "action=\"/dashboard/clues/C301/transition\"",
        "<textarea name=\"note\"",
        "福建省/福州市",
        "线索所含疑点",
        "href=\"/dashboard/packs/81234560003915274026\"",
    ] {
        assert!(html.contains(text), "clue detail lacks {text}");
    }
}

#[test]
fn institution_page_has_figures_charts_findings_and_clues() {
    let html = render_institution(
        &sample::institution(),
        &sample::ctx(Lang::Zh, "/dashboard/institutions/H35010200417"),
    );
    for text in [
        "福州市鼓楼区康宁大药房",
        "定点零售药店",
        "88.4%",
        "上传追溯码 12,874",
        "疑点明细",
        "显示 4 条，共 86 条",
        "<span class=\"badge sev-high\">高</span>",
        "href=\"/dashboard/packs/81234560003915274026\"",
        "相关线索",
        "href=\"/dashboard/clues/C301\"",
    ] {
        assert!(html.contains(text), "institution page lacks {text}");
    }
    assert_eq!(html.matches("<svg xmlns").count(), 6);
}

#[test]
fn pack_page_has_product_state_and_a_highlighted_evidence_chain() {
    let html = render_pack(
        &sample::pack(),
        &sample::ctx(Lang::Zh, "/dashboard/packs/81234560003915274026"),
    );
    for text in [
        "复方阿胶浆",
        "国药准字Z37020135",
        "该追溯码已成功销售 2 次",
        "另有 1 次销售结算被实时拦截",
        "<ol class=\"timeline\">",
        "采购入库",
        "原因：该码已售出",
        "9f3ac2…",
        "1 / 1",
        "68.50",
    ] {
        assert!(html.contains(text), "pack page lacks {text}");
    }
    assert_eq!(html.matches("<li class=\"tl ").count(), 7);
    assert_eq!(html.matches(" highlighted\"").count(), 3);
    assert!(html.contains("<li class=\"tl rejected highlighted\" id=\"event-5\">"));
}

#[test]
fn models_page_shows_each_model_with_its_sql() {
    let html = render_models(
        &sample::models(),
        &sample::ctx(Lang::En, "/dashboard/models?lang=en"),
    );
    for text in [
        "Repeat settlement",
        "repeat_settlement · Version 1",
        "<pre class=\"sql\"><code>SELECT code",
        "s1.person &lt;&gt; s2.person",
        "97.0%",
        "not measured",
        "href=\"/dashboard/clues?model=repeat_settlement&amp;lang=en\"",
    ] {
        assert!(html.contains(text), "models page lacks {text}");
    }
    assert_eq!(html.matches("<pre class=\"sql\">").count(), 6);
}

#[test]
fn sql_page_shows_form_result_error_and_limit() {
    let mut page = sample::sql();
    let html = render_sql(&page, &sample::ctx(Lang::Zh, "/dashboard/sql"));
    for text in [
        "<form method=\"post\" action=\"/dashboard/sql\">",
        "<textarea id=\"sql-query\" class=\"sql\" name=\"query\"",
        "HAVING count(*) &gt;= 3",
        "5 行",
        "38.4 ms",
        "<th scope=\"col\" class=\"num\">settlements</th>",
        "<th scope=\"col\">code</th>",
    ] {
        assert!(html.contains(text), "sql page lacks {text}");
    }
    page.row_limit_hit = true;
    assert!(render_sql(&page, &sample::ctx(Lang::Zh, "/")).contains("已达行数上限"));
    page.error = Some("syntax error at or near \"FORM\"".into());
    let html = render_sql(&page, &sample::ctx(Lang::En, "/"));
    assert!(html.contains("role=\"alert\""));
    assert!(html.contains("syntax error at or near &quot;FORM&quot;"));
    assert!(!html.contains("<table>"), "no result table under an error");
}

#[test]
fn notices_page_lists_codes_products_and_institutions() {
    let html = render_notices(
        &sample::notices(),
        &sample::ctx(Lang::Zh, "/dashboard/notices"),
    );
    for text in [
        "重复追溯码公告",
        "81234560003915270917",
        "复方阿胶浆 20ml×12支",
        "张家口市桥西区惠民诊所",
        "2025-11-02",
        "class=\"num bad-text\">8<",
    ] {
        assert!(html.contains(text), "notices page lacks {text}");
    }
}

/// Every string field a page shows, set to markup: none of it may come out as markup.
#[test]
fn data_is_escaped_everywhere() {
    let h = HOSTILE.to_owned();
    let mut ctx = sample::ctx(Lang::Zh, "/dashboard/?q=<script>");
    ctx.deployment = h.clone();
    ctx.models.push(ModelLabel {
        name: h.clone(),
        title_zh: h.clone(),
        title_en: h.clone(),
    });

    let mut overview = sample::overview();
    overview.findings_per_model[0].model = h.clone();
    overview.regions[0].province = h.clone();
    overview.regions[0].city = h.clone();
    overview.top_institutions[0].name = h.clone();
    overview.top_institutions[0].code = h.clone();
    overview.top_institutions[0].models = vec![h.clone()];
    if let Some((ticker, script)) = overview.live.as_mut() {
        let i = &mut ticker.items[0];
        i.id = h.clone();
        i.institution = h.clone();
        i.institution_name = Some(h.clone());
        i.code = h.clone();
        i.settlement = Some(h.clone());
        i.reason = ReasonName::parse(&h);
        ticker.stream = h.clone();
        *script = "/dashboard/live.js".into();
    }

    let mut clues = sample::clue_list();
    clues.batches[0].title = h.clone();
    clues.batches[0].id = h.clone();
    clues.clues[0].id = h.clone();
    clues.clues[0].institution_name = h.clone();
    clues.clues[0].note = h.clone();
    clues.clues[0].batch = h.clone();
    clues.filter.q = Some(h.clone());
    clues.filter.model = Some(h.clone());
    clues.provinces.push(h.clone());

    let mut detail = sample::clue_detail();
    detail.audit[0].actor = h.clone();
    detail.audit[0].note = h.clone();
    detail.findings[0].detail = h.clone();
    detail.findings[0].code = h.clone();

    let mut inst = sample::institution();
    inst.institution.name = h.clone();
    inst.institution.city = h.clone();

    let mut pack = sample::pack();
    pack.code = h.clone();
    pack.events[0].actor_name = h.clone();
    pack.events[4].details.settlement = Some(h.clone());
    if let Some(p) = pack.product.as_mut() {
        p.generic_name = h.clone();
    }

    let mut models = sample::models();
    models.models[0].sql = h.clone();
    models.models[0].description_zh = h.clone();
    models.models[0].name = h.clone();

    let mut sql = sample::sql();
    sql.query = h.clone();
    sql.columns[0] = h.clone();
    sql.rows[0][0] = h.clone();
    sql.tables[0].name = h.clone();

    let mut notices = sample::notices();
    notices.notices[0].product = h.clone();
    notices.notices[0].institutions[0].name = h.clone();

    let pages = [
        render_overview(&overview, &ctx),
        render_clue_list(&clues, &ctx),
        render_clue_detail(&detail, &ctx),
        render_institution(&inst, &ctx),
        render_pack(&pack, &ctx),
        render_models(&models, &ctx),
        render_sql(&sql, &ctx),
        render_notices(&notices, &ctx),
    ];
    for html in &pages {
        let html = &html.replace(
            "<script src=\"/dashboard/live.js\" defer=\"\"></script>",
            "",
        );
        assert!(!html.contains("<script"), "unescaped markup in {html}");
        assert!(
            html.contains("&lt;script&gt;"),
            "the hostile text is shown, escaped"
        );
        check_balanced(html);
    }
}

#[test]
fn empty_data_renders_with_no_data_messages() {
    let ctx = sample::ctx(Lang::Zh, "/dashboard/");
    let overview = Overview {
        period: Period {
            from: date(2025, 6, 1),
            to: date(2025, 6, 1),
        },
        as_of: None,
        totals: Totals::default(),
        per_day: vec![],
        findings_per_model: vec![],
        regions: vec![],
        top_institutions: vec![],
        live: Some((
            drugtrace_dashboard::Ticker::default(),
            "/dashboard/live.js".into(),
        )),
    };
    let html = render_overview(&overview, &ctx);
    assert!(html.contains("暂无数据"));
    assert!(html.contains("今日尚无被拦截的结算。"));
    assert!(html.contains("没有符合条件的记录。"));
    check_balanced(&html);

    let clues = ClueListPage {
        batches: vec![],
        clues: vec![],
        total: 0,
        filter: ClueFilter::default(),
        provinces: vec![],
        urls: ClueUrls::under("/dashboard"),
    };
    let html = render_clue_list(&clues, &ctx);
    assert!(html.contains("没有符合条件的记录。"));
    check_balanced(&html);

    let pack = PackPage {
        code: "81234560003915279999".into(),
        product: None,
        summary: PackSummary {
            status: PackStatus::NotIssued,
            events: 0,
            sales: 0,
            blocked: 0,
            holder: None,
            batch: None,
            expiry: None,
            last_at: None,
        },
        findings: vec![],
        events: vec![],
    };
    let html = render_pack(&pack, &ctx);
    assert!(html.contains("追溯码未匹配到产品。"));
    check_balanced(&html);

    for html in [
        render_models(&ModelsPage { models: vec![] }, &ctx),
        render_sql(
            &SqlPage {
                action: "/dashboard/sql".into(),
                ..SqlPage::default()
            },
            &ctx,
        ),
        render_notices(
            &NoticesPage {
                notices: vec![],
                recalls: vec![],
                recall_form: None,
                publish: None,
            },
            &ctx,
        ),
    ] {
        check_balanced(&html);
        assert!(!html.contains("NaN"));
    }
}

/// Issue 16: three years of days made the overview 744 KB (every point of the two per-day
/// charts carries a tooltip, drawn twice). A long period is drawn per week or per month,
/// so the page stays small whatever the period, and its totals are the days' totals.
#[test]
fn the_overview_stays_small_whatever_the_period() {
    let ctx = sample::ctx(Lang::En, "/dashboard/?lang=en");
    let days = |n: i64| -> Vec<DayPoint> {
        (0..n)
            .map(|i| DayPoint {
                date: date(2023, 1, 2)
                    .checked_add(drugtrace_dashboard::jiff::Span::new().days(i))
                    .unwrap(),
                scans: 1_000 + i as u64,
                sales: 300,
                interceptions: 2,
                intercepted_fen: drugtrace_money::Fen::new(1_850),
            })
            .collect()
    };
    let mut sizes = Vec::new();
    for (n, title) in [
        (90, "Scans and sales per day"),
        (700, "Scans and sales per week"),
        (1_200, "Scans and sales per month"),
        (3_650, "Scans and sales per month"),
    ] {
        let mut overview = sample::overview();
        overview.per_day = days(n);
        let html = render_overview(&overview, &ctx);
        assert!(html.contains(title), "{n} days: {title}");
        check_balanced(&html);
        sizes.push((n, html.len()));
        assert!(
            html.len() < 160_000,
            "{n} days: the overview is {} bytes",
            html.len()
        );
    }
    // A week's point sums its days: 7 × 2 interceptions.
    let mut overview = sample::overview();
    overview.per_day = days(700);
    let html = render_overview(&overview, &ctx);
    assert!(
        html.contains("Blocked: 14"),
        "a week's tooltip sums its days"
    );
    let longest = sizes.iter().map(|s| s.1).max().unwrap();
    let shortest = sizes.iter().map(|s| s.1).min().unwrap();
    assert!(longest < shortest * 2, "{sizes:?}");
}

/// Issue 16, one renderer: the sign-in form, the error page, the sign-out button, a refused
/// form's alert and the notice form all come from this crate, in both languages.
#[test]
fn sign_in_errors_alerts_and_the_notice_form_are_rendered_here() {
    for lang in Lang::ALL {
        let login = render_login(
            &LoginPage {
                base: "/dashboard",
                next: "/dashboard/clues?x=<b>",
                error: Some(T::LoginUnknownKey),
            },
            lang,
        );
        check_balanced(&login);
        assert!(login.contains(T::LoginUnknownKey.text(lang)));
        assert!(login.contains("name=\"next\" value=\"/dashboard/clues?x=&lt;b&gt;\""));
        assert!(login.contains("action=\"/dashboard/login\""));
        let error = render_error(lang, "/dashboard", "<no such clue>");
        check_balanced(&error);
        assert!(error.contains("&lt;no such clue&gt;"));
        assert!(error.contains(T::BackToOverview.text(lang)));
        if lang == Lang::En {
            assert!(!has_cjk(&login.replace("中文", "")), "{login}");
        }

        let mut ctx = sample::ctx(lang, "/dashboard/notices");
        let notices = render_notices(&sample::notices(), &ctx);
        assert!(
            !notices.contains("action=\"/dashboard/logout\""),
            "not signed in"
        );
        assert!(notices.contains("id=\"publish\""));
        assert!(notices.contains(T::PublishedNotices.text(lang)));
        ctx.signed_in = true;
        ctx.alert = Some("<refused>".into());
        let notices = render_notices(&sample::notices(), &ctx);
        assert!(notices.contains("action=\"/dashboard/logout\""));
        assert!(notices.contains("<div class=\"notice\" role=\"alert\">&lt;refused&gt;</div>"));
        check_balanced(&notices);
    }
}
