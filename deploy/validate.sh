#!/usr/bin/env bash
# Checks deploy/ without a cluster: every Kubernetes manifest against the
# Kubernetes API schema (kubernetes-validate, strict), the references between
# the manifests and to the server's health service names, and envoy.yaml as
# YAML and for its own references. Exits non-zero on any failure.
#
# Needs python3 with venv. The first run installs kubernetes-validate from
# PyPI into ${CARGO_TARGET_DIR:-target}/deploy-venv; later runs reuse it and
# need no network (the package ships the schemas).
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."

# Pinned: a new release may change its schemas, and so this script's verdict.
KV_VERSION=1.37.0
# The schema the manifests are held to. Everything they use is GA, or beta and
# on by default, from Kubernetes 1.27 (native gRPC probes; the PDB's
# unhealthyPodEvictionPolicy, GA in 1.31); 1.30 is the oldest release we
# expect clusters to run.
K8S_VERSION=1.30.0

venv="${CARGO_TARGET_DIR:-target}/deploy-venv"
if [[ "$("$venv/bin/kubernetes-validate" --version 2>/dev/null)" != "$KV_VERSION" ]]; then
    echo "== installing kubernetes-validate $KV_VERSION into $venv"
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        "kubernetes-validate==$KV_VERSION"
fi

# Schema-checked: every Kubernetes object. Not kustomization.yaml (kustomize's
# own format) nor optional/servicemonitor.yaml (a Prometheus Operator CRD, for
# which kubernetes-validate has no schema); the checks below still parse them.
manifests=()
for f in deploy/kubernetes/*.yaml deploy/kubernetes/optional/*.yaml; do
    case "$f" in
        */kustomization.yaml | */optional/servicemonitor.yaml) ;;
        *) manifests+=("$f") ;;
    esac
done

echo "== kubernetes-validate $KV_VERSION --strict, Kubernetes $K8S_VERSION"
status=0
out=$("$venv/bin/kubernetes-validate" --strict -k "$K8S_VERSION" "${manifests[@]}") || status=$?
echo "$out"
# kubernetes-validate exits 0 with a WARN when it has no schema for a kind
# (a misspelt kind or apiVersion, or one removed from $K8S_VERSION): that is
# a manifest the cluster would refuse, so it fails here.
if grep -q '^WARN' <<<"$out"; then
    echo "error: a manifest above has no schema in Kubernetes $K8S_VERSION"
    status=1
fi
[[ $status -eq 0 ]] || exit "$status"

echo "== references between manifests, server.rs and envoy.yaml"
"$venv/bin/python" - <<'PY'
import glob, re, sys
import yaml

errors = []

# PyYAML keeps the last of two equal keys without a word; kubectl refuses
# such a file.
class Strict(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        keys = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in keys:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            keys.add(key)
        return super().construct_mapping(node, deep)

docs = {}
for path in sorted(glob.glob("deploy/kubernetes/**/*.yaml", recursive=True)) + ["deploy/envoy/envoy.yaml"]:
    try:
        with open(path) as f:
            docs[path] = [d for d in yaml.load_all(f, Loader=Strict) if d]
    except yaml.YAMLError as e:
        errors.append(f"{path}: {e}")
if errors:
    sys.exit("\n".join(errors))

# Health names the server registers (server/src/server.rs), "" being the whole server.
source = open("server/src/server.rs").read()
block = re.search(r"const SERVICES: &\[&str\] = &\[(.*?)\];", source, re.S)
health_names = set(re.findall(r'"([^"]+)"', block.group(1))) | {""} if block else set()
if not block:
    errors.append("server/src/server.rs: no SERVICES list to check probe names against")

base = sorted(p for p in docs if re.fullmatch(r"deploy/kubernetes/[^/]+\.yaml", p)
              and not p.endswith("kustomization.yaml"))
listed = sorted("deploy/kubernetes/" + r
                for r in docs["deploy/kubernetes/kustomization.yaml"][0].get("resources", []))
if base != listed:
    errors.append(f"kustomization.yaml lists {listed}, the folder holds {base}")

objects = [d for p in base for d in docs[p]]
by_kind = {}
for o in objects:
    by_kind.setdefault(o["kind"], []).append(o)
(deploy,) = by_kind["Deployment"]
pod = deploy["spec"]["template"]
labels = pod["metadata"]["labels"]

def selects(selector, what):
    if not selector or any(labels.get(k) != v for k, v in selector.items()):
        errors.append(f"{what} selector {selector} does not match the pod labels {labels}")

selects(deploy["spec"]["selector"]["matchLabels"], "Deployment")
ports = {p["name"]: p["containerPort"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
for svc in by_kind.get("Service", []):
    name = svc["metadata"]["name"]
    selects(svc["spec"]["selector"], f"Service {name}")
    for p in svc["spec"]["ports"]:
        if p["targetPort"] not in ports and p["targetPort"] not in ports.values():
            errors.append(f"Service {name} port {p['name']}: no container port {p['targetPort']!r}")
for pdb in by_kind.get("PodDisruptionBudget", []):
    selects(pdb["spec"]["selector"]["matchLabels"], "PodDisruptionBudget")
for hpa in by_kind.get("HorizontalPodAutoscaler", []):
    ref = hpa["spec"]["scaleTargetRef"]
    if (ref["kind"], ref["name"]) != ("Deployment", deploy["metadata"]["name"]):
        errors.append(f"HPA targets {ref['kind']} {ref['name']}, not the Deployment")

volumes = {v["name"] for v in pod["spec"].get("volumes", [])}
for c in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]:
    for m in c.get("volumeMounts", []):
        if m["name"] not in volumes:
            errors.append(f"container {c['name']} mounts undefined volume {m['name']}")
    for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
        grpc = c.get(kind, {}).get("grpc")
        if grpc is None:
            continue
        if grpc.get("service", "") not in health_names:
            errors.append(f"{kind}: server.rs registers no health service {grpc.get('service')!r}")
        if grpc["port"] not in ports.values():
            errors.append(f"{kind}: port {grpc['port']} is not a container port")
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    if "STRATUS_DRAIN_TIMEOUT" in env:
        drain = int(env["STRATUS_DRAIN_TIMEOUT"])
        grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
        if grace <= drain:
            errors.append(f"terminationGracePeriodSeconds {grace} must exceed the drain timeout {drain}")

(envoy,) = docs["deploy/envoy/envoy.yaml"]
clusters = {c["name"]: c for c in envoy["static_resources"]["clusters"]}
for listener in envoy["static_resources"]["listeners"]:
    for chain in listener["filter_chains"]:
        for filt in chain["filters"]:
            for vhost in filt["typed_config"].get("route_config", {}).get("virtual_hosts", []):
                for route in vhost["routes"]:
                    if route["route"]["cluster"] not in clusters:
                        errors.append(f"envoy: route to unknown cluster {route['route']['cluster']}")
headless = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])
            if s["spec"].get("clusterIP") == "None"}
for name, cluster in clusters.items():
    for hc in cluster.get("health_checks", []):
        service = hc.get("grpc_health_check", {}).get("service_name", "")
        if service not in health_names:
            errors.append(f"envoy cluster {name}: server.rs registers no health service {service!r}")
    for group in cluster["load_assignment"]["endpoints"]:
        for ep in group["lb_endpoints"]:
            addr = ep["endpoint"]["address"]["socket_address"]
            svc = headless.get(addr["address"].split(".")[0])
            if svc is None:
                errors.append(f"envoy cluster {name}: {addr['address']} is not a headless Service here")
            elif addr["port_value"] not in [p["port"] for p in svc["spec"]["ports"]]:
                errors.append(f"envoy cluster {name}: {svc['metadata']['name']} has no port {addr['port_value']}")

if errors:
    sys.exit("\n".join("error: " + e for e in errors))
print(f"ok: {len(docs)} files parse (no duplicate keys); selectors, ports, volumes, "
      f"probe and Envoy health names ({len(health_names) - 1} services in server.rs) agree")
PY
echo "(envoy.yaml is checked as YAML and for these references only: Envoy itself is not installed here)"
