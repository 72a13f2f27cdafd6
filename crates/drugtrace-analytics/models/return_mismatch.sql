-- model: return_mismatch
-- version: 1
-- severity: low
-- level: code
-- truth:
-- title.zh: 退货与销售不符
-- title.en: Return without a matching sale
-- about.zh: 退货没有对应的销售，或退回数量超过该笔销售尚未退回的数量。
-- about.en: A sale return with no matching sale, or of more units than that sale still has out.
SELECT
    'low' AS severity,
    code,
    actor AS institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    CAST(NULL AS VARCHAR) AS person,
    code_product AS product,
    at,
    CAST(0 AS BIGINT) AS amount_fen,
    CAST(seq AS VARCHAR) AS evidence,
    'return refused: ' || reason AS detail
FROM events
WHERE kind = 'sale_return' AND reason IN ('return_without_sale', 'return_exceeds_sale')
