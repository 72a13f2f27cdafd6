-- Every recorded event, with the one rule for the gate's interceptions: a sale the ledger
-- refused (`outcome = 'rejected'`, whatever the reason) is an interception, and what the
-- fund would have paid for it (its amount when settled through the fund, else 0) is the
-- amount intercepted. The reports `daily`, `institutions`, `regions` and `interceptions`
-- and the dashboard's institution page count interceptions through it.
CREATE VIEW gated_events AS
SELECT *,
    (kind = 'sale' AND outcome = 'rejected') AS intercepted,
    CASE WHEN kind = 'sale' AND outcome = 'rejected' AND fund_paid THEN amount_fen ELSE 0 END
        AS intercepted_fen
FROM events
