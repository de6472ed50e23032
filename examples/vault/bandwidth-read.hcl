# Least privilege for an application that reads its Bandwidth credentials with
# BANDWIDTH_CREDENTIALS_SOURCES=vault:secret/bandwidth/prod
#
# KV version 2 keeps values under <mount>/data/<path>: "read" there is all the
# provider needs. The same capability also lets the token call the mount preflight
# (sys/internal/ui/mounts/secret/bandwidth/prod) that detects the KV version, and the
# default policy already lets it look up and renew its own token.
#
# For a KV version 1 mount the path has no "data/" segment: path "kv/bandwidth/prod".
# To pin versions (?version=N) nothing more is needed: reading a version is "read".
path "secret/data/bandwidth/prod" {
  capabilities = ["read"]
}
