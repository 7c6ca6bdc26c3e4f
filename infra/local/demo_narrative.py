"""The demo's narrative step (issue 23): the digest retold by a language model through an
OpenAI-compatible Chat Completions API.

The model is tests/llm/openai_server.py on 127.0.0.1:18075 (requests checked by the official
`openai` SDK's types; it requires the key create_resources.py keeps in moto SSM at
/lookout/llm-api-key). `cargo lambda watch` gets LOOKOUT_LLM_BASE_URL, LOOKOUT_LLM_MODEL and
LOOKOUT_LLM_API_KEY={{ssm:/lookout/llm-api-key}} ([`LlmServer.watch_args`]), so the digest
function reads the key from SSM when it calls. After the demo's digest, [`check`] looks at the
one request the server got (path, key, no secret of any target in it), the narrative on the
global digest (`generated: true`) in the run's answer and in `GET /v1/digests`, and a second run
of the hour that makes no request."""

from __future__ import annotations

import json
import socket
import sys
import time
import urllib.request
from pathlib import Path

import boto3

from create_resources import LLM_KEY_PARAMETER

PORT = 18075
MODEL = "lookout-local"
TEXT = ("Generated for the demo: api-primary and proxy-vps are down this hour; the backup server "
        "and the datacenter proxy carry the traffic. Look at api-primary first.")


class LlmServer:
    """tests/llm/openai_server.py started by the demo (stopped with the demo's children)."""

    def __init__(self, demo, say, root: Path, venv_bin: Path) -> None:
        ssm = boto3.client("ssm", endpoint_url=demo.env["AWS_ENDPOINT_URL_SSM"], region_name=demo.env["AWS_REGION"],
                           aws_access_key_id="test", aws_secret_access_key="test")
        try:
            self.key = ssm.get_parameter(Name=LLM_KEY_PARAMETER, WithDecryption=True)["Parameter"]["Value"]
        except Exception as e:  # noqa: BLE001 (any failure: the stack was set up without it)
            raise SystemExit(f"demo: the SSM parameter {LLM_KEY_PARAMETER} is missing ({e}); "
                             "run infra/local/stack.sh up (create_resources.py makes it)")
        self.url = f"http://127.0.0.1:{PORT}"
        if _answers(PORT):
            raise SystemExit(f"demo: port {PORT} (the language model server) is taken by another program")
        demo.spawn([str(venv_bin / "python"), str(root / "tests/llm/openai_server.py"), "--port", str(PORT),
                    "--api-key", self.key, "--text", TEXT], "demo-llm.log")
        deadline = time.monotonic() + 30
        while not _answers(PORT):
            if time.monotonic() > deadline:
                raise SystemExit(f"demo: tests/llm/openai_server.py did not start on :{PORT} (.local/log/demo-llm.log)")
            time.sleep(0.2)
        say(f"language model server (tests/llm/openai_server.py) :{PORT}, key in SSM {LLM_KEY_PARAMETER}")

    def watch_args(self) -> list[str]:
        """The narrative settings for `cargo lambda watch`."""
        return ["--env-var", f"LOOKOUT_LLM_BASE_URL={self.url}/v1", "--env-var", f"LOOKOUT_LLM_MODEL={MODEL}",
                "--env-var", f"LOOKOUT_LLM_API_KEY={{{{ssm:{LLM_KEY_PARAMETER}}}}}"]

    def requests(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.url}/_control/requests", timeout=10) as resp:
            return json.loads(resp.read())


def _answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def check(demo, say, llm: LlmServer, report: dict, hour: str, secrets: list[str]) -> None:
    """The narrative of the digest `report` (of `hour`, `YYYY-MM-DDTHH`) just made."""
    g = report["global"]
    n = g.get("narrative") or {}
    say("\nnarrative (LOOKOUT_LLM_*: tests/llm/openai_server.py, the key read from SSM):")
    say(f"  {n.get('text')}")
    say(f"  model {n.get('model')}, {n.get('prompt_tokens')} prompt and {n.get('completion_tokens')} "
        f"completion tokens, narration {g.get('narration')}")
    demo.expect(n.get("generated") is True and n.get("text") == TEXT and n.get("model") == MODEL,
                "the global digest carries the model's narrative, marked generated")
    demo.expect((g.get("narration") or {}).get("written") == 1, "the run counts one narrative written")
    requests = llm.requests()
    demo.expect(len(requests) == 1, f"one call to the model for the hour ({len(requests)})")
    if requests:
        r = requests[0]
        demo.expect(r["path"] == "/v1/chat/completions" and r["problem"] is None,
                    f"the request is a Chat Completions request the openai SDK's types accept ({r['path']}, {r['problem']})")
        demo.expect(r["headers"].get("authorization") == f"Bearer {llm.key}", "it carries the API key read from SSM")
        found = [s for s in secrets + ["{{ssm:"] if s in r["body"]]
        demo.expect(not found, f"no target's secret, reference or token is in the request body ({len(found)} found)")
    status, listed = demo.api("GET", "/v1/digests?limit=1", admin=True)
    first = (listed.get("digests") or [{}])[0] if isinstance(listed, dict) else {}
    demo.expect(status == 200 and (first.get("narrative") or {}).get("generated") is True
                and first["narrative"].get("text") == TEXT,
                f"GET /v1/digests serves the narrative with generated: true ({status})")
    again = demo.invoke("digest", json.dumps({"hour": hour}))
    demo.expect(len(llm.requests()) == 1 and (again["global"].get("narrative") or {}).get("text") == TEXT
                and (again["global"].get("narration") or {}).get("reused") == 1,
                "the same hour digested again keeps its narrative and makes no call")


if __name__ == "__main__":
    sys.exit("demo_narrative.py is a step of infra/local/demo.py (make demo)")
