-- model: cloned_code
-- version: 2
-- severity: high
-- level: code
-- reads: pack
-- truth: cloned_code
-- title.zh: 追溯码克隆（异地短时重复销售）
-- title.en: Cloned code
-- about.zh: 同一追溯码在相距 100 公里以上的两家机构、24 小时内先后销售：一盒已售药品回流须经退回、转卖、入库，不可能在一天内跨越这样的距离，说明存在两盒同码药品（复制码）。
-- about.en: One code sold at two institutions at least 100 km apart within 24 hours. A sold pack must be brought back, traded and taken in before it can be sold again, which cannot cover such a distance in a day: two packs carry one code.
--
-- Consecutive sales of a code (by time), at different institutions with known locations;
-- the distance is the great-circle distance (haversine, earth radius 6371 km).
WITH sales AS (
    SELECT code, seq, at, at_s, actor, person, product, amount_fen, fund_paid
    FROM events
    WHERE kind = 'sale' AND (outcome <> 'rejected' OR reason = 'already_sold')
),
multi AS (
    SELECT code FROM sales GROUP BY code HAVING MIN(actor) <> MAX(actor)
),
ordered AS (
    SELECT s.code, s.seq, s.at, s.at_s, s.actor, s.person, s.product, s.amount_fen, s.fund_paid,
        LAG(s.actor) OVER (PARTITION BY s.code ORDER BY s.at_s, s.seq) AS prev_actor,
        LAG(s.at_s) OVER (PARTITION BY s.code ORDER BY s.at_s, s.seq) AS prev_at_s,
        LAG(s.seq) OVER (PARTITION BY s.code ORDER BY s.at_s, s.seq) AS prev_seq
    FROM sales s
    JOIN multi m ON m.code = s.code
),
pairs AS (
    SELECT o.*, a.province AS prev_province, b.province AS province,
        2 * 6371 * asin(sqrt(
            power(sin(radians(b.lat - a.lat) / 2), 2)
            + cos(radians(a.lat)) * cos(radians(b.lat)) * power(sin(radians(b.lon - a.lon) / 2), 2)
        )) AS km,
        CAST(o.at_s - o.prev_at_s AS DOUBLE) / 3600.0 AS hours
    FROM ordered o
    JOIN institutions a ON a.code = o.prev_actor
    JOIN institutions b ON b.code = o.actor
    WHERE o.prev_actor <> o.actor
)
SELECT
    'high' AS severity,
    code,
    actor AS institution,
    prev_actor AS related_institution,
    person,
    product,
    at,
    CASE WHEN fund_paid THEN amount_fen ELSE 0 END AS amount_fen,
    make_array(prev_seq, seq) AS evidence,
    'sold at ' || prev_actor || ' (' || prev_province || ') and ' || CAST(CAST(round(hours) AS BIGINT) AS VARCHAR)
        || ' h later at ' || actor || ' (' || province || '), '
        || CAST(CAST(round(km) AS BIGINT) AS VARCHAR) || ' km apart' AS detail
FROM pairs
WHERE km >= 100 AND hours < 24
