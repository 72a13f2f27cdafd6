-- Coverage per region: institutions in the directory, how many of them upload, what they
-- uploaded, interceptions and findings, and the upload rate (上传率) of the items their
-- institutions settled (NULL when no settled item is known; see institutions.sql).
WITH uploads AS (
    SELECT actor, COUNT(*) AS scans,
        SUM(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END) AS sales,
        SUM(CASE WHEN intercepted THEN 1 ELSE 0 END) AS interceptions
    FROM gated_events
    GROUP BY actor
),
flagged AS (
    SELECT institution, COUNT(*) AS findings, SUM(amount_fen) AS at_risk_fen
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
)
SELECT
    i.province,
    i.city,
    COUNT(*) AS institutions,
    SUM(CASE WHEN u.actor IS NULL THEN 0 ELSE 1 END) AS uploading,
    SUM(COALESCE(u.scans, 0)) AS scans,
    SUM(COALESCE(u.sales, 0)) AS sales,
    SUM(COALESCE(u.interceptions, 0)) AS interceptions,
    SUM(COALESCE(f.findings, 0)) AS findings,
    SUM(COALESCE(f.at_risk_fen, 0)) AS at_risk_fen,
    SUM(COALESCE(s.settled_items, 0)) AS settled_items,
    SUM(COALESCE(p.uploaded_items, 0)) AS uploaded_items,
    CASE WHEN SUM(COALESCE(s.settled_items, 0)) > 0
        THEN CAST(SUM(COALESCE(p.uploaded_items, 0)) AS DOUBLE)
            / CAST(SUM(COALESCE(s.settled_items, 0)) AS DOUBLE)
    END AS upload_rate
FROM institutions i
LEFT JOIN uploads u ON u.actor = i.code
LEFT JOIN flagged f ON f.institution = i.code
LEFT JOIN settled s ON s.institution = i.code
LEFT JOIN uploaded p ON p.institution = i.code
GROUP BY i.province, i.city
ORDER BY i.province, i.city
