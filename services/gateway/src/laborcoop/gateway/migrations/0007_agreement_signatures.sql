-- Who signed an agreement, and an amendment under signature, as the agreements service shows
-- them (laborcoop.gateway.views.projections: the gateway's list answers the same fields as the
-- service's record). `signatures` and `amendment_signatures` list `{province, signed_at}` in signing order;
-- `amendment` is the revision under signature (NULL when none), shown to the parties only.
ALTER TABLE agreement_view
    ADD COLUMN signatures           jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN amendment            jsonb,
    ADD COLUMN amendment_signatures jsonb NOT NULL DEFAULT '[]';
