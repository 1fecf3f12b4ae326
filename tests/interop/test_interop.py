"""Interoperability: each of C, Python, Node.js and Java publishes the same
message set to its own topic on a real sprawl-server, and each of them reads
every topic back. Keys, value bytes, headers and order must be identical
everywhere. Paths to the programs come from the environment (ctest sets
them); the server is the one from tests/integration."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from cluster import Server  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
COUNT = 20


def expected_lines(lang):
    """What every consumer must print for the topic `lang` published to."""
    lines = []
    for i in range(COUNT):
        key = "-" if i % 5 == 0 else f"key-{i}".encode().hex()
        value = (bytes([i, 0, 255, i * 7 % 256]) + f"v{i}".encode()).hex()
        headers = f"idx={str(i).encode().hex()} lang={lang.encode().hex()}"
        lines.append(f"{i} {key} {value} {headers}")
    return lines


class InteropTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server().start()
        cls.java_classes = tempfile.mkdtemp(prefix="sprawl-interop-java-")
        jar_classes = os.environ["SPRAWL_JAVA_CLASSES"]
        subprocess.run(["javac", "-d", cls.java_classes, "-cp", jar_classes,
                        os.path.join(HERE, "Interop.java")], check=True)
        cls.commands = {
            "c": [os.environ["SPRAWL_INTEROP_C"]],
            "python": [sys.executable, os.path.join(HERE, "interop.py")],
            "node": ["node", os.path.join(HERE, "interop.js")],
            "java": ["java", "-Djava.library.path=" + os.environ["SPRAWL_JAVA_NATIVE_DIR"],
                     "-cp", cls.java_classes + os.pathsep + jar_classes, "Interop"],
        }
        cls.env = dict(os.environ, PYTHONPATH=os.environ["SPRAWL_PYTHON_PATH"])

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.java_classes, ignore_errors=True)

    def run_side(self, lang, *args):
        result = subprocess.run(self.commands[lang] + list(args), env=self.env,
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(result.returncode, 0, f"{lang} {args[0]} failed: {result.stderr[-3000:]}")
        return [line for line in result.stdout.splitlines() if line and line[0].isdigit()]

    def test_every_language_reads_what_every_language_wrote(self):
        address = self.server.endpoint
        for lang in self.commands:
            self.server.ctl("topic", "create", f"from-{lang}", "--partitions", "1")
            self.run_side(lang, "produce", address, f"from-{lang}", lang)
        for producer in self.commands:
            for consumer in self.commands:
                with self.subTest(producer=producer, consumer=consumer):
                    got = self.run_side(consumer, "consume", address, f"from-{producer}")
                    self.assertEqual(got, expected_lines(producer))


if __name__ == "__main__":
    unittest.main()
