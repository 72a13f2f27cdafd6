-- Coverage per region: institutions in the directory, how many of them upload, what they
-- uploaded, interceptions and findings.
WITH uploads AS (
    SELECT actor, COUNT(*) AS scans,
        SUM(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END) AS sales,
        SUM(CASE WHEN kind = 'sale' AND outcome = 'rejected' THEN 1 ELSE 0 END) AS interceptions
    FROM events
    GROUP BY actor
),
flagged AS (
    SELECT institution, COUNT(*) AS findings, SUM(amount_fen) AS at_risk_fen
    FROM findings
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
    SUM(COALESCE(f.at_risk_fen, 0)) AS at_risk_fen
FROM institutions i
LEFT JOIN uploads u ON u.actor = i.code
LEFT JOIN flagged f ON f.institution = i.code
GROUP BY i.province, i.city
ORDER BY i.province, i.city
