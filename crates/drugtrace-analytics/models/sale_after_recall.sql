-- model: sale_after_recall
-- version: 1
-- severity: high
-- level: code
-- reads: pack
-- truth: sale_after_recall
-- title.zh: 召回药品销售
-- title.en: Sale after recall
-- about.zh: 药品被召回后仍被销售，含被闸口拦截的尝试。
-- about.en: A pack sold after it was recalled, attempts the gate refused included.
WITH recalls AS (
    SELECT code, MIN(at) AS recalled_at, MIN(seq) AS recall_seq
    FROM events
    WHERE kind = 'recall' AND outcome <> 'rejected'
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
    make_array(r.recall_seq, s.seq) AS evidence,
    'sold after the recall of ' || CAST(r.recalled_at AS VARCHAR) AS detail
FROM events s
JOIN recalls r ON r.code = s.code
WHERE s.kind = 'sale'
    AND (s.outcome <> 'rejected' OR s.reason = 'recalled')
    AND s.at > r.recalled_at
