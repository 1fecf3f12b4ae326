#!/usr/bin/env bash
# The packaging tests, each followed by a round trip through an embedded node
# from outside the source tree:
#   - Python: `pip install .` into a fresh virtual environment (the build
#     backend and pybind11 come from the package index; the native build
#     reuses build/python-* and ccache);
#   - Node.js: the `npm pack` tarball installed into a fresh project
#     (build/packaging-npm), whose install script builds the addon with
#     cmake-js, then `require('sprawl')` and `import ... from 'sprawl'` there;
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

# Node.js: the `npm pack` tarball installed into a fresh project, as a user
# installs it. Its install script builds the addon with cmake-js in Node-API
# mode (headers from the node-api-headers package: nothing is downloaded);
# the project sits at one path under build/ and ccache's base directory is
# that project, so a later run compiles from the cache.
npm_project="$root/build/packaging-npm"
rm -rf "$npm_project"
mkdir -p "$npm_project"
tarball="$(cd "$root" && npm pack --silent --pack-destination "$npm_project" | tail -n 1)"
printf '{ "name": "sprawl-packaging-check", "version": "1.0.0", "private": true }\n' \
  >"$npm_project/package.json"
echo "packaging: npm install $tarball into a fresh project (cmake-js builds the addon)"
start=$(date +%s)
(cd "$npm_project" && CCACHE_BASEDIR="$npm_project" \
  npm install --no-audit --no-fund --loglevel=error "./$tarball")
echo "packaging: npm install took $(( $(date +%s) - start )) s"
cd "$npm_project"
env -u SPRAWL_NODE_ADDON node -e '
const sprawl = require("sprawl");
const where = require.resolve("sprawl");
if (!where.startsWith(require("path").join(process.cwd(), "node_modules", "sprawl") + "/")) {
  console.error(`require("sprawl") found ${where}, not the installed package`);
  process.exit(1);
}
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
  console.log(`packaging: require("sprawl") ${sprawl.version} from the tarball round-tripped through an embedded node`);
})().catch((e) => { console.error(e); process.exit(1); });
'
cat >"$npm_project/esm-check.mjs" <<'MJS'
import { Client, Node, SprawlError, version } from 'sprawl';
import sprawl from 'sprawl';

if (typeof Client !== 'function' || typeof SprawlError !== 'function' || sprawl.Client !== Client) {
  process.exit(1);
}
const node = await Node.start();
const client = new Client(node.address);
await client.createTopic('esm');
const ack = await client.publish('esm', 'from import');
await client.close();
await node.stop();
if (ack.offset !== 0) process.exit(1);
console.log(`packaging: import { Client } from 'sprawl' ${version} works`);
MJS
env -u SPRAWL_NODE_ADDON node "$npm_project/esm-check.mjs"


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
