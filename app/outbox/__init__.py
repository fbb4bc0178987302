"""The transactional outbox for outgoing email and SMS: enqueued with the change it announces,
delivered at least once by a background dispatcher, through one sender per channel."""
