"""The Redis result backend, subscribing only when a result is awaited.

Celery's Redis backend SUBSCRIBEs to every task's result channel as soon as
it is sent. An API process that mostly sends async calls then accumulates
unread notifications on its pub/sub socket, and its next sync call stalls
0.5-1 s draining them (docs/DESIGN.md, "Result subscriptions"). Subscribing in ``get()``
instead is safe: after subscribing, the waiter reads the stored result once,
so a result that landed before the subscription is not missed.
"""

from celery.backends.redis import RedisBackend


class AwaitedRedisBackend(RedisBackend):
    def on_task_call(self, producer, task_id):
        """Do not subscribe at send time; ``AsyncResult.get`` subscribes."""
