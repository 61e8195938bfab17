"""Database lookups of concurrent handshakes, made together: one trip for many sockets."""

import asyncio
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from .db import database_sync_to_async

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Round(Generic[K, V]):
    """The keys asked for in one event loop, and the batch on its way, if any."""

    def __init__(self) -> None:
        self.waiting: dict[K, tuple[asyncio.Future, Any]] = {}
        self.running: asyncio.Task | None = None


class Batcher(Generic[K, V]):
    """Loads values by key on the sockets' database thread, many keys a trip.

    The first key goes at once; keys asked for while that trip is on its way go together
    in the next one, so an idle server adds no delay and a burst of handshakes costs a
    few trips instead of one each. Sockets asking for the same key share one load and one
    result, which must therefore not be changed by them. ``load_many`` runs in the
    database thread with ``{key: context}`` (the context of the first asker of each key)
    and returns a value for every key.
    """

    def __init__(self, load_many: Callable[[dict[K, Any]], dict[K, V]]) -> None:
        self.load_many = database_sync_to_async(load_many)
        self.rounds: dict[asyncio.AbstractEventLoop, _Round[K, V]] = {}

    async def load(self, key: K, context: Any = None) -> V:
        loop = asyncio.get_running_loop()
        state = self.rounds.get(loop)
        if state is None:
            # One per event loop; the loops of finished tests are dropped here.
            self.rounds = {other: r for other, r in self.rounds.items() if not other.is_closed()}
            state = self.rounds[loop] = _Round()
        if key in state.waiting:
            future = state.waiting[key][0]
        else:
            future = loop.create_future()
            state.waiting[key] = (future, context)
            if state.running is None:
                state.running = loop.create_task(self._run(state))
        return await asyncio.shield(future)

    async def _run(self, state: _Round[K, V]) -> None:
        try:
            while state.waiting:
                batch, state.waiting = state.waiting, {}
                try:
                    values = await self.load_many({key: ctx for key, (_, ctx) in batch.items()})
                except BaseException as exc:
                    # Cancelled (the loop is closing) or failed: no asker waits for ever.
                    for future, _ in batch.values():
                        if not future.done():
                            future.set_exception(
                                exc if isinstance(exc, Exception) else RuntimeError("cancelled")
                            )
                    if not isinstance(exc, Exception):
                        for future, _ in state.waiting.values():
                            if not future.done():
                                future.set_exception(RuntimeError("cancelled"))
                        state.waiting = {}
                        raise
                    continue
                for key, (future, _) in batch.items():
                    if future.done():
                        continue
                    if key in values:
                        future.set_result(values[key])
                    else:
                        future.set_exception(LookupError(f"{key!r} was not loaded"))
        finally:
            state.running = None
