-- model: duplicate_sale_3plus
-- version: 2
-- severity: high
-- level: code
-- reads: pack
-- truth: repeat_sale_3plus
-- title.zh: 三次及以上重复销售且均由基金支付
-- title.en: Sold 3+ times, every time paid by the fund
-- about.zh: 同一追溯码结算三次及以上（含被闸口拦截的结算尝试），且每次均为医保基金结算（国家医保局首批通报的情形）。同一机构为同一参保人在 30 分钟内的更正只计一次。每次重复销售为一条线索。
-- about.en: One code settled three times or more, every time by the insurance fund (the case of NHSA's first notice), the attempts the gate refused included; a correction (one institution, one buyer, within 30 minutes) counts once. Each repeat sale is one finding.
--
-- Version 2: the settlements are duplicate_sale's counted attempts (see its notes): refused
-- attempts count, corrections count once, voided records not at all. Version 1 counted only
-- sales that went through or were refused as already sold, so a code settled 8 times and
-- refused every time as billed for another product was never found.
-- The counting of attempts, corrections and what each still held is the view
-- `counted_sale_attempts` (views/counted_sale_attempts.sql), shared with duplicate_sale.
-- The view is read once (see duplicate_sale): each code's count, total, evidence and
-- whether any attempt is a repeat come from window functions over it.
WITH counted AS (
    SELECT *,
        units_before IS NOT NULL AND units_before + units > pack_units AS is_repeat
    FROM counted_sale_attempts
),
per_code AS (
    SELECT *,
        COUNT(*) OVER (PARTITION BY code) AS times,
        SUM(amount_fen) OVER (PARTITION BY code) AS total_fen,
        SUM(CASE WHEN fund_paid THEN 0 ELSE 1 END) OVER (PARTITION BY code) AS self_paid,
        MAX(CASE WHEN is_repeat THEN 1 ELSE 0 END) OVER (PARTITION BY code) AS repeated,
        array_agg(seq) OVER (PARTITION BY code ORDER BY seq
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS seqs
    FROM counted
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
    s.seqs AS evidence,
    'sold ' || CAST(s.times AS VARCHAR) || ' times, all paid by the fund (' || CAST(s.total_fen AS VARCHAR)
        || ' fen in all)' AS detail
FROM per_code s
WHERE s.is_repeat AND s.repeated = 1 AND s.times >= 3 AND s.self_paid = 0
