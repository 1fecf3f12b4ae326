"""The real sprawl-server driven by sprawlctl and HTTP."""
import json
import os
import subprocess
import threading
import time
import unittest

from cluster import CTL, Server, wait_for


class ServerTest(unittest.TestCase):
    def setUp(self):
        self.server = Server().start()

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0, "a clean stop exits 0")

    def test_publish_and_subscribe_round_trip_by_offset_and_group(self):
        s = self.server
        s.ctl("topic", "create", "orders", "--partitions", "3")
        s.ctl("publish", "orders", "-k", "user-1", "-H", "trace=abc", input="a\nb\nc\n")
        by_offset = s.ctl_json("subscribe", "orders", "--count", "3", "--timeout", "5")
        self.assertEqual([m["value"] for m in by_offset], ["a", "b", "c"])
        self.assertTrue(all(m["key"] == "user-1" and m["headers"] == {"trace": "abc"}
                            for m in by_offset))
        self.assertEqual(len({m["partition"] for m in by_offset}), 1, "one key, one partition")
        by_group = s.ctl_json("subscribe", "orders", "-g", "billing", "--count", "3", "--timeout", "5")
        self.assertEqual(sorted(m["value"] for m in by_group), ["a", "b", "c"])
        described = s.ctl_json("group", "describe", "orders", "billing")[0]
        wait_for(lambda: sum(p["lag"] for p in s.ctl_json("group", "describe", "orders", "billing")[0]["partitions"]) == 0,
                 what="the group's acks to settle")
        self.assertEqual(described["topic"], "orders")

    def test_http_api_topics_publish_consume_ack_and_errors(self):
        s = self.server
        status, created = s.request("POST", "/v1/topics", {"name": "jobs", "config": {"partitions": 2}})
        self.assertEqual(status, 201)
        self.assertEqual(len(created["partitions"]), 2)
        status, body = s.request("POST", "/v1/topics", {"name": "jobs"})
        self.assertEqual((status, body["error"]["code"]), (409, "ALREADY_EXISTS"))
        status, body = s.request("POST", "/v1/topics", b"not json")
        self.assertEqual((status, body["error"]["code"]), (400, "INVALID_ARGUMENT"))
        status, body = s.request("POST", "/v1/topics", {"name": "x", "config": {"partitions": 99999}})
        self.assertEqual(status, 400)
        self.assertIn("partitions", body["error"]["message"])
        status, body = s.request("GET", "/v1/topics/missing")
        self.assertEqual((status, body["error"]["code"]), (404, "NOT_FOUND"))
        status, body = s.request("PUT", "/v1/topics")
        self.assertEqual(status, 405)

        status, published = s.request("POST", "/v1/topics/jobs/messages",
                                      {"messages": [{"value": f"job-{i}"} for i in range(10)],
                                       "acks": "all"})
        self.assertEqual(status, 200)
        self.assertEqual(len(published["results"]), 10)
        self.assertTrue(all("offset" in r for r in published["results"]))

        received, member = [], ""
        while len(received) < 10:
            status, polled = s.request("GET", f"/v1/topics/jobs/groups/workers/messages?member={member}&max=50&wait_ms=2000")
            self.assertEqual(status, 200, polled)
            member = polled["member"]
            received += polled["messages"]
            acks = [{"partition": m["partition"], "offset": m["offset"]} for m in polled["messages"]]
            status, settled = s.request("POST", "/v1/topics/jobs/groups/workers/acks",
                                        {"member": member, "acks": acks})
            self.assertEqual(status, 200)
            self.assertEqual(settled["unknown"], 0)
        self.assertEqual(sorted(m["value"] for m in received), sorted(f"job-{i}" for i in range(10)))
        status, group = s.request("GET", "/v1/topics/jobs/groups/workers")
        self.assertEqual(status, 200)
        wait_for(lambda: sum(p["lag"] for p in s.request("GET", "/v1/topics/jobs/groups/workers")[1]["partitions"]) == 0,
                 what="lag to reach zero")
        status, body = s.request("POST", "/v1/topics/jobs/groups/workers/acks", {"member": "nobody", "acks": []})
        self.assertEqual((status, body["error"]["code"]), (404, "UNKNOWN_MEMBER"))

    def test_http_topic_create_refuses_misplaced_and_out_of_range_fields(self):
        s = self.server
        for body, field in [({"name": "x", "partitions": -1}, "partitions"),
                            ({"name": "x", "partitions": 2}, "partitions"),
                            ({"name": "x", "config": {"partitions": -1}}, "partitions"),
                            ({"name": "x", "config": {"partitions": 4294967297}}, "partitions"),
                            ({"name": "x", "config": {"partitons": 2}}, "partitons")]:
            status, reply = s.request("POST", "/v1/topics", body)
            self.assertEqual((status, reply["error"]["code"]), (400, "INVALID_ARGUMENT"), body)
            self.assertIn(f"'{field}'", reply["error"]["message"])
            status, _ = s.request("GET", "/v1/topics/x")
            self.assertEqual(status, 404, f"{body} created a topic")
        s.request("POST", "/v1/topics", {"name": "y"})
        status, reply = s.request("PATCH", "/v1/topics/y", {"config": {"partitions": 2}, "retention_ms": 5})
        self.assertEqual((status, reply["error"]["code"]), (400, "INVALID_ARGUMENT"))
        self.assertIn("'retention_ms'", reply["error"]["message"])
        status, described = s.request("GET", "/v1/topics/y")
        self.assertEqual(len(described["partitions"]), 1)

    def test_ctl_global_flags_are_accepted_after_the_subcommand(self):
        s = self.server
        result = subprocess.run([CTL, "topic", "create", "late-flags", "--partitions", "2",
                                 "--server", s.endpoint, "--http", s.http, "--json"],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(len(json.loads(result.stdout)["partitions"]), 2)
        bench = s.ctl("bench", "produce", "--topic", "late-flags", "--count", "200", "--json")
        report = json.loads(bench.stdout)
        self.assertEqual(report["bench"], "produce")
        listed = s.ctl("topic", "list", "--json", "--timeout-ms", "5000")
        self.assertIn("late-flags", [t["name"] for t in json.loads(listed.stdout)])

    def test_metrics_pass_promtool(self):
        s = self.server
        s.ctl("topic", "create", "m")
        s.ctl("publish", "m", "x")
        status, text = s.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertIn("sprawl_broker_published_records_total", text)
        self.assertIn("sprawl_storage_appended_records_total", text)
        check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_redelivery_then_dead_letter_with_reason(self):
        s = self.server
        s.ctl("topic", "create", "work.dlq")
        s.ctl("topic", "create", "work", "--ack-timeout-ms", "200", "--max-deliveries", "2",
              "--dead-letter-topic", "work.dlq")
        s.ctl("publish", "work", "poison")
        seen = s.ctl_json("subscribe", "work", "-g", "w", "--no-ack", "--count", "2", "--timeout", "10")
        self.assertEqual([m["delivery_count"] for m in seen], [1, 2])
        dead = s.ctl_json("subscribe", "work.dlq", "--count", "1", "--timeout", "10")
        self.assertEqual(dead[0]["value"], "poison")
        self.assertEqual(dead[0]["headers"]["sprawl-deliveries"], "2")
        self.assertEqual(dead[0]["headers"]["sprawl-source-topic"], "work")

    def test_expired_messages_are_not_delivered(self):
        s = self.server
        s.ctl("topic", "create", "ttl", "--message-ttl-ms", "300")
        s.ctl("publish", "ttl", "stale")
        published_at = time.monotonic()
        wait_for(lambda: time.monotonic() - published_at > 0.4, what="the TTL to pass")
        s.ctl("publish", "ttl", "fresh")
        got = s.ctl_json("subscribe", "ttl", "-g", "g", "--count", "1", "--timeout", "5")
        self.assertEqual(got[0]["value"], "fresh")
        extra = s.ctl_json("subscribe", "ttl", "-g", "g", "--timeout", "1")
        self.assertEqual(extra, [])
        group = s.ctl_json("group", "describe", "ttl", "g")[0]
        self.assertEqual(group["partitions"][0]["expired"], 1)

    def test_bad_input_gets_clear_errors_and_nonzero_exits(self):
        s = self.server
        missing = s.ctl("topic", "describe", "nope", check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("NOT_FOUND", missing.stderr)
        bad_name = s.ctl("topic", "create", "bad name", check=False)
        self.assertEqual(bad_name.returncode, 1)
        self.assertIn("INVALID_ARGUMENT", bad_name.stderr)
        bad_flag = s.ctl("topic", "create", "t", "--partitions", "many", check=False)
        self.assertEqual(bad_flag.returncode, 2)
        bad_acks = s.ctl("publish", "t", "x", "--acks", "maybe", check=False)
        self.assertNotEqual(bad_acks.returncode, 0)
        self.assertEqual(s.ctl_json("topic", "list"), [[]])

    def test_group_members_split_partitions(self):
        s = self.server
        s.ctl("topic", "create", "split", "--partitions", "4")
        members = []
        for _ in range(2):
            status, polled = s.request("GET", "/v1/topics/split/groups/g/messages?wait_ms=0")
            self.assertEqual(status, 200)
            members.append(polled["member"])
        group = s.ctl_json("group", "describe", "split", "g")[0]
        self.assertEqual(sorted(len(m["partitions"]) for m in group["members"]), [2, 2])


class BackpressureTest(unittest.TestCase):
    def retry_afters(self, server):
        _, text = server.request("GET", "/metrics")
        for line in text.splitlines():
            if line.startswith("sprawl_broker_publish_retry_after_total"):
                return float(line.split()[-1])
        return 0.0

    def test_a_flood_gets_retry_after_and_every_message_still_lands(self):
        server = Server("--fsync", "always", "--max-pending-publish-bytes", "65536").start()
        try:
            server.ctl("topic", "create", "flood", "--partitions", "4")
            flood = server.ctl_json("bench", "produce", "--topic", "flood", "--count", "200000",
                                    "--size", "1000", "--producers", "4", "--acks", "all",
                                    timeout=600)[0]
            self.assertEqual(flood["messages"], 200000, "the client retried what was refused")
            self.assertGreater(self.retry_afters(server), 0, "the node pushed back")
            topic = server.ctl_json("topic", "describe", "flood")[0]
            self.assertEqual(sum(p["high_watermark"] for p in topic["partitions"]), 200000)
        finally:
            server.stop()

    def test_light_load_is_never_refused(self):
        server = Server().start()
        try:
            server.ctl("topic", "create", "calm")
            for i in range(20):
                server.ctl("publish", "calm", f"m{i}")
            self.assertEqual(self.retry_afters(server), 0)
        finally:
            server.stop()

    def test_a_stalled_consumer_does_not_slow_another_group(self):
        server = Server().start()
        try:
            server.ctl("topic", "create", "shared", "--partitions", "2")
            stalled = subprocess.Popen(
                [__import__("cluster").CTL, "--server", server.endpoint, "subscribe", "shared",
                 "-g", "stalled", "--no-ack"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_for(lambda: server.ctl_json("group", "list")[0] != [], what="the stalled member")
                server.ctl("bench", "produce", "--topic", "shared", "--count", "20000", "--size", "100")
                fast = server.ctl_json("subscribe", "shared", "-g", "fast", "--count", "20000",
                                       "--timeout", "20")
                self.assertEqual(len(fast), 20000)
                stalled_group = server.ctl_json("group", "describe", "shared", "stalled")[0]
                self.assertLessEqual(sum(m["in_flight"] for m in stalled_group["members"]), 100,
                                     "the stalled member holds no more than its credits")
            finally:
                stalled.terminate()
                stalled.wait()
        finally:
            server.stop()


class AckLevelTest(unittest.TestCase):
    """Every client defaults to acks `all` (docs/configuration.md): under a lazy
    fsync policy only `all` syncs before it acknowledges; the interval is long
    enough that no timed sync falls inside a publish."""

    def fsyncs(self, server):
        _, text = server.request("GET", "/metrics")
        for line in text.splitlines():
            if line.startswith("sprawl_storage_fsyncs_total"):
                return float(line.split()[-1])
        self.fail("/metrics has no sprawl_storage_fsyncs_total")

    def test_http_and_sprawlctl_publish_default_to_acks_all(self):
        server = Server("--fsync", "interval:60000").start()
        try:
            server.request("POST", "/v1/topics", {"name": "d"})
            before = self.fsyncs(server)
            status, _ = server.request("POST", "/v1/topics/d/messages", {"messages": [{"value": "x"}]})
            self.assertEqual(status, 200)
            after_http = self.fsyncs(server)
            self.assertGreater(after_http, before, "an HTTP publish without acks did not sync")
            server.ctl("publish", "d", "y")
            self.assertGreater(self.fsyncs(server), after_http, "sprawlctl publish did not sync")
        finally:
            server.stop()

    def test_acks_none_reports_no_offset(self):
        server = Server().start()
        try:
            server.request("POST", "/v1/topics", {"name": "n"})
            status, published = server.request("POST", "/v1/topics/n/messages",
                                               {"messages": [{"value": "x"}], "acks": "none"})
            self.assertEqual(status, 200)
            self.assertEqual(published["results"], [{"partition": 0}])
            self.assertEqual(server.ctl_json("publish", "n", "y", "--acks", "none"),
                             [[{"partition": 0, "offset": None}]])
        finally:
            server.stop()


class ServerOptionsTest(unittest.TestCase):
    def test_bad_flags_and_environment_fail_clearly(self):
        from cluster import SERVER
        bad = subprocess.run([SERVER, "--fsync", "sometimes"], capture_output=True, text=True)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("fsync", bad.stderr)
        env = dict(os.environ, SPRAWL_STORAGE="tape")
        bad_env = subprocess.run([SERVER], capture_output=True, text=True, env=env)
        self.assertEqual(bad_env.returncode, 2)
        join = subprocess.run([SERVER, "--join", "127.0.0.1"], capture_output=True, text=True)
        self.assertEqual(join.returncode, 2)
        self.assertIn("host:port", join.stderr)
        timing = subprocess.run([SERVER, "--gossip-probe-interval-ms", "100",
                                 "--gossip-probe-timeout-ms", "100"], capture_output=True, text=True)
        self.assertEqual(timing.returncode, 2)
        self.assertIn("probe timeout", timing.stderr)

    def test_rocksdb_option_strings_apply_or_fail_clearly(self):
        from cluster import SERVER
        data = Server().data_dir
        refused = subprocess.run(
            [SERVER, "--data-dir", os.path.join(data, "refused"), "--client-port", "0",
             "--http-port", "0", "--peer-port", "0", "--rocksdb-log-options", "no_such_option=1"],
            capture_output=True, text=True, timeout=60)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("invalid RocksDB", refused.stderr)
        self.assertIn("no_such_option", refused.stderr)
        self.assertFalse(os.path.exists(os.path.join(data, "refused", "CURRENT")),
                         "a refused option string leaves no database behind")
        s = Server("--rocksdb-db-options", "max_background_jobs=3",
                   "--rocksdb-log-options", "enable_blob_garbage_collection=true")
        s.start()
        try:
            s.ctl("topic", "create", "tuned", "--partitions", "1")
            s.ctl("publish", "tuned", "kept")
            # RocksDB writes the options it runs with to OPTIONS-<n> files.
            written = ""
            for root, _, files in os.walk(os.path.join(s.data_dir, "data")):
                for name in files:
                    if name.startswith("OPTIONS-"):
                        with open(os.path.join(root, name)) as f:
                            written += f.read()
            self.assertIn("max_background_jobs=3", written)
            self.assertIn("enable_blob_garbage_collection=true", written)
        finally:
            s.stop()

    def test_config_file_flags_and_environment_in_order_of_precedence(self):
        data = Server().data_dir
        config = os.path.join(data, "sprawl.toml")
        with open(config, "w") as f:
            f.write('node-id = "from-file"\nstorage = "memory"\nlog-format = "json"\n')
        s = Server("--config", config, data_dir=data)
        s.extra.append("--node-id=from-flag")
        s.start()
        try:
            status = s.ctl_json("status")[0]
            self.assertEqual(status["node_id"], "from-flag")
        finally:
            s.stop()
        with open(s.log_path) as f:
            log = f.read()
        self.assertIn('"storage":"memory"', log, "the file set the storage and JSON logs")

    def test_port_in_use_is_a_clear_error(self):
        first = Server().start()
        try:
            clash = Server()
            clash.client_port = first.client_port
            clash_proc = subprocess.run(
                [__import__("cluster").SERVER, "--data-dir", os.path.join(clash.data_dir, "d"),
                 "--client-port", str(first.client_port), "--http-port", str(clash.http_port)],
                capture_output=True, text=True, timeout=30)
            self.assertEqual(clash_proc.returncode, 1)
            self.assertIn("cannot listen", clash_proc.stderr)
        finally:
            first.stop()


if __name__ == "__main__":
    unittest.main()
