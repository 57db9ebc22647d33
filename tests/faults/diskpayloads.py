"""Repository contents for the full-disk faults: one app whose next revision needs room.

Each :class:`DiskStage` is a way a refresh runs out of space, and the repository files
that make it so:

``fetch``
    The new commit brings a large incompressible file: the Git mirror's packfile cannot
    be written.
``checkout``
    The new commit brings a large, highly compressible file: the fetch is tiny, writing
    the checkout is not.
``kustomize``
    A kustomization whose folder holds a large file since the first revision, and an
    Application that sets Kustomize images: the checkout fits, the scratch copy of the
    folder that tether edits for Kustomize does not.
``helm``
    A Helm chart with a local ``file://`` dependency of many small files, present since
    the first revision: every file of the checkout fits, but ``helm dependency build``
    packs them into one archive in the render's scratch space, which does not.

Revision 1 of every stage declares two ConfigMaps, ``big-a`` (``blue``) and ``big-b``;
revision 2 turns ``big-a`` ``red`` and drops ``big-b``, so an app that prunes would
delete ``big-b`` if it ever took a failed render for the desired state.
"""

from __future__ import annotations

import base64
import enum
import random
from dataclasses import dataclass

from appmanifests import configmap

KiB = 1024
MiB = 1024 * KiB

PATH = "big"


class DiskStage(enum.StrEnum):
    """Where the refresh of the big app runs out of space."""

    FETCH = "fetch"
    CHECKOUT = "checkout"
    KUSTOMIZE = "kustomize"
    HELM = "helm"


@dataclass(frozen=True, slots=True)
class StagePlan:
    """Files of both revisions, and how much room the disk may keep once it is filled."""

    first: dict[str, str | None]
    second: dict[str, str | None]
    #: Bytes left free on the tmpfs: any amount in this range (inclusive) fails the stage.
    room: tuple[int, int]
    #: The file size limit under ``RLIMIT_FSIZE`` (``None``: a per-file limit cannot
    #: make this stage fail where it should).
    per_file_room: int | None


def _noise(size: int, rng: random.Random) -> str:
    """``size`` characters that do not compress (base64 of random bytes)."""
    return base64.b64encode(rng.randbytes(size * 3 // 4 + 3)).decode()[:size]


def _directory_revisions(
    extra: dict[str, str],
) -> tuple[dict[str, str | None], dict[str, str | None]]:
    first: dict[str, str | None] = {
        f"{PATH}/a.yaml": configmap("big-a", "blue"),
        f"{PATH}/b.yaml": configmap("big-b", "blue"),
    }
    second: dict[str, str | None] = {
        f"{PATH}/a.yaml": configmap("big-a", "red"),
        f"{PATH}/b.yaml": None,
        **extra,
    }
    return first, second


CHART = """\
apiVersion: v2
name: big
version: 0.1.0
dependencies:
  - name: payload
    version: 0.1.0
    repository: file://../payload
"""

PAYLOAD_CHART = """\
apiVersion: v2
name: payload
version: 0.1.0
"""

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [{resources}]
"""

TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: big-a
data:
  color: {{ .Values.color }}
{{- if .Values.withB }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: big-b
data:
  color: blue
{{- end }}
"""


def stage_plan(stage: DiskStage, rng: random.Random) -> StagePlan:
    """The repository files and the room left for ``stage``."""
    if stage is DiskStage.FETCH:
        # Outside the app's folder: only Git ever reads it.
        first, second = _directory_revisions({"assets/blob.txt": _noise(2 * MiB, rng)})
        # The packfile is about 1.5 MiB.
        return StagePlan(first, second, room=(128 * KiB, 1 * MiB), per_file_room=256 * KiB)
    if stage is DiskStage.CHECKOUT:
        first, second = _directory_revisions({"assets/log.txt": "all quiet\n" * (400 * KiB)})
        return StagePlan(first, second, room=(256 * KiB, 3 * MiB), per_file_room=1 * MiB)
    if stage is DiskStage.KUSTOMIZE:
        notes = "nothing to see here\n" * (80 * KiB)  # 1.6 MiB, compresses to nothing
        first, second = _directory_revisions(
            {f"{PATH}/kustomization.yaml": KUSTOMIZATION.format(resources="a.yaml")}
        )
        first |= {
            f"{PATH}/kustomization.yaml": KUSTOMIZATION.format(resources="a.yaml, b.yaml"),
            f"{PATH}/notes.txt": notes,
        }
        # Room for the checkout, but not for the copy of the folder too.
        room = (len(notes) + 128 * KiB, 2 * len(notes) - 256 * KiB)
        return StagePlan(first, second, room=room, per_file_room=None)
    pieces = 24
    piece = 96 * KiB
    files: dict[str, str | None] = {
        f"{PATH}/Chart.yaml": CHART,
        f"{PATH}/templates/configmaps.yaml": TEMPLATE,
        f"{PATH}/values.yaml": "color: blue\nwithB: true\n",
        "payload/Chart.yaml": PAYLOAD_CHART,
        **{f"payload/files/part-{n:02d}.txt": _noise(piece, rng) for n in range(pieces)},
    }
    values: dict[str, str | None] = {f"{PATH}/values.yaml": "color: red\nwithB: false\n"}
    # The checkout (all the parts) fits; the archive packing them (three quarters of
    # their size, base64 being incompressible past its alphabet) does not fit beside it.
    checkout = pieces * piece
    return StagePlan(
        files, values, room=(checkout + 128 * KiB, checkout + 1 * MiB), per_file_room=512 * KiB
    )
