"""Workload simulation: the controllers and the node a real cluster would run.

The local cluster has no kubelet and no containers. Like kwok, it simulates them, so
that every status field a GitOps engine reads evolves as on a real cluster:
Deployments roll out, Pods become Ready, Jobs complete, a bad image degrades an app.
:class:`~tether.localcluster.simulation.simulation.Simulation` runs it all beside the
store, the way :class:`~tether.localcluster.controllers.Controllers` runs the CRD
controller and the garbage collector; everything it does is a write through the
store's admission path (status through the status subresource), by the field manager
a real cluster would name.

What is simulated
-----------------

- The node ``local-node`` (:mod:`.node`), Ready, with capacity, allocatable,
  addresses (InternalIP 172.18.0.2) and ``nodeInfo``; no heartbeats.
- The scheduler and the kubelet (:mod:`.kubelet`, :mod:`.pods`, :mod:`.containers`):
  Pods are bound to ``local-node`` (``PodScheduled``; a ``nodeSelector`` the node
  does not satisfy leaves them ``Unschedulable``), go ``Pending`` with containers in
  ``ContainerCreating``, get an IP from 10.244.0.0/16 unique among live Pods, run
  their init containers one after another (sidecars keep running), then their
  containers, and become Ready; the five Pod conditions, ``containerStatuses``
  (states with reasons and times, ``imageID``
  ``docker.io/library/nginx@sha256:<deterministic>``, ``containerID``,
  ``restartCount``), ``hostIP``, ``startTime``, ``phase`` and ``qosClass`` are as a
  kubelet writes them. ``restartPolicy`` ``Never``/``OnFailure`` Pods run to
  completion and end ``Succeeded`` or ``Failed``; a deleted Pod's containers are
  stopped, then the Pod is removed.
- Deployments (:mod:`.deployment`, :mod:`.rollout`), ReplicaSets
  (:mod:`.replicaset`), StatefulSets (:mod:`.statefulset`), DaemonSets
  (:mod:`.daemonset`), ControllerRevisions (:mod:`.revisions`), Jobs (:mod:`.job`),
  CronJobs (:mod:`.cronjob`), Services with Endpoints and EndpointSlices and their
  cluster IPs, node ports and load-balancer addresses (:mod:`.service`), claims and
  volumes (:mod:`.persistentvolumeclaim`), Ingress addresses (:mod:`.ingress`) and
  HorizontalPodAutoscalers without metrics (:mod:`.horizontalpodautoscaler`): each
  module's docstring says what it does and how it matches the real controller.
- Events (:mod:`.events`): the kubelet and the controllers report what they do
  (``Scheduled``, ``Pulled``, ``Created``, ``Started``, ``BackOff``,
  ``ScalingReplicaSet``, ``SuccessfulCreate``, ``Completed``...) as core ``v1`` Events,
  aggregated (``count``) and expiring after an hour, so ``kubectl describe`` reads as
  on a real cluster.

Failure triggers (:mod:`.failures`)
-----------------------------------

- image tag ``doesnotexist``: ``ErrImagePull``, then ``ImagePullBackOff``; the Pod
  stays ``Pending``, never Ready;
- env ``TETHER_SIMULATE=crashloop``: ``CrashLoopBackOff`` with a growing
  ``restartCount`` (a ``Never`` Pod fails instead);
- env ``TETHER_SIMULATE=fail``: the container exits with code 1 (a Job's Pod fails
  and the Job retries up to ``backoffLimit``, then fails);
- env ``TETHER_SIMULATE=unready``: Running, never Ready;
- more, by image pattern, from the ConfigMap ``kube-system/tether-simulation``
  (keys ``pullErrorImages``, ``crashLoopImages``, ``failImages``, ``unreadyImages``),
  read live.

Timings (:mod:`.settings`)
--------------------------

The simulation runs in ``tether local-cluster serve`` unless ``--no-simulation`` is
given. A container is Ready ``pod_ready_seconds`` after it starts (1 s by default,
``0`` in tests; ``--pod-ready-seconds`` on the command line), or after its readiness probe's
``initialDelaySeconds`` if longer. Run-to-completion containers and init containers
run 1 s; failing containers 1 s. Back-offs (image pulls, crash loops, Job retries)
start at 1 s and double up to 16 s, where a real cluster uses 10 s up to 5 min; a crash
loop restarts at most once a second. All of them are measured from timestamps stored
in the objects against an injectable clock (:mod:`.clock`), so a restarted simulation
resumes where the stored state says it is: a finished Pod or Job is never touched
again, a CronJob's Jobs have names derived from their scheduled time, and nothing is
done twice.
"""

from tether.localcluster.simulation.clock import Clock, ManualClock, SystemClock
from tether.localcluster.simulation.failures import FailureRules, Fate
from tether.localcluster.simulation.settings import Settings
from tether.localcluster.simulation.simulation import Simulation

__all__ = ["Clock", "FailureRules", "Fate", "ManualClock", "Settings", "Simulation", "SystemClock"]
