"""The transactional outbox for outgoing email: enqueued with the change it announces,
delivered at least once by a background dispatcher."""
