"""The rule registry: every rule preflight knows, in code order.

A rule is one module here (metadata + ``check(project, ctx)``) and one page in ``rules/``.
"""

from __future__ import annotations

from preflight.checks import (
    db001_sync_driver_for_neon,
    db002_asyncpg_libpq_params,
    db003_engine_driver_mismatch,
    db004_driver_not_installed,
    db005_postgres_scheme,
    db006_serverless_pool_unchecked,
    db007_blocking_db_call_in_async,
    db008_asyncio_extra_missing,
    env001_setting_not_provided,
    env002_secret_ref_unresolved,
    env003_env_example_incomplete,
    env004_sensitive_value_not_secret,
    env005_plaintext_secret_committed,
    env006_setting_constraint_violated,
    env007_pydantic_v1_settings_api,
    pf001_parse_error,
    pf002_unused_suppression,
    pkg001_command_not_installed,
    prb001_readiness_probe_missing,
    prb002_probe_path_not_served,
    prb003_readiness_endpoint_missing,
    prb004_readiness_skips_dependencies,
    prb005_liveness_checks_dependencies,
    prb006_probe_port_mismatch,
    prb007_readiness_never_fails,
    run001_server_bound_to_loopback,
    run004_dev_server_in_production,
)
from preflight.checks.rule import Rule
from preflight.findings import matches

RULES: tuple[Rule, ...] = tuple(
    sorted(
        (
            db001_sync_driver_for_neon.RULE,
            db002_asyncpg_libpq_params.RULE,
            db003_engine_driver_mismatch.RULE,
            db004_driver_not_installed.RULE,
            db005_postgres_scheme.RULE,
            db006_serverless_pool_unchecked.RULE,
            db007_blocking_db_call_in_async.RULE,
            db008_asyncio_extra_missing.RULE,
            env001_setting_not_provided.RULE,
            env002_secret_ref_unresolved.RULE,
            env003_env_example_incomplete.RULE,
            env004_sensitive_value_not_secret.RULE,
            env005_plaintext_secret_committed.RULE,
            env006_setting_constraint_violated.RULE,
            env007_pydantic_v1_settings_api.RULE,
            pf001_parse_error.RULE,
            pf002_unused_suppression.RULE,
            pkg001_command_not_installed.RULE,
            prb001_readiness_probe_missing.RULE,
            prb002_probe_path_not_served.RULE,
            prb003_readiness_endpoint_missing.RULE,
            prb004_readiness_skips_dependencies.RULE,
            prb005_liveness_checks_dependencies.RULE,
            prb006_probe_port_mismatch.RULE,
            prb007_readiness_never_fails.RULE,
            run001_server_bound_to_loopback.RULE,
            run004_dev_server_in_production.RULE,
        ),
        key=lambda rule: rule.code,
    )
)
BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


def is_known_selector(selector: str) -> bool:
    return any(matches(rule.code, selector) for rule in RULES)
