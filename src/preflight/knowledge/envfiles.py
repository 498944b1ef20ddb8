"""The names projects give their env files.

The example (the file that documents the variables a service reads, with placeholder values):
`.env.example` is the convention of python-dotenv's and Django's docs and most templates;
`.env.sample`, `.env.template`, `env.example`, `example.env` and `.env.dist` (Symfony's name,
`.env-dist` in Mozilla's kitsune) are the others seen in public repositories. Ordered: when a
directory holds several, the first is the one ENV003 points at. One per environment is common
too: `.prod.env.template`, `.env.production.example`, `staging.env.sample` (after the others).
"""

from __future__ import annotations

import re

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


# An example per environment: `.prod.env.template`, `.env.production.example`, `ci.env.sample`.
_PER_ENVIRONMENT = re.compile(
    r"^(?:\.?[\w-]+(?:\.[\w-]+)*\.env|\.env(?:\.[\w-]+)+)[.-](?:example|sample|template|dist)$"
)


def is_example_name(name: str) -> bool:
    """Whether a file of this name documents the variables (an example, not a real env file)."""
    return name in ENV_EXAMPLE_NAMES or _PER_ENVIRONMENT.match(name) is not None


def example_rank(name: str) -> int:
    """How usual a name is for the example (lower first); other env files after every example."""
    if name in ENV_EXAMPLE_NAMES:
        return ENV_EXAMPLE_NAMES.index(name)
    return len(ENV_EXAMPLE_NAMES) + (0 if is_example_name(name) else 1)
