-- model: duplicate_sale
-- version: 2
-- severity: high
-- level: code
-- reads: pack
-- truth: resale_ring, cloned_code, repeat_sale_3plus
-- title.zh: 重复销售
-- title.en: Duplicate sale
-- about.zh: 同一追溯码被销售两次及以上。每次结算尝试计一次，含被闸口拦截的（已售、串换、过期、召回等）；同一机构为同一参保人在 30 分钟内对同一盒药的多次结算视为一次更正。第二次起的销售各为一条线索，医保基金支付的为高风险。
-- about.en: One code sold two times or more. Every settlement attempt counts, refused ones included (already sold, billed as another product, expired, recalled…); attempts by one institution for one buyer on one pack, each within 30 minutes of the one before, are one settlement being corrected and count once. Every sale after the pack was already sold is one finding, high when the fund pays for it.
--
-- Version 2. An attempt is a sale that went through, or one refused for what the pack or its
-- billing was (split sales refused for their units are split_beyond_units'); voided records
-- are not sales. The correction window: attempts on one pack by one institution for one
-- (known) buyer, each at most 30 minutes after the one before, form a burst; a burst counts
-- its attempts that stand (went through and were not given back whole) or, when none stands,
-- its last attempt alone. An attempt is a repeat when the units of the counted attempts
-- before it (a refused one holds the units it billed, one that went through what it had not
-- given back by then) and its own exceed the pack's.
-- The counting of attempts, corrections and what each still held is the view
-- `counted_sale_attempts` (views/counted_sale_attempts.sql), shared with duplicate_sale_3plus.
-- The view is read once (a view is planned again at every mention, and three plans of it at
-- once ran out of memory on a 200,000-pack province): the first attempt and the count come
-- from window functions over it.
WITH counted AS (
    SELECT *,
        FIRST_VALUE(seq) OVER (PARTITION BY code ORDER BY seq) AS first_seq,
        FIRST_VALUE(actor) OVER (PARTITION BY code ORDER BY seq) AS first_actor,
        COUNT(*) OVER (PARTITION BY code) AS times
    FROM counted_sale_attempts
)
SELECT
    CASE WHEN s.fund_paid THEN 'high' ELSE 'medium' END AS severity,
    s.code,
    s.actor AS institution,
    s.first_actor AS related_institution,
    s.person,
    s.product,
    s.at,
    CASE WHEN s.fund_paid THEN s.amount_fen ELSE 0 END AS amount_fen,
    make_array(s.first_seq, s.seq) AS evidence,
    'sold ' || CAST(s.times AS VARCHAR) || ' times; this sale came after the pack was sold at '
        || s.first_actor AS detail
FROM counted s
WHERE s.units_before IS NOT NULL AND s.units_before + s.units > s.pack_units
