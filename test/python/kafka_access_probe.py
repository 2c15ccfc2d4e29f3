"""A stock Kafka client (confluent-kafka / librdkafka) tries to read a topic, so tests can check what the
broker's SASL/SCRAM and ACLs let it do. Usage: kafka_access_probe.py <brokers> <topic> <group> <count> [<timeout-s>]
Credentials come from PROBE_SASL_USERNAME / PROBE_SASL_PASSWORD (SCRAM-SHA-512); none: no SASL at all.
Prints one JSON line: {"values": [...]} once <count> messages are read, else {"error": "<librdkafka error name>"}."""
import json
import os
import sys
import time

try:
    from confluent_kafka import Consumer, KafkaError, KafkaException
except ImportError as e:  # fail loudly: CI must install the packages
    print(f"MISSING PYTHON DEPENDENCY: {e}; pip install -r test/python/requirements.txt", file=sys.stderr)
    sys.exit(3)

brokers, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 20.0
conf = {
    "bootstrap.servers": brokers,
    "group.id": group,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
    "log_level": 0,
}
user = os.environ.get("PROBE_SASL_USERNAME")
if user:
    conf.update(
        {
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "SCRAM-SHA-512",
            "sasl.username": user,
            "sasl.password": os.environ["PROBE_SASL_PASSWORD"],
        }
    )

errors = []
conf["error_cb"] = lambda err: errors.append(err)


def done(result):
    print(json.dumps(result), flush=True)
    sys.exit(0)


consumer = Consumer(conf)
consumer.subscribe([topic])
values = []
deadline = time.time() + timeout
try:
    while len(values) < count and time.time() < deadline:
        msg = consumer.poll(0.5)
        # Fatal refusals arrive through error_cb (authentication) or as a message's error (authorization).
        for err in errors:
            if err.code() in (KafkaError._AUTHENTICATION, KafkaError._ALL_BROKERS_DOWN):
                done({"error": err.name()})
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                continue
            done({"error": msg.error().name()})
        values.append(msg.value().decode("utf-8", "replace"))
except KafkaException as e:
    done({"error": e.args[0].name()})
finally:
    try:
        consumer.close()
    except KafkaException:
        pass
if len(values) < count:
    done({"error": errors[-1].name() if errors else "TIMED_OUT", "values": values})
done({"values": values})
