//! The pages' two languages and the one table every label comes from.
//!
//! A label is a variant of [`T`]; the `texts!` table below declares each variant together with
//! its Chinese and its English text, so a label without both does not compile, and the
//! domain enums ([`crate::ClueState`], [`crate::Severity`], …) map each of their variants to a
//! label with an exhaustive `match`. Strings that come from data (names, notes) are shown as
//! they are.

use std::fmt;

/// The language of a page: Chinese by default, English on request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Lang {
    /// Simplified Chinese (`lang=zh`).
    #[default]
    Zh,
    /// English (`lang=en`).
    En,
}

impl Lang {
    /// Both languages.
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    /// The language a `lang` query value names: `en` or `zh` (also `zh-CN`, `en-US`, any
    /// case); `None` for anything else.
    pub fn parse(value: &str) -> Option<Lang> {
        let v = value.trim().to_ascii_lowercase();
        if v == "zh" || v.starts_with("zh-") || v.starts_with("zh_") {
            Some(Lang::Zh)
        } else if v == "en" || v.starts_with("en-") || v.starts_with("en_") {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// The language of a request's `lang` query value, Chinese when it is absent or unknown.
    pub fn from_param(value: Option<&str>) -> Lang {
        value.and_then(Lang::parse).unwrap_or_default()
    }

    /// The value of the `lang` query parameter: `zh` or `en`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The value of the document's `lang` attribute: `zh-CN` or `en`.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The colon between a label and its value: full-width in Chinese.
    pub fn colon(self) -> &'static str {
        match self {
            Lang::Zh => "：",
            Lang::En => ": ",
        }
    }

    /// The other language, the one the switch offers.
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

macro_rules! texts {
    ($($key:ident => $zh:literal, $en:literal;)*) => {
        /// A label of the pages. [`T::text`] gives it in a language; [`T::ALL`] lists them all.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum T {
            $(#[doc = concat!($zh, " / ", $en)] $key,)*
        }

        impl T {
            /// Every label, in table order.
            pub const ALL: &'static [T] = &[$(T::$key,)*];

            /// The label in Chinese and in English.
            pub fn pair(self) -> (&'static str, &'static str) {
                match self {
                    $(T::$key => ($zh, $en),)*
                }
            }
        }
    };
}

impl T {
    /// The label in `lang` with each `{name}` replaced by its value from `values`.
    pub fn fill(self, lang: Lang, values: &[(&str, &str)]) -> String {
        let mut s = self.text(lang).to_owned();
        for (name, value) in values {
            s = s.replace(&format!("{{{name}}}"), value);
        }
        s
    }

    /// The label in `lang`.
    pub fn text(self, lang: Lang) -> &'static str {
        let (zh, en) = self.pair();
        match lang {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

texts! {
    // The frame.
    Product => "医保药品追溯码监管平台", "Drug Trace Code Supervision";
    SwitchLanguage => "English", "中文";
    SwitchLanguageTitle => "Switch to English", "切换到中文";
    MainNav => "主导航", "Main navigation";
    SkipToContent => "跳到正文", "Skip to content";
    Breadcrumbs => "当前位置", "You are here";
    NavOverview => "监管总览", "Overview";
    NavClues => "线索核查", "Clues";
    NavModels => "分析模型", "Models";
    NavNotices => "重复码公告", "Notices";
    NavSql => "SQL 查询", "SQL";
    FooterNote => "数据仅供医保基金监管使用，个人身份已做不可逆处理。", "For insurance-fund supervision only. Personal identities are irreversibly hashed.";
    TimesIn => "时间均为", "Times are in";
    NoData => "暂无数据", "No data";
    NoRows => "没有符合条件的记录。", "No matching records.";
    Yes => "是", "Yes";
    No => "否", "No";
    Total => "合计", "Total";

    // Overview.
    OverviewTitle => "监管总览", "Supervision overview";
    Period => "统计期间", "Period";
    PeriodTo => "至", "to";
    DataAsOf => "数据截至", "Data as of";
    KpiEvents => "扫码事件", "Scan events";
    KpiSales => "销售", "Sales";
    KpiPacks => "追溯码数", "Trace codes";
    KpiInterceptions => "拦截重复结算", "Payments blocked";
    KpiInterceptedAmount => "拦截金额（元）", "Amount blocked (yuan)";
    KpiFindings => "疑点", "Findings";
    KpiInstitutionsWithFindings => "涉及机构", "Institutions involved";
    KpiOpenClues => "待办线索", "Open clues";
    KpiOverdueClues => "已逾期", "overdue";
    KpiInterceptionRate => "占销售", "of sales";
    BlockedAmountShort => "拦截金额", "Blocked";
    AmountInvolvedShort => "涉及金额", "Involved";
    ChartScansTitle => "每日扫码与销售", "Scans and sales per day";
    ChartScansTitleWeekly => "每周扫码与销售", "Scans and sales per week";
    ChartScansTitleMonthly => "每月扫码与销售", "Scans and sales per month";
    ChartScansDesc => "统计期间扫码事件数与销售数折线图。", "Line chart of scan events and sales over the period.";
    LoginTitle => "监管端登录", "Regulator sign-in";
    LoginIntro => "请输入医保部门的监管密钥（drugtrace key create --role regulator）。密钥只保存在本浏览器的 Cookie 中，且只发往 /dashboard。", "Enter an insurance bureau's regulator key (drugtrace key create --role regulator). It is kept in a cookie of this browser and sent only to /dashboard.";
    LoginKey => "API 密钥", "API key";
    SignIn => "登录", "Sign in";
    SignOut => "退出", "Sign out";
    LoginUnknownKey => "密钥无效。", "This key is not known.";
    LoginInstitutionKey => "这是医药机构的密钥：监管端只接受医保部门的监管密钥。", "This is an institution's key: the dashboard takes only a regulator's key.";
    BackToOverview => "返回总览", "Back to the overview";
    ErrorTitle => "无法显示", "Cannot show this";
    PublishTitle => "发布新公告", "Publish a notice";
    PublishIntro => "以当前“重复追溯码”报表中的全部追溯码发布一期公告；发布后，群众扫码查询这些追溯码时会看到提示。", "Publish every code of the current duplicated-codes report as a notice; patients who check one of these codes are then warned.";
    PublishCount => "当前报表中的追溯码", "Codes in the report now";
    NoticeTitle => "公告标题", "Title";
    Publish => "发布", "Publish";
    PublishedNotices => "已发布公告", "Published notices";
    NoticeNumber => "期号", "No.";
    NoticeCodes => "追溯码数", "Codes";
    NothingToPublish => "当前报表中没有重复销售的追溯码，无可发布内容。", "The current report has no code sold twice: there is nothing to publish.";
    LiveTitle => "实时拦截", "Blocked just now";
    LiveToday => "今日拦截", "Blocked today";
    LiveNewSince => "笔为您上次查看后新拦截", "since you last looked";
    LiveNew => "新", "new";
    LiveSettlement => "结算", "Settlement";
    LiveEmpty => "今日尚无被拦截的结算。", "No sale has been blocked today.";
    LiveHint => "医保结算一经拦截即显示在此，无需刷新页面；各服务器的拦截均在此汇总。", "A blocked settlement shows here as it happens, with no reload, from every server.";
    ChartInterceptionsTitle => "每日拦截重复结算", "Repeat payments blocked per day";
    ChartInterceptionsTitleWeekly => "每周拦截重复结算", "Repeat payments blocked per week";
    ChartInterceptionsTitleMonthly => "每月拦截重复结算", "Repeat payments blocked per month";
    ChartInterceptionsDesc => "统计期间被拦截的重复结算次数折线图。", "Line chart of blocked repeat payments over the period.";
    ChartModelsTitle => "各模型疑点数", "Findings per model";
    ChartModelsDesc => "各分析模型发现的疑点数量条形图。", "Bar chart of findings per analysis model.";
    ChartModelsHint => "条形后为疑点数与涉及金额；点击模型查看其线索。", "Each bar shows findings and the amount involved; select a model to see its clues.";
    SeriesScans => "扫码", "Scans";
    SeriesSales => "销售", "Sales";
    SeriesInterceptions => "拦截", "Blocked";
    UnitTimes => "次", "count";
    UnitYuan => "元", "yuan";
    RegionsTitle => "地区分布", "By region";
    TopInstitutionsTitle => "疑点集中机构", "Institutions with most findings";
    Rank => "排名", "Rank";

    // Column headers and field names.
    Province => "省份", "Province";
    City => "城市", "City";
    Region => "地区", "Region";
    Institutions => "机构数", "Institutions";
    Institution => "机构", "Institution";
    InstitutionCode => "机构编码", "Institution code";
    InstitutionKindLabel => "机构类型", "Kind";
    Scans => "扫码数", "Scans";
    Sales => "销售数", "Sales";
    Findings => "疑点数", "Findings";
    Amount => "金额（元）", "Amount (yuan)";
    AmountInvolved => "涉及金额（元）", "Involved (yuan)";
    UploadRate => "上传率", "Upload rate";
    CodesUploaded => "上传追溯码", "Codes uploaded";
    Models => "模型", "Models";
    Model => "模型", "Model";
    Severity => "风险等级", "Severity";
    TraceCode => "追溯码", "Trace code";
    At => "发生时间", "Happened";
    RecordedAt => "记录时间", "Recorded";
    Detail => "说明", "Detail";
    Date => "日期", "Date";

    // Clues.
    CluesTitle => "线索核查", "Clue verification";
    CluesIntro => "下发线索由属地医保部门核查，请在截止日期前反馈核查结果。", "Clues are verified by the local insurance bureau; report the result before the deadline.";
    Batches => "线索批次", "Clue batches";
    Batch => "批次", "Batch";
    BatchTitle => "批次名称", "Batch title";
    IssuedAt => "下发时间", "Issued";
    Deadline => "截止日期", "Deadline";
    Clues => "线索数", "Clues";
    OpenClues => "未办结", "Open";
    OverdueClues => "逾期", "Overdue";
    ClueList => "线索列表", "Clues";
    ClueId => "线索编号", "Clue";
    State => "状态", "State";
    Note => "备注", "Note";
    Actions => "操作", "Actions";
    Handle => "处理", "Handle";
    TransitionTo => "变更为", "Move to";
    Recovered => "追回金额（元）", "Recovered (yuan)";
    RecoveredWhenConfirmed => "追回金额（元，确认时填写）", "Recovered, yuan (when confirming)";
    AssignedTo => "承办单位", "Assigned to";
    NoteOnly => "备注", "note";
    Submit => "提交", "Submit";
    NoTransitions => "已办结", "Closed";
    Filter => "筛选", "Filter";
    Reset => "重置", "Reset";
    All => "全部", "All";
    OverdueOnly => "仅看逾期", "Overdue only";
    Search => "关键词", "Search";
    SearchPlaceholder => "机构名称、编码或线索编号", "Institution name, code or clue id";
    Export => "导出", "Export";
    ExportCsv => "导出 CSV", "Export CSV";
    ExportParquet => "导出 Parquet", "Export Parquet";
    ShowingNOfTotal => "显示 {n} 条，共 {total} 条", "Showing {n} of {total}";
    RowsN => "{n} 行", "{n} rows";
    IssueBatch => "下发新批次", "Issue a new batch";
    IssueBatchIntro => "按筛选条件取疑点金额最高的前 N 家机构生成线索并下发。", "Turns the top N institutions by amount involved, within the filter, into clues and issues them.";
    TopN => "前 N 家机构", "Top N institutions";
    MinFindings => "最少疑点数", "Minimum findings";
    IssueSubmit => "生成并下发", "Create and issue";
    StateIssued => "已下发", "Issued";
    StateUnderVerification => "核查中", "Under verification";
    StateConfirmed => "已确认违规", "Confirmed";
    StateDismissed => "已排除", "Dismissed";
    Overdue => "逾期", "Overdue";

    // Clue detail.
    ClueDetailTitle => "线索详情", "Clue";
    AuditTrail => "处理记录", "Audit trail";
    Actor => "操作人", "Actor";
    Time => "时间", "Time";
    FromTo => "状态变更", "Change";
    Created => "创建", "created";
    FindingsOfClue => "线索所含疑点", "Findings behind this clue";
    Workflow => "核查处理", "Verification";

    // A clue's inspection dossier.
    Dossier => "检查材料", "Dossier";
    DossierTitle => "线索检查材料", "Inspection dossier";
    DossierIntro => "供属地医保部门现场检查使用：线索与截止日期、被检查机构、疑点、销售与金额、各追溯码证据链及处理记录。", "For the local insurance bureau's inspection: the clue and its deadline, the institution, the findings, the sales and amounts, each trace code's evidence chain and the audit trail.";
    DossierPrintHint => "用浏览器打印（Ctrl+P）即可得到 A4 版式或 PDF。", "Print from the browser (Ctrl+P) for A4 pages or a PDF.";
    GeneratedAt => "生成时间", "Generated";
    InstitutionInspected => "被检查机构", "Institution inspected";
    DeadlineStatus => "办理时限", "Time limit";
    OverdueAsOf => "截至 {today} 已逾期", "Overdue as of {today}";
    NotOverdueAsOf => "截至 {today} 未逾期", "Not overdue as of {today}";
    SalesAndAmounts => "销售与金额", "Sales and amounts";
    SalesAndAmountsIntro => "下列追溯码的全部销售结算记录，被拦截的也在内。", "Every sale of the trace codes below, blocked attempts included.";
    Seller => "销售机构", "Seller";
    OutcomeLabel => "处理结果", "Outcome";
    TotalSettled => "已结算合计", "Total settled";
    TotalBlocked => "被拦截合计", "Total blocked";
    EvidenceChains => "各追溯码证据链", "Each trace code's evidence chain";
    EvidenceChainsIntro => "每个追溯码的全部事件，按记录顺序；疑点引用的事件已高亮。", "Every event of each trace code in recorded order; events a finding cites are highlighted.";
    PacksInvolved => "涉及追溯码", "Trace codes involved";
    PacksShownOfTotal => "列出前 {n} 个追溯码，共 {total} 个；其余未列出。", "The first {n} of {total} trace codes are listed; the others are not.";
    EventsShownOfTotal => "列出前 {n} 条事件，共 {total} 条；其余未列出。", "The first {n} of {total} events are listed; the others are not.";
    NoPacks => "该线索的疑点未涉及具体追溯码。", "The findings behind this clue name no trace code.";

    // Institution.
    InstitutionTitle => "机构详情", "Institution";
    Interceptions => "拦截次数", "Blocked";
    InterceptedAmount => "拦截金额（元）", "Blocked (yuan)";
    FindingsList => "疑点明细", "Findings";
    FindingsListTruncated => "仅显示最近的疑点", "Showing the latest findings only";
    ChartInstitutionDayTitle => "每日扫码、销售与拦截", "Scans, sales and blocks per day";
    ChartInstitutionDayDesc => "该机构统计期间每日扫码、销售与拦截次数折线图。", "Line chart of this institution's scans, sales and blocked payments per day.";
    ChartInstitutionModelsDesc => "该机构各模型疑点数量条形图。", "Bar chart of this institution's findings per model.";
    RelatedClues => "相关线索", "Clues about this institution";
    KindManufacturer => "生产企业", "Manufacturer";
    KindDistributor => "流通企业", "Distributor";
    KindHospital => "定点医疗机构", "Hospital";
    KindPharmacy => "定点零售药店", "Pharmacy";
    SeverityLow => "低", "Low";
    SeverityMedium => "中", "Medium";
    SeverityHigh => "高", "High";

    // Pack.
    PackTitle => "追溯码详情", "Trace code";
    ProductInfo => "产品信息", "Product";
    GenericName => "通用名", "Generic name";
    TradeName => "商品名", "Trade name";
    Specification => "规格", "Specification";
    Manufacturer => "生产企业", "Manufacturer";
    InsuranceCode => "医保药品编码", "Insurance drug code";
    ApprovalNumber => "批准文号", "Approval number";
    LotBatch => "批号", "Batch";
    Expiry => "有效期至", "Expiry";
    PackSummary => "当前状态", "State";
    EventsCount => "事件数", "Events";
    SalesCount => "成功销售", "Sales";
    BlockedCount => "拦截次数", "Blocked";
    Holder => "当前持有方", "Holder";
    LastEvent => "最近事件", "Last event";
    PackStatus => "状态", "Status";
    UnknownProduct => "追溯码未匹配到产品。", "The code matches no product in the catalogue.";
    FindingsOnCode => "本码疑点", "Findings on this code";
    PackSoldTimes => "该追溯码已成功销售 {n} 次，而一盒药只应销售一次。", "This code was sold {n} times; a pack should be sold once.";
    PackBlockedTimes => "另有 {n} 次销售结算被实时拦截。", "Sale attempts blocked in real time: {n}.";
    EvidenceChain => "证据链", "Evidence chain";
    EvidenceChainIntro => "该追溯码的全部事件，按记录顺序；疑点引用的事件已高亮。", "Every event of this code in recorded order; events a finding cites are highlighted.";
    Evidence => "疑点证据", "Evidence";
    Counterparty => "对方单位", "Counterparty";
    Settlement => "结算号", "Settlement";
    Person => "参保人（哈希）", "Insured person (hash)";
    Units => "数量", "Units";
    FundPaid => "医保结算", "Paid by the fund";
    Reason => "原因", "Reason";
    StockChangeLabel => "库存变更", "Stock change";
    PackStatusInStock => "在库", "In stock";
    PackStatusSold => "已售出", "Sold";
    PackStatusPartlySold => "部分售出（拆零）", "Partly sold (split)";
    PackStatusRecalled => "已召回", "Recalled";
    PackStatusDestroyed => "已销毁", "Destroyed";
    PackStatusNotIssued => "未赋码", "Never issued";

    // Event kinds, outcomes and reasons.
    EventCommission => "赋码", "Commissioned";
    EventShip => "发货", "Shipped";
    EventReceive => "收货", "Received";
    EventIntake => "采购入库", "Purchase intake";
    EventStockChange => "库存变更", "Stock change";
    EventSale => "销售", "Sale";
    EventSaleReturn => "销售退货", "Sale return";
    EventDestroy => "销毁", "Destroyed";
    EventRecall => "召回", "Recalled";
    EventVoid => "上传作废", "Upload voided";
    EventPackInto => "装箱", "Packed into case";
    EventFill => "箱内装入", "Case filled";
    EventUnpack => "拆箱取出", "Taken out of case";
    EventOpen => "开箱", "Case opened";
    OutcomeAccepted => "已受理", "Accepted";
    OutcomeFlagged => "预警", "Flagged";
    OutcomeRejected => "已拦截", "Rejected";
    ReasonAlreadySold => "该码已售出", "Already sold";
    ReasonUnitsExceeded => "拆零数量超出剩余", "More units than left";
    ReasonZeroUnits => "数量为零", "Zero units";
    ReasonRecalled => "已召回", "Recalled";
    ReasonExpired => "已过期", "Expired";
    ReasonUnknownCode => "未赋码的追溯码", "Code never issued";
    ReasonProductMismatch => "产品与追溯码不符（疑似串换）", "Product does not match the code (substitution?)";
    ReasonDestroyed => "已销毁", "Destroyed";
    ReasonReturnWithoutSale => "退货无对应销售", "Return without a sale";
    ReasonReturnExceedsSale => "退货数量超出销售", "Return exceeds the sale";
    ReasonAlreadyIssued => "重复赋码", "Code issued twice";
    ReasonNoCode => "无码结算", "Settled without a code";
    ReasonSettlementBlocked => "同一结算中另有药品被拦截", "Blocked with its settlement";
    ReasonNotPermitted => "该机构类型无权进行此操作", "Not permitted for this kind of party";
    ReasonNotHolder => "非该药品当前持有方", "Not the pack's holder";
    ReasonNothingToVoid => "无可撤销的记录", "Nothing to void";
    ReasonRecallBatchUnknown => "召回中的药品，批号未知", "Recalled product, batch unknown";
    ReasonCaseNotSold => "箱码不可销售", "A case is not sold";
    ReasonInAnotherCase => "已装入其他箱", "Already in another case";
    ReasonSoldPackInCase => "已售药品不可装箱", "A sold pack cannot be packed";
    ReasonCaseCycle => "箱码循环包含", "A case cannot contain itself";
    ReasonNotInCase => "不在该箱中", "Not in this case";
    StockTransferIn => "调入", "Transfer in";
    StockTransferOut => "调出", "Transfer out";
    StockCountGain => "盘盈", "Stock-count gain";
    StockCountLoss => "盘损", "Stock-count loss";
    StockDestroyed => "销毁", "Destroyed";
    StockOtherIn => "其他入库", "Other in";
    StockOtherOut => "其他出库", "Other out";
    StockPurchaseIn => "采购入库", "Purchase in";
    StockReturnOut => "退货出库", "Returned to supplier";
    StockDonatedIn => "捐赠入库", "Donated in";
    StockDonationReturned => "捐赠退回", "Donation returned";

    // Models.
    ModelsTitle => "分析模型", "Analysis models";
    ModelsIntro => "各模型在追溯数据上运行，产生的疑点汇入线索。", "Each model runs over the trace data; its findings feed the clues.";
    Version => "版本", "Version";
    Precision => "查准率", "Precision";
    Recall => "查全率", "Recall";
    NotMeasured => "未评估", "not measured";
    ModelSql => "模型 SQL", "Model SQL";
    LastRun => "最近运行", "Last run";

    // SQL.
    SqlTitle => "SQL 查询", "SQL query";
    SqlIntro => "只读查询，结果行数有上限。", "Read-only queries; results are capped.";
    SqlQuery => "查询语句", "Query";
    Run => "运行", "Run";
    SqlError => "查询出错", "Query failed";
    SqlResult => "查询结果", "Result";
    Elapsed => "耗时", "Elapsed";
    RowLimitHit => "已达行数上限，结果不完整", "Row limit reached; the result is incomplete";
    SqlTables => "可查询的表", "Tables";

    // Notices.
    NoticesTitle => "重复追溯码公告", "Notice of duplicated trace codes";
    NoticesIntro => "以下追溯码被多次销售并申请医保结算，请相关机构配合核查；购药群众可凭药盒与票据向销售方主张权利。", "These trace codes were sold and settled more than once. The institutions must cooperate with verification; buyers may claim against the seller with the box and receipt.";
    TimesSold => "销售次数", "Times sold";
    InstitutionsInvolved => "涉及机构", "Institutions";
    PublishedAt => "发布日期", "Published";
    Drug => "药品", "Drug";
    NoticeList => "公告明细", "Entries";
    RecallList => "药品召回与撤市", "Recalls and withdrawals";
    RecalledBy => "发布方", "Recorded by";
    RecalledAt => "召回日期", "Recalled";
    WholeProduct => "全部批号（撤市）", "Every batch (withdrawn)";
    ByRegulator => "医保部门", "Insurance bureau";
    RecordRecall => "发布召回或撤市", "Record a recall or withdrawal";
    RecordRecallIntro => "自发布时起，闸口拒付该药品该批号（不填批号即全部批号）的每一盒，包括系统从未见过的；入库核验与群众查询同时提示。召回不可撤销。", "From the moment it is recorded, the gate refuses payment for every pack of the product's batch (every batch when none is given), packs never seen before included; intake checks and patients are told. A recall cannot be undone.";
    RecallNamedBy => "药品标识方式", "Product named by";
    RecallByInsurance => "医保药品编码", "Insurance drug code";
    RecallByDrugId => "药品标识码（追溯码前7位）", "Drug identification code (first 7 digits)";
    RecallByGtin => "商品条码（GTIN）", "GTIN";
    RecallProduct => "编码", "Code";
    RecallBatch => "批号（撤市留空）", "Batch (empty to withdraw)";
    RecallSubmit => "发布召回", "Record the recall";
    RowsCount => "共 {n} 条", "{n} in all";
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn has_cjk(s: &str) -> bool {
        s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
    }

    #[test]
    fn every_label_has_chinese_and_english() {
        // The switch names the other language, so its texts are the one deliberate exception.
        let swapped = [T::SwitchLanguage, T::SwitchLanguageTitle];
        for &key in T::ALL {
            let (zh, en) = key.pair();
            assert!(!zh.trim().is_empty(), "{key:?} has no Chinese");
            assert!(!en.trim().is_empty(), "{key:?} has no English");
            if swapped.contains(&key) {
                continue;
            }
            assert!(
                has_cjk(zh),
                "{key:?}'s Chinese text {zh:?} has no Chinese characters"
            );
            assert!(
                !has_cjk(en),
                "{key:?}'s English text {en:?} has Chinese characters"
            );
        }
    }

    #[test]
    fn labels_are_distinct_within_a_group() {
        // Two states, severities or outcomes sharing a text would be indistinguishable.
        let groups: [&[T]; 3] = [
            &[
                T::StateIssued,
                T::StateUnderVerification,
                T::StateConfirmed,
                T::StateDismissed,
            ],
            &[T::SeverityLow, T::SeverityMedium, T::SeverityHigh],
            &[T::OutcomeAccepted, T::OutcomeFlagged, T::OutcomeRejected],
        ];
        for group in groups {
            for lang in Lang::ALL {
                let mut seen = HashMap::new();
                for &key in group {
                    if let Some(other) = seen.insert(key.text(lang), key) {
                        panic!("{key:?} and {other:?} read the same in {lang}");
                    }
                }
            }
        }
    }

    #[test]
    fn lang_parameters() {
        assert_eq!(Lang::from_param(Some("en")), Lang::En);
        assert_eq!(Lang::from_param(Some("EN-us")), Lang::En);
        assert_eq!(Lang::from_param(Some("zh-CN")), Lang::Zh);
        assert_eq!(Lang::from_param(Some("fr")), Lang::Zh);
        assert_eq!(Lang::from_param(None), Lang::Zh);
        assert_eq!(Lang::Zh.other(), Lang::En);
    }
}
