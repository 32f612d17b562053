#!/usr/bin/env bash
# Regenerates proto/*_pb2.py(i) from proto/*.proto (Docker's entry.proto, Loki's push message for
# the tests' fake Loki) with the pinned protoc (grpcio-tools, see pyproject's `dev` extra). The
# output is committed, never edited.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m grpc_tools.protoc -Iproto --python_out=proto --pyi_out=proto proto/entry.proto \
    proto/loki_push.proto
