-- model: duplicate_sale
-- version: 1
-- severity: high
-- level: code
-- truth: resale_ring, cloned_code, repeat_sale_3plus
-- title.zh: 重复销售
-- title.en: Duplicate sale
-- about.zh: 同一追溯码被销售两次及以上。每次结算计一次；第二次起的销售（因已售出而被拦截或判定的）各为一条线索，医保基金支付的为高风险。
-- about.en: One code sold two times or more. Each settlement counts once; every sale after the pack was already sold is one finding, high when the fund pays for it.
--
-- A sale counts when it was applied, or refused only because the pack was sold already
-- (split sales of one pack are one pack's worth, not repeats).
WITH sales AS (
    SELECT code, seq, at, actor, settlement, person, product, amount_fen, fund_paid, reason
    FROM events
    WHERE kind = 'sale' AND (outcome <> 'rejected' OR reason = 'already_sold')
),
repeated AS (
    SELECT code, COUNT(*) AS times, MIN(seq) AS first_seq
    FROM sales
    GROUP BY code
    HAVING SUM(CASE WHEN reason = 'already_sold' THEN 1 ELSE 0 END) > 0
)
SELECT
    CASE WHEN s.fund_paid THEN 'high' ELSE 'medium' END AS severity,
    s.code,
    s.actor AS institution,
    f.actor AS related_institution,
    s.person,
    s.product,
    s.at,
    CASE WHEN s.fund_paid THEN s.amount_fen ELSE 0 END AS amount_fen,
    CAST(f.seq AS VARCHAR) || ',' || CAST(s.seq AS VARCHAR) AS evidence,
    'sold ' || CAST(r.times AS VARCHAR) || ' times; this sale came after the pack was sold at '
        || f.actor AS detail
FROM sales s
JOIN repeated r ON r.code = s.code
JOIN sales f ON f.code = r.code AND f.seq = r.first_seq
WHERE s.reason = 'already_sold'
