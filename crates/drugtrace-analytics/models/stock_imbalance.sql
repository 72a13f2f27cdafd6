-- model: stock_imbalance
-- version: 5
-- severity: medium
-- level: institution
-- truth:
-- title.zh: 进销不符（销量超过入库量）
-- title.en: Stock imbalance
-- about.zh: 某机构某品种已执行销售的整盒数超过其入库盒数减出库盒数（按追溯码计，另计无追溯码的进销存记录）。以超出盒数乘以平均结算金额估算基金风险。
-- about.en: An institution sold more whole packs of a product than it took in, net of stock sent out (counted by code, and by the records uploaded without codes). The fund at risk is the excess times the average fund-paid amount.
-- Each pack counts once per institution and direction: a pack received and then taken in
-- is one pack in. The distinct packs are found first, then counted. Records reported
-- without trace codes (`movements`) count too, in whole packs (a split quantity divided by
-- the catalog's units per pack): their sales net of returns as sold, the rest in or out;
-- those voided by a 3507 of their batch do not count (version 4). A pack the institution
-- sold only part of and then moved out of its stock (an opened box transferred to a branch)
-- counts as moved out, not as sold (version 5); a whole pack sold and then moved out still
-- counts as both.
WITH coded_sales AS (
    SELECT actor, COALESCE(product, code_product) AS product, code,
        SUM(CASE WHEN fund_paid THEN amount_fen ELSE 0 END) AS paid_fen,
        MAX(at) AS last_at, SUM(units) AS units, MAX(pack_units) AS pack_units
    FROM events
    WHERE kind = 'sale' AND outcome <> 'rejected' AND NOT voided
    GROUP BY actor, COALESCE(product, code_product), code
),
moved_packs AS (
    SELECT DISTINCT actor, code_product AS product, code,
        CASE WHEN kind IN ('intake', 'receive') OR stock_change IN (101, 103, 106, 108, 110)
            THEN 1 ELSE -1 END AS direction
    FROM events
    WHERE outcome <> 'rejected' AND NOT voided
        AND (kind IN ('intake', 'receive')
            OR (kind = 'stock_change'
                AND stock_change IN (101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111)))
),
moved_out AS (
    SELECT DISTINCT actor, code FROM moved_packs WHERE direction = -1
),
sold_packs AS (
    SELECT s.actor, s.product, s.code, s.paid_fen, s.last_at
    FROM coded_sales s
    LEFT JOIN moved_out o ON o.actor = s.actor AND o.code = s.code
    WHERE NOT (o.code IS NOT NULL AND s.units < s.pack_units)
),
codeless AS (
    SELECT m.institution AS actor, m.product, m.kind, m.direction, m.fund_paid, m.amount_fen,
        m.at,
        CASE WHEN m.split THEN m.quantity / CAST(COALESCE(p.units_per_pack, 1) AS DOUBLE)
            ELSE m.quantity END AS packs
    FROM movements m
    LEFT JOIN products p ON p.insurance_code = m.product
    WHERE NOT m.voided
),
counted AS (
    SELECT actor, product, CAST(1 AS DOUBLE) AS sold, CAST(0 AS DOUBLE) AS packs_in,
        CAST(0 AS DOUBLE) AS packs_out, paid_fen, last_at
    FROM sold_packs
    UNION ALL
    SELECT actor, product, CAST(0 AS DOUBLE),
        CAST(CASE WHEN direction = 1 THEN 1 ELSE 0 END AS DOUBLE),
        CAST(CASE WHEN direction = -1 THEN 1 ELSE 0 END AS DOUBLE),
        CAST(0 AS BIGINT), CAST(NULL AS TIMESTAMP)
    FROM moved_packs
    UNION ALL
    SELECT actor, product,
        CASE WHEN kind = 'sale' THEN packs WHEN kind = 'sale_return' THEN -packs ELSE 0 END,
        CASE WHEN kind IN ('intake', 'stock_change') AND direction = 1 THEN packs ELSE 0 END,
        CASE WHEN kind = 'stock_change' AND direction = -1 THEN packs ELSE 0 END,
        CASE WHEN kind = 'sale' AND fund_paid THEN amount_fen ELSE 0 END,
        CASE WHEN kind = 'sale' THEN at END
    FROM codeless
),
totals AS (
    SELECT actor, product, SUM(sold) AS sold, SUM(packs_in) AS packs_in,
        SUM(packs_out) AS packs_out, SUM(paid_fen) AS paid_fen, MAX(last_at) AS last_at
    FROM counted
    GROUP BY actor, product
)
SELECT
    'medium' AS severity,
    CAST(NULL AS VARCHAR) AS code,
    t.actor AS institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    CAST(NULL AS VARCHAR) AS person,
    t.product,
    t.last_at AS at,
    CAST((t.sold - t.packs_in + t.packs_out) * t.paid_fen / t.sold AS BIGINT) AS amount_fen,
    CAST(NULL AS INT UNSIGNED[]) AS evidence,
    'sold ' || CAST(CAST(ROUND(t.sold) AS BIGINT) AS VARCHAR) || ' packs, took in '
        || CAST(CAST(ROUND(t.packs_in) AS BIGINT) AS VARCHAR)
        || ', sent out ' || CAST(CAST(ROUND(t.packs_out) AS BIGINT) AS VARCHAR) AS detail
FROM totals t
WHERE t.sold > 0 AND t.last_at IS NOT NULL
    AND t.sold > t.packs_in - t.packs_out + 0.0001
