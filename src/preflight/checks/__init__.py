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
    db009_database_host_is_localhost,
    db010_sqlite_in_replicated_deployment,
    env001_setting_not_provided,
    env002_secret_ref_unresolved,
    env003_env_example_incomplete,
    env004_sensitive_value_not_secret,
    env005_plaintext_secret_committed,
    env006_setting_constraint_violated,
    env007_pydantic_v1_settings_api,
    env008_service_link_env_collision,
    env009_insecure_default_secret,
    env010_secret_value_trailing_newline,
    img001_healthcheck_tool_missing,
    img002_base_python_outside_requires_python,
    img003_build_context_file_missing,
    img004_run_as_non_root_unverifiable,
    img005_read_only_root_without_tmp,
    pf001_parse_error,
    pf002_unused_suppression,
    pf003_malformed_suppression,
    pkg001_command_not_installed,
    pkg002_command_needs_missing_package,
    prb001_readiness_probe_missing,
    prb002_probe_path_not_served,
    prb003_readiness_endpoint_missing,
    prb004_readiness_skips_dependencies,
    prb005_liveness_checks_dependencies,
    prb006_probe_port_mismatch,
    prb007_readiness_never_fails,
    run001_server_bound_to_loopback,
    run002_env_var_not_expanded,
    run003_asgi_app_on_wsgi_worker,
    run004_dev_server_in_production,
    run005_app_not_importable_in_image,
    run006_entrypoint_script_broken,
    svc001_service_selects_no_pods,
    svc002_ingress_backend_undefined,
)
from preflight.checks.rule import Rule
from preflight.findings import matches
from preflight.suggest import closest

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
            db009_database_host_is_localhost.RULE,
            db010_sqlite_in_replicated_deployment.RULE,
            env001_setting_not_provided.RULE,
            env002_secret_ref_unresolved.RULE,
            env003_env_example_incomplete.RULE,
            env004_sensitive_value_not_secret.RULE,
            env005_plaintext_secret_committed.RULE,
            env006_setting_constraint_violated.RULE,
            env007_pydantic_v1_settings_api.RULE,
            img003_build_context_file_missing.RULE,
            img001_healthcheck_tool_missing.RULE,
            img002_base_python_outside_requires_python.RULE,
            env008_service_link_env_collision.RULE,
            env009_insecure_default_secret.RULE,
            env010_secret_value_trailing_newline.RULE,
            img004_run_as_non_root_unverifiable.RULE,
            img005_read_only_root_without_tmp.RULE,
            pf001_parse_error.RULE,
            pf002_unused_suppression.RULE,
            pf003_malformed_suppression.RULE,
            pkg001_command_not_installed.RULE,
            pkg002_command_needs_missing_package.RULE,
            prb001_readiness_probe_missing.RULE,
            prb002_probe_path_not_served.RULE,
            prb003_readiness_endpoint_missing.RULE,
            prb004_readiness_skips_dependencies.RULE,
            prb005_liveness_checks_dependencies.RULE,
            prb006_probe_port_mismatch.RULE,
            prb007_readiness_never_fails.RULE,
            run001_server_bound_to_loopback.RULE,
            run002_env_var_not_expanded.RULE,
            run003_asgi_app_on_wsgi_worker.RULE,
            run004_dev_server_in_production.RULE,
            run005_app_not_importable_in_image.RULE,
            run006_entrypoint_script_broken.RULE,
            svc001_service_selects_no_pods.RULE,
            svc002_ingress_backend_undefined.RULE,
        ),
        key=lambda rule: rule.code,
    )
)
BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


def is_known_selector(selector: str) -> bool:
    return any(matches(rule.code, selector) for rule in RULES)


BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}
FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(rule.code.rstrip("0123456789") for rule in RULES))


class UnknownRule(ValueError):
    """A code, prefix or name that selects no rule; the message says what was probably meant."""


def rule_for(text: str) -> Rule | None:
    """The rule ``text`` names: its code or its name (as `ruff rule unused-import`), any case."""
    text = text.strip()
    return BY_CODE.get(text.upper()) or BY_NAME.get(text.lower().replace("_", "-"))


def resolve_selector(selector: str) -> str:
    """What ``selector`` selects, as a code or prefix: ``ALL``, a prefix (``PKG``), a code or
    a rule's name (its code). Raises :class:`UnknownRule` when it selects nothing."""
    rule = BY_NAME.get(selector.strip().lower().replace("_", "-"))
    if rule is not None:
        return rule.code
    code = selector.strip().upper()
    if code and is_known_selector(code):
        return code
    raise UnknownRule(unknown_rule(selector))


def unknown_rule(text: str) -> str:
    """The one-line message for a code or name no rule has: the rule meant, if one is close;
    else the family's codes (`PKG999`: the PKG rules are PKG001); else where to look."""
    text = text.strip()
    looks_like_code = text[:1].isalpha() and text.replace("_", "").isalnum() and "_" not in text
    kind = "rule code" if looks_like_code else "rule name"
    head = f"unknown {kind} `{text}`"
    if looks_like_code:
        code = closest(text, BY_CODE)
        if code is not None:
            return f"{head}; did you mean `{code}` ({BY_CODE[code].name})?"
    name = closest(text.lower().replace("_", "-"), BY_NAME)
    if name is not None:
        return f"{head}; did you mean `{name}` ({BY_NAME[name].code})?"
    if looks_like_code:
        family = text.upper().rstrip("0123456789")
        guessed = family not in FAMILIES
        if guessed:
            family = closest(family, FAMILIES) or ""
        codes = [rule.code for rule in RULES if rule.code.rstrip("0123456789") == family]
        if codes:
            listed = ", ".join(codes) if len(codes) <= 3 else f"{codes[0]} to {codes[-1]}"
            if guessed:
                return f"{head}; did you mean `{family}` ({listed})?"
            return f"{head}; the {family} rules are {listed}"
    return f"{head} (`preflight rules` lists every rule)"
