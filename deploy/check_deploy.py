#!/usr/bin/env python3
"""Checks deploy/ against a real node and a real Prometheus (Debian's).

1. `promtool check rules` and `promtool test rules` on deploy/prometheus.
2. Starts sprawl-server, gives it a topic, messages and a consumer group, and
   reads its /metrics: every sprawl_* metric a rule or a dashboard panel names
   must be one the node exports.
3. Every dashboard query must parse (promtool, as a recording rule).
4. Starts Prometheus scraping the node every second with the rules loaded,
   and evaluates every panel's query and every recording rule through its
   HTTP API: each must succeed and return series.

    deploy/check_deploy.py --server build/dev/server/sprawl-server

Needs promtool and prometheus (Debian's prometheus package, which
scripts/bootstrap installs); a missing one fails the check.
"""
import argparse
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
RULES = os.path.join(HERE, "prometheus", "sprawl-rules.yml")
RULES_TEST = os.path.join(HERE, "prometheus", "rules-test.yml")
DASHBOARDS = sorted(glob.glob(os.path.join(HERE, "grafana", "*.json")))
# Series Prometheus makes itself for every target, not exported by a node.
SYNTHETIC = {"up"}
METRIC = re.compile(r"(?<![:\w])sprawl_[a-z0-9_]+(?![:\w])")  # not inside a recording rule name
# Grafana's variables, replaced by what they stand for on a live Prometheus
# scraping every second.
VARIABLES = {"$__rate_interval": "5s", "$__interval": "1s", "$instance": ".+", "${instance}": ".+"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, condition, timeout=20.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, ValueError, KeyError) as e:
            last = e
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}" + (f" (last error: {last})" if last else ""))


def http(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read().decode()
    return json.loads(text) if text.startswith(("{", "[")) else text


def run(*cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def dashboard_queries():
    """(dashboard, panel title, expr) of every panel target."""
    out = []
    for path in DASHBOARDS:
        with open(path) as f:
            dash = json.load(f)
        def walk(panels):
            for p in panels:
                for t in p.get("targets", []):
                    out.append((os.path.basename(path), p.get("title", ""), t["expr"]))
                walk(p.get("panels", []))
        walk(dash["panels"])
        for v in dash.get("templating", {}).get("list", []):
            definition = v.get("definition", "")
            if definition:
                out.append((os.path.basename(path), f"variable {v['name']}", None if "label_values" in definition else definition))
                for name in METRIC.findall(definition):
                    out.append((os.path.basename(path), f"variable {v['name']} metric", name))
    return out


def substitute(expr):
    for k, v in VARIABLES.items():
        expr = expr.replace(k, v)
    return expr


def exported_families(metrics_text):
    """Names a query may use: each family, and _bucket/_sum/_count of histograms."""
    names = set()
    for line in metrics_text.splitlines():
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if not m:
            continue
        names.add(m.group(1))
        if m.group(2) in ("histogram", "summary"):
            names.update(m.group(1) + s for s in ("_bucket", "_sum", "_count"))
    return names


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="the sprawl-server binary")
    args = parser.parse_args()
    for tool in ("promtool", "prometheus"):
        if not shutil.which(tool):
            sys.exit(f"check_deploy: {tool} not found: scripts/bootstrap installs Debian's prometheus package")
    if not DASHBOARDS:
        sys.exit("check_deploy: no dashboard under deploy/grafana")

    print(run("promtool", "check", "rules", RULES).strip())
    print(run("promtool", "test", "rules", RULES_TEST).strip())

    queries = dashboard_queries()
    with open(RULES) as f:
        rules_text = f.read()
    rule_exprs = []  # the recording rules' names: evaluated live below
    for m in re.finditer(r"- record: (\S+)", rules_text):
        rule_exprs.append(m.group(1))

    scratch = tempfile.mkdtemp(prefix="sprawl-deploy-")
    procs = []
    try:
        # Every dashboard query parses: promtool reads them as recording rules.
        exprs = [substitute(e) for _, _, e in queries if e and not METRIC.fullmatch(e)]
        parse_file = os.path.join(scratch, "dashboard-queries.yml")
        with open(parse_file, "w") as f:
            f.write("groups:\n  - name: dashboard\n    rules:\n")
            for i, e in enumerate(exprs):
                f.write(f"      - record: dashboard:query{i}\n        expr: {json.dumps(e)}\n")
        run("promtool", "check", "rules", parse_file)
        print(f"{len(exprs)} dashboard queries parse")

        # A node with data: a topic, messages, a group that consumed and acked.
        http_port, prom_port = free_port(), free_port()
        node_log = open(os.path.join(scratch, "node.log"), "w")
        node = subprocess.Popen(
            [args.server, "--data-dir", os.path.join(scratch, "data"), "--http-port", str(http_port),
             "--client-port", str(free_port()), "--peer-port", str(free_port()), "--node-id", "deploy-check"],
            stdout=node_log, stderr=subprocess.STDOUT)
        procs.append(node)
        base = f"http://127.0.0.1:{http_port}"
        wait_for("the node to be ready", lambda: http("GET", base + "/ready")["ready"])
        http("POST", base + "/v1/topics", {"name": "deploy-check", "config": {"partitions": 2}})

        def traffic():
            http("POST", base + "/v1/topics/deploy-check/messages", {"messages": [{"value": f"m{i}"} for i in range(20)]})
            polled = http("GET", base + "/v1/topics/deploy-check/groups/deploy-group/messages?max=20&wait_ms=500")
            http("POST", base + "/v1/topics/deploy-check/groups/deploy-group/acks", {
                "member": polled["member"],
                "acks": [{"partition": m["partition"], "offset": m["offset"]} for m in polled["messages"]]})
        traffic()

        named = set()
        for _, _, e in queries:
            if e:
                named.update(METRIC.findall(e))
        named.update(METRIC.findall(rules_text))

        def missing():
            exported = exported_families(http("GET", base + "/metrics"))
            return sorted(n for n in named if n not in exported and n not in SYNTHETIC)
        # Group gauges are sampled every 5 s: allow two periods.
        deadline = time.monotonic() + 12
        while missing() and time.monotonic() < deadline:
            time.sleep(0.2)
        if missing():
            raise AssertionError(f"metrics named in deploy/ that the node does not export: {missing()}")
        print(f"{len(named)} metric names in deploy/ are all exported by the node")

        # Prometheus scraping the node every second, with the rules.
        config = os.path.join(scratch, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {RULES}
scrape_configs:
  - job_name: sprawl
    static_configs:
      - targets: ["127.0.0.1:{http_port}"]
""")
        prom_log = open(os.path.join(scratch, "prometheus.log"), "w")
        prom = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={os.path.join(scratch, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{prom_port}"], stdout=prom_log, stderr=subprocess.STDOUT)
        procs.append(prom)
        api = f"http://127.0.0.1:{prom_port}/api/v1"

        def query(expr):
            r = http("GET", f"{api}/query?{urllib.parse.urlencode({'query': expr})}")
            if r["status"] != "success":
                raise AssertionError(f"{expr}: {r}")
            return r["data"]["result"]

        def scraped_enough():
            traffic()
            samples = query('count_over_time(up{job="sprawl"}[1m])')
            return samples and float(samples[0]["value"][1]) >= 8
        wait_for("Prometheus to scrape the node 8 times", scraped_enough, timeout=40)
        try:
            wait_for("the recording rules to be evaluated", lambda: all(query(r) for r in rule_exprs), timeout=20)
        except AssertionError:
            raise AssertionError(f"recording rules without series: {[r for r in rule_exprs if not query(r)]}")

        empty = []
        for dash, title, e in queries:
            if not e:
                continue
            if not query(substitute(e)):
                empty.append(f"{dash}: {title}: {e}")
        if empty:
            raise AssertionError("queries that return nothing for a node with traffic:\n  " + "\n  ".join(empty))
        alerts = http("GET", f"{api}/rules")["data"]["groups"]
        health = [(r["name"], r.get("lastError")) for g in alerts for r in g["rules"] if r.get("health") == "err"]
        if health:
            raise AssertionError(f"rules that fail to evaluate: {health}")
        print(f"{sum(1 for q in queries if q[2])} dashboard queries and {len(rule_exprs)} recording rules "
              "return series on a live Prometheus")
    except AssertionError as e:
        for log in ("node.log", "prometheus.log"):
            path = os.path.join(scratch, log)
            if os.path.exists(path):
                print(f"--- {log} (tail)\n" + open(path).read()[-1500:], file=sys.stderr)
        sys.exit(f"check_deploy: {e}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(scratch, ignore_errors=True)
    print("check_deploy: OK")


if __name__ == "__main__":
    main()
