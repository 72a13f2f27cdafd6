-- The gate's interceptions by reason: refused sales and the fund amount they asked for (the
-- rule is the view `gated_events`).
SELECT
    reason,
    COUNT(*) AS interceptions,
    COUNT(DISTINCT code) AS codes,
    COUNT(DISTINCT actor) AS institutions,
    SUM(intercepted_fen) AS intercepted_fen
FROM gated_events
WHERE intercepted
GROUP BY reason
ORDER BY interceptions DESC
