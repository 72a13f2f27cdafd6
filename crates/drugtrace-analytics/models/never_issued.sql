-- model: never_issued
-- version: 2
-- severity: high
-- level: code
-- truth: never_issued
-- title.zh: 未赋码的追溯码（疑似假码）
-- title.en: Code never issued
-- about.zh: 追溯码在流通或销售中出现，但没有任何生产企业的赋码记录：疑似伪造。每个码一条线索，对象为销售机构（未销售的为首个上报机构）。若这些药品由一家从未上传赋码的生产企业发货、经流通企业收货（流通链完整），则为一条针对该生产企业的线索（未上传赋码），而非每盒一条。
-- about.en: A code moves or sells but no manufacturer ever issued it: likely forged. One finding per code, against the seller (or the first institution to report it when unsold). Packs whose log starts with a shipment by a manufacturer that never uploads any commission, received by a distributor (a complete chain), are one finding about that manufacturer (it does not upload its commissions), not one per pack.
--
-- Version 2: the per-manufacturer finding has no code (institution level, medium: a
-- manufacturer's missing uploads, not a forgery) and names how many packs it shipped so.
-- A manufacturer is an institution of kind `manufacturer` in the directory; one that
-- commissioned any pack uploads its commissions, and its uncommissioned packs stay one
-- finding each. Voided commissions issue nothing.
WITH issued AS (
    SELECT DISTINCT code
    FROM events
    WHERE kind = 'commission' AND outcome <> 'rejected' AND NOT voided
),
commissioning AS (
    SELECT DISTINCT actor
    FROM events
    WHERE kind = 'commission' AND outcome <> 'rejected' AND NOT voided
),
orphan AS (
    SELECT e.code, e.seq, e.kind, e.at, e.actor, e.outcome, e.voided
    FROM events e
    LEFT JOIN issued i ON i.code = e.code
    WHERE i.code IS NULL
),
first_applied AS (
    SELECT code, MIN(seq) AS seq
    FROM orphan
    WHERE outcome <> 'rejected' AND NOT voided
    GROUP BY code
),
received AS (
    SELECT DISTINCT o.code, o.actor
    FROM orphan o
    JOIN institutions d ON d.code = o.actor AND d.kind = 'distributor'
    WHERE o.kind = 'receive' AND o.outcome <> 'rejected' AND NOT o.voided
),
-- Packs whose first applied event is a shipment by a manufacturer that never commissions,
-- received by a distributor afterwards.
chained AS (
    SELECT DISTINCT s.code, s.actor AS maker, s.at
    FROM first_applied f
    JOIN orphan s ON s.code = f.code AND s.seq = f.seq AND s.kind = 'ship'
    JOIN institutions m ON m.code = s.actor AND m.kind = 'manufacturer'
    JOIN received r ON r.code = s.code AND r.actor <> s.actor
    LEFT JOIN commissioning c ON c.actor = s.actor
    WHERE c.actor IS NULL
),
per_maker AS (
    SELECT maker, COUNT(*) AS packs, MAX(at) AS at
    FROM chained
    GROUP BY maker
),
per_code AS (
    SELECT o.code, MIN(o.seq) AS first_seq,
        MIN(CASE WHEN o.kind = 'sale' THEN o.seq END) AS sale_seq,
        COUNT(*) AS n,
        array_agg(o.seq ORDER BY o.seq) AS seqs
    FROM orphan o
    LEFT JOIN chained c ON c.code = o.code
    WHERE c.code IS NULL
    GROUP BY o.code
)
SELECT
    CASE WHEN p.sale_seq IS NULL THEN 'medium' ELSE 'high' END AS severity,
    e.code,
    e.actor AS institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    e.person,
    COALESCE(e.product, e.code_product) AS product,
    e.at,
    CASE WHEN e.fund_paid THEN e.amount_fen ELSE 0 END AS amount_fen,
    p.seqs AS evidence,
    CAST(p.n AS VARCHAR) || ' event(s) of a code no manufacturer issued' AS detail
FROM per_code p
JOIN events e ON e.code = p.code AND e.seq = COALESCE(p.sale_seq, p.first_seq)
UNION ALL
SELECT
    'medium' AS severity,
    CAST(NULL AS VARCHAR) AS code,
    m.maker AS institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    CAST(NULL AS VARCHAR) AS person,
    CAST(NULL AS VARCHAR) AS product,
    m.at,
    CAST(0 AS BIGINT) AS amount_fen,
    CAST(NULL AS INT UNSIGNED[]) AS evidence,
    CAST(m.packs AS VARCHAR) || ' pack(s) shipped by ' || m.maker
        || ' through a distributor without a commission: the manufacturer uploads none'
        AS detail
FROM per_maker m
