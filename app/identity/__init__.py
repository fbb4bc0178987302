"""Customers' identity: name, email and phone."""
