"""Consent to consent-based purposes (e.g. order status notifications), with history."""
