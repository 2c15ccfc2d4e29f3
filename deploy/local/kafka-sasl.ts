// The local Kafka's security: SASL on every listener and ACLs enforced by KRaft's StandardAuthorizer.
//
// - CLIENT (what roles, tests and services connect to) speaks SASL_PLAINTEXT with SCRAM-SHA-512; it is also
//   the inter-broker listener, so the broker authenticates to itself as the super user.
// - CONTROLLER speaks SASL_PLAINTEXT with PLAIN against a user list in the broker's own config: SCRAM
//   credentials live in the metadata log, which a controller cannot read before it is up.
// - `super.users=User:mesh`: the platform's roles (and the broker itself, on both listeners) bypass ACLs; every
//   other principal needs an ACL (`allow.everyone.if.no.acl.found=false`), so an unauthenticated or ungranted
//   client reads nothing.
// - The super user's password is generated once per stack into `.mesh/kafka/mesh-password` (0600); the first
//   SCRAM credential is written at storage format time (`kafka-storage format --add-scram`, KRaft's way to
//   create the first user), salted here so the password is never on a command line. server.properties holds
//   the JAAS lines with the password and is written 0600 too.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import type { KafkaSasl } from "../../lib/kafka/index.ts";

export const KAFKA_SUPER_USER = "mesh";
export const KAFKA_SASL_MECHANISM = "SCRAM-SHA-512" as const;

/** The file holding the super user's password (under the stack's Kafka folder). */
export function kafkaPasswordFile(kafkaDir: string): string {
  return join(kafkaDir, "mesh-password");
}

/** The stack's super-user password: read from its file, or generated into it (0600) on first use. */
export function kafkaPassword(kafkaDir: string): string {
  const file = kafkaPasswordFile(kafkaDir);
  if (existsSync(file)) {
    const password = readFileSync(file, "utf8").trim();
    if (password.length >= 16) return password;
  }
  mkdirSync(kafkaDir, { recursive: true });
  // base64url: no quote, backslash or separator that JAAS or SCRAM would have to escape.
  const password = randomBytes(24).toString("base64url");
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return password;
}

/** The credentials the platform's roles log in with. */
export function kafkaSuperUser(kafkaDir: string): KafkaSasl {
  return { mechanism: KAFKA_SASL_MECHANISM, username: KAFKA_SUPER_USER, password: kafkaPassword(kafkaDir) };
}

/** server.properties lines for the listeners, SASL and the authorizer (see the header). */
export function securedListenerLines(port: number, controllerPort: number, password: string): string[] {
  const scram = KAFKA_SASL_MECHANISM.toLowerCase();
  const user = KAFKA_SUPER_USER;
  return [
    `listeners=CLIENT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=CLIENT://127.0.0.1:${port}`,
    "controller.listener.names=CONTROLLER",
    "inter.broker.listener.name=CLIENT",
    "listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
    `listener.name.client.sasl.enabled.mechanisms=${KAFKA_SASL_MECHANISM}`,
    `sasl.mechanism.inter.broker.protocol=${KAFKA_SASL_MECHANISM}`,
    `listener.name.client.${scram}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${user}" password="${password}";`,
    "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
    "sasl.mechanism.controller.protocol=PLAIN",
    `listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${user}" password="${password}" user_${user}="${password}";`,
    "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    `super.users=User:${user}`,
    "allow.everyone.if.no.acl.found=false",
  ];
}

/**
 * The same ports without security: only for `migrate` (a data folder formatted before SASL, whose metadata
 * holds no credential yet), bound to loopback for the few seconds it takes to add the super user's.
 */
export function openListenerLines(port: number, controllerPort: number): string[] {
  return [
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    "controller.listener.names=CONTROLLER",
    "inter.broker.listener.name=PLAINTEXT",
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
  ];
}

/**
 * Records which password the cluster's metadata holds a credential for: `<cluster id> <sha256 of password>`.
 * A data folder reformatted, or a password file replaced, no longer matches and the credential is set again.
 */
export function credentialMarker(clusterIdOfData: string, password: string): string {
  return `${clusterIdOfData} ${createHash("sha256").update(password).digest("hex")}`;
}

export function credentialMarkerFile(kafkaDir: string): string {
  return join(kafkaDir, "mesh-credential");
}

/** The cluster id a formatted data folder carries (meta.properties), or null when it is not formatted. */
export function formattedClusterId(dataDir: string): string | null {
  const file = join(dataDir, "meta.properties");
  if (!existsSync(file)) return null;
  const line = readFileSync(file, "utf8")
    .split("\n")
    .find((l) => l.startsWith("cluster.id="));
  return line ? line.slice("cluster.id=".length).trim() : null;
}
