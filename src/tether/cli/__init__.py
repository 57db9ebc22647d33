"""The ``tether`` command.

Verbs mirror ``argocd`` (``tether app list|get|sync|diff|...``). Most talk to a tether
server over HTTP; offline verbs (``app manifests --local``, ``appset generate
--local``, ``admin health``, ``local-cluster serve``) run directly. Output goes to
stdout in the format ``-o`` asks for; errors are one line on stderr and exit code 2.
The command never prompts when stdin is not a terminal.
"""

from tether.cli.main import app, main

__all__ = ["app", "main"]
