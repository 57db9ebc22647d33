// One ConfigMap per dashboard, generated from a single list.
local dashboards = [
  { name: 'orders', panels: ['throughput', 'latency', 'errors'] },
  { name: 'podinfo', panels: ['requests', 'latency'] },
];

[
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'dashboard-' + d.name,
      labels: { 'grafana.example.com/dashboard': 'true' },
    },
    data: {
      [d.name + '.json']: std.manifestJsonEx({ title: d.name, panels: d.panels }, '  '),
    },
  }
  for d in dashboards
]
