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
"""
