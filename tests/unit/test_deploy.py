"""The deployment files in deploy/ parse and point at things that exist."""

import configparser
import re
import shlex
from pathlib import Path

import pytest
import yaml
from honcho.environ import parse_procfile

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
ROOT = DEPLOY.parent
MANIFESTS = sorted(DEPLOY.rglob("*.yaml")) + sorted(DEPLOY.rglob("*.yml"))
PROCFILES = [ROOT / "Procfile", *sorted(DEPLOY.glob("Procfile.*"))]
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def _commands() -> list[str]:
    """Every process command of every Procfile, unit, compose service and k8s container."""
    found = []
    for procfile in PROCFILES:
        found += list(parse_procfile(procfile.read_text()).processes.values())
    for unit in UNITS:
        found.append(_unit(unit)["Service"]["ExecStart"])
    for doc in _docs(DEPLOY / "docker-compose.yml"):
        found += [" ".join(s["command"]) for s in doc["services"].values() if "command" in s]
    for path in (DEPLOY / "k8s").glob("*.yaml"):
        for doc in _docs(path):
            spec = doc.get("spec", {}).get("template", {}).get("spec", {})
            for c in spec.get("containers", []) + spec.get("initContainers", []):
                if c["image"] == "faasm-py":
                    found.append(" ".join(c["command"]))
    return found


def _docs(path: Path) -> list:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def _unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read_string(path.read_text())
    return parser


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_manifest_is_valid_yaml(path):
    assert _docs(path), f"{path} holds no document"


def test_kubernetes_manifests_are_complete():
    k8s = DEPLOY / "k8s"
    kustomization = _docs(k8s / "kustomization.yaml")[0]
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in k8s.glob("*.yaml")} - {"kustomization.yaml"}
    kinds = {}
    for name in listed:
        for doc in _docs(k8s / name):
            assert {"apiVersion", "kind", "metadata"} <= doc.keys(), name
            kinds.setdefault(doc["kind"], set()).add(doc["metadata"]["name"])
            if doc["kind"] == "Deployment":
                labels = doc["spec"]["template"]["metadata"]["labels"]
                assert doc["spec"]["selector"]["matchLabels"].items() <= labels.items()
                for c in doc["spec"]["template"]["spec"]["containers"]:
                    assert c.get("envFrom") or doc["metadata"]["name"] == "redis"
    # A Deployment per process, a Service for each one that listens, a worker HPA.
    assert {"redis", "upload", "invoke", "worker", "flower"} <= kinds["Deployment"]
    assert {"redis", "upload", "invoke", "flower"} <= kinds["Service"]
    hpa = [d for d in _docs(k8s / "worker-hpa.yaml") if d["kind"] == "HorizontalPodAutoscaler"]
    assert hpa[0]["spec"]["scaleTargetRef"]["name"] == "worker"
    assert "faasm-config" in kinds["ConfigMap"]


def test_every_command_names_real_modules_and_files():
    commands = _commands()
    assert len(commands) > 15
    for command in commands:
        words = shlex.split(command.replace("'", ""))
        for config in (w for w in words if w.startswith("deploy/")):
            assert (ROOT / config).is_file(), (config, command)
        for i, word in enumerate(words):
            if word == "-A":
                assert words[i + 1] in ("workers.tasks", "workers.app"), command
            if re.fullmatch(r"api\.\w+:get_app\(\)", word):
                assert (ROOT / "api" / f"{word.split(':')[0][4:]}.py").is_file()
        if " worker " in f" {command} " and "-Q" in words:
            # Without -Q a worker consumes the app's task_queues (both); with it, a
            # subset of the queues the app defines.
            from workers.app import ASYNC_QUEUE, SYNC_QUEUE
            queues = words[words.index("-Q") + 1].split(",")
            assert set(queues) <= {SYNC_QUEUE, ASYNC_QUEUE}, command


def test_procfile_variants():
    worker_only = parse_procfile((DEPLOY / "Procfile.worker").read_text()).processes
    assert set(worker_only) == {"worker"}
    rabbit = parse_procfile((DEPLOY / "Procfile.rabbitmq").read_text()).processes
    assert all("amqp://" in rabbit[name] for name in ("invoke", "worker", "flower"))
    apis = parse_procfile((DEPLOY / "Procfile.apis").read_text()).processes
    assert "worker" not in apis and {"upload", "invoke"} <= set(apis)


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_systemd_units(unit):
    parsed = _unit(unit)
    assert {"Unit", "Service", "Install"} <= set(parsed.sections())
    assert parsed["Service"]["ExecStart"].split()[0].startswith(("/opt/faasm-py/.venv/bin/",
                                                                 "/bin/sh"))
    assert parsed["Service"]["EnvironmentFile"] == "/etc/faasm/faasm.env"
