-- model: duplicate_sale_3plus
-- version: 2
-- severity: high
-- level: code
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
WITH counted AS (
    SELECT * FROM counted_sale_attempts
),
before AS (
    SELECT code, seq, units_before AS units
    FROM counted_sale_attempts
    WHERE units_before IS NOT NULL
),
repeats AS (
    SELECT s.code, s.seq
    FROM counted s
    JOIN before b ON b.code = s.code AND b.seq = s.seq
    WHERE b.units + s.units > s.pack_units
),
repeated AS (
    SELECT c.code, COUNT(*) AS times, SUM(c.amount_fen) AS total_fen,
        string_agg(CAST(c.seq AS VARCHAR), ',') AS seqs
    FROM counted c
    WHERE c.code IN (SELECT code FROM repeats)
    GROUP BY c.code
    HAVING COUNT(*) >= 3 AND SUM(CASE WHEN c.fund_paid THEN 0 ELSE 1 END) = 0
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
FROM counted s
JOIN repeats x ON x.code = s.code AND x.seq = s.seq
JOIN repeated r ON r.code = s.code
