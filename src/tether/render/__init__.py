"""Rendering: turning a checked-out source into the list of desired objects.

The tool is detected as Argo CD detects it (``Chart.yaml`` means Helm, a
``kustomization.yaml`` means Kustomize, anything else is a directory of YAML, JSON
and Jsonnet files) unless the Application names one explicitly. The real tools do the
work (``helm template``, ``kubectl kustomize``, gojsonnet), so output matches what
users get elsewhere.

Repository content is hostile: every path stays inside the checkout, symlinks that
leave it refuse the render, renderers run with a timeout, an output cap and a
scrubbed environment, and YAML alias expansion is bounded. A failed render is an
error, never an empty list of objects that could be pruned against. Results are
cached by (repository, commit, path, options, tool versions).

Using it::

    renderer = Renderer(settings=RenderSettings(), charts=ChartFetcher(cache_dir))
    request = RenderRequest(
        app_name="guestbook",
        sources=(SourceCheckout(source, checkout_root, commit_sha),),
        destination_namespace="web",
        kube_version="1.31.0",
    )
    result = await renderer.lookup(request)  # cache only, no checkout needed
    result = result or await renderer.render(request)
    result.objects   # frozen objects; thaw() for a mutable copy
    result.warnings  # RepeatedResourceWarning values
    if not result.objects and not allow_empty: ...  # the caller decides

    # manifest-generate-paths: a new commit that touched nothing the app depends on
    if not needs_render(annotation, [source.path], changed_files):
        result = await renderer.carry_forward(request_at_old_commit, request)

Rules it keeps (Argo CD's unless noted):

- ``valueFiles``, ``fileParameters``, kustomize ``components`` and Jsonnet ``libs`` are
  relative to the application folder; an absolute path is relative to the repository
  root; ``$ref/path`` reads the checkout of the ``ref`` source; ``file://`` and any
  ``..`` that climbs above the root are refused, and symlinks are followed hop by hop,
  each hop inside the repository;
- kustomize options are applied by editing a scratch copy of the kustomization, never
  the checkout; remote bases are refused before the tool runs, and files outside the
  kustomization folder are refused by ``--load-restrictor LoadRestrictionsRootOnly``
  unless ``kustomize.buildOptions`` says otherwise;
- Helm values: chart defaults < ``valueFiles`` in order < ``values``/``valuesObject``
  (``valuesObject`` wins) < ``parameters`` and ``fileParameters``; release name
  defaults to the app name, namespace to the destination's; CRDs included unless
  ``skipCrds``; hooks are kept as objects with their ``helm.sh/hook*`` annotations;
- the build environment ``ARGOCD_APP_*``, ``KUBE_VERSION``, ``KUBE_API_VERSIONS`` is
  given to every tool and substituted (``$VAR``) into Helm parameters and value file
  names, Jsonnet variables, plugin env, and kustomize annotations with
  ``commonAnnotationsEnvsubst``;
- an object produced twice is kept once (last content wins) with a
  ``RepeatedResourceWarning``.

Modules: :mod:`~tether.render.renderer` (the entry point), :mod:`~.request` (request
and result values), :mod:`~.detect`, :mod:`~.directory`, :mod:`~.kustomize`,
:mod:`~.helm`, :mod:`~.jsonnet`, :mod:`~.plugin`, :mod:`~.sops`, :mod:`~.chartrepo`
(one per tool or input), :mod:`~.paths` and :mod:`~.yamlio` (the safety checks),
:mod:`~.process`, :mod:`~.toolchain` and :mod:`~.scratch` (running tools),
:mod:`~.cache`, :mod:`~.flight` and :mod:`~.genpaths` (not rendering twice),
:mod:`~.errors`.
"""
