import 'no-such-file.libsonnet'
