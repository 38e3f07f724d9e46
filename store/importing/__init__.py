"""Bulk product import: parsing, presets, validation/diff (the plan), batched writes.

Admin and CLI both go through ``store.importing.service``.
"""
