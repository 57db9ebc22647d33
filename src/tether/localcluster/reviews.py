"""Answers to the review resources clients ask before they act.

``kubectl auth can-i`` creates a ``SelfSubjectAccessReview`` (or a
``SelfSubjectRulesReview`` with ``--list``), ``kubectl auth whoami`` a
``SelfSubjectReview``. The local cluster has one user, holder of the bearer token, who
may do everything, so every review says so; nothing is stored, as on a real server.
"""

from __future__ import annotations

import copy
from typing import Any

from tether.localcluster.errors import bad_request
from tether.localcluster.resources import ResourceType

#: Who the bearer token authenticates, as ``kubectl auth whoami`` prints it.
USERNAME = "tether-local-admin"
GROUPS = ["system:masters", "system:authenticated"]


def review(rtype: ResourceType, body: dict[str, Any]) -> dict[str, Any]:
    """The review ``body`` with its ``status`` filled in."""
    if body.get("kind") != rtype.kind:
        raise bad_request(
            f"the kind in the data ({body.get('kind')}) does not match the expected kind "
            f"({rtype.kind})"
        )
    answer = copy.deepcopy(body)
    answer["apiVersion"] = rtype.api_version()
    answer.setdefault("metadata", {})
    if rtype.kind == "SelfSubjectAccessReview":
        answer["status"] = {"allowed": True, "reason": "the local cluster has a single user"}
    elif rtype.kind == "SelfSubjectRulesReview":
        answer["status"] = {
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": False,
        }
    else:
        answer["status"] = {"userInfo": {"username": USERNAME, "groups": GROUPS}}
    return answer
