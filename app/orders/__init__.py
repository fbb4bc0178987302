"""Orders: items, payment and fulfilment, with the address each was shipped to."""
