"""Complaints and inquiries, answered within 3 business days."""
