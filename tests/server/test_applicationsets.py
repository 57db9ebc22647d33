"""ApplicationSets through the API: reads, writes, previews, RBAC and bad input.

One server (its own control namespace in the session's local cluster) serves the
module; each test uses names of its own. Git generators read a repository on the
loopback Git server that needs credentials, given as a repository Secret through the
API, so the server's Git access is exercised end to end.
"""

from __future__ import annotations

import base64
import copy
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from serverharness import Harness, load_fixture, running_server

from tether.kube import KubeClient
from tether.model import API_VERSION

sys.path.insert(0, str(Path(__file__).parents[1] / "source"))

from gitserver import GitServer, free_port

pytestmark = pytest.mark.asyncio(loop_scope="session")

API = "/api/v1/applicationsets"
READER_PASSWORD = "reader-password"
#: A project whose role may do anything with the project's ApplicationSets, nothing else.
SQUAD = {
    "apiVersion": API_VERSION,
    "kind": "AppProject",
    "metadata": {"name": "squad"},
    "spec": {
        "sourceRepos": ["*"],
        "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "*"}],
        "roles": [
            {
                "name": "maker",
                "policies": ["p, proj:squad:maker, applicationsets, *, squad/*, allow"],
            }
        ],
    },
}


@dataclass
class Api:
    """The module's server and a token per kind of caller."""

    h: Harness
    tokens: dict[str, str]

    async def call(
        self, method: str, path: str, caller: str = "admin", **kwargs: Any
    ) -> httpx.Response:
        token = self.tokens[caller]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await self.h.http.request(method, path, headers=headers, **kwargs)

    async def names(self, caller: str = "admin", **params: Any) -> list[str]:
        response = await self.call("GET", API, caller, params=params)
        assert response.status_code == 200, response.text
        return [i["metadata"]["name"] for i in response.json()["items"]]

    async def audit_messages(self) -> set[str]:
        events = await self.h.kube.list("v1", "Event", self.h.namespace)
        return {e["message"] for e in events.items if e["source"]["component"] == "tether-server"}


@pytest.fixture(scope="module")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    """A loopback Git server (git daemon and authenticated smart HTTP) for the module."""
    server = GitServer(tmp_path_factory.mktemp("git-server")).start()
    yield server
    server.stop()


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def api(kube: KubeClient) -> AsyncIterator[Api]:
    async with running_server(kube) as h:
        await h.put_config("argocd-cm", {"accounts.reader": "login"})
        await h.put_config("argocd-rbac-cm", {"policy.csv": "g, reader, role:readonly\n"})
        changed = await h.http.put(
            "/api/v1/account/password",
            headers=h.auth(),
            json={
                "name": "reader",
                "currentPassword": h.admin_password,
                "newPassword": READER_PASSWORD,
            },
        )
        assert changed.status_code == 200, changed.text
        await kube.create(SQUAD | {"metadata": {"name": "squad", "namespace": h.namespace}})
        made = await h.http.post(
            "/api/v1/projects/squad/roles/maker/token", headers=h.auth(), json={}
        )
        assert made.status_code == 200, made.text
        tokens = {
            "none": "",
            "admin": h.admin_token,
            "readonly": await h.login("reader", READER_PASSWORD),
            "squad": made.json()["token"],
        }
        yield Api(h, tokens)


def appset(name: str, *elements: str, project: str = "default", **spec: Any) -> dict[str, Any]:
    """The guestbook ApplicationSet fixture, renamed, with one list element per name."""
    obj: dict[str, Any] = copy.deepcopy(load_fixture("applicationset-guestbook.yaml"))
    obj["metadata"]["name"] = name
    obj["spec"]["generators"] = [
        {"list": {"elements": [{"cluster": e} for e in elements or ("in-cluster",)]}}
    ]
    obj["spec"]["template"]["spec"]["project"] = project
    obj["spec"].update(spec)
    return obj


async def test_create_get_list_and_delete(api: Api) -> None:
    created = await api.call("POST", API, json=appset("crud", "east", "west"))
    assert created.status_code == 200, created.text
    obj = created.json()
    assert obj["metadata"]["namespace"] == api.h.namespace
    assert obj["metadata"]["uid"]
    assert obj["spec"]["generators"][0]["list"]["elements"] == [
        {"cluster": "east"},
        {"cluster": "west"},
    ]
    # What the controller reports is served unchanged.
    status = {
        "conditions": [
            {
                "type": "ResourcesUpToDate",
                "status": "True",
                "reason": "ApplicationSetUpToDate",
                "message": "All applications have been generated successfully",
            }
        ],
        "resources": [{"kind": "Application", "name": "east-guestbook", "status": "Synced"}],
        "applicationStatus": [
            {"application": "east-guestbook", "status": "Healthy", "message": "done", "step": "1"}
        ],
    }
    await api.h.kube.patch(
        API_VERSION,
        "ApplicationSet",
        "crud",
        api.h.namespace,
        {"status": status},
        subresource="status",
    )
    got = await api.call("GET", f"{API}/crud")
    assert got.status_code == 200, got.text
    assert got.json()["status"] == status
    listed = await api.call("GET", API)
    assert listed.json()["metadata"]["resourceVersion"]
    (item,) = [i for i in listed.json()["items"] if i["metadata"]["name"] == "crud"]
    assert item["status"] == status

    deleted = await api.call("DELETE", f"{API}/crud")
    assert (deleted.status_code, deleted.json()) == (200, {})
    missing = await api.call("GET", f"{API}/crud")
    assert missing.status_code == 404
    assert missing.json()["message"] == "applicationset crud not found"
    messages = await api.audit_messages()
    assert {"admin created applicationset crud", "admin deleted applicationset crud"} <= messages


async def test_create_again_conflict_and_upsert(api: Api) -> None:
    first = (await api.call("POST", API, json=appset("again", "a"))).json()
    same = await api.call("POST", API, json=appset("again", "a"))
    assert same.status_code == 200
    assert same.json()["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]

    changed = appset("again", "a", "b")
    changed["metadata"]["labels"] = {"tier": "web"}
    refused = await api.call("POST", API, json=changed)
    assert refused.status_code == 409
    assert refused.json()["message"] == (
        "existing ApplicationSet spec is different, use upsert flag to force update"
    )
    stored = (await api.call("GET", f"{API}/again")).json()
    assert stored["spec"] == first["spec"]  # the refusal changed nothing

    upserted = await api.call("POST", API, json=changed, params={"upsert": "true"})
    assert upserted.status_code == 200, upserted.text
    result = upserted.json()
    assert len(result["spec"]["generators"][0]["list"]["elements"]) == 2
    assert result["metadata"]["labels"] == {"tier": "web"}
    assert result["metadata"]["uid"] == first["metadata"]["uid"]
    assert "admin updated applicationset again" in await api.audit_messages()


async def test_dry_run_previews_without_writing(api: Api) -> None:
    response = await api.call(
        "POST", API, json=appset("preview", "north", "south"), params={"dryRun": "true"}
    )
    assert response.status_code == 200, response.text
    status = response.json()["status"]
    assert [r["name"] for r in status["resources"]] == ["north-guestbook", "south-guestbook"]
    assert status["resourcesCount"] == 2
    assert status["resources"][0]["kind"] == "Application"
    assert (await api.call("GET", f"{API}/preview")).status_code == 404


async def test_list_filters_by_project_and_labels(api: Api) -> None:
    web = appset("filter-web", "a")
    web["metadata"]["labels"] = {"filtered": "yes"}
    for body in (web, appset("filter-squad", "b", project="squad")):
        assert (await api.call("POST", API, json=body)).status_code == 200
    assert [n for n in await api.names(projects="squad") if n.startswith("filter-")] == [
        "filter-squad"
    ]
    assert await api.names(selector="filtered=yes") == ["filter-web"]
    assert "filter-web" not in await api.names(selector="filtered notin (yes)")
    bad = await api.call("GET", API, params={"selector": "filtered in yes"})
    assert bad.status_code == 400
    assert "invalid selector term" in bad.json()["message"]


async def test_generate_with_a_list_generator_writes_nothing(api: Api) -> None:
    body = appset("listed", "east", "west")
    body["spec"]["template"]["metadata"]["labels"] = {"cluster": "{{cluster}}"}
    response = await api.call("POST", f"{API}/generate", json={"applicationSet": body})
    assert response.status_code == 200, response.text
    apps = response.json()["applications"]
    assert [a["metadata"]["name"] for a in apps] == ["east-guestbook", "west-guestbook"]
    first = apps[0]
    assert first["kind"] == "Application"
    assert first["metadata"]["namespace"] == api.h.namespace
    assert first["metadata"]["labels"] == {"cluster": "east"}
    assert first["spec"]["source"]["path"] == "guestbook"
    written = await api.h.kube.list(API_VERSION, "Application", api.h.namespace)
    assert written.items == []
    assert (await api.call("GET", f"{API}/listed")).status_code == 404


async def test_generate_with_a_clusters_generator(api: Api) -> None:
    added = await api.call(
        "POST",
        "/api/v1/clusters",
        json={
            "server": "https://prod.example.com:6443",
            "name": "prod",
            "config": {"bearerToken": "not-a-real-token"},
        },
    )
    assert added.status_code == 200, added.text
    body = appset("fleet")
    body["spec"]["generators"] = [{"clusters": {}}]
    body["spec"]["template"]["metadata"]["name"] = "{{name}}-guestbook"
    body["spec"]["template"]["spec"]["destination"]["server"] = "{{server}}"
    response = await api.call("POST", f"{API}/generate", json={"applicationSet": body})
    assert response.status_code == 200, response.text
    servers = {
        a["metadata"]["name"]: a["spec"]["destination"]["server"]
        for a in response.json()["applications"]
    }
    assert servers == {
        "in-cluster-guestbook": "https://kubernetes.default.svc",
        "prod-guestbook": "https://prod.example.com:6443",
    }
    assert "not-a-real-token" not in response.text


async def test_generate_with_a_git_generator(api: Api, git_server: GitServer) -> None:
    repo = git_server.create_repo()
    repo.push(
        {
            "apps/billing/kustomization.yaml": "resources: []\n",
            "apps/search/kustomization.yaml": "resources: []\n",
            "apps/legacy/kustomization.yaml": "resources: []\n",
            "apps/.hidden/kustomization.yaml": "resources: []\n",
        },
        "three apps",
    )
    # The repository needs credentials: the server's Git access uses the stored ones.
    added = await api.call(
        "POST",
        "/api/v1/repositories",
        json={"repo": repo.url_http, "username": repo.username, "password": repo.password},
    )
    assert added.status_code == 200, added.text
    body = load_fixture("applicationset-git-directories.yaml")
    body["spec"]["generators"][0]["git"]["repoURL"] = repo.url_http
    body["spec"]["template"]["spec"]["source"]["repoURL"] = repo.url_http
    response = await api.call("POST", f"{API}/generate", json={"applicationSet": body})
    assert response.status_code == 200, response.text
    apps = {a["metadata"]["name"]: a for a in response.json()["applications"]}
    assert sorted(apps) == ["billing", "search"]
    assert apps["billing"]["spec"]["source"]["path"] == "apps/billing"
    assert apps["billing"]["spec"]["destination"]["namespace"] == "billing"
    assert apps["search"]["metadata"]["labels"] == {"folder": "apps"}
    # A push is seen by the next call: the server fetches, it does not keep a stale copy.
    repo.push({"apps/orders/kustomization.yaml": "resources: []\n"}, "one more")
    again = await api.call("POST", f"{API}/generate", json={"applicationSet": body})
    names = [a["metadata"]["name"] for a in again.json()["applications"]]
    assert names == ["billing", "orders", "search"]


async def test_generate_reports_an_unreachable_repository(api: Api) -> None:
    body = load_fixture("applicationset-git-directories.yaml")
    body["spec"]["generators"][0]["git"]["repoURL"] = f"http://127.0.0.1:{free_port()}/x.git"
    response = await api.call("POST", f"{API}/generate", json={"applicationSet": body})
    assert response.status_code == 503, response.text
    message = response.json()["message"]
    assert message.startswith("failed to generate the applications of applicationset folders:")
    assert "git generator" in message


async def test_generators_cannot_read_the_servers_keys(api: Api) -> None:
    await api.h.kube.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "sneaky-plugin", "namespace": api.h.namespace},
            "data": {"baseUrl": f"http://127.0.0.1:{free_port()}", "token": "$tether-server-key"},
        }
    )
    body = appset("sneaky")
    body["spec"]["generators"] = [{"plugin": {"configMapRef": {"name": "sneaky-plugin"}}}]
    response = await api.call("POST", f"{API}/generate", json={"applicationSet": body})
    assert response.status_code == 400, response.text
    assert "holds the server's credentials" in response.json()["message"]
    secret = await api.h.kube.get("v1", "Secret", "argocd-secret", api.h.namespace)
    key = base64.b64decode(secret["data"]["tether-server-key"]).decode()
    assert key not in response.text


def _broken(change: str) -> dict[str, Any]:
    body = appset("broken", "a")
    spec, template = body["spec"], body["spec"]["template"]
    if change == "no generators":
        spec["generators"] = []
    elif change == "unknown generator":
        spec["generators"] = [{"teleport": {}}]
    elif change == "unsupported generator":
        spec["generators"] = [{"clusterDecisionResource": {"configMapRef": "x"}}]
    elif change == "nested unsupported generator":
        spec["generators"] = [
            {"matrix": {"generators": [spec["generators"][0], {"clusterDecisionResource": {}}]}}
        ]
    elif change == "template without a name":
        del template["metadata"]["name"]
    elif change == "go template syntax":
        spec["goTemplate"] = True
        template["metadata"]["name"] = "{{ .cluster }}-guestbook"
        template["spec"]["destination"]["namespace"] = "{{ .cluster "
    elif change == "templated project":
        template["spec"]["project"] = "{{cluster}}"
    elif change == "templated project in an override":
        spec["generators"][0]["list"]["template"] = {"spec": {"project": "{{cluster}}"}}
    elif change == "project set by the patch":
        spec["goTemplate"] = True
        template["metadata"]["name"] = "{{ .cluster }}-guestbook"
        spec["templatePatch"] = "spec:\n  project: '{{ .cluster }}'\n"
    elif change == "unknown project":
        template["spec"]["project"] = "nowhere"
    elif change == "path in the name":
        body["metadata"]["name"] = "../../secrets"
    elif change == "another namespace":
        body["metadata"]["namespace"] = "kube-system"
    elif change == "token from the server's keys":
        github = {
            "owner": "o",
            "tokenRef": {"secretName": "argocd-secret", "key": "admin.password"},
        }
        spec["generators"] = [{"scmProvider": {"github": github}}]
    elif change == "templated token":
        github = {"owner": "o", "tokenRef": {"secretName": "{{cluster}}", "key": "token"}}
        spec["generators"] = [
            {"matrix": {"generators": [spec["generators"][0], {"scmProvider": {"github": github}}]}}
        ]
    elif change == "not an applicationset":
        body["kind"] = "Application"
    return body


BAD_BODIES = {
    "no generators": "spec.generators: at least one generator is required",
    "unknown generator": "expected exactly one of list, clusters",
    "unsupported generator": "the clusterDecisionResource generator is not supported",
    "nested unsupported generator": "the clusterDecisionResource generator is not supported",
    "template without a name": "spec.template.metadata.name is required",
    "go template syntax": "spec.template.spec.destination.namespace",
    "templated project": "with a templated project cannot be written through the API",
    "templated project in an override": "with a templated project cannot be written",
    "project set by the patch": "templatePatch written through the API may not set the project",
    "unknown project": "references project nowhere which does not exist",
    "path in the name": "invalid applicationset name '../../secrets'",
    "another namespace": "ApplicationSets live in the control namespace",
    "token from the server's keys": "tokenRef argocd-secret/admin.password holds the server's",
    "templated token": "must name its Secret and key without templates",
    "not an applicationset": "kind",
}


@pytest.mark.parametrize("endpoint", ["create", "generate"])
@pytest.mark.parametrize(("change", "expected"), BAD_BODIES.items(), ids=list(BAD_BODIES))
async def test_bad_bodies_are_refused_and_write_nothing(
    api: Api, endpoint: str, change: str, expected: str
) -> None:
    body = _broken(change)
    if endpoint == "create":
        response = await api.call("POST", API, json=body)
    else:
        response = await api.call("POST", f"{API}/generate", json={"applicationSet": body})
    assert response.status_code == 400, response.text
    assert expected in response.json()["message"]
    assert "broken" not in await api.names()


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "expected"),
    [
        ("POST", API, {"content": b"{not json"}, 400, "invalid request"),
        ("POST", API, {"json": ["a", "list"]}, 400, "invalid request"),
        ("POST", f"{API}/generate", {"json": appset("bare")}, 400, '{"applicationSet": {...}}'),
        ("POST", API, {"content": b"{" + b" " * (5 << 20) + b"}"}, 413, "request body larger"),
        ("GET", f"{API}/%2E%2E", {}, 400, "invalid applicationset name"),
        ("GET", f"{API}/..%2F..%2Fsecrets", {}, 404, "no such endpoint"),
        ("DELETE", f"{API}/UPPER", {}, 400, "invalid applicationset name"),
    ],
    ids=[
        "malformed JSON",
        "not an object",
        "generate unwrapped",
        "huge",
        "dot-dot",
        "traversal",
        "upper case",
    ],
)
async def test_bad_requests(
    api: Api, method: str, path: str, kwargs: dict[str, Any], status: int, expected: str
) -> None:
    headers = {"Authorization": f"Bearer {api.tokens['admin']}", "Content-Type": "application/json"}
    response = await api.h.http.request(method, path, headers=headers, **kwargs)
    assert response.status_code == status, response.text
    assert expected in response.json()["message"]


async def test_readonly_reads_but_cannot_write(api: Api) -> None:
    assert (await api.call("POST", API, json=appset("seen", "a"))).status_code == 200
    assert "seen" in await api.names("readonly")
    assert (await api.call("GET", f"{API}/seen", "readonly")).status_code == 200
    for method, path, body in (
        ("POST", API, appset("by-reader", "a")),
        ("POST", f"{API}/generate", {"applicationSet": appset("by-reader", "a")}),
        ("DELETE", f"{API}/seen", None),
    ):
        response = await api.call(method, path, "readonly", json=body)
        assert response.status_code == 403, (method, path, response.text)
    assert (await api.call("GET", f"{API}/seen")).status_code == 200


async def test_project_role_stays_in_its_project(api: Api) -> None:
    assert (await api.call("POST", API, json=appset("outside", "a"))).status_code == 200
    mine = await api.call("POST", API, "squad", json=appset("inside", "a", project="squad"))
    assert mine.status_code == 200, mine.text
    assert "proj:squad:maker created applicationset inside" in await api.audit_messages()
    # The list leaves out what the role may not see.
    listed = (await api.call("GET", API, "squad")).json()["items"]
    assert "inside" in [i["metadata"]["name"] for i in listed]
    assert {i["spec"]["template"]["spec"]["project"] for i in listed} == {"squad"}
    assert (await api.call("GET", f"{API}/outside", "squad")).status_code == 403
    # An unknown name is a 403 too, for a caller who could not see it anyway.
    assert (await api.call("GET", f"{API}/no-such-appset", "squad")).status_code == 403
    # Its ApplicationSets may not target a project its role does not cover.
    elsewhere = await api.call("POST", API, "squad", json=appset("escape", "a"))
    assert elsewhere.status_code == 403
    assert "applicationsets, create, default/escape" in elsewhere.json()["message"]
    # Nor reach one through a generator's template override.
    sneaky = appset("sneaky", "a", project="squad")
    sneaky["spec"]["generators"][0]["list"]["template"] = {"spec": {"project": "default"}}
    overridden = await api.call("POST", API, "squad", json=sneaky)
    assert overridden.status_code == 403
    assert "applicationsets, create, default/sneaky" in overridden.json()["message"]
    moved = appset("inside", "a", project="default")
    refused = await api.call("POST", API, "squad", json=moved, params={"upsert": "true"})
    assert refused.status_code == 403
    preview = await api.call(
        "POST", f"{API}/generate", "squad", json={"applicationSet": appset("x", project="squad")}
    )
    assert preview.status_code == 200, preview.text
    assert (await api.call("DELETE", f"{API}/inside", "squad")).status_code == 200
    assert (await api.call("DELETE", f"{API}/outside", "squad")).status_code == 403


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", API), ("GET", f"{API}/any"), ("POST", API), ("POST", f"{API}/generate"),
     ("DELETE", f"{API}/any")],
)  # fmt: skip
async def test_no_token_is_401(api: Api, method: str, path: str) -> None:
    response = await api.call(method, path, "none", json=appset("anonymous"))
    assert response.status_code == 401


async def test_appset_info_metric_shows_what_the_api_created(api: Api) -> None:
    done = {"reason": "ApplicationSetUpToDate", "message": "up to date"}
    assert (await api.call("POST", API, json=appset("metered", "a"))).status_code == 200
    await api.h.kube.patch(
        API_VERSION,
        "ApplicationSet",
        "metered",
        api.h.namespace,
        {"status": {"conditions": [{"type": "ResourcesUpToDate", "status": "True", **done}]}},
        subresource="status",
    )
    scraped = (await api.h.http.get("/metrics")).text
    (family,) = [
        f for f in text_string_to_metric_families(scraped) if f.name == "argocd_appset_info"
    ]
    samples = {s.labels["name"]: s for s in family.samples}
    assert samples["metered"].labels == {
        "namespace": api.h.namespace,
        "name": "metered",
        "resource_update_status": "True",
    }
    assert samples["metered"].value == 1
