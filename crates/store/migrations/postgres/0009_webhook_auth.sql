-- A notification endpoint that needs auth names one of the account's Brightcove credentials
-- (`http`: Basic; `oauth`: client-credentials Bearer) by label; resolved at delivery time.
ALTER TABLE webhooks ADD COLUMN credential_label TEXT;
