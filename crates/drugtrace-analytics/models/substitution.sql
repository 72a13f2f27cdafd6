-- model: substitution
-- version: 1
-- severity: high
-- level: code
-- truth: substitution
-- title.zh: 串换药品（结算编码与追溯码不符）
-- title.en: Substitution
-- about.zh: 销售结算所用的医保药品编码，与追溯码按目录对应的药品不一致（串换）。含被闸口拦截的尝试；基金风险按结算金额计。
-- about.en: The insurance code a sale is billed as is not the product the trace code belongs to by the catalog. Attempts the gate refused included; the fund at risk is the billed amount.
SELECT
    'high' AS severity,
    code,
    actor AS institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    person,
    product,
    at,
    CASE WHEN fund_paid THEN amount_fen ELSE 0 END AS amount_fen,
    CAST(seq AS VARCHAR) AS evidence,
    'billed as ' || product || ', the code is ' || code_product AS detail
FROM events
WHERE kind = 'sale'
    AND product IS NOT NULL AND code_product IS NOT NULL
    AND product <> code_product
