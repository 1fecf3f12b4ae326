"""The web console's HTTP side: the embedded assets at /ui and the two routes
it adds to the API (browse by offset, reset a group's cursors)."""
import base64
import unittest

from cluster import Server, wait_for


def b64(text):
    return base64.b64encode(text.encode()).decode()


class ConsoleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("--storage", "memory").start()

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0

    def test_ui_serves_the_embedded_page_and_its_assets(self):
        s = self.server
        status, page = s.request("GET", "/ui")
        self.assertEqual(status, 200)
        self.assertIn("<title>Sprawl console</title>", page)
        for asset in ["app.js", "style.css", "uPlot.iife.min.js", "uPlot.min.css"]:
            self.assertIn(f"/ui/{asset}", page)
            status, body = s.request("GET", f"/ui/{asset}")
            self.assertEqual(status, 200, asset)
            self.assertGreater(len(body), 500, asset)
        status, body = s.request("GET", "/ui/missing.js")
        self.assertEqual((status, body["error"]["code"]), (404, "NOT_FOUND"))

    def test_browse_reads_by_offset_without_a_group(self):
        s = self.server
        s.request("POST", "/v1/topics", {"name": "browse", "config": {"partitions": 2}})
        status, _ = s.request("POST", "/v1/topics/browse/messages", {"messages": [
            {"value": '{"n": 1}', "key": "k", "headers": {"trace": "abc"}, "partition": 1},
            {"value": "two", "partition": 1}, {"value": "three", "partition": 1}]})
        self.assertEqual(status, 200)
        status, read = s.request("GET", "/v1/topics/browse/partitions/1/messages")
        self.assertEqual(status, 200, read)
        self.assertEqual([m["offset"] for m in read["messages"]], [0, 1, 2])
        first = read["messages"][0]
        self.assertEqual((first["key_base64"], first["value_base64"]), (b64("k"), b64('{"n": 1}')))
        self.assertEqual(first["headers"], [{"name": "trace", "value_base64": b64("abc")}])
        self.assertIsNone(read["messages"][1]["key_base64"])
        self.assertEqual((read["first_offset"], read["high_watermark"], read["next_offset"]), (0, 3, 3))
        status, page = s.request("GET", "/v1/topics/browse/partitions/1/messages?offset=1&max=1")
        self.assertEqual([m["value_base64"] for m in page["messages"]], [b64("two")])
        self.assertEqual(page["next_offset"], 2)
        status, empty = s.request("GET", "/v1/topics/browse/partitions/0/messages")
        self.assertEqual((status, empty["messages"]), (200, []))
        status, _ = s.request("GET", "/v1/groups?topic=browse")
        self.assertEqual(s.request("GET", "/v1/groups?topic=browse")[1]["groups"], [], "browsing joins no group")
        for path, code in [("/v1/topics/browse/partitions/9/messages", 404),
                           ("/v1/topics/browse/partitions/x/messages", 400),
                           ("/v1/topics/browse/partitions/1/messages?offset=-1", 400),
                           ("/v1/topics/nope/partitions/0/messages", 404)]:
            status, body = s.request("GET", path)
            self.assertEqual(status, code, (path, body))

    def test_reset_moves_a_groups_cursors_and_refuses_bad_bodies(self):
        s = self.server
        s.request("POST", "/v1/topics", {"name": "resets", "config": {"partitions": 1}})
        s.request("POST", "/v1/topics/resets/messages", {"messages": [{"value": str(i)} for i in range(5)]})
        status, polled = s.request("GET", "/v1/topics/resets/groups/g/messages?max=5&wait_ms=2000")
        self.assertEqual(status, 200)
        s.request("POST", "/v1/topics/resets/groups/g/acks", {"member": polled["member"], "acks": [
            {"partition": m["partition"], "offset": m["offset"]} for m in polled["messages"]]})
        lag = lambda: s.request("GET", "/v1/topics/resets/groups/g")[1]["partitions"][0]["lag"]
        wait_for(lambda: lag() == 0, what="the acks to settle")
        status, group = s.request("POST", "/v1/topics/resets/groups/g/reset", {"to": "earliest"})
        self.assertEqual(status, 200, group)
        self.assertEqual(group["partitions"][0]["ack_floor"], 0)
        self.assertEqual(lag(), 5)
        status, group = s.request("POST", "/v1/topics/resets/groups/g/reset", {"offset": 3})
        self.assertEqual((status, group["partitions"][0]["ack_floor"]), (200, 3))
        for body in [{}, {"to": "middle"}, {"offset": -1}, {"to": "latest", "offset": 1}, b"nope"]:
            status, answer = s.request("POST", "/v1/topics/resets/groups/g/reset", body)
            self.assertEqual((status, answer["error"]["code"]), (400, "INVALID_ARGUMENT"), body)
        self.assertEqual(s.request("GET", "/v1/topics/resets/groups/g")[1]["partitions"][0]["ack_floor"], 3,
                         "a refused reset changes nothing")

    def test_group_lag_is_exported_as_a_metric(self):
        s = self.server
        s.request("POST", "/v1/topics", {"name": "lagging", "config": {"partitions": 2}})
        s.request("POST", "/v1/topics/lagging/messages", {"messages": [{"value": str(i)} for i in range(7)]})
        status, polled = s.request("GET", "/v1/topics/lagging/groups/slow/messages?max=2&wait_ms=2000")
        self.assertEqual(status, 200)
        self.assertTrue(polled["messages"])
        series = '{group="slow",topic="lagging"}'

        def sample(name):
            for line in s.request("GET", "/metrics")[1].splitlines():
                if line.startswith(name + series + " "):
                    return int(line.split()[1])
            return None
        # Sampled every 5 s: 7 published, none acked, 1 or 2 in flight (2
        # credits), 1 member.
        wait_for(lambda: sample("sprawl_group_lag") == 7, timeout=15, what="the lag gauge")
        self.assertIn(sample("sprawl_group_in_flight"), (1, 2))
        self.assertEqual(sample("sprawl_group_members"), 1)
        self.assertEqual(sample("sprawl_group_dead_lettered"), 0)


if __name__ == "__main__":
    unittest.main()
