"""The parsed facts the graph holds, as rules name them.

Rules read facts only through the model: this module is where the model exposes the fact
types (and the two pure helpers over them) that it hands to rules, so that no rule imports a
parser. The parse layer defines them; nothing here adds behaviour.
"""

from __future__ import annotations

from preflight.parse.manifests import KService, Probe
from preflight.parse.pyproject import Pyproject
from preflight.parse.python import BlockingCall, PythonModule
from preflight.parse.requirements import Requirement, normalise_name
from preflight.parse.shell import Invocation, invocations, shell_invocations

__all__ = [
    "BlockingCall",
    "Invocation",
    "KService",
    "Probe",
    "Pyproject",
    "PythonModule",
    "Requirement",
    "invocations",
    "normalise_name",
    "shell_invocations",
]
