-- model: return_mismatch
-- version: 2
-- severity: low
-- level: code
-- reads: pack
-- truth:
-- title.zh: 退货与销售不符
-- title.en: Return without a matching sale
-- about.zh: 退货没有对应的销售，或退回数量超过该笔销售尚未退回的数量。重复上传的同一退货记录（同一机构、时间、结算号与数量）不计。
-- about.en: A sale return with no matching sale, or of more units than that sale still has out. A return sent again (the same institution, time, settlement and units as one already recorded) is not one.
--
-- Version 2: returns are not replayed by the gate the way sales are, so a re-sent return is
-- refused; it is left out when an earlier return of the pack that was applied (and not
-- voided) has the same institution and time, and the same settlement and units where the
-- re-sent one names them.
WITH refused AS (
    SELECT code, seq, at, at_s, actor, code_product, settlement, units, reason
    FROM events
    WHERE kind = 'sale_return' AND NOT voided
        AND reason IN ('return_without_sale', 'return_exceeds_sale')
),
applied AS (
    SELECT code, seq, at_s, actor, settlement, units
    FROM events
    WHERE kind = 'sale_return' AND outcome <> 'rejected' AND NOT voided
),
resent AS (
    SELECT DISTINCT f.code, f.seq
    FROM refused f
    JOIN applied a ON a.code = f.code AND a.actor = f.actor AND a.at_s = f.at_s
    WHERE a.seq < f.seq
        AND (f.settlement IS NULL OR f.settlement = a.settlement)
        AND (f.units IS NULL OR f.units = a.units)
)
SELECT
    'low' AS severity,
    f.code,
    f.actor AS institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    CAST(NULL AS VARCHAR) AS person,
    f.code_product AS product,
    f.at,
    CAST(0 AS BIGINT) AS amount_fen,
    make_array(f.seq) AS evidence,
    'return refused: ' || f.reason AS detail
FROM refused f
LEFT JOIN resent r ON r.code = f.code AND r.seq = f.seq
WHERE r.code IS NULL
