"""Home Assistant's websocket API for the end-to-end tests: authenticated, numbered commands."""

from __future__ import annotations

from typing import Any

import aiohttp

from tools.home_assistant_harness import HomeAssistant

# The bound of one test's websocket conversation.
RUN_TIMEOUT = 30.0


class Websocket:
    """Home Assistant's websocket API, authenticated, with numbered commands."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._id = 0

    @classmethod
    async def connect(
        cls, session: aiohttp.ClientSession, home_assistant: HomeAssistant
    ) -> Websocket:
        ws = await session.ws_connect(f"{home_assistant.url}/api/websocket")
        assert (await ws.receive_json())["type"] == "auth_required"
        await ws.send_json({"type": "auth", "access_token": home_assistant.access_token})
        assert (await ws.receive_json())["type"] == "auth_ok"
        return cls(ws)

    async def send(self, message: dict[str, Any]) -> int:
        self._id += 1
        await self.ws.send_json({"id": self._id, **message})
        return self._id

    async def command(self, message: dict[str, Any]) -> Any:
        command_id = await self.send(message)
        reply = await self.ws.receive_json()
        assert reply["id"] == command_id
        assert reply["success"], reply
        return reply["result"]
