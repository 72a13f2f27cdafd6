-- model: sale_after_expiry
-- version: 1
-- severity: high
-- level: code
-- reads: pack
-- truth: sale_after_expiry
-- title.zh: 过期药品销售
-- title.en: Sale after expiry
-- about.zh: 销售日期晚于药品有效期（以扫码所带或赋码登记的有效期为准），含被闸口拦截的尝试。
-- about.en: A sale dated after the pack's expiry (as the scan carried it, or as the manufacturer registered it), attempts the gate refused included.
WITH registered AS (
    SELECT code, MIN(expiry) AS expiry
    FROM events
    WHERE kind = 'commission' AND expiry IS NOT NULL
    GROUP BY code
)
SELECT
    'high' AS severity,
    s.code,
    s.actor AS institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    s.person,
    s.product,
    s.at,
    CASE WHEN s.fund_paid THEN s.amount_fen ELSE 0 END AS amount_fen,
    make_array(s.seq) AS evidence,
    'sold on ' || CAST(s.day AS VARCHAR) || ', expired on ' || CAST(COALESCE(s.expiry, r.expiry) AS VARCHAR) AS detail
FROM events s
LEFT JOIN registered r ON r.code = s.code
WHERE s.kind = 'sale'
    AND (s.outcome <> 'rejected' OR s.reason = 'expired')
    AND COALESCE(s.expiry, r.expiry) < s.day
