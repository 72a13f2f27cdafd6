-- model: never_issued
-- version: 1
-- severity: high
-- level: code
-- truth: never_issued
-- title.zh: 未赋码的追溯码（疑似假码）
-- title.en: Code never issued
-- about.zh: 追溯码在流通或销售中出现，但没有任何生产企业的赋码记录：疑似伪造。每个码一条线索，对象为销售机构（未销售的为首个上报机构）。
-- about.en: A code moves or sells but no manufacturer ever issued it: likely forged. One finding per code, against the seller (or the first institution to report it when unsold).
WITH issued AS (
    SELECT DISTINCT code FROM events WHERE kind = 'commission' AND outcome <> 'rejected'
),
orphan AS (
    SELECT e.code, e.seq, e.kind
    FROM events e
    LEFT JOIN issued i ON i.code = e.code
    WHERE i.code IS NULL
),
per_code AS (
    SELECT code, MIN(seq) AS first_seq,
        MIN(CASE WHEN kind = 'sale' THEN seq END) AS sale_seq,
        COUNT(*) AS n,
        string_agg(CAST(seq AS VARCHAR), ',') AS seqs
    FROM orphan
    GROUP BY code
)
SELECT
    CASE WHEN p.sale_seq IS NULL THEN 'medium' ELSE 'high' END AS severity,
    e.code,
    e.actor AS institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    e.person,
    COALESCE(e.product, e.code_product) AS product,
    e.at,
    CASE WHEN e.fund_paid THEN e.amount_fen ELSE 0 END AS amount_fen,
    p.seqs AS evidence,
    CAST(p.n AS VARCHAR) || ' event(s) of a code no manufacturer issued' AS detail
FROM per_code p
JOIN events e ON e.code = p.code AND e.seq = COALESCE(p.sale_seq, p.first_seq)
