-- model: resale_network
-- version: 4
-- severity: high
-- level: code
-- reads: pack
-- truth: resale_ring
-- title.zh: 回流药（售出后在他处再次入库）
-- title.en: Resale network
-- about.zh: 药品已由医保基金支付售予参保人（且未整盒退回）后，又在另一家机构入库（收货、采购入库、调入等）：回流药。售出机构自己的再入库（退货重新上架、售后补扫入库）不计。对象为再次入库的机构，关联首次销售机构与购药人；其后的再次销售金额计为基金风险。
-- about.en: A pack first sold to an insured person and paid by the fund (and not given back whole) is later taken into stock again at another institution: a resold pack. The seller's own re-entries (a refund put back on the shelf, an intake scanned after the sale) do not count. The finding is against the institution that took it back in, with the first seller and the buyer; a later sale's fund amount is at risk.
--
-- Version 3: the re-entry must be at an institution other than the seller, the sale must
-- still stand (a sale given back whole before the pack moved on returned it legitimately),
-- and voided records count as nothing.
-- Version 4: a re-entry does not count when the first sale left units in the pack (a split
-- sale) and the seller itself moved the pack out of its stock (transferred it, 102, or
-- shipped it) after the sale and before the re-entry: stock moving between branches of a
-- chain, which the warehouse does not know, with the seller still holding the pack. A
-- whole pack "transferred" after it was sold held nothing to transfer, and counts.
WITH returned AS (
    SELECT code, actor, settlement, SUM(units) AS units
    FROM events
    WHERE kind = 'sale_return' AND outcome <> 'rejected' AND NOT voided
    GROUP BY code, actor, settlement
),
paid AS (
    SELECT s.code, s.seq, s.at, s.actor, s.person, s.units, s.pack_units
    FROM events s
    LEFT JOIN returned r ON r.code = s.code AND r.actor = s.actor
        AND (r.settlement = s.settlement OR (r.settlement IS NULL AND s.settlement IS NULL))
    WHERE s.kind = 'sale' AND s.outcome <> 'rejected' AND NOT s.voided AND s.fund_paid
        AND s.person IS NOT NULL AND s.units > COALESCE(r.units, 0)
),
back_in AS (
    SELECT code, seq, at, actor, counterparty, code_product
    FROM events
    WHERE outcome <> 'rejected' AND NOT voided
        AND (kind IN ('intake', 'receive')
            OR (kind = 'stock_change' AND stock_change IN (101, 103, 106, 108, 110)))
),
-- Each pack's first standing fund-paid sale to a person (sales reach the ledger in the
-- order they happened, so the first recorded is the earliest).
first_sale AS (
    SELECT code, MIN(seq) AS sale_seq
    FROM paid
    GROUP BY code
),
-- The seller moving the pack out of its own stock.
moved_out AS (
    SELECT code, seq, at, actor
    FROM events
    WHERE outcome <> 'rejected' AND NOT voided
        AND (kind = 'ship' OR (kind = 'stock_change' AND stock_change = 102))
),
-- The first time it was taken into stock again after that sale, somewhere else, unless
-- the seller, still holding units of it, had moved it out in between.
reentry AS (
    SELECT b.code, MIN(f.sale_seq) AS sale_seq, MIN(b.seq) AS back_seq
    FROM first_sale f
    JOIN paid p ON p.code = f.code AND p.seq = f.sale_seq
    JOIN back_in b ON b.code = f.code AND b.at > p.at AND b.actor <> p.actor
    WHERE NOT (p.units < p.pack_units AND EXISTS (
        SELECT 1 FROM moved_out m
        WHERE m.code = b.code AND m.actor = p.actor AND m.seq > p.seq AND m.seq < b.seq))
    GROUP BY b.code
),
-- The first sale after that, if any: the payment at risk.
resold AS (
    SELECT r.code, MIN(s.seq) AS resale_seq
    FROM reentry r
    JOIN events s ON s.code = r.code AND s.kind = 'sale' AND NOT s.voided AND s.seq > r.back_seq
    GROUP BY r.code
)
SELECT
    'high' AS severity,
    r.code,
    b.actor AS institution,
    f.actor AS related_institution,
    f.person,
    COALESCE(x.product, b.code_product) AS product,
    b.at,
    COALESCE(CASE WHEN x.fund_paid THEN x.amount_fen ELSE 0 END, 0) AS amount_fen,
    CASE WHEN x.seq IS NULL THEN make_array(r.sale_seq, r.back_seq)
        ELSE make_array(r.sale_seq, r.back_seq, x.seq) END AS evidence,
    'sold at ' || f.actor || ', taken in again by ' || b.actor
        || COALESCE(' from ' || b.counterparty, '') AS detail
FROM reentry r
JOIN paid f ON f.code = r.code AND f.seq = r.sale_seq
JOIN back_in b ON b.code = r.code AND b.seq = r.back_seq
LEFT JOIN (
    SELECT o.code, e.seq, e.product, e.fund_paid, e.amount_fen
    FROM resold o
    JOIN events e ON e.code = o.code AND e.seq = o.resale_seq
) x ON x.code = r.code
