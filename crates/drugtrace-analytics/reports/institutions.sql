-- Per institution: what it uploaded (上传总数: events and distinct codes), its sales and
-- their codes, the gate's interceptions of its sales, and the findings against it.
WITH uploads AS (
    SELECT actor,
        COUNT(*) AS scans,
        COUNT(DISTINCT code) AS codes,
        SUM(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END) AS sales,
        SUM(CASE WHEN kind = 'sale' AND outcome = 'rejected' THEN 1 ELSE 0 END) AS interceptions,
        SUM(CASE WHEN kind = 'sale' AND outcome = 'rejected' AND fund_paid THEN amount_fen ELSE 0 END)
            AS intercepted_fen,
        SUM(CASE WHEN kind = 'sale' AND outcome <> 'rejected' AND fund_paid THEN amount_fen ELSE 0 END)
            AS fund_paid_fen
    FROM events
    GROUP BY actor
),
flagged AS (
    SELECT institution, COUNT(*) AS findings, COUNT(DISTINCT code) AS flagged_codes,
        SUM(amount_fen) AS at_risk_fen
    FROM findings
    GROUP BY institution
)
SELECT
    u.actor AS institution,
    COALESCE(i.name, '') AS name,
    COALESCE(i.kind, '') AS kind,
    COALESCE(i.province, '') AS province,
    COALESCE(i.city, '') AS city,
    u.scans, u.codes, u.sales, u.interceptions, u.intercepted_fen, u.fund_paid_fen,
    COALESCE(f.findings, 0) AS findings,
    COALESCE(f.flagged_codes, 0) AS flagged_codes,
    COALESCE(f.at_risk_fen, 0) AS at_risk_fen
FROM uploads u
LEFT JOIN institutions i ON i.code = u.actor
LEFT JOIN flagged f ON f.institution = u.actor
ORDER BY findings DESC, at_risk_fen DESC, institution
