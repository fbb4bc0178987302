"""Customers' rights: access, correction, deletion, consent withdrawal, on business days."""
