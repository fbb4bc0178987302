"""The audit trail: every read and write of personal data, hash-chained."""
