"""Offline checks of the deployment artefacts under infra/.

No Django, no database, no network: the Kubernetes manifests are validated
against the OpenAPI schemas bundled with kubernetes-validate (strict mode,
unknown fields rejected), then checked against the operating rules of the
project (probes, resources, security context, autoscaling, placeholders only
in the Secret template, non-root multi-stage Dockerfile …).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

kubernetes_validate = pytest.importorskip("kubernetes_validate")

# Kubernetes minor version the manifests must be valid for.
K8S_VERSION = "1.31"

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
K8S = INFRA / "k8s"
MONITORING = INFRA / "monitoring"
IMAGE_REPO = "ghcr.io/coko/coko"
SECRET_TEMPLATE = "secret.template.yaml"

# Deployment -> (container port, liveness path, readiness path).
# The worker serves only /health and /metrics on :9191, so /health is its readiness.
PROCESSES = {
    "coko-web": (8000, "/health", "/ready"),
    "coko-worker": (9191, "/health", "/health"),
    "coko-relay": (9192, "/health", "/ready"),
}


# ----------------------------------------------------------------- loading ---


def _load_all(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc is not None]


def _kustomization() -> dict:
    (doc,) = _load_all(K8S / "kustomization.yaml")
    return doc


def _resource_files() -> list[str]:
    return list(_kustomization()["resources"])


def _documents() -> list[tuple[str, dict]]:
    """Every Kubernetes object: kustomization resources plus the Secret template."""
    docs = []
    for name in [*_resource_files(), SECRET_TEMPLATE]:
        for doc in _load_all(K8S / name):
            docs.append((name, doc))
    return docs


def _objects(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for _, d in _documents() if d["kind"] == kind}


def _workloads() -> list[tuple[str, dict]]:
    """(name, pod spec) of every Deployment and Job."""
    return [
        (d["metadata"]["name"], d["spec"]["template"]["spec"])
        for _, d in _documents()
        if d["kind"] in ("Deployment", "Job")
    ]


def _validate(doc: dict, label: str) -> None:
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "<root>"
        pytest.fail(f"{label} invalid for Kubernetes {K8S_VERSION} at {where}: {exc.message}", pytrace=False)


def _id(item) -> str:
    name, doc = item
    return f"{name}:{doc['kind']}/{doc['metadata']['name']}"


# -------------------------------------------------------- schema validation ---


def test_every_yaml_file_is_listed_in_kustomization():
    listed = set(_resource_files())
    on_disk = {p.name for p in K8S.glob("*.y*ml")} - {"kustomization.yaml"}
    assert not (listed - on_disk), f"listed but missing: {sorted(listed - on_disk)}"
    unlisted = on_disk - listed
    # The Secret template is the one deliberate exception: applying it would
    # overwrite the real Secret with placeholders.
    assert unlisted == {SECRET_TEMPLATE}, f"not in kustomization.yaml: {sorted(unlisted)}"
    assert len(listed) == len(_resource_files()), "duplicate entry in kustomization.yaml"


def test_kubernetes_validate_bundles_the_pinned_version():
    versions = {".".join(v.split(".")[:2]) for v in kubernetes_validate.utils.all_versions()}
    assert K8S_VERSION in versions


@pytest.mark.parametrize("item", _documents(), ids=_id)
def test_manifest_is_valid_for_kubernetes(item):
    _validate(item[1], _id(item))


def test_strict_validation_rejects_unknown_fields():
    """Guard: the validator really runs in strict mode."""
    deployment = yaml.safe_load(yaml.safe_dump(_objects("Deployment")["coko-web"]))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_every_object_lives_in_the_coko_namespace():
    assert _kustomization()["namespace"] == "coko"
    for _, doc in _documents():
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["name"] == "coko"
        else:
            assert doc["metadata"].get("namespace") == "coko", _id((_, doc))


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_build_renders_and_validates():
    out = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    rendered = [d for d in yaml.safe_load_all(out) if d]
    assert len(rendered) == sum(len(_load_all(K8S / f)) for f in _resource_files())
    for doc in rendered:
        _validate(doc, f"rendered {doc['kind']}/{doc['metadata']['name']}")
        assert doc["kind"] != "Secret", "kustomize must never ship the Secret template"


# ------------------------------------------------------------- Deployments ---


def test_the_three_processes_are_deployed():
    assert set(_objects("Deployment")) == set(PROCESSES)


def _container(deployment: dict) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def _port_number(container: dict, port) -> int:
    if isinstance(port, int):
        return port
    for p in container.get("ports", []):
        if p.get("name") == port:
            return p["containerPort"]
    raise AssertionError(f"container {container['name']} has no port named {port!r}")


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_deployment_probes(name):
    port, live, ready = PROCESSES[name]
    container = _container(_objects("Deployment")[name])
    for probe_name, path in (("livenessProbe", live), ("readinessProbe", ready)):
        probe = container.get(probe_name)
        assert probe, f"{name}: no {probe_name}"
        http = probe.get("httpGet")
        assert http, f"{name}: {probe_name} must be an HTTP probe"
        assert http["path"] == path, f"{name}: {probe_name} path"
        assert _port_number(container, http["port"]) == port, f"{name}: {probe_name} port"


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_deployment_prometheus_annotations(name):
    port = PROCESSES[name][0]
    annotations = _objects("Deployment")[name]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == "/metrics"


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_deployment_rolls_out_gradually_and_leaves_replicas_to_the_hpa(name):
    spec = _objects("Deployment")[name]["spec"]
    assert spec["strategy"]["type"] == "RollingUpdate"
    assert "replicas" not in spec, "the HPA owns replicas; applying would reset them"


@pytest.mark.parametrize("name", sorted(PROCESSES))
def test_deployment_env_comes_from_configmap_and_secret(name):
    env_from = _container(_objects("Deployment")[name]).get("envFrom", [])
    refs = {(k, v["name"]) for e in env_from for k, v in e.items()}
    assert refs == {("configMapRef", "coko-config"), ("secretRef", "coko-secrets")}


def test_web_is_spread_across_nodes():
    pod = _objects("Deployment")["coko-web"]["spec"]["template"]["spec"]
    spread = {c["topologyKey"] for c in pod.get("topologySpreadConstraints", [])}
    anti = pod.get("affinity", {}).get("podAntiAffinity")
    assert "kubernetes.io/hostname" in spread or anti


@pytest.mark.parametrize("name,pod", _workloads(), ids=[n for n, _ in _workloads()])
def test_workload_resources_and_security(name, pod):
    assert pod.get("automountServiceAccountToken") is False
    assert pod["serviceAccountName"] == "coko"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"].get("runAsUser", 1) != 0
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for container in pod.get("initContainers", []) + pod["containers"]:
        label = f"{name}/{container['name']}"
        resources = container.get("resources", {})
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(bound, {})), f"{label}: {bound}"
        sc = container.get("securityContext", {})
        assert sc.get("runAsNonRoot", True) is True, label
        assert sc.get("allowPrivilegeEscalation") is False, label
        assert sc.get("readOnlyRootFilesystem") is True, label
        assert sc.get("capabilities", {}).get("drop") == ["ALL"], label
        assert not sc.get("capabilities", {}).get("add"), label
        assert not sc.get("privileged"), label
        tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
        assert tmp and "emptyDir" in volumes[tmp[0]["name"]], f"{label}: /tmp emptyDir"


@pytest.mark.parametrize("name,pod", _workloads(), ids=[n for n, _ in _workloads()])
def test_workload_image_is_pinned(name, pod):
    for container in pod["containers"]:
        image = container["image"]
        repo, _, tag = image.rpartition(":")
        assert repo == IMAGE_REPO, f"{name}: every process runs the one image"
        assert tag and "/" not in tag and tag != "latest", f"{name}: unpinned image {image}"
    (entry,) = [i for i in _kustomization().get("images", []) if i["name"] == IMAGE_REPO]
    assert entry.get("newTag") not in (None, "", "latest")


def test_migrate_job():
    job = _objects("Job")["coko-migrate"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:3] == ["python", "manage.py", "migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"].get("backoffLimit") is not None


# ------------------------------------------------- autoscaling, disruption ---


def _hpa_cpu_target(hpa: dict) -> int:
    (metric,) = [m for m in hpa["spec"]["metrics"] if m["type"] == "Resource"]
    assert metric["resource"]["name"] == "cpu"
    return metric["resource"]["target"]["averageUtilization"]


def test_every_deployment_has_a_matching_hpa():
    hpas = _objects("HorizontalPodAutoscaler")
    targets = {h["spec"]["scaleTargetRef"]["name"]: h for h in hpas.values()}
    assert set(targets) == set(_objects("Deployment"))
    for name, hpa in targets.items():
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


@pytest.mark.parametrize(
    "name,low,high,cpu",
    [("coko-web", 2, 20, 70), ("coko-worker", 2, 20, 75), ("coko-relay", 1, 3, None)],
)
def test_hpa_bounds(name, low, high, cpu):
    hpa = {h["spec"]["scaleTargetRef"]["name"]: h for h in _objects("HorizontalPodAutoscaler").values()}[name]
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (low, high)
    if cpu is not None:
        assert _hpa_cpu_target(hpa) == cpu


def test_web_has_a_disruption_budget():
    web_labels = _objects("Deployment")["coko-web"]["spec"]["selector"]["matchLabels"]
    selectors = [p["spec"]["selector"]["matchLabels"] for p in _objects("PodDisruptionBudget").values()]
    assert web_labels in selectors


# ------------------------------------------------------ service and ingress ---


def test_web_service():
    svc = _objects("Service")["coko-web"]
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["selector"] == _objects("Deployment")["coko-web"]["spec"]["selector"]["matchLabels"]
    (port,) = svc["spec"]["ports"]
    assert port["port"] == 80
    assert _port_number(_container(_objects("Deployment")["coko-web"]), port["targetPort"]) == 8000


def _rps(ingress: dict) -> int:
    return int(ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/limit-rps"])


def test_ingress_rate_limits_and_tls():
    ingresses = _objects("Ingress")
    main = ingresses["coko"]
    for ing in ingresses.values():
        assert ing["spec"]["ingressClassName"] == "nginx"
        assert ing["spec"]["tls"][0]["secretName"]
        assert ing["spec"]["rules"][0]["host"] == "coko.example.org"
    annotations = main["metadata"]["annotations"]
    for key in ("limit-rps", "limit-burst-multiplier", "limit-connections", "proxy-body-size"):
        assert f"nginx.ingress.kubernetes.io/{key}" in annotations
    (auth,) = [
        i for i in ingresses.values()
        if any(p["path"] == "/api/v1/auth" for r in i["spec"]["rules"] for p in r["http"]["paths"])
    ]
    assert _rps(auth) < _rps(main)


def test_network_policies():
    policies = _objects("NetworkPolicy")
    by_component = {
        p["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/component"): p
        for p in policies.values()
    }
    assert by_component[None]["spec"]["podSelector"] == {}, "default deny for the namespace"

    def sources(policy):
        return {
            (peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], port["port"])
            for rule in policy["spec"]["ingress"]
            for peer in rule["from"]
            for port in rule["ports"]
        }

    assert ("ingress-nginx", 8000) in sources(by_component["web"])
    assert {ns for ns, _ in sources(by_component["web"])} <= {"ingress-nginx", "monitoring"}
    assert sources(by_component["worker"]) == {("monitoring", 9191)}
    assert sources(by_component["relay"]) == {("monitoring", 9192)}


# --------------------------------------------------------- secret template ---

PLACEHOLDER = re.compile(r"change-me")


def test_secret_template_holds_only_placeholders():
    (doc,) = _load_all(K8S / SECRET_TEMPLATE)
    assert doc["kind"] == "Secret" and doc["metadata"]["name"] == "coko-secrets"
    assert "data" not in doc, "use stringData placeholders, never encoded values"
    values = doc["stringData"]
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "COKO_CACHE_REDIS_URL"} <= set(values)
    assert values["REDIS_URL"].split("@")[-1] != values["COKO_CACHE_REDIS_URL"].split("@")[-1]  # two servers
    for key, value in values.items():
        assert value == "" or PLACEHOLDER.search(value), f"{key} is not a placeholder"


def test_configmap_holds_no_secret():
    data = _objects("ConfigMap")["coko-config"]["data"]
    assert data["DJANGO_SETTINGS_MODULE"] == "config.settings"
    assert data["COKO_ENV"] == "production"
    for key in data:
        assert not re.search(r"SECRET|PASSWORD|TOKEN|DSN|DATABASE_URL|REDIS_URL", key), key


def test_the_ingress_pods_are_the_trusted_proxies_and_only_they_reach_the_web_port():
    """X-Forwarded-For is believed from the ingress controller's pod range only (item 10,
    client identity): a private range, never "everyone", and the NetworkPolicy lets only the
    ingress (and monitoring) namespaces reach the web port, so no other pod can spoof it."""
    import ipaddress

    cidrs = [c.strip() for c in _objects("ConfigMap")["coko-config"]["data"]["COKO_TRUSTED_PROXIES"].split(",")]
    assert cidrs and all(c for c in cidrs)
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr, strict=True)
        assert network.is_private and network.prefixlen >= 8, cidr
    web = _objects("NetworkPolicy")["coko-web"]
    namespaces = {peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                  for rule in web["spec"]["ingress"] for peer in rule["from"]}
    assert namespaces == {"ingress-nginx", "monitoring"}


# -------------------------------------------------------------- Dockerfile ---


def _dockerfile() -> list[str]:
    text = (INFRA / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)  # join continuation lines
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def test_dockerfile_is_multi_stage_and_non_root():
    lines = _dockerfile()
    froms = [ln for ln in lines if ln.upper().startswith("FROM ")]
    assert len(froms) >= 2
    users = [ln.split(None, 1)[1] for ln in lines if ln.upper().startswith("USER ")]
    assert users, "no USER instruction"
    user = users[-1].split(":")[0]
    if user.startswith("${"):
        (arg,) = [ln for ln in lines if ln.upper().startswith(f"ARG {user[2:-1]}=")]
        user = arg.split("=", 1)[1]
    assert user.isdigit() and int(user) != 0, "run as a numeric non-root UID"
    assert any(ln.upper().startswith("HEALTHCHECK") and "/health" in ln for ln in lines)
    assert any(ln.upper().startswith("EXPOSE") and "8000" in ln for ln in lines)
    assert any("collectstatic" in ln for ln in lines)


def test_dockerfile_bakes_no_secret():
    for ln in _dockerfile():
        keyword = ln.split(None, 1)[0].upper()
        if keyword in ("ENV", "ARG"):
            assert not re.search(r"SECRET_KEY|DATABASE_URL|REDIS_URL|SENTRY_DSN|PASSWORD", ln), ln


def test_dockerignore_keeps_local_state_out():
    entries = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    for entry in (".git", ".venv", "var/", ".env"):
        assert entry in entries


# ---------------------------------------------------------------- gunicorn ---


def test_gunicorn_config_compiles_and_binds_port_8000():
    path = INFRA / "gunicorn.conf.py"
    code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
    namespace: dict = {"__file__": str(path), "__name__": "gunicorn_conf"}
    exec(code, namespace)  # noqa: S102 - our own config file
    assert namespace["bind"] == "0.0.0.0:8000"
    assert namespace["worker_class"] == "coko.platform.http.gunicorn_worker.EnvelopeWorker"  # gthread's
    assert isinstance(namespace["workers"], int) and namespace["workers"] >= 1
    assert namespace["graceful_timeout"] < 30, "must fit terminationGracePeriodSeconds"
    try:
        from gunicorn.config import KNOWN_SETTINGS
    except ImportError:
        return
    known = {s.name for s in KNOWN_SETTINGS}
    ours = {k for k, v in namespace.items() if not k.startswith("_") and not isinstance(v, type(re))}
    unknown = ours - known
    assert not unknown, f"not gunicorn settings (silently ignored): {sorted(unknown)}"


# -------------------------------------------------------------- monitoring ---


def test_alert_rules_cover_the_outbox_and_web_errors():
    files = sorted(MONITORING.glob("*.rules.yaml"))
    assert files
    rules = [r for f in files for g in _load_all(f)[0]["groups"] for r in g["rules"]]
    exprs = " ".join(r["expr"] for r in rules)
    for metric in (
        "coko_outbox_backlog",
        "coko_outbox_oldest_age_seconds",
        "coko_dead_letters",
        "django_http_responses_total_by_status_total",
    ):
        assert metric in exprs, metric
    for rule in rules:
        assert rule["alert"] and rule["labels"]["severity"] in ("warning", "critical")
        assert rule["annotations"]["summary"]


def test_scrape_config_keeps_annotated_coko_pods():
    (doc,) = _load_all(MONITORING / "prometheus-scrape.yaml")
    (job,) = doc["scrape_configs"]
    assert job["kubernetes_sd_configs"][0]["namespaces"]["names"] == ["coko"]


# ---------------------------------------------- ops endpoints bind (issue 10) ---


@pytest.mark.parametrize("name", ["coko-worker", "coko-relay"])
def test_worker_and_relay_open_their_ops_endpoints_in_the_pod(name):
    """They bind to loopback by default (COKO_OPS_BIND); the probes and Prometheus need the pod's address."""
    env = {e["name"]: e.get("value") for e in _container(_objects("Deployment")[name]).get("env", [])}
    assert env.get("COKO_OPS_BIND") == "0.0.0.0", f"{name}: probes would find nothing listening"
