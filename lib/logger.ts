// pino, JSON, with secrets redacted wherever they may appear (URLs with passwords, tokens, headers).
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

const redactPaths = [
  "password",
  "*.password",
  // Kafka's SASL login inside a config object (KafkaConfig.sasl, a role's config).
  "*.sasl.password",
  "*.*.sasl.password",
  "url",
  "*.url",
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "req.headers.authorization",
  "headers.authorization",
];

/** `destination` (default stdout) lets tests read what would be logged. */
export function createLogger(
  options: { level?: string; name?: string; destination?: DestinationStream } = {},
): Logger {
  const settings = {
    level: options.level ?? "info",
    ...(options.name ? { name: options.name } : {}),
    redact: { paths: redactPaths, censor: "[redacted]" },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}

/** A logger that drops everything: for tests and libraries used without one. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/** Replaces the password of any URL-looking text (`scheme://user:pass@host`) so it can be logged or shown. */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]+):[^@\s]*@/gi, "$1:***@");
}
