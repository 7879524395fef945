"""Reading docker-compose.yml as `docker compose config` would, without a Docker engine: variables
interpolated from an env file (compose's `${VAR}`, `${VAR:-default}`, `${VAR:?error}`, `$$`
syntax), then checked against the Compose Specification's JSON schema (vendored by the pinned
check-jsonschema package, so it works offline)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"

_VAR = re.compile(r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<plain>[A-Za-z_][A-Za-z0-9_]*)")


class InterpolationError(ValueError):
    pass


def read_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        values[name.strip()] = value.strip()
    return values


def referenced_variables(text: str) -> set[str]:
    return {m.group("braced") or m.group("plain") for m in _VAR.finditer(text) if m.group(0) != "$$"}


def interpolate(value, env: dict[str, str]):
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("plain")
        op, arg = match.group("op"), match.group("arg")
        current = env.get(name)
        unset_or_empty = current is None or (current == "" and op and op.startswith(":"))
        if op in ("-", ":-"):
            return arg if (current is None if op == "-" else unset_or_empty) else current
        if op in ("?", ":?"):
            if current is None if op == "?" else unset_or_empty:
                raise InterpolationError(f"required variable {name} is missing a value: {arg}")
            return current
        return current or ""

    return _VAR.sub(substitute, value)


def load_compose(env: dict[str, str] | None = None, path: Path = COMPOSE) -> dict:
    """The compose file as a mapping, YAML anchors and merge keys resolved, variables interpolated."""
    raw = yaml.safe_load(path.read_text())
    return interpolate(raw, read_env_file() if env is None else env)


def compose_schema() -> dict:
    from check_jsonschema.builtin_schemas import get_builtin_schema

    return get_builtin_schema("vendor.compose-spec")


def schema_errors(document: dict) -> list[str]:
    import jsonschema

    validator_cls = jsonschema.validators.validator_for(compose_schema())
    validator = validator_cls(compose_schema(), format_checker=validator_cls.FORMAT_CHECKER)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]
