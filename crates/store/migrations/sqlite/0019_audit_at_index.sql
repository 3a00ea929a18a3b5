-- The audit pruner removes events past the retention (STREAMGATE_AUDIT_RETENTION_DAYS) by age.
CREATE INDEX audit_events_at ON audit_events(at);
