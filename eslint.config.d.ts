// Types of eslint.config.js, for test/lint/layering.test.ts (the config itself stays plain JavaScript).
import type { Linter } from "eslint";

export declare const testFiles: string[];
export declare const stockKafkaClientUsers: string[];
export declare function layering(basePath: string): Linter.Config[];
declare const config: Linter.Config[];
export default config;
