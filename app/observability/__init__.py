"""Logs and metrics: how operators see the service."""
