"""A plain Python service reading a datamesh domain-event topic (<owner>.<aggregatetype>) with Confluent's
client and its stock deserializer, configured with nothing but the registry URL: the value's writer schema is
the topic schema (<topic>-value, a union over the event types by reference), the key is the aggregate id as
text, the event's id and type are headers.
Usage: domain_events_consumer.py <registry-url> <brokers> <topic> <count> [avro|json] [<timeout-seconds>]
Prints one JSON line per event ({"partition","offset","key","headers","value"}); exits non-zero on failure.
Needs: pip install -r test/python/requirements.txt"""
import json
import os
import sys

from mesh_kafka import kafka_config  # brokers + the SASL login from MESH_KAFKA_SASL_*
import time
import uuid

try:
    from confluent_kafka import Consumer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer
    from confluent_kafka.serialization import MessageField, SerializationContext
except ImportError as e:  # fail loudly: CI must install the packages
    print(f"MISSING PYTHON DEPENDENCY: {e}; pip install -r test/python/requirements.txt", file=sys.stderr)
    sys.exit(3)

registry_url, brokers, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
fmt = sys.argv[5] if len(sys.argv) > 5 else "avro"
timeout = float(sys.argv[6]) if len(sys.argv) > 6 else 60.0

registry = SchemaRegistryClient(
    # The registry needs a token: Confluent clients send it as the password of HTTP basic auth (any user).
    {"url": registry_url, "basic.auth.user.info": "mesh:" + os.environ["MESH_TOKEN"]}
)
deserialize = AvroDeserializer(registry) if fmt == "avro" else JSONDeserializer(None, schema_registry_client=registry)
consumer = Consumer(
    {
        **kafka_config(brokers),
        "group.id": f"py-events-{uuid.uuid4()}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
    }
)
consumer.subscribe([topic])

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
            raise RuntimeError(msg.error())
        value = deserialize(msg.value(), SerializationContext(topic, MessageField.VALUE))
        headers = {k: v.decode("utf-8") for k, v in (msg.headers() or [])}
        print(
            json.dumps(
                {
                    "partition": msg.partition(),
                    "offset": msg.offset(),
                    "key": msg.key().decode("utf-8"),
                    "headers": headers,
                    "value": value,
                }
            ),
            flush=True,
        )
        seen += 1
finally:
    consumer.close()
