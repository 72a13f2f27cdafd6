-- The resale network's flows, ranked: packs first sold (and paid by the fund) to an insured
-- person at institution A that were taken into stock again at institution B. One row per
-- A -> B pair: packs, persons implicated, the fund amount at risk, and the time span.
SELECT
    f.related_institution AS sold_at,
    COALESCE(MAX(a.name), '') AS sold_at_name,
    COALESCE(MAX(a.city), '') AS sold_at_city,
    f.institution AS taken_in_at,
    COALESCE(MAX(b.name), '') AS taken_in_at_name,
    COALESCE(MAX(b.city), '') AS taken_in_at_city,
    COUNT(DISTINCT f.code) AS packs,
    COUNT(DISTINCT f.person) AS persons,
    SUM(f.amount_fen) AS at_risk_fen,
    MIN(f.at) AS first_at,
    MAX(f.at) AS last_at
FROM findings f
LEFT JOIN institutions a ON a.code = f.related_institution
LEFT JOIN institutions b ON b.code = f.institution
WHERE f.model = 'resale_network'
GROUP BY f.related_institution, f.institution
ORDER BY packs DESC, at_risk_fen DESC, sold_at, taken_in_at
