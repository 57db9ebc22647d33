"""Reading argocd-notifications-cm and the Secret; subscriptions from annotations."""

from __future__ import annotations

from tether.notifications import parse_config
from tether.notifications.config import annotation_subscriptions
from tether.notifications.model import Destination

from .conftest import load

SUBSCRIBE = "notifications.argoproj.io/subscribe."


def test_services_get_secret_values_and_keep_the_rest() -> None:
    secret = load("secret-services.yaml")
    secret["stringData"]["receiver-url"] = "http://127.0.0.1:9"
    config = parse_config(load("configmap-services.yaml"), secret)
    assert config.problems == ()
    hooks = config.services["hooks"]
    assert hooks.type == "webhook"
    assert hooks.config["url"] == "http://127.0.0.1:9/hooks"
    assert hooks.config["basicAuth"] == {"username": "tether", "password": "pw-1a2b3c4d5e6f"}
    assert config.services["email"].config["port"] == "$smtp-port"  # unknown keys stay as written
    assert set(config.services) == {"slack", "hooks", "teams", "googlechat", "email", "flaky"}
    assert config.redact("token tok-9f8e7d6c5b4a sent") == "token ****** sent"
    assert config.context == {"argocdUrl": "https://tether.example.test"}
    # The built-in catalog is there beside the ConfigMap's own triggers.
    assert {"on-deployed", "on-synced-team", "on-broken"} <= set(config.triggers)


def test_bad_entries_are_reported_and_skipped() -> None:
    configmap = {
        "data": {
            "service.pagerduty": "token: x",
            "trigger.on-nothing": "[]",
            "template.bad-yaml": "message: [unclosed",
            "trigger.on-good": "- when: 'true'\n  send: [app-created]",
        }
    }
    config = parse_config(configmap, None)
    assert sorted(str(p) for p in config.problems) == [
        "failed to read ConfigMap argocd-notifications-cm key service.pagerduty: "
        "unknown service type 'pagerduty' (known: email, googlechat, slack, teams, webhook)",
        "failed to read ConfigMap argocd-notifications-cm key template.bad-yaml: "
        "invalid YAML: while parsing a flow sequence",
        "failed to read ConfigMap argocd-notifications-cm key trigger.on-nothing: "
        "expected a list of conditions",
    ]
    assert config.triggers["on-good"].conditions[0].send == ("app-created",)


def test_annotations_subscribe_to_named_or_default_triggers() -> None:
    config = parse_config(load("configmap-services.yaml"), None)
    pairs = annotation_subscriptions(
        {
            f"{SUBSCRIBE}on-sync-failed.slack": "ops; dev",
            f"{SUBSCRIBE}teams": "ops",
            f"{SUBSCRIBE}on-created.hooks": "",
            "unrelated": "x",
        },
        config,
    )
    assert sorted(pairs) == [
        ("on-created", Destination("hooks", "")),
        ("on-sync-failed", Destination("slack", "dev")),
        ("on-sync-failed", Destination("slack", "ops")),
        ("on-sync-succeeded", Destination("teams", "ops")),
    ]


def test_global_subscriptions_match_labels() -> None:
    configmap = {
        "data": {
            "subscriptions": "- recipients: [slack:ops]\n"
            "  triggers: [on-sync-failed]\n"
            "  selector: team=payments,tier=web\n"
        }
    }
    (subscription,) = parse_config(configmap, None).subscriptions
    assert subscription.recipients == (Destination("slack", "ops"),)
    assert subscription.matches({"team": "payments", "tier": "web", "x": "y"})
    assert not subscription.matches({"team": "payments"})
