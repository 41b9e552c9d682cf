"""Waiting out a Kafka broker that is down when a process starts.

A broker restart must not take the relay or the worker down with it: at start-up they
retry what needs the broker, with backoff, for a while; once running, aiokafka reconnects
by itself and the relay retries its batch.
"""

import logging

from aiokafka.errors import KafkaError
from tenacity import (
    AsyncRetrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
)

log = logging.getLogger(__name__)
STARTUP_PATIENCE_SECONDS = 300.0


def patiently() -> AsyncRetrying:
    """Retries on Kafka errors with backoff up to 5 s, for STARTUP_PATIENCE_SECONDS."""
    return AsyncRetrying(
        retry=retry_if_exception_type((KafkaError, OSError)),
        wait=wait_exponential(multiplier=0.2, max=5),
        stop=stop_after_delay(STARTUP_PATIENCE_SECONDS),
        before_sleep=before_sleep_log(log, logging.WARNING),
        reraise=True,
    )
