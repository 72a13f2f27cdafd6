//! Made-up data that exercises every element of every page: for previews
//! (`cargo run -p drugtrace-dashboard --example preview`), tests and demos. The places,
//! institutions and figures are invented, shaped after the cases in the project's sources
//! (Yulin's blocked repeat payments, the NHSA notice on 复方阿胶浆, the Zhangjiakou clinic).

use drugtrace_ledger::{InstitutionId, Sale, SettlementId};
use drugtrace_money::Fen;
use jiff::Timestamp;
use jiff::civil::{Date, date};

use crate::{
    AuditEntry, ClueBatch, ClueDetailPage, ClueFilter, ClueListPage, ClueRef, ClueRow, ClueState,
    ClueUrls, Ctx, DayPoint, DossierPack, DossierPage, EventDetails, EventKind, EvidenceEvent,
    FindingRow, InstitutionInfo, InstitutionKind, InstitutionPage, InstitutionRank,
    InstitutionStats, Interception, Lang, ModelCount, ModelInfo, ModelLabel, ModelsPage, Notice,
    NoticeInstitution, NoticesPage, Outcome, Overview, PackPage, PackStatus, PackSummary, Period,
    ProductInfo, PublishPanel, PublishedNotice, Reason, ReasonName, RecallEntry, RegionRow,
    Severity, SqlPage, SqlTable, StockChange, Ticker, Totals,
};

/// An instant given as Beijing time, `2025-05-12 09:31:07`.
fn ts(beijing: &str) -> Timestamp {
    format!("{}+08:00", beijing.replace(' ', "T"))
        .parse()
        .expect("sample times are valid")
}

/// A small deterministic generator, so the sample is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The sample deployment's context for a page at `current`.
pub fn ctx(lang: Lang, current: &str) -> Ctx {
    Ctx::new(lang, "/dashboard", current, "福建省医疗保障局").with_models(model_labels())
}

/// The sample's models, in registry order.
pub fn model_labels() -> Vec<ModelLabel> {
    models().models.iter().map(ModelInfo::label).collect()
}

const PERIOD: Period = Period {
    from: date(2025, 5, 1),
    to: date(2025, 5, 31),
};

fn days(seed: u64, scale: f64, blocked_share: f64) -> Vec<DayPoint> {
    let mut rng = Lcg(seed);
    let mut out = Vec::new();
    let mut d: Date = PERIOD.from;
    let mut i = 0;
    while d <= PERIOD.to {
        // Weekends are quieter; the "no scan, no settlement" pilot lifts scans over the month.
        let weekend = matches!(
            d.weekday(),
            jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
        );
        let trend = 1.0 + i as f64 * 0.006;
        let base = if weekend { 0.72 } else { 1.0 } * trend;
        let scans = (212_000.0 * base * (0.93 + 0.14 * rng.next()) * scale).round();
        let sales = (scans * (0.30 + 0.03 * rng.next())).round();
        let interceptions = (sales * blocked_share * (0.75 + 0.5 * rng.next())).round();
        out.push(DayPoint {
            date: d,
            scans: scans as u64,
            sales: sales as u64,
            interceptions: interceptions as u64,
            intercepted_fen: Fen::new((interceptions * (8_200.0 + 2_400.0 * rng.next())) as i64),
        });
        d = d.tomorrow().expect("May has a tomorrow");
        i += 1;
    }
    out
}

/// The overview of May 2025 in one province.
pub fn overview() -> Overview {
    let per_day = days(7, 1.0, 0.0075);
    let sum = |f: fn(&DayPoint) -> u64| per_day.iter().map(f).sum::<u64>();
    let findings_per_model = vec![
        ModelCount {
            model: "repeat_settlement".into(),
            findings: 1_386,
            amount_fen: Fen::new(14_210_050),
        },
        ModelCount {
            model: "secondary_sale".into(),
            findings: 942,
            amount_fen: Fen::new(9_876_300),
        },
        ModelCount {
            model: "cross_region_resale".into(),
            findings: 417,
            amount_fen: Fen::new(6_530_480),
        },
        ModelCount {
            model: "substitution".into(),
            findings: 268,
            amount_fen: Fen::new(3_902_115),
        },
        ModelCount {
            model: "sale_without_intake".into(),
            findings: 193,
            amount_fen: Fen::new(1_240_900),
        },
        ModelCount {
            model: "split_sale_excess".into(),
            findings: 74,
            amount_fen: Fen::new(88_640),
        },
    ];
    let findings = findings_per_model.iter().map(|m| m.findings).sum();
    Overview {
        period: PERIOD,
        as_of: Some(ts("2025-06-01 06:00:00")),
        totals: Totals {
            events: sum(|d| d.scans),
            sales: sum(|d| d.sales),
            packs: Some(18_204_377),
            interceptions: sum(|d| d.interceptions),
            intercepted_amount_fen: per_day.iter().map(|d| d.intercepted_fen).sum(),
            findings,
            institutions_with_findings: 312,
            open_clues: 58,
            overdue_clues: 7,
        },
        per_day,
        findings_per_model,
        regions: vec![
            region(
                "福建省",
                "福州市",
                6_212,
                1_902_331,
                1_024,
                10_980_240,
                Some(0.962),
            ),
            region(
                "福建省",
                "厦门市",
                3_905,
                1_288_410,
                611,
                7_012_770,
                Some(0.974),
            ),
            region(
                "福建省",
                "泉州市",
                5_130,
                1_455_902,
                733,
                8_140_090,
                Some(0.918),
            ),
            region(
                "福建省",
                "漳州市",
                2_876,
                702_118,
                402,
                4_331_480,
                Some(0.887),
            ),
            region(
                "福建省",
                "莆田市",
                1_944,
                512_006,
                317,
                3_120_005,
                Some(0.951),
            ),
            region("福建省", "南平市", 1_376, 318_774, 195, 1_463_900, None),
        ],
        top_institutions: vec![
            rank(
                "H35010200417",
                "福州市鼓楼区康宁大药房",
                InstitutionKind::Pharmacy,
                "福建省",
                "福州市",
                86,
                1_032_560,
                &["repeat_settlement", "secondary_sale"],
            ),
            rank(
                "H35020300122",
                "厦门市思明区百姓平价药店",
                InstitutionKind::Pharmacy,
                "福建省",
                "厦门市",
                61,
                744_310,
                &["repeat_settlement", "cross_region_resale"],
            ),
            rank(
                "H35050300981",
                "泉州市丰泽区仁和堂药店",
                InstitutionKind::Pharmacy,
                "福建省",
                "泉州市",
                44,
                518_775,
                &["substitution"],
            ),
            rank(
                "H35060200035",
                "漳州市芗城区惠民社区卫生服务中心",
                InstitutionKind::Hospital,
                "福建省",
                "漳州市",
                39,
                402_140,
                &["sale_without_intake", "secondary_sale"],
            ),
            rank(
                "H35030400710",
                "莆田市城厢区济生大药房",
                InstitutionKind::Pharmacy,
                "福建省",
                "莆田市",
                27,
                236_905,
                &["repeat_settlement"],
            ),
        ],
        live: Some((ticker(), "/dashboard/live.js".into())),
    }
}

/// The overview's live ticker: two sales blocked this morning, one after the last look.
pub fn ticker() -> Ticker {
    let blocked =
        |id: &str, at: &str, institution: &str, name: &str, code: &str, fen: i64| Interception {
            id: id.into(),
            at: ts(at),
            institution: institution.into(),
            institution_name: Some(name.into()),
            code: code.into(),
            reason: ReasonName::from(Reason::AlreadySold),
            settlement: Some(format!("S{}", &code[12..])),
            amount_fen: Fen::new(fen),
        };
    Ticker {
        items: vec![
            blocked(
                "2025-05-12/41/0",
                "2025-05-12 09:31:07",
                "H35010200417",
                "福州市鼓楼区康宁大药房",
                "81000010000000123456",
                12_800,
            ),
            blocked(
                "2025-05-12/40/0",
                "2025-05-12 09:12:40",
                "H35020300122",
                "厦门市思明区百姓平价药店",
                "81000010000000654321",
                4_650,
            ),
        ],
        new: 1,
        today: 42,
        stream: "/dashboard/live/interceptions".into(),
    }
}

fn region(
    province: &str,
    city: &str,
    institutions: u64,
    scans: u64,
    findings: u64,
    amount_fen: i64,
    upload_rate: Option<f64>,
) -> RegionRow {
    RegionRow {
        province: province.into(),
        city: city.into(),
        institutions,
        scans,
        findings,
        amount_fen: Fen::new(amount_fen),
        upload_rate,
    }
}

#[allow(clippy::too_many_arguments)]
fn rank(
    code: &str,
    name: &str,
    kind: InstitutionKind,
    province: &str,
    city: &str,
    findings: u64,
    amount_fen: i64,
    models: &[&str],
) -> InstitutionRank {
    InstitutionRank {
        code: code.into(),
        name: name.into(),
        kind: Some(kind),
        province: province.into(),
        city: city.into(),
        findings,
        amount_fen: Fen::new(amount_fen),
        models: models.iter().map(|m| (*m).to_owned()).collect(),
    }
}

#[allow(clippy::too_many_arguments)]
fn clue(
    id: &str,
    batch: &str,
    (code, name, city): (&str, &str, &str),
    models: &[&str],
    (findings, amount_fen): (u64, i64),
    deadline: Date,
    state: ClueState,
    overdue: bool,
    note: &str,
) -> ClueRow {
    let transitions = match state {
        ClueState::Issued => vec![ClueState::UnderVerification],
        ClueState::UnderVerification => vec![ClueState::Confirmed, ClueState::Dismissed],
        ClueState::Confirmed | ClueState::Dismissed => vec![],
    };
    ClueRow {
        id: id.into(),
        batch: batch.into(),
        institution_code: code.into(),
        institution_name: name.into(),
        province: "福建省".into(),
        city: city.into(),
        assigned_to: format!("福建省/{city}"),
        models: models.iter().map(|m| (*m).to_owned()).collect(),
        findings,
        amount_fen: Fen::new(amount_fen),
        deadline,
        state,
        overdue,
        note: note.into(),
        recovered_fen: (state == ClueState::Confirmed).then_some(Fen::new(184_950)),
        transitions,
    }
}

const BATCH_3: &str = "2025年第3批 重复结算线索";
const BATCH_2: &str = "2025年第2批 跨区倒卖线索";

/// The clue list, filtered to one batch.
pub fn clue_list() -> ClueListPage {
    let d3 = date(2025, 6, 20);
    let d2 = date(2025, 5, 25);
    ClueListPage {
        batches: vec![
            ClueBatch {
                id: "B3".into(),
                title: BATCH_3.into(),
                issued_at: ts("2025-06-02 10:00:00"),
                deadline: d3,
                clues: 40,
                open: 36,
                overdue: 0,
                recovered_fen: Fen::new(0),
            },
            ClueBatch {
                id: "B2".into(),
                title: BATCH_2.into(),
                issued_at: ts("2025-05-06 09:30:00"),
                deadline: d2,
                clues: 25,
                open: 9,
                overdue: 7,
                recovered_fen: Fen::new(369_900),
            },
            ClueBatch {
                id: "B1".into(),
                title: "2025年第1批 串换药品线索".into(),
                issued_at: ts("2025-04-01 09:00:00"),
                deadline: date(2025, 4, 30),
                clues: 18,
                open: 0,
                overdue: 0,
                recovered_fen: Fen::new(1_203_400),
            },
        ],
        clues: vec![
            clue(
                "C301",
                BATCH_3,
                ("H35010200417", "福州市鼓楼区康宁大药房", "福州市"),
                &["repeat_settlement", "secondary_sale"],
                (86, 1_032_560),
                d3,
                ClueState::UnderVerification,
                false,
                "已调取进销存台账，核对中",
            ),
            clue(
                "C302",
                BATCH_3,
                ("H35020300122", "厦门市思明区百姓平价药店", "厦门市"),
                &["repeat_settlement", "cross_region_resale"],
                (61, 744_310),
                d3,
                ClueState::Issued,
                false,
                "",
            ),
            clue(
                "C303",
                BATCH_3,
                ("H35050300981", "泉州市丰泽区仁和堂药店", "泉州市"),
                &["substitution"],
                (44, 518_775),
                d3,
                ClueState::Issued,
                false,
                "",
            ),
            clue(
                "C217",
                BATCH_2,
                ("H35060200035", "漳州市芗城区惠民社区卫生服务中心", "漳州市"),
                &["sale_without_intake", "secondary_sale"],
                (39, 402_140),
                d2,
                ClueState::UnderVerification,
                true,
                "机构未能提供随货同行单",
            ),
            clue(
                "C214",
                BATCH_2,
                ("H35030400710", "莆田市城厢区济生大药房", "莆田市"),
                &["repeat_settlement"],
                (27, 236_905),
                d2,
                ClueState::Confirmed,
                false,
                "确认回流药销售 27 盒，已追回基金",
            ),
            clue(
                "C209",
                BATCH_2,
                ("H35070200318", "南平市延平区安康药店", "南平市"),
                &["cross_region_resale"],
                (12, 98_400),
                d2,
                ClueState::Dismissed,
                false,
                "系扫码枪重复上传，已更正",
            ),
        ],
        total: 65,
        filter: ClueFilter {
            batch: None,
            state: None,
            province: Some("福建省".into()),
            model: None,
            overdue_only: false,
            q: None,
        },
        provinces: vec!["福建省".into(), "陕西省".into(), "河北省".into()],
        urls: ClueUrls::under("/dashboard"),
    }
}

fn findings() -> Vec<FindingRow> {
    vec![
        FindingRow {
            model: "repeat_settlement".into(),
            severity: Severity::High,
            code: "81234560003915274026".into(),
            at: ts("2025-05-28 16:42:10"),
            amount_fen: Fen::new(6_850),
            detail: "第 3 次医保结算，前次：厦门市思明区百姓平价药店 2025-05-09".into(),
        },
        FindingRow {
            model: "secondary_sale".into(),
            severity: Severity::High,
            code: "81234560003915274388".into(),
            at: ts("2025-05-26 10:05:33"),
            amount_fen: Fen::new(6_850),
            detail: "同一参保人 12 天前在本店购买同码药品后再次销售".into(),
        },
        FindingRow {
            model: "repeat_settlement".into(),
            severity: Severity::High,
            code: "83900580011028837710".into(),
            at: ts("2025-05-21 19:18:02"),
            amount_fen: Fen::new(12_400),
            detail: "第 2 次医保结算，前次：福州市台江区万家药店 2025-04-30".into(),
        },
        FindingRow {
            model: "secondary_sale".into(),
            severity: Severity::Medium,
            code: "86901230027716640015".into(),
            at: ts("2025-05-14 09:47:55"),
            amount_fen: Fen::new(3_260),
            detail: "销售前 2 小时由其他机构退货".into(),
        },
    ]
}

/// One clue with its history.
pub fn clue_detail() -> ClueDetailPage {
    let list = clue_list();
    let clue = list.clues[0].clone();
    ClueDetailPage {
        transition_url: list.urls.transition_for(&clue.id),
        audit: vec![
            AuditEntry {
                at: ts("2025-06-02 10:00:00"),
                actor: "国家医保局 线索下发".into(),
                from: None,
                to: ClueState::Issued,
                note: BATCH_3.into(),
                recovered_fen: None,
            },
            AuditEntry {
                at: ts("2025-06-03 14:26:41"),
                actor: "福州市医保局 林某".into(),
                from: Some(ClueState::Issued),
                to: ClueState::UnderVerification,
                note: "已调取进销存台账，核对中".into(),
                recovered_fen: None,
            },
        ],
        findings: findings(),
        clue,
    }
}

/// A pharmacy's drill-down.
pub fn institution() -> InstitutionPage {
    let per_day = days(11, 0.0021, 0.02);
    InstitutionPage {
        institution: InstitutionInfo {
            code: "H35010200417".into(),
            name: "福州市鼓楼区康宁大药房".into(),
            kind: Some(InstitutionKind::Pharmacy),
            province: "福建省".into(),
            city: "福州市".into(),
        },
        period: PERIOD,
        stats: InstitutionStats {
            scans: per_day.iter().map(|d| d.scans).sum(),
            sales: per_day.iter().map(|d| d.sales).sum(),
            interceptions: per_day.iter().map(|d| d.interceptions).sum(),
            intercepted_fen: per_day.iter().map(|d| d.intercepted_fen).sum(),
            findings: 86,
            amount_fen: Fen::new(1_032_560),
            codes_uploaded: Some(12_874),
            upload_rate: Some(0.884),
        },
        findings_per_model: vec![
            ModelCount {
                model: "repeat_settlement".into(),
                findings: 58,
                amount_fen: Fen::new(702_300),
            },
            ModelCount {
                model: "secondary_sale".into(),
                findings: 28,
                amount_fen: Fen::new(330_260),
            },
        ],
        findings: findings(),
        per_day,
        clues: vec![ClueRef {
            id: "C301".into(),
            batch: BATCH_3.into(),
            state: ClueState::UnderVerification,
            deadline: date(2025, 6, 20),
            overdue: false,
        }],
    }
}

/// A pack sold three times: a fake or resold 复方阿胶浆.
pub fn pack() -> PackPage {
    let party = |code: &str| Some(InstitutionId::parse(code).expect("sample codes are valid"));
    let sold = |settlement: &str, amount_fen: i64| {
        EventKind::Sale(Sale {
            settlement: Some(SettlementId::parse(settlement).expect("sample ids are valid")),
            person: None,
            units: Some(1),
            pack_units: Some(1),
            product: None,
            amount_fen,
            fund_paid: true,
            visit: None,
        })
    };
    let sale = |settlement: &str, person: &str, amount: i64| EventDetails {
        settlement: Some(settlement.into()),
        person_hash_prefix: Some(person.into()),
        units: Some(1),
        pack_units: Some(1),
        amount_fen: Some(Fen::new(amount)),
        fund_paid: Some(true),
        ..EventDetails::default()
    };
    let event =
        |seq, at: &str, rec: &str, code: &str, name: &str, kind, outcome, details, highlighted| {
            EvidenceEvent {
                seq,
                at: ts(at),
                recorded_at: ts(rec),
                actor_code: code.into(),
                actor_name: name.into(),
                kind,
                outcome,
                details,
                highlighted,
            }
        };
    PackPage {
        code: "81234560003915274026".into(),
        product: Some(ProductInfo {
            generic_name: "复方阿胶浆".into(),
            trade_name: "东阿阿胶".into(),
            specification: "20ml×12支".into(),
            manufacturer: "东阿阿胶股份有限公司".into(),
            insurance_code: Some("ZA09BAF0189010103651".into()),
            approval_number: Some("国药准字Z37020135".into()),
        }),
        summary: PackSummary {
            status: PackStatus::Sold,
            events: 7,
            sales: 2,
            blocked: 1,
            holder: Some("福州市鼓楼区康宁大药房 H35010200417".into()),
            batch: Some("2411037".into()),
            expiry: Some(date(2027, 10, 31)),
            last_at: Some(ts("2025-05-28 16:42:10")),
        },
        findings: findings().into_iter().take(1).collect(),
        events: vec![
            event(
                0,
                "2024-11-20 08:12:00",
                "2024-11-20 08:12:04",
                "M37150000012",
                "东阿阿胶股份有限公司",
                EventKind::Commission,
                Outcome::Accepted,
                EventDetails::default(),
                false,
            ),
            event(
                1,
                "2025-03-02 15:40:12",
                "2025-03-02 15:41:00",
                "M37150000012",
                "东阿阿胶股份有限公司",
                EventKind::Ship {
                    to: party("D35000000021"),
                },
                Outcome::Accepted,
                EventDetails {
                    counterparty: Some("国药控股福建有限公司 D35000000021".into()),
                    ..EventDetails::default()
                },
                false,
            ),
            event(
                2,
                "2025-03-04 09:03:51",
                "2025-03-04 09:04:30",
                "D35000000021",
                "国药控股福建有限公司",
                EventKind::Receive {
                    from: party("M37150000012"),
                },
                Outcome::Accepted,
                EventDetails::default(),
                false,
            ),
            event(
                3,
                "2025-04-18 10:22:09",
                "2025-04-18 10:22:15",
                "H35020300122",
                "厦门市思明区百姓平价药店",
                EventKind::StockChange(StockChange::PurchaseIn),
                Outcome::Accepted,
                EventDetails {
                    counterparty: Some("国药控股福建有限公司 D35000000021".into()),
                    ..EventDetails::default()
                },
                false,
            ),
            event(
                4,
                "2025-05-09 11:35:47",
                "2025-05-09 11:35:48",
                "H35020300122",
                "厦门市思明区百姓平价药店",
                sold("350200250509113547001", 6_850),
                Outcome::Accepted,
                sale("350200250509113547001", "9f3ac2", 6_850),
                true,
            ),
            event(
                5,
                "2025-05-22 17:08:30",
                "2025-05-22 17:08:30",
                "H35010200417",
                "福州市鼓楼区康宁大药房",
                sold("350100250522170830114", 6_850),
                Outcome::Rejected(Reason::AlreadySold),
                sale("350100250522170830114", "51d0e8", 6_850),
                true,
            ),
            event(
                6,
                "2025-05-28 16:42:10",
                "2025-05-30 09:12:44",
                "H35010200417",
                "福州市鼓楼区康宁大药房",
                sold("350100250528164210052", 6_850),
                Outcome::Flagged(Reason::AlreadySold),
                sale("350100250528164210052", "c7b41e", 6_850),
                true,
            ),
        ],
    }
}

/// The dossier of clue C301, open past its deadline: the pack sold three times, and a pack
/// the pharmacy took in and never sold.
pub fn dossier() -> DossierPage {
    let detail = clue_detail();
    let mut clue = detail.clue;
    clue.overdue = true;
    let sold_thrice = pack();
    let in_stock = {
        let mut events: Vec<EvidenceEvent> = sold_thrice.events[..4].to_vec();
        for e in &mut events {
            e.highlighted = false;
        }
        events[3].actor_code = "H35010200417".into();
        events[3].actor_name = "福州市鼓楼区康宁大药房".into();
        events[3].outcome = Outcome::Flagged(Reason::Expired);
        events
    };
    DossierPage {
        clue,
        today: date(2025, 6, 25),
        generated_at: ts("2025-06-25 08:30:00"),
        institution: institution().institution,
        findings: detail.findings,
        findings_total: 86,
        packs: vec![
            DossierPack {
                code: sold_thrice.code,
                product: sold_thrice.product.clone(),
                events_total: sold_thrice.events.len() as u64,
                events: sold_thrice.events,
            },
            DossierPack {
                code: "81234560003915274388".into(),
                product: sold_thrice.product,
                events_total: in_stock.len() as u64,
                events: in_stock,
            },
        ],
        packs_total: 2,
        audit: detail.audit,
    }
}

/// The registered models.
pub fn models() -> ModelsPage {
    let m = |name: &str,
             title_zh: &str,
             title_en: &str,
             severity,
             findings,
             amount_fen,
             precision,
             recall,
             description_zh: &str,
             description_en: &str,
             sql: &str| ModelInfo {
        name: name.into(),
        version: "1".into(),
        title_zh: title_zh.into(),
        title_en: title_en.into(),
        description_zh: description_zh.into(),
        description_en: description_en.into(),
        severity,
        sql: sql.into(),
        findings,
        amount_fen: Fen::new(amount_fen),
        precision,
        recall,
        last_run: Some(ts("2025-06-01 02:00:00")),
    };
    ModelsPage {
        models: vec![
            m(
                "repeat_settlement",
                "重复结算",
                "Repeat settlement",
                Severity::High,
                1_386,
                14_210_050,
                Some(0.97),
                Some(0.99),
                "同一追溯码被两次及以上医保结算。三次及以上且每次均由基金支付的，列入公告。",
                "One trace code settled by the insurance fund twice or more. Three times or more, each paid by the fund, goes into the public notice.",
                "SELECT code, count(*) AS settlements, sum(amount_fen) AS amount_fen\nFROM sales\nWHERE fund_paid\nGROUP BY code\nHAVING count(*) >= 2\nORDER BY settlements DESC;",
            ),
            m(
                "secondary_sale",
                "药品二次销售",
                "Secondary sale",
                Severity::High,
                942,
                9_876_300,
                Some(0.88),
                None,
                "售出的药品回流后再次销售（回流药）：同一追溯码在不同参保人名下先后结算。",
                "A pack sold, bought back and sold again: one code settled for different insured persons in turn.",
                "SELECT s2.code, s1.institution AS first_seller, s2.institution AS second_seller\nFROM sales s1 JOIN sales s2 ON s1.code = s2.code AND s2.at > s1.at\nWHERE s1.person <> s2.person;",
            ),
            m(
                "cross_region_resale",
                "跨地区倒卖",
                "Cross-region resale",
                Severity::High,
                417,
                6_530_480,
                None,
                None,
                "同一追溯码在不同地市先后销售，间隔短于合理流通时间。",
                "One code sold in different cities within less time than the goods could plausibly travel.",
                "SELECT code, min(at) AS first_sale, max(at) AS last_sale, count(DISTINCT city) AS cities\nFROM sales JOIN institutions USING (institution)\nGROUP BY code HAVING count(DISTINCT city) > 1;",
            ),
            m(
                "substitution",
                "药品串换",
                "Substitution",
                Severity::High,
                268,
                3_902_115,
                Some(0.81),
                Some(0.74),
                "结算的医保药品编码与追溯码对应的产品不一致。",
                "The insurance code billed is not the product the trace code belongs to.",
                "SELECT s.code, s.billed_as, c.insurance_code AS actual\nFROM sales s JOIN catalog c ON c.prefix = substr(s.code, 1, 7)\nWHERE s.billed_as <> c.insurance_code;",
            ),
            m(
                "sale_without_intake",
                "无入库销售",
                "Sale without intake",
                Severity::Medium,
                193,
                1_240_900,
                None,
                None,
                "机构销售的追溯码没有采购入库记录，无法提供随货同行单。",
                "An institution sold a code it never took in: no delivery note.",
                "SELECT s.code, s.institution FROM sales s\nLEFT JOIN intakes i ON i.code = s.code AND i.institution = s.institution\nWHERE i.code IS NULL;",
            ),
            m(
                "split_sale_excess",
                "拆零超量",
                "Split-sale excess",
                Severity::Low,
                74,
                88_640,
                None,
                None,
                "拆零销售累计数量超过整盒包装数量。",
                "Split sales of one pack add up to more units than the pack holds.",
                "SELECT code, sum(units) AS sold, max(pack_units) AS pack_units\nFROM sales GROUP BY code HAVING sum(units) > max(pack_units);",
            ),
        ],
    }
}

/// The SQL console after a query.
pub fn sql() -> SqlPage {
    SqlPage {
        action: "/dashboard/sql".into(),
        query: "SELECT code, count(*) AS settlements, sum(amount_fen) / 100.0 AS yuan\nFROM sales WHERE fund_paid\nGROUP BY code HAVING count(*) >= 3\nORDER BY settlements DESC\nLIMIT 5;".into(),
        columns: vec!["code".into(), "settlements".into(), "yuan".into()],
        rows: vec![
            vec!["81234560003915274026".into(), "3".into(), "205.50".into()],
            vec!["81234560003915270917".into(), "3".into(), "205.50".into()],
            vec!["83900580011028837710".into(), "3".into(), "372.00".into()],
            vec!["86901230027716640015".into(), "3".into(), "97.80".into()],
            vec!["81234560003915275532".into(), "3".into(), "205.50".into()],
        ],
        error: None,
        elapsed_ms: Some(38.4),
        row_limit_hit: false,
        tables: vec![
            SqlTable { name: "sales".into(), columns: vec!["code".into(), "at".into(), "institution".into(), "person".into(), "units".into(), "amount_fen".into(), "fund_paid".into(), "billed_as".into()] },
            SqlTable { name: "events".into(), columns: vec!["code".into(), "seq".into(), "at".into(), "recorded_at".into(), "actor".into(), "kind".into(), "outcome".into(), "reason".into()] },
            SqlTable { name: "institutions".into(), columns: vec!["institution".into(), "name".into(), "kind".into(), "province".into(), "city".into()] },
            SqlTable { name: "findings".into(), columns: vec!["model".into(), "code".into(), "institution".into(), "severity".into(), "amount_fen".into()] },
        ],
    }
}

/// The notice of duplicated codes.
pub fn notices() -> NoticesPage {
    let inst = |name: &str, province: &str, city: &str| NoticeInstitution {
        name: name.into(),
        province: province.into(),
        city: city.into(),
    };
    let published = date(2025, 11, 2);
    NoticesPage {
        notices: vec![
            Notice {
                code: "81234560003915274026".into(),
                product: "复方阿胶浆 20ml×12支".into(),
                manufacturer: "东阿阿胶股份有限公司".into(),
                times_sold: 3,
                institutions: vec![
                    inst("厦门市思明区百姓平价药店", "福建省", "厦门市"),
                    inst("福州市鼓楼区康宁大药房", "福建省", "福州市"),
                ],
                published_at: published,
            },
            Notice {
                code: "81234560003915270917".into(),
                product: "复方阿胶浆 20ml×12支".into(),
                manufacturer: "东阿阿胶股份有限公司".into(),
                times_sold: 4,
                institutions: vec![
                    inst("榆林市榆阳区济仁堂药店", "陕西省", "榆林市"),
                    inst("榆林市神木市康泰大药房", "陕西省", "榆林市"),
                    inst("西安市雁塔区同济堂药店", "陕西省", "西安市"),
                ],
                published_at: published,
            },
            Notice {
                code: "83900580011028837710".into(),
                product: "阿托伐他汀钙片 20mg×7片".into(),
                manufacturer: "辉瑞制药有限公司".into(),
                times_sold: 8,
                institutions: vec![
                    inst("乌兰察布市集宁区益康药房", "内蒙古自治区", "乌兰察布市"),
                    inst("张家口市桥西区惠民诊所", "河北省", "张家口市"),
                ],
                published_at: published,
            },
        ],
        recalls: vec![
            RecallEntry {
                product: "阿莫西林胶囊 0.25g×24粒".into(),
                batch: Some("250301".into()),
                reason: "溶出度不合格".into(),
                by: "regulator".into(),
                at: date(2025, 11, 5),
            },
            RecallEntry {
                product: "药品标识码 8390058".into(),
                batch: None,
                reason: "注册证注销".into(),
                by: "M3301001".into(),
                at: date(2025, 10, 20),
            },
        ],
        recall_form: Some("/dashboard/recalls".into()),
        publish: Some(PublishPanel {
            action: "/dashboard/notices".into(),
            candidates: 12,
            published: vec![PublishedNotice {
                number: 1,
                title: "重复追溯码公告（第一期）".into(),
                date: published,
                codes: 2,
            }],
        }),
    }
}

/// Every page rendered from the sample data in `lang`, as (file stem, document) pairs, each
/// rendered as if requested at its own URL.
pub fn render_all(lang: Lang) -> Vec<(&'static str, String)> {
    let c = |current: &str| ctx(lang, current);
    vec![
        (
            "overview",
            crate::render_overview(&overview(), &c("/dashboard/")),
        ),
        (
            "clues",
            crate::render_clue_list(
                &clue_list(),
                &c("/dashboard/clues?province=%E7%A6%8F%E5%BB%BA%E7%9C%81"),
            ),
        ),
        (
            "clue",
            crate::render_clue_detail(&clue_detail(), &c("/dashboard/clues/C301")),
        ),
        (
            "institution",
            crate::render_institution(&institution(), &c("/dashboard/institutions/H35010200417")),
        ),
        (
            "pack",
            crate::render_pack(&pack(), &c("/dashboard/packs/81234560003915274026")),
        ),
        (
            "dossier",
            crate::render_dossier(&dossier(), &c("/dashboard/clues/C301/dossier")),
        ),
        (
            "models",
            crate::render_models(&models(), &c("/dashboard/models")),
        ),
        ("sql", crate::render_sql(&sql(), &c("/dashboard/sql"))),
        (
            "notices",
            crate::render_notices(&notices(), &c("/dashboard/notices")),
        ),
    ]
}
