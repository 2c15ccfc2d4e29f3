// SCRAM credentials (RFC 5802 / RFC 7677) as Kafka stores them: a random salt, an iteration count and the
// salted password, Hi(password, salt, i) = PBKDF2 with the mechanism's HMAC. Kafka derives the stored and
// server keys from the salted password itself (it takes the password's UTF-8 bytes as they are, no SASLprep), so the clear password never leaves this process (not in a
// request, not in `kafka-storage format`'s arguments). Pure apart from the random salt.
import { pbkdf2Sync, randomBytes } from "node:crypto";

export type ScramMechanism = "SCRAM-SHA-256" | "SCRAM-SHA-512";

/** Kafka's wire ids of the mechanisms (AlterUserScramCredentials' `mechanism`). */
export const SCRAM_MECHANISM_IDS: Record<ScramMechanism, number> = { "SCRAM-SHA-256": 1, "SCRAM-SHA-512": 2 };

/** Kafka accepts 4096 to 16384 iterations; 8192 is what its tools default to. */
export const SCRAM_ITERATIONS = 8192;

export interface ScramCredential {
  mechanism: ScramMechanism;
  iterations: number;
  salt: Buffer;
  saltedPassword: Buffer;
}

const digests: Record<ScramMechanism, { name: string; bytes: number }> = {
  "SCRAM-SHA-256": { name: "sha256", bytes: 32 },
  "SCRAM-SHA-512": { name: "sha512", bytes: 64 },
};

export function scramCredential(
  mechanism: ScramMechanism,
  password: string,
  options: { iterations?: number; salt?: Buffer } = {},
): ScramCredential {
  const iterations = options.iterations ?? SCRAM_ITERATIONS;
  const salt = options.salt ?? randomBytes(32);
  const { name, bytes } = digests[mechanism];
  const saltedPassword = pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, bytes, name);
  return { mechanism, iterations, salt, saltedPassword };
}

/**
 * The `--add-scram` argument of `kafka-storage format` for a credential: salted, so the password itself is
 * never on a command line (base64 without padding: Kafka splits each pair at its first `=`).
 */
export function storageFormatScramArg(user: string, credential: ScramCredential): string {
  const b64 = (b: Buffer): string => b.toString("base64").replace(/=+$/, "");
  return (
    `${credential.mechanism}=[name=${user},iterations=${credential.iterations},` +
    `salt="${b64(credential.salt)}",saltedpassword="${b64(credential.saltedPassword)}"]`
  );
}
