-- model: sale_without_intake
-- version: 1
-- severity: medium
-- level: code
-- truth: sale_without_intake
-- title.zh: 无入库记录的销售
-- title.en: Sale without intake
-- about.zh: 机构销售了从未在本机构入库（采购入库、收货、调入、盘盈、其他入库、捐赠入库）的药品。只计已执行的销售：被闸口拦截的重复销售归入重复销售模型。
-- about.en: An institution sold a pack it never took in (intake, receipt, transfer in, count gain, other or donated in). Only sales that went through count: a repeat sale the gate refused belongs to the duplicate-sale model.
WITH sales AS (
    SELECT code, seq, at, actor, person, product, amount_fen, fund_paid
    FROM events
    WHERE kind = 'sale' AND outcome <> 'rejected'
),
stock_in AS (
    SELECT DISTINCT code, actor
    FROM events
    WHERE outcome <> 'rejected'
        AND (kind IN ('intake', 'receive')
            OR (kind = 'stock_change' AND stock_change IN (101, 103, 106, 108, 110)))
)
SELECT
    'medium' AS severity,
    s.code,
    s.actor AS institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    s.person,
    s.product,
    s.at,
    CASE WHEN s.fund_paid THEN s.amount_fen ELSE 0 END AS amount_fen,
    CAST(s.seq AS VARCHAR) AS evidence,
    'sold by ' || s.actor || ', which never took the pack in' AS detail
FROM sales s
LEFT JOIN stock_in i ON i.code = s.code AND i.actor = s.actor
WHERE i.code IS NULL
