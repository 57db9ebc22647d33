{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { p: import '/etc/passwd' } }
