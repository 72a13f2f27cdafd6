-- Codes sold more than once (for a public notice): times sold, where, and the product.
SELECT
    f.code,
    MAX(f.product) AS product,
    COALESCE(MAX(p.generic_name), '') AS generic_name,
    COUNT(*) + 1 AS times_sold,
    array_sort(array_agg(DISTINCT f.institution)) AS institutions,
    MAX(f.at) AS last_sale
FROM findings f
LEFT JOIN products p ON p.insurance_code = f.product
WHERE f.model = 'duplicate_sale'
GROUP BY f.code
ORDER BY times_sold DESC, f.code
