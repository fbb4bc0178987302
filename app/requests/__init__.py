"""Customers' rights: access, correction, deletion and consent withdrawal, on a business-day clock."""
