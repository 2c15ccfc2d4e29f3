package datamesh;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;

/**
 * Reads the case table (registry/avro/compat-cases.json) and prints it with Apache Avro's verdict for every
 * compatibility level, computed the way Confluent's registry does: each level is a set of reader/writer pairs
 * between the candidate and the history (latest only, or all for _TRANSITIVE), decided by SchemaCompatibility.
 */
public final class CompatOracle {
  private static final String[] LEVELS = {
    "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE", "NONE"
  };

  private static boolean canRead(Schema reader, Schema writer) {
    return SchemaCompatibility.checkReaderWriterCompatibility(reader, writer).getType()
        == SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE;
  }

  private static Schema parse(JsonNode node) {
    return new Schema.Parser().parse(node.toString());
  }

  public static void main(String[] args) throws Exception {
    ObjectMapper mapper = new ObjectMapper();
    JsonNode cases = mapper.readTree(new File(args[0]));
    ArrayNode out = mapper.createArrayNode();
    for (JsonNode c : cases) {
      Schema candidate = parse(c.get("candidate"));
      List<Schema> history = new ArrayList<>();
      for (JsonNode h : c.get("history")) history.add(parse(h));
      ObjectNode expected = mapper.createObjectNode();
      for (String level : LEVELS) {
        boolean ok = true;
        if (!level.equals("NONE")) {
          List<Schema> against = new ArrayList<>(level.endsWith("_TRANSITIVE") ? history : history.subList(history.size() - 1, history.size()));
          Collections.reverse(against);
          boolean backward = level.startsWith("BACKWARD") || level.startsWith("FULL");
          boolean forward = level.startsWith("FORWARD") || level.startsWith("FULL");
          for (Schema previous : against) {
            if (backward && !canRead(candidate, previous)) ok = false;
            if (forward && !canRead(previous, candidate)) ok = false;
          }
        }
        expected.put(level, ok);
      }
      ObjectNode row = ((ObjectNode) c).deepCopy();
      row.set("expected", expected);
      out.add(row);
    }
    System.out.println(mapper.writerWithDefaultPrettyPrinter().writeValueAsString(out));
  }
}
