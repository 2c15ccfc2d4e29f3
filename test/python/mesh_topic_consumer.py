"""A plain Python service consuming a datamesh table topic with Confluent's client and our registry: the
Debezium-shaped envelope decodes with the stock AvroDeserializer, decimals arrive as Decimal, longs as int.
Usage: mesh_topic_consumer.py <registry-url> <brokers> <topic> <count> [<timeout-seconds>]
Prints one JSON line per event ({"partition","offset","key","op","before","after"}); exits non-zero on failure.
Needs: pip install -r test/python/requirements.txt"""
import json
import os
import sys

from mesh_kafka import kafka_config  # brokers + the SASL login from MESH_KAFKA_SASL_*
import time
import uuid
from decimal import Decimal

try:
    from confluent_kafka import Consumer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext
except ImportError as e:  # fail loudly: CI must install the packages
    print(f"MISSING PYTHON DEPENDENCY: {e}; pip install -r test/python/requirements.txt", file=sys.stderr)
    sys.exit(3)

registry_url, brokers, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 60.0

registry = SchemaRegistryClient(
    # The registry needs a token: Confluent clients send it as the password of HTTP basic auth (any user).
    {"url": registry_url, "basic.auth.user.info": "mesh:" + os.environ["MESH_TOKEN"]}
)
key_deserializer = AvroDeserializer(registry)
value_deserializer = AvroDeserializer(registry)
consumer = Consumer(
    {
        **kafka_config(brokers),
        "group.id": f"py-consumer-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }
)
consumer.subscribe([topic])


def plain(value):
    """JSON-safe rendering that keeps decimals exact (as strings, the API's convention)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


seen = 0
deadline = time.time() + timeout
try:
    while seen < count:
        if time.time() > deadline:
            print(f"timed out after {seen} of {count} events", file=sys.stderr)
            sys.exit(1)
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            print(f"consumer error: {msg.error()}", file=sys.stderr)
            sys.exit(1)
        if msg.value() is None:  # a tombstone after a delete
            continue
        key = key_deserializer(msg.key(), SerializationContext(topic, MessageField.KEY))
        value = value_deserializer(msg.value(), SerializationContext(topic, MessageField.VALUE))
        print(
            json.dumps(
                {
                    "partition": msg.partition(),
                    "offset": msg.offset(),
                    "key": plain(key),
                    "op": value["op"],
                    "before": plain(value["before"]),
                    "after": plain(value["after"]),
                    "total_is_decimal": isinstance((value["after"] or {}).get("total"), Decimal),
                }
            ),
            flush=True,
        )
        seen += 1
finally:
    consumer.close()
