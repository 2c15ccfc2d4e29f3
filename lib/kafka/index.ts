// lib/kafka's public surface (README.md): the only way roles reach Kafka. Nothing else in the repo imports
// a Kafka client; nothing outside lib/kafka imports its other files.
export { KafkaClient } from "./client.ts";
export { kafkaSaslFromEnv, type KafkaConfig, type KafkaSasl } from "./config.ts";
export { groupPrefixOf, principalOf, type KafkaAccess, type KafkaAcl } from "./access.ts";
export { scramCredential, storageFormatScramArg, type ScramMechanism } from "./scram.ts";
export type { Delivery, InRecord, Isolation, OutMessage, RecordBatch } from "./messages.ts";
export { murmur2, partitionFor } from "./partitioner.ts";

export {
  createAdmin,
  type GroupDescription,
  type GroupMemberDescription,
  type KafkaAdmin,
  type PartitionOffsets,
  type TopicSpec,
} from "./admin.ts";
export { createProducer, type Producer, type ProducerOptions, type Transaction } from "./producer.ts";
export {
  createOrderedProducer,
  type OrderedProducer,
  type OrderedProducerOptions,
} from "./ordered-producer.ts";
export {
  createTransactionalPipeline,
  type TransactionalPipeline,
  type TransactionalPipelineOptions,
} from "./transactional-pipeline.ts";

export { createReader, type PartitionReader, type ReaderOptions, type StartOffset } from "./reader.ts";
export type { TailPace } from "./reader-fetch-loop.ts";
export { createGroupMember, type GroupMember, type GroupMemberOptions } from "./group.ts";
export { createCompactedTable, type CompactedTable, type CompactedTableOptions } from "./compacted-table.ts";
export {
  decodeInfo,
  electLeader,
  encodeInfo,
  LeaderElection,
  REGISTRY_PROTOCOL,
  type ElectionOptions,
  type MemberInfo,
} from "./election.ts";
