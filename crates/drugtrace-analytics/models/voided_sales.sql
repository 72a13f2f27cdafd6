-- model: voided_sales
-- version: 2
-- severity: medium
-- level: code
-- truth:
-- title.zh: 作废医保结算销售
-- title.en: Voided fund-paid sale
-- about.zh: 机构以3507作废了一笔医保基金支付的销售（记录保留为证据，不再计为已售）。作废后该药品又被销售，或对同一批次的作废覆盖20条及以上记录（药品与无追溯码记录合计；如所有上传共用一个批次号，作废即全部作废），为高风险。
-- about.en: An institution voided (3507) a sale the insurance fund paid for; the record stays as evidence but no longer counts as sold. High when the pack was sold again after the void, or when the voids of its batch covered 20 records or more, packs and records without codes together (a batch number shared by every upload makes "void this batch" mean "void everything").
--
-- One finding per voided fund-paid sale. A void row's `upload` is the batch it voided, so a
-- sale is matched with the void that covers it by pack, institution and batch. Version 2
-- counts the batch's voided records without codes (`movements`) beside its packs.
WITH voided AS (
    SELECT code, seq, at, actor, upload, person, product, amount_fen
    FROM events
    WHERE kind = 'sale' AND voided AND fund_paid AND outcome <> 'rejected'
),
voids AS (
    SELECT code, actor, upload, MIN(seq) AS void_seq
    FROM events
    WHERE kind = 'void' AND outcome <> 'rejected'
    GROUP BY code, actor, upload
),
voided_packs AS (
    SELECT actor, upload, COUNT(DISTINCT code) AS packs
    FROM events
    WHERE kind = 'void' AND outcome <> 'rejected'
    GROUP BY actor, upload
),
voided_codeless AS (
    SELECT institution AS actor, upload, COUNT(*) AS records
    FROM movements
    WHERE voided
    GROUP BY institution, upload
),
batches AS (
    SELECT p.actor, p.upload, p.packs, COALESCE(c.records, 0) AS records
    FROM voided_packs p
    LEFT JOIN voided_codeless c ON c.actor = p.actor AND c.upload = p.upload
),
resold AS (
    SELECT s.code, s.actor, s.upload, MIN(s2.seq) AS resale_seq
    FROM voided s
    JOIN voids v ON v.code = s.code AND v.actor = s.actor AND v.upload = s.upload
    JOIN events s2 ON s2.code = s.code AND s2.kind = 'sale' AND s2.seq > v.void_seq
    GROUP BY s.code, s.actor, s.upload
)
SELECT
    CASE WHEN r.resale_seq IS NOT NULL OR b.packs + b.records >= 20 THEN 'high' ELSE 'medium' END
        AS severity,
    x.code,
    x.actor AS institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    x.person,
    x.product,
    x.at,
    x.amount_fen,
    CASE WHEN r.resale_seq IS NULL THEN make_array(x.seq, v.void_seq)
        ELSE make_array(x.seq, v.void_seq, r.resale_seq) END AS evidence,
    'fund-paid sale voided with upload batch ' || x.upload || ' (the void covered '
        || CAST(b.packs AS VARCHAR) || ' packs'
        || CASE WHEN b.records > 0
            THEN ' and ' || CAST(b.records AS VARCHAR) || ' records without codes' ELSE '' END
        || ')'
        || CASE WHEN r.resale_seq IS NOT NULL THEN '; the pack was sold again after the void'
            ELSE '' END AS detail
FROM voided x
JOIN voids v ON v.code = x.code AND v.actor = x.actor AND v.upload = x.upload
JOIN batches b ON b.actor = x.actor AND b.upload = x.upload
LEFT JOIN resold r ON r.code = x.code AND r.actor = x.actor AND r.upload = x.upload
