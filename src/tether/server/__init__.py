"""The server: how people and other systems reach tether.

A REST API under ``/api/v1`` shaped like Argo CD's, Git webhooks at
``/api/webhook``, Prometheus metrics at ``/metrics`` with Argo CD's metric names, a
Server-Sent Events stream of application changes, and the static web UI.
"""
