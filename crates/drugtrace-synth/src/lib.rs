//! A deterministic synthetic province for drugtrace: a product catalog, the province's
//! manufacturers, distributors, hospitals and pharmacies, and every pack's chain events
//! (commission, shipping, receiving, intake, sales, returns, recalls, destruction), with
//! the noise of real uploads and planted fraud whose ground truth is written beside it.
//!
//! [`generate`] writes into [`SynthOptions::out`]:
//!
//! | file | contents |
//! |---|---|
//! | `catalog.csv` | the three-code mapping, exactly as `drugtrace catalog import` reads it |
//! | `catalog_en.csv` | English names by insurance code (the importer takes no extra columns) |
//! | `institutions.csv` | `code,name,kind,province,city,lat,lon` |
//! | `events.jsonl` / `events.csv` | chain events, exactly as `drugtrace import` reads them (with [`SynthOptions::packaging`], `pack` and `open` events too, and the CSV gains a last column, `case`) |
//! | `nhsa/requests.jsonl` | NHSA-shaped requests: 3503 purchase, 3505 sale, 3506 sale return |
//! | `settlements.csv` | the settlement system's drug items, one per sale, uploaded or not: `settlement_id,institution,at,insurance_code,units,amount,fund_paid`, as `drugtrace settlements import` reads them |
//! | `truth.jsonl` | one planted fraud case per line |
//! | `noise.jsonl` | with [`SynthOptions::upload_noise`] only: one planted instance of legitimate upload noise per line |
//!
//! The same seed and pack count give byte-identical files. Memory does not grow with the
//! pack count: packs are generated and written a window at a time, and the only state kept
//! across windows is a few open resale rings. Events are sorted by upload time within each
//! window, so the file is roughly in time order, late uploads of movements arrive up to two
//! days late, and every pack's gate-relevant events keep the order they happened in.
//!
//! # Noise
//! About 3% of ship and receive scans are missing, 4% are uploaded up to two days late
//! (never after the pack's intake), and 0.5% of movements, intakes and sales are sent twice
//! (the same line twice; the ledger replays a repeated sale's settlement).
//!
//! Some sales are settled but their code is never uploaded: the item is in
//! `settlements.csv`, the sale is in no event file. Most institutions miss 0 to 2% of
//! such scans, a few poor uploaders 25 to 70%. Only an honest pack's last sale can be
//! missed (no return or later sale needs it), and the draws come from streams of their own,
//! so the other lines are the same as if no scan were ever missed.
//!
//! # Real-upload noise (`noise.jsonl`, opt-in)
//! Uploads from real institutions are full of legitimate situations that a model written
//! from clean definitions takes for fraud. With [`SynthOptions::upload_noise`], honest
//! packs carry them too, each listed in `noise.jsonl` as `{"noise","class","codes",
//! "institutions","settlements","note"}`, so that a model's false positives can be counted
//! per class. Each honest pack draws at most one class from a stream of its own after its
//! events are drawn: every other pack's lines, and `truth.jsonl`, are the same as without
//! the option; noise sales take settlement ids from `SETL9000000000000001` on, so no other
//! sale's id moves. The option is off by default, and then nothing changes at all.
//!
//! | class | what the files hold | what the gate does | packs (200,000, seeds 1 and 7) |
//! |---|---|---|---:|
//! | `corrected_wrong_code` | a sale billed with another catalog product's insurance code, then 1–25 minutes later the right billing of the same pack, buyer and institution under a new settlement id | first `product_mismatch`, then accepted | 0.56–0.60% |
//! | `corrected_after_return` | a sale, its whole return 1–8 minutes later, and the same pack settled again for the same buyer under a new id (at most 23 minutes after the first) | all accepted | 0.36–0.39% |
//! | `corrected_return_late` | a sale, the same pack settled again for the same buyer under a new id 3–20 minutes later, and the first sale's return, dated between the two but uploaded after the second | second `already_sold`; the return accepted | 0.29% |
//! | `refund_restocked` | a sale, its return hours to days later, a stock change 106 (other in) at the seller, a sale to another buyer days later | all accepted | 0.35–0.37% |
//! | `intake_after_sale` | the seller's intake scanned 30 minutes to two days after its sale | the intake flagged `already_sold` | 0.39–0.42% |
//! | `return_resent` | a sale's return sent twice (the same line) | first accepted, second `return_exceeds_sale` | 0.35–0.36% |
//! | `branch_opened_box` | a box opened for split sales at a pharmacy goes to a branch of the same chain (102 out, 101 in) which sells the units left | all accepted | 0.31% |
//! | `maker_no_commissions` | one manufacturer (at most 1% of the packs, usually an importer) uploads no commission: its packs' logs start with its shipment to a distributor, which receives it; one line per pack, planted fraud included | movements and sales flagged `unknown_code` | 0.66–0.84% |
//!
//! A noise pack's last sale is never a missed scan (a correction without its sale would be
//! the fraud it corrects). The ordinary noise above (missing and late scans, re-sent lines,
//! GS1 forms of imported packs' codes) is there with the option or without.
//!
//! # Planted fraud (`truth.jsonl`)
//! Each pack turns fraudulent with probability [`SynthOptions::fraud_rate`]; the kind is
//! drawn by weight. A case is `{"case","kind","codes","institutions","persons",
//! "settlements","note"}`, persons being the raw synthetic identity numbers of the events.
//!
//! | kind | what happens | what the gate does |
//! |---|---|---|
//! | `resale_ring` | ring members buy on their cards at A; a trader brings the packs to pharmacy B (intake), which sells them again | B's sale: `already_sold` |
//! | `cloned_code` | the code is sold again in another province hours later | `already_sold` |
//! | `substitution` | the sale is billed with another product's insurance code | `product_mismatch` |
//! | `sale_without_intake` | sold by a pharmacy that never took the pack in | accepted (for analytics) |
//! | `never_issued` | no commission; taken in and sold | flagged `unknown_code` |
//! | `sale_after_expiry` | sold after the pack's expiry date | `expired` |
//! | `sale_after_recall` | the maker recalls the pack, then it is sold | `recalled` |
//! | `split_beyond_units` | split sales add up to more units than the pack has | `units_exceeded` |
//! | `repeat_sale_3plus` | sold 3 to 6 times, every time fund-paid (NHSA's first notice) | `already_sold` |
//! | `case_box_diverted` | with packaging only: a box of a case taken in by A is sold by pharmacy B of the city, which never took in the box or its case | accepted (for analytics) |
//!
//! # Packaging (opt-in)
//! With [`SynthOptions::packaging`], four domestic manufacturers pack boxes into cases
//! (箱码): one case of 4 to 10 boxes of one product per 200 packs, drawn from streams of
//! their own after each window's packs, so the packs' lines are the same as without it
//! ([`SynthSummary::case_boxes`] counts the boxes, beyond [`SynthSummary::packs`]). A case
//! code is a 20-digit code whose drug identification code, `79` + the maker's number, is
//! no catalog product. The maker commissions the boxes and the case, packs each box
//! (`pack` with `case`), ships the case to the provincial distributor, which receives it
//! and ships it to a hospital or pharmacy; that one takes the case in and opens it (`open`),
//! and sells its boxes one by one (the ledger moves the boxes with their case). With
//! probability `20 × fraud_rate` a case has one diverted box (`case_box_diverted`). Box
//! sales take settlement ids from `SETL8000000000000001` on.
//!
//! # NHSA requests (`nhsa/requests.jsonl`)
//! Envelopes `{"infno","msgid","fixmedins_code","fixmedins_name","inf_time","input"}`,
//! with `msgid` = institution code + `YYYYMMDDHHMMSS` + 4-digit sequence. The input is
//! `purcinfo` for 3503 and `selinfo` for 3505 and 3506, each ending in
//! `drugtracinfo: [{"drug_trac_codg": code}]`. Field mapping from the events:
//!
//! | national field | from |
//! |---|---|
//! | `med_list_codg` | the insurance code billed (intake, sale) |
//! | `fixmedins_hilist_id`, `fixmedins_hilist_name` | `YP` + the drug identification prefix; the generic name |
//! | `fixmedins_bchno` | the settlement id (sales, returns); `RK` + time + sequence (intake) |
//! | `manu_lotnum`, `manu_date`, `expy_end` | the pack's batch, manufacturing day, expiry |
//! | `rx_flag` | `1` for prescription drugs |
//! | `spler_name`, `prodentp_name`, `aprvno` (3503) | supplier's name, manufacturer's name, approval number |
//! | `purc_retn_cnt`, `purc_retn_stoin_time` (3503) | `1` pack; the intake time |
//! | `setl_id` (3505, 3506) | the settlement id |
//! | `psn_no`, `psn_cert_type`, `certno`, `psn_name` (3505) | `3500` + person number; `01` (resident identity card); the identity number; a synthetic name |
//! | `trdn_flag` | `1` for split sales and partial returns |
//! | `finl_trns_pric` | unit price in yuan (3505); purchase price (3503) |
//! | `sel_retn_cnt`, `sel_retn_time` | units (1 for a whole pack), time |
//! | `mdtrt_setl_type` (3505) | `1` fund-paid, `2` self-paid |
//! | `drug_prod_barc` (3505) | the product's GTIN-13 |
//! | `medins_prod_sel_no` (3506) | the returned sale's settlement id |

#[cfg(feature = "built")]
pub mod built;
mod cases;
mod catalog;
mod event;
mod fmt;
mod fraud;
mod names;
mod noise;
mod output;
mod rng;
mod scenario;
mod world;
mod write;

pub use output::{
    DEFAULT_IN_STOCK, Formats, MAX_IN_STOCK, SynthError, SynthOptions, SynthSummary, generate,
};
