"""Personal access tokens: prefixed, checksummed, keyed-hash-stored, scoped, expiring API
credentials for scripts, integrations and staff; shown once and never able to manage credentials."""
