-- model: split_beyond_units
-- version: 1
-- severity: medium
-- level: code
-- truth: split_beyond_units
-- title.zh: 拆零销售超出整盒数量
-- title.en: Split sales beyond the pack's units
-- about.zh: 同一盒药品的拆零销售数量合计（扣除退货）超过整盒包装数量。对象为最后一次拆零销售的机构。
-- about.en: Split sales of one pack add up (net of returns) to more units than the pack holds. The finding is against the seller of the last split sale.
WITH split AS (
    SELECT code, seq, at, actor, person, product, units, pack_units, amount_fen, fund_paid
    FROM events
    WHERE kind = 'sale' AND units < pack_units
        AND (outcome <> 'rejected' OR reason = 'units_exceeded')
),
returned AS (
    SELECT code, SUM(units) AS units
    FROM events
    WHERE kind = 'sale_return' AND outcome <> 'rejected'
    GROUP BY code
),
per_code AS (
    SELECT code, SUM(units) AS units, MAX(pack_units) AS pack_units, MAX(seq) AS last_seq,
        SUM(CASE WHEN fund_paid THEN amount_fen ELSE 0 END) AS paid_fen,
        COUNT(*) AS sales,
        string_agg(CAST(seq AS VARCHAR), ',') AS seqs
    FROM split
    GROUP BY code
)
SELECT
    'medium' AS severity,
    p.code,
    s.actor AS institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    s.person,
    s.product,
    s.at,
    CAST((p.units - COALESCE(r.units, 0) - p.pack_units) * p.paid_fen / p.units AS BIGINT) AS amount_fen,
    p.seqs AS evidence,
    CAST(p.sales AS VARCHAR) || ' split sales of ' || CAST(p.units - COALESCE(r.units, 0) AS VARCHAR)
        || ' units from a pack of ' || CAST(p.pack_units AS VARCHAR) AS detail
FROM per_code p
LEFT JOIN returned r ON r.code = p.code
JOIN split s ON s.code = p.code AND s.seq = p.last_seq
WHERE p.units - COALESCE(r.units, 0) > p.pack_units
