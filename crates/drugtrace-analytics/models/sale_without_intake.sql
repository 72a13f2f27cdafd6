-- model: sale_without_intake
-- version: 2
-- severity: medium
-- level: code
-- reads: pack
-- truth: sale_without_intake, case_box_diverted
-- title.zh: 无入库记录的销售
-- title.en: Sale without intake
-- about.zh: 机构销售（或尝试结算）了从未在本机构入库（采购入库、收货、调入、盘盈、其他入库、捐赠入库）的药品。被闸口拦截的结算尝试也计入，只要它距该药品上一次结算已超过 30 天（如一盒药在外省售出数月后被另一机构重新结算）；30 天内的重复结算归入重复销售与克隆码模型。
-- about.en: An institution sold (or tried to settle) a pack it never took in (intake, receipt, transfer in, count gain, other or donated in). Attempts the gate refused count too when they come more than 30 days after the pack's previous settlement attempt (a pack sold in one province re-settled months later by a clinic that never had it); a repeat within 30 days belongs to the duplicate-sale and cloned-code models.
--
-- Version 2: refused attempts (already sold, billed as another product, expired, recalled,
-- destroyed, unknown code) count when no other attempt of the pack came in the 30 days
-- (2,592,000 s) before, and they were not corrected by another attempt of the same
-- institution for the same buyer within 30 minutes; voided records count as nothing: a
-- voided intake is no intake, a voided sale no sale.
WITH attempts AS (
    SELECT code, seq, at, at_s, actor, outcome, person, product, amount_fen, fund_paid,
        LAG(at_s) OVER (PARTITION BY code ORDER BY at_s, seq) AS prev_at_s
    FROM events
    WHERE kind = 'sale' AND NOT voided
        AND (outcome <> 'rejected'
            OR reason IN ('already_sold', 'product_mismatch', 'expired', 'recalled', 'destroyed',
                'unknown_code'))
),
corrected AS (
    SELECT DISTINCT a.code, a.seq
    FROM attempts a
    JOIN attempts b ON b.code = a.code AND b.actor = a.actor AND b.person = a.person
    WHERE a.outcome = 'rejected' AND b.seq <> a.seq
        AND b.at_s >= a.at_s AND b.at_s - a.at_s <= 1800
),
sales AS (
    SELECT a.*
    FROM attempts a
    LEFT JOIN corrected c ON c.code = a.code AND c.seq = a.seq
    WHERE c.code IS NULL
        AND (a.outcome <> 'rejected' OR a.prev_at_s IS NULL OR a.at_s - a.prev_at_s > 2592000)
),
stock_in AS (
    SELECT DISTINCT code, actor
    FROM events
    WHERE outcome <> 'rejected' AND NOT voided
        AND (kind IN ('intake', 'receive')
            OR (kind = 'stock_change' AND stock_change IN (101, 103, 106, 108, 110)))
)
SELECT
    'medium' AS severity,
    s.code,
    s.actor AS institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    s.person,
    s.product,
    s.at,
    CASE WHEN s.fund_paid THEN s.amount_fen ELSE 0 END AS amount_fen,
    make_array(s.seq) AS evidence,
    CASE WHEN s.outcome = 'rejected'
        THEN 'tried to settle by ' || s.actor || ' (refused), which never took the pack in'
        ELSE 'sold by ' || s.actor || ', which never took the pack in' END AS detail
FROM sales s
LEFT JOIN stock_in i ON i.code = s.code AND i.actor = s.actor
WHERE i.code IS NULL
