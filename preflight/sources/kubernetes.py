"""Kubernetes manifests (Pod, Job, CronJob, Deployment, StatefulSet, operators' replica specs):
each container's command, its env (`value`, `secretKeyRef`, `envFrom`) and the parallelism."""

from __future__ import annotations

from preflight.model import Credential, CredentialKind, EnvBinding, EnvDeclaration, Fact, Launcher
from preflight.sources import yamltree as y
from preflight.sources.launching import (
    LaunchContext, ScalarLocator, binding, launch_from_argv, launches_from_script, local_server,
)
from preflight.sources.text import SourceText

LAUNCHER = Launcher.KUBERNETES
_SHELLS = {"sh", "bash", "/bin/sh", "/bin/bash"}


def is_manifest(document) -> bool:
    return isinstance(document, y.MappingNode) and y.get(document, "apiVersion") is not None \
        and y.get(document, "kind") is not None


def _env(source: SourceText, container, label: str) -> tuple[list[EnvBinding], list[Credential]]:
    env: list[EnvBinding] = []
    for item in y.sequence(y.get(container, "env")):
        name = y.scalar_text(y.get(item, "name"))
        if not name:
            continue
        location = y.location(source, y.get(item, "name"))
        value_from = y.get(item, "valueFrom")
        if value_from is not None:
            secret = y.get(value_from, "secretKeyRef")
            optional = (y.scalar_text(y.get(secret, "optional")) or "").lower() == "true"
            env.append(EnvBinding(name, location, f"{label} secretKeyRef" if secret else f"{label} valueFrom",
                                  None, reference=True, optional=optional))
        else:
            env.append(binding(name, y.scalar_text(y.get(item, "value")) or "", location, f"{label} env"))
    credentials = []
    for item in y.sequence(y.get(container, "envFrom")):
        for kind in ("secretRef", "configMapRef"):
            ref = y.get(item, kind)
            if ref is not None:
                name = y.scalar_text(y.get(ref, "name")) or "?"
                credentials.append(Credential(CredentialKind.ENV_FROM, y.location(source, item),
                                              f"envFrom {kind} {name}"))
    return env, credentials


def _fan_out(source: SourceText, document) -> tuple[str | None, object]:
    spec = y.get(document, "spec")
    for key in ("parallelism", "replicas"):
        node = y.get(spec, key)
        text = y.scalar_text(node)
        if text and text.isdigit() and int(text) > 1:
            return f"{key}: {text}", y.location(source, node)
    for mapping in y.walk_mappings(spec):  # operators: pytorchReplicaSpecs.Worker.replicas, ...
        node = y.get(mapping, "replicas")
        text = y.scalar_text(node)
        if text and text.isdigit() and int(text) > 1 and y.get(mapping, "template") is not None:
            return f"replicas: {text}", y.location(source, node)
    return None, None


def extract(source: SourceText, documents: list) -> list[Fact]:
    facts: list[Fact] = []
    for document in documents:
        if not is_manifest(document):
            continue
        kind = y.scalar_text(y.get(document, "kind")) or "object"
        name = y.scalar_text(y.get(y.get(document, "metadata"), "name")) or "?"
        fan_out, fan_out_location = _fan_out(source, document)
        for pod in y.walk_mappings(document):
            shared = _shared_localhost(pod)
            for field in ("initContainers", "containers"):
                for container in y.sequence(y.get(pod, field)):
                    facts.extend(_container(source, kind, name, container, fan_out, fan_out_location,
                                            _netrc_volumes(pod), shared))
    return facts


def _shared_localhost(pod) -> str | None:
    """What else may listen on a container's localhost: the node's network (`hostNetwork: true`) or the
    pod's other containers (all of a pod's containers share one network namespace)."""
    if (y.scalar_text(y.get(pod, "hostNetwork")) or "").lower() == "true":
        return "hostNetwork: true"
    names = [y.scalar_text(y.get(c, "name")) or "?" for field in ("initContainers", "containers")
             for c in y.sequence(y.get(pod, field))]
    if len(names) > 1:
        return f"the pod's containers ({', '.join(names)})"
    return None


def _netrc_volumes(pod) -> set[str]:
    """Names of the pod's volumes that hold a netrc file (a Secret or ConfigMap with a `.netrc` item)."""
    found = set()
    for volume in y.sequence(y.get(pod, "volumes")):
        for kind in ("secret", "configMap"):
            spec = y.get(volume, kind)
            if spec is not None and any("netrc" in (y.scalar_text(y.get(item, "path")) or y.scalar_text(
                    y.get(item, "key")) or "") for item in y.sequence(y.get(spec, "items"))):
                found.add(y.scalar_text(y.get(volume, "name")) or "")
    return found


def _netrc_mounts(source: SourceText, container, netrc_volumes: set[str]) -> list[Credential]:
    """A netrc mounted into the container (`mountPath: /root/.netrc`, a `subPath: .netrc`, or a volume of
    netrc items over a home folder): W&B reads the key from it."""
    found = []
    for mount in y.sequence(y.get(container, "volumeMounts")):
        path = y.scalar_text(y.get(mount, "mountPath")) or ""
        sub = y.scalar_text(y.get(mount, "subPath")) or ""
        if "netrc" in path or "netrc" in sub or (y.scalar_text(y.get(mount, "name")) or "") in netrc_volumes:
            found.append(Credential(CredentialKind.NETRC, y.location(source, mount), f"netrc mounted at {path}"))
    return found


def _container(source: SourceText, kind: str, name: str, container, fan_out, fan_out_location,
               netrc_volumes: set[str] = frozenset(), shared: str | None = None) -> list[Fact]:
    label = f"{kind} '{name}', container '{y.scalar_text(y.get(container, 'name')) or '?'}'"
    env, credentials = _env(source, container, label)
    credentials = [*credentials, *_netrc_mounts(source, container, netrc_volumes)]
    facts: list[Fact] = [EnvDeclaration(b, LAUNCHER) for b in env]
    command_node, args_node = y.get(container, "command"), y.get(container, "args")
    command = [y.scalar_text(n) or "" for n in y.sequence(command_node)]
    args = [y.scalar_text(n) or "" for n in y.sequence(args_node)]
    argv = [*command, *args]
    if not argv:
        return facts
    volumes = tuple(filter(None, (y.scalar_text(y.get(m, "mountPath")) for m in y.sequence(y.get(container,
                                                                                                 "volumeMounts")))))
    context = LaunchContext(
        launcher=LAUNCHER, label=label, base_dir=".", in_container=True, env=env, credentials=credentials,
        fan_out=fan_out, fan_out_location=fan_out_location, group=f"{kind}/{name}", volumes=volumes,
        # a server the command starts itself, or the image's entrypoint when only `args:` are given
        localhost_shared=shared or (f"`{server}` in its command" if (server := local_server(" ".join(argv)))
                                    else None) or (None if command else "the image's entrypoint"),
    )
    nodes = [*y.sequence(command_node), *y.sequence(args_node)]
    if len(argv) >= 3 and argv[0] in _SHELLS and argv[1] in ("-c", "-lc", "-ec", "-xc"):
        result = launches_from_script(argv[2], context, ScalarLocator(source, nodes[2], argv[2]))
        return [*facts, *result.launches, *result.facts]
    launch = launch_from_argv(argv, context, y.location(source, nodes[0]), " ".join(argv))
    return [*facts, launch] if launch else facts
