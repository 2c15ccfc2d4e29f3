"""Kafka client settings for the test scripts, in librdkafka's names: the brokers, plus the SASL login that
`mesh stack env` prints (MESH_KAFKA_SASL_MECHANISM / _USERNAME / _PASSWORD) when the environment has one.
A service connects the same way with its own Kafka user (docs/governance.md, "Kafka")."""
import os


def kafka_config(brokers, extra=None):
    conf = {"bootstrap.servers": brokers}
    mechanism = os.environ.get("MESH_KAFKA_SASL_MECHANISM")
    if mechanism:
        conf.update(
            {
                "security.protocol": "SASL_PLAINTEXT",
                "sasl.mechanisms": mechanism,
                "sasl.username": os.environ["MESH_KAFKA_SASL_USERNAME"],
                "sasl.password": os.environ["MESH_KAFKA_SASL_PASSWORD"],
            }
        )
    conf.update(extra or {})
    return conf
