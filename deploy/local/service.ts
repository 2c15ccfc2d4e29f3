// The contract every local-stack service implements.
export interface ServiceStatus {
  name: string;
  port: number;
  pid: number | null;
  healthy: boolean;
  /** True when the pid file is ours: `down` only stops services it started. */
  managed: boolean;
  /** Resident memory of the service's processes (0 when not running or not ours). */
  rssBytes: number;
  detail?: string;
}

export interface LocalService {
  readonly name: string;
  /** Throws a MissingPrerequisite naming the binary and how to install it. */
  checkPrerequisites(): void;
  /** Idempotent: a healthy service is left alone; a stopped or crashed one is (re)started. */
  up(): Promise<"already-up" | "started">;
  down(): Promise<boolean>;
  status(): Promise<ServiceStatus>;
}

export class MissingPrerequisite extends Error {
  readonly code = "MESH_STACK_PREREQUISITE";
  constructor(binary: string, howToInstall: string) {
    super(`${binary} was not found on this machine; ${howToInstall}`);
  }
}
