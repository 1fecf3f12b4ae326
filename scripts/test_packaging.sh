#!/usr/bin/env bash
# The packaging test: `pip install .` into a fresh virtual environment (the
# build backend and pybind11 come from the package index; the native build
# reuses build/python-* and ccache), then a round trip through an embedded
# node from outside the source tree.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/build/packaging-venv"
rm -rf "$venv"
python3 -m venv "$venv"
echo "packaging: pip install $root"
start=$(date +%s)
"$venv/bin/pip" install --quiet --disable-pip-version-check "$root"
echo "packaging: installed in $(( $(date +%s) - start )) s"
cd "$(mktemp -d)"
"$venv/bin/python" - <<'PY'
import pathlib, tempfile
import sprawl

assert "site-packages" in sprawl.__file__, sprawl.__file__
package = pathlib.Path(sprawl.__file__).parent
assert (package / "py.typed").exists() and (package / "_sprawl.pyi").exists()
with tempfile.TemporaryDirectory() as data:
    with sprawl.Node(data_dir=data) as node, sprawl.Client(node.address) as client:
        client.create_topic("packaged", partitions=2)
        ack = client.publish("packaged", b"from the wheel", key="k", headers={"h": "v"})
        with client.subscribe("packaged", group="g", timeout=5) as sub:
            msg = next(iter(sub))
            assert bytes(msg.value) == b"from the wheel" and msg.headers == {"h": b"v"}
            assert (msg.partition, msg.offset) == (ack.partition, ack.offset)
            msg.ack()
print(f"packaging: sprawl {sprawl.__version__} installed and round-tripped through an embedded node")
PY
