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
WITH attempts AS (
    SELECT code, seq, at, at_s, actor, settlement, person, product, units, pack_units,
        amount_fen, fund_paid, outcome
    FROM events
    WHERE kind = 'sale' AND NOT voided
        AND (outcome <> 'rejected'
            OR reason IN ('already_sold', 'product_mismatch', 'expired', 'recalled', 'destroyed',
                'unknown_code'))
),
returns AS (
    SELECT code, actor, settlement, at_s, units
    FROM events
    WHERE kind = 'sale_return' AND outcome <> 'rejected' AND NOT voided
),
given_back AS (
    SELECT a.code, a.seq, SUM(r.units) AS units
    FROM attempts a
    JOIN returns r ON r.code = a.code AND r.actor = a.actor
        AND (r.settlement = a.settlement OR (r.settlement IS NULL AND a.settlement IS NULL))
    WHERE a.outcome <> 'rejected'
    GROUP BY a.code, a.seq
),
marked AS (
    SELECT a.*,
        CASE WHEN a.outcome <> 'rejected' AND COALESCE(g.units, 0) < a.units THEN 1 ELSE 0 END
            AS stands,
        CASE WHEN a.person IS NULL THEN 1
            WHEN a.at_s - LAG(a.at_s) OVER (PARTITION BY a.code, a.actor, a.person
                ORDER BY a.at_s, a.seq) <= 1800 THEN 0
            ELSE 1 END AS starts_burst
    FROM attempts a
    LEFT JOIN given_back g ON g.code = a.code AND g.seq = a.seq
),
numbered AS (
    SELECT *,
        SUM(starts_burst) OVER (PARTITION BY code, actor, person ORDER BY at_s, seq
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS burst
    FROM marked
),
bursts AS (
    SELECT *,
        MAX(stands) OVER (PARTITION BY code, actor, person, burst) AS burst_stands,
        ROW_NUMBER() OVER (PARTITION BY code, actor, person, burst ORDER BY at_s DESC, seq DESC)
            AS from_last
    FROM numbered
),
counted AS (
    SELECT code, seq, at, at_s, actor, settlement, person, product, units, pack_units,
        amount_fen, fund_paid, outcome
    FROM bursts
    WHERE stands = 1 OR (burst_stands = 0 AND from_last = 1)
),
earlier AS (
    SELECT x.code, x.seq, e.seq AS e_seq, e.actor AS e_actor, e.settlement AS e_settlement,
        e.outcome AS e_outcome, e.units AS e_units, x.at_s AS x_at_s
    FROM counted x
    JOIN counted e ON e.code = x.code AND (e.at_s < x.at_s OR (e.at_s = x.at_s AND e.seq < x.seq))
),
held AS (
    SELECT p.code, p.seq, p.e_seq,
        p.e_units - COALESCE(SUM(CASE WHEN p.e_outcome <> 'rejected' AND r.at_s <= p.x_at_s
            THEN r.units ELSE 0 END), 0) AS units
    FROM earlier p
    LEFT JOIN returns r ON r.code = p.code AND r.actor = p.e_actor
        AND (r.settlement = p.e_settlement OR (r.settlement IS NULL AND p.e_settlement IS NULL))
    GROUP BY p.code, p.seq, p.e_seq, p.e_units
),
before AS (
    SELECT code, seq, SUM(units) AS units FROM held GROUP BY code, seq
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
