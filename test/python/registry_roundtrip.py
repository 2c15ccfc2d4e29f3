"""Confluent's Python client against the datamesh registry: register, serialize, produce, consume, deserialize,
and read subjects, versions and config. Usage: registry_roundtrip.py <registry-url> <brokers> <topic>.
Needs: pip install -r test/python/requirements.txt
Prints one JSON line with what it saw; exits non-zero on any failure."""
import json
import os
import sys

from mesh_kafka import kafka_config  # brokers + the SASL login from MESH_KAFKA_SASL_*

try:
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext
except ImportError as e:  # fail loudly: the CI must install the packages
    print(f"MISSING PYTHON DEPENDENCY: {e}; pip install -r test/python/requirements.txt", file=sys.stderr)
    sys.exit(3)

url, brokers, topic = sys.argv[1], sys.argv[2], sys.argv[3]
subject = f"{topic}-value"
schema_v1 = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "total", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}},
    ],
}
schema_v2 = dict(schema_v1, fields=schema_v1["fields"] + [{"name": "note", "type": ["null", "string"], "default": None}])

client = SchemaRegistryClient(
    # The registry needs a token: Confluent clients send it as the password of HTTP basic auth (any user).
    {"url": url, "basic.auth.user.info": "mesh:" + os.environ["MESH_TOKEN"]}
)
# "Check before first register": a subject with no versions has nothing to be incompatible with.
compatible_before_first = client.test_compatibility(subject, Schema(json.dumps(schema_v1), "AVRO"))
id1 = client.register_schema(subject, Schema(json.dumps(schema_v1), "AVRO"))
id2 = client.register_schema(subject, Schema(json.dumps(schema_v2), "AVRO"))
again = client.register_schema(subject, Schema(json.dumps(schema_v2), "AVRO"))
assert again == id2, (again, id2)

from decimal import Decimal

serializer = AvroSerializer(client, json.dumps(schema_v2), conf={"auto.register.schemas": False, "use.latest.version": True})
deserializer = AvroDeserializer(client)
records = [
    {"id": 1, "total": Decimal("12.50"), "status": "NEW", "note": None},
    {"id": 2, "total": Decimal("99999999.99"), "status": "PAID", "note": "gift"},
]
ctx = SerializationContext(topic, MessageField.VALUE)
producer = Producer(kafka_config(brokers))
for r in records:
    producer.produce(topic, value=serializer(r, ctx))
assert producer.flush(30) == 0

consumer = Consumer({**kafka_config(brokers), "group.id": f"{topic}-py", "auto.offset.reset": "earliest"})
consumer.subscribe([topic])
got = []
while len(got) < len(records):
    msg = consumer.poll(20)
    assert msg is not None, "no message from Kafka within 20 s"
    assert msg.error() is None, msg.error()
    assert msg.value()[0] == 0 and int.from_bytes(msg.value()[1:5], "big") == id2
    got.append(deserializer(msg.value(), ctx))
consumer.close()
assert got == records, got

# A schema with a reference, serialized and read back. This client finds a referenced type by the reference's
# name, so here the name is the type's full name (the registry also takes a label such as "country.avsc").
country = {"type": "record", "name": "Country", "namespace": "geo", "fields": [{"name": "code", "type": "string"}]}
shipment = {
    "type": "record",
    "name": "Shipment",
    "namespace": "geo",
    "fields": [{"name": "id", "type": "long"}, {"name": "to", "type": "Country"}],
}
client.register_schema("geo-country", Schema(json.dumps(country), "AVRO"))
ship_topic = f"{topic}_ship"
ship_schema = Schema(json.dumps(shipment), "AVRO", [SchemaReference("geo.Country", "geo-country", 1)])
ref_id = client.register_schema(f"{ship_topic}-value", ship_schema)
ship_ctx = SerializationContext(ship_topic, MessageField.VALUE)
ship_serializer = AvroSerializer(client, None, conf={"auto.register.schemas": False, "use.latest.version": True})
shipped = AvroDeserializer(client)(ship_serializer({"id": 7, "to": {"code": "FR"}}, ship_ctx), ship_ctx)

latest = client.get_latest_version(subject)
v1 = client.get_version(subject, 1)
by_id = client.get_schema(id1)
out = {
    "ids": [id1, id2],
    "subjects": client.get_subjects(),
    "versions": client.get_versions(subject),
    "latest": {"version": latest.version, "id": latest.schema_id},
    "v1": {"version": v1.version, "id": v1.schema_id},
    "by_id_fields": [f["name"] for f in json.loads(by_id.schema_str)["fields"]],
    "compatibility": client.get_compatibility(),
    "compatible": client.test_compatibility(subject, Schema(json.dumps(schema_v1), "AVRO")),
    "decoded": [{**r, "total": str(r["total"])} for r in got],
    "compatible_before_first": compatible_before_first,
    "ref_id": ref_id,
    "shipped": shipped,
}
print(json.dumps(out))
