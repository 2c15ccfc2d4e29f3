// Reads a CDC topic written in the Confluent wire format (byte 0, a 4-byte big-endian schema id, Avro binary)
// with stock kafka-clients and Apache Avro only: each schema id is looked up through the registry's REST API
// (GET /schemas/ids/{id}), parsed by Avro's own parser, and records are decoded with Avro's logical-type
// conversions. Prints one JSON document: the decoded keys and values in a normalized form (longs as strings,
// bytes as hex, decimals as plain strings, dates and times as ISO text) and, for every schema id, whether the
// registry served exactly the text Avro's Schema.toString() writes (what Confluent serves).
// Usage: CdcAvroReader <registry-url> <brokers> <topic> <count>
package datamesh;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.avro.Conversions;
import org.apache.avro.Schema;
import org.apache.avro.data.TimeConversions;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericEnumSymbol;
import org.apache.avro.generic.GenericFixed;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

public final class CdcAvroReader {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private final String registryUrl;
  private final HttpClient http = HttpClient.newHttpClient();
  private final GenericData data = new GenericData();
  private final Map<Integer, Schema> schemas = new HashMap<>();
  private final ObjectNode servedAsAvroWrites = NODES.objectNode();

  private CdcAvroReader(String registryUrl) {
    this.registryUrl = registryUrl;
    data.addLogicalTypeConversion(new Conversions.DecimalConversion());
    data.addLogicalTypeConversion(new Conversions.UUIDConversion());
    data.addLogicalTypeConversion(new TimeConversions.DateConversion());
    data.addLogicalTypeConversion(new TimeConversions.TimeMicrosConversion());
    data.addLogicalTypeConversion(new TimeConversions.TimestampMicrosConversion());
    data.addLogicalTypeConversion(new TimeConversions.LocalTimestampMicrosConversion());
  }

  private Schema schema(int id) throws Exception {
    Schema known = schemas.get(id);
    if (known != null) return known;
    HttpRequest req =
        HttpRequest.newBuilder(URI.create(registryUrl + "/schemas/ids/" + id))
            .header("Accept", "application/vnd.schemaregistry.v1+json")
            // The registry needs a token: sent as Confluent clients do, the password of HTTP basic auth.
            .header("Authorization", "Basic " + java.util.Base64.getEncoder().encodeToString(
                ("mesh:" + System.getenv("MESH_TOKEN")).getBytes(java.nio.charset.StandardCharsets.UTF_8)))
            .build();
    HttpResponse<String> res = http.send(req, HttpResponse.BodyHandlers.ofString());
    if (res.statusCode() != 200) {
      throw new IllegalStateException("GET /schemas/ids/" + id + " answered " + res.statusCode() + ": " + res.body());
    }
    String text = JSON.readTree(res.body()).get("schema").asText();
    Schema parsed = new Schema.Parser().parse(text);
    servedAsAvroWrites.put(String.valueOf(id), parsed.toString().equals(text));
    schemas.put(id, parsed);
    return parsed;
  }

  private JsonNode decode(byte[] bytes) throws Exception {
    if (bytes == null) return NODES.nullNode();
    ByteBuffer buf = ByteBuffer.wrap(bytes);
    if (bytes.length < 5 || buf.get() != 0) throw new IllegalStateException("not the Confluent wire format");
    Schema schema = schema(buf.getInt());
    GenericDatumReader<Object> reader = new GenericDatumReader<>(schema, schema, data);
    Object value = reader.read(null, DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, null));
    return normalize(value);
  }

  private static JsonNode normalize(Object v) {
    if (v == null) return NODES.nullNode();
    if (v instanceof Boolean b) return NODES.booleanNode(b);
    if (v instanceof Integer i) return NODES.numberNode(i);
    if (v instanceof Long l) return NODES.textNode(Long.toString(l)); // exact: JSON numbers are doubles
    if (v instanceof Float f) return NODES.numberNode(f.doubleValue());
    if (v instanceof Double d) return NODES.numberNode(d);
    if (v instanceof CharSequence s) return NODES.textNode(s.toString());
    if (v instanceof ByteBuffer b) {
      byte[] out = new byte[b.remaining()];
      b.duplicate().get(out);
      return NODES.textNode(HexFormat.of().formatHex(out));
    }
    if (v instanceof GenericFixed f) return NODES.textNode(HexFormat.of().formatHex(f.bytes()));
    if (v instanceof BigDecimal d) return NODES.textNode(d.toPlainString());
    if (v instanceof GenericEnumSymbol<?> e) return NODES.textNode(e.toString());
    if (v instanceof GenericRecord r) {
      ObjectNode o = NODES.objectNode();
      for (Schema.Field f : r.getSchema().getFields()) o.set(f.name(), normalize(r.get(f.pos())));
      return o;
    }
    if (v instanceof List<?> list) {
      ArrayNode a = NODES.arrayNode();
      for (Object e : list) a.add(normalize(e));
      return a;
    }
    if (v instanceof Map<?, ?> map) {
      ObjectNode o = NODES.objectNode();
      for (Map.Entry<?, ?> e : map.entrySet()) o.set(e.getKey().toString(), normalize(e.getValue()));
      return o;
    }
    // LocalDate, LocalTime, LocalDateTime, Instant, UUID: their ISO text.
    return NODES.textNode(v.toString());
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 4) {
      System.err.println("usage: CdcAvroReader <registry-url> <brokers> <topic> <count>");
      System.exit(2);
    }
    CdcAvroReader reader = new CdcAvroReader(args[0]);
    String topic = args[2];
    int count = Integer.parseInt(args[3]);
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args[1]);
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    // Kafka's SASL/SCRAM login from the environment (`mesh stack env` prints the local stack's).
    String mechanism = System.getenv("MESH_KAFKA_SASL_MECHANISM");
    if (mechanism != null && !mechanism.isEmpty()) {
      props.put("security.protocol", "SASL_PLAINTEXT");
      props.put("sasl.mechanism", mechanism);
      props.put(
          "sasl.jaas.config",
          "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
              + System.getenv("MESH_KAFKA_SASL_USERNAME")
              + "\" password=\""
              + System.getenv("MESH_KAFKA_SASL_PASSWORD")
              + "\";");
    }
    ArrayNode records = NODES.arrayNode();
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = new ArrayList<>();
      for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofSeconds(20))) {
        partitions.add(new TopicPartition(topic, p.partition()));
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      long deadline = System.currentTimeMillis() + 30_000;
      while (records.size() < count && System.currentTimeMillis() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          if (r.value() == null) continue; // tombstones carry no schema id
          ObjectNode o = NODES.objectNode();
          o.put("partition", r.partition());
          o.put("offset", r.offset());
          o.set("key", reader.decode(r.key()));
          o.set("value", reader.decode(r.value()));
          records.add(o);
        }
      }
    }
    ObjectNode out = NODES.objectNode();
    out.set("records", records);
    out.set("servedAsAvroWrites", reader.servedAsAvroWrites);
    System.out.println(JSON.writeValueAsString(out));
  }
}
