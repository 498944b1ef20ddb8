"""The names projects give their env files.

The example (the file that documents the variables a service reads, with placeholder values):
`.env.example` is the convention of python-dotenv's and Django's docs and most templates;
`.env.sample`, `.env.template`, `env.example`, `example.env` and `.env.dist` (Symfony's name,
`.env-dist` in Mozilla's kitsune) are the others seen in public repositories. Ordered: when a
directory holds several, the first is the one ENV003 points at.
"""

from __future__ import annotations

ENV_EXAMPLE_NAMES = (
    ".env.example",
    ".env.sample",
    ".env.template",
    "env.example",
    "example.env",
    ".env.dist",
    ".env-dist",
    ".env-example",
)


def example_rank(name: str) -> int:
    """How usual a name is for the example (lower first); other env files after every example."""
    return ENV_EXAMPLE_NAMES.index(name) if name in ENV_EXAMPLE_NAMES else len(ENV_EXAMPLE_NAMES)
