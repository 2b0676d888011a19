"""Outgoing webhooks (Standard Webhooks): endpoints, fan-out of the feed, signed deliveries."""
