"""The Wyoming listener on a unix:// socket, answering the wyoming client's describe
from the router's catalog (workers here are static handles: no process is needed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from wyoming.client import AsyncClient
from wyoming.info import Describe, Info

from polyvox.config import Settings, WyomingSettings
from polyvox.contract.types import Capability, ModelInfo, VoiceInfo, WorkerDescription
from polyvox.gateway.routing import Router
from polyvox.gateway.waiting_line import Lines
from polyvox.gateway.wyoming.context import Gateway
from polyvox.gateway.wyoming.server import WyomingServer
from polyvox.text.segment import Segmenters
from support.handles import StaticRegistry, StaticWorker

JOE = ModelInfo("en_US-joe-medium", (VoiceInfo("joe", ("en-US",)),), 22050, ("en-US",))
KOKORO = ModelInfo(
    "kokoro-82m-int8",
    (VoiceInfo("jf_alpha", ("ja-JP", "en-US")), VoiceInfo("jm_kumo", ("ja-JP", "en-US"))),
    24000,
    ("en-US", "ja-JP"),
)
TINY = ModelInfo("tiny.en", (), 16000, ("en",), capability=Capability.STT)


def gateway() -> Gateway:
    settings = Settings(config=None)
    workers = [
        StaticWorker("piper-0", "piper", WorkerDescription("piper", "1.8.0", (JOE,))),
        StaticWorker("kokoro-0", "kokoro", WorkerDescription("kokoro", "0.6.1", (KOKORO,))),
        StaticWorker("whisper-0", "whisper", WorkerDescription("whisper", "1.1", (TINY,))),
    ]
    router = Router(settings, StaticRegistry(workers))
    return Gateway(router, Segmenters(), Lines(settings.queue, {}), settings)


async def test_describe_over_a_unix_socket(tmp_path: Path) -> None:
    uri = f"unix://{tmp_path / 'wyoming.sock'}"
    server = WyomingServer(WyomingSettings(uri=uri), gateway())
    await server.start()
    try:
        async with AsyncClient.from_uri(uri) as client:
            await client.write_event(Describe().event())
            event = await client.read_event()
        assert event is not None
        info = Info.from_event(event)
    finally:
        await server.stop()
    voices = {p.name: [(v.name, v.languages) for v in p.voices] for p in info.tts}
    assert voices == {
        "piper": [("en_US-joe-medium", ["en-US"])],
        "kokoro": [("jf_alpha", ["ja-JP", "en-US"]), ("jm_kumo", ["ja-JP", "en-US"])],
    }
    assert [p.version for p in info.tts] == ["1.8.0", "0.6.1"]
    assert [(p.name, [m.name for m in p.models]) for p in info.asr] == [("whisper", ["tiny.en"])]


@pytest.mark.parametrize("uri", ["http://localhost:1", "tcp://no-port"])
async def test_a_bad_uri_is_refused(uri: str) -> None:
    with pytest.raises(ValueError, match=r"wyoming\.uri"):
        await WyomingServer(WyomingSettings(uri=uri), gateway()).start()
