-- model: duplicate_sale_3plus
-- version: 1
-- severity: high
-- level: code
-- truth: repeat_sale_3plus
-- title.zh: 三次及以上重复销售且均由基金支付
-- title.en: Sold 3+ times, every time paid by the fund
-- about.zh: 同一追溯码销售三次及以上，且每次均为医保基金结算（国家医保局首批通报的情形）。每次重复销售为一条线索。
-- about.en: One code sold three times or more, every sale settled by the insurance fund (the case of NHSA's first notice). Each repeat sale is one finding.
WITH sales AS (
    SELECT code, seq, at, actor, settlement, person, product, amount_fen, fund_paid, reason
    FROM events
    WHERE kind = 'sale' AND (outcome <> 'rejected' OR reason = 'already_sold')
),
repeated AS (
    SELECT code, COUNT(*) AS times, SUM(amount_fen) AS total_fen,
        string_agg(CAST(seq AS VARCHAR), ',') AS seqs
    FROM sales
    GROUP BY code
    HAVING COUNT(*) >= 3
        AND SUM(CASE WHEN fund_paid THEN 0 ELSE 1 END) = 0
        AND SUM(CASE WHEN reason = 'already_sold' THEN 1 ELSE 0 END) > 0
)
SELECT
    'high' AS severity,
    s.code,
    s.actor AS institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    s.person,
    s.product,
    s.at,
    s.amount_fen,
    r.seqs AS evidence,
    'sold ' || CAST(r.times AS VARCHAR) || ' times, all paid by the fund (' || CAST(r.total_fen AS VARCHAR)
        || ' fen in all)' AS detail
FROM sales s
JOIN repeated r ON r.code = s.code
WHERE s.reason = 'already_sold'
