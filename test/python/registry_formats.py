"""Confluent's Python client with Protobuf and JSON Schema against the datamesh registry: ProtobufSerializer
(registers the file and its import as base64 descriptors, the import referenced by file name) and
ProtobufDeserializer (reads the writer schema back with ?format=serialized), JSONSerializer/JSONDeserializer
(validating with jsonschema), through Kafka. Usage: registry_formats.py <registry-url> <brokers> <topic-prefix>.
Needs: pip install -r test/python/requirements.txt
Prints one JSON line with what it saw; exits non-zero on any failure."""
import json
import os
import sys

from mesh_kafka import kafka_config  # brokers + the SASL login from MESH_KAFKA_SASL_*

try:
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
    from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from google.protobuf.json_format import MessageToDict
except ImportError as e:  # fail loudly: the CI must install the packages
    print(f"MISSING PYTHON DEPENDENCY: {e}; pip install -r test/python/requirements.txt", file=sys.stderr)
    sys.exit(3)

url, brokers, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
client = SchemaRegistryClient(
    # The registry needs a token: Confluent clients send it as the password of HTTP basic auth (any user).
    {"url": url, "basic.auth.user.info": "mesh:" + os.environ["MESH_TOKEN"]}
)
F = descriptor_pb2.FieldDescriptorProto


def roundtrip(topic, values):
    producer = Producer(kafka_config(brokers))
    for v in values:
        producer.produce(topic, value=v)
    assert producer.flush(30) == 0
    consumer = Consumer({**kafka_config(brokers), "group.id": f"{topic}-py", "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got = []
    while len(got) < len(values):
        msg = consumer.poll(20)
        assert msg is not None, "no message from Kafka within 20 s"
        assert msg.error() is None, msg.error()
        got.append(msg.value())
    consumer.close()
    return got


# --- Protobuf: message classes built at run time from descriptors (what protoc-generated modules hold).
pool = descriptor_pool.Default()
money = descriptor_pb2.FileDescriptorProto(name="pyshop/money.proto", package="pyshop", syntax="proto3")
m = money.message_type.add(name="Money")
m.field.add(name="currency", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
m.field.add(name="cents", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
pool.Add(money)
order = descriptor_pb2.FileDescriptorProto(
    name="pyshop/order.proto", package="pyshop", syntax="proto3", dependency=["pyshop/money.proto"]
)
o = order.message_type.add(name="Order")
o.field.add(name="id", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
o.field.add(name="total", number=2, type=F.TYPE_MESSAGE, type_name=".pyshop.Money", label=F.LABEL_OPTIONAL)
o.field.add(name="skus", number=3, type=F.TYPE_STRING, label=F.LABEL_REPEATED)
o.field.add(name="status", number=4, type=F.TYPE_ENUM, type_name=".pyshop.Order.Status", label=F.LABEL_OPTIONAL)
s = o.enum_type.add(name="Status")
s.value.add(name="NEW", number=0)
s.value.add(name="PAID", number=1)
r = order.message_type.add(name="Refund")
r.field.add(name="order_id", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
pool.Add(order)
Order = message_factory.GetMessageClass(pool.FindMessageTypeByName("pyshop.Order"))
Refund = message_factory.GetMessageClass(pool.FindMessageTypeByName("pyshop.Refund"))

proto_topic = f"{prefix}_proto"
pctx = SerializationContext(proto_topic, MessageField.VALUE)
ser_order = ProtobufSerializer(Order, client, {"use.deprecated.format": False})
ser_refund = ProtobufSerializer(Refund, client, {"use.deprecated.format": False})
orders = [
    Order(id="o-1", total={"currency": "EUR", "cents": 1250}, skus=["a", "b"], status=1),
    Order(id="o-2", total={"currency": "JPY", "cents": 7}, skus=[], status=0),
]
values = [ser_order(x, pctx) for x in orders] + [ser_refund(Refund(order_id="o-1"), pctx)]
read = roundtrip(proto_topic, values)
ids = sorted({int.from_bytes(v[1:5], "big") for v in read})
de_order = ProtobufDeserializer(Order, {"use.deprecated.format": False}, client)
decoded = [MessageToDict(de_order(v, pctx), preserving_proto_field_name=True) for v in read[:2]]
de_refund = ProtobufDeserializer(Refund, {"use.deprecated.format": False}, client)
refund = MessageToDict(de_refund(read[2], pctx), preserving_proto_field_name=True)
latest = client.get_latest_version(f"{proto_topic}-value")

# --- JSON Schema
json_topic = f"{prefix}_json"
jctx = SerializationContext(json_topic, MessageField.VALUE)
schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Order",
    "type": "object",
    "properties": {"id": {"type": "string"}, "cents": {"type": "integer", "minimum": 0}},
    "required": ["id", "cents"],
    "additionalProperties": False,
}
jser = JSONSerializer(json.dumps(schema), client)
jde = JSONDeserializer(None, schema_registry_client=client)
rows = [{"id": "o-1", "cents": 1250}, {"id": "o-2", "cents": 0}]
invalid_refused = False
try:
    jser({"id": "bad", "cents": -1}, jctx)
except Exception:  # the serializer validates against the schema
    invalid_refused = True
jread = roundtrip(json_topic, [jser(x, jctx) for x in rows])
jdecoded = [jde(v, jctx) for v in jread]
jlatest = client.get_latest_version(f"{json_topic}-value")

print(
    json.dumps(
        {
            "proto_ids": ids,
            "proto_indexes": [list(v[5:7]) for v in read],
            "proto_decoded": decoded,
            "proto_refund": refund,
            "proto_schema_type": latest.schema.schema_type,
            "proto_references": [{"name": x.name, "subject": x.subject, "version": x.version} for x in latest.schema.references],
            "subjects": sorted(client.get_subjects()),
            "json_decoded": jdecoded,
            "json_invalid_refused": invalid_refused,
            "json_schema_type": jlatest.schema.schema_type,
            "json_schema": json.loads(jlatest.schema.schema_str),
        }
    )
)
