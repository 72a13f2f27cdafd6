//! The word lists that make the synthetic province read like a real one: drug stems and
//! dosage forms, Chinese patent medicines, manufacturers' and institutions' name parts,
//! cities with their area codes and coordinates, and people's names.
//!
//! Everything here is data. Names are combined from these parts, so no real company,
//! hospital or person is named on purpose.

/// A Western drug stem: Chinese generic stem, English name, ATC-like class (5 characters,
/// the insurance code's class field), whether it needs a prescription, the dosage forms it
/// comes in (indices into [`FORMS`]) and two strengths.
pub(crate) struct Stem {
    pub zh: &'static str,
    pub en: &'static str,
    pub class: &'static str,
    pub rx: bool,
    pub forms: &'static [usize],
    pub doses: [&'static str; 2],
}

/// A dosage form: Chinese suffix, English name, the unit its packs count, the insurance
/// code's 4-character form field, and the pack sizes it is sold in.
pub(crate) struct Form {
    pub zh: &'static str,
    pub en: &'static str,
    pub unit: &'static str,
    pub code: &'static str,
    pub counts: [u32; 2],
}

/// Dosage forms.
pub(crate) const FORMS: &[Form] = &[
    Form {
        zh: "片",
        en: "Tablets",
        unit: "片",
        code: "AAAA",
        counts: [12, 24],
    },
    Form {
        zh: "胶囊",
        en: "Capsules",
        unit: "粒",
        code: "ACAA",
        counts: [12, 24],
    },
    Form {
        zh: "缓释片",
        en: "Sustained-release Tablets",
        unit: "片",
        code: "AAEA",
        counts: [10, 20],
    },
    Form {
        zh: "肠溶片",
        en: "Enteric-coated Tablets",
        unit: "片",
        code: "AAFA",
        counts: [14, 28],
    },
    Form {
        zh: "分散片",
        en: "Dispersible Tablets",
        unit: "片",
        code: "AAGA",
        counts: [12, 18],
    },
    Form {
        zh: "颗粒",
        en: "Granules",
        unit: "袋",
        code: "ADAA",
        counts: [6, 12],
    },
    Form {
        zh: "注射液",
        en: "Injection",
        unit: "支",
        code: "BBAA",
        counts: [6, 10],
    },
    Form {
        zh: "口服溶液",
        en: "Oral Solution",
        unit: "支",
        code: "AGAA",
        counts: [6, 12],
    },
    Form {
        zh: "干混悬剂",
        en: "Dry Suspension",
        unit: "袋",
        code: "ADBA",
        counts: [6, 9],
    },
];

const T: usize = 0;
const C: usize = 1;
const SR: usize = 2;
const EC: usize = 3;
const DT: usize = 4;
const GR: usize = 5;
const INJ: usize = 6;
const OS: usize = 7;
const DS: usize = 8;

macro_rules! stems {
    ($(($zh:literal, $en:literal, $class:literal, $rx:literal, [$($f:expr),*], $d1:literal, $d2:literal),)*) => {
        /// Western drug stems.
        pub(crate) const STEMS: &[Stem] = &[
            $(Stem { zh: $zh, en: $en, class: $class, rx: $rx, forms: &[$($f),*], doses: [$d1, $d2] },)*
        ];
    };
}

stems! {
    ("阿莫西林", "Amoxicillin", "J01CA", true, [C, DT, GR], "0.25g", "0.5g"),
    ("头孢克肟", "Cefixime", "J01DD", true, [C, DT, GR], "50mg", "100mg"),
    ("头孢呋辛酯", "Cefuroxime Axetil", "J01DC", true, [T, DT], "0.125g", "0.25g"),
    ("头孢拉定", "Cefradine", "J01DB", true, [C], "0.25g", "0.5g"),
    ("阿奇霉素", "Azithromycin", "J01FA", true, [T, C, DS], "0.125g", "0.25g"),
    ("克拉霉素", "Clarithromycin", "J01FA", true, [T, SR], "0.25g", "0.5g"),
    ("左氧氟沙星", "Levofloxacin", "J01MA", true, [T, INJ], "0.1g", "0.5g"),
    ("莫西沙星", "Moxifloxacin", "J01MA", true, [T], "0.4g", "0.4g"),
    ("盐酸二甲双胍", "Metformin Hydrochloride", "A10BA", true, [T, SR, EC], "0.25g", "0.5g"),
    ("格列美脲", "Glimepiride", "A10BB", true, [T], "1mg", "2mg"),
    ("阿卡波糖", "Acarbose", "A10BF", true, [T], "50mg", "100mg"),
    ("西格列汀", "Sitagliptin", "A10BH", true, [T], "50mg", "100mg"),
    ("阿托伐他汀钙", "Atorvastatin Calcium", "C10AA", true, [T], "10mg", "20mg"),
    ("瑞舒伐他汀钙", "Rosuvastatin Calcium", "C10AA", true, [T], "5mg", "10mg"),
    ("辛伐他汀", "Simvastatin", "C10AA", true, [T], "20mg", "40mg"),
    ("苯磺酸氨氯地平", "Amlodipine Besylate", "C08CA", true, [T], "5mg", "10mg"),
    ("硝苯地平", "Nifedipine", "C08CA", true, [SR, T], "10mg", "30mg"),
    ("缬沙坦", "Valsartan", "C09CA", true, [C, T], "80mg", "160mg"),
    ("厄贝沙坦", "Irbesartan", "C09CA", true, [T], "75mg", "150mg"),
    ("氯沙坦钾", "Losartan Potassium", "C09CA", true, [T], "50mg", "100mg"),
    ("替米沙坦", "Telmisartan", "C09CA", true, [T], "40mg", "80mg"),
    ("酒石酸美托洛尔", "Metoprolol Tartrate", "C07AB", true, [T, SR], "25mg", "50mg"),
    ("比索洛尔", "Bisoprolol", "C07AB", true, [T], "2.5mg", "5mg"),
    ("培哚普利", "Perindopril", "C09AA", true, [T], "4mg", "8mg"),
    ("氢氯噻嗪", "Hydrochlorothiazide", "C03AA", true, [T], "25mg", "50mg"),
    ("阿司匹林", "Aspirin", "B01AC", false, [EC], "25mg", "100mg"),
    ("硫酸氢氯吡格雷", "Clopidogrel Hydrogen Sulfate", "B01AC", true, [T], "25mg", "75mg"),
    ("华法林钠", "Warfarin Sodium", "B01AA", true, [T], "2.5mg", "3mg"),
    ("利伐沙班", "Rivaroxaban", "B01AF", true, [T], "10mg", "20mg"),
    ("奥美拉唑", "Omeprazole", "A02BC", true, [EC, C], "10mg", "20mg"),
    ("泮托拉唑钠", "Pantoprazole Sodium", "A02BC", true, [EC], "20mg", "40mg"),
    ("雷贝拉唑钠", "Rabeprazole Sodium", "A02BC", true, [EC], "10mg", "20mg"),
    ("铝碳酸镁", "Hydrotalcite", "A02AD", false, [T], "0.5g", "0.5g"),
    ("多潘立酮", "Domperidone", "A03FA", false, [T], "10mg", "10mg"),
    ("蒙脱石", "Montmorillonite", "A07BC", false, [DS, GR], "3g", "3g"),
    ("布洛芬", "Ibuprofen", "M01AE", false, [SR, C, GR, OS], "0.2g", "0.3g"),
    ("对乙酰氨基酚", "Paracetamol", "N02BE", false, [T, GR, OS], "0.3g", "0.5g"),
    ("双氯芬酸钠", "Diclofenac Sodium", "M01AB", true, [SR, EC], "25mg", "75mg"),
    ("塞来昔布", "Celecoxib", "M01AH", true, [C], "0.2g", "0.2g"),
    ("氯雷他定", "Loratadine", "R06AX", false, [T], "10mg", "10mg"),
    ("西替利嗪", "Cetirizine", "R06AE", false, [T], "10mg", "10mg"),
    ("孟鲁司特钠", "Montelukast Sodium", "R03DC", true, [T, GR], "4mg", "10mg"),
    ("氨溴索", "Ambroxol", "R05CB", false, [T, OS, INJ], "30mg", "15mg"),
    ("乙酰半胱氨酸", "Acetylcysteine", "R05CB", false, [GR], "0.1g", "0.2g"),
    ("沙美特罗替卡松", "Salmeterol and Fluticasone", "R03AK", true, [DS], "50ug", "250ug"),
    ("左甲状腺素钠", "Levothyroxine Sodium", "H03AA", true, [T], "50ug", "100ug"),
    ("甲钴胺", "Mecobalamin", "B03BA", false, [T, INJ], "0.5mg", "0.5mg"),
    ("叶酸", "Folic Acid", "B03BB", false, [T], "0.4mg", "5mg"),
    ("维生素C", "Vitamin C", "A11GA", false, [T], "0.1g", "0.1g"),
    ("碳酸钙D3", "Calcium Carbonate and Vitamin D3", "A12AX", false, [T, GR], "0.6g", "1.5g"),
    ("盐酸舍曲林", "Sertraline Hydrochloride", "N06AB", true, [T], "50mg", "50mg"),
    ("艾司西酞普兰", "Escitalopram", "N06AB", true, [T], "5mg", "10mg"),
    ("奥氮平", "Olanzapine", "N05AH", true, [T], "5mg", "10mg"),
    ("阿普唑仑", "Alprazolam", "N05BA", true, [T], "0.4mg", "0.4mg"),
    ("加巴喷丁", "Gabapentin", "N03AX", true, [C], "0.1g", "0.3g"),
    ("丙戊酸钠", "Sodium Valproate", "N03AG", true, [SR, OS], "0.2g", "0.5g"),
    ("多奈哌齐", "Donepezil", "N06DA", true, [T], "5mg", "10mg"),
    ("坦索罗辛", "Tamsulosin", "G04CA", true, [C], "0.2mg", "0.2mg"),
    ("非那雄胺", "Finasteride", "G04CB", true, [T], "1mg", "5mg"),
    ("别嘌醇", "Allopurinol", "M04AA", true, [T], "0.1g", "0.1g"),
    ("非布司他", "Febuxostat", "M04AA", true, [T], "20mg", "40mg"),
    ("阿仑膦酸钠", "Alendronate Sodium", "M05BA", true, [T], "10mg", "70mg"),
    ("甲泼尼龙", "Methylprednisolone", "H02AB", true, [T, INJ], "4mg", "40mg"),
    ("泼尼松", "Prednisone", "H02AB", true, [T], "5mg", "5mg"),
    ("恩替卡韦", "Entecavir", "J05AF", true, [T, DT], "0.5mg", "1mg"),
    ("奥司他韦", "Oseltamivir", "J05AH", true, [C, GR], "30mg", "75mg"),
    ("阿昔洛韦", "Aciclovir", "J05AB", true, [T], "0.1g", "0.2g"),
    ("氟康唑", "Fluconazole", "J02AC", true, [C, T], "50mg", "150mg"),
    ("甲硝唑", "Metronidazole", "J01XD", true, [T, INJ], "0.2g", "0.5g"),
    ("螺内酯", "Spironolactone", "C03DA", true, [T], "20mg", "20mg"),
    ("呋塞米", "Furosemide", "C03CA", true, [T, INJ], "20mg", "20mg"),
    ("单硝酸异山梨酯", "Isosorbide Mononitrate", "C01DA", true, [SR, T], "20mg", "40mg"),
    ("曲美他嗪", "Trimetazidine", "C01EB", true, [SR], "35mg", "35mg"),
    ("胰岛素", "Insulin", "A10AB", true, [INJ], "300IU", "400IU"),
    ("格列齐特", "Gliclazide", "A10BB", true, [SR], "30mg", "60mg"),
    ("达格列净", "Dapagliflozin", "A10BK", true, [T], "5mg", "10mg"),
    ("枸橼酸莫沙必利", "Mosapride Citrate", "A03FA", true, [T, DT], "5mg", "5mg"),
    ("匹维溴铵", "Pinaverium Bromide", "A03AX", true, [T], "50mg", "50mg"),
    ("头孢地尼", "Cefdinir", "J01DD", true, [C, DT], "50mg", "0.1g"),
    ("复方甘草酸苷", "Compound Glycyrrhizin", "A05BA", true, [T, INJ], "25mg", "40mg"),
}

/// A Chinese patent medicine (中成药): the full name with its form, English name, class
/// (the insurance code's 5-character class field), the unit, two pack sizes, and whether it
/// is a prescription drug.
pub(crate) struct Patent {
    pub zh: &'static str,
    pub en: &'static str,
    pub class: &'static str,
    pub spec: [&'static str; 2],
    pub counts: [u32; 2],
    pub rx: bool,
}

macro_rules! patents {
    ($(($zh:literal, $en:literal, $class:literal, $s1:literal, $s2:literal, $c1:literal, $c2:literal, $rx:literal),)*) => {
        /// Chinese patent medicines.
        pub(crate) const PATENTS: &[Patent] = &[
            $(Patent { zh: $zh, en: $en, class: $class, spec: [$s1, $s2], counts: [$c1, $c2], rx: $rx },)*
        ];
    };
}

patents! {
    ("复方阿胶浆", "Fufang Ejiao Syrup", "ZA09A", "20ml*12支", "20ml*48支", 12, 48, false),
    ("连花清瘟胶囊", "Lianhua Qingwen Capsules", "ZA01A", "0.35g*24粒", "0.35g*36粒", 24, 36, false),
    ("六味地黄丸", "Liuwei Dihuang Pills", "ZA09F", "0.2g*120丸", "0.2g*200丸", 120, 200, false),
    ("板蓝根颗粒", "Banlangen Granules", "ZA01C", "10g*20袋", "5g*20袋", 20, 20, false),
    ("复方丹参滴丸", "Compound Danshen Dripping Pills", "ZA12E", "27mg*180丸", "27mg*270丸", 180, 270, false),
    ("银翘解毒片", "Yinqiao Jiedu Tablets", "ZA01A", "0.3g*24片", "0.3g*36片", 24, 36, false),
    ("藿香正气水", "Huoxiang Zhengqi Liquid", "ZA04A", "10ml*10支", "10ml*6支", 10, 6, false),
    ("感冒清热颗粒", "Ganmao Qingre Granules", "ZA01B", "12g*10袋", "6g*10袋", 10, 10, false),
    ("血塞通软胶囊", "Xuesaitong Soft Capsules", "ZA12G", "0.33g*24粒", "0.33g*48粒", 24, 48, true),
    ("脑心通胶囊", "Naoxintong Capsules", "ZA12G", "0.4g*48粒", "0.4g*96粒", 48, 96, true),
    ("通心络胶囊", "Tongxinluo Capsules", "ZA12G", "0.26g*30粒", "0.26g*90粒", 30, 90, true),
    ("丹参酮胶囊", "Danshentong Capsules", "ZA12A", "0.25g*36粒", "0.25g*72粒", 36, 72, true),
    ("金水宝胶囊", "Jinshuibao Capsules", "ZA09D", "0.33g*72粒", "0.33g*144粒", 72, 144, false),
    ("百令胶囊", "Bailing Capsules", "ZA09D", "0.5g*42粒", "0.2g*90粒", 42, 90, false),
    ("蒲地蓝消炎口服液", "Pudilan Xiaoyan Oral Liquid", "ZA01C", "10ml*10支", "10ml*6支", 10, 6, false),
    ("小柴胡颗粒", "Xiaochaihu Granules", "ZA01D", "10g*10袋", "4g*9袋", 10, 9, false),
    ("逍遥丸", "Xiaoyao Pills", "ZA06A", "6g*10袋", "200丸", 10, 1, false),
    ("安宫牛黄丸", "Angong Niuhuang Pills", "ZA14A", "3g*1丸", "3g*2丸", 1, 2, true),
    ("速效救心丸", "Suxiao Jiuxin Pills", "ZA12E", "40mg*60丸", "40mg*120丸", 60, 120, false),
    ("麝香保心丸", "Shexiang Baoxin Pills", "ZA12E", "22.5mg*42丸", "22.5mg*84丸", 42, 84, true),
    ("清开灵颗粒", "Qingkailing Granules", "ZA03A", "3g*10袋", "3g*20袋", 10, 20, false),
    ("双黄连口服液", "Shuanghuanglian Oral Liquid", "ZA01C", "10ml*10支", "20ml*6支", 10, 6, false),
    ("片仔癀", "Pien Tze Huang", "ZA03B", "3g*1粒", "3g*2粒", 1, 2, false),
    ("云南白药胶囊", "Yunnan Baiyao Capsules", "ZA11A", "0.25g*16粒", "0.25g*32粒", 16, 32, false),
    ("三七伤药片", "Sanqi Shangyao Tablets", "ZA11B", "0.3g*24片", "0.3g*48片", 24, 48, false),
    ("消渴丸", "Xiaoke Pills", "ZA10A", "2.5g*120丸", "2.5g*210丸", 120, 210, true),
    ("参松养心胶囊", "Shensong Yangxin Capsules", "ZA12H", "0.4g*36粒", "0.4g*84粒", 36, 84, true),
    ("稳心颗粒", "Wenxin Granules", "ZA12H", "9g*9袋", "5g*9袋", 9, 9, true),
    ("养血清脑颗粒", "Yangxue Qingnao Granules", "ZA09B", "4g*15袋", "4g*30袋", 15, 30, true),
    ("正天丸", "Zhengtian Pills", "ZA12A", "6g*10袋", "6g*15袋", 10, 15, false),
    ("蓝芩口服液", "Lanqin Oral Liquid", "ZA01C", "10ml*12支", "10ml*6支", 12, 6, false),
    ("止咳宝片", "Zhikebao Tablets", "ZA05A", "0.35g*24片", "0.35g*48片", 24, 48, false),
}

/// Index of 复方阿胶浆 in [`PATENTS`]: the drug of NHSA's first public notice on codes sold
/// three or more times, so repeat-sale fraud favours it.
pub(crate) const EJIAO: usize = 0;

/// A city: name, 6-digit city-level area code, latitude and longitude of its centre.
pub(crate) struct City {
    pub name: &'static str,
    pub code: u32,
    pub lat: f64,
    pub lon: f64,
}

/// A province: name, and its cities.
pub(crate) struct Province {
    pub name: &'static str,
    pub cities: &'static [City],
}

macro_rules! city {
    ($name:literal, $code:literal, $lat:literal, $lon:literal) => {
        City {
            name: $name,
            code: $code,
            lat: $lat,
            lon: $lon,
        }
    };
}

/// The home province (Fujian, where "no scan, no settlement" started) and its neighbours.
/// The home province comes first.
pub(crate) const PROVINCES: &[Province] = &[
    Province {
        name: "福建省",
        cities: &[
            city!("福州", 350100, 26.0745, 119.2965),
            city!("厦门", 350200, 24.4798, 118.0894),
            city!("莆田", 350300, 25.4540, 119.0077),
            city!("三明", 350400, 26.2654, 117.6389),
            city!("泉州", 350500, 24.8741, 118.6759),
            city!("漳州", 350600, 24.5130, 117.6471),
            city!("南平", 350700, 26.6418, 118.1777),
            city!("龙岩", 350800, 25.0751, 117.0174),
            city!("宁德", 350900, 26.6656, 119.5479),
            city!("平潭", 350128, 25.4985, 119.7906),
        ],
    },
    Province {
        name: "浙江省",
        cities: &[
            city!("杭州", 330100, 30.2741, 120.1551),
            city!("温州", 330300, 27.9938, 120.6994),
        ],
    },
    Province {
        name: "江西省",
        cities: &[
            city!("南昌", 360100, 28.6820, 115.8579),
            city!("赣州", 360700, 25.8310, 114.9350),
        ],
    },
    Province {
        name: "广东省",
        cities: &[
            city!("广州", 440100, 23.1291, 113.2644),
            city!("汕头", 440500, 23.3541, 116.6820),
        ],
    },
];

/// Hospital name endings, after the city's name.
pub(crate) const HOSPITALS: &[&str] = &[
    "市第一医院",
    "市第二医院",
    "市中医院",
    "市人民医院",
    "市妇幼保健院",
    "市儿童医院",
    "市第一人民医院",
    "市中西医结合医院",
    "市第三医院",
    "市肿瘤医院",
];

/// Pharmacy chain names.
pub(crate) const PHARMACY_BRANDS: &[&str] = &[
    "惠民", "百姓", "康宁", "天天", "仁心", "回春", "济世", "福寿", "安康", "万家", "众康", "同济",
];

/// Streets pharmacies stand on.
pub(crate) const STREETS: &[&str] = &[
    "五一路",
    "八一七路",
    "中山路",
    "解放路",
    "人民路",
    "新华路",
    "建设路",
    "东街",
    "西湖路",
    "湖滨路",
    "滨江路",
    "工业路",
    "南门路",
    "北环路",
    "江滨路",
    "温泉路",
];

/// Two-character brand words of company names, each with its pinyin for the English
/// catalog.
pub(crate) const BRAND_WORDS: &[(&str, &str)] = &[
    ("康华", "Kanghua"),
    ("德元", "Deyuan"),
    ("恒瑞", "Hengrui"),
    ("泰安", "Tai'an"),
    ("民生", "Minsheng"),
    ("海峡", "Haixia"),
    ("闽江", "Minjiang"),
    ("武夷", "Wuyi"),
    ("九洲", "Jiuzhou"),
    ("福元", "Fuyuan"),
    ("天泉", "Tianquan"),
    ("仁和", "Renhe"),
    ("永康", "Yongkang"),
    ("鹭岛", "Ludao"),
    ("太姥", "Tailao"),
    ("清源", "Qingyuan"),
    ("南山", "Nanshan"),
    ("金山", "Jinshan"),
    ("瑞安", "Rui'an"),
    ("华康", "Huakang"),
];

/// Company name endings with their English.
pub(crate) const COMPANY_KINDS: &[(&str, &str)] = &[
    ("制药有限公司", "Pharmaceutical Co., Ltd."),
    ("药业有限公司", "Pharmaceutical Co., Ltd."),
    ("制药股份有限公司", "Pharmaceutical Co., Ltd."),
    ("生物制药有限公司", "Biopharmaceutical Co., Ltd."),
];

/// Made-up foreign manufacturers of imported drugs: Chinese name, English name, and the
/// GS1 company prefix country digits of their barcodes (Germany 40, France 30, Switzerland
/// 76, Denmark 57, United Kingdom 50).
pub(crate) const FOREIGN_MAKERS: &[(&str, &str, u64)] = &[
    ("诺维康（德国）制药有限公司", "Novicon Pharma GmbH", 40),
    ("莱茵医药（德国）股份公司", "Rheinmed AG", 42),
    ("赛诺维（法国）制药公司", "Sanovie Pharma SAS", 30),
    ("阿尔卑斯（瑞士）药业公司", "Alpina Pharma AG", 76),
    ("北海（丹麦）生物制药公司", "Nordhav Biopharma A/S", 57),
    ("泰晤士（英国）制药有限公司", "Thamesford Pharma Ltd", 50),
];

/// Pinyin of the city names, for English company names.
pub(crate) fn city_pinyin(name: &str) -> &'static str {
    match name {
        "福州" => "Fuzhou",
        "厦门" => "Xiamen",
        "莆田" => "Putian",
        "三明" => "Sanming",
        "泉州" => "Quanzhou",
        "漳州" => "Zhangzhou",
        "南平" => "Nanping",
        "龙岩" => "Longyan",
        "宁德" => "Ningde",
        "平潭" => "Pingtan",
        "杭州" => "Hangzhou",
        "温州" => "Wenzhou",
        "南昌" => "Nanchang",
        "赣州" => "Ganzhou",
        "广州" => "Guangzhou",
        "汕头" => "Shantou",
        _ => "China",
    }
}

/// Family names, the commonest first.
pub(crate) const SURNAMES: &[&str] = &[
    "陈", "林", "黄", "张", "李", "王", "吴", "刘", "蔡", "杨", "郑", "许", "谢", "郭", "洪", "曾",
    "邱", "赖", "周", "叶", "苏", "庄", "江", "何", "罗", "高", "朱", "胡",
];

/// Characters of given names.
pub(crate) const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "建", "国", "志", "文", "斌", "婷", "雪", "梅",
];
