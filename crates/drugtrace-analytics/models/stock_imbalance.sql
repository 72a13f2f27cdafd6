-- model: stock_imbalance
-- version: 2
-- severity: medium
-- level: institution
-- truth:
-- title.zh: 进销不符（销量超过入库量）
-- title.en: Stock imbalance
-- about.zh: 某机构某品种已执行销售的整盒数超过其入库盒数减出库盒数（按追溯码计）。以超出盒数乘以平均结算金额估算基金风险。
-- about.en: An institution sold more whole packs of a product than it took in, net of stock sent out (counted by code). The fund at risk is the excess times the average fund-paid amount.
-- Each pack counts once per institution and direction: a pack received and then taken in
-- is one pack in. The distinct packs are found first, then counted.
WITH sold_packs AS (
    SELECT actor, COALESCE(product, code_product) AS product, code,
        SUM(CASE WHEN fund_paid THEN amount_fen ELSE 0 END) AS paid_fen,
        MAX(at) AS last_at
    FROM events
    WHERE kind = 'sale' AND outcome <> 'rejected'
    GROUP BY actor, COALESCE(product, code_product), code
),
sold AS (
    SELECT actor, product, COUNT(*) AS packs, SUM(paid_fen) AS paid_fen, MAX(last_at) AS last_at
    FROM sold_packs
    GROUP BY actor, product
),
moved_packs AS (
    SELECT DISTINCT actor, code_product AS product, code,
        CASE WHEN kind IN ('intake', 'receive') OR stock_change IN (101, 103, 106, 108, 110)
            THEN 1 ELSE -1 END AS direction
    FROM events
    WHERE outcome <> 'rejected'
        AND (kind IN ('intake', 'receive')
            OR (kind = 'stock_change'
                AND stock_change IN (101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111)))
),
moved AS (
    SELECT actor, product,
        SUM(CASE WHEN direction = 1 THEN 1 ELSE 0 END) AS packs_in,
        SUM(CASE WHEN direction = -1 THEN 1 ELSE 0 END) AS packs_out
    FROM moved_packs
    GROUP BY actor, product
)
SELECT
    'medium' AS severity,
    CAST(NULL AS VARCHAR) AS code,
    s.actor AS institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    CAST(NULL AS VARCHAR) AS person,
    s.product,
    s.last_at AS at,
    CAST((s.packs - COALESCE(m.packs_in, 0) + COALESCE(m.packs_out, 0)) * s.paid_fen / s.packs AS BIGINT) AS amount_fen,
    CAST(NULL AS VARCHAR) AS evidence,
    'sold ' || CAST(s.packs AS VARCHAR) || ' packs, took in ' || CAST(COALESCE(m.packs_in, 0) AS VARCHAR)
        || ', sent out ' || CAST(COALESCE(m.packs_out, 0) AS VARCHAR) AS detail
FROM sold s
LEFT JOIN moved m ON m.actor = s.actor AND m.product = s.product
WHERE s.packs > COALESCE(m.packs_in, 0) - COALESCE(m.packs_out, 0)
