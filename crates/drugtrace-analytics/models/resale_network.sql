-- model: resale_network
-- version: 1
-- severity: high
-- level: code
-- truth: resale_ring
-- title.zh: 回流药（售出后再次入库）
-- title.en: Resale network
-- about.zh: 药品已由医保基金支付售予参保人后，又在某机构入库（收货、采购入库、调入等）：回流药。对象为再次入库的机构，关联首次销售机构与购药人；其后的再次销售金额计为基金风险。
-- about.en: A pack first sold to an insured person and paid by the fund is later taken into stock again somewhere: a resold pack. The finding is against the institution that took it back in, with the first seller and the buyer; a later sale's fund amount is at risk.
WITH first_sale AS (
    SELECT code, seq, at, actor, person
    FROM (
        SELECT code, seq, at, actor, person,
            ROW_NUMBER() OVER (PARTITION BY code ORDER BY seq) AS n
        FROM events
        WHERE kind = 'sale' AND outcome <> 'rejected' AND fund_paid AND person IS NOT NULL
    ) t
    WHERE n = 1
),
back_in AS (
    SELECT code, seq, at, actor, counterparty
    FROM events
    WHERE outcome <> 'rejected'
        AND (kind IN ('intake', 'receive')
            OR (kind = 'stock_change' AND stock_change IN (101, 103, 106, 108, 110)))
),
reentry AS (
    SELECT f.code, f.seq AS sale_seq, f.actor AS sold_at, f.person, MIN(b.seq) AS back_seq
    FROM first_sale f
    JOIN back_in b ON b.code = f.code AND b.at > f.at
    GROUP BY f.code, f.seq, f.actor, f.person
),
resold AS (
    SELECT r.code, MIN(s.seq) AS resale_seq
    FROM reentry r
    JOIN events s ON s.code = r.code AND s.kind = 'sale' AND s.seq > r.back_seq
    GROUP BY r.code
)
SELECT
    'high' AS severity,
    r.code,
    b.actor AS institution,
    r.sold_at AS related_institution,
    r.person,
    COALESCE(b2.product, b.code_product) AS product,
    b.at,
    COALESCE(CASE WHEN b2.fund_paid THEN b2.amount_fen ELSE 0 END, 0) AS amount_fen,
    CAST(r.sale_seq AS VARCHAR) || ',' || CAST(r.back_seq AS VARCHAR)
        || COALESCE(',' || CAST(x.resale_seq AS VARCHAR), '') AS evidence,
    'sold at ' || r.sold_at || ', taken in again by ' || b.actor
        || COALESCE(' from ' || b.counterparty, '') AS detail
FROM reentry r
JOIN events b ON b.code = r.code AND b.seq = r.back_seq
LEFT JOIN resold x ON x.code = r.code
LEFT JOIN events b2 ON b2.code = x.code AND b2.seq = x.resale_seq
