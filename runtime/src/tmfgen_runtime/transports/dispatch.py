"""More than one message at a time per subscription, without reordering what must stay ordered.

A backend that awaits its handler once per message leaves the service idle while a reply waits
for the broker's acknowledgement (a QoS 1 PUBACK, an XADD round trip, a publisher confirm): on
those brokers most of a request's time is that wait. Handling several messages at once fills it.
What must not change is the order of requests about one resource: two patches of one customer
sent one after the other must be applied in that order. So each message may carry an ordering
key (`Concurrency.key`, chosen by the service: the resource id of a patch or delete); messages
with equal keys run one after another in arrival order, and the others run side by side, up to
`Concurrency.limit` at once.

Three shapes, one per kind of backend reader:
- `Dispatcher` for readers handed one message at a time (core NATS, MQTT, the embedded broker,
  Redis Streams entries as they are read):
  `submit` returns once the message is started, waiting while `limit` are in hand, and calls
  the message's `settle` when its handler is done, in arrival order when the broker needs its
  acknowledgements in that order (MQTT);
- `run_batch` for readers that fetch batches and settle them as one (Kafka, JetStream): the
  batch's messages run side by side and the outcomes come back in arrival order, for the
  backend to acknowledge or redeliver as before;
- `KeyedTurns` alone where the client library already runs callbacks side by side (aio-pika,
  up to the channel's prefetch): a callback waits for its key's turn.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from .transport import Concurrency, Handler, Message

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

#: what a backend does once a message's handler finished: the exception it raised, or None
Settle = Callable[[BaseException | None], Awaitable[None] | None]


class KeyedTurns:
    """First come, first served per key: `turn(key)` returns an awaitable that completes once
    every earlier turn of the same key has ended. The place in line is taken when `turn` is
    called, so a reader calls it in arrival order, before anything awaits."""

    def __init__(self) -> None:
        self._tails: dict[Hashable, asyncio.Future[None]] = {}

    def turn(self, key: Hashable | None) -> _Turn:
        if key is None:
            return _Turn(self, None, None, None)
        before = self._tails.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._tails[key] = mine
        return _Turn(self, key, before, mine)

    def _end(self, key: Hashable, mine: asyncio.Future[None]) -> None:
        if not mine.done():
            mine.set_result(None)
        if self._tails.get(key) is mine:
            del self._tails[key]

    def __len__(self) -> int:
        """Keys with a turn taken and not yet ended (bounded by the messages in hand)."""
        return len(self._tails)


class _Turn:
    """A place in one key's line: `async with` waits for it and ends it."""

    __slots__ = ("_before", "_key", "_mine", "_owner")

    def __init__(
        self,
        owner: KeyedTurns,
        key: Hashable | None,
        before: asyncio.Future[None] | None,
        mine: asyncio.Future[None] | None,
    ) -> None:
        self._owner, self._key, self._before, self._mine = owner, key, before, mine

    async def __aenter__(self) -> None:
        before = self._before
        if before is not None and not before.done():
            try:
                await asyncio.shield(before)
            except asyncio.CancelledError:
                self.end()
                raise

    async def __aexit__(self, *exc: object) -> None:
        self.end()

    def end(self) -> None:
        if self._mine is not None:
            self._owner._end(self._key, self._mine)


class Dispatcher:
    """Runs a subscription's handler on up to `concurrency.limit` messages at once (see the
    module docstring). `in_order` settles messages in arrival order, a later message that
    finished first waiting for the ones before it.

    Messages wait in one queue for a pool of worker tasks (at most `limit`, started as the
    load needs them, kept until the subscription stops). A busy worker takes the next message
    without creating a task or waking another, so a subscription whose handlers never wait
    (core NATS with SQLite) costs next to nothing over handling inline, while one whose
    handlers wait for the broker overlaps up to `limit` of them.
    """

    def __init__(self, handler: Handler, concurrency: Concurrency, in_order: bool = False) -> None:
        self._handler = handler
        self._concurrency = concurrency
        self._in_order = in_order
        self._room = asyncio.Semaphore(concurrency.limit)
        self._turns = KeyedTurns()
        #: started messages no worker has taken yet: (message, turn, settle, entry)
        self._queue: collections.deque[tuple[Message, _Turn, Settle | None, list[Any] | None]]
        self._queue = collections.deque()
        self._workers: set[asyncio.Task[None]] = set()
        #: workers with nothing to do, each waiting on its future
        self._idle: list[asyncio.Future[None]] = []
        #: workers woken or started for a queued message that have not run yet
        self._waking = 0
        #: messages submitted and not yet handled and settled
        self._in_hand = 0
        self._empty = asyncio.Event()
        self._empty.set()
        #: in arrival order, for `in_order`: [settle, outcome, finished]
        self._line: collections.deque[list[Any]] = collections.deque()
        self._settling = False
        self._closed = False

    @property
    def busy(self) -> bool:
        """Whether a message is being handled, waits for a worker, or waits to be settled."""
        return self._in_hand > 0 or bool(self._line)

    @property
    def room(self) -> int:
        """How many more messages `submit` would start now without waiting (at least 0)."""
        return max(0, self._concurrency.limit - self._in_hand)

    async def submit(self, message: Message | None, settle: Settle | None = None) -> None:
        """Start handling `message`; returns once it is queued for a worker (waiting while
        `limit` messages are in hand). `settle` gets the handler's exception, or None, once it
        is done. A `message` of None is not handled, only settled in its turn (one the reader
        could not decode but must still acknowledge in order). With a limit of one, the message
        is handled right here, in the caller's task, as a reader without a dispatcher would."""
        if message is None:
            if self._in_order:
                self._line.append([settle, None, True])
                await self._settle_line()
            else:
                await _call(settle, None)
            return
        if self._concurrency.limit == 1:
            outcome: BaseException | None = None
            try:
                await self._handler(message)
            except Exception as exc:
                outcome = exc
            await _call(settle, outcome)
            return
        await self._room.acquire()
        turn = self._turns.turn(self._concurrency.key_of(message))
        entry: list[Any] | None = None
        if self._in_order:
            entry = [settle, None, False]
            self._line.append(entry)
        self._in_hand += 1
        self._empty.clear()
        self._queue.append((message, turn, settle, entry))
        self._wake_one()

    def _wake_one(self) -> None:
        """Get one more worker going, unless one is already on its way. Workers come one at a
        time: each wakes the next when it takes a message and more are queued, so a handler
        that waits (for the broker, a lock) has the next message taken by another worker,
        while handlers that never wait are all run by one worker, waking nobody."""
        if self._waking:
            return
        if self._idle:
            self._idle.pop().set_result(None)
        elif len(self._workers) < self._concurrency.limit:
            worker = asyncio.ensure_future(self._work())
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        else:
            return  # every worker is at work: the first one free takes it
        self._waking += 1

    async def _work(self) -> None:
        """One worker: take queued messages one after another; wait when there are none, and
        end once the dispatcher is closed and nothing is queued."""
        loop = asyncio.get_running_loop()
        self._waking -= 1  # started: on its way no more
        while True:
            if not self._queue:
                if self._closed:
                    return
                waiting = loop.create_future()
                self._idle.append(waiting)
                try:
                    await waiting
                finally:
                    if waiting in self._idle:
                        self._idle.remove(waiting)
                    else:  # woken by `submit`, which counted it as on its way
                        self._waking -= 1
                continue
            taken = self._queue.popleft()
            if self._queue:
                self._wake_one()
            await self._run(*taken)

    async def _run(
        self, message: Message, turn: _Turn, settle: Settle | None, entry: list[Any] | None
    ) -> None:
        outcome: BaseException | None = None
        try:
            async with turn:
                await self._handler(message)
        except Exception as exc:  # the backend decides: redeliver, dead-letter or drop
            outcome = exc
        except BaseException:  # cancelled by a stop: never settled, so the broker redelivers
            if entry is not None:
                self._line.remove(entry)
            self._done()
            raise
        finally:
            self._room.release()
        try:
            if entry is None:
                await _call(settle, outcome)
            else:
                entry[1], entry[2] = outcome, True
                await self._settle_line()
        finally:
            self._done()

    def _done(self) -> None:
        self._in_hand -= 1
        if self._in_hand == 0:
            self._empty.set()

    async def _settle_line(self) -> None:
        """Settle the finished messages at the head of the line, in order."""
        if self._settling:  # the worker settling the line now will reach these entries too
            return
        self._settling = True
        try:
            while self._line and self._line[0][2]:
                head = self._line.popleft()
                await _call(head[0], head[1])
        finally:
            self._settling = False

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until every message in hand is handled and settled (at most `timeout`
        seconds); True when nothing is left."""
        try:
            await asyncio.wait_for(self._empty.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def finish(self, grace: float) -> None:
        """For a stopping subscription: let the messages in hand finish, for up to `grace`
        seconds, then end the workers (cancelling what still runs). Called from one of its own
        handlers (a handler that stops its subscription), it closes without waiting for itself.
        """
        if self.handling_here():
            self.close()
            return
        if await self.drain(grace):
            self.close()
        else:
            self.cancel()

    def close(self) -> None:
        """Take no more messages; each worker ends once the queue is empty (those at work
        finish their message first)."""
        self._closed = True
        while self._idle:
            self._idle.pop().set_result(None)
            self._waking += 1

    def handling_here(self) -> bool:
        """Whether the running task is one of this dispatcher's workers (a handler that stops
        its own subscription must not wait for itself)."""
        return asyncio.current_task() in self._workers

    def cancel(self) -> None:
        """End every worker now, cancelling a handler still running (a stop whose grace
        period ran out); messages not yet handled are dropped unsettled, for the broker to
        redeliver where it can."""
        self.close()
        current = asyncio.current_task()
        for worker in list(self._workers):
            if worker is not current:
                worker.cancel()
        while self._queue:
            _, turn, _, entry = self._queue.popleft()
            turn.end()
            if entry is not None and entry in self._line:
                self._line.remove(entry)
            self._done()


async def run_batch(
    items: Sequence[T],
    keys: Sequence[Hashable | None],
    work: Callable[[T], Awaitable[R]],
    limit: int,
) -> list[R]:
    """`work` on every item of a fetched batch, up to `limit` at once, items with equal keys one
    after another in batch order; the results in batch order. `work` must not raise."""
    if limit == 1 or len(items) < 2:
        return [await work(item) for item in items]
    room = asyncio.Semaphore(limit)
    turns = KeyedTurns()

    async def one(item: T, turn: _Turn) -> R:
        async with turn, room:
            return await work(item)

    # turns are taken here, in batch order, before any work starts
    return list(
        await asyncio.gather(*(one(i, turns.turn(k)) for i, k in zip(items, keys, strict=True)))
    )


async def _call(settle: Settle | None, outcome: BaseException | None) -> None:
    if settle is None:
        return
    try:
        result = settle(outcome)
        if result is not None:
            await result
    except Exception:  # settling must never take the dispatcher down
        log.warning("settling a message failed", exc_info=True)
