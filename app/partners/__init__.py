"""Partners the shop shares data with, under an agreement, and the webhooks sent to them."""
