-- Per day: events uploaded, sales, the gate's interceptions (sales refused) and the fund
-- amount they would have paid (the rule is the view `gated_events`).
SELECT
    day,
    COUNT(*) AS scans,
    SUM(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END) AS sales,
    SUM(CASE WHEN intercepted THEN 1 ELSE 0 END) AS interceptions,
    SUM(intercepted_fen) AS intercepted_fen
FROM gated_events
GROUP BY day
ORDER BY day
