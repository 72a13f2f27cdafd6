-- The gate's interceptions by reason: refused sales and the fund amount they asked for.
SELECT
    reason,
    COUNT(*) AS interceptions,
    COUNT(DISTINCT code) AS codes,
    COUNT(DISTINCT actor) AS institutions,
    SUM(CASE WHEN fund_paid THEN amount_fen ELSE 0 END) AS intercepted_fen
FROM events
WHERE kind = 'sale' AND outcome = 'rejected'
GROUP BY reason
ORDER BY interceptions DESC
