"""Customers' shipping addresses."""
