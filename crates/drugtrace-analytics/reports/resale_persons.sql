-- The persons implicated in the resale network, ranked: insured persons (as their hashed
-- identity) whose fund-paid packs were taken into stock again, with how many, where they
-- bought them and where the packs reappeared.
SELECT
    f.person,
    COUNT(DISTINCT f.code) AS packs,
    SUM(f.amount_fen) AS at_risk_fen,
    array_sort(array_agg(DISTINCT f.related_institution)) AS bought_at,
    array_sort(array_agg(DISTINCT f.institution)) AS taken_in_at,
    MIN(f.at) AS first_at,
    MAX(f.at) AS last_at
FROM findings f
WHERE f.model = 'resale_network' AND f.person IS NOT NULL
GROUP BY f.person
ORDER BY packs DESC, at_risk_fen DESC, f.person
