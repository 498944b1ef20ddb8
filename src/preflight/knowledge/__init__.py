"""Curated facts about the Python ecosystem; each table is documented where it is defined."""
