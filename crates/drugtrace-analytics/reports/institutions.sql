-- Per institution: what it uploaded (上传总数: events and distinct codes), its sales and
-- their codes, the gate's interceptions of its sales, the findings against it, and its
-- upload rate (上传率): of the items it settled that needed a trace code (the `settlements`
-- table), the share with a sale it uploaded under the item's settlement id. The rate is
-- NULL when no settled item is known.
WITH uploads AS (
    SELECT actor,
        COUNT(*) AS scans,
        COUNT(DISTINCT code) AS codes,
        SUM(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END) AS sales,
        SUM(CASE WHEN intercepted THEN 1 ELSE 0 END) AS interceptions,
        SUM(intercepted_fen) AS intercepted_fen,
        SUM(CASE WHEN kind = 'sale' AND NOT intercepted AND fund_paid THEN amount_fen ELSE 0 END)
            AS fund_paid_fen
    FROM gated_events
    GROUP BY actor
),
flagged AS (
    SELECT institution, COUNT(*) AS findings, COUNT(DISTINCT code) AS flagged_codes,
        SUM(amount_fen) AS at_risk_fen
    FROM findings
    GROUP BY institution
),
settled AS (
    SELECT institution, COUNT(*) AS settled_items
    FROM settlements
    GROUP BY institution
),
-- The items uploaded: the view `uploaded_items` (views/uploaded_items.sql) holds the rule.
uploaded AS (
    SELECT institution, COUNT(*) AS uploaded_items
    FROM uploaded_items
    GROUP BY institution
),
actors AS (
    SELECT actor FROM uploads
    UNION
    SELECT institution FROM settled
)
SELECT
    a.actor AS institution,
    COALESCE(i.name, '') AS name,
    COALESCE(i.kind, '') AS kind,
    COALESCE(i.province, '') AS province,
    COALESCE(i.city, '') AS city,
    COALESCE(u.scans, 0) AS scans,
    COALESCE(u.codes, 0) AS codes,
    COALESCE(u.sales, 0) AS sales,
    COALESCE(u.interceptions, 0) AS interceptions,
    COALESCE(u.intercepted_fen, 0) AS intercepted_fen,
    COALESCE(u.fund_paid_fen, 0) AS fund_paid_fen,
    COALESCE(f.findings, 0) AS findings,
    COALESCE(f.flagged_codes, 0) AS flagged_codes,
    COALESCE(f.at_risk_fen, 0) AS at_risk_fen,
    COALESCE(s.settled_items, 0) AS settled_items,
    COALESCE(p.uploaded_items, 0) AS uploaded_items,
    CASE WHEN s.settled_items > 0
        THEN CAST(COALESCE(p.uploaded_items, 0) AS DOUBLE) / CAST(s.settled_items AS DOUBLE)
    END AS upload_rate
FROM actors a
LEFT JOIN uploads u ON u.actor = a.actor
LEFT JOIN institutions i ON i.code = a.actor
LEFT JOIN flagged f ON f.institution = a.actor
LEFT JOIN settled s ON s.institution = a.actor
LEFT JOIN uploaded p ON p.institution = a.actor
ORDER BY findings DESC, at_risk_fen DESC, institution
