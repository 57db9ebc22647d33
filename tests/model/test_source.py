"""ApplicationSource parses Argo CD's wire form and writes it back unchanged."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tether.model import ApplicationSource, SpecError

FULL = """
repoURL: https://example.com/org/repo.git
path: charts/web
targetRevision: v1.2.3
helm:
  releaseName: web
  valueFiles: [values.yaml, $values/env/prod.yaml]
  parameters:
    - {name: image.tag, value: "1.0"}
    - {name: replicas, value: "3", forceString: true}
  fileParameters: [{name: config, path: files/config.json}]
  valuesObject: {ingress: {enabled: true}}
  ignoreMissingValueFiles: true
  skipCrds: true
  apiVersions: [monitoring.coreos.com/v1]
kustomize:
  namePrefix: dev-
  images: [nginx=nginx:1.27]
  commonLabels: {team: web}
  replicas: [{name: web, count: 2}]
  patches:
    - target: {kind: Deployment}
      patch: '[{"op": "replace", "path": "/spec/replicas", "value": 1}]'
  components: [../components/tls]
directory:
  recurse: true
  include: '{*.yaml,*.json}'
  exclude: secret-*.yaml
  jsonnet:
    extVars: [{name: env, value: prod}]
    tlas: [{name: replicas, value: "3", code: true}]
    libs: [vendor]
plugin:
  name: cmp-envsubst
  env: [{name: FOO, value: bar}]
  parameters:
    - {name: s, string: one}
    - {name: a, array: [x, y]}
    - {name: m, map: {k: v}}
"""


def test_full_source_round_trips() -> None:
    data = yaml.safe_load(FULL)
    source = ApplicationSource.from_dict(data)
    assert source.helm is not None
    assert source.helm.parameters[1].force_string is True
    assert source.kustomize is not None
    assert source.kustomize.replicas[0].count == 2
    assert source.directory is not None
    assert source.directory.jsonnet.tlas[0].code is True
    assert source.to_dict() == data


def test_minimal_source_writes_only_what_is_set() -> None:
    source = ApplicationSource.from_dict({"repoURL": "file:///repo", "path": "."})
    assert source.to_dict() == {"repoURL": "file:///repo", "path": "."}
    assert not source.is_helm_repository


def test_numbers_from_yaml_are_accepted_as_strings() -> None:
    source = ApplicationSource.from_dict({"repoURL": "r", "targetRevision": 1.2})
    assert source.target_revision == "1.2"


def test_replica_count_accepts_int_or_string() -> None:
    data = {"repoURL": "r", "kustomize": {"replicas": [{"name": "w", "count": "4"}]}}
    source = ApplicationSource.from_dict(data)
    assert source.kustomize is not None
    assert source.kustomize.replicas[0].count == 4


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({}, "spec.source.repoURL"),
        ("not an object", "spec.source"),
        ({"repoURL": "r", "helm": {"valueFiles": "values.yaml"}}, "spec.source.helm.valueFiles"),
        ({"repoURL": "r", "helm": {"valueFiles": [{}]}}, "spec.source.helm.valueFiles[0]"),
        ({"repoURL": "r", "helm": {"skipCrds": "yes"}}, "spec.source.helm.skipCrds"),
        ({"repoURL": "r", "helm": {"valuesObject": "a: b"}}, "spec.source.helm.valuesObject"),
        (
            {"repoURL": "r", "kustomize": {"replicas": [{"name": "w", "count": "x"}]}},
            "spec.source.kustomize.replicas[0].count",
        ),
        ({"repoURL": "r", "directory": {"recurse": 1}}, "spec.source.directory.recurse"),
        ({"repoURL": "r", "directory": []}, "spec.source.directory"),
        ({"repoURL": "r", "plugin": {"env": [1]}}, "spec.source.plugin.env[0]"),
    ],
)
def test_bad_fields_are_reported_by_path(data: Any, path: str) -> None:
    with pytest.raises(SpecError) as caught:
        ApplicationSource.from_dict(data)
    assert caught.value.path == path
    assert str(caught.value).startswith(f"invalid {path}: ")
