-- model: case_box_diverted
-- version: 1
-- severity: high
-- level: code
-- truth: case_box_diverted
-- title.zh: 箱内药品在箱未到之处销售
-- title.en: Box sold where its case never arrived
-- about.zh: 一盒药品装箱后，其箱在其他机构收货或入库，而销售这盒药的机构从未收到这盒药，也从未收到它的箱：箱去了别处，盒却在这里售出（串货、拆箱倒卖，或假冒的盒子）。
-- about.en: A box was packed into a case, the case was received or taken in by another institution, and the institution that sold the box never took in the box or its case: the case went one way and the box was sold elsewhere (diversion, a case broken up and resold, or a counterfeit box).
--
-- The case a box was last packed into counts; voided and rejected records do not.
WITH applied AS (
    SELECT * FROM events WHERE outcome <> 'rejected' AND NOT voided
),
packed AS (
    SELECT code, case_code,
        ROW_NUMBER() OVER (PARTITION BY code ORDER BY seq DESC) AS latest
    FROM applied
    WHERE kind = 'pack_into'
),
stock_in AS (
    SELECT DISTINCT code, actor
    FROM applied
    WHERE kind IN ('intake', 'receive')
        OR (kind = 'stock_change' AND stock_change IN (101, 103, 106, 108, 110))
),
case_went AS (
    SELECT code, MIN(actor) AS actor FROM stock_in GROUP BY code
),
sales AS (
    SELECT code, seq, at, actor, person, product, amount_fen, fund_paid
    FROM applied
    WHERE kind = 'sale'
)
SELECT
    'high' AS severity,
    s.code,
    s.actor AS institution,
    w.actor AS related_institution,
    s.person,
    s.product,
    s.at,
    CASE WHEN s.fund_paid THEN s.amount_fen ELSE 0 END AS amount_fen,
    make_array(s.seq) AS evidence,
    'sold by ' || s.actor || ' from case ' || p.case_code || ', which went to ' || w.actor
        || '; ' || s.actor || ' never took in the box or its case' AS detail
FROM sales s
JOIN packed p ON p.code = s.code AND p.latest = 1
JOIN case_went w ON w.code = p.case_code
WHERE NOT EXISTS (
    SELECT 1 FROM stock_in i
    WHERE i.actor = s.actor AND (i.code = s.code OR i.code = p.case_code)
)
