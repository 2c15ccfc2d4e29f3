// Who may do what on Kafka: SCRAM users (AlterUserScramCredentials) and the ACLs of KRaft's StandardAuthorizer
// (CreateAcls / DeleteAcls / DescribeAcls). The policy helper gives each service token a Kafka principal with
// READ on exactly the topics its policies grant in full; the platform's own roles use the stack's super user.
//
// A reader needs three ACLs: READ and DESCRIBE on the topic (fetch, metadata, offsets) and READ on its
// consumer groups. Groups are granted by prefix, `<user>.`, so a service names its groups `<user>.<anything>`
// and can never join (or read the offsets of) another service's group.
//
// Writes are visible to the broker's authorizer and SCRAM cache only once the metadata record reaches it,
// asynchronously: every change here waits until the broker describes it back, so a caller that grants and
// then hands the credentials out has them work on the first connection. Passwords are never logged and
// never part of an error; they leave this process only as SCRAM salted passwords.
import {
  AclOperations,
  AclPermissionTypes,
  alterUserScramCredentialsV0,
  describeUserScramCredentialsV0,
  kGetBootstrapConnection,
  ResourcePatternTypes,
  ResourceTypes,
  type Acl,
  type AclFilter,
  type Admin,
  type Connection,
} from "@platformatic/kafka";
import { MeshError } from "../errors.ts";
import { kafkaError, kafkaErrorId } from "./errors.ts";
import { SCRAM_MECHANISM_IDS, scramCredential, type ScramMechanism } from "./scram.ts";

/** One ACL entry of a principal, in Kafka's own words (what `kafka-acls --list` prints). */
export interface KafkaAcl {
  resourceType: "TOPIC" | "GROUP" | "CLUSTER" | "TRANSACTIONAL_ID" | "DELEGATION_TOKEN" | "USER" | "UNKNOWN";
  resourceName: string;
  patternType: "LITERAL" | "PREFIXED" | "UNKNOWN";
  operation: string;
  permission: "ALLOW" | "DENY" | "UNKNOWN";
  host: string;
}

export interface KafkaAccess {
  /** Creates the SCRAM user, or sets its password (idempotent). `user` is the name the client logs in with. */
  ensureUser(user: string, password: string): Promise<void>;
  /** Removes the user's credential and every ACL of its principal; a user that does not exist is no error. */
  deleteUser(user: string): Promise<void>;
  /** READ and DESCRIBE on the topic, and READ on the user's consumer groups (prefix `<user>.`). Idempotent. */
  grantTopicRead(user: string, topic: string): Promise<void>;
  /** Takes the topic's READ and DESCRIBE back; the group ACL goes with the user's last topic. Idempotent. */
  revokeTopicRead(user: string, topic: string): Promise<void>;
  /** Every ACL whose principal is `User:<user>`, sorted. */
  aclsOf(user: string): Promise<KafkaAcl[]>;
}

/** SCRAM user names: what the policy helper derives from service names; no `,` or `=` (SCRAM's separators). */
const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const PROPAGATION_TIMEOUT_MS = 15_000;

const label = <T extends Record<string, number>>(values: T, value: number): keyof T & string =>
  Object.entries(values).find(([, v]) => v === value)?.[0] ?? "UNKNOWN";

export class PlatformaticAccess implements KafkaAccess {
  readonly #admin: Admin;
  readonly #mechanism: ScramMechanism;

  /** `admin` belongs to the caller (KafkaClient closes it). */
  constructor(admin: Admin, mechanism: ScramMechanism = "SCRAM-SHA-512") {
    this.#admin = admin;
    this.#mechanism = mechanism;
  }

  async ensureUser(user: string, password: string): Promise<void> {
    checkUser(user);
    if (password.length < 8)
      throw new MeshError(
        "MESH_BAD_REQUEST",
        `Kafka user ${user}: the password needs at least 8 characters`,
        {
          user,
        },
      );
    const credential = scramCredential(this.#mechanism, password);
    await this.#scram(`setting the SCRAM credential of ${user}`, user, (connection) =>
      alterUserScramCredentialsV0.api.async(
        connection,
        [],
        [
          {
            name: user,
            mechanism: SCRAM_MECHANISM_IDS[this.#mechanism],
            iterations: credential.iterations,
            salt: credential.salt,
            saltedPassword: credential.saltedPassword,
          },
        ],
      ),
    );
    await this.#until(`the SCRAM credential of ${user}`, async () => (await this.#hasUser(user)) === true);
  }

  async deleteUser(user: string): Promise<void> {
    checkUser(user);
    if (await this.#hasUser(user)) {
      await this.#scram(`deleting the SCRAM credential of ${user}`, user, (connection) =>
        alterUserScramCredentialsV0.api.async(
          connection,
          [{ name: user, mechanism: SCRAM_MECHANISM_IDS[this.#mechanism] }],
          [],
        ),
      );
    }
    await this.#deleteAcls([{ ...anyFilter, principal: principalOf(user) }]);
    await this.#until(`removing ${user}`, async () => !(await this.#hasUser(user)));
    await this.#until(`removing the ACLs of ${user}`, async () => (await this.aclsOf(user)).length === 0);
  }

  async grantTopicRead(user: string, topic: string): Promise<void> {
    checkUser(user);
    const creations = readerAcls(user, topic);
    await this.#call(`granting ${user} READ on topic ${topic}`, () => this.#admin.createAcls({ creations }));
    await this.#until(`the ACLs of ${user} on ${topic}`, async () => {
      const have = await this.aclsOf(user);
      return creations.every((c) => have.some((h) => sameAcl(h, c)));
    });
  }

  async revokeTopicRead(user: string, topic: string): Promise<void> {
    checkUser(user);
    const [read, describe, group] = readerAcls(user, topic);
    const remaining = (await this.aclsOf(user)).filter(
      (a) => a.resourceType === "TOPIC" && !(a.patternType === "LITERAL" && a.resourceName === topic),
    );
    const filters = [read, describe, ...(remaining.length === 0 ? [group] : [])];
    await this.#deleteAcls(filters);
    await this.#until(`revoking ${user}'s READ on ${topic}`, async () => {
      const have = await this.aclsOf(user);
      return !filters.some((f) => have.some((h) => sameAcl(h, f)));
    });
  }

  async aclsOf(user: string): Promise<KafkaAcl[]> {
    checkUser(user);
    const resources = await this.#call(`describing the ACLs of ${user}`, () =>
      this.#admin.describeAcls({ filter: { ...anyFilter, principal: principalOf(user) } }),
    );
    const out: KafkaAcl[] = [];
    for (const r of resources) {
      for (const a of r.acls) {
        out.push({
          resourceType: label(ResourceTypes, r.resourceType) as KafkaAcl["resourceType"],
          resourceName: r.resourceName,
          patternType: label(ResourcePatternTypes, r.resourcePatternType) as KafkaAcl["patternType"],
          operation: label(AclOperations, a.operation),
          permission: label(AclPermissionTypes, a.permissionType) as KafkaAcl["permission"],
          host: a.host,
        });
      }
    }
    const key = (a: KafkaAcl): string =>
      [a.resourceType, a.resourceName, a.patternType, a.operation, a.permission].join("\0");
    return out.sort((a, b) => key(a).localeCompare(key(b)));
  }

  async #hasUser(user: string): Promise<boolean> {
    try {
      const response = await this.#scram(`describing the SCRAM user ${user}`, user, (connection) =>
        describeUserScramCredentialsV0.api.async(connection, [{ name: user }]),
      );
      const mechanism = SCRAM_MECHANISM_IDS[this.#mechanism];
      return response.results.some((r) => r.credentialInfos.some((c) => c.mechanism === mechanism));
    } catch (err) {
      if (kafkaErrorId(err) === "RESOURCE_NOT_FOUND") return false;
      throw err;
    }
  }

  async #deleteAcls(filters: AclFilter[]): Promise<void> {
    await this.#call("deleting ACLs", () => this.#admin.deleteAcls({ filters }));
  }

  /** A raw SCRAM API call on a bootstrap connection of the admin (the client has no method for these). */
  async #scram<T>(what: string, user: string, run: (connection: Connection) => Promise<T>): Promise<T> {
    return this.#call(
      what,
      async () => {
        const connection = await new Promise<Connection>((resolve, reject) => {
          this.#admin[kGetBootstrapConnection]((error, c) =>
            c && !error ? resolve(c) : reject(error ?? new Error("no connection to a broker")),
          );
        });
        return run(connection);
      },
      { user },
    );
  }

  async #call<T>(what: string, run: () => Promise<T>, details: Record<string, unknown> = {}): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw kafkaError(err, what, details);
    }
  }

  async #until(what: string, done: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + PROPAGATION_TIMEOUT_MS;
    while (!(await done())) {
      if (Date.now() > deadline)
        throw new MeshError("MESH_KAFKA_TIMEOUT", `Kafka: ${what} did not reach the broker within 15 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const anyFilter: AclFilter = {
  resourceType: ResourceTypes.ANY,
  resourceName: null,
  resourcePatternType: ResourcePatternTypes.ANY,
  principal: null,
  host: null,
  operation: AclOperations.ANY,
  permissionType: AclPermissionTypes.ANY,
};

export function principalOf(user: string): string {
  return `User:${user}`;
}

/** The consumer-group prefix a user's groups must start with. */
export function groupPrefixOf(user: string): string {
  return `${user}.`;
}

/** [topic READ, topic DESCRIBE, group READ by prefix]. */
function readerAcls(user: string, topic: string): [Acl, Acl, Acl] {
  const base = { principal: principalOf(user), host: "*", permissionType: AclPermissionTypes.ALLOW };
  const onTopic = {
    ...base,
    resourceType: ResourceTypes.TOPIC,
    resourceName: topic,
    resourcePatternType: ResourcePatternTypes.LITERAL,
  };
  return [
    { ...onTopic, operation: AclOperations.READ },
    { ...onTopic, operation: AclOperations.DESCRIBE },
    {
      ...base,
      resourceType: ResourceTypes.GROUP,
      resourceName: groupPrefixOf(user),
      resourcePatternType: ResourcePatternTypes.PREFIXED,
      operation: AclOperations.READ,
    },
  ];
}

function sameAcl(have: KafkaAcl, want: Acl): boolean {
  return (
    have.resourceType === label(ResourceTypes, want.resourceType) &&
    have.resourceName === want.resourceName &&
    have.patternType === label(ResourcePatternTypes, want.resourcePatternType) &&
    have.operation === label(AclOperations, want.operation) &&
    have.permission === label(AclPermissionTypes, want.permissionType)
  );
}

function checkUser(user: string): void {
  if (!USER_NAME.test(user) || user === "ANONYMOUS")
    throw new MeshError(
      "MESH_BAD_REQUEST",
      `Kafka user names are 1-128 letters, digits, ".", "_" or "-", starting with a letter or digit (got "${user}")`,
      { user },
    );
}
