"""A service's own Kafka consumer group, for the lineage test (api/e2e/observability.e2e.test.ts).

Usage: lineage_consumer.py <brokers> <topic> <group>
Joins <group> on <topic> with confluent-kafka (librdkafka), reads until it has a message, commits, prints one
JSON line {"ready": true, "consumed": n}, then stays in the group (polling) until it is terminated or 120 s
pass, so that the datamesh API can find it through Kafka's admin API. Leaves the group cleanly on SIGTERM.
"""

import json
import signal
import sys

from mesh_kafka import kafka_config  # brokers + the SASL login from MESH_KAFKA_SASL_*
import time

from confluent_kafka import Consumer


def main() -> None:
    brokers, topic, group = sys.argv[1:4]
    consumer = Consumer(
        {
            **kafka_config(brokers),
            "group.id": group,
            "client.id": "py-lineage",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    stop = False

    def on_term(_sig, _frame):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    consumer.subscribe([topic])
    consumed = 0
    ready = False
    deadline = time.time() + 120
    try:
        while not stop and time.time() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                continue
            consumed += 1
            if not ready:
                consumer.commit(message=msg, asynchronous=False)
                ready = True
                print(json.dumps({"ready": True, "consumed": consumed}), flush=True)
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
