[
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'from-array-a' } },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'from-array-b' } },
]
