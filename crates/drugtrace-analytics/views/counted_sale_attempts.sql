-- The sale attempts the duplicate-sale models count, one row each: a sale that went through,
-- or one refused for what the pack or its billing was (already sold, billed as another
-- product, expired, recalled, destroyed, never issued); voided records are not sales.
-- Attempts on one pack by one institution for one known buyer, each at most 30 minutes
-- (1800 s, by the sales' own times) after the one before, are one settlement being
-- corrected: such a burst counts its attempts that stand (went through and were not given
-- back whole) or, when none stands, its last attempt alone. `units_before` is what the
-- counted attempts before this one still held when it came (a refused one holds the units
-- it billed, one that went through what it had not given back by then); none for the first.
-- An attempt is a repeat when `units_before + units > pack_units`.
CREATE VIEW counted_sale_attempts AS
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
)
SELECT c.*, b.units AS units_before
FROM counted c
LEFT JOIN before b ON b.code = c.code AND b.seq = c.seq
