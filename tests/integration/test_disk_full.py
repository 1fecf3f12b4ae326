"""A node on a small file system: publishes are refused with a clear,
retriable RESOURCE_EXHAUSTED once they would use the free space kept in
reserve, the node keeps serving what it stored, and it starts again on the
still nearly full disk with every acknowledged message. Without the reserve
the storage engine met ENOSPC and the process aborted."""
import json
import os
import subprocess
import tempfile
import unittest

from cluster import Server

MiB = 1 << 20


@unittest.skipUnless(os.geteuid() == 0, "mounting a small tmpfs needs root")
class DiskFullTest(unittest.TestCase):
    def setUp(self):
        self.mount = tempfile.mkdtemp(prefix="sprawl-small-disk-")
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", self.mount], check=True)
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.stop()
        subprocess.run(["umount", self.mount], check=False)
        os.rmdir(self.mount)

    def metric(self, name):
        status, text = self.server.request("GET", "/metrics")
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(f"{name} not in /metrics")

    def test_publishes_stop_at_the_reserve_and_the_node_restarts_with_everything(self):
        reserve = 24 * MiB
        args = ("--min-free-disk-bytes", str(reserve), "--fsync", "interval:10")
        self.server = Server(*args, data_dir=self.mount).start()
        self.server.ctl("topic", "create", "fill", "--partitions", "1")
        acked = []
        refusal = None
        payload = "x" * 2000
        for i in range(2000):
            values = [f"{i}-{j}-{payload}" for j in range(50)]
            status, body = self.server.request(
                "POST", "/v1/topics/fill/messages",
                {"messages": [{"value": v} for v in values], "acks": "all"}, timeout=30)
            self.assertEqual(status, 200, body)
            result = body["results"][0]
            if "error" in result:
                refusal = result["error"]
                break
            acked += values
        self.assertIsNotNone(refusal, "64 MiB filled without a refusal")
        self.assertEqual(refusal["code"], "RESOURCE_EXHAUSTED", refusal)
        self.assertTrue(refusal["retriable"])
        self.assertIn("--min-free-disk-bytes", refusal["message"])
        self.assertGreater(len(acked), 5000)
        self.assertGreaterEqual(os.statvfs(self.mount).f_bavail * os.statvfs(self.mount).f_frsize,
                                reserve - 4 * MiB, "the reserve was eaten into")
        self.assertEqual(self.metric("sprawl_storage_disk_full"), 1)
        self.assertGreater(self.metric("sprawl_storage_disk_full_refusals_total"), 0)
        self.assertEqual(self.stored_values(len(acked)), acked)

        # A restart on the still nearly full disk recovers everything.
        self.assertEqual(self.server.stop(), 0)
        self.server = Server(*args, data_dir=self.mount).start()
        self.assertEqual(self.stored_values(len(acked)), acked)
        status, body = self.server.request(
            "POST", "/v1/topics/fill/messages", {"messages": [{"value": "more"}]}, timeout=30)
        self.assertEqual(body["results"][0]["error"]["code"], "RESOURCE_EXHAUSTED", body)

    def stored_values(self, count):
        """The topic's values from offset 0, checked to be all it holds."""
        status, topic = self.server.request("GET", "/v1/topics/fill")
        self.assertEqual(topic["partitions"][0]["next_offset"], count, topic)
        out = self.server.ctl("--json", "subscribe", "fill", "--from", "earliest",
                              "-n", str(count), "--timeout", "30", timeout=120).stdout
        return [json.loads(line)["value"] for line in out.splitlines() if line.strip()]

if __name__ == "__main__":
    unittest.main()
