-- model: voided_codeless_sales
-- version: 1
-- severity: medium
-- level: institution
-- truth:
-- title.zh: 作废无追溯码的医保结算销售
-- title.en: Voided fund-paid sales without trace codes
-- about.zh: 机构以3507作废了一个批次中无追溯码上传的医保基金支付销售（记录保留为证据，不再计入进销存与上传率）。对该批次的作废覆盖20条及以上记录（含有码药品）为高风险。
-- about.en: An institution voided (3507) a batch holding fund-paid sales it had uploaded without trace codes; the records stay as evidence but no longer count in stock or upload rates. High when the voids of the batch covered 20 records or more, packs included.
--
-- One finding per institution, batch and product. The batch's records are its voided
-- movements and the packs a void of it covered (a void row's `upload` is the batch voided).
WITH voided AS (
    SELECT institution, upload, product, COUNT(*) AS sales,
        SUM(amount_fen) AS amount_fen, MAX(voided_at) AS voided_at
    FROM movements
    WHERE kind = 'sale' AND fund_paid AND voided
    GROUP BY institution, upload, product
),
covered AS (
    SELECT institution, upload, COUNT(*) AS n
    FROM movements
    WHERE voided
    GROUP BY institution, upload
    UNION ALL
    SELECT actor AS institution, upload, COUNT(DISTINCT code) AS n
    FROM events
    WHERE kind = 'void' AND outcome <> 'rejected'
    GROUP BY actor, upload
),
batches AS (
    SELECT institution, upload, SUM(n) AS records
    FROM covered
    GROUP BY institution, upload
)
SELECT
    CASE WHEN b.records >= 20 THEN 'high' ELSE 'medium' END AS severity,
    CAST(NULL AS VARCHAR) AS code,
    v.institution,
    CAST(NULL AS VARCHAR) AS related_institution,
    CAST(NULL AS VARCHAR) AS person,
    v.product,
    v.voided_at AS at,
    v.amount_fen,
    CAST(NULL AS INT UNSIGNED[]) AS evidence,
    CAST(v.sales AS VARCHAR) || ' fund-paid sales without trace codes voided with upload batch '
        || v.upload || ' (its voids covered ' || CAST(b.records AS VARCHAR) || ' records)'
        AS detail
FROM voided v
JOIN batches b ON b.institution = v.institution AND b.upload = v.upload
