-- Per day: events uploaded, sales, the gate's interceptions (sales refused) and the fund
-- amount they would have paid.
SELECT
    day,
    COUNT(*) AS scans,
    SUM(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END) AS sales,
    SUM(CASE WHEN kind = 'sale' AND outcome = 'rejected' THEN 1 ELSE 0 END) AS interceptions,
    SUM(CASE WHEN kind = 'sale' AND outcome = 'rejected' AND fund_paid THEN amount_fen ELSE 0 END)
        AS intercepted_fen
FROM events
GROUP BY day
ORDER BY day
