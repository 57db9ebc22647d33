// `link` is made a symlink to a folder outside the repository by the test.
{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { p: importstr 'link/hostname' } }
