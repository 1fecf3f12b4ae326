#!/usr/bin/env bash
# The packaging tests, each followed by a round trip through an embedded node
# from outside the source tree:
#   - Python: `pip install .` into a fresh virtual environment (the build
#     backend and pybind11 come from the package index; the native build
#     reuses build/python-* and ccache);
#   - Node.js: `npm install` in the checkout, whose install script builds the
#     addon with cmake-js (into build/node-addon), then `require` and `import`
#     of the package;
#   - Java: the jar of the Maven build, without java.library.path, loads the
#     native libraries it carries.
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

echo "packaging: npm install in $root (cmake-js builds the addon)"
start=$(date +%s)
(cd "$root" && npm install --no-audit --no-fund --loglevel=error)
echo "packaging: npm install took $(( $(date +%s) - start )) s"
cd "$(mktemp -d)"
env -u SPRAWL_NODE_ADDON node -e '
const sprawl = require(process.argv[1]);
(async () => {
  const node = await sprawl.Node.start();
  const client = new sprawl.Client(node.address);
  await client.createTopic("packaged", { partitions: 2 });
  const ack = await client.publish("packaged", "from npm", { key: "k", headers: { h: "v" } });
  const sub = client.subscribe("packaged", { group: "g" });
  const msg = await sub.receive(5000);
  if (!msg || msg.value.toString() !== "from npm" || msg.offset !== ack.offset) process.exit(1);
  await msg.ack();
  await client.close();
  await node.stop();
  console.log(`packaging: sprawl ${sprawl.version} from npm install round-tripped through an embedded node`);
})().catch((e) => { console.error(e); process.exit(1); });
' "$root"
env -u SPRAWL_NODE_ADDON node --input-type=module -e "
import { Client, Node } from '$root/bindings/node/index.mjs';
if (typeof Client !== 'function' || typeof Node.start !== 'function') process.exit(1);
console.log('packaging: the ES module entry imports');
"


# Java: the jar alone (no java.library.path) extracts its native libraries.
jar="$root/bindings/java/target/sprawl-0.1.0.jar"
if [[ -f "$jar" ]]; then
  work="$(mktemp -d)"
  cat >"$work/JarCheck.java" <<'JAVA'
import io.sprawl.EmbeddedNode;
import io.sprawl.SprawlClient;
import java.util.Map;

public class JarCheck {
  public static void main(String[] args) {
    try (EmbeddedNode node = EmbeddedNode.start();
        SprawlClient client = SprawlClient.builder().address(node.address()).build()) {
      client.createTopic("packaged", Map.of("partitions", 1));
      long offset = client.publishSync("packaged", null, "from the jar".getBytes()).offset();
      if (offset != 0) System.exit(1);
      System.out.println("packaging: the jar loaded its own native libraries and round-tripped");
    }
  }
}
JAVA
  javac -d "$work" -cp "$jar" "$work/JarCheck.java"
  (cd "$work" && java -cp "$work:$jar" JarCheck)
  rm -rf "$work"
else
  echo "packaging: $jar is missing (the JUnit run of make test builds it)" >&2
  exit 1
fi
