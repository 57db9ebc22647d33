{
  apiVersion: 'v1',
  kind: 'List',
  items: [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-list-%d' % i } }
    for i in [1, 2]
  ],
}
