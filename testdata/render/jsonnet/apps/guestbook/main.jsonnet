// extVars (string and code), TLAs (string and code), a relative import, an importstr and
// a library import.
local kube = import 'kube.libsonnet';
local labels = import 'parts/labels.libsonnet';
local banner = importstr 'parts/banner.txt';

function(name, replicas=1) [
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: name, labels: labels },
    spec: {
      replicas: replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels: labels },
        spec: { containers: [{ name: name, image: std.extVar('image') }] },
      },
    },
  },
  kube.configMap(name + '-banner', {
    banner: std.stripChars(banner, '\n'),
    debug: std.toString(std.extVar('debug')),
  }),
]
