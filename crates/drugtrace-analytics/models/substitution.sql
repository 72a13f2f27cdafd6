-- model: substitution
-- version: 2
-- severity: high
-- level: code
-- reads: pack
-- truth: substitution
-- title.zh: 串换药品（结算编码与追溯码不符）
-- title.en: Substitution
-- about.zh: 销售结算所用的医保药品编码，与追溯码按目录对应的药品不一致（串换）。含被闸口拦截的尝试，但被拦截后 30 分钟内由同一机构为同一参保人按正确编码重新结算的视为更正；基金风险按结算金额计。
-- about.en: The insurance code a sale is billed as is not the product the trace code belongs to by the catalog. Attempts the gate refused included, unless the same institution billed the pack correctly for the same buyer within 30 minutes (a correction); the fund at risk is the billed amount.
--
-- Version 2: a refused wrong billing followed within 30 minutes (1800 s, by the sale's own
-- time) by a sale of the same pack, institution and buyer billed as the pack's own product
-- is a corrected data-entry error, not a finding; voided records do not count.
WITH sales AS (
    SELECT code, seq, at, at_s, actor, outcome, person, product, code_product, amount_fen,
        fund_paid
    FROM events
    WHERE kind = 'sale' AND NOT voided
        AND product IS NOT NULL AND code_product IS NOT NULL
),
corrected AS (
    SELECT DISTINCT s.code, s.seq
    FROM sales s
    JOIN sales c ON c.code = s.code AND c.actor = s.actor AND c.person = s.person
    WHERE s.outcome = 'rejected' AND s.product <> s.code_product
        AND c.product = c.code_product
        AND c.seq > s.seq AND c.at_s >= s.at_s AND c.at_s - s.at_s <= 1800
)
SELECT
    'high' AS severity,
    s.code,
    s.actor AS institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    s.person,
    s.product,
    s.at,
    CASE WHEN s.fund_paid THEN s.amount_fen ELSE 0 END AS amount_fen,
    make_array(s.seq) AS evidence,
    'billed as ' || s.product || ', the code is ' || s.code_product AS detail
FROM sales s
LEFT JOIN corrected c ON c.code = s.code AND c.seq = s.seq
WHERE s.product <> s.code_product AND c.code IS NULL
