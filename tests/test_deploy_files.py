"""The container image and the deployment files (docs/install.md): the
Dockerfile passes hadolint and has the promised shape, deploy/compose.yaml is
a valid Compose file with the promised topology whose every ``ADUAN_*`` value
is a real, valid setting, and the systemd backup units run a real command.

Docker itself is not needed: the files are parsed (PyYAML, the ``dockerfile``
package's Go parser, the ``compose-spec`` validator) and the image's
healthcheck command is run against a real gateway."""

from __future__ import annotations

import asyncio
import configparser
import ipaddress
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import compose_spec
import dockerfile
import pytest
import yaml
from sqlalchemy.engine import make_url

from gateway.app import create_app
from gateway.cli import build_parser
from gateway.config import Settings, load_settings
from tests.runtime_fixtures import make_harness

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SETTINGS = {f"ADUAN_{name.upper()}" for name in Settings.model_fields}


# --- Dockerfile --------------------------------------------------------------


def _instructions() -> list[Any]:
    return list(dockerfile.parse_file(str(ROOT / "Dockerfile")))


def _stages() -> list[list[Any]]:
    stages: list[list[Any]] = []
    for ins in _instructions():
        if ins.cmd == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(ins)
    return stages


def _args() -> dict[str, str]:
    found = {}
    for ins in _instructions():
        if ins.cmd == "FROM":
            break
        if ins.cmd == "ARG":
            name, _, default = ins.value[0].partition("=")
            found[name] = default
    return found


def _env(stage: list[Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for ins in stage:
        if ins.cmd == "ENV":
            env.update(zip(ins.value[::2], ins.value[1::2], strict=True))
    return env


def test_hadolint_finds_nothing() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    result = subprocess.run(
        [str(hadolint), "--failure-threshold", "info", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_multi_stage_slim_non_root_with_aduan_as_entrypoint() -> None:
    args = _args()
    build, final = _stages()
    bases = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], s[0].value[0]) for s in _stages()]
    assert bases == ["python:3.11-slim", "python:3.11-slim"]
    assert build[0].value[1:] == ("AS", "build")

    # The build stage makes the venv; the final stage only copies it.
    assert any("venv /opt/aduan" in i.value[0] for i in build if i.cmd == "RUN")
    [copy] = [i for i in final if i.cmd == "COPY"]
    assert copy.flags == ("--from=build",) and copy.value == ("/opt/aduan", "/opt/aduan")
    final_runs = " ".join(i.value[0] for i in final if i.cmd == "RUN")
    for tool in ("pip install", "build-essential", "gcc", "git ", "-dev ", "curl"):
        assert tool not in final_runs
    assert "--no-install-recommends fonts-dejavu-core" in final_runs  # the PDF forms' font
    assert "rm -rf /var/lib/apt/lists/*" in final_runs

    # Non-root: a numeric uid that the stage creates, never 0.
    [user] = [i.value[0] for i in final if i.cmd == "USER"]
    uid = user.split(":")[0]
    assert uid.isdigit() and uid != "0"
    assert f"--uid {uid}" in final_runs

    [entrypoint] = [i for i in final if i.cmd == "ENTRYPOINT"]
    assert entrypoint.json and entrypoint.value == ("aduan",)
    [command] = [i.value for i in final if i.cmd == "CMD"]
    assert build_parser().parse_args(list(command)).command == "serve"

    env = _env(final)
    assert env["PATH"].startswith("/opt/aduan/bin:")
    assert {k for k in env if k.startswith("ADUAN_")} <= SETTINGS
    [volume] = [i.value for i in final if i.cmd == "VOLUME"]
    assert volume == (env["ADUAN_DATA_DIR"],)
    assert [i.value for i in final if i.cmd == "EXPOSE"] == [(env["ADUAN_HTTP_PORT"],)]
    load_settings(**{k[len("ADUAN_") :].lower(): v for k, v in env.items() if k in SETTINGS})


def test_the_build_context_holds_what_the_build_copies_and_no_local_data() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"  # everything out, then what the image needs back in
    included = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    build = _stages()[0]
    copied = {src for i in build if i.cmd == "COPY" for src in i.value[:-1]}
    assert copied == included
    for source in copied:
        assert (ROOT / source).exists()
    assert not included & {".env", "var", ".venv", "tests", ".git"}


def _healthcheck_code() -> str:
    [check] = [i for i in _stages()[-1] if i.cmd == "HEALTHCHECK"]
    assert check.json and check.value[:3] == ("CMD", "python", "-c")
    assert "/healthz" in check.value[3]
    return str(check.value[3])


async def _run_healthcheck(port: int) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _healthcheck_code(),
        env={"ADUAN_HTTP_PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await process.wait()


async def test_the_image_healthcheck_passes_on_a_running_gateway_only(
    aiohttp_client: Any, tmp_path: Path, unused_tcp_port: int
) -> None:
    h = await make_harness(tmp_path)
    try:
        client = await aiohttp_client(
            create_app(h.runtime.settings, runtime=h.runtime, run_channels=False)
        )
        assert client.server.host == "127.0.0.1"
        assert await _run_healthcheck(client.server.port) == 0
    finally:
        await h.runtime.close()
    assert await _run_healthcheck(unused_tcp_port) != 0


# --- deploy/compose.yaml ---------------------------------------------------------


def _interpolate(text: str) -> str:
    """Compose's ``${NAME:-default}`` with nothing set: the default."""
    unresolved = re.findall(r"\$\{(\w+)\}", text)
    assert not unresolved, f"variables without a default: {unresolved}"
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: m.group(2), text)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(_interpolate((DEPLOY / "compose.yaml").read_text()))
    return loaded


def _example_env() -> dict[str, str]:
    text = (DEPLOY / "aduan.env.example").read_text(encoding="utf-8")
    return dict(re.findall(r"^(ADUAN_[A-Z0-9_]+)=(.*)$", text, re.MULTILINE))


def test_compose_is_a_valid_compose_file(compose: dict[str, Any]) -> None:
    spec = compose_spec.PyCompose.from_json(json.dumps(compose)).to_spec()
    assert spec.services is not None
    assert set(spec.services) == {"postgres", "redis", "migrate", "serve", "worker", "caddy"}


def test_compose_topology(compose: dict[str, Any]) -> None:
    services = compose["services"]
    parser = build_parser()
    aduan = {"migrate": "db", "serve": "serve", "worker": "worker"}
    for name, command in aduan.items():
        service = services[name]
        assert service["build"] == {"context": "..", "dockerfile": "Dockerfile"}
        assert (DEPLOY / service["build"]["context"] / "Dockerfile").is_file()
        assert parser.parse_args(service["command"]).command == command
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    assert services["serve"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2

    # Start order: healthy database and Redis, migrated schema, then the rest.
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"][0] == "CMD"
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("serve", "worker"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }
    # serve keeps the image's /healthz check, which Caddy waits for; the others
    # serve no HTTP and turn it off.
    assert "healthcheck" not in services["serve"]
    assert services["worker"]["healthcheck"] == {"disable": True}
    assert services["migrate"]["healthcheck"] == {"disable": True}
    assert services["caddy"]["depends_on"] == {"serve": {"condition": "service_healthy"}}

    # Named volumes for every piece of data, each declared.
    declared = set(compose["volumes"])
    used = {
        v.split(":")[0]
        for s in services.values()
        for v in s.get("volumes", [])
        if not v.startswith(".")
    }
    assert (
        used
        == declared
        == {
            "aduan-data",
            "postgres-data",
            "redis-data",
            "caddy-data",
            "caddy-config",
        }
    )
    data_dir = services["serve"]["environment"]["ADUAN_DATA_DIR"]
    assert f"aduan-data:{data_dir}" in services["serve"]["volumes"]
    [volume] = [i.value for i in _stages()[-1] if i.cmd == "VOLUME"]
    assert volume == (data_dir,)


def test_caddy_fronts_the_serves_with_automatic_tls(compose: dict[str, Any]) -> None:
    services = compose["services"]
    caddy = services["caddy"]
    assert caddy["image"].startswith("caddy:2")
    assert {"80:80", "443:443"} <= set(caddy["ports"])
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    caddyfile = (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    for name in ("SITE_ADDRESS", "UPSTREAM"):
        assert "{$" + name in caddyfile and name in caddy["environment"]
    host, _, port = caddy["environment"]["UPSTREAM"].partition(":")
    serve_env = services["serve"]["environment"]
    assert host == "serve" and port == serve_env["ADUAN_HTTP_PORT"]
    assert serve_env["ADUAN_HTTP_HOST"] == "0.0.0.0"  # listening inside the container
    assert serve_env["ADUAN_PUBLIC_URL"] == "https://" + caddy["environment"]["SITE_ADDRESS"]

    # Only Caddy's forwarded headers are believed: its fixed address, on the subnet.
    address = ipaddress.ip_address(caddy["networks"]["aduan"]["ipv4_address"])
    [subnet] = compose["networks"]["aduan"]["ipam"]["config"]
    assert address in ipaddress.ip_network(subnet["subnet"])
    trusted = load_settings(trusted_proxies=serve_env["ADUAN_TRUSTED_PROXIES"])
    assert [address in n for n in trusted.trusted_proxy_networks] == [True]
    assert trusted.trusted_proxy_networks[0].num_addresses == 1


def test_every_aduan_variable_compose_sets_is_a_real_valid_setting(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    example = _example_env()
    assert set(example) <= SETTINGS
    named = set(re.findall(r"\bADUAN_[A-Z0-9_]+", (DEPLOY / "compose.yaml").read_text()))
    assert named <= SETTINGS, named - SETTINGS
    services = compose["services"]
    postgres = services["postgres"]["environment"]
    for name in ("migrate", "serve", "worker"):
        service = services[name]
        files = [f["path"] for f in service["env_file"]]
        assert files == ["./aduan.env.example", "./aduan.env"]
        assert [f["required"] for f in service["env_file"]] == [True, False]
        environment = service["environment"]
        assert set(environment) <= SETTINGS, set(environment) - SETTINGS

        # The settings a container starts with load without an error.
        for variable in SETTINGS:
            monkeypatch.delenv(variable, raising=False)
        for variable, value in {**example, **environment}.items():
            monkeypatch.setenv(variable, str(value))
        settings = load_settings()
        url = make_url(settings.effective_database_url)
        assert url.get_backend_name() == "postgresql" and url.host == "postgres"
        assert (url.username, url.password, url.database) == (
            postgres["POSTGRES_USER"],
            postgres["POSTGRES_PASSWORD"],
            postgres["POSTGRES_DB"],
        )
        assert settings.redis_url is not None
        assert make_url(settings.redis_url).host == "redis"
    assert ".env" in (ROOT / ".gitignore").read_text().split()
    assert "deploy/aduan.env" in (ROOT / ".gitignore").read_text().split()


# --- systemd units ---------------------------------------------------------------


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / name).read_text(encoding="utf-8"))
    return parser


def test_the_nightly_backup_units_run_aduan_backup_as_the_service_does() -> None:
    serve = _unit("aduan-serve.service")["Service"]
    service = _unit("aduan-backup.service")["Service"]
    for key in ("User", "Group", "WorkingDirectory", "EnvironmentFile"):
        assert service[key] == serve[key]
    assert service["Type"] == "oneshot"
    binary, *argv = service["ExecStart"].split()
    assert binary == serve["ExecStart"].split()[0]
    args = build_parser().parse_args(argv)
    assert args.command == "backup" and args.path.endswith("/") and args.keep == 14
    writable = service["ReadWritePaths"].split()
    assert args.path.rstrip("/") in writable
    assert set(serve["ReadWritePaths"].split()) <= set(writable)

    timer = _unit("aduan-backup.timer")
    assert timer["Timer"]["OnCalendar"] == "*-*-* 01:30:00"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


# --- install steps ---------------------------------------------------------------


def test_the_install_steps_compile_the_catalogue_before_installing_the_package(
    tmp_path: Path,
) -> None:
    """A checkout holds the catalogue's source only (the .mo is built, never
    committed): every install of the package in docs/install.md compiles it
    first, or the installed ``aduan`` stops at its first import."""
    text = (ROOT / "docs" / "install.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, re.DOTALL)
    installs = [b for b in blocks if "pip install --no-deps /srv/aduan" in b]
    assert len(installs) == 2  # the first install and the upgrade
    compile_line = "pybabel compile -d /srv/aduan/handlers/locale -D aduan"
    for block in installs:
        lines = [line.strip() for line in block.splitlines()]
        package = next(i for i, line in enumerate(lines) if "--no-deps /srv/aduan" in line)
        assert any(compile_line in line for line in lines[:package]), block
    # The command as written, run on a copy of the catalogues (no .mo yet).
    locale = tmp_path / "handlers" / "locale"
    shutil.copytree(ROOT / "handlers" / "locale", locale, ignore=shutil.ignore_patterns("*.mo"))
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [str(pybabel), *compile_line.replace("/srv/aduan/", "").split()[1:]],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    assert (locale / "id" / "LC_MESSAGES" / "aduan.mo").stat().st_size > 0
