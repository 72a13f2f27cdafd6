-- The settled items (rows of `settlements`) that the institution uploaded: the one rule
-- behind the upload rate (上传率) of the reports `institutions` and `regions`.
-- An item was uploaded when the institution recorded a sale under the item's settlement id,
-- of the item's product when the sale names one: a sale of a pack, or a sale uploaded
-- without trace codes (a row of `movements` not voided). A settlement may hold several drugs, each
-- uploaded on its own. Every item counts once, however many sales match it.
CREATE VIEW uploaded_items AS
SELECT s.*
FROM settlements s
WHERE EXISTS (
    SELECT 1 FROM events e
    WHERE e.kind = 'sale' AND e.actor = s.institution AND e.settlement = s.settlement_id
        AND (e.product IS NULL OR e.product = s.insurance_code)
)
OR EXISTS (
    SELECT 1 FROM movements m
    WHERE m.kind = 'sale' AND NOT m.voided AND m.institution = s.institution
        AND m.settlement = s.settlement_id AND m.product = s.insurance_code
)
