"""The reference deployment agrees with the README and pyproject.toml.

No container engine runs on these machines, so the files are read instead of run: compose.yaml's
services run the README's process types with the README's commands, and the Dockerfile builds on
Python 3.11, installs the project with every dependency pyproject.toml declares, copies what the
commands read at run time, and runs as a user other than root.
"""
from __future__ import annotations

import fnmatch
import json
import re
import shlex
import tomllib

import pytest
import yaml

from examportal import ROOT

INFRASTRUCTURE = {"postgres", "redis"}


def process_types() -> dict[str, list[str]]:
    """The process-type table of the README's Production section: name → command as argv."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\n## Production\n" in readme, "the README has no Production section"
    section = readme.split("\n## Production\n", 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"\|\s*process\s*\|\s*command\s*\|", line))
    table: dict[str, list[str]] = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"`([a-z-]+)`", cells[0])
        command = re.fullmatch(r"`(.+)`", cells[1])
        assert name and command, f"README process table: row not of the form | `name` | `command` | …: {line}"
        table[name.group(1)] = shlex.split(command.group(1))
    return table


def compose_services() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))["services"]


def argv(command: str | list[str]) -> list[str]:
    return shlex.split(command) if isinstance(command, str) else list(command)


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (INSTRUCTION, arguments), continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def exec_form(arguments: str) -> list[str]:
    return json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)


def copied_before(instructions: list[tuple[str, str]], index: int) -> set[str]:
    """What the COPY instructions before ``index`` put into the image (their source paths)."""
    sources: set[str] = set()
    for keyword, arguments in instructions[:index]:
        if keyword == "COPY":
            parts = [part for part in shlex.split(arguments) if not part.startswith("--")]
            sources |= {part.rstrip("/") for part in parts[:-1]}
    return sources


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_readme_documents_the_three_process_types():
    table = process_types()
    assert {"web", "worker", "scheduler"} <= set(table)
    assert table["worker"] == ["flask", "jobs", "worker"]
    assert table["scheduler"] == ["flask", "jobs", "scheduler"]
    assert table["web"][0] == "gunicorn" and table["web"][-1] == "examportal:create_app()"


def test_compose_runs_every_process_type_with_the_readme_command():
    table, services = process_types(), compose_services()

    assert set(services) == set(table) | INFRASTRUCTURE, "compose services and the README's process types differ"
    for name, command in table.items():
        assert argv(services[name]["command"]) == command, f"compose's {name} command differs from the README's"


def test_compose_process_types_share_the_image_and_the_production_environment():
    services = compose_services()
    for name in process_types():
        service = services[name]
        assert service.get("build") == ".", f"{name} is not built from this Dockerfile"
        environment = service["environment"]
        assert environment["EXAMPORTAL_CONFIG"] == "production"
        assert re.match(r"postgresql://[^@]+@postgres:5432/", environment["DATABASE_URL"]), name
        assert environment["REDIS_URL"].startswith("redis://redis:"), name
        assert environment["RATELIMIT_STORAGE_URI"].startswith("redis://redis:"), name
        for secret in ("SECRET_KEY", "AUDIT_KEY", "CREDENTIAL_KEY"):
            assert environment[secret].startswith("${"), f"{name}: {secret} must come from the environment, not the file"
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")


def test_the_dockerfile_builds_on_python_3_11():
    bases = [arguments for keyword, arguments in dockerfile() if keyword == "FROM"]
    assert bases, "the Dockerfile has no FROM"
    assert re.fullmatch(r"python:3\.11(-[a-z0-9.-]+)?", bases[0].split()[0]), bases[0]
    requires = pyproject()["project"]["requires-python"]
    assert requires == ">=3.11", f"pyproject's requires-python changed ({requires}): update the image"


def test_the_dockerfile_installs_the_project_with_every_declared_dependency():
    instructions = dockerfile()
    installs = [i for i, (keyword, arguments) in enumerate(instructions)
                if keyword == "RUN" and re.search(r"\bpip install\b", arguments)]
    assert installs, "the Dockerfile installs nothing with pip"
    project = [i for i in installs if re.search(r"\bpip install (-e )?\.(\[[a-z,]+\])?(\s|$|&&)", instructions[i][1] + " ")]
    assert len(project) == 1, "the Dockerfile must install the project itself (`pip install .`), once"
    index = project[0]
    assert "--no-deps" not in instructions[index][1], "the project is installed without its dependencies"

    copied = copied_before(instructions, index)
    config = pyproject()
    needed = {"pyproject.toml", config["project"]["readme"]}
    # Every package setuptools is told to find must be in the image when pip builds the project.
    for pattern in config["tool"]["setuptools"]["packages"]["find"]["include"]:
        needed |= {path.name for path in ROOT.iterdir()
                   if path.is_dir() and fnmatch.fnmatch(path.name, pattern) and (path / "__init__.py").exists()}
    assert needed <= copied, f"copied only after `pip install` (or never): {sorted(needed - copied)}"
    assert config["project"]["dependencies"], "pyproject.toml declares no dependencies"


def test_the_image_holds_what_the_commands_read_at_run_time():
    copied = copied_before(dockerfile(), len(dockerfile()))
    web = process_types()["web"]
    if "-c" in web:
        assert web[web.index("-c") + 1] in copied, "gunicorn's configuration file is not in the image"
    # examportal.ROOT: templates and migrations beside the packages.
    assert {"templates", "migrations"} <= copied


def test_the_images_default_command_is_the_web_process():
    commands = [arguments for keyword, arguments in dockerfile() if keyword == "CMD"]
    assert commands and exec_form(commands[-1]) == process_types()["web"]


def test_the_image_does_not_run_as_root():
    users = [arguments.split(":")[0] for keyword, arguments in dockerfile() if keyword == "USER"]
    assert users, "the Dockerfile never leaves root"
    assert users[-1] not in ("root", "0")


def dockerignore() -> list[str]:
    return [line.strip() for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("kept_out", ["instance", "*.db", "*.backup", ".venv", ".git"])
def test_dockerignore_keeps_secrets_and_data_out_of_the_image(kept_out):
    assert kept_out in dockerignore()


def test_dockerignore_hides_nothing_the_dockerfile_copies():
    patterns = dockerignore()
    for source in copied_before(dockerfile(), len(dockerfile())):
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which does not exist"
        assert not any(fnmatch.fnmatch(source, pattern) for pattern in patterns), f".dockerignore hides {source}"
