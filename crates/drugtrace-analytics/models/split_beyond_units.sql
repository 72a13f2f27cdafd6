-- model: split_beyond_units
-- version: 2
-- severity: medium
-- level: code
-- reads: pack
-- truth: split_beyond_units
-- title.zh: 拆零销售超出整盒数量
-- title.en: Split sales beyond the pack's units
-- about.zh: 同一盒药品有拆零销售，其全部销售数量合计（扣除退货，含被闸口以数量超出或已售完拦截的尝试，含拆零后的整盒销售）超过整盒包装数量。对象为最后一次销售的机构。
-- about.en: A pack with split sales whose sales add up (net of returns) to more units than it holds, counting the attempts the gate refused because the units were exceeded or ran out, and a whole-pack sale after split sales. The finding is against the seller of the last of them.
--
-- Version 2: every sale of a pack that has a split sale counts (version 1 counted split
-- sales only, so a whole-pack sale after split sales was missed), and a sale refused
-- because the units had run out (`already_sold`) counts beside one refused for exceeding
-- them; voided records count as nothing.
WITH sales AS (
    SELECT code, seq, at, actor, person, product, units, pack_units, amount_fen, fund_paid
    FROM events
    WHERE kind = 'sale' AND NOT voided
        AND (outcome <> 'rejected' OR reason IN ('units_exceeded', 'already_sold'))
),
split_packs AS (
    SELECT DISTINCT code FROM sales WHERE units < pack_units
),
split AS (
    SELECT s.* FROM sales s JOIN split_packs p ON p.code = s.code
),
returned AS (
    SELECT code, SUM(units) AS units
    FROM events
    WHERE kind = 'sale_return' AND outcome <> 'rejected' AND NOT voided
    GROUP BY code
),
per_code AS (
    SELECT code, SUM(units) AS units, MAX(pack_units) AS pack_units, MAX(seq) AS last_seq,
        SUM(CASE WHEN fund_paid THEN amount_fen ELSE 0 END) AS paid_fen,
        COUNT(*) AS sales,
        array_agg(seq ORDER BY seq) AS seqs
    FROM split
    GROUP BY code
)
SELECT
    'medium' AS severity,
    p.code,
    s.actor AS institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    s.person,
    s.product,
    s.at,
    CAST((p.units - COALESCE(r.units, 0) - p.pack_units) * p.paid_fen / p.units AS BIGINT) AS amount_fen,
    p.seqs AS evidence,
    CAST(p.sales AS VARCHAR) || ' sales of ' || CAST(p.units - COALESCE(r.units, 0) AS VARCHAR)
        || ' units from a pack of ' || CAST(p.pack_units AS VARCHAR) AS detail
FROM per_code p
LEFT JOIN returned r ON r.code = p.code
JOIN split s ON s.code = p.code AND s.seq = p.last_seq
WHERE p.units - COALESCE(r.units, 0) > p.pack_units
